package xdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/sla"
)

// STAMP through overlays over an IPv6 underlay: the probe is IPv6 + UDP/862
// between the tunnel's IPv6 addresses (docs/sla.md).

// udpDatagram6 is an IPv6/UDP datagram (checksum filled in) without Ethernet,
// as carried inside GRE; exts (options headers: no body needed) go between the
// IPv6 and UDP headers.
func udpDatagram6(t testing.TB, src, dst netip.Addr, sport, dport uint16, tc, hop uint8, payload []byte, exts ...ext6) []byte {
	t.Helper()
	u := make([]byte, 8+len(payload))
	binary.BigEndian.PutUint16(u[0:], sport)
	binary.BigEndian.PutUint16(u[2:], dport)
	binary.BigEndian.PutUint16(u[4:], uint16(len(u)))
	copy(u[8:], payload)
	binary.BigEndian.PutUint16(u[6:], udp6Sum(src, dst, u))
	var chain []byte
	first := uint8(17)
	for i := len(exts) - 1; i >= 0; i-- {
		h := make([]byte, 8) // an options header of 8 octets: PadN
		h[0], h[2], h[3] = first, 1, 4
		first = exts[i].typ
		chain = append(h, chain...)
	}
	b := make([]byte, 40, 40+len(chain)+len(u))
	binary.BigEndian.PutUint32(b[0:], 6<<28|uint32(tc)<<20)
	binary.BigEndian.PutUint16(b[4:], uint16(len(chain)+len(u)))
	b[6], b[7] = first, hop
	s, d := src.As16(), dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	return append(append(b, chain...), u...)
}

// udp6Sum is the UDP checksum over IPv6 of segment u (its checksum field 0):
// what a receiver's stack verifies.
func udp6Sum(src, dst netip.Addr, u []byte) uint16 {
	c := udp6Fold(src, dst, u)
	if c = ^c; c == 0 {
		c = 0xffff
	}
	return c
}

// udp6Fold is the one's complement sum of the pseudo-header and u; 0xffff
// for a segment whose checksum is right.
func udp6Fold(src, dst netip.Addr, u []byte) uint16 {
	var sum uint32
	add := func(b []byte) {
		for i := 0; i+1 < len(b); i += 2 {
			sum += uint32(binary.BigEndian.Uint16(b[i:]))
		}
		if len(b)%2 == 1 {
			sum += uint32(b[len(b)-1]) << 8
		}
	}
	s, d := src.As16(), dst.As16()
	add(s[:])
	add(d[:])
	sum += uint32(len(u)) + 17
	add(u)
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	return uint16(sum)
}

// stampSetup6 is stampSetup over the IPv6 underlay: overlay 1 on wan0 (no
// key), 2 on wan1 (key 0xabcd, outer DSCP 10), both terminated; nothing but
// the reflector may answer a probe.
func stampSetup6(t *testing.T, r *rig) {
	tunnels6(t, r)
	must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer6a, Local: local6a}, 1))
	must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer6b, Local: local6b, Key: 0xabcd}, 2))
	must(t, r.dp.SetPDRDefault(dataplane.FAR{Action: dataplane.ActDrop}))
}

// TestSTAMPReflector6: a probe through a tunnel over the IPv6 underlay comes
// back into that tunnel as sla.Reflect's reply: outer IPv6 from the tunnel,
// inner IPv6 with the addresses and ports swapped, hop limit 255, a valid
// UDP checksum, the probe's size.
func TestSTAMPReflector6(t *testing.T) {
	r := newRig(t)
	underlay6(t, r)
	cases := []struct {
		name        string
		port        dataplane.PortID
		peer, local netip.Addr
		key         uint32
		size        int
		tc, hop     uint8
		wantTC      uint8 // outer traffic class
		down        bool
	}{
		{name: "44 octets", port: portWAN0, peer: peer6a, local: local6a, tc: 46 << 2, hop: 64, wantTC: 46 << 2},
		{name: "padded, keyed tunnel setting its DSCP", port: portWAN1, peer: peer6b, local: local6b, key: 0xabcd, size: 1000, tc: 10<<2 | 1, hop: 17, wantTC: 10 << 2},
		{name: "largest the link carries", port: portWAN0, peer: peer6a, local: local6a, size: 1500 - 44 - 48, hop: 255},
		{name: "tunnel marked down still answers", port: portWAN0, peer: peer6a, local: local6a, hop: 64, down: true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must(t, r.dp.Clear())
			stampSetup6(t, r)
			if c.down {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: peer6a, Down: true}))
			}
			probe := stampProbe(t, uint32(2000+i), c.size)
			sport := 41000 + uint16(i)
			inner := udpDatagram6(t, c.peer, c.local, sport, sla.Port, c.tc, c.hop, probe)
			frame := gre6Frame(t, c.peer, c.local, &layers.GRE{KeyPresent: c.key != 0, Key: c.key, Protocol: layers.EthernetTypeIPv6}, inner)
			tunnelID := uint32(1)
			dmac := peer0MAC
			if c.key != 0 {
				tunnelID, dmac = 2, peer1MAC
			}
			before := r.drops()
			stats := sumTunnelStats(t, r, tunnelID)
			t0 := taiNow(t)
			verdict, out := r.run(c.port, frame)
			t1 := taiNow(t)
			if verdict != xdpRedirect {
				t.Fatalf("verdict %d, want redirect (drops %v)", verdict, r.drops())
			}
			for reason, n := range r.drops() {
				if n.Packets != before[reason].Packets {
					t.Errorf("drop %v counted", reason)
				}
			}
			p := decode(out)
			eth, outer, gre := outer6(t, p)
			if !bytes.Equal(eth.DstMAC, dmac) || !bytes.Equal(eth.SrcMAC, r.mac[c.port]) {
				t.Errorf("reply MACs %v→%v, want %v→%v", eth.SrcMAC, eth.DstMAC, r.mac[c.port], dmac)
			}
			if !outer.SrcIP.Equal(c.local.AsSlice()) || !outer.DstIP.Equal(c.peer.AsSlice()) || outer.TrafficClass != c.wantTC || outer.FlowLabel != 0 {
				t.Errorf("outer %v→%v tc %#x label %#x, want %v→%v tc %#x label 0", outer.SrcIP, outer.DstIP, outer.TrafficClass, outer.FlowLabel, c.local, c.peer, c.wantTC)
			}
			if gre.Protocol != layers.EthernetTypeIPv6 || gre.KeyPresent != (c.key != 0) || gre.Key != c.key {
				t.Errorf("GRE protocol %v key %v %#x, want IPv6, key %#x", gre.Protocol, gre.KeyPresent, gre.Key, c.key)
			}
			reply := gre.Payload
			if len(reply) != len(inner) {
				t.Fatalf("reply datagram of %d octets to a probe of %d", len(reply), len(inner))
			}
			in := decode(append(bytes.Clone(out[:12]), append([]byte{0x86, 0xdd}, reply...)...))
			ip, _ := in.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			udp, _ := in.Layer(layers.LayerTypeUDP).(*layers.UDP)
			if ip == nil || udp == nil {
				t.Fatalf("reply is not IPv6/UDP: %v", in)
			}
			if !ip.SrcIP.Equal(c.local.AsSlice()) || !ip.DstIP.Equal(c.peer.AsSlice()) || ip.TrafficClass != c.tc || ip.HopLimit != 255 || ip.NextHeader != layers.IPProtocolUDP {
				t.Errorf("inner %v→%v tc %#x hop %d next %v, want %v→%v tc %#x hop 255 UDP",
					ip.SrcIP, ip.DstIP, ip.TrafficClass, ip.HopLimit, ip.NextHeader, c.local, c.peer, c.tc)
			}
			if udp.SrcPort != sla.Port || udp.DstPort != layers.UDPPort(sport) || int(udp.Length) != 8+len(probe) {
				t.Errorf("reply UDP %d→%d length %d, want %d→%d length %d", udp.SrcPort, udp.DstPort, udp.Length, sla.Port, sport, 8+len(probe))
			}
			// The checksum as gopacket computes it: a receiving stack drops the
			// reply unless it matches.
			sum := &layers.UDP{SrcPort: udp.SrcPort, DstPort: udp.DstPort}
			must(t, sum.SetNetworkLayerForChecksum(&layers.IPv6{Version: 6, NextHeader: layers.IPProtocolUDP, SrcIP: ip.SrcIP, DstIP: ip.DstIP}))
			if want := binary.BigEndian.Uint16(serialize(t, sum, gopacket.Payload(udp.Payload))[6:]); udp.Checksum != want {
				t.Errorf("reply UDP checksum %#04x, want %#04x", udp.Checksum, want)
			}
			checkReflectedPayload(t, udp.Payload, reflection{probe: probe, ttl: c.hop, before: t0, after: t1})
			if got := sumTunnelStats(t, r, tunnelID); got.Tx.Packets != stats.Tx.Packets+1 || got.Rx.Packets != stats.Rx.Packets+1 {
				t.Errorf("tunnel %d counters %+v → %+v: want one more rx and tx", tunnelID, stats, got)
			}
		})
	}
}

// TestSTAMPRefusals6: the IPv6 reflector refuses what the IPv4 one refuses,
// with the same reasons; STAMP that is not for the gateway is data.
func TestSTAMPRefusals6(t *testing.T) {
	r := newRig(t)
	underlay6(t, r)
	reason := func(c linxDropReason) dataplane.DropReason { return dataplane.DropReason(c) }
	inTunnel := func(inner func(t *testing.T) []byte) func(t *testing.T) []byte {
		return func(t *testing.T) []byte {
			return gre6Frame(t, peer6a, local6a, &layers.GRE{Protocol: layers.EthernetTypeIPv6}, inner(t))
		}
	}
	probeWith := func(sport, dport uint16, payload func(t *testing.T) []byte) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return udpDatagram6(t, peer6a, local6a, sport, dport, 0, 64, payload(t)) }
	}
	good := func(t *testing.T) []byte { return stampProbe(t, 1, 0) }
	fixtures := []fixture{
		{name: "shorter than 44 octets", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_SHORT), setup: stampSetup6,
			frame: inTunnel(probeWith(40000, sla.Port, func(t *testing.T) []byte { return good(t)[:43] }))},
		{name: "zero error-estimate multiplier", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_ERROR_ESTIMATE), setup: stampSetup6,
			frame: inTunnel(probeWith(40000, sla.Port, func(t *testing.T) []byte {
				b := good(t)
				b[13] = 0
				return b
			}))},
		{name: "from port 862 (a reply to a reply)", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_LOOP), setup: stampSetup6,
			frame: inTunnel(probeWith(sla.Port, sla.Port, good))},
		{name: "octets after the UDP datagram", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_MALFORMED), setup: stampSetup6,
			frame: inTunnel(func(t *testing.T) []byte {
				b := append(probeWith(40000, sla.Port, good)(t), 0, 0, 0, 0)
				binary.BigEndian.PutUint16(b[4:], uint16(len(b)-40))
				return b
			})},
		{name: "an extension header", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_MALFORMED), setup: stampSetup6,
			frame: inTunnel(func(t *testing.T) []byte {
				return udpDatagram6(t, peer6a, local6a, 40000, sla.Port, 0, 64, good(t), ext6{typ: 60})
			})},
		{name: "longer than a probe may be", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_LONG), setup: stampSetup6,
			frame: inTunnel(probeWith(40000, sla.Port, func(t *testing.T) []byte {
				b := good(t)
				return append(b, make([]byte, maxProbeBytes-48+1-len(b))...)
			}))},
		{name: "through the underlay, not a tunnel", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_NOT_TUNNEL), setup: stampSetup6,
			frame: func(t *testing.T) []byte {
				f := gre6Frame(t, peer6a, local6a, &layers.GRE{}, nil)[:14]
				return append(bytes.Clone(f), probeWith(40000, sla.Port, good)(t)...)
			}},
		{name: "from the LAN to a tunnel address", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_NOT_TUNNEL), setup: stampSetup6,
			frame: func(t *testing.T) []byte {
				f := gre6Frame(t, peer6a, local6a, &layers.GRE{}, nil)[:14]
				return append(bytes.Clone(f), udpDatagram6(t, host6, local6b, 40000, sla.Port, 0, 64, good(t))...)
			}},
		{name: "through a tunnel from an unknown peer (spoofed)", port: portWAN0, want: xdpDrop, reason: dataplane.DropGRESpoofed, setup: stampSetup6,
			frame: func(t *testing.T) []byte {
				stranger := netip.MustParseAddr("2001:db8:f0::66")
				return gre6Frame(t, stranger, local6a, &layers.GRE{Protocol: layers.EthernetTypeIPv6},
					udpDatagram6(t, stranger, local6a, 40000, sla.Port, 0, 64, good(t)))
			}},
		{name: "through a tunnel, spoofing the peer inside it", port: portWAN0, want: xdpDrop, reason: dataplane.DropPolicy, setup: stampSetup6,
			// The outer header is the peer's, the inner destination another
			// gateway's address: data for the classifier (here: drop), not STAMP.
			frame: inTunnel(func(t *testing.T) []byte {
				return udpDatagram6(t, peer6a, local6b, 40000, sla.Port, 0, 64, good(t))
			})},
		{name: "through a tunnel to a host behind the gateway", port: portWAN0, want: xdpDrop, reason: dataplane.DropPolicy, setup: stampSetup6,
			frame: inTunnel(func(t *testing.T) []byte { return udpDatagram6(t, remote6, host6, 40000, sla.Port, 0, 64, good(t)) })},
		// An IPv4 probe through an IPv6-underlay tunnel is not this tunnel's
		// probe family: data.
		{name: "IPv4 STAMP through a tunnel over IPv6", port: portWAN0, want: xdpDrop, reason: dataplane.DropPolicy, setup: stampSetup6,
			frame: func(t *testing.T) []byte {
				return gre6Frame(t, peer6a, local6a, &layers.GRE{}, udpDatagram(t, peer0, local0, 40000, sla.Port, 0, 64, good(t)))
			}},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestSTAMPReplyDelivery6: a reply through a tunnel over the IPv6 underlay to
// its local address reaches ProbeReplies, the IPv6 datagram whole, with the
// tunnel and a receive time on time.Now's clock.
func TestSTAMPReplyDelivery6(t *testing.T) {
	r := newRig(t)
	underlay6(t, r)
	stampSetup6(t, r)
	reply, err := sla.Reflect(stampProbe(t, 9, 100), time.Now(), 63)
	if err != nil {
		t.Fatal(err)
	}
	inner := udpDatagram6(t, peer6b, local6b, sla.Port, 40001, 46<<2, 60, reply)
	frame := gre6Frame(t, peer6b, local6b, &layers.GRE{KeyPresent: true, Key: 0xabcd, Protocol: layers.EthernetTypeIPv6}, inner)
	before := r.drops()
	t0 := time.Now()
	verdict, _ := r.run(portWAN1, frame)
	t1 := time.Now()
	if verdict != xdpDrop {
		t.Fatalf("verdict %d, want drop (consumed)", verdict)
	}
	for reason, n := range r.drops() {
		if n.Packets != before[reason].Packets {
			t.Errorf("drop %v counted for a delivered reply", reason)
		}
	}
	select {
	case got := <-r.dp.ProbeReplies():
		if got.Tunnel != 2 || !bytes.Equal(got.Packet, inner) {
			t.Errorf("reply on tunnel %d, %x; want tunnel 2, %x", got.Tunnel, got.Packet, inner)
		}
		if got.RxTime.Before(t0) || got.RxTime.After(t1) {
			t.Errorf("RxTime %v outside [%v, %v]", got.RxTime, t0, t1)
		}
		if _, err := sla.ParseReflectedPacket(got.Packet[48:]); err != nil {
			t.Errorf("delivered reply does not parse: %v", err)
		}
	case <-time.After(5 * time.Second): // only bounds a failure
		t.Fatal("no reply delivered")
	}
}

// TestSendProbe6: SendProbe through a tunnel over the IPv6 underlay: the
// frame captured at the peer is the encap stage's (next hop's MACs, outer
// IPv6 from the tunnel, traffic class copied or set, GRE protocol IPv6 and
// key), the datagram unchanged inside; an IPv4 probe, or one too long, is
// refused; an unresolved neighbour is the kernel's to resolve.
func TestSendProbe6(t *testing.T) {
	r := newRig(t)
	underlay6(t, r)
	tunnels6(t, r)
	for i, c := range []struct {
		name   string
		dev    string
		tunnel dataplane.TunnelID
		src    netip.Addr
		dst    netip.Addr
		dmac   []byte
		port   dataplane.PortID
		key    uint32
		tc     uint8
		wantTC uint8
	}{
		{name: "traffic class copied", dev: "wan0p", tunnel: 1, src: local6a, dst: peer6a, dmac: peer0MAC, port: portWAN0, tc: 46<<2 | 2, wantTC: 46 << 2},
		{name: "DSCP set by the tunnel, with a key", dev: "wan1p", tunnel: 2, src: local6b, dst: peer6b, dmac: peer1MAC, port: portWAN1, key: 0xabcd, tc: 46 << 2, wantTC: 10 << 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			capture := testenv.NewCapture(t, r.ns, c.dev)
			sport := 51000 + uint16(i)
			probe := udpDatagram6(t, c.src, c.dst, sport, sla.Port, c.tc, 64, stampProbe(t, uint32(i), 200))
			sendProbeResolved(t, r, c.tunnel, probe)
			pkt, ok := capture.Wait(5*time.Second, func(p testenv.Packet) bool {
				u, _ := p.Decode().Layer(layers.LayerTypeUDP).(*layers.UDP)
				return u != nil && u.SrcPort == layers.UDPPort(sport)
			})
			if !ok {
				t.Fatalf("no probe seen on %s: %v", c.dev, capture)
			}
			p := pkt.Decode()
			eth, outer, gre := outer6(t, p)
			if !bytes.Equal(eth.DstMAC, c.dmac) || !bytes.Equal(eth.SrcMAC, r.mac[c.port]) {
				t.Errorf("MACs %v→%v, want %v→%v", eth.SrcMAC, eth.DstMAC, r.mac[c.port], c.dmac)
			}
			if !outer.SrcIP.Equal(c.src.AsSlice()) || !outer.DstIP.Equal(c.dst.AsSlice()) || outer.TrafficClass != c.wantTC || outer.FlowLabel != 0 {
				t.Errorf("outer %v→%v tc %#x label %#x, want %v→%v tc %#x label 0", outer.SrcIP, outer.DstIP, outer.TrafficClass, outer.FlowLabel, c.src, c.dst, c.wantTC)
			}
			if gre.Protocol != layers.EthernetTypeIPv6 || gre.KeyPresent != (c.key != 0) || gre.Key != c.key || gre.ChecksumPresent || gre.SeqPresent {
				t.Errorf("GRE %+v, want protocol IPv6, key %#x only", gre, c.key)
			}
			if !bytes.Equal(gre.Payload, probe) {
				t.Errorf("decapsulated datagram differs:\n got %x\nwant %x", gre.Payload, probe)
			}
		})
	}

	// Refusals: the family, the length.
	v4 := udpDatagram(t, local0, peer0, 50000, sla.Port, 0, 64, stampProbe(t, 1, 0))
	if err := r.dp.SendProbe(1, v4); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("IPv4 probe through a tunnel over IPv6: %v, want ErrInvalid", err)
	}
	wrong := udpDatagram6(t, local6b, peer6a, 50000, sla.Port, 0, 64, stampProbe(t, 1, 0))
	if err := r.dp.SendProbe(1, wrong); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("probe from another address: %v, want ErrInvalid", err)
	}
	long := udpDatagram6(t, local6a, peer6a, 50000, sla.Port, 0, 64, make([]byte, 1500-44-48+1))
	if err := r.dp.SendProbe(1, long); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("probe one octet too long for wan0's MTU: %v, want ErrInvalid", err)
	}
	fits := udpDatagram6(t, local6a, peer6a, 50000, sla.Port, 0, 64, make([]byte, 1500-44-48))
	sendProbeResolved(t, r, 1, fits)

	// A neighbour not known yet: the kernel sends the probe, and solicits it.
	ns := testenv.NewCapture(t, r.ns, "wan0p")
	must(t, r.dp.SetTunnel(4, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: noNeigh6}))
	sendProbeResolved(t, r, 4, udpDatagram6(t, local6a, noNeigh6, 50000, sla.Port, 0, 64, stampProbe(t, 1, 0)))
	if _, ok := ns.Wait(5*time.Second, func(p testenv.Packet) bool {
		s, _ := p.Decode().Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation)
		return s != nil && s.TargetAddress.Equal(noNeigh6.AsSlice())
	}); !ok {
		t.Errorf("no neighbour solicitation for %s on wan0p after a probe through a tunnel to it: %v", noNeigh6, ns)
	}
}

// sendProbeResolved sends a probe once the agent has a verdict on the
// tunnel's next hop (it resolves new tunnels in the background): until then
// SendProbe says ErrNoNextHop.
func sendProbeResolved(t *testing.T, r *rig, id dataplane.TunnelID, probe []byte) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := r.dp.SendProbe(id, probe)
		if err == nil {
			return
		}
		if !errors.Is(err, dataplane.ErrNoNextHop) || time.Now().After(deadline) {
			t.Fatalf("SendProbe through tunnel %d: %v", id, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestSTAMPRateLimit6: IPv6 probes pass their tunnel's bucket as IPv4 ones
// do: of a burst of 13 through a tunnel whose bucket holds 8 and refills at
// 1 per second, 8 are answered (plus what refilled while the test ran) and
// the rest dropped with stamp_rate.
func TestSTAMPRateLimit6(t *testing.T) {
	const burst, extra, rate = 8, 5, 1
	r := newRigWith(t, dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 4, MaxTunnels: 64, MaxTerms: 64, MaxPorts: 16,
		ReflectorRate: rate, ReflectorBurst: burst})
	underlay6(t, r)
	stampSetup6(t, r)
	start := time.Now()
	before := r.drops()[dataplane.DropSTAMPRate].Packets
	answered := 0
	for i := range burst + extra {
		inner := udpDatagram6(t, peer6a, local6a, 40000, sla.Port, 0, 64, stampProbe(t, uint32(i), 0))
		switch v, _ := r.run(portWAN0, gre6Frame(t, peer6a, local6a, &layers.GRE{Protocol: layers.EthernetTypeIPv6}, inner)); v {
		case xdpRedirect:
			answered++
		case xdpDrop:
		default:
			t.Fatalf("probe %d: verdict %d", i, v)
		}
	}
	limited := int(r.drops()[dataplane.DropSTAMPRate].Packets - before)
	refilled := int(time.Since(start).Seconds() * rate)
	if answered < burst || answered > burst+refilled || answered+limited != burst+extra {
		t.Errorf("%d answered, %d dropped with stamp_rate, of %d probes; want %d (+%d refilled) answered, the rest dropped",
			answered, limited, burst+extra, burst, refilled)
	}
}
