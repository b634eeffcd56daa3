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
	"github.com/linx-sdwan/linx/internal/testenv"
)

var (
	host6   = netip.MustParseAddr("2001:db8:1::2")
	remote6 = netip.MustParseAddr("2001:db8:2::2")
)

// ext6 is one IPv6 extension header of a test packet: its type (next-header
// value) and its bytes after the first two (next header, length), which
// bytes() pads to a multiple of 8 (the fragment header: exactly 6).
type ext6 struct {
	typ  uint8
	body []byte
}

// pkt6 describes an IPv6 test packet; zero fields take defaults. It is built
// by hand so that tests control every byte (extension headers, bad lengths).
type pkt6 struct {
	src, dst     netip.Addr
	tc           uint8 // traffic class (DSCP << 2)
	hop          uint8
	exts         []ext6
	proto        uint8 // upper layer: 17 UDP (default), 6 TCP, 58 ICMPv6, other: raw
	sport, dport uint16
	tcpSYN       bool
	icmpType     uint8
	payload      int
	vlan         uint16
}

func (p pkt6) l4() []byte {
	pl := make([]byte, p.payload)
	for i := range pl {
		pl[i] = byte(i)
	}
	switch p.proto {
	case 17:
		u := make([]byte, 8)
		binary.BigEndian.PutUint16(u[0:], p.sport)
		binary.BigEndian.PutUint16(u[2:], p.dport)
		binary.BigEndian.PutUint16(u[4:], uint16(8+len(pl)))
		return append(u, pl...)
	case 6:
		th := make([]byte, 20)
		binary.BigEndian.PutUint16(th[0:], p.sport)
		binary.BigEndian.PutUint16(th[2:], p.dport)
		th[12] = 5 << 4
		if p.tcpSYN {
			th[13] = 0x02
		}
		return append(th, pl...)
	case 58:
		return append([]byte{p.icmpType, 0, 0, 0, 0, 0, 0, 0}, pl...)
	}
	return pl
}

func (p pkt6) bytes(t testing.TB) []byte {
	t.Helper()
	if !p.src.IsValid() {
		p.src = host6
	}
	if !p.dst.IsValid() {
		p.dst = remote6
	}
	if p.hop == 0 {
		p.hop = 64
	}
	if p.proto == 0 {
		p.proto = 17
	}
	var chain []byte
	first := p.proto
	for i := len(p.exts) - 1; i >= 0; i-- {
		e := p.exts[i]
		next := first
		first = e.typ
		body := append([]byte(nil), e.body...)
		var h []byte
		if e.typ == 44 {
			h = append([]byte{next, 0}, body...)
		} else {
			for (2+len(body))%8 != 0 {
				body = append(body, 0)
			}
			h = append([]byte{next, uint8((2+len(body))/8 - 1)}, body...)
		}
		chain = append(h, chain...)
	}
	payload := append(chain, p.l4()...)
	ip := make([]byte, 40)
	binary.BigEndian.PutUint32(ip[0:], 6<<28|uint32(p.tc)<<20)
	binary.BigEndian.PutUint16(ip[4:], uint16(len(payload)))
	ip[6] = first
	ip[7] = p.hop
	s, d := p.src.As16(), p.dst.As16()
	copy(ip[8:], s[:])
	copy(ip[24:], d[:])
	eth := make([]byte, 14)
	copy(eth[0:], []byte{0x02, 0, 0, 0, 0, 0xaa})
	copy(eth[6:], hostMAC)
	binary.BigEndian.PutUint16(eth[12:], 0x86dd)
	if p.vlan != 0 {
		binary.BigEndian.PutUint16(eth[12:], 0x8100)
		eth = append(eth, byte(p.vlan>>8), byte(p.vlan), 0x86, 0xdd)
	}
	return append(append(eth, ip...), payload...)
}

func frame6(p pkt6) func(t *testing.T) []byte {
	return func(t *testing.T) []byte { return p.bytes(t) }
}

func v6only() dataplane.PDRMatch {
	m := dataplane.MatchAll()
	m.Family = dataplane.FamilyIPv6
	return m
}

// TestPipelineIPv6MatchFields installs one rule matching on a single field of
// IPv6 packets and sends a packet that matches it (dropped by the rule) and one
// that does not (the default: pass).
func TestPipelineIPv6MatchFields(t *testing.T) {
	r := newRig(t)
	base := pkt6{sport: 4000, dport: 5060, tc: 46 << 2, payload: 16}
	with := func(f func(*pkt6)) pkt6 { p := base; f(&p); return p }
	hbh := ext6{typ: 0, body: []byte{1, 2, 0, 0}} // PadN
	dst := ext6{typ: 60, body: []byte{1, 4, 0, 0, 0, 0}}
	rt := ext6{typ: 43, body: []byte{0, 0, 0, 0, 0, 0}} // type 0, segments left 0
	cases := []struct {
		name      string
		match     func(*dataplane.PDRMatch)
		port      dataplane.PortID
		hit, miss pkt6
	}{
		{"ip_version 6", func(m *dataplane.PDRMatch) { m.Family = dataplane.FamilyIPv6 }, portLAN, base, base},
		{"src6 prefix", func(m *dataplane.PDRMatch) { m.Src6 = dataplane.Prefix6(netip.MustParsePrefix("2001:db8:1::/48")) }, portLAN,
			base, with(func(p *pkt6) { p.src = netip.MustParseAddr("2001:db8:9::2") })},
		{"dst6 host", func(m *dataplane.PDRMatch) { m.Dst6 = dataplane.Prefix6(netip.PrefixFrom(remote6, 128)) }, portLAN,
			base, with(func(p *pkt6) { p.dst = netip.MustParseAddr("2001:db8:2::3") })},
		{"dst6 ternary (low bit)", func(m *dataplane.PDRMatch) {
			var a dataplane.Addr6
			a.Mask[15], a.Value[15] = 1, 1
			m.Dst6 = a
		}, portLAN, with(func(p *pkt6) { p.dst = netip.MustParseAddr("2001:db8:2::3") }), base},
		{"next header", func(m *dataplane.PDRMatch) { m.Proto = dataplane.Exact[uint8](17) }, portLAN,
			base, with(func(p *pkt6) { p.proto = 6 })},
		{"next header after hop-by-hop, routing, destination options", func(m *dataplane.PDRMatch) {
			m.Proto = dataplane.Exact[uint8](17)
			m.DstPort = dataplane.OnePort(5060)
		}, portLAN, with(func(p *pkt6) { p.exts = []ext6{hbh, rt, dst} }), with(func(p *pkt6) { p.exts = []ext6{hbh, rt, dst}; p.dport = 5061 })},
		{"src port range", func(m *dataplane.PDRMatch) { m.SrcPort = dataplane.PortRange{Lo: 3000, Hi: 4095} }, portLAN,
			base, with(func(p *pkt6) { p.sport = 4096 })},
		{"tcp dst port range", func(m *dataplane.PDRMatch) { m.DstPort = dataplane.PortRange{Lo: 5060, Hi: 5061} }, portLAN,
			with(func(p *pkt6) { p.proto = 6; p.dport = 5061 }), with(func(p *pkt6) { p.proto = 6; p.dport = 5062 })},
		{"traffic class dscp", func(m *dataplane.PDRMatch) { m.DSCP = dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f} }, portLAN,
			base, with(func(p *pkt6) { p.tc = 0 })},
		{"fragment: next header, ports 0", func(m *dataplane.PDRMatch) {
			m.Proto = dataplane.Exact[uint8](17)
			m.DstPort = dataplane.OnePort(0)
		}, portLAN, with(func(p *pkt6) { p.exts = []ext6{{typ: 44, body: []byte{0, 1, 0, 0, 0, 7}}} }), base},
		{"direction uplink", func(m *dataplane.PDRMatch) {
			m.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUplink), Mask: 3}
		}, portLAN, base, base},
		{"behind a VLAN tag", func(m *dataplane.PDRMatch) { m.Src6 = dataplane.Prefix6(netip.MustParsePrefix("2001:db8:1::/48")) }, portLAN,
			with(func(p *pkt6) { p.vlan = 7 }), with(func(p *pkt6) { p.vlan = 7; p.src = netip.MustParseAddr("2001:db8:9::2") })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := dataplane.MatchAll()
			c.match(&m)
			setup := func(t *testing.T, r *rig) { addRule(t, r, m, 5, 1, dataplane.FAR{Action: dataplane.ActDrop}) }
			fixture{port: c.port, want: xdpDrop, reason: dataplane.DropPolicy, frame: frame6(c.hit), setup: setup}.run(t, r)
			missPort := c.port
			if c.name == "ip_version 6" || c.name == "direction uplink" {
				missPort = portWAN0 // the same packet on a WAN port: underlay
				if c.name == "ip_version 6" {
					// the IPv4 counterpart misses an IPv6-only rule
					fixture{port: portLAN, want: xdpPass, frame: frameOf(pkt{sport: 4000, dport: 5060}), setup: setup}.run(t, r)
					return
				}
			}
			fixture{port: missPort, want: xdpPass, frame: frame6(c.miss), setup: setup}.run(t, r)
		})
	}
}

// TestPipelineIPv6Priorities checks one priority order across the families: a
// rule of both families (no address field) against IPv4- and IPv6-only rules.
func TestPipelineIPv6Priorities(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	must(t, r.dp.SetFAR(1, dataplane.FAR{Action: dataplane.ActDrop}))
	must(t, r.dp.SetFAR(2, dataplane.FAR{Action: dataplane.ActPass}))
	v4 := func() uint32 { v, _ := r.run(portLAN, pkt{sport: 1, dport: 5060}.bytes(t)); return v }
	v6 := func() uint32 { v, _ := r.run(portLAN, pkt6{sport: 1, dport: 5060}.bytes(t)); return v }

	both := dataplane.MatchAll()
	both.Proto = dataplane.Exact[uint8](17)
	idBoth, err := r.dp.InsertPDR(dataplane.PDR{Match: both, Priority: 10, FAR: 1})
	must(t, err)
	if v4() != xdpDrop || v6() != xdpDrop {
		t.Fatalf("a rule without addresses must match both families: v4 %d v6 %d", v4(), v6())
	}
	only6 := v6only()
	only6.Dst6 = dataplane.Prefix6(netip.MustParsePrefix("2001:db8:2::/48"))
	id6, err := r.dp.InsertPDR(dataplane.PDR{Match: only6, Priority: 20, FAR: 2})
	must(t, err)
	if v4() != xdpDrop || v6() != xdpPass {
		t.Fatalf("IPv6 rule 20 over both 10: v4 %d (want drop) v6 %d (want pass)", v4(), v6())
	}
	must(t, r.dp.ModifyPDR(idBoth, 2))
	must(t, r.dp.ModifyPDR(id6, 1))
	if v4() != xdpPass || v6() != xdpDrop {
		t.Fatalf("after swapping FARs: v4 %d (want pass) v6 %d (want drop)", v4(), v6())
	}
	idHigh, err := r.dp.InsertPDR(dataplane.PDR{Match: both, Priority: 30, FAR: 2})
	must(t, err)
	if v6() != xdpPass {
		t.Fatalf("both-family rule 30 over IPv6 rule 20: %d, want pass", v6())
	}
	must(t, r.dp.DeletePDR(idHigh))
	if v6() != xdpDrop {
		t.Fatalf("after deleting rule 30 (a flow-cache hit must not survive it): %d, want drop", v6())
	}
	c, err := r.dp.PDRCounter(id6)
	must(t, err)
	if c.Packets != 3 { // after its insert, after the swap, after rule 30 went
		t.Errorf("IPv6 rule counted %d packets, want 3", c.Packets)
	}
	must(t, r.dp.DeletePDR(id6))
	must(t, r.dp.DeletePDR(idBoth))
	if v4() != xdpPass || v6() != xdpPass {
		t.Fatal("no rules: want the default (pass)")
	}
}

// TestPipelineIPv6Kernel checks that what the gateway's own stack must see
// reaches it unclassified, even under a rule that drops every IPv6 packet, and
// that a non_ip rule for 0x86dd still takes IPv6 frames (as before IPv6 PDRs).
func TestPipelineIPv6Kernel(t *testing.T) {
	r := newRig(t)
	dropAll := func(t *testing.T, r *rig) { addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActDrop}) }
	ll := netip.MustParseAddr("fe80::1")
	for _, f := range []fixture{
		{name: "neighbour solicitation to a global address", frame: frame6(pkt6{proto: 58, icmpType: 135, hop: 255, payload: 16})},
		{name: "neighbour advertisement", frame: frame6(pkt6{proto: 58, icmpType: 136, hop: 255, payload: 16})},
		{name: "router solicitation", frame: frame6(pkt6{src: ll, dst: netip.MustParseAddr("ff02::2"), proto: 58, icmpType: 133, hop: 255})},
		{name: "router advertisement", frame: frame6(pkt6{src: ll, dst: netip.MustParseAddr("ff02::1"), proto: 58, icmpType: 134, hop: 255, payload: 8})},
		{name: "multicast destination", frame: frame6(pkt6{dst: netip.MustParseAddr("ff0e::42")})},
		{name: "link-local destination", frame: frame6(pkt6{dst: ll})},
		{name: "link-local source", frame: frame6(pkt6{src: ll})},
		{name: "unspecified source (DAD)", frame: frame6(pkt6{src: netip.IPv6Unspecified()})},
		{name: "empty payload to a multicast group", frame: frame6(pkt6{dst: netip.MustParseAddr("ff02::1"), proto: 59})},
	} {
		f.port, f.want, f.setup = portLAN, xdpPass, dropAll
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
	t.Run("echo request is classified", func(t *testing.T) {
		fixture{port: portLAN, want: xdpDrop, reason: dataplane.DropPolicy, setup: dropAll,
			frame: frame6(pkt6{proto: 58, icmpType: 128, payload: 8})}.run(t, r)
	})
	t.Run("non_ip rule for 0x86dd", func(t *testing.T) {
		fixture{port: portLAN, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_NON_IP_RULE),
			setup: func(t *testing.T, r *rig) {
				dropAll(t, r)
				must(t, r.dp.SetFAR(2, dataplane.FAR{Action: dataplane.ActPass}))
				_, err := r.dp.InsertPDR(dataplane.PDR{Match: v6only(), Priority: 2, FAR: 2})
				must(t, err)
				must(t, r.dp.SetNonIPRule(etherIPv6, dataplane.NonIPDrop))
			}, frame: frame6(pkt6{})}.run(t, r)
		// Deleting it gives IPv6 back to the classifier (rule 2: pass).
		must(t, r.dp.DeleteNonIPRule(etherIPv6))
		if v, _ := r.run(portLAN, pkt6{}.bytes(t)); v != xdpPass {
			t.Fatalf("after deleting the non_ip rule: verdict %d, want pass (PDR 2)", v)
		}
		must(t, r.dp.DeletePDR(2)) // ids are dense: the second rule inserted
		if v, _ := r.run(portLAN, pkt6{}.bytes(t)); v != xdpDrop {
			t.Fatalf("then without the pass rule: verdict %d, want drop (PDR 1)", v)
		}
	})
}

// TestPipelineIPv6Malformed checks that malformed IPv6 packets are dropped with
// their reason, before any rule (a pass-everything rule is installed).
func TestPipelineIPv6Malformed(t *testing.T) {
	r := newRig(t)
	passAll := func(t *testing.T, r *rig) {
		addRule(t, r, dataplane.MatchAll(), 1, 1, dataplane.FAR{Action: dataplane.ActPass})
	}
	reason := func(c linxDropReason) dataplane.DropReason { return dataplane.DropReason(c) }
	edit := func(p pkt6, f func(b []byte) []byte) func(t *testing.T) []byte {
		return func(t *testing.T) []byte { return f(p.bytes(t)) }
	}
	hbh := ext6{typ: 0, body: []byte{1, 2, 0, 0}}
	dopt := ext6{typ: 60, body: []byte{1, 4, 0, 0, 0, 0}}
	for _, f := range []fixture{
		{name: "truncated header", reason: dataplane.DropMalformedIPv6,
			frame: edit(pkt6{}, func(b []byte) []byte { return b[:14+39] })},
		{name: "version 4 in an IPv6 frame", reason: dataplane.DropMalformedIPv6,
			frame: edit(pkt6{}, func(b []byte) []byte { b[14] = 0x45; return b })},
		{name: "payload length beyond the frame", reason: dataplane.DropIPv6Len,
			frame: edit(pkt6{payload: 8}, func(b []byte) []byte { binary.BigEndian.PutUint16(b[18:], 200); return b })},
		{name: "extension header truncated", reason: dataplane.DropIPv6Ext,
			frame: edit(pkt6{exts: []ext6{dopt}, proto: 59}, func(b []byte) []byte {
				b = b[:14+40+4]
				binary.BigEndian.PutUint16(b[18:], 4)
				return b
			})},
		{name: "extension header beyond the payload length", reason: dataplane.DropIPv6Ext,
			frame: edit(pkt6{exts: []ext6{dopt}, payload: 32}, func(b []byte) []byte { b[14+40+1] = 20; return b })},
		{name: "hop-by-hop not first", reason: dataplane.DropIPv6Ext,
			frame: frame6(pkt6{exts: []ext6{dopt, hbh}})},
		{name: "more extension headers than walked", reason: dataplane.DropIPv6ExtDepth,
			frame: frame6(pkt6{exts: []ext6{hbh, dopt, dopt, dopt, dopt}})},
		{name: "truncated UDP", reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(pkt6{}, func(b []byte) []byte {
				b = b[:14+40+6]
				binary.BigEndian.PutUint16(b[18:], 6)
				return b
			})},
		{name: "UDP length beyond the payload", reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(pkt6{payload: 8}, func(b []byte) []byte { binary.BigEndian.PutUint16(b[14+40+4:], 100); return b })},
		{name: "TCP data offset below 5", reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(pkt6{proto: 6}, func(b []byte) []byte { b[14+40+12] = 4 << 4; return b })},
		{name: "truncated ICMPv6", reason: reason(linxDropReasonDROP_MALFORMED_L4),
			frame: edit(pkt6{proto: 58, icmpType: 128}, func(b []byte) []byte {
				b = b[:14+40+2]
				binary.BigEndian.PutUint16(b[18:], 2)
				return b
			})},
	} {
		f.port, f.want, f.setup = portLAN, xdpDrop, passAll
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestPipelineIPv6Actions checks the actions on IPv6 packets: encapsulation into
// GRE over the IPv4 underlay (protocol type 0x86dd), decapsulation of it, the
// forward action with the FIB (AF_INET6) and the hop limit, and punt.
func TestPipelineIPv6Actions(t *testing.T) {
	r := newRig(t)
	testenv.SetSysctl(t, r.ns, "net/ipv6/conf/all/forwarding", "1")
	testenv.AddAddr(t, r.ns, "lan0", "2001:db8:1::1/64")
	testenv.AddNeigh(t, r.ns, "lan0", host6.String(), hostMAC)
	udp := pkt6{sport: 1000, dport: 5060, tc: 46 << 2, payload: 64}
	checkEncap := func(key uint32, tc uint8) func(t *testing.T, r *rig, p gopacket.Packet) {
		return func(t *testing.T, r *rig, p gopacket.Packet) {
			eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
			outer, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
			gre, _ := p.Layer(layers.LayerTypeGRE).(*layers.GRE)
			inner, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if eth == nil || outer == nil || gre == nil || inner == nil {
				t.Fatalf("not Ethernet/IPv4/GRE/IPv6: %v", p)
			}
			if gre.Protocol != layers.EthernetTypeIPv6 {
				t.Errorf("GRE protocol %v, want IPv6", gre.Protocol)
			}
			if key != 0 && (!gre.KeyPresent || gre.Key != key) {
				t.Errorf("GRE key %v/%#x, want %#x", gre.KeyPresent, gre.Key, key)
			}
			if !outer.SrcIP.Equal(local0.AsSlice()) && !outer.SrcIP.Equal(local1.AsSlice()) {
				t.Errorf("outer source %s", outer.SrcIP)
			}
			if outer.TOS != tc || outer.Flags&layers.IPv4DontFragment == 0 || outer.Protocol != layers.IPProtocolGRE {
				t.Errorf("outer TOS %#x (want %#x), flags %v, protocol %v", outer.TOS, tc, outer.Flags, outer.Protocol)
			}
			if int(outer.Length) != len(outer.Contents)+len(outer.Payload) {
				t.Errorf("outer length %d, header+payload %d", outer.Length, len(outer.Contents)+len(outer.Payload))
			}
			if inner.HopLimit != 63 || !inner.SrcIP.Equal(host6.AsSlice()) || !inner.DstIP.Equal(remote6.AsSlice()) {
				t.Errorf("inner %s→%s hop limit %d, want %s→%s 63", inner.SrcIP, inner.DstIP, inner.HopLimit, host6, remote6)
			}
			checkIPv4(t, p)
			_ = eth
		}
	}
	decap := func(t *testing.T, r *rig) {
		tunnels(t, r)
		must(t, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer0, Local: local0}, 1))
		m := v6only()
		m.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirDownlink), Mask: 3}
		addRule(t, r, m, 1, 1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
	}
	inner6 := func(hop uint8) []byte {
		b := pkt6{src: remote6, dst: host6, sport: 53, dport: 4000, hop: hop, payload: 32}.bytes(t)
		return b[14:]
	}
	for _, f := range []fixture{
		{name: "encap into GRE over IPv4, DSCP from the traffic class", port: portLAN, frame: frame6(udp), want: xdpRedirect,
			setup: func(t *testing.T, r *rig) {
				tunnels(t, r)
				addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			}, check: checkEncap(0, 46<<2)},
		{name: "encap with a key and a set outer DSCP", port: portLAN, frame: frame6(udp), want: xdpRedirect,
			setup: func(t *testing.T, r *rig) {
				must(t, r.dp.SetTunnel(2, dataplane.Tunnel{Port: portWAN1, Src: local1, Dst: peer1, Key: 0xabcd, SetDSCP: true, DSCP: 10}))
				addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 2})
			}, check: checkEncap(0xabcd, 10<<2)},
		{name: "balance: an IPv6 flow onto a live member", port: portLAN, frame: frame6(udp), want: xdpRedirect,
			setup: func(t *testing.T, r *rig) {
				tunnels(t, r)
				must(t, r.dp.SetLBR(1, []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}))
				addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActBalance, LBR: 1})
			}, check: func(t *testing.T, r *rig, p gopacket.Packet) {
				if gre, _ := p.Layer(layers.LayerTypeGRE).(*layers.GRE); gre == nil || gre.Protocol != layers.EthernetTypeIPv6 {
					t.Errorf("not GRE carrying IPv6: %v", p)
				}
			}},
		{name: "encap with hop limit 1 goes to the kernel", port: portLAN, frame: frame6(pkt6{hop: 1}), want: xdpPass,
			setup: func(t *testing.T, r *rig) {
				tunnels(t, r)
				addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
			}},
		{name: "decap GRE carrying IPv6 and forward to the LAN", port: portWAN0, want: xdpRedirect, setup: decap,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer0, local0, &layers.GRE{Protocol: layers.EthernetTypeIPv6}, inner6(64))
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				if eth == nil || ip == nil || p.Layer(layers.LayerTypeGRE) != nil {
					t.Fatalf("not a plain Ethernet/IPv6 frame: %v", p)
				}
				if eth.EthernetType != layers.EthernetTypeIPv6 || !bytes.Equal(eth.DstMAC, hostMAC) || !bytes.Equal(eth.SrcMAC, r.mac[portLAN]) {
					t.Errorf("Ethernet %s→%s type %v, want %s→%s IPv6", eth.SrcMAC, eth.DstMAC, eth.EthernetType, r.mac[portLAN], hostMAC)
				}
				if ip.HopLimit != 63 || !ip.DstIP.Equal(host6.AsSlice()) {
					t.Errorf("to %s hop limit %d, want %s 63", ip.DstIP, ip.HopLimit, host6)
				}
				if c, _ := r.dp.TunnelCounter(1); c.RX.Packets != 1 {
					t.Errorf("tunnel rx %+v, want 1", c.RX)
				}
			}},
		{name: "decap: spoofed GRE carrying IPv6", port: portWAN0, want: xdpDrop, reason: dataplane.DropReason(linxDropReasonDROP_GRE_SPOOFED), setup: decap,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer1, local0, &layers.GRE{Protocol: layers.EthernetTypeIPv6}, inner6(64))
			}},
		{name: "decap: hop limit 1 goes to the kernel", port: portWAN0, want: xdpPass, setup: decap,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer0, local0, &layers.GRE{Protocol: layers.EthernetTypeIPv6}, inner6(1))
			}},
		{name: "decap: malformed inner IPv6", port: portWAN0, want: xdpDrop, reason: dataplane.DropMalformedIPv6, setup: decap,
			frame: func(t *testing.T) []byte {
				return greFrame(t, peer0, local0, &layers.GRE{Protocol: layers.EthernetTypeIPv6}, innerIP(t))
			}},
		// The FIB answers "not forwarded" for an IPv6 destination without a
		// route: the kernel's stack sends the ICMPv6 unreachable.
		{name: "forward without a route goes to the kernel", port: portWAN0, want: xdpPass,
			frame: frame6(pkt6{src: remote6, dst: netip.MustParseAddr("2001:db8:77::1")}),
			setup: func(t *testing.T, r *rig) {
				addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN})
			}},
		{name: "punt", port: portLAN, frame: frame6(udp), want: xdpDrop,
			setup: func(t *testing.T, r *rig) { addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActPunt}) }},
	} {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}

// TestPipelineIPv6MTU checks the MTU policy for IPv6 on a 1400-byte WAN link: a
// packet too big for the overlay is answered with ICMPv6 Packet Too Big from
// the LAN port's IPv6 address (dropped while the port has none); TCP SYNs get
// their MSS clamped for an IPv6 header.
func TestPipelineIPv6MTU(t *testing.T) {
	r := newRig(t)
	testenv.SetMTU(t, r.ns, "wan0", 1400)
	setup := func(t *testing.T, r *rig) {
		tunnels(t, r)
		addRule(t, r, v6only(), 1, 1, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1})
	}
	const fits = 1400 - 24 - 40 - 8 // UDP payload of the largest IPv6 packet the overlay carries
	fixture{name: "too big, no IPv6 address on the port: dropped", port: portLAN, want: xdpDrop, reason: dataplane.DropTooBig,
		setup: setup, frame: frame6(pkt6{payload: fits + 1})}.run(t, r)

	lanAddr := netip.MustParseAddr("2001:db8:1::1")
	testenv.SetSysctl(t, r.ns, "net/ipv6/conf/lan0/accept_dad", "0")
	testenv.SetSysctl(t, r.ns, "net/ipv6/conf/lan0/disable_ipv6", "0")
	testenv.AddAddr(t, r.ns, "lan0", netip.PrefixFrom(lanAddr, 64).String())
	// The agent hears of the address over netlink and writes it for the data path.
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

	big := pkt6{sport: 7, dport: 9, payload: fits + 1}
	for _, f := range []fixture{
		{name: "largest packet that fits", port: portLAN, want: xdpRedirect, setup: setup, frame: frame6(pkt6{payload: fits})},
		{name: "too big: ICMPv6 packet too big back to the sender", port: portLAN, want: xdpRedirect, setup: setup, frame: frame6(big),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				eth, _ := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
				ip, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
				ic, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if eth == nil || ip == nil || ic == nil {
					t.Fatalf("not Ethernet/IPv6/ICMPv6: %v", p)
				}
				if !bytes.Equal(eth.DstMAC, hostMAC) || eth.EthernetType != layers.EthernetTypeIPv6 {
					t.Errorf("Ethernet to %s type %v, want %s IPv6", eth.DstMAC, eth.EthernetType, hostMAC)
				}
				if !ip.SrcIP.Equal(lanAddr.AsSlice()) || !ip.DstIP.Equal(host6.AsSlice()) || ip.NextHeader != layers.IPProtocolICMPv6 {
					t.Errorf("IPv6 %s→%s next header %v, want %s→%s ICMPv6", ip.SrcIP, ip.DstIP, ip.NextHeader, lanAddr, host6)
				}
				if ic.TypeCode != layers.CreateICMPv6TypeCode(2, 0) {
					t.Errorf("ICMPv6 %v, want packet too big", ic.TypeCode)
				}
				msg := append(append([]byte(nil), ic.Contents...), ic.Payload...)
				if len(msg) < 8 || binary.BigEndian.Uint32(msg[4:8]) != 1400-24 {
					t.Fatalf("ICMPv6 message %x: want MTU %d", msg, 1400-24)
				}
				orig := big.bytes(t)[14:]
				if q := msg[8:]; len(q) != 128 || !bytes.Equal(q, orig[:128]) {
					t.Errorf("quote of %d bytes %x, want the packet's first 128", len(q), q)
				}
				if int(ip.Length) != len(msg) {
					t.Errorf("payload length %d, message %d bytes", ip.Length, len(msg))
				}
				ph := append(append(append([]byte(nil), ip.SrcIP...), ip.DstIP...), 0, 0, byte(len(msg)>>8), byte(len(msg)), 0, 0, 0, 58)
				if csum(append(ph, msg...)) != 0 {
					t.Error("ICMPv6 checksum wrong")
				}
				if d := r.drops()[dataplane.DropICMPTooBig]; d.Packets == 0 {
					t.Error("icmp_too_big not counted")
				}
			}},
		{name: "too big behind a VLAN tag: the answer keeps the tag", port: portLAN, want: xdpRedirect, setup: setup,
			frame: frame6(pkt6{sport: 7, dport: 9, payload: fits + 1, vlan: 5}),
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				tag, _ := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q)
				ic, _ := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6)
				if tag == nil || tag.VLANIdentifier != 5 || ic == nil || ic.TypeCode != layers.CreateICMPv6TypeCode(2, 0) {
					t.Errorf("not a VLAN 5 tagged packet too big: %v", p)
				}
			}},
		{name: "SYN MSS clamped for an IPv6 header", port: portLAN, want: xdpRedirect, setup: setup,
			frame: func(t *testing.T) []byte {
				b := pkt6{proto: 6, sport: 40000, dport: 443, tcpSYN: true}.bytes(t)
				// A TCP header with the MSS option 1440: doff 6.
				tcp := b[14+40:]
				tcp[12] = 6 << 4
				b = append(b, 0, 0, 0, 0)
				copy(b[14+40+20:], []byte{2, 4, 0x05, 0xa0})
				binary.BigEndian.PutUint16(b[18:], 24)
				return b
			},
			check: func(t *testing.T, r *rig, p gopacket.Packet) {
				tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil || len(tcp.Options) == 0 || tcp.Options[0].OptionType != layers.TCPOptionKindMSS {
					t.Fatalf("no TCP MSS option: %v", p)
				}
				if got, want := binary.BigEndian.Uint16(tcp.Options[0].OptionData), uint16(1400-28-60); got != want {
					t.Errorf("MSS %d, want %d (largest overhead, IPv6 and TCP headers)", got, want)
				}
			}},
	} {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
}
