package xdp

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestPipelineMTU checks the MTU policy on a 1400-byte WAN link: TCP SYNs get their
// MSS clamped so segments fit the overlay, too-big DF packets are answered with
// ICMP fragmentation-needed, too-big non-DF packets are dropped.
func TestPipelineMTU(t *testing.T) {
	r := newRig(t)
	testenv.SetMTU(t, r.ns, "wan0", 1400)
	setup := func(t *testing.T, r *rig) {
		tunnels(t, r)
		addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
	}
	fixtures := []fixture{
		{name: "SYN MSS clamped to fit the overlay", port: portLAN, want: xdpRedirect, setup: setup,
			frame: frameOf(pkt{proto: layers.IPProtocolTCP, sport: 40000, dport: 443, tcpSYN: true, mss: 1460}),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				var mss uint16
				for _, o := range tcp.Options {
					if o.OptionType == layers.TCPOptionKindMSS {
						mss = binary.BigEndian.Uint16(o.OptionData)
					}
				}
				if want := uint16(1400 - 28 - 40); mss != want { // largest overhead: GRE with key
					t.Errorf("MSS %d, want %d", mss, want)
				}
				checkTCP(t, p)
			}},
		{name: "small MSS left alone", port: portLAN, want: xdpRedirect, setup: setup,
			frame: frameOf(pkt{proto: layers.IPProtocolTCP, sport: 40000, dport: 443, tcpSYN: true, mss: 1200}),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if got := binary.BigEndian.Uint16(tcp.Options[0].OptionData); got != 1200 {
					t.Errorf("MSS %d, want 1200", got)
				}
				checkTCP(t, p)
			}},
		{name: "largest packet that fits", port: portLAN, want: xdpRedirect, setup: setup,
			frame: frameOf(pkt{sport: 1, dport: 2, flags: layers.IPv4DontFragment, payload: 1400 - 24 - 28})},
		{name: "too big with DF: ICMP frag-needed back to the sender", port: portLAN, want: xdpRedirect, setup: setup,
			frame: frameOf(pkt{sport: 1, dport: 2, flags: layers.IPv4DontFragment, payload: 1400 - 24 - 28 + 1}),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				icmp, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
				if !ok {
					t.Fatalf("not ICMP: %v", p)
				}
				if !bytes.Equal(eth.DstMAC, hostMAC) || !ip.DstIP.Equal(hostIP.AsSlice()) || !ip.SrcIP.Equal(local0.AsSlice()) {
					t.Errorf("ICMP %s→%s (MAC to %s)", ip.SrcIP, ip.DstIP, eth.DstMAC)
				}
				if icmp.TypeCode != layers.CreateICMPv4TypeCode(3, 4) {
					t.Errorf("ICMP %v, want frag-needed", icmp.TypeCode)
				}
				if mtu := binary.BigEndian.Uint16(icmp.Contents[6:8]); mtu != 1400-24 {
					t.Errorf("next-hop MTU %d, want %d", mtu, 1400-24)
				}
				quoted := icmp.Payload
				if len(quoted) < 28 || !bytes.Equal(quoted[12:20], append(hostIP.AsSlice(), remoteIP.AsSlice()...)) {
					t.Errorf("quoted header %x", quoted)
				}
				all := append(append([]byte(nil), icmp.Contents...), icmp.Payload...)
				if csum(all) != 0 {
					t.Error("ICMP checksum wrong")
				}
				checkIPv4(t, p)
				if d := r.drops()[dataplane.DropICMPTooBig]; d.Packets == 0 {
					t.Error("icmp_too_big not counted")
				}
			}},
		{name: "too big without DF: dropped", port: portLAN, want: xdpDrop, reason: dataplane.DropTooBig, setup: setup,
			frame: frameOf(pkt{sport: 1, dport: 2, payload: 1400 - 24 - 28 + 1})},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

func checkTCP(t *testing.T, p gopacket.Packet) {
	t.Helper()
	var inner *layers.IPv4
	for _, l := range p.Layers() {
		if ip, ok := l.(*layers.IPv4); ok {
			inner = ip
		}
	}
	seg := inner.Payload
	ph := make([]byte, 0, 12+len(seg))
	ph = append(ph, inner.SrcIP.To4()...)
	ph = append(ph, inner.DstIP.To4()...)
	ph = append(ph, 0, 6, byte(len(seg)>>8), byte(len(seg)))
	if csum(append(ph, seg...)) != 0 {
		t.Error("TCP checksum wrong after MSS clamping")
	}
}

// TestPipelineMalformed drops bad input with a reason, never XDP_ABORTED.
func TestPipelineMalformed(t *testing.T) {
	r := newRig(t)
	good := func(t *testing.T) []byte { return pkt{sport: 1, dport: 2, payload: 8}.bytes(t) }
	tcp := func(t *testing.T) []byte {
		return pkt{proto: layers.IPProtocolTCP, sport: 1, dport: 2, payload: 8}.bytes(t)
	}
	edit := func(base func(*testing.T) []byte, f func([]byte) []byte) func(*testing.T) []byte {
		return func(t *testing.T) []byte { return f(base(t)) }
	}
	reason := func(r linxDropReason) dataplane.DropReason { return dataplane.DropReason(r) }
	fixtures := []fixture{
		{name: "Ethernet header only, no IPv4", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_IP),
			frame: edit(good, func(b []byte) []byte { return b[:14] })},
		{name: "IPv4 header truncated", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_IP),
			frame: edit(good, func(b []byte) []byte { return b[:14+19] })},
		{name: "IPv4 version 6 in an IPv4 frame", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_IP),
			frame: edit(good, func(b []byte) []byte { b[14] = 0x65; return b })},
		{name: "ihl below 5", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_IP_IHL),
			frame: edit(good, func(b []byte) []byte { b[14] = 0x44; return b })},
		{name: "ihl beyond the frame", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_IP_LEN),
			frame: edit(good, func(b []byte) []byte { b[14] = 0x4f; return b[:14+40] })},
		{name: "total length beyond the frame", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_IP_LEN),
			frame: edit(good, func(b []byte) []byte { binary.BigEndian.PutUint16(b[16:], 1000); return b })},
		{name: "total length below the header", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_IP_LEN),
			frame: edit(good, func(b []byte) []byte { binary.BigEndian.PutUint16(b[16:], 19); return b })},
		{name: "UDP header truncated", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(good, func(b []byte) []byte { binary.BigEndian.PutUint16(b[16:], 24); return b[:14+24] })},
		{name: "UDP length beyond IPv4", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(good, func(b []byte) []byte { binary.BigEndian.PutUint16(b[38:], 200); return b })},
		{name: "TCP header truncated", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(tcp, func(b []byte) []byte {
				binary.BigEndian.PutUint16(b[16:], 20+12)
				fixIPv4(b[14:34])
				return b[:14+20+12]
			})},
		{name: "TCP data offset below 5", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(tcp, func(b []byte) []byte { b[14+20+12] = 0x40; return b })},
		{name: "two VLAN tags", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_VLAN_DEPTH),
			frame: frameOf(pkt{vlans: []uint16{10, 20}, sport: 1, dport: 2})},
		{name: "VLAN tag truncated", port: portLAN, want: xdpDrop, reason: reason(linxDropReasonDROP_MALFORMED_VLAN),
			frame: func(t *testing.T) []byte {
				b := pkt{vlans: []uint16{10}}.bytes(t)
				return b[:16]
			}},
		{name: "one VLAN tag is parsed", port: portLAN, want: xdpDrop, reason: dataplane.DropPolicy,
			frame: frameOf(pkt{vlans: []uint16{10}, sport: 1, dport: 5060}),
			setup: func(t *testing.T, r *rig) {
				m := dataplane.MatchAll()
				m.DstPort = dataplane.OnePort(5060)
				addRule(t, r, m, 1, 1, dataplane.FAR{Action: dataplane.ActDrop})
			}},
		{name: "first fragment: classified without ports", port: portLAN, want: xdpPass,
			frame: frameOf(pkt{sport: 1, dport: 5060, flags: layers.IPv4MoreFragments, payload: 100}),
			setup: func(t *testing.T, r *rig) {
				m := dataplane.MatchAll()
				m.DstPort = dataplane.OnePort(5060)
				addRule(t, r, m, 1, 1, dataplane.FAR{Action: dataplane.ActDrop})
			}},
		{name: "later fragment: classified on L3 fields", port: portLAN, want: xdpDrop, reason: dataplane.DropPolicy,
			frame: frameOf(pkt{proto: 17, fragOffset: 100, payload: 100}),
			setup: func(t *testing.T, r *rig) {
				m := dataplane.MatchAll()
				m.Proto = dataplane.Exact[uint8](17)
				m.DstPort = dataplane.OnePort(0)
				addRule(t, r, m, 1, 1, dataplane.FAR{Action: dataplane.ActDrop})
			}},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestPipelineMissedTailCall drops with its own reason when a stage is missing.
func TestPipelineMissedTailCall(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	must(t, r.dp.objs.Stages.Delete(linxStageSTAGE_CLASSIFY))
	t.Cleanup(func() { r.dp.objs.Stages.Put(linxStageSTAGE_CLASSIFY, r.dp.objs.LinxClassify) })
	before := r.drops()[dataplane.DropTailCall].Packets
	if v, _ := r.run(portLAN, pkt{sport: 1, dport: 2}.bytes(t)); v != xdpDrop {
		t.Fatalf("verdict %d, want drop", v)
	}
	if got := r.drops()[dataplane.DropTailCall].Packets; got != before+1 {
		t.Fatalf("tail_call drops %d, want %d", got, before+1)
	}
}
