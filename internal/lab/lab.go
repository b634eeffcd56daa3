// Package lab builds linx's two-site lab in network namespaces and programs
// both gateways through the dataplane API:
//
//	host-a ── lan ┌──────┐ wan1 ═══ wan1 ┌──────┐ lan ── host-b
//	10.1.0.2      │ gw-a │ wan2 ═══ wan2 │ gw-b │      10.2.0.2
//	              └──────┘               └──────┘
//
// Each gateway runs the XDP pipeline natively on its three veths (lan = port
// 1, wan1 = port 2, wan2 = port 3) and reaches the other site through two GRE
// overlays, tunnel 1 over WAN link 1 (no GRE key) and tunnel 2 over WAN link 2
// (GRE key 2), load-balanced 3:1 by LBR 1; DSCP EF traffic is pinned to
// tunnel 1. Everything the rules do not match (ARP, underlay traffic) goes to
// the gateway's kernel, which also resolves neighbours the XDP path does not
// know yet.
//
// With Config.Underlay6 the WAN links also carry IPv6 (2001:db8:16:<link>::<site>/64)
// and both overlays run over it: GRE inside IPv6 between the gateways'
// WANAddr6, the inner traffic unchanged.
//
// The hosts' veths have TX checksum offload off and GRO on, as XDP on the
// gateways needs.
//
// Everything returns errors, so the same code serves the end-to-end tests
// (integration/) and the lab binary (cmd/linx-lab).
package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// Port numbers and interface names, the same on both gateways.
const (
	PortLAN  dataplane.PortID = 1
	PortWAN1 dataplane.PortID = 2
	PortWAN2 dataplane.PortID = 3

	IfLAN  = "lan"
	IfWAN1 = "wan1"
	IfWAN2 = "wan2"
	// IfHost is the host's interface towards its gateway.
	IfHost = "eth0"
)

// Overlays, rules and their ids, the same on both gateways.
const (
	Tunnel1 dataplane.TunnelID = 1 // over WAN link 1, no GRE key
	Tunnel2 dataplane.TunnelID = 2 // over WAN link 2, GRE key Tunnel2Key

	// Tunnel2Key is tunnel 2's GRE key, so the lab covers keyed and unkeyed
	// GRE at once.
	Tunnel2Key uint32 = 2

	FARToLAN   dataplane.FARID = 1 // forward out of the LAN port
	FARTunnel1 dataplane.FARID = 2 // encapsulate onto tunnel 1
	FARBalance dataplane.FARID = 3 // load-balance with LBR 1

	LBR dataplane.LBRID = 1

	// Weights of tunnel 1 and tunnel 2 in LBR 1.
	Weight1, Weight2 = 3, 1

	PrioDownlink = 10 // downlink to the own site: forward to the LAN
	PrioUplink   = 20 // uplink to the remote site: balance
	PrioUplinkEF = 30 // uplink to the remote site with DSCP EF: tunnel 1

	// DSCPEF is Expedited Forwarding (RFC 3246); TOSEF is the TOS byte a
	// sender sets (IP_TOS) to mark it.
	DSCPEF = 46
	TOSEF  = DSCPEF << 2
)

// Tunnels lists the lab's overlays in order.
var Tunnels = []dataplane.TunnelID{Tunnel1, Tunnel2}

// Ports lists the gateway ports in order.
var Ports = []dataplane.PortID{PortLAN, PortWAN1, PortWAN2}

// PortName returns the interface name of a gateway port.
func PortName(p dataplane.PortID) string {
	switch p {
	case PortLAN:
		return IfLAN
	case PortWAN1:
		return IfWAN1
	case PortWAN2:
		return IfWAN2
	}
	return fmt.Sprintf("port%d", p)
}

// LabOptions size the gateways' tables: the lab needs a handful of entries,
// and small tables load faster than dataplane.DefaultOptions.
var LabOptions = dataplane.Options{
	MaxPDRs: 1024, MaxFARs: 256, MaxLBRs: 16, MaxTunnels: 64, MaxTerms: 64, MaxPorts: 16,
}

// Config tunes New. The zero value builds the standard lab.
type Config struct {
	// NewNS creates one namespace; hint names its role ("host-a", "gw-a",
	// "gw-b", "host-b"). The default is netlab.NewNS("linxlab-"+hint), which
	// makes names unique per process, so several labs (and tests) can run at
	// once. Tests pass testenv.NSMaker(t), so namespaces go away even if the
	// test dies before Close.
	NewNS func(hint string) (*netlab.NS, error)
	// Mode is how XDP attaches (default native).
	Mode dataplane.XDPMode
	// Options size the pipelines' tables; zero means LabOptions.
	Options dataplane.Options
	// Underlay6 runs both overlays over IPv6 on the WAN links (WANAddr6)
	// instead of IPv4; the WAN links keep their IPv4 addresses too.
	Underlay6 bool
}

// Site is one side of the lab: a host behind a gateway.
type Site struct {
	Name string     // "a" or "b"
	Host *netlab.NS // host-<name>
	GW   *netlab.NS // gw-<name>
	// DP is the gateway's data path; nil until loaded.
	DP *xdp.Dataplane

	HostAddr netip.Addr    // 10.X.0.2
	LANAddr  netip.Addr    // 10.X.0.1, the host's default gateway
	Prefix   netip.Prefix  // 10.X.0.0/16, the site's addresses
	WANAddr  [2]netip.Addr // 172.16.1.X and 172.16.2.X: WAN links 1 and 2
	WANAddr6 [2]netip.Addr // 2001:db8:16:1::X and 2001:db8:16:2::X (Config.Underlay6)
	// Underlay6: the overlays run between WANAddr6, not WANAddr.
	Underlay6 bool

	// The PDRs installed on the gateway.
	PDRDownlink, PDRUplinkEF, PDRUplink dataplane.PDRID

	mu      sync.Mutex
	tunnels map[dataplane.TunnelID]dataplane.Tunnel
	peer    *Site
}

// Lab is the running two-site lab.
type Lab struct {
	A, B *Site

	mu     sync.Mutex
	nss    []*netlab.NS
	closed bool
}

func newSite(name string, n byte) *Site {
	return &Site{
		Name:     name,
		HostAddr: netip.AddrFrom4([4]byte{10, n, 0, 2}),
		LANAddr:  netip.AddrFrom4([4]byte{10, n, 0, 1}),
		Prefix:   netip.PrefixFrom(netip.AddrFrom4([4]byte{10, n, 0, 0}), 16),
		WANAddr:  [2]netip.Addr{netip.AddrFrom4([4]byte{172, 16, 1, n}), netip.AddrFrom4([4]byte{172, 16, 2, n})},
		WANAddr6: [2]netip.Addr{
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x16, 0, 1, 15: n}),
			netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x16, 0, 2, 15: n}),
		},
		tunnels: map[dataplane.TunnelID]dataplane.Tunnel{},
	}
}

// Peer is the other site.
func (s *Site) Peer() *Site { return s.peer }

// Sites returns A and B.
func (l *Lab) Sites() []*Site { return []*Site{l.A, l.B} }

// New builds the lab: four namespaces, their veths and addresses, both data
// paths loaded, attached and programmed. On error everything built so far
// is torn down. Close the lab when done.
func New(ctx context.Context, cfg Config) (_ *Lab, err error) {
	if cfg.NewNS == nil {
		cfg.NewNS = func(hint string) (*netlab.NS, error) { return netlab.NewNS("linxlab-" + hint) }
	}
	if cfg.Options == (dataplane.Options{}) {
		cfg.Options = LabOptions
	}
	l := &Lab{A: newSite("a", 1), B: newSite("b", 2)}
	l.A.peer, l.B.peer = l.B, l.A
	l.A.Underlay6, l.B.Underlay6 = cfg.Underlay6, cfg.Underlay6
	defer func() {
		if err != nil {
			err = errors.Join(fmt.Errorf("build lab: %w", err), l.Close())
		}
	}()
	steps := []func() error{
		func() error { return l.makeNamespaces(cfg.NewNS) },
		l.wire,
	}
	for _, s := range l.Sites() {
		steps = append(steps,
			func() error { return configureHost(s) },
			func() error { return configureGateway(s) },
			func() error { return loadDataPath(s, cfg.Options, cfg.Mode) },
			func() error { return program(s) },
		)
	}
	for _, step := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := step(); err != nil {
			return nil, err
		}
	}
	return l, nil
}

func (l *Lab) makeNamespaces(newNS func(string) (*netlab.NS, error)) error {
	for _, s := range l.Sites() {
		for _, slot := range []struct {
			ns   **netlab.NS
			hint string
		}{{&s.Host, "host-" + s.Name}, {&s.GW, "gw-" + s.Name}} {
			ns, err := newNS(slot.hint)
			if err != nil {
				return fmt.Errorf("namespace %s: %w", slot.hint, err)
			}
			l.mu.Lock()
			l.nss = append(l.nss, ns)
			l.mu.Unlock()
			*slot.ns = ns
			// Quiet: no router solicitations or MLD reports in the counters.
			if err := netlab.DisableIPv6(ns); err != nil {
				return err
			}
		}
	}
	return nil
}

// wire creates the veths and addresses.
func (l *Lab) wire() error {
	a, b := l.A, l.B
	pairs := []struct {
		x      *netlab.NS
		xName  string
		y      *netlab.NS
		yName  string
		xAddr  netip.Addr
		yAddr  netip.Addr
		prefix int
	}{
		{a.Host, IfHost, a.GW, IfLAN, a.HostAddr, a.LANAddr, 24},
		{a.GW, IfWAN1, b.GW, IfWAN1, a.WANAddr[0], b.WANAddr[0], 24},
		{a.GW, IfWAN2, b.GW, IfWAN2, a.WANAddr[1], b.WANAddr[1], 24},
		{b.Host, IfHost, b.GW, IfLAN, b.HostAddr, b.LANAddr, 24},
	}
	for _, p := range pairs {
		if _, _, err := netlab.Veth(p.x, p.xName, p.y, p.yName); err != nil {
			return err
		}
		if err := netlab.AddAddr(p.x, p.xName, netip.PrefixFrom(p.xAddr, p.prefix).String()); err != nil {
			return err
		}
		if err := netlab.AddAddr(p.y, p.yName, netip.PrefixFrom(p.yAddr, p.prefix).String()); err != nil {
			return err
		}
	}
	if a.Underlay6 {
		// The LAN port too: the kernel takes the frames XDP encapsulated but
		// could not send (neighbour unresolved) as received there, and drops
		// IPv6 on an interface without it.
		for _, s := range l.Sites() {
			if err := enableIPv6(s.GW, IfLAN); err != nil {
				return err
			}
		}
		for i, ifn := range []string{IfWAN1, IfWAN2} {
			for _, s := range l.Sites() {
				if err := enableIPv6(s.GW, ifn); err != nil {
					return err
				}
				if err := netlab.AddAddr(s.GW, ifn, netip.PrefixFrom(s.WANAddr6[i], 64).String()); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// enableIPv6 turns IPv6 on for one interface (makeNamespaces turned it off)
// without duplicate address detection, so its address is usable at once,
// and without router solicitations (nothing answers them).
func enableIPv6(ns *netlab.NS, ifname string) error {
	for _, kv := range [][2]string{{"accept_dad", "0"}, {"router_solicitations", "0"}, {"disable_ipv6", "0"}} {
		if err := netlab.SetSysctl(ns, "net/ipv6/conf/"+ifname+"/"+kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// configureHost gives the host its default route and the offloads XDP on
// the path needs: TX checksum off (a CHECKSUM_PARTIAL packet's checksum is
// never completed after XDP encapsulates it) and GRO on (veth delivers
// frames XDP redirects into its peer only to a NAPI-enabled end).
func configureHost(s *Site) error {
	if err := netlab.AddDefaultRoute(s.Host, s.LANAddr.String()); err != nil {
		return err
	}
	if err := netlab.DisableTXChecksum(s.Host, IfHost); err != nil {
		return err
	}
	return netlab.SetGRO(s.Host, IfHost, true)
}

// configureGateway turns on forwarding (the kernel forwards what XDP passes
// up while a neighbour is unresolved) and turns off reverse-path filtering
// (decapsulated packets arrive on a WAN port from remote-site sources the
// kernel has no route to).
func configureGateway(s *Site) error {
	sysctls := [][2]string{{"net/ipv4/ip_forward", "1"}}
	if s.Underlay6 {
		// The kernel forwards encapsulated packets XDP passes up while the
		// far end's neighbour is unresolved.
		sysctls = append(sysctls, [2]string{"net/ipv6/conf/all/forwarding", "1"})
	}
	for _, c := range []string{"all", "default", IfLAN, IfWAN1, IfWAN2} {
		sysctls = append(sysctls, [2]string{"net/ipv4/conf/" + c + "/rp_filter", "0"})
	}
	for _, kv := range sysctls {
		if err := netlab.SetSysctl(s.GW, kv[0], kv[1]); err != nil {
			return err
		}
	}
	return nil
}

// loadDataPath loads the pipeline and attaches it to the gateway's ports,
// with the thread inside the gateway's namespace: Load opens its PacketOut
// socket there, and Attach finds the interfaces and writes their sysctls
// there.
func loadDataPath(s *Site, opts dataplane.Options, mode dataplane.XDPMode) error {
	return s.GW.Do(func() error {
		dp, err := xdp.Load(opts)
		if err != nil {
			return fmt.Errorf("gw-%s: %w", s.Name, err)
		}
		s.mu.Lock()
		s.DP = dp
		s.mu.Unlock()
		for _, p := range []struct {
			id   dataplane.PortID
			role dataplane.Role
		}{{PortLAN, dataplane.RoleLAN}, {PortWAN1, dataplane.RoleWAN}, {PortWAN2, dataplane.RoleWAN}} {
			if err := dp.Attach(PortName(p.id), p.id, p.role, mode); err != nil {
				return fmt.Errorf("gw-%s: %w", s.Name, err)
			}
		}
		return nil
	})
}

// TunnelSpec returns the overlay id as the lab configures it on s (up).
func (s *Site) TunnelSpec(id dataplane.TunnelID) dataplane.Tunnel {
	i := int(id) - 1
	t := dataplane.Tunnel{Port: PortWAN1 + dataplane.PortID(i), Src: s.WANAddr[i], Dst: s.peer.WANAddr[i]}
	if s.Underlay6 {
		t.Src, t.Dst = s.WANAddr6[i], s.peer.WANAddr6[i]
	}
	if id == Tunnel2 {
		t.Key = Tunnel2Key
	}
	return t
}

// direction matches the classifier's 2-bit direction field exactly.
func direction(d dataplane.Direction) dataplane.Ternary[uint8] {
	return dataplane.Ternary[uint8]{Value: uint8(d), Mask: 3}
}

// program installs the gateway's overlays, terminations, FARs, LBR and PDRs.
func program(s *Site) error {
	dp := s.DP
	wrap := func(err error) error { return fmt.Errorf("program gw-%s: %w", s.Name, err) }
	for _, id := range Tunnels {
		t := s.TunnelSpec(id)
		if err := dp.SetTunnel(id, t); err != nil {
			return wrap(err)
		}
		s.mu.Lock()
		s.tunnels[id] = t
		s.mu.Unlock()
		// GRE from the peer's end of this overlay decapsulates as id.
		term := dataplane.TunnelTerm{Remote: t.Dst, Local: t.Src, Key: t.Key}
		if err := dp.SetTunnelTerm(term, id); err != nil {
			return wrap(err)
		}
	}
	fars := []struct {
		id dataplane.FARID
		f  dataplane.FAR
	}{
		{FARToLAN, dataplane.FAR{Action: dataplane.ActForward, Port: PortLAN}},
		{FARTunnel1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: Tunnel1}},
		{FARBalance, dataplane.FAR{Action: dataplane.ActBalance, LBR: LBR}},
	}
	for _, f := range fars {
		if err := dp.SetFAR(f.id, f.f); err != nil {
			return wrap(err)
		}
	}
	if err := dp.SetLBR(LBR, []dataplane.LBRMember{{Tunnel: Tunnel1, Weight: Weight1}, {Tunnel: Tunnel2, Weight: Weight2}}); err != nil {
		return wrap(err)
	}

	down := dataplane.MatchAll()
	down.Direction = direction(dataplane.DirDownlink)
	down.Dst = dataplane.Prefix(s.Prefix)
	up := dataplane.MatchAll()
	up.Direction = direction(dataplane.DirUplink)
	up.Dst = dataplane.Prefix(s.peer.Prefix)
	ef := up
	ef.DSCP = dataplane.Ternary[uint8]{Value: DSCPEF, Mask: 0x3f}
	ids, err := dp.InsertPDRs([]dataplane.PDR{
		{Match: down, Priority: PrioDownlink, FAR: FARToLAN},
		{Match: ef, Priority: PrioUplinkEF, FAR: FARTunnel1},
		{Match: up, Priority: PrioUplink, FAR: FARBalance},
	})
	if err != nil {
		return wrap(err)
	}
	s.PDRDownlink, s.PDRUplinkEF, s.PDRUplink = ids[0], ids[1], ids[2]
	return nil
}

// SetTunnelDown marks one of the gateway's overlays down (LBRs skip it, FARs
// encapsulating onto it drop) or up again.
func (s *Site) SetTunnelDown(id dataplane.TunnelID, down bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tunnels[id]
	if !ok || s.DP == nil {
		return fmt.Errorf("gw-%s: no tunnel %d", s.Name, id)
	}
	t.Down = down
	if err := s.DP.SetTunnel(id, t); err != nil {
		return fmt.Errorf("gw-%s: mark tunnel %d down=%v: %w", s.Name, id, down, err)
	}
	s.tunnels[id] = t
	return nil
}

// TunnelDown reports whether the lab marked tunnel id down on s.
func (s *Site) TunnelDown(id dataplane.TunnelID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tunnels[id].Down
}

// Close tears the lab down: it closes both data paths (detaching XDP) and
// destroys the namespaces. It is safe to call more than once, concurrently,
// and on a lab whose construction failed part-way.
func (l *Lab) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for _, s := range l.Sites() {
		s.mu.Lock()
		dp := s.DP
		s.DP = nil
		s.mu.Unlock()
		if dp != nil {
			if err := dp.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close gw-%s data path: %w", s.Name, err))
			}
		}
	}
	for _, ns := range l.nss {
		errs = append(errs, ns.Destroy())
	}
	return errors.Join(errs...)
}
