package xdp

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// fixture is one packet through the pipeline: the rules it needs, the frame, the
// port it arrives on, the verdict and drop reason wanted, and checks on the output.
type fixture struct {
	name   string
	setup  func(t *testing.T, r *rig)
	port   dataplane.PortID
	frame  func(t *testing.T) []byte
	want   uint32
	reason dataplane.DropReason // counted when want == xdpDrop
	check  func(t *testing.T, r *rig, out gopacket.Packet)
	check2 func(t *testing.T, r *rig) // after check, without the packet
}

func (f fixture) run(t *testing.T, r *rig) {
	t.Helper()
	must(t, r.dp.Clear())
	if f.setup != nil {
		f.setup(t, r)
	}
	before := r.drops()
	got, out := r.run(f.port, f.frame(t))
	if got != f.want {
		t.Fatalf("verdict %d, want %d (drops now %v)", got, f.want, r.drops())
	}
	after := r.drops()
	for reason, c := range after {
		if c.Packets != before[reason].Packets && (f.want != xdpDrop || reason != f.reason) && reason != dataplane.DropICMPTooBig {
			t.Errorf("unexpected drop reason %v", reason)
		}
	}
	if f.want == xdpDrop && f.reason != 0 && after[f.reason].Packets != before[f.reason].Packets+1 {
		t.Errorf("drop reason %v not counted (drops %v)", f.reason, after)
	}
	if f.check != nil {
		f.check(t, r, decode(out))
	}
}

func frameOf(p pkt) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return p.bytes(t) }
}

// addRule installs FAR far and a PDR selecting it.
func addRule(t *testing.T, r *rig, m dataplane.PDRMatch, prio uint32, farID dataplane.FARID, far dataplane.FAR) dataplane.PDRID {
	t.Helper()
	must(t, r.dp.SetFAR(farID, far))
	id, err := r.dp.InsertPDR(dataplane.PDR{Match: m, Priority: prio, FAR: farID})
	must(t, err)
	return id
}

func tunnels(t *testing.T, r *rig) {
	t.Helper()
	must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0}))
	must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd}))
}

func uplink() dataplane.PDRMatch {
	m := dataplane.MatchAll()
	m.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUplink), Mask: 3}
	return m
}

func downlink() dataplane.PDRMatch {
	m := dataplane.MatchAll()
	m.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirDownlink), Mask: 3}
	return m
}

// checkIPv4 asserts the header checksum of every IPv4 layer is right.
func checkIPv4(t *testing.T, p gopacket.Packet) {
	t.Helper()
	for _, l := range p.Layers() {
		ip, ok := l.(*layers.IPv4)
		if !ok {
			continue
		}
		h := append([]byte(nil), ip.Contents...)
		h[10], h[11] = 0, 0
		if got, want := ip.Checksum, csum(h); got != want {
			t.Errorf("IPv4 %s→%s checksum %#04x, want %#04x", ip.SrcIP, ip.DstIP, got, want)
		}
	}
}

func csum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s > 0xffff {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

func outerIP(t *testing.T, p gopacket.Packet) (*layers.Ethernet, *layers.IPv4, *layers.GRE, *layers.IPv4) {
	t.Helper()
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	var ips []*layers.IPv4
	for _, l := range p.Layers() {
		if ip, ok := l.(*layers.IPv4); ok {
			ips = append(ips, ip)
		}
	}
	gre, _ := p.Layer(layers.LayerTypeGRE).(*layers.GRE)
	if eth == nil || gre == nil || len(ips) != 2 {
		t.Fatalf("not Ethernet/IPv4/GRE/IPv4: %v", p)
	}
	return eth, ips[0], gre, ips[1]
}

func TestPipelineActions(t *testing.T) {
	r := newRig(t)
	udp := pkt{sport: 1000, dport: 5060, tos: 46 << 2, payload: 64}
	fixtures := []fixture{
		{name: "miss takes the default (pass)", port: portLAN, frame: frameOf(udp), want: xdpPass,
			check: func(t *testing.T, r *rig, _ gopacket.Packet) {
				if c, _ := r.dp.PDRDefaultCounter(); c.Packets != 1 {
					t.Errorf("default counter %+v, want 1 packet", c)
				}
			}},
		{name: "default set to drop", port: portLAN, frame: frameOf(udp), want: xdpDrop, reason: dataplane.DropPolicy,
			setup: func(t *testing.T, r *rig) { must(t, r.dp.SetPDRDefault(dataplane.FAR{Action: dataplane.ActDrop})) }},
		{name: "drop", port: portLAN, frame: frameOf(udp), want: xdpDrop, reason: dataplane.DropPolicy,
			setup: func(t *testing.T, r *rig) { addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActDrop}) }},
		{name: "pass", port: portLAN, frame: frameOf(udp), want: xdpPass,
			setup: func(t *testing.T, r *rig) { addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActPass}) }},
		{name: "missing FAR", port: portLAN, frame: frameOf(udp), want: xdpDrop, reason: dataplane.DropNoFAR,
			setup: func(t *testing.T, r *rig) {
				_, err := r.dp.InsertPDR(dataplane.PDR{Match: uplink(), Priority: 1, FAR: 99})
				must(t, err)
			}},
		{name: "forward to the LAN with FIB MACs and TTL-1", port: portWAN0,
			frame: frameOf(pkt{src: remoteIP, dst: hostIP, sport: 7, dport: 9, payload: 10}), want: xdpRedirect,
			setup: func(t *testing.T, r *rig) {
				m := dataplane.MatchAll()
				m.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUnderlay), Mask: 3}
				addRule(t, r, m, 1, 1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if !bytes.Equal(eth.DstMAC, hostMAC) || !bytes.Equal(eth.SrcMAC, r.mac[portLAN]) {
					t.Errorf("MACs %s→%s, want %s→%s", eth.SrcMAC, eth.DstMAC, r.mac[portLAN], hostMAC)
				}
				if ip.TTL != 63 {
					t.Errorf("TTL %d, want 63", ip.TTL)
				}
				checkIPv4(t, p)
				if c, _ := r.dp.PortCounter(portLAN); c.TX.Packets != 1 {
					t.Errorf("lan tx %+v, want 1", c.TX)
				}
			}},
		{name: "forward with TTL 1 goes to the kernel", port: portWAN0,
			frame: frameOf(pkt{src: remoteIP, dst: hostIP, ttl: 1}), want: xdpPass,
			setup: func(t *testing.T, r *rig) {
				addRule(t, r, dataplane.MatchAll(), 1, 1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
			}},
		{name: "forward to a detached port", port: portLAN, frame: frameOf(udp), want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_NO_PORT),
			setup: func(t *testing.T, r *rig) {
				addRule(t, r, dataplane.MatchAll(), 1, 1, dataplane.FAR{Action: dataplane.ActForward, Port: 9})
			}},
		{name: "encap, no key, DSCP copied", port: portLAN, frame: frameOf(udp), want: xdpRedirect,
			setup: func(t *testing.T, r *rig) {
				tunnels(t, r)
				addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, outer, gre, inner := outerIP(t, p)
				if !bytes.Equal(eth.DstMAC, peer0MAC) || !bytes.Equal(eth.SrcMAC, r.mac[portWAN0]) {
					t.Errorf("outer MACs %s→%s, want %s→%s", eth.SrcMAC, eth.DstMAC, r.mac[portWAN0], peer0MAC)
				}
				if !outer.SrcIP.Equal(local0.AsSlice()) || !outer.DstIP.Equal(peer0.AsSlice()) {
					t.Errorf("outer %s→%s", outer.SrcIP, outer.DstIP)
				}
				if outer.Flags&layers.IPv4DontFragment == 0 || outer.TTL != 64 || outer.TOS != 46<<2 {
					t.Errorf("outer flags %v ttl %d tos %#x, want DF, 64, %#x", outer.Flags, outer.TTL, outer.TOS, 46<<2)
				}
				if int(outer.Length) != 20+4+int(inner.Length) {
					t.Errorf("outer length %d, inner %d", outer.Length, inner.Length)
				}
				if gre.KeyPresent || gre.Protocol != layers.EthernetTypeIPv4 || gre.Version != 0 {
					t.Errorf("GRE %+v", gre)
				}
				if inner.TTL != 63 || !inner.DstIP.Equal(remoteIP.AsSlice()) {
					t.Errorf("inner ttl %d dst %s", inner.TTL, inner.DstIP)
				}
				checkIPv4(t, p)
				if u := p.Layer(layers.LayerTypeUDP).(*layers.UDP); u.DstPort != 5060 || len(u.Payload) != 64 {
					t.Errorf("inner UDP %v payload %d", u.DstPort, len(u.Payload))
				}
				if c, _ := r.dp.TunnelCounter(1); c.TX.Packets != 1 {
					t.Errorf("tunnel 1 tx %+v", c.TX)
				}
				if c, _ := r.dp.PortCounter(portWAN0); c.TX.Packets != 1 {
					t.Errorf("wan0 tx %+v", c.TX)
				}
			}},
		{name: "encap with key and tunnel DSCP", port: portLAN, frame: frameOf(udp), want: xdpRedirect,
			setup: func(t *testing.T, r *rig) {
				tunnels(t, r)
				must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd, SetDSCP: true, DSCP: 10}))
				addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 2})
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, outer, gre, _ := outerIP(t, p)
				if !bytes.Equal(eth.DstMAC, peer1MAC) || !outer.DstIP.Equal(peer1.AsSlice()) {
					t.Errorf("went to %s/%s, want wan1 peer", eth.DstMAC, outer.DstIP)
				}
				if !gre.KeyPresent || gre.Key != 0xabcd || outer.TOS != 10<<2 || int(outer.Length) != 20+8+92 {
					t.Errorf("GRE key %v %#x, tos %#x, len %d", gre.KeyPresent, gre.Key, outer.TOS, outer.Length)
				}
				checkIPv4(t, p)
			}},
		{name: "encap onto a missing tunnel", port: portLAN, frame: frameOf(udp), want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_NO_TUNNEL),
			setup: func(t *testing.T, r *rig) {
				addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 7})
			}},
		{name: "encap onto a tunnel marked down", port: portLAN, frame: frameOf(udp), want: xdpDrop, reason: dataplane.DropTunnelDown,
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0, Down: true}))
				addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			}},
		{name: "encap with no route to the peer", port: portLAN, frame: frameOf(udp), want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_NO_ROUTE),
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: netip.MustParseAddr("192.0.2.9")}))
				addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			}},
		{name: "encap to an unresolved neighbour goes to the kernel encapsulated", port: portLAN, frame: frameOf(udp), want: xdpPass,
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: netip.MustParseAddr("172.16.0.3")}))
				addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, outer, _, _ := outerIP(t, p)
				if !bytes.Equal(eth.SrcMAC, hostMAC) || !outer.DstIP.Equal(net4("172.16.0.3")) {
					t.Errorf("kernel-bound frame %s→%s, outer dst %s", eth.SrcMAC, eth.DstMAC, outer.DstIP)
				}
			}},
		{name: "punt", port: portLAN, frame: frameOf(udp), want: xdpDrop,
			setup: func(t *testing.T, r *rig) { addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActPunt}) },
			check: func(t *testing.T, r *rig, _ gopacket.Packet) {
				select {
				case p := <-r.dp.Punts():
					if p.Port != portLAN || !bytes.Equal(p.Packet, udp.bytes(t)) || p.Length != len(p.Packet) {
						t.Errorf("punt from port %d, %d bytes (len %d)", p.Port, len(p.Packet), p.Length)
					}
				case <-time.After(2 * time.Second):
					t.Error("no punt arrived")
				}
			}},
		{name: "ARP goes to the kernel", port: portLAN, want: xdpPass,
			frame: func(t *testing.T) []byte {
				return serialize(t, &layers.Ethernet{SrcMAC: hostMAC, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeARP},
					&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
						Operation: 1, SourceHwAddress: hostMAC, SourceProtAddress: hostIP.AsSlice(), DstHwAddress: make([]byte, 6), DstProtAddress: net4("10.1.0.1")})
			}},
		{name: "IPv6 without a rule takes the default (pass)", port: portLAN, want: xdpPass,
			frame: func(t *testing.T) []byte {
				return serialize(t, &layers.Ethernet{SrcMAC: hostMAC, DstMAC: hostMAC, EthernetType: layers.EthernetTypeIPv6},
					&layers.IPv6{Version: 6, NextHeader: layers.IPProtocolNoNextHeader, HopLimit: 1, SrcIP: host6.AsSlice(), DstIP: remote6.AsSlice()})
			}},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

func net4(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
