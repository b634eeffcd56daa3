package xdp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
)

// innerIP builds an IPv4/UDP packet without Ethernet, as carried inside GRE.
func innerIP(t *testing.T) []byte {
	t.Helper()
	b := pkt{src: remoteIP, dst: hostIP, sport: 53, dport: 4000, payload: 32}.bytes(t)
	return b[14:]
}

func decapSetup(t *testing.T, r *rig) {
	tunnels(t, r)
	must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer0, Local: local0}, 1))
	must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer1, Local: local1, Key: 0xabcd}, 2))
	addRule(t, r, downlink(), 1, 1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
}

func TestPipelineDecap(t *testing.T) {
	r := newRig(t)
	checkDelivered := func(t *testing.T, r *rig, p gopacket.Packet) {
		t.Helper()
		eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if !bytes.Equal(eth.DstMAC, hostMAC) || !bytes.Equal(eth.SrcMAC, r.mac[portLAN]) {
			t.Errorf("MACs %s→%s, want %s→%s", eth.SrcMAC, eth.DstMAC, r.mac[portLAN], hostMAC)
		}
		if ip == nil || p.Layer(layers.LayerTypeGRE) != nil || ip.TTL != 63 || !ip.DstIP.Equal(hostIP.AsSlice()) {
			t.Fatalf("not the decapsulated inner packet: %v", p)
		}
		want := innerIP(t)
		got := append([]byte(nil), ip.Contents...)
		got = append(got, ip.Payload...)
		want[8]-- // TTL
		binary.BigEndian.PutUint16(want[10:], 0)
		binary.BigEndian.PutUint16(got[10:], 0)
		if !bytes.Equal(got, want) {
			t.Errorf("inner packet changed beyond TTL:\n got %x\nwant %x", got, want)
		}
		checkIPv4(t, p)
	}
	fixtures := []fixture{
		{name: "plain GRE from a known peer", port: portWAN0, want: xdpRedirect, setup: decapSetup,
			frame: func(t *testing.T) []byte { return greFrame(t, peer0, local0, &layers.GRE{}, innerIP(t)) },
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				checkDelivered(t, r, p)
				if c, _ := r.dp.TunnelCounter(1); c.RX.Packets != 1 {
					t.Errorf("tunnel 1 rx %+v", c.RX)
				}
			}},
		{name: "GRE with key, checksum and sequence number", port: portWAN1, want: xdpRedirect, setup: decapSetup,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer1, local1, &layers.GRE{KeyPresent: true, Key: 0xabcd, SeqPresent: true, Seq: 7, ChecksumPresent: true}, innerIP(t))
			},
			check: checkDelivered},
		{name: "spoofed: unknown peer", port: portWAN0, want: xdpDrop, reason: dataplane.DropGRESpoofed, setup: decapSetup,
			frame: func(t *testing.T) []byte {
				return greFrame(t, netip.MustParseAddr("172.16.0.9"), local0, &layers.GRE{}, innerIP(t))
			}},
		{name: "spoofed: wrong key", port: portWAN1, want: xdpDrop, reason: dataplane.DropGRESpoofed, setup: decapSetup,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer1, local1, &layers.GRE{KeyPresent: true, Key: 0xabce}, innerIP(t))
			}},
		{name: "spoofed: key missing", port: portWAN1, want: xdpDrop, reason: dataplane.DropGRESpoofed, setup: decapSetup,
			frame: func(t *testing.T) []byte { return greFrame(t, peer1, local1, &layers.GRE{}, innerIP(t)) }},
		{name: "GRE to a non-local address is plain underlay traffic", port: portWAN0, want: xdpPass, setup: decapSetup,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer0, netip.MustParseAddr("172.16.0.77"), &layers.GRE{}, innerIP(t))
			}},
		{name: "GRE on a LAN port is not decapsulated", port: portLAN, want: xdpPass, setup: decapSetup,
			frame: func(t *testing.T) []byte { return greFrame(t, peer0, local0, &layers.GRE{}, innerIP(t)) }},
		{name: "GRE routing bit (RFC 1701)", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_GRE_FLAGS), setup: decapSetup,
			frame: func(t *testing.T) []byte {
				b := greFrame(t, peer0, local0, &layers.GRE{}, innerIP(t))
				b[34] |= 0x40
				return b
			}},
		{name: "GRE version 1", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_GRE_FLAGS), setup: decapSetup,
			frame: func(t *testing.T) []byte {
				b := greFrame(t, peer0, local0, &layers.GRE{}, innerIP(t))
				b[35] |= 1
				return b
			}},
		{name: "GRE carrying neither IPv4 nor IPv6", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_GRE_PROTO), setup: decapSetup,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer0, local0, &layers.GRE{Protocol: layers.EthernetTypeARP}, innerIP(t))
			}},
		{name: "GRE truncated", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_MALFORMED_GRE), setup: decapSetup,
			frame: func(t *testing.T) []byte {
				b := greFrame(t, peer0, local0, &layers.GRE{KeyPresent: true, Key: 1}, nil)
				b = b[:14+20+6] // GRE key cut short (and no Ethernet padding)
				binary.BigEndian.PutUint16(b[16:], uint16(len(b)-14))
				fixIPv4(b[14:34])
				return b
			}},
		{name: "fragmented GRE", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_GRE_FRAGMENT), setup: decapSetup,
			frame: func(t *testing.T) []byte {
				b := greFrame(t, peer0, local0, &layers.GRE{}, innerIP(t))
				b[20] |= 0x20 // MF
				fixIPv4(b[14:34])
				return b
			}},
		{name: "malformed inner packet", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_IP_IHL), setup: decapSetup,
			frame: func(t *testing.T) []byte {
				in := innerIP(t)
				in[0] = 0x44
				return greFrame(t, peer0, local0, &layers.GRE{}, in)
			}},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// fixIPv4 recomputes the checksum of a 20-byte IPv4 header.
func fixIPv4(h []byte) {
	h[10], h[11] = 0, 0
	binary.BigEndian.PutUint16(h[10:], csum(h[:20]))
}

// TestPipelineLoadBalancing checks the LBR: weighted split, flow stickiness, and a
// member marked down skipped without touching the group.
func TestPipelineLoadBalancing(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	tunnels(t, r)
	must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 3}, {Tunnel: 2, Weight: 1}}))
	addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})

	overlay := func(sport uint16) dataplane.TunnelID {
		t.Helper()
		v, out := r.run(portLAN, pkt{sport: sport, dport: 443, proto: layers.IPProtocolTCP}.bytes(t))
		if v != xdpRedirect {
			t.Fatalf("flow %d: verdict %d, drops %v", sport, v, r.drops())
		}
		_, outer, _, _ := outerIP(t, decode(out))
		switch {
		case outer.DstIP.Equal(peer0.AsSlice()):
			return 1
		case outer.DstIP.Equal(peer1.AsSlice()):
			return 2
		}
		t.Fatalf("flow %d went to %s", sport, outer.DstIP)
		return 0
	}
	const flows = 2000
	first := map[uint16]dataplane.TunnelID{}
	share := map[dataplane.TunnelID]int{}
	for i := range flows {
		sport := uint16(10000 + i)
		first[sport] = overlay(sport)
		share[first[sport]]++
	}
	// 5 sigma of a binomial(2000, 0.75): ±0.048.
	if f := float64(share[1]) / flows; f < 0.70 || f > 0.80 {
		t.Errorf("tunnel 1 carried %.3f of flows, want 0.75±0.05 (%v)", f, share)
	}
	for sport, want := range first {
		if sport%10 == 0 {
			if got := overlay(sport); got != want {
				t.Fatalf("flow %d moved from tunnel %d to %d", sport, want, got)
			}
		}
	}

	must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd, Down: true}))
	for sport, was := range first {
		got := overlay(sport)
		if got != 1 {
			t.Fatalf("flow %d on tunnel %d with tunnel 2 down", sport, got)
		}
		_ = was
	}
	// Up again: every flow returns to where it was (the group was never rebuilt).
	tunnels(t, r)
	for sport, want := range first {
		if got := overlay(sport); got != want {
			t.Fatalf("flow %d on tunnel %d after tunnel 2 came back, was %d", sport, got, want)
		}
	}
	// Both down: dropped with a reason.
	must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0, Down: true}))
	must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Down: true}))
	before := r.drops()[dataplane.DropLBRDown].Packets
	if v, _ := r.run(portLAN, pkt{sport: 1, dport: 2}.bytes(t)); v != xdpDrop || r.drops()[dataplane.DropLBRDown].Packets != before+1 {
		t.Fatalf("all members down: verdict %d, drops %v", v, r.drops())
	}
}

// TestPipelineWeightChange checks that a weight change moves few flows.
func TestPipelineWeightChange(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	tunnels(t, r)
	must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 3}, {Tunnel: 2, Weight: 1}}))
	addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})
	route := func() map[uint16]string {
		m := map[uint16]string{}
		for i := range 1000 {
			_, out := r.run(portLAN, pkt{sport: uint16(20000 + i), dport: 80}.bytes(t))
			_, outer, _, _ := outerIP(t, decode(out))
			m[uint16(20000+i)] = outer.DstIP.String()
		}
		return m
	}
	before := route()
	must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 2}, {Tunnel: 2, Weight: 1}}))
	after := route()
	moved := 0
	for k, v := range before {
		if after[k] != v {
			moved++
		}
	}
	// 3:1 → 2:1 shifts 1/12 of the flows (8.3%) at least; allow Maglev's slack.
	if moved < 40 || moved > 140 {
		t.Errorf("%d of 1000 flows moved on a 3:1→2:1 change, want about 83", moved)
	}
}

// TestPipelinePortDown checks that a WAN port whose link is down takes its tunnels
// out of load balancing and makes encapsulation onto them drop.
func TestPipelinePortDown(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	tunnels(t, r)
	must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}))
	addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})
	must(t, r.dp.SetPortUp(portWAN0, false))
	t.Cleanup(func() { r.dp.SetPortUp(portWAN0, true) })
	for i := range 200 {
		v, out := r.run(portLAN, pkt{sport: uint16(30000 + i), dport: 80}.bytes(t))
		if v != xdpRedirect {
			t.Fatalf("verdict %d", v)
		}
		if _, outer, _, _ := outerIP(t, decode(out)); !outer.DstIP.Equal(peer1.AsSlice()) {
			t.Fatalf("flow %d left by wan0, whose link is down", i)
		}
	}
	addRule(t, r, uplink(), 2, 2, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
	before := r.drops()[dataplane.DropTunnelDown].Packets
	if v, _ := r.run(portLAN, pkt{sport: 1, dport: 80}.bytes(t)); v != xdpDrop || r.drops()[dataplane.DropTunnelDown].Packets != before+1 {
		t.Fatalf("encap onto a tunnel over a down port: verdict %d, drops %v", v, r.drops())
	}
	must(t, r.dp.SetPortUp(portWAN0, true))
	if v, _ := r.run(portLAN, pkt{sport: 1, dport: 80}.bytes(t)); v != xdpRedirect {
		t.Fatalf("port back up: verdict %d", v)
	}
}

// TestPipelineWatchPort checks P4Runtime watch ports on LBR members: while the
// watched port (a physical port's link, or an overlay's logical port) is down,
// the member gets no flow, flows on the other member stay put, and every flow
// returns to its member when the port comes back — all without rewriting the LBR.
func TestPipelineWatchPort(t *testing.T) {
	const watchedPort = 5 // a port carrying none of the LBR's tunnels
	watchedTunnel := dataplane.TunnelPort(16, 3)
	cases := []struct {
		name     string
		watch    uint32
		down, up func(t *testing.T, r *rig)
	}{
		{"physical port", watchedPort,
			func(t *testing.T, r *rig) { must(t, r.dp.SetPortUp(watchedPort, false)) },
			func(t *testing.T, r *rig) { must(t, r.dp.SetPortUp(watchedPort, true)) }},
		{"overlay logical port", watchedTunnel,
			func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(3, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer1, Down: true}))
			},
			func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(3, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer1}))
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t)
			must(t, r.dp.Clear())
			tunnels(t, r)
			tc.up(t, r)
			t.Cleanup(func() { r.dp.SetPortUp(watchedPort, true) })
			// Tunnel 1 watches the port; tunnel 2 watches nothing.
			must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1, Watch: tc.watch}, {Tunnel: 2, Weight: 1}}))
			addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})
			overlay := func(sport uint16) dataplane.TunnelID {
				t.Helper()
				v, out := r.run(portLAN, pkt{sport: sport, dport: 443, proto: layers.IPProtocolTCP}.bytes(t))
				if v != xdpRedirect {
					t.Fatalf("flow %d: verdict %d, drops %v", sport, v, r.drops())
				}
				_, outer, _, _ := outerIP(t, decode(out))
				if outer.DstIP.Equal(peer0.AsSlice()) {
					return 1
				}
				return 2
			}
			const flows = 400
			first := map[uint16]dataplane.TunnelID{}
			share := map[dataplane.TunnelID]int{}
			for i := range flows {
				sport := uint16(40000 + i)
				first[sport] = overlay(sport)
				share[first[sport]]++
			}
			if share[1] < flows/4 || share[2] < flows/4 {
				t.Fatalf("flows split %v with the watched port up, want about even", share)
			}

			tc.down(t, r)
			for sport, was := range first {
				if got := overlay(sport); got != 2 {
					t.Fatalf("flow %d on tunnel %d while the port tunnel 1 watches is down", sport, got)
				} else if was == 2 && got != was {
					t.Fatalf("flow %d moved off tunnel 2", sport)
				}
			}

			tc.up(t, r)
			for sport, want := range first {
				if got := overlay(sport); got != want {
					t.Fatalf("flow %d on tunnel %d after the watched port came back, was %d", sport, got, want)
				}
			}

			// Both members out (tunnel 2 itself down, tunnel 1's watch down): a drop
			// with a reason, as for an LBR whose tunnels are all down.
			tc.down(t, r)
			must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd, Down: true}))
			before := r.drops()[dataplane.DropLBRDown].Packets
			if v, _ := r.run(portLAN, pkt{sport: 1, dport: 2}.bytes(t)); v != xdpDrop || r.drops()[dataplane.DropLBRDown].Packets != before+1 {
				t.Fatalf("every member out: verdict %d, drops %v", v, r.drops())
			}
		})
	}
}
