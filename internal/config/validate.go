package config

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Upper bounds of the table sizes: beyond them the BPF maps take more memory
// than an edge gateway has to spare (or than the P4 field widths can address).
const (
	MaxPDRs        = 1_000_000
	MaxFARs        = 1_000_000
	MaxLBRs        = 16_384 // each LBR holds a Maglev table of ~4 KiB
	MaxTunnels     = 65_536
	MaxTunnelTerms = 65_536
	MaxPorts       = 65_536 // P4 port numbers are 16 bits
	MaxFlowCache   = 4_194_304
)

// ValidateOptions say what Validate may look at beyond the configuration.
type ValidateOptions struct {
	// LookupInterface returns nil when the kernel has an interface of this name,
	// an error saying why not otherwise. Nil skips the check (the in-memory data
	// path attaches to nothing). The agent uses NetlinkLookup.
	LookupInterface func(name string) error
	// Now is the time certificates must be valid at. Zero: time.Now().
	Now time.Time
	// Host checks this host's file systems as the agent's start does:
	// bpffs_dir on a bpf filesystem (CheckBPFFS), state_dir a directory this
	// process can write or create (CheckStateDir). The agent and `linx-agent
	// validate` set it, except for the in-memory data path.
	Host bool
	// Pins, with Host, checks what is pinned under bpffs_dir: an error when the
	// agent could not take it over. The agent uses xdp.CheckPins.
	Pins func(c *Config) error
	// Port, when the interface exists, checks what the agent's start would
	// find on it: errors are problems (the agent would refuse to start),
	// warnings go to Warn (the agent would fix them, or work with traffic lost).
	Port func(c *Config, it Interface) (errs, warnings []string)
	// Warn receives what is not wrong with the file but deserves a word. Nil
	// drops warnings.
	Warn func(Problem)
}

// Validate checks the configuration as a whole: ranges, formats, uniqueness,
// the existence of interfaces and TLS files. The error is Problems, every one
// found (Parse's too), in the order of the file, each naming its key and line
// (or flag).
func (c *Config) Validate(o ValidateOptions) error {
	v := validator{c: c, o: o, problems: slices.Clone(c.decodeProblems)}
	if v.o.Now.IsZero() {
		v.o.Now = time.Now()
	}
	v.device()
	v.interfaces()
	v.tunnelAddresses()
	v.tables()
	v.grpc()
	if v.dir("bpffs_dir", c.BPFFSDir, true) && c.BPFFSDir != "" && o.Host {
		if err := CheckBPFFS(c.BPFFSDir); err != nil {
			v.fail("bpffs_dir", "%v", err)
		} else if o.Pins != nil {
			if err := o.Pins(c); err != nil {
				v.fail("bpffs_dir", "%v", err)
			}
		}
	}
	if v.dir("state_dir", c.StateDir, false) && o.Host {
		if err := CheckStateDir(c.StateDir); err != nil {
			v.fail("state_dir", "%v", err)
		}
	}
	if c.LeaveRunningOnStop && c.BPFFSDir == "" {
		v.fail("leave_running_on_stop", "true needs bpffs_dir: without pinning, the data path cannot outlive the agent")
	}
	v.metrics()
	v.log()
	v.sla()
	sortProblems(v.problems)
	return v.problems.err()
}

type validator struct {
	c        *Config
	o        ValidateOptions
	problems Problems
}

func (v *validator) fail(path, format string, args ...any) {
	if v.related(path) {
		return // follows from a value Parse could not decode, and reported
	}
	v.problems = append(v.problems, Problem{Path: path, Origin: v.c.originOrParent(path), Msg: fmt.Sprintf(format, args...)})
}

// related reports whether path is, contains or is inside a key path whose
// value could not be decoded.
func (v *validator) related(path string) bool {
	for f := range v.c.failed {
		if within(path, f) || within(f, path) {
			return true
		}
	}
	return false
}

// within reports whether key path p is q or inside it.
func within(p, q string) bool {
	if q == "" {
		return true
	}
	rest, ok := strings.CutPrefix(p, q)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}

// at names a key with its origin for messages about another key: "interfaces[0].port (line 8)".
func (v *validator) at(path string) string {
	if o := v.c.origin[path]; o != "" {
		return path + " (" + o + ")"
	}
	return path
}

func (v *validator) device() {
	d := v.c.Device
	if d.ID == 0 {
		v.fail("device.id", "0 is not a device id: use 1 or more")
	}
	if len(d.Name) > 255 {
		v.fail("device.name", "%d characters is too long (at most 255)", len(d.Name))
	}
	if i := strings.IndexFunc(d.Name, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
		v.fail("device.name", "%q has a non-printable character", d.Name)
	}
}

func (v *validator) interfaces() {
	names := map[string]string{} // name → path of its first use
	ports := map[int]string{}
	for i, it := range v.c.Interfaces {
		p := fmt.Sprintf("interfaces[%d]", i)
		nameOK := true
		switch {
		case it.Name == "":
			v.fail(p+".name", "missing: every interface needs the name of a kernel interface")
			nameOK = false
		case len(it.Name) > 15:
			v.fail(p+".name", "%q is longer than the kernel's 15 characters", it.Name)
			nameOK = false
		case it.Name == "." || it.Name == ".." || strings.ContainsAny(it.Name, "/:") ||
			strings.IndexFunc(it.Name, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }) >= 0:
			v.fail(p+".name", "%q is not a valid interface name", it.Name)
			nameOK = false
		}
		if nameOK {
			if first, dup := names[it.Name]; dup {
				v.fail(p+".name", "%q is already used by %s", it.Name, v.at(first))
			} else {
				names[it.Name] = p + ".name"
				if v.o.LookupInterface != nil {
					if err := v.o.LookupInterface(it.Name); err != nil {
						v.fail(p+".name", "%v", err)
					} else if v.o.Port != nil {
						errs, warns := v.o.Port(v.c, it)
						for _, e := range errs {
							v.fail(p+".name", "%s", e)
						}
						for _, w := range warns {
							if v.o.Warn != nil {
								v.o.Warn(Problem{Path: p + ".name", Origin: v.c.originOrParent(p + ".name"), Msg: w})
							}
						}
					}
				}
			}
		}
		switch {
		case it.Role == "":
			v.fail(p+".role", "missing: set lan or wan")
		default:
			if _, ok := it.Role.Dataplane(); !ok {
				v.fail(p+".role", "%q is not lan or wan", it.Role)
			}
		}
		if _, ok := it.XDPMode.Dataplane(); !ok {
			v.fail(p+".xdp_mode", "%q is not native or generic", it.XDPMode)
		}
		max, note := v.c.Tables.Ports-1, fmt.Sprintf(" (tables.ports is %d)", v.c.Tables.Ports)
		if max < 1 || max >= MaxPorts {
			max, note = MaxPorts-1, "" // tables.ports is wrong itself, and reported
		}
		switch {
		case it.Port == 0 && v.c.origin[p+".port"] == "":
			v.fail(p+".port", "missing: set the P4 port number, 1..%d", max)
		case it.Port < 1 || it.Port > max:
			v.fail(p+".port", "%d is outside 1..%d%s", it.Port, max, note)
		default:
			if first, dup := ports[it.Port]; dup {
				v.fail(p+".port", "%d is already used by %s", it.Port, v.at(first))
			} else {
				ports[it.Port] = p + ".port"
			}
		}
	}
}

func (v *validator) tunnelAddresses() {
	seen := map[netip.Addr]string{}
	for i, a := range v.c.TunnelAddresses {
		p := fmt.Sprintf("tunnel_addresses[%d]", i)
		switch {
		case !a.Is4():
			v.fail(p, "%s is not an IPv4 address (GRE overlays run over IPv4)", a)
		case a.IsUnspecified():
			v.fail(p, "%s is unspecified, not a local address", a)
		case a.IsMulticast():
			v.fail(p, "%s is multicast, not a unicast address", a)
		case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			v.fail(p, "%s is broadcast, not a unicast address", a)
		case a.IsLoopback():
			v.fail(p, "%s is a loopback address, unreachable by peers", a)
		default:
			if first, dup := seen[a]; dup {
				v.fail(p, "%s is already listed as %s", a, v.at(first))
			} else {
				seen[a] = p
			}
		}
	}
}

func (v *validator) tables() {
	t := v.c.Tables
	for _, s := range []struct {
		key      string
		val, max int
		min      int
		note     string
	}{
		{"pdrs", t.PDRs, MaxPDRs, 1, ""},
		{"fars", t.FARs, MaxFARs, 1, ""},
		{"lbrs", t.LBRs, MaxLBRs, 1, ""},
		{"tunnels", t.Tunnels, MaxTunnels, 1, ""},
		{"tunnel_terms", t.TunnelTerms, MaxTunnelTerms, 1, ""},
		{"ports", t.Ports, MaxPorts, 2, " (port numbers are 1..ports-1)"},
		{"flow_cache", t.FlowCache, MaxFlowCache, 0, " (0 disables the cache)"},
	} {
		if s.val < s.min || s.val > s.max {
			v.fail("tables."+s.key, "%d is outside %d..%d%s", s.val, s.min, s.max, s.note)
		}
	}
}

func (v *validator) grpc() {
	g := v.c.GRPC
	v.listen("grpc.listen", g.Listen, false)
	if g.ShutdownGrace < 0 {
		v.fail("grpc.shutdown_grace", "%s is negative", g.ShutdownGrace)
	}
	t := g.TLS
	switch {
	case g.Insecure && t.Enabled():
		v.fail("grpc.insecure", "true, but %s is set too: use TLS or plaintext, not both", v.at("grpc.tls"))
		return
	case g.Insecure:
		return
	case !t.Enabled():
		v.fail("grpc", "set tls (cert and key) to serve gRPC over TLS, or insecure: true (flag -insecure) to serve plaintext explicitly")
		return
	}
	switch {
	case t.Cert == "":
		v.fail("grpc.tls.cert", "missing: a key needs its certificate")
	case t.Key == "":
		v.fail("grpc.tls.key", "missing: a certificate needs its private key")
	}
	certOK := v.file("grpc.tls.cert", t.Cert)
	keyOK := v.file("grpc.tls.key", t.Key)
	if certOK && keyOK {
		v.keyPair(t.Cert, t.Key)
	}
	if t.ClientCA != "" && v.file("grpc.tls.client_ca", t.ClientCA) {
		v.clientCA(t.ClientCA)
	}
}

// file reports whether a file given by key path exists and is readable.
func (v *validator) file(path, name string) bool {
	if name == "" {
		return false
	}
	f, err := os.Open(name)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		v.fail(path, "%s: %v", name, err)
		return false
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		v.fail(path, "%s is a directory, not a PEM file", name)
		return false
	}
	return true
}

func (v *validator) keyPair(certFile, keyFile string) {
	certPEM, err1 := os.ReadFile(certFile)
	keyPEM, err2 := os.ReadFile(keyFile)
	if err := errors.Join(err1, err2); err != nil {
		v.fail("grpc.tls", "%v", err)
		return
	}
	certs, ok := v.certificates("grpc.tls.cert", certFile, certPEM)
	if !ok {
		return
	}
	if b, _ := pem.Decode(keyPEM); b == nil || !strings.HasSuffix(b.Type, "PRIVATE KEY") {
		v.fail("grpc.tls.key", "%s has no PEM private key", keyFile)
		return
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		v.fail("grpc.tls.key", "%s does not go with %s: %v", keyFile, certFile, err)
		return
	}
	v.checkValidity("grpc.tls.cert", certFile, certs[0])
}

func (v *validator) clientCA(file string) {
	data, err := os.ReadFile(file)
	if err != nil {
		v.fail("grpc.tls.client_ca", "%v", err)
		return
	}
	certs, ok := v.certificates("grpc.tls.client_ca", file, data)
	if !ok {
		return
	}
	for _, c := range certs {
		if !c.IsCA {
			v.fail("grpc.tls.client_ca", "%s: certificate %q is not a CA certificate", file, c.Subject)
			return
		}
		v.checkValidity("grpc.tls.client_ca", file, c)
	}
}

// certificates parses every CERTIFICATE block of a PEM file; there must be one.
func (v *validator) certificates(path, file string, data []byte) ([]*x509.Certificate, bool) {
	var certs []*x509.Certificate
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			v.fail(path, "%s: certificate %d: %v", file, len(certs)+1, err)
			return nil, false
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		v.fail(path, "%s has no PEM certificate", file)
		return nil, false
	}
	return certs, true
}

func (v *validator) checkValidity(path, file string, c *x509.Certificate) {
	const day = "2006-01-02 15:04 MST"
	switch now := v.o.Now; {
	case now.After(c.NotAfter):
		v.fail(path, "%s: certificate %q expired on %s", file, c.Subject, c.NotAfter.UTC().Format(day))
	case now.Before(c.NotBefore):
		v.fail(path, "%s: certificate %q is not valid before %s", file, c.Subject, c.NotBefore.UTC().Format(day))
	}
}

// listen checks a host:port listen address; empty is allowed when optional.
func (v *validator) listen(path, addr string, optional bool) {
	if addr == "" {
		if !optional {
			v.fail(path, "missing: set host:port, e.g. 0.0.0.0:9559")
		}
		return
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		v.fail(path, "%q is not host:port (write IPv6 hosts in brackets: [::1]:9559)", addr)
		return
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		v.fail(path, "%q: port %q is not a number in 1..65535", addr, port)
	}
	if host != "" && host != "localhost" {
		if a, err := netip.ParseAddr(host); err != nil {
			v.fail(path, "%q: host %q is not an IP address (or empty for every address, or localhost)", addr, host)
		} else if a.IsMulticast() {
			v.fail(path, "%q: host %s is multicast", addr, host)
		}
	}
}

// dir checks a directory key: an absolute, clean path (empty when optional).
// It reports whether the value is fine.
func (v *validator) dir(path, d string, optional bool) bool {
	switch {
	case d == "" && optional:
		return true
	case d == "":
		v.fail(path, "missing: set an absolute directory")
	case !filepath.IsAbs(d):
		v.fail(path, "%q is not an absolute path", d)
	case filepath.Clean(d) != d:
		v.fail(path, "%q is not a clean path (did you mean %q?)", d, filepath.Clean(d))
	default:
		return !v.related(path)
	}
	return false
}

func (v *validator) metrics() {
	v.listen("metrics.listen", v.c.Metrics.Listen, true)
	m, g := v.c.Metrics.Listen, v.c.GRPC.Listen
	if m == "" || g == "" || v.related("metrics.listen") || v.related("grpc.listen") {
		return
	}
	mh, mp, ok1 := endpoint(m)
	gh, gp, ok2 := endpoint(g)
	if !ok1 || !ok2 || mp != gp {
		return
	}
	clash := mh == nil || gh == nil // every address
	for _, a := range mh {
		clash = clash || slices.Contains(gh, a)
	}
	if clash {
		v.fail("metrics.listen", "%q overlaps %s %q: both bind port %d of the same address, and the second bind would fail", m, v.at("grpc.listen"), g, mp)
	}
}

// endpoint resolves a listen address as net.Listen does: the port as a
// number ("09559" is 9559), the host as the addresses it binds (nil for
// every address: an empty or unspecified host; localhost resolved).
func endpoint(addr string) (hosts []netip.Addr, port uint64, ok bool) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, 0, false
	}
	if port, err = strconv.ParseUint(p, 10, 16); err != nil {
		return nil, 0, false
	}
	if host == "" {
		return nil, port, true
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Unmap().IsUnspecified() {
			return nil, port, true
		}
		return []netip.Addr{a.Unmap()}, port, true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		if host != "localhost" {
			return nil, 0, false
		}
		addrs = []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, port, true
}

func (v *validator) log() {
	switch v.c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.fail("log.level", "%q is not debug, info, warn or error", v.c.Log.Level)
	}
	switch v.c.Log.Format {
	case "json", "console":
	default:
		v.fail("log.format", "%q is not json or console", v.c.Log.Format)
	}
}
