package integration

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/lab"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// site6 is a site's IPv6 prefix in the test below: 2001:db8:<n>::/64, the host
// ::2 and the gateway's LAN address ::1.
func site6(s *lab.Site) (prefix netip.Prefix, host, gw netip.Addr) {
	n := map[string]string{"a": "a", "b": "b"}[s.Name]
	prefix = netip.MustParsePrefix(fmt.Sprintf("2001:db8:%s::/64", n))
	return prefix, netip.MustParseAddr(fmt.Sprintf("2001:db8:%s::2", n)), netip.MustParseAddr(fmt.Sprintf("2001:db8:%s::1", n))
}

// enableIPv6 turns IPv6 on for the interfaces given (the lab turns it off in
// every namespace) without duplicate address detection, so addresses are
// usable at once; neighbour discovery still runs (through the XDP pipeline on
// the gateways, which passes it to the kernel).
func enableIPv6(t *testing.T, ns *netlab.NS, ifnames ...string) {
	t.Helper()
	for _, ifn := range ifnames {
		testenv.SetSysctl(t, ns, "net/ipv6/conf/"+ifn+"/accept_dad", "0")
		testenv.SetSysctl(t, ns, "net/ipv6/conf/"+ifn+"/disable_ipv6", "0")
	}
}

// routeIPv6 gives both sites IPv6 (site6's addresses, the hosts' default
// routes through their gateways) and installs the IPv6 rules next to the
// lab's IPv4 ones: the downlink to the site's prefix forwards to the LAN, the
// uplink to the peer's balances over LBR 1. It returns the rules by site.
func routeIPv6(t *testing.T, e *env) (up6, down6 map[string]dataplane.PDRID) {
	t.Helper()
	up6 = map[string]dataplane.PDRID{}
	down6 = map[string]dataplane.PDRID{}
	for _, s := range e.Sites() {
		prefix, host, gw := site6(s)
		enableIPv6(t, s.Host, lab.IfHost)
		enableIPv6(t, s.GW, lab.IfLAN, lab.IfWAN1, lab.IfWAN2)
		testenv.SetSysctl(t, s.GW, "net/ipv6/conf/all/forwarding", "1")
		testenv.AddAddr(t, s.Host, lab.IfHost, netip.PrefixFrom(host, 64).String())
		testenv.AddAddr(t, s.GW, lab.IfLAN, netip.PrefixFrom(gw, 64).String())
		testenv.AddDefaultRoute(t, s.Host, gw.String())

		peerPrefix, _, _ := site6(s.Peer())
		down := dataplane.MatchAll()
		down.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirDownlink), Mask: 3}
		down.Dst6 = dataplane.Prefix6(prefix)
		up := dataplane.MatchAll()
		up.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUplink), Mask: 3}
		up.Dst6 = dataplane.Prefix6(peerPrefix)
		ids, err := s.DP.InsertPDRs([]dataplane.PDR{
			{Match: down, Priority: lab.PrioDownlink, FAR: lab.FARToLAN},
			{Match: up, Priority: lab.PrioUplink, FAR: lab.FARBalance},
		})
		if err != nil {
			t.Fatal(err)
		}
		down6[s.Name], up6[s.Name] = ids[0], ids[1]
	}
	return up6, down6
}

// TestIPv6OverIPv4Underlay carries real IPv6 sockets between the two sites'
// hosts through the GRE overlays of the IPv4 underlay: the uplink classifies
// IPv6 (destination prefix) and balances it over both overlays (GRE protocol
// type 0x86dd), the downlink decapsulates, classifies and forwards to the LAN
// with the FIB's IPv6 next hop, and the neighbour discovery between hosts and
// gateways passes through the pipeline to the kernels.
func TestIPv6OverIPv4Underlay(t *testing.T) {
	e := newLab(t)
	up6, down6 := routeIPv6(t, e)
	_, hostA, _ := site6(e.A)
	_, hostB, _ := site6(e.B)
	before := map[string][2]uint64{}
	for _, s := range e.Sites() {
		var tx [2]uint64
		for i, id := range lab.Tunnels {
			c, err := s.DP.TunnelCounter(id)
			if err != nil {
				t.Fatal(err)
			}
			tx[i] = c.TX.Packets
		}
		before[s.Name] = tx
	}

	if n, err := testenv.Ping(e.A.Host, hostB, 5, 10*time.Second); err != nil || n != 5 {
		t.Fatalf("ping6 %s from host-a: %d of 5 replies (%v)\n%s", hostB, n, err, e.table())
	}
	// Several connections: Maglev spreads them over both overlays by their
	// IPv6 5-tuples.
	for i := range 8 {
		if err := testenv.TransferTCP(t, e.A.Host, e.B.Host, fmt.Sprintf("[%s]:%d", hostB, 7000+i), 256<<10); err != nil {
			t.Fatalf("TCP a→b over IPv6: %v\n%s", err, e.table())
		}
	}
	if err := testenv.TransferTCP(t, e.B.Host, e.A.Host, fmt.Sprintf("[%s]:7100", hostA), 1<<20); err != nil {
		t.Fatalf("TCP b→a over IPv6: %v\n%s", err, e.table())
	}

	for _, s := range e.Sites() {
		for what, id := range map[string]dataplane.PDRID{"uplink": up6[s.Name], "downlink": down6[s.Name]} {
			c, err := s.DP.PDRCounter(id)
			if err != nil {
				t.Fatal(err)
			}
			if c.Packets < 100 {
				t.Errorf("gw-%s: IPv6 %s rule counted %d packets, want the transfers' (≥ 100)\n%s", s.Name, what, c.Packets, e.table())
			}
		}
	}
	// Path MTU discovery across the overlay: a UDP datagram whose IPv6 packet
	// fills the host's 1500-byte MTU does not fit an overlay (1500 − 24 or 28
	// bytes of GRE). gw-a answers with ICMPv6 Packet Too Big; host-a's kernel
	// takes the path MTU from it and fragments the datagrams that follow, whose
	// fragments the gateways classify (ports 0) and carry.
	sink, err := netlab.NewUDPSink(e.B.Host, fmt.Sprintf("[%s]:7200", hostB))
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	e.allow[dataplane.DropICMPTooBig] = 10 // each answered packet counts there
	ptbBefore := dropCount(t, e.A, dataplane.DropICMPTooBig)
	delivered := false
	for attempt := 0; attempt < 10 && !delivered; attempt++ {
		flow, err := netlab.SendUDP(e.A.Host, "", fmt.Sprintf("[%s]:7200", hostB), 1, 1500-40-8, 0)
		if err != nil {
			t.Fatal(err)
		}
		delivered = sink.WaitReceived(flow, 1, time.Second) == 1
	}
	if !delivered {
		t.Errorf("a 1500-byte IPv6 packet never crossed the overlay (no path MTU learned)\n%s", e.table())
	}
	if n := dropCount(t, e.A, dataplane.DropICMPTooBig) - ptbBefore; n == 0 {
		t.Errorf("gw-a answered no Packet Too Big\n%s", e.table())
	}
	if sink.Corrupt() != 0 {
		t.Errorf("%d corrupt datagrams", sink.Corrupt())
	}

	var used [2]bool
	for _, s := range e.Sites() {
		for i, id := range lab.Tunnels {
			c, err := s.DP.TunnelCounter(id)
			if err != nil {
				t.Fatal(err)
			}
			if c.TX.Packets > before[s.Name][i] {
				used[i] = true
			}
		}
	}
	if !used[0] || !used[1] {
		t.Errorf("IPv6 flows used overlays %v, want both (Maglev over the IPv6 5-tuple)\n%s", used, e.table())
	}
}

// dropCount reads one drop reason of a site's gateway.
func dropCount(t *testing.T, s *lab.Site, r dataplane.DropReason) uint64 {
	t.Helper()
	d, err := s.DP.DropCounters()
	if err != nil {
		t.Fatal(err)
	}
	return d[r].Packets
}

// tunnelTX reads both gateways' per-overlay transmit counts.
func tunnelTX(t *testing.T, e *env) map[string][2]uint64 {
	t.Helper()
	out := map[string][2]uint64{}
	for _, s := range e.Sites() {
		var tx [2]uint64
		for i, id := range lab.Tunnels {
			c, err := s.DP.TunnelCounter(id)
			if err != nil {
				t.Fatal(err)
			}
			tx[i] = c.TX.Packets
		}
		out[s.Name] = tx
	}
	return out
}

// TestIPv6Underlay runs the two-site lab with both overlays over IPv6 on the
// WAN links (GRE inside IPv6 between the gateways' IPv6 WAN addresses) and
// carries real IPv4 and IPv6 sockets both ways through them: pings, TCP
// transfers balanced over both overlays (whose SYNs the gateways clamp for
// the IPv6 outer header: checkDrops fails the test on any icmp_too_big
// before the path MTU part), then path MTU discovery for both inner families
// against the overlay's 1500 − 40 − 4 bytes.
func TestIPv6Underlay(t *testing.T) {
	e := newLabWith(t, lab.Config{Underlay6: true})
	for _, s := range e.Sites() {
		for i, ti := range s.DP.ListTunnels() {
			if ti.Tunnel.Src != s.WANAddr6[i] || ti.Tunnel.Dst != s.Peer().WANAddr6[i] {
				t.Fatalf("gw-%s tunnel %d runs %s→%s, want the IPv6 underlay", s.Name, ti.ID, ti.Tunnel.Src, ti.Tunnel.Dst)
			}
		}
	}
	e.warmup()
	routeIPv6(t, e)
	_, hostA, _ := site6(e.A)
	_, hostB, _ := site6(e.B)
	before := tunnelTX(t, e)

	for _, s := range e.Sites() {
		_, peerHost, _ := site6(s.Peer())
		for _, dst := range []netip.Addr{s.Peer().HostAddr, peerHost} {
			// The first IPv6 echoes wait for neighbour discovery on the LANs.
			n, err := testenv.Ping(s.Host, dst, 5, 10*time.Second)
			if err != nil || n < 4 {
				t.Fatalf("ping %s from host-%s: %d of 5 replies (%v)\n%s", dst, s.Name, n, err, e.table())
			}
		}
	}
	for i := range 6 {
		for _, c := range []struct {
			from, to *lab.Site
			addr     string
		}{
			{e.A, e.B, netip.AddrPortFrom(e.B.HostAddr, uint16(7000+i)).String()},
			{e.B, e.A, netip.AddrPortFrom(e.A.HostAddr, uint16(7100+i)).String()},
			{e.A, e.B, fmt.Sprintf("[%s]:%d", hostB, 7200+i)},
			{e.B, e.A, fmt.Sprintf("[%s]:%d", hostA, 7300+i)},
		} {
			if err := testenv.TransferTCP(t, c.from.Host, c.to.Host, c.addr, 256<<10); err != nil {
				t.Fatalf("TCP host-%s → %s over the IPv6 underlay: %v\n%s", c.from.Name, c.addr, err, e.table())
			}
		}
	}
	after := tunnelTX(t, e)
	for _, s := range e.Sites() {
		for i, id := range lab.Tunnels {
			if after[s.Name][i] == before[s.Name][i] {
				t.Errorf("gw-%s sent nothing on tunnel %d: Maglev spreads 24 connections over both\n%s", s.Name, id, e.table())
			}
		}
	}

	// Path MTU: tunnel 1 only from gw-a (1500 − 40 − 4 = 1456 bytes inside).
	if err := e.A.SetTunnelDown(lab.Tunnel2, true); err != nil {
		t.Fatal(err)
	}
	e.allow[dataplane.DropICMPTooBig] = 20 // each answered packet counts there
	for _, c := range []struct {
		name string
		dst  string
		size int
	}{
		{"IPv4", netip.AddrPortFrom(e.B.HostAddr, 7400).String(), 1500 - 20 - 8},
		{"IPv6", fmt.Sprintf("[%s]:7401", hostB), 1500 - 40 - 8},
	} {
		sink, err := netlab.NewUDPSink(e.B.Host, c.dst)
		if err != nil {
			t.Fatal(err)
		}
		ptb := dropCount(t, e.A, dataplane.DropICMPTooBig)
		delivered := false
		for attempt := 0; attempt < 10 && !delivered; attempt++ {
			flow, err := netlab.SendUDP(e.A.Host, "", c.dst, 1, c.size, 0)
			if err != nil {
				t.Fatal(err)
			}
			delivered = sink.WaitReceived(flow, 1, time.Second) == 1
		}
		if !delivered {
			t.Errorf("%s: a 1500-byte packet never crossed the overlay (no path MTU learned)\n%s", c.name, e.table())
		}
		if dropCount(t, e.A, dataplane.DropICMPTooBig) == ptb {
			t.Errorf("%s: gw-a answered no packet too big / fragmentation needed\n%s", c.name, e.table())
		}
		if sink.Corrupt() != 0 {
			t.Errorf("%s: %d corrupt datagrams", c.name, sink.Corrupt())
		}
		sink.Close()
	}
}
