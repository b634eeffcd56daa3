package xdp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/sla"
)

// udpDatagram is an IPv4/UDP datagram without Ethernet, as carried inside GRE.
func udpDatagram(t testing.TB, src, dst netip.Addr, sport, dport uint16, tos, ttl uint8, payload []byte) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, IHL: 5, TOS: tos, TTL: ttl, Protocol: layers.IPProtocolUDP,
		Flags: layers.IPv4DontFragment, SrcIP: src.AsSlice(), DstIP: dst.AsSlice()}
	u := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	u.SetNetworkLayerForChecksum(ip)
	return serialize(t, ip, u, gopacket.Payload(payload))
}

// stampProbe is a session-sender test packet of n octets (0: 44) from sla's
// codec, its padding filled with garbage the reflector must not send back.
func stampProbe(t testing.TB, seq uint32, n int) []byte {
	t.Helper()
	b, err := sla.TestPacket{Seq: seq, Timestamp: sla.NTPTimestamp(time.Now()), ErrorEstimate: sla.DefaultErrorEstimate, Len: n}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for i := sla.BaseLen; i < len(b); i++ {
		b[i] = 0xa5
	}
	b[20] = 0x5a // an MBZ octet of the base packet
	return b
}

// taiNow reads CLOCK_TAI, the reflector's clock, in nanoseconds.
func taiNow(t testing.TB) int64 {
	t.Helper()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_TAI, &ts); err != nil {
		t.Fatal(err)
	}
	return ts.Nano()
}

// reflection is what the reflector's reply must be, besides the model's bytes.
type reflection struct {
	probe          []byte // the STAMP test packet sent
	model          []byte // the reply's model; nil: sla.Reflect(probe, ..., ttl)
	ttl, tos       uint8  // of the probe's inner IPv4 header
	sport          uint16 // the sender's UDP port
	sender, target netip.Addr
	key            uint32 // GRE key of the way back (0: none)
	dmac, smac     net.HardwareAddr
	before, after  int64 // CLOCK_TAI around the reflection
}

// checkReflected checks a reply frame: Ethernet to the way back's next hop, the
// tunnel's outer header (DSCP copied from the probe), the inner addresses and
// ports swapped, and a STAMP payload equal to sla.Reflect's byte for byte but
// for the timestamps and the reflector's error estimate (PTP, not the model's
// NTP), which are checked on their own.
func checkReflected(t *testing.T, frame []byte, w reflection) {
	t.Helper()
	p := decode(frame)
	eth, outer, gre, inner := outerIP(t, p)
	checkIPv4(t, p)
	if !bytes.Equal(eth.DstMAC, w.dmac) || !bytes.Equal(eth.SrcMAC, w.smac) {
		t.Errorf("reply MACs %v→%v, want %v→%v", eth.SrcMAC, eth.DstMAC, w.smac, w.dmac)
	}
	if !outer.SrcIP.Equal(w.target.AsSlice()) || !outer.DstIP.Equal(w.sender.AsSlice()) ||
		outer.TOS != w.tos&0xfc || outer.Flags&layers.IPv4DontFragment == 0 || outer.TTL != greTTL {
		t.Errorf("outer header %v→%v tos %#x flags %v ttl %d, want %v→%v tos %#x DF ttl %d",
			outer.SrcIP, outer.DstIP, outer.TOS, outer.Flags, outer.TTL, w.target, w.sender, w.tos&0xfc, greTTL)
	}
	if gre.KeyPresent != (w.key != 0) || gre.Key != w.key {
		t.Errorf("GRE key %v %#x, want %#x", gre.KeyPresent, gre.Key, w.key)
	}
	if !inner.SrcIP.Equal(w.target.AsSlice()) || !inner.DstIP.Equal(w.sender.AsSlice()) || inner.TOS != w.tos || inner.TTL != 255 {
		t.Errorf("inner header %v→%v tos %#x ttl %d, want %v→%v tos %#x ttl 255",
			inner.SrcIP, inner.DstIP, inner.TOS, inner.TTL, w.target, w.sender, w.tos)
	}
	udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if udp == nil {
		t.Fatalf("no UDP in the reply: %v", p)
	}
	if udp.SrcPort != sla.Port || udp.DstPort != layers.UDPPort(w.sport) || udp.Checksum != 0 || int(udp.Length) != 8+len(w.probe) {
		t.Errorf("reply UDP %d→%d checksum %#x length %d, want %d→%d checksum 0 length %d",
			udp.SrcPort, udp.DstPort, udp.Checksum, udp.Length, sla.Port, w.sport, 8+len(w.probe))
	}
	checkReflectedPayload(t, udp.Payload, w)
}

// checkReflectedPayload checks a reply's STAMP octets against sla.Reflect's
// model, and its timestamps and error estimate on their own (either family).
func checkReflectedPayload(t *testing.T, got []byte, w reflection) {
	t.Helper()
	if len(got) != len(w.probe) {
		t.Fatalf("reply of %d octets to a probe of %d", len(got), len(w.probe))
	}
	model := w.model
	if model == nil {
		var err error
		if model, err = sla.Reflect(w.probe, time.Unix(0, 0), w.ttl); err != nil {
			t.Fatal(err)
		}
	}
	masked := func(b []byte) []byte {
		b = bytes.Clone(b)
		clear(b[4:14])  // T3 and the reflector's error estimate
		clear(b[16:24]) // T2
		return b
	}
	if !bytes.Equal(masked(got), masked(model)) {
		t.Errorf("reply differs from the model beyond the timestamps:\n got %x\nwant %x", masked(got), masked(model))
	}
	r, err := sla.ParseReflectedPacket(got)
	if err != nil {
		t.Fatalf("reply does not parse: %v", err)
	}
	if !r.ErrorEstimate.PTP() || r.ErrorEstimate.Multiplier() == 0 || r.ErrorEstimate.Synchronized() {
		t.Errorf("reflector's error estimate %#04x: want Z=1, S=0, a non-zero multiplier", uint16(r.ErrorEstimate))
	}
	if r.Timestamp != r.ReceiveTime {
		t.Errorf("T3 %x != T2 %x", r.Timestamp, r.ReceiveTime)
	}
	if ns := uint32(r.ReceiveTime); ns >= 1e9 {
		t.Errorf("T2 nanoseconds %d out of range", ns)
	}
	rx := r.ReceiveTime.Time(true).UnixNano()
	if rx < w.before || rx > w.after {
		t.Errorf("T2 %d ns (TAI) outside the reflection, [%d, %d]", rx, w.before, w.after)
	}
}

// stampSetup is decapSetup without a downlink rule: nothing but the reflector
// may answer a probe.
func stampSetup(t *testing.T, r *rig) {
	tunnels(t, r)
	must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer0, Local: local0}, 1))
	must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer1, Local: local1, Key: 0xabcd}, 2))
	must(t, r.dp.SetPDRDefault(dataplane.FAR{Action: dataplane.ActDrop}))
}

// TestSTAMPReflector runs probes through the pipeline as a peer's gateway sends
// them: the reply must be sla.Reflect's, sent back into the tunnel of the
// termination the probe came through.
func TestSTAMPReflector(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name  string
		port  dataplane.PortID
		peer  netip.Addr
		local netip.Addr
		key   uint32
		dmac  net.HardwareAddr
		size  int
		tos   uint8
		ttl   uint8
		down  bool
	}{
		{name: "44 octets", port: portWAN0, peer: peer0, local: local0, dmac: peer0MAC, tos: 46 << 2, ttl: 64},
		{name: "padded, keyed tunnel", port: portWAN1, peer: peer1, local: local1, key: 0xabcd, dmac: peer1MAC, size: 1000, tos: 10<<2 | 1, ttl: 17},
		{name: "largest probe", port: portWAN0, peer: peer0, local: local0, dmac: peer0MAC, size: sla.MaxProbeLen, ttl: 255},
		{name: "tunnel marked down still answers", port: portWAN0, peer: peer0, local: local0, dmac: peer0MAC, ttl: 64, down: true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			must(t, r.dp.Clear())
			stampSetup(t, r)
			if c.down {
				must(t, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0, Down: true}))
			}
			probe := stampProbe(t, uint32(1000+i), c.size)
			inner := udpDatagram(t, c.peer, c.local, 40000+uint16(i), sla.Port, c.tos, c.ttl, probe)
			frame := greFrame(t, c.peer, c.local, &layers.GRE{KeyPresent: c.key != 0, Key: c.key}, inner)
			tunnelID := uint32(1)
			if c.key != 0 {
				tunnelID = 2
			}
			before := r.drops()
			txBefore := sumTunnelStats(t, r, tunnelID)
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
			checkReflected(t, out, reflection{
				probe: probe, ttl: c.ttl, tos: c.tos, sport: 40000 + uint16(i), sender: c.peer, target: c.local,
				key: c.key, dmac: c.dmac, smac: r.mac[c.port], before: t0, after: t1,
			})
			if got := sumTunnelStats(t, r, tunnelID); got.Tx.Packets != txBefore.Tx.Packets+1 || got.Rx.Packets != txBefore.Rx.Packets+1 {
				t.Errorf("tunnel %d counters %+v → %+v: want one more rx and tx", tunnelID, txBefore, got)
			}
		})
	}
}

func sumTunnelStats(t *testing.T, r *rig, id uint32) linxTunnelStats {
	t.Helper()
	var per []linxTunnelStats
	must(t, r.dp.objs.TunnelCounters.Lookup(id, &per))
	var s linxTunnelStats
	for _, c := range per {
		s.Tx.Packets += c.Tx.Packets
		s.Rx.Packets += c.Rx.Packets
	}
	return s
}

// TestSTAMPRefusals: every probe the reflector must not answer is dropped with
// its reason (and so sends nothing); STAMP that is not for the gateway is data.
func TestSTAMPRefusals(t *testing.T) {
	r := newRig(t)
	reason := func(c linxDropReason) dataplane.DropReason { return dataplane.DropReason(c) }
	inTunnel := func(inner func(t *testing.T) []byte) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return greFrame(t, peer0, local0, &layers.GRE{}, inner(t)) }
	}
	probeWith := func(sport, dport uint16, payload func(t *testing.T) []byte) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return udpDatagram(t, peer0, local0, sport, dport, 0, 64, payload(t)) }
	}
	good := func(t *testing.T) []byte { return stampProbe(t, 1, 0) }
	fixtures := []fixture{
		{name: "shorter than 44 octets", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_SHORT), setup: stampSetup,
			frame: inTunnel(probeWith(40000, sla.Port, func(t *testing.T) []byte { return good(t)[:43] }))},
		{name: "zero error-estimate multiplier", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_ERROR_ESTIMATE), setup: stampSetup,
			frame: inTunnel(probeWith(40000, sla.Port, func(t *testing.T) []byte {
				b := good(t)
				b[13] = 0
				return b
			}))},
		{name: "from port 862 (a reply to a reply)", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_LOOP), setup: stampSetup,
			frame: inTunnel(probeWith(sla.Port, sla.Port, good))},
		{name: "octets after the UDP datagram", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_MALFORMED), setup: stampSetup,
			frame: inTunnel(func(t *testing.T) []byte {
				b := append(probeWith(40000, sla.Port, good)(t), 0, 0, 0, 0)
				binary.BigEndian.PutUint16(b[2:], uint16(len(b)))
				fixIPv4(b[:20])
				return b
			})},
		{name: "IPv4 options", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_MALFORMED), setup: stampSetup,
			frame: inTunnel(func(t *testing.T) []byte {
				ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: peer0.AsSlice(), DstIP: local0.AsSlice(),
					Options: []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}}
				u := &layers.UDP{SrcPort: 40000, DstPort: sla.Port}
				u.SetNetworkLayerForChecksum(ip)
				return serialize(t, ip, u, gopacket.Payload(good(t)))
			})},
		{name: "longer than a probe may be", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_LONG), setup: stampSetup,
			frame: inTunnel(probeWith(40000, sla.Port, func(t *testing.T) []byte { return make([]byte, maxProbeBytes-28+1) }))},
		{name: "through the underlay, not a tunnel", port: portWAN0, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_NOT_TUNNEL), setup: stampSetup,
			frame: func(t *testing.T) []byte {
				return append(bytes.Clone(greFrame(t, peer0, local0, &layers.GRE{}, nil)[:14]), probeWith(40000, sla.Port, good)(t)...)
			}},
		{name: "from the LAN to a tunnel address", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_STAMP_NOT_TUNNEL), setup: stampSetup,
			frame: frameOf(pkt{src: hostIP, dst: local1, sport: 40000, dport: sla.Port, payload: 44})},
		{name: "through a tunnel from an unknown peer", port: portWAN0, want: xdpDrop, reason: dataplane.DropGRESpoofed, setup: stampSetup,
			frame: func(t *testing.T) []byte {
				stranger := netip.MustParseAddr("172.16.0.9")
				return greFrame(t, stranger, local0, &layers.GRE{}, udpDatagram(t, stranger, local0, 40000, sla.Port, 0, 64, good(t)))
			}},
		// Not for the gateway: the classifier's business (here its default, drop).
		{name: "through a tunnel to a host behind the gateway", port: portWAN0, want: xdpDrop, reason: dataplane.DropPolicy, setup: stampSetup,
			frame: inTunnel(func(t *testing.T) []byte { return udpDatagram(t, remoteIP, hostIP, 40000, sla.Port, 0, 64, good(t)) })},
		{name: "underlay STAMP to another address", port: portWAN0, want: xdpDrop, reason: dataplane.DropPolicy, setup: stampSetup,
			frame: frameOf(pkt{src: peer0, dst: netip.MustParseAddr("172.16.0.77"), sport: 40000, dport: sla.Port, payload: 44})},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestSTAMPReplyDelivery: a reply through a terminated tunnel to its local
// address reaches ProbeReplies with the tunnel and a receive time on time.Now's
// clock, never the controller; the same datagram through the underlay does not.
func TestSTAMPReplyDelivery(t *testing.T) {
	r := newRig(t)
	stampSetup(t, r)
	reply, err := sla.Reflect(stampProbe(t, 9, 100), time.Now(), 63)
	if err != nil {
		t.Fatal(err)
	}
	inner := udpDatagram(t, peer1, local1, sla.Port, 40001, 46<<2, 60, reply)
	frame := greFrame(t, peer1, local1, &layers.GRE{KeyPresent: true, Key: 0xabcd}, inner)

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
		if _, err := sla.ParseReflectedPacket(got.Packet[28:]); err != nil {
			t.Errorf("delivered reply does not parse: %v", err)
		}
	case <-time.After(5 * time.Second): // only bounds a failure
		t.Fatal("no reply delivered")
	}
	select {
	case p := <-r.dp.Punts():
		t.Errorf("a STAMP reply became a PacketIn: %x", p.Packet)
	default:
	}

	// The same datagram outside a tunnel is the kernel's (the default FAR).
	must(t, r.dp.SetPDRDefault(dataplane.FAR{Action: dataplane.ActPass}))
	plain := append(bytes.Clone(frame[:14]), inner...)
	if v, _ := r.run(portWAN1, plain); v != xdpPass {
		t.Errorf("underlay reply: verdict %d, want pass", v)
	}
	select {
	case got := <-r.dp.ProbeReplies():
		t.Errorf("underlay datagram delivered as a reply: %+v", got)
	case <-time.After(100 * time.Millisecond):
	}

	// Nobody reads: replies beyond the channel's buffer are dropped, not
	// queued. The pause lets the reader drain the ring (microseconds) before
	// the channel is read, so that what it holds is all there is.
	for range cap(r.dp.replies) + 50 {
		r.run(portWAN1, frame)
	}
	time.Sleep(300 * time.Millisecond)
	n := 0
	for done := false; !done; {
		select {
		case <-r.dp.ProbeReplies():
			n++
		case <-time.After(200 * time.Millisecond):
			done = true
		}
	}
	if n != cap(r.dp.replies) {
		t.Errorf("%d replies delivered of %d sent while nobody read, want the channel's %d", n, cap(r.dp.replies)+50, cap(r.dp.replies))
	}
}

// TestSendProbe: SendProbe's frame, captured at the peer, is the encap stage's:
// the next hop's MACs, the tunnel's addresses and key, the outer DSCP copied or
// set, and the datagram unchanged inside.
func TestSendProbe(t *testing.T) {
	r := newRig(t)
	tunnels(t, r)
	capture := testenv.NewCapture(t, r.ns, "wan1p")
	for i, c := range []struct {
		name    string
		tunnel  dataplane.Tunnel
		tos     uint8
		wantTOS uint8
	}{
		{name: "DSCP copied", tunnel: dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd}, tos: 46<<2 | 2, wantTOS: 46 << 2},
		{name: "DSCP set by the tunnel, marked down", tunnel: dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd, SetDSCP: true, DSCP: 10, Down: true}, tos: 46 << 2, wantTOS: 10 << 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			must(t, r.dp.SetTunnel(2, c.tunnel))
			probe := udpDatagram(t, local1, peer1, 50000+uint16(i), sla.Port, c.tos, 64, stampProbe(t, uint32(i), 200))
			must(t, r.dp.SendProbe(2, probe))
			pkt, ok := capture.Wait(5*time.Second, func(p testenv.Packet) bool {
				g, _ := p.Decode().Layer(layers.LayerTypeUDP).(*layers.UDP)
				return g != nil && g.SrcPort == layers.UDPPort(50000+i)
			})
			if !ok {
				t.Fatalf("no probe seen on wan1p: %v", capture)
			}
			p := pkt.Decode()
			eth, outer, gre, inner := outerIP(t, p)
			checkIPv4(t, p)
			if !bytes.Equal(eth.DstMAC, peer1MAC) || !bytes.Equal(eth.SrcMAC, r.mac[portWAN1]) {
				t.Errorf("MACs %v→%v, want %v→%v", eth.SrcMAC, eth.DstMAC, r.mac[portWAN1], peer1MAC)
			}
			if !outer.SrcIP.Equal(local1.AsSlice()) || !outer.DstIP.Equal(peer1.AsSlice()) || outer.TOS != c.wantTOS ||
				outer.TTL != greTTL || outer.Flags&layers.IPv4DontFragment == 0 || outer.Protocol != layers.IPProtocolGRE {
				t.Errorf("outer %v→%v tos %#x ttl %d flags %v", outer.SrcIP, outer.DstIP, outer.TOS, outer.TTL, outer.Flags)
			}
			if !gre.KeyPresent || gre.Key != 0xabcd || gre.ChecksumPresent || gre.SeqPresent {
				t.Errorf("GRE %+v, want key 0xabcd only", gre)
			}
			got := append(bytes.Clone(inner.Contents), inner.Payload...)
			if !bytes.Equal(got, probe) {
				t.Errorf("decapsulated datagram differs:\n got %x\nwant %x", got, probe)
			}
		})
	}

	// Refusals: the datagram, the tunnel, its next hop.
	probe := udpDatagram(t, local0, peer0, 50000, sla.Port, 0, 64, stampProbe(t, 1, 0))
	if err := r.dp.SendProbe(9, probe); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("unknown tunnel: %v", err)
	}
	long := udpDatagram(t, local0, peer0, 50000, sla.Port, 0, 64, make([]byte, 1500-20-4-28+1))
	if err := r.dp.SendProbe(1, long); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("probe one octet too long for wan0's MTU: %v", err)
	}
	fits := udpDatagram(t, local0, peer0, 50000, sla.Port, 0, 64, make([]byte, 1500-20-4-28))
	must(t, r.dp.SendProbe(1, fits))
	unrouted := netip.MustParseAddr("192.0.2.1") // the rig has no default route
	must(t, r.dp.SetTunnel(3, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: unrouted}))
	err := r.dp.SendProbe(3, udpDatagram(t, local0, unrouted, 50000, sla.Port, 0, 64, stampProbe(t, 1, 0)))
	if !errors.Is(err, dataplane.ErrNoNextHop) {
		t.Errorf("tunnel without a route: %v, want ErrNoNextHop", err)
	}

	// A neighbour not known yet: the kernel sends the probe, and asks for it.
	unknown := netip.MustParseAddr("172.16.0.50")
	arps := testenv.NewCapture(t, r.ns, "wan0p")
	must(t, r.dp.SetTunnel(4, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: unknown}))
	must(t, r.dp.SendProbe(4, udpDatagram(t, local0, unknown, 50000, sla.Port, 0, 64, stampProbe(t, 1, 0))))
	if _, ok := arps.Wait(5*time.Second, func(p testenv.Packet) bool {
		a, _ := p.Decode().Layer(layers.LayerTypeARP).(*layers.ARP)
		return a != nil && a.Operation == layers.ARPRequest && bytes.Equal(a.DstProtAddress, unknown.AsSlice())
	}); !ok {
		t.Errorf("no ARP request for %s on wan0p after a probe through a tunnel to it: %v", unknown, arps)
	}
}

// TestSTAMPLoop: two gateways, each its own pipeline in its own namespace,
// joined by a veth. A sends probes through its tunnel; B's XDP reflects them;
// A's ProbeReplies delivers the replies, which sla decodes into round trips. A
// starts without B's MAC: its first probes go through the kernel, which resolves
// it; the later ones, once the agent has the next hop, from the packet socket.
func TestSTAMPLoop(t *testing.T) {
	testenv.RequireRoot(t)
	nsA, nsB := testenv.NewNS(t), testenv.NewNS(t)
	la, _ := testenv.Veth(t, nsA, "wan", nsB, "wan")
	addrA, addrB := netip.MustParseAddr("172.31.0.1"), netip.MustParseAddr("172.31.0.2")
	testenv.AddAddr(t, nsA, "wan", "172.31.0.1/24")
	testenv.AddAddr(t, nsB, "wan", "172.31.0.2/24")
	testenv.AddNeigh(t, nsB, "wan", addrA.String(), la.Attrs().HardwareAddr)
	opts := dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 4, MaxTunnels: 16, MaxTerms: 16, MaxPorts: 4}
	gateway := func(ns *testenv.NS, local, remote netip.Addr, id dataplane.TunnelID) *Dataplane {
		var d *Dataplane
		must(t, ns.Do(func() error {
			var err error
			if d, err = Load(opts); err != nil {
				return err
			}
			t.Cleanup(func() { d.Close() })
			if err := d.Attach("wan", 1, dataplane.RoleWAN, dataplane.XDPNative); err != nil {
				return err
			}
			if err := d.SetTunnel(id, dataplane.Tunnel{Port: 1, Src: local, Dst: remote, Key: 77}); err != nil {
				return err
			}
			return d.SetTunnelTerm(dataplane.TunnelTerm{Remote: remote, Local: local, Key: 77}, id)
		}))
		return d
	}
	a := gateway(nsA, addrA, addrB, 3)
	b := gateway(nsB, addrB, addrA, 5)

	nhState := func() uint8 {
		var v linxTunnelNh
		must(t, a.objs.TunnelNexthops.Lookup(uint32(3), &v))
		return v.State
	}
	if st := nhState(); st != uint8(linxNhStateNH_NO_NEIGH) {
		t.Fatalf("A's next hop to B: state %d before any probe, want no neighbour", st)
	}
	sent := map[uint32]time.Time{}
	exchange := func(from, to uint32) {
		t.Helper()
		for seq := from; seq < to; seq++ {
			p, err := sla.TestPacket{Seq: seq, Timestamp: sla.NTPTimestamp(time.Now()), ErrorEstimate: sla.DefaultErrorEstimate, Len: 64}.Marshal()
			must(t, err)
			sent[seq] = time.Now()
			must(t, a.SendProbe(3, udpDatagram(t, addrA, addrB, 45000, sla.Port, 46<<2, 64, p)))
		}
		deadline := time.After(10 * time.Second) // only bounds a failure
		for got := from; got < to; got++ {
			select {
			case r := <-a.ProbeReplies():
				if r.Tunnel != 3 {
					t.Errorf("reply on tunnel %d, want 3", r.Tunnel)
				}
				ip := r.Packet
				if len(ip) != 20+8+64 || !bytes.Equal(ip[12:16], addrB.AsSlice()) || !bytes.Equal(ip[16:20], addrA.AsSlice()) || ip[1] != 46<<2 {
					t.Fatalf("reply datagram %x", ip)
				}
				rp, err := sla.ParseReflectedPacket(ip[28:])
				if err != nil {
					t.Fatal(err)
				}
				t1, ok := sent[rp.SenderSeq]
				if !ok || rp.Seq != rp.SenderSeq || rp.SenderTTL != 64 {
					t.Fatalf("reply %+v answers no probe sent", rp)
				}
				delete(sent, rp.SenderSeq)
				hold := rp.Timestamp.Sub(rp.ReceiveTime, rp.ErrorEstimate.PTP())
				if rtt := r.RxTime.Sub(t1) - hold; rtt < 0 || r.RxTime.Before(t1) {
					t.Errorf("probe %d: RTT %v (sent %v, received %v)", rp.SenderSeq, rtt, t1, r.RxTime)
				}
			case <-deadline:
				drops, _ := b.DropCounters()
				t.Fatalf("%d of probes %d..%d answered; B's drops %v", got-from, from, to-1, drops)
			}
		}
	}
	const probes = 20
	exchange(0, probes/2)
	// The kernel has resolved B for the first probes; the agent hears of it.
	for deadline := time.Now().Add(10 * time.Second); nhState() != uint8(linxNhStateNH_OK); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("A's next hop to B still in state %d", nhState())
		}
	}
	exchange(probes/2, probes)
	if c, _ := b.TunnelCounter(5); c.RX.Packets != probes || c.TX.Packets != probes {
		t.Errorf("B's tunnel counters %+v, want %d probes in and replies out", c, probes)
	}
}

// TestSTAMPStatefulReflector: loaded stateful, the reflector numbers its replies
// per session, (tunnel, DSCP), from 0, as sla.ReflectStateful models.
func TestSTAMPStatefulReflector(t *testing.T) {
	r := newRigWith(t, dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 4, MaxTunnels: 64, MaxTerms: 64, MaxPorts: 16, StatefulReflector: true})
	stampSetup(t, r)
	type session struct {
		port        dataplane.PortID
		peer, local netip.Addr
		key         uint32
		dmac        net.HardwareAddr
		tos         uint8
	}
	ef := session{port: portWAN0, peer: peer0, local: local0, dmac: peer0MAC, tos: 46 << 2}
	be := session{port: portWAN0, peer: peer0, local: local0, dmac: peer0MAC, tos: 0}
	keyedEF := session{port: portWAN1, peer: peer1, local: local1, key: 0xabcd, dmac: peer1MAC, tos: 46 << 2}
	next := map[string]uint32{} // by tunnel (local address) and DSCP
	for round, s := range []session{ef, ef, be, keyedEF, ef, be, keyedEF} {
		probe := stampProbe(t, uint32(1000+round), 0)
		inner := udpDatagram(t, s.peer, s.local, 41000, sla.Port, s.tos, 64, probe)
		frame := greFrame(t, s.peer, s.local, &layers.GRE{KeyPresent: s.key != 0, Key: s.key}, inner)
		t0 := taiNow(t)
		verdict, out := r.run(s.port, frame)
		t1 := taiNow(t)
		if verdict != xdpRedirect {
			t.Fatalf("probe %d: verdict %d (drops %v)", round, verdict, r.drops())
		}
		id := s.local.String() + "/" + strconv.Itoa(int(s.tos))
		model, err := sla.ReflectStateful(probe, time.Unix(0, 0), 64, next[id])
		must(t, err)
		checkReflected(t, out, reflection{
			probe: probe, model: model, ttl: 64, tos: s.tos, sport: 41000, sender: s.peer, target: s.local,
			key: s.key, dmac: s.dmac, smac: r.mac[s.port], before: t0, after: t1,
		})
		next[id]++
	}
}

// TestSTAMPRateLimit sends bursts of probes through two tunnels whose reflector
// buckets hold 8 probes and refill at 1 per second: each tunnel answers its
// first 8 (plus what refilled while the test ran, nothing unless it took over
// a second) and drops the rest with stamp_rate; one tunnel's flood takes
// nothing from the other's bucket.
func TestSTAMPRateLimit(t *testing.T) {
	const burst, extra, rate = 8, 5, 1
	r := newRigWith(t, dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 4, MaxTunnels: 64, MaxTerms: 64, MaxPorts: 16,
		ReflectorRate: rate, ReflectorBurst: burst})
	stampSetup(t, r)
	send := func(port dataplane.PortID, peer, local netip.Addr, key uint32, n int) (answered, limited int, took time.Duration) {
		start := time.Now()
		before := r.drops()[dataplane.DropSTAMPRate].Packets
		for i := range n {
			inner := udpDatagram(t, peer, local, 40000, sla.Port, 0, 64, stampProbe(t, uint32(i), 0))
			frame := greFrame(t, peer, local, &layers.GRE{KeyPresent: key != 0, Key: key}, inner)
			switch v, _ := r.run(port, frame); v {
			case xdpRedirect:
				answered++
			case xdpDrop:
			default:
				t.Fatalf("probe %d: verdict %d", i, v)
			}
		}
		return answered, int(r.drops()[dataplane.DropSTAMPRate].Packets - before), time.Since(start)
	}
	check := func(name string, answered, limited int, took time.Duration, n int) {
		t.Helper()
		refilled := int(took.Seconds() * rate)
		if answered < burst || answered > burst+refilled {
			t.Errorf("%s: %d of %d probes answered in %v, want %d (+%d refilled)", name, answered, n, took, burst, refilled)
		}
		if answered+limited != n {
			t.Errorf("%s: %d answered and %d dropped with stamp_rate of %d probes", name, answered, limited, n)
		}
	}
	a, l, took := send(portWAN0, peer0, local0, 0, burst+extra)
	check("tunnel 1", a, l, took, burst+extra)
	a, l, took = send(portWAN1, peer1, local1, 0xabcd, burst+extra)
	check("tunnel 2 after tunnel 1's flood", a, l, took, burst+extra)
	// Tunnel 1's bucket is still empty: the next probe is over the rate, unless
	// a second has passed.
	if a, l, took = send(portWAN0, peer0, local0, 0, 1); took < time.Second && (a != 0 || l != 1) {
		t.Errorf("tunnel 1 emptied: its next probe answered %d, dropped %d", a, l)
	}
}
