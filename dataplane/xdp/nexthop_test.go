package xdp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/dataplane"
)

// TestNexthopFollowsUnderlay changes a tunnel's underlay next hop under traffic
// — the neighbour's MAC, then the route's gateway — and checks that every packet
// is still encapsulated and redirected, first with the old MACs, then, once the
// agent has seen the kernel's change, with the new ones, which encapsulation
// takes from tunnel_nexthops (the agent's copy), not from a FIB lookup.
func TestNexthopFollowsUnderlay(t *testing.T) {
	r := newRig(t)
	far := dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1}
	must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0}))
	addRule(t, r, uplink(), 1, 1, far)
	frame := frameOf(pkt{sport: 1000, dport: 5060, payload: 64})(t)

	state := func(id uint32) linxTunnelNh {
		var v linxTunnelNh
		must(t, r.dp.objs.TunnelNexthops.Lookup(id, &v))
		return v
	}
	if v := state(1); v.State != uint8(linxNhStateNH_OK) || !bytes.Equal(v.Dmac[:], peer0MAC) {
		t.Fatalf("next hop of tunnel 1: %+v, want resolved to %v", v, peer0MAC)
	}
	// send runs packets until one leaves with dmac want; every one must be
	// redirected out of wan0 with one of the allowed MACs.
	send := func(want net.HardwareAddr, allowed ...net.HardwareAddr) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second) // events arrive in microseconds; this only bounds a failure
		for n := 0; ; n++ {
			verdict, out := r.run(portLAN, frame)
			if verdict != xdpRedirect {
				t.Fatalf("packet %d: verdict %d, want redirect (drops %v)", n, verdict, r.drops())
			}
			eth, outer, _, _ := outerIP(t, decode(out))
			if !outer.DstIP.Equal(net.IP(peer0.AsSlice())) || !bytes.Equal(eth.SrcMAC, r.mac[portWAN0]) {
				t.Fatalf("packet %d: outer %v→%v from %v", n, outer.SrcIP, outer.DstIP, eth.SrcMAC)
			}
			if bytes.Equal(eth.DstMAC, want) {
				return
			}
			ok := false
			for _, a := range allowed {
				ok = ok || bytes.Equal(eth.DstMAC, a)
			}
			if !ok {
				t.Fatalf("packet %d: dmac %v, want %v or %v", n, eth.DstMAC, want, allowed)
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %d packets still dmac %v, want %v: the next hop did not follow the kernel", n, eth.DstMAC, want)
			}
		}
	}
	send(peer0MAC)

	// The neighbour's MAC changes.
	newMAC := net.HardwareAddr{0x02, 0, 0, 0, 0x10, 0x99}
	wan0 := r.idx[portWAN0]
	must(t, r.ns.Do(func() error {
		return netlink.NeighSet(&netlink.Neigh{LinkIndex: wan0, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
			IP: net.IP(peer0.AsSlice()), HardwareAddr: newMAC})
	}))
	send(newMAC, peer0MAC)

	// The route to the peer changes gateway: 172.16.0.3, another MAC.
	gw2, gw2MAC := netip.MustParseAddr("172.16.0.3"), net.HardwareAddr{0x02, 0, 0, 0, 0x10, 0x03}
	must(t, r.ns.Do(func() error {
		if err := netlink.NeighSet(&netlink.Neigh{LinkIndex: wan0, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
			IP: net.IP(gw2.AsSlice()), HardwareAddr: gw2MAC}); err != nil {
			return err
		}
		return netlink.RouteReplace(&netlink.Route{LinkIndex: wan0, Dst: &net.IPNet{IP: net.IP(peer0.AsSlice()), Mask: net.CIDRMask(32, 32)},
			Gw: net.IP(gw2.AsSlice())})
	}))
	send(gw2MAC, newMAC)

	// The host route goes: the peer is on wan0's /24 again.
	must(t, r.ns.Do(func() error {
		return netlink.RouteDel(&netlink.Route{LinkIndex: wan0, Dst: &net.IPNet{IP: net.IP(peer0.AsSlice()), Mask: net.CIDRMask(32, 32)},
			Gw: net.IP(gw2.AsSlice())})
	}))
	send(newMAC, gw2MAC)
}

// TestForwardFollowsNeighbour changes the LAN host's neighbour entry under
// downlink traffic that a forward FAR delivers: the flow-cache hit carries the
// MACs the FIB gave its flow's first packet, and the change (heard of over
// netlink, which bumps the next-hop generation) must reach the next packets.
// A MAC change: every packet is delivered, with the old MAC, then the new one.
// The neighbour gone: the kernel gets the packets (it would resolve it), and
// that answer is not cached: once the neighbour is back, delivery resumes.
// A packet longer than the route MTU on a cached flow goes to the kernel too.
func TestForwardFollowsNeighbour(t *testing.T) {
	r := newRig(t)
	decapSetup(t, r)
	frame := greFrame(t, peer0, local0, &layers.GRE{}, innerIP(t))
	lan0 := r.idx[portLAN]

	// send runs packets until one gets verdict want (with dmac want, for a
	// redirect); every one before must be a redirect out of lan0 with an allowed
	// MAC, or passed to the kernel when pass is allowed.
	send := func(frame []byte, want uint32, wantMAC net.HardwareAddr, pass bool, allowed ...net.HardwareAddr) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second) // events arrive in microseconds; this only bounds a failure
		for n := 0; ; n++ {
			verdict, out := r.run(portWAN0, frame)
			var dmac net.HardwareAddr
			if verdict == xdpRedirect {
				eth := decode(out).Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				if !bytes.Equal(eth.SrcMAC, r.mac[portLAN]) {
					t.Fatalf("packet %d: smac %v, want lan0's %v", n, eth.SrcMAC, r.mac[portLAN])
				}
				dmac = eth.DstMAC
			}
			if verdict == want && (want != xdpRedirect || bytes.Equal(dmac, wantMAC)) {
				return
			}
			ok := verdict == xdpPass && pass
			for _, a := range allowed {
				ok = ok || verdict == xdpRedirect && bytes.Equal(dmac, a)
			}
			if !ok {
				t.Fatalf("packet %d: verdict %d dmac %v, want %d %v (drops %v)", n, verdict, dmac, want, wantMAC, r.drops())
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %d packets still verdict %d dmac %v, want %d %v: forwarding did not follow the kernel",
					n, verdict, dmac, want, wantMAC)
			}
		}
	}
	send(frame, xdpRedirect, hostMAC, false)
	send(frame, xdpRedirect, hostMAC, false) // a flow-cache hit

	// Longer than lan0's MTU (1500), on the cached flow: the kernel's.
	big := greFrame(t, peer0, local0, &layers.GRE{},
		pkt{src: remoteIP, dst: hostIP, sport: 53, dport: 4000, payload: 1600}.bytes(t)[14:])
	if v, _ := r.run(portWAN0, big); v != xdpPass {
		t.Fatalf("packet over the route MTU: verdict %d, want pass", v)
	}

	// The host's MAC changes.
	newMAC := net.HardwareAddr{0x02, 0, 0, 0, 0x01, 0x99}
	setNeigh := func(mac net.HardwareAddr) {
		t.Helper()
		must(t, r.ns.Do(func() error {
			return netlink.NeighSet(&netlink.Neigh{LinkIndex: lan0, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
				IP: net.IP(hostIP.AsSlice()), HardwareAddr: mac})
		}))
	}
	setNeigh(newMAC)
	send(frame, xdpRedirect, newMAC, false, hostMAC)

	// The neighbour goes: packets to the kernel, never an old MAC cached.
	must(t, r.ns.Do(func() error {
		return netlink.NeighDel(&netlink.Neigh{LinkIndex: lan0, Family: netlink.FAMILY_V4, IP: net.IP(hostIP.AsSlice())})
	}))
	send(frame, xdpPass, nil, true, newMAC)
	send(frame, xdpPass, nil, true) // and again: no neighbour is not cached as a rewrite

	// It comes back with the first MAC.
	setNeigh(hostMAC)
	send(frame, xdpRedirect, hostMAC, true)
}
