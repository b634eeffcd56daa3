package xdp

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// The rig's IPv6 underlay: wan0 and wan1 get these addresses, their peers'
// neighbours the peers' MACs.
var (
	local6a = netip.MustParseAddr("2001:db8:f0::1")
	peer6a  = netip.MustParseAddr("2001:db8:f0::2")
	local6b = netip.MustParseAddr("2001:db8:f1::1")
	peer6b  = netip.MustParseAddr("2001:db8:f1::2")
	// On wan0's link, with no neighbour entry: its tunnel's next hop is unresolved.
	noNeigh6 = netip.MustParseAddr("2001:db8:f0::9")
)

// underlay6 gives the rig's WAN ports IPv6 addresses and static neighbours,
// the LAN port an IPv4 address the data path learns (port_addrs4), and
// returns once the data path has it.
func underlay6(t testing.TB, r *rig) {
	t.Helper()
	testenv.SetSysctl(t, r.ns, "net/ipv6/conf/all/forwarding", "1")
	for _, c := range []struct {
		dev         string
		local, peer netip.Addr
		mac         net.HardwareAddr
	}{{"wan0", local6a, peer6a, peer0MAC}, {"wan1", local6b, peer6b, peer1MAC}} {
		testenv.SetSysctl(t, r.ns, "net/ipv6/conf/"+c.dev+"/accept_dad", "0")
		testenv.SetSysctl(t, r.ns, "net/ipv6/conf/"+c.dev+"/disable_ipv6", "0")
		testenv.AddAddr(t, r.ns, c.dev, netip.PrefixFrom(c.local, 64).String())
		testenv.AddNeigh(t, r.ns, c.dev, c.peer.String(), c.mac)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var v uint32
		must(t, r.dp.objs.PortAddrs4.Lookup(uint32(portLAN), &v))
		if v != 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the LAN port's IPv4 address never reached port_addrs4")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tunnels6 installs overlay 1 over wan0 (no key) and 2 over wan1 (key 0xabcd,
// outer DSCP 10), both over the IPv6 underlay.
func tunnels6(t *testing.T, r *rig) {
	t.Helper()
	must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: peer6a}))
	must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local6b, Dst: peer6b, Key: 0xabcd, SetDSCP: true, DSCP: 10}))
}

// gre6Frame wraps inner (an IP packet, no Ethernet) in Ethernet/IPv6/GRE as
// a peer would send it over an IPv6 underlay; exts go between the IPv6 and
// GRE headers (pkt6's encoding).
func gre6Frame(t testing.TB, src, dst netip.Addr, gre *layers.GRE, inner []byte, exts ...ext6) []byte {
	t.Helper()
	if gre.Protocol == 0 {
		gre.Protocol = layers.EthernetTypeIPv4
	}
	g := serialize(t, gre, gopacket.Payload(inner))
	b := pkt6{src: src, dst: dst, proto: 47, exts: exts}.bytes(t)
	b = append(b, g...)
	// pkt6 counted no upper-layer bytes: the payload length grows by GRE's.
	off := 14
	binary.BigEndian.PutUint16(b[off+4:], binary.BigEndian.Uint16(b[off+4:])+uint16(len(g)))
	copy(b[0:6], []byte{0x02, 0, 0, 0, 0, 0xbb})
	copy(b[6:12], peer0MAC)
	return b
}

// outer6 returns an encapsulated frame's outer IPv6 header and GRE layer and
// checks what every encapsulation over the IPv6 underlay must hold: the
// Ethernet type, next header GRE, hop limit 64, a payload length that is the
// rest of the frame.
func outer6(t *testing.T, p gopacket.Packet) (*layers.Ethernet, *layers.IPv6, *layers.GRE) {
	t.Helper()
	eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
	gre, _ := p.Layer(layers.LayerTypeGRE).(*layers.GRE)
	if eth == nil || ip == nil || gre == nil || eth.EthernetType != layers.EthernetTypeIPv6 {
		t.Fatalf("not Ethernet/IPv6/GRE: %v", p)
	}
	if ip.NextHeader != layers.IPProtocolGRE || ip.HopLimit != 64 {
		t.Errorf("outer next header %v hop limit %d, want GRE 64", ip.NextHeader, ip.HopLimit)
	}
	if int(ip.Length) != len(ip.Payload) {
		t.Errorf("outer payload length %d, %d bytes follow", ip.Length, len(ip.Payload))
	}
	return eth, ip, gre
}

// TestPipelineUnderlay6Encap puts IPv4 and IPv6 packets into overlays over an
// IPv6 underlay and checks every outer field, the next hop the agent resolved,
// load balancing across both underlay families, and an unresolved neighbour.
func TestPipelineUnderlay6Encap(t *testing.T) {
	r := newRig(t)
	underlay6(t, r)
	testenv.SetSysctl(t, r.ns, "net/ipv6/conf/lan0/disable_ipv6", "0")
	udp4 := pkt{sport: 1000, dport: 5060, tos: 46 << 2, payload: 64}
	udp6 := pkt6{sport: 1000, dport: 5060, tc: 46 << 2, payload: 64}
	encapTo := func(tunnel dataplane.TunnelID, family uint8) func(t *testing.T, r *rig) {
		return func(t *testing.T, r *rig) {
			tunnels6(t, r)
			m := dataplane.MatchAll()
			m.Family = family
			addRule(t, r, m, 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: tunnel})
		}
	}
	for _, f := range []fixture{
		{name: "IPv4 into GRE over IPv6, traffic class from the inner DSCP", port: portLAN, frame: func(t *testing.T) []byte { return udp4.bytes(t) },
			want: xdpRedirect, setup: encapTo(1, dataplane.FamilyIPv4),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, ip, gre := outer6(t, p)
				if !bytes.Equal(eth.DstMAC, peer0MAC) || !bytes.Equal(eth.SrcMAC, r.mac[portWAN0]) {
					t.Errorf("Ethernet %s→%s, want %s→%s (the agent's next hop)", eth.SrcMAC, eth.DstMAC, r.mac[portWAN0], peer0MAC)
				}
				if !ip.SrcIP.Equal(local6a.AsSlice()) || !ip.DstIP.Equal(peer6a.AsSlice()) {
					t.Errorf("outer %s→%s, want %s→%s", ip.SrcIP, ip.DstIP, local6a, peer6a)
				}
				if ip.TrafficClass != 46<<2 {
					t.Errorf("traffic class %#x, want %#x", ip.TrafficClass, 46<<2)
				}
				if gre.Protocol != layers.EthernetTypeIPv4 || gre.KeyPresent {
					t.Errorf("GRE protocol %v key %v, want IPv4 without key", gre.Protocol, gre.KeyPresent)
				}
				inner, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if inner == nil || inner.TTL != 63 || !inner.DstIP.Equal(remoteIP.AsSlice()) {
					t.Fatalf("inner IPv4 %v", inner)
				}
				checkIPv4(t, p)
				if c, _ := r.dp.TunnelCounter(1); c.TX.Packets != 1 {
					t.Errorf("tunnel tx %+v, want 1", c.TX)
				}
				// The agent resolved the IPv6 neighbour (no FIB lookup per packet).
				var nh linxTunnelNh
				must(t, r.dp.objs.TunnelNexthops.Lookup(uint32(1), &nh))
				if nh.State != uint8(linxNhStateNH_OK) || !bytes.Equal(nh.Dmac[:], peer0MAC) || nh.Mtu != 1500 {
					t.Errorf("tunnel 1 next hop %+v, want ok, %s, MTU 1500", nh, peer0MAC)
				}
			}},
		{name: "IPv6 into GRE over IPv6 with a key and a set DSCP", port: portLAN, frame: frame6(udp6),
			want: xdpRedirect, setup: encapTo(2, dataplane.FamilyIPv6),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, ip, gre := outer6(t, p)
				if !bytes.Equal(eth.DstMAC, peer1MAC) || !ip.SrcIP.Equal(local6b.AsSlice()) || !ip.DstIP.Equal(peer6b.AsSlice()) {
					t.Errorf("outer %s %s→%s", eth.DstMAC, ip.SrcIP, ip.DstIP)
				}
				if ip.TrafficClass != 10<<2 || ip.FlowLabel == 0 {
					t.Errorf("traffic class %#x flow label %#x, want %#x and a label", ip.TrafficClass, ip.FlowLabel, 10<<2)
				}
				if gre.Protocol != layers.EthernetTypeIPv6 || !gre.KeyPresent || gre.Key != 0xabcd {
					t.Errorf("GRE protocol %v key %v/%#x", gre.Protocol, gre.KeyPresent, gre.Key)
				}
				var inner *layers.IPv6
				for _, l := range p.Layers() {
					if ip, ok := l.(*layers.IPv6); ok {
						inner = ip
					}
				}
				if inner == nil || inner == ip || inner.HopLimit != 63 || !inner.SrcIP.Equal(host6.AsSlice()) {
					t.Fatalf("inner IPv6 %v", inner)
				}
				want := udp6.bytes(t)[14:]
				want[7]--
				got := append(append([]byte(nil), inner.Contents...), inner.Payload...)
				if !bytes.Equal(got, want) {
					t.Errorf("inner packet changed beyond its hop limit:\n got %x\nwant %x", got, want)
				}
			}},
		{name: "balance over one IPv4 and one IPv6 underlay", port: portLAN, frame: func(t *testing.T) []byte { return udp4.bytes(t) },
			want: xdpRedirect,
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: peer6a}))
				must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Down: true}))
				must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}))
				addRule(t, r, dataplane.MatchAll(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				_, ip, _ := outer6(t, p) // the IPv4-underlay member is down
				if !ip.DstIP.Equal(peer6a.AsSlice()) {
					t.Errorf("outer to %s, want %s", ip.DstIP, peer6a)
				}
			}},
		{name: "unresolved neighbour: encapsulated, then the kernel resolves it", port: portLAN,
			frame: func(t *testing.T) []byte { return udp4.bytes(t) }, want: xdpPass,
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: noNeigh6}))
				addRule(t, r, dataplane.MatchAll(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				_, ip, _ := outer6(t, p)
				if !ip.DstIP.Equal(noNeigh6.AsSlice()) {
					t.Errorf("outer to %s, want %s", ip.DstIP, noNeigh6)
				}
			}},
		{name: "no route to the far end: dropped", port: portLAN,
			frame: func(t *testing.T) []byte { return udp4.bytes(t) }, want: xdpDrop, reason: dataplane.DropNoRoute,
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: netip.MustParseAddr("2001:db8:99::1")}))
				addRule(t, r, dataplane.MatchAll(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			}},
	} {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestPipelineUnderlay6Decap checks decapsulation of GRE in outer IPv6
// headers: IPv4 and IPv6 inner packets from known peers, outer extension
// headers, anti-spoofing, fragments, and malformed outer headers.
func TestPipelineUnderlay6Decap(t *testing.T) {
	r := newRig(t)
	underlay6(t, r)
	setup := func(t *testing.T, r *rig) {
		tunnels6(t, r)
		must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer6a, Local: local6a}, 1))
		must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer6b, Local: local6b, Key: 0xabcd}, 2))
		addRule(t, r, downlink(), 1, 1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
	}
	setup6 := func(t *testing.T, r *rig) {
		setup(t, r)
		testenv.SetSysctl(t, r.ns, "net/ipv6/conf/lan0/disable_ipv6", "0")
		testenv.AddAddr(t, r.ns, "lan0", "2001:db8:1::1/64")
		testenv.AddNeigh(t, r.ns, "lan0", host6.String(), hostMAC)
	}
	delivered4 := func(t *testing.T, r *rig, p gopacket.Packet) {
		eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		if eth == nil || ip == nil || p.Layer(layers.LayerTypeGRE) != nil || p.Layer(layers.LayerTypeIPv6) != nil {
			t.Fatalf("not the decapsulated inner IPv4 packet: %v", p)
		}
		if !bytes.Equal(eth.DstMAC, hostMAC) || ip.TTL != 63 || !ip.DstIP.Equal(hostIP.AsSlice()) {
			t.Errorf("to %s %s TTL %d, want %s %s 63", eth.DstMAC, ip.DstIP, ip.TTL, hostMAC, hostIP)
		}
		checkIPv4(t, p)
	}
	inner6 := pkt6{src: remote6, dst: host6, sport: 53, dport: 4000, payload: 32}
	local := func(b []byte) []byte { return b }
	spoof := dataplane.DropReason(linxDropReasonDROP_GRE_SPOOFED)
	for _, f := range []fixture{
		{name: "IPv4 inside, from a known peer", port: portWAN0, want: xdpRedirect, setup: setup,
			frame: func(t *testing.T) []byte { return gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t)) },
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				delivered4(t, r, p)
				if c, _ := r.dp.TunnelCounter(1); c.RX.Packets != 1 {
					t.Errorf("tunnel 1 rx %+v, want 1", c.RX)
				}
			}},
		{name: "IPv4 inside, key, checksum and sequence number", port: portWAN1, want: xdpRedirect, setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6b, local6b, &layers.GRE{KeyPresent: true, Key: 0xabcd, SeqPresent: true, Seq: 3, ChecksumPresent: true}, innerIP(t))
			},
			check: delivered4},
		{name: "outer destination options and routing headers", port: portWAN0, want: xdpRedirect, setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t),
					ext6{typ: 60, body: make([]byte, 6)}, ext6{typ: 43, body: []byte{0, 0, 0, 0, 0, 0}})
			},
			check: delivered4},
		{name: "IPv6 inside, forwarded to the LAN", port: portWAN0, want: xdpRedirect, setup: setup6,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6a, local6a, &layers.GRE{Protocol: layers.EthernetTypeIPv6}, local(inner6.bytes(t)[14:]))
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if eth == nil || ip == nil || p.Layer(layers.LayerTypeGRE) != nil {
					t.Fatalf("not a plain Ethernet/IPv6 frame: %v", p)
				}
				if !bytes.Equal(eth.DstMAC, hostMAC) || ip.HopLimit != 63 || !ip.DstIP.Equal(host6.AsSlice()) || !ip.SrcIP.Equal(remote6.AsSlice()) {
					t.Errorf("%s %s→%s hop limit %d", eth.DstMAC, ip.SrcIP, ip.DstIP, ip.HopLimit)
				}
			}},
		{name: "spoofed: unknown peer", port: portWAN0, want: xdpDrop, reason: spoof, setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, netip.MustParseAddr("2001:db8:f0::66"), local6a, &layers.GRE{}, innerIP(t))
			}},
		{name: "spoofed: wrong key", port: portWAN1, want: xdpDrop, reason: spoof, setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6b, local6b, &layers.GRE{KeyPresent: true, Key: 0xabce}, innerIP(t))
			}},
		{name: "spoofed: an IPv4 underlay's peer address is no IPv6 peer", port: portWAN0, want: xdpDrop, reason: spoof, setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, netip.MustParseAddr("::ffff:172.16.0.2"), local6a, &layers.GRE{}, innerIP(t))
			}},
		{name: "GRE to a non-local IPv6 address is underlay traffic", port: portWAN0, want: xdpPass, setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6a, netip.MustParseAddr("2001:db8:f0::77"), &layers.GRE{}, innerIP(t))
			}},
		{name: "GRE over IPv6 on a LAN port is not decapsulated", port: portLAN, want: xdpPass, setup: setup,
			frame: func(t *testing.T) []byte { return gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t)) }},
		{name: "fragmented GRE", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_GRE_FRAGMENT), setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t), ext6{typ: 44, body: []byte{0, 1, 0, 0, 0, 7}})
			}},
		{name: "GRE version 1", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_GRE_FLAGS), setup: setup,
			frame: func(t *testing.T) []byte {
				b := gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t))
				b[14+40+1] |= 1
				return b
			}},
		{name: "GRE truncated", port: portWAN1, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_MALFORMED_GRE), setup: setup,
			frame: func(t *testing.T) []byte {
				b := gre6Frame(t, peer6b, local6b, &layers.GRE{KeyPresent: true, Key: 0xabcd}, nil)
				b = b[:14+40+6] // the key cut short
				binary.BigEndian.PutUint16(b[14+4:], 6)
				return b
			}},
		{name: "outer payload length beyond the frame", port: portWAN0, want: xdpDrop, reason: dataplane.DropIPv6Len, setup: setup,
			frame: func(t *testing.T) []byte {
				b := gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t))
				binary.BigEndian.PutUint16(b[14+4:], binary.BigEndian.Uint16(b[14+4:])+1)
				return b
			}},
		{name: "outer header truncated", port: portWAN0, want: xdpDrop, reason: dataplane.DropMalformedIPv6, setup: setup,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t))[:14+30]
			}},
		{name: "outer extension header truncated", port: portWAN0, want: xdpDrop, reason: dataplane.DropIPv6Ext, setup: setup,
			frame: func(t *testing.T) []byte {
				b := gre6Frame(t, peer6a, local6a, &layers.GRE{}, innerIP(t), ext6{typ: 60, body: make([]byte, 6)})
				b[14+40+1] = 200 // a length beyond the payload
				return b
			}},
		{name: "malformed inner IPv4", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_IP_IHL), setup: setup,
			frame: func(t *testing.T) []byte {
				in := innerIP(t)
				in[0] = 0x44
				return gre6Frame(t, peer6a, local6a, &layers.GRE{}, in)
			}},
	} {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestPipelineUnderlay6MTU checks the MTU policy over an IPv6 underlay on a
// 1400-byte WAN link: the overlay carries 1400-40-4 (1400-40-8 with a key);
// a larger IPv6 packet is answered with ICMPv6 Packet Too Big, a larger IPv4
// one with DF with ICMP fragmentation needed from the LAN port's IPv4
// address, one without DF dropped; TCP SYNs are clamped for the IPv6 outer
// header.
func TestPipelineUnderlay6MTU(t *testing.T) {
	r := newRig(t)
	underlay6(t, r)
	testenv.SetMTU(t, r.ns, "wan0", 1400)
	testenv.SetMTU(t, r.ns, "wan1", 1400)
	lanAddr := netip.MustParseAddr("2001:db8:1::1")
	testenv.SetSysctl(t, r.ns, "net/ipv6/conf/lan0/accept_dad", "0")
	testenv.SetSysctl(t, r.ns, "net/ipv6/conf/lan0/disable_ipv6", "0")
	testenv.AddAddr(t, r.ns, "lan0", netip.PrefixFrom(lanAddr, 64).String())
	deadline := time.Now().Add(10 * time.Second)
	for {
		var v linxPortAddr6
		must(t, r.dp.objs.PortAddrs6.Lookup(uint32(portLAN), &v))
		if v != (linxPortAddr6{}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the LAN port's IPv6 address never reached port_addrs6")
		}
		time.Sleep(10 * time.Millisecond)
	}
	onto := func(tunnel dataplane.TunnelID) func(t *testing.T, r *rig) {
		return func(t *testing.T, r *rig) {
			tunnels6(t, r)
			addRule(t, r, dataplane.MatchAll(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: tunnel})
		}
	}
	const mtu, mtuKey = 1400 - 44, 1400 - 48
	fits4 := mtu - 28 // UDP payload of the largest IPv4 packet through overlay 1
	fits6 := mtu - 48 // ... of the largest IPv6 packet
	fragNeeded := func(want int) func(t *testing.T, r *rig, p gopacket.Packet) {
		return func(t *testing.T, r *rig, p gopacket.Packet) {
			ip, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			ic, _ := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
			if ip == nil || ic == nil || ic.TypeCode != layers.CreateICMPv4TypeCode(3, 4) {
				t.Fatalf("not ICMP fragmentation needed: %v", p)
			}
			if !ip.SrcIP.Equal(net.IPv4(10, 1, 0, 1)) || !ip.DstIP.Equal(hostIP.AsSlice()) {
				t.Errorf("ICMP %s→%s, want 10.1.0.1→%s", ip.SrcIP, ip.DstIP, hostIP)
			}
			if got := int(binary.BigEndian.Uint16(ic.Contents[6:8])); got != want {
				t.Errorf("next-hop MTU %d, want %d", got, want)
			}
			checkIPv4(t, p)
		}
	}
	df := layers.IPv4DontFragment
	for _, f := range []fixture{
		{name: "largest IPv4 packet that fits", port: portLAN, want: xdpRedirect, setup: onto(1),
			frame: func(t *testing.T) []byte { return pkt{flags: df, payload: fits4}.bytes(t) },
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				if _, ip, _ := outer6(t, p); len(ip.Contents)+len(ip.Payload) != 1400 {
					t.Errorf("outer packet of %d bytes, want 1400", len(ip.Contents)+len(ip.Payload))
				}
			}},
		{name: "IPv4 with DF too big: fragmentation needed, MTU 1356", port: portLAN, want: xdpRedirect, setup: onto(1),
			frame: func(t *testing.T) []byte { return pkt{flags: df, payload: fits4 + 1}.bytes(t) }, check: fragNeeded(mtu)},
		{name: "IPv4 with DF too big for a keyed overlay: MTU 1352", port: portLAN, want: xdpRedirect, setup: onto(2),
			frame: func(t *testing.T) []byte { return pkt{flags: df, payload: fits4}.bytes(t) }, check: fragNeeded(mtuKey)},
		{name: "IPv4 without DF too big: dropped", port: portLAN, want: xdpDrop, reason: dataplane.DropTooBig, setup: onto(1),
			frame: func(t *testing.T) []byte { return pkt{payload: fits4 + 1}.bytes(t) }},
		{name: "largest IPv6 packet that fits", port: portLAN, want: xdpRedirect, setup: onto(1), frame: frame6(pkt6{payload: fits6})},
		{name: "IPv6 too big: packet too big, MTU 1356", port: portLAN, want: xdpRedirect, setup: onto(1),
			frame: frame6(pkt6{payload: fits6 + 1}),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				ic, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if ip == nil || ic == nil || ic.TypeCode != layers.CreateICMPv6TypeCode(2, 0) {
					t.Fatalf("not ICMPv6 packet too big: %v", p)
				}
				if !ip.SrcIP.Equal(lanAddr.AsSlice()) || !ip.DstIP.Equal(host6.AsSlice()) {
					t.Errorf("ICMPv6 %s→%s, want %s→%s", ip.SrcIP, ip.DstIP, lanAddr, host6)
				}
				msg := append(append([]byte(nil), ic.Contents...), ic.Payload...)
				if got := binary.BigEndian.Uint32(msg[4:8]); got != mtu {
					t.Errorf("MTU %d, want %d", got, mtu)
				}
			}},
		{name: "SYN MSS clamped for an IPv6 outer header", port: portLAN, want: xdpRedirect, setup: onto(1),
			frame: func(t *testing.T) []byte {
				return pkt{proto: layers.IPProtocolTCP, sport: 40000, dport: 443, tcpSYN: true, mss: 1460, flags: df}.bytes(t)
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				outer6(t, p)
				tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil || len(tcp.Options) == 0 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS {
					t.Fatalf("no TCP MSS option: %v", p)
				}
				// 1400 - (40 + 8) outer - 20 IPv4 - 20 TCP.
				if got := binary.BigEndian.Uint16(tcp.Options[0].OptionData); got != 1400-48-40 {
					t.Errorf("MSS %d, want %d", got, 1400-48-40)
				}
			}},
	} {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}
