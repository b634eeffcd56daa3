package xdp

import (
	"bytes"
	"net"
	"net/netip"
	"testing"
	"time"

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
