package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/internal/impair"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// Interface names and ports, the same on both gateways (and in the example
// configurations).
const (
	ifHost = "eth0" // the host's interface towards its gateway
	ifLAN  = "lan"
	ifWAN1 = "wan1"
	ifWAN2 = "wan2"

	portLAN  = 1
	portWAN1 = 2
	portWAN2 = 3
)

// site is one side of the demo: a host behind a gateway, and the gateway's
// two WAN links to the router.
type site struct {
	name     string // "a" or "b"
	host, gw *netlab.NS

	hostAddr, lanAddr netip.Addr   // 10.X.0.2, 10.X.0.1
	prefix            netip.Prefix // 10.X.0.0/16: the site
	wan               [2]netip.Addr
	hop               [2]netip.Addr // the router's address on each WAN link
	routerIf          [2]string     // the router's end of each WAN link
	// impair is the impairment element on the router's end of each WAN link:
	// it passes everything until told otherwise (package impair).
	impair [2]*impair.Element

	peer *site
}

func (s *site) gwName() string   { return "gw-" + s.name }
func (s *site) hostName() string { return "host-" + s.name }

// topology is the demo's network: five namespaces.
type topology struct {
	a, b   *site
	router *netlab.NS

	nss []*netlab.NS // every namespace created, for teardown
	xdp []io.Closer  // the impairment elements on the router's WAN ends
}

func (t *topology) sites() []*site { return []*site{t.a, t.b} }

func newSite(name string, n byte, wan1, wan2 byte) *site {
	addr := func(a, b, c, d byte) netip.Addr { return netip.AddrFrom4([4]byte{a, b, c, d}) }
	return &site{
		name:     name,
		hostAddr: addr(10, n, 0, 2),
		lanAddr:  addr(10, n, 0, 1),
		prefix:   netip.PrefixFrom(addr(10, n, 0, 0), 16),
		wan:      [2]netip.Addr{addr(172, 16, wan1, 1), addr(172, 16, wan2, 1)},
		hop:      [2]netip.Addr{addr(172, 16, wan1, 254), addr(172, 16, wan2, 254)},
		routerIf: [2]string{"gw" + name + "-wan1", "gw" + name + "-wan2"},
	}
}

// wanPrefix is the /24 of a site's WAN link i.
func (s *site) wanPrefix(i int) netip.Prefix { return netip.PrefixFrom(s.wan[i], 24).Masked() }

// buildTopology creates the namespaces, links, addresses, routes, sysctls
// and offloads.
func (d *demo) buildTopology(ctx context.Context) error {
	d.sweepStale()
	t0 := time.Now()
	t := &topology{a: newSite("a", 1, 1, 2), b: newSite("b", 2, 3, 4)}
	t.a.peer, t.b.peer = t.b, t.a
	d.topo = t
	mk := func(role string) (*netlab.NS, error) {
		ns, err := netlab.NewNS(NSPrefix + role)
		if err != nil {
			return nil, fmt.Errorf("namespace %s: %w", role, err)
		}
		t.nss = append(t.nss, ns)
		d.report.Namespaces = append(d.report.Namespaces, ns.Name())
		// Quiet: no router solicitations or MLD reports in the counters.
		return ns, netlab.DisableIPv6(ns)
	}
	var err error
	for _, s := range t.sites() {
		if s.host, err = mk(s.hostName()); err != nil {
			return err
		}
		if s.gw, err = mk(s.gwName()); err != nil {
			return err
		}
	}
	if t.router, err = mk("router"); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	for _, s := range t.sites() {
		if err := d.wireSite(s); err != nil {
			return err
		}
	}
	// The router: forwarding between the four WAN /24s, no reverse-path
	// filter, and an XDP program on each WAN end. The gateways' XDP
	// redirects frames into their WAN veths, and veth delivers redirected
	// frames only to a peer that runs NAPI (XDP attached or GRO on). XDP
	// rather than GRO, so the router forwards the overlay's packets one by
	// one as they came (GRO would merge them into super-packets). The
	// program is the impairment element, which passes everything until an
	// act breaks the path.
	sysctls := [][2]string{{"net/ipv4/ip_forward", "1"}, {"net/ipv4/conf/all/rp_filter", "0"}, {"net/ipv4/conf/default/rp_filter", "0"}}
	for _, s := range t.sites() {
		for _, ifn := range s.routerIf {
			sysctls = append(sysctls, [2]string{"net/ipv4/conf/" + ifn + "/rp_filter", "0"})
		}
	}
	for _, kv := range sysctls {
		if err := netlab.SetSysctl(t.router, kv[0], kv[1]); err != nil {
			return err
		}
	}
	for _, s := range t.sites() {
		for i, ifn := range s.routerIf {
			el, err := impair.Attach(t.router, ifn)
			if err != nil {
				return err
			}
			s.impair[i] = el
			t.xdp = append(t.xdp, el)
		}
	}
	d.say("  namespaces: %s %s %s %s %s", t.a.host, t.a.gw, t.router, t.b.gw, t.b.host)
	d.say("  explore them while the demo runs: ip netns exec %s ip -br addr", t.a.gw)
	d.say("  built in %v", time.Since(t0).Round(time.Millisecond))
	return nil
}

// wireSite connects a site's host to its gateway and the gateway to the
// router, and configures both ends.
func (d *demo) wireSite(s *site) error {
	t := d.topo
	links := []struct {
		x     *netlab.NS
		xName string
		xAddr netip.Addr
		y     *netlab.NS
		yName string
		yAddr netip.Addr
	}{
		{s.host, ifHost, s.hostAddr, s.gw, ifLAN, s.lanAddr},
		{s.gw, ifWAN1, s.wan[0], t.router, s.routerIf[0], s.hop[0]},
		{s.gw, ifWAN2, s.wan[1], t.router, s.routerIf[1], s.hop[1]},
	}
	for _, l := range links {
		if _, _, err := netlab.Veth(l.x, l.xName, l.y, l.yName); err != nil {
			return err
		}
		if err := netlab.AddAddr(l.x, l.xName, netip.PrefixFrom(l.xAddr, 24).String()); err != nil {
			return err
		}
		if err := netlab.AddAddr(l.y, l.yName, netip.PrefixFrom(l.yAddr, 24).String()); err != nil {
			return err
		}
	}
	// The host: default route via its gateway; TX checksum offload off (a
	// CHECKSUM_PARTIAL packet's checksum is never completed once XDP has
	// encapsulated it) and GRO on (veth delivers frames the gateway's XDP
	// redirects only to a NAPI-enabled end).
	if err := netlab.AddDefaultRoute(s.host, s.lanAddr.String()); err != nil {
		return err
	}
	if err := netlab.DisableTXChecksum(s.host, ifHost); err != nil {
		return err
	}
	if err := netlab.SetGRO(s.host, ifHost, true); err != nil {
		return err
	}
	// The gateway: the peer's WAN /24s through the router, each over the
	// link of the same number. No reverse-path filter (decapsulated packets
	// come from the remote site, which the kernel has no route to).
	// Forwarding stays off as in any new namespace: the agent turns it on
	// for its ports (docs/operations.md, "Forwarding"), which the demo proves.
	for i := range 2 {
		if err := netlab.AddRoute(s.gw, s.peer.wanPrefix(i).String(), s.hop[i].String()); err != nil {
			return err
		}
	}
	var sysctls [][2]string
	for _, c := range []string{"all", "default", ifLAN, ifWAN1, ifWAN2} {
		sysctls = append(sysctls, [2]string{"net/ipv4/conf/" + c + "/rp_filter", "0"})
	}
	for _, kv := range sysctls {
		if err := netlab.SetSysctl(s.gw, kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// setWAN2 takes WAN link 2 down or up at both sites, from the router: its
// ends of both gateways' wan2 links, so each gateway's wan2 loses (or gets
// back) its carrier, as when the underlay link fails.
func (d *demo) setWAN2(up bool) error {
	t := d.topo
	for _, s := range t.sites() {
		var err error
		if up {
			_, err = netlab.SetLinkUp(t.router, s.routerIf[1])
		} else {
			err = netlab.SetLinkDown(t.router, s.routerIf[1])
		}
		if err != nil {
			return err
		}
	}
	if up {
		for _, s := range t.sites() {
			if _, err := netlab.WaitOperUp(s.gw, ifWAN2, netlab.LinkWait); err != nil {
				return err
			}
		}
	}
	return nil
}

// destroy removes the XDP programs and every namespace (with their links).
func (t *topology) destroy() error {
	var errs []error
	for _, c := range t.xdp {
		errs = append(errs, c.Close())
	}
	t.xdp = nil
	for i := len(t.nss) - 1; i >= 0; i-- {
		errs = append(errs, t.nss[i].Destroy())
	}
	return errors.Join(errs...)
}

// tmpPrefix starts the name of the demo's temporary directory.
const tmpPrefix = "linx-demo-"

// sweepStale removes namespaces and temporary directories an earlier demo
// left behind because it was killed: SIGKILL leaves no chance to tear down
// (its agents died with it). A demo namespace is named
// linxdemo-<role>-<pid, base 36>-<random>; only those whose process no longer
// exists are removed, so a demo running concurrently (a test, say) keeps its
// own.
func (d *demo) sweepStale() {
	ents, _ := os.ReadDir(netlab.NetnsDir)
	var removed []string
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, NSPrefix) {
			continue
		}
		f := strings.Split(name, "-")
		if len(f) < 3 {
			continue
		}
		pid, err := strconv.ParseInt(f[len(f)-2], 36, 32)
		if err != nil || pid <= 0 || int(pid) == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue // its demo still runs (or we cannot tell)
		}
		path := filepath.Join(netlab.NetnsDir, name)
		// Unpinned, the namespace goes away with its links: its agents died
		// with the demo (they get SIGKILL when it dies).
		unix.Unmount(path, unix.MNT_DETACH)
		if err := os.Remove(path); err == nil {
			removed = append(removed, name)
		}
	}
	// Its temporary directory: linx-demo-<pid>-<random>.
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tmpPrefix+"*"))
	for _, dir := range dirs {
		f := strings.Split(strings.TrimPrefix(filepath.Base(dir), tmpPrefix), "-")
		if len(f) != 2 {
			continue
		}
		pid, err := strconv.Atoi(f[0])
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.RemoveAll(dir); err == nil {
			removed = append(removed, dir)
		}
	}
	if len(removed) > 0 {
		d.say("  removed what an earlier demo left when it was killed: %s", strings.Join(removed, " "))
	}
}
