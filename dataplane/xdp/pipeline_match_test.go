package xdp

import (
	"net/netip"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
)

// TestPipelineMatchFields installs one rule matching on a single field and sends a
// packet that matches it (dropped by the rule) and one that does not (default pass).
func TestPipelineMatchFields(t *testing.T) {
	r := newRig(t)
	base := pkt{sport: 4000, dport: 5060, tos: 46 << 2, payload: 16}
	with := func(f func(*pkt)) pkt { p := base; f(&p); return p }
	cases := []struct {
		name      string
		match     func(*dataplane.PDRMatch)
		port      dataplane.PortID
		hit, miss pkt
	}{
		{"ingress port", func(m *dataplane.PDRMatch) { m.InPort = dataplane.Exact[uint16](uint16(portLAN)) }, portLAN, base, base},
		{"direction uplink", func(m *dataplane.PDRMatch) {
			m.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUplink), Mask: 3}
		}, portLAN, base, base},
		{"src prefix", func(m *dataplane.PDRMatch) { m.Src = dataplane.Prefix(netip.MustParsePrefix("10.1.0.0/16")) }, portLAN,
			base, with(func(p *pkt) { p.src = netip.MustParseAddr("10.9.0.2") })},
		{"dst ternary (odd hosts)", func(m *dataplane.PDRMatch) { m.Dst = dataplane.Ternary[uint32]{Value: 1, Mask: 1} }, portLAN,
			with(func(p *pkt) { p.dst = netip.MustParseAddr("10.2.0.3") }), base},
		{"protocol", func(m *dataplane.PDRMatch) { m.Proto = dataplane.Exact[uint8](17) }, portLAN,
			base, with(func(p *pkt) { p.proto = layers.IPProtocolTCP })},
		{"src port range", func(m *dataplane.PDRMatch) { m.SrcPort = dataplane.PortRange{Lo: 3000, Hi: 4095} }, portLAN,
			base, with(func(p *pkt) { p.sport = 4096 })},
		{"dst port range", func(m *dataplane.PDRMatch) { m.DstPort = dataplane.PortRange{Lo: 5060, Hi: 5061} }, portLAN,
			with(func(p *pkt) { p.dport = 5061 }), with(func(p *pkt) { p.dport = 5062 })},
		{"dscp", func(m *dataplane.PDRMatch) { m.DSCP = dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f} }, portLAN,
			base, with(func(p *pkt) { p.tos = 0 })},
		{"ICMP has ports 0", func(m *dataplane.PDRMatch) { m.Proto = dataplane.Exact[uint8](1); m.DstPort = dataplane.OnePort(0) }, portLAN,
			with(func(p *pkt) { p.proto = layers.IPProtocolICMPv4 }), base},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := dataplane.MatchAll()
			c.match(&m)
			f := fixture{port: c.port, want: xdpDrop, reason: dataplane.DropPolicy, frame: frameOf(c.hit),
				setup: func(t *testing.T, r *rig) { addRule(t, r, m, 5, 1, dataplane.FAR{Action: dataplane.ActDrop}) }}
			f.run(t, r)
			if c.name == "ingress port" || c.name == "direction uplink" {
				// The miss case for port and direction: the same packet on a WAN port.
				f = fixture{port: portWAN0, want: xdpPass, frame: frameOf(c.miss),
					setup: func(t *testing.T, r *rig) { addRule(t, r, m, 5, 1, dataplane.FAR{Action: dataplane.ActDrop}) }}
			} else {
				f = fixture{port: c.port, want: xdpPass, frame: frameOf(c.miss),
					setup: func(t *testing.T, r *rig) { addRule(t, r, m, 5, 1, dataplane.FAR{Action: dataplane.ActDrop}) }}
			}
			f.run(t, r)
		})
	}
}

// TestPipelinePriorities checks that the highest-priority matching rule wins,
// across overlapping rules in different mask shapes and in the same one.
func TestPipelinePriorities(t *testing.T) {
	r := newRig(t)
	must(t, r.dp.Clear())
	must(t, r.dp.SetFAR(1, dataplane.FAR{Action: dataplane.ActDrop}))
	must(t, r.dp.SetFAR(2, dataplane.FAR{Action: dataplane.ActPass}))
	broad := dataplane.MatchAll()
	broad.Dst = dataplane.Prefix(netip.MustParsePrefix("10.2.0.0/16"))
	narrow := broad
	narrow.Proto = dataplane.Exact[uint8](17)
	narrow.DstPort = dataplane.PortRange{Lo: 5000, Hi: 5999}
	same := broad // identical match, other priority

	verdict := func() uint32 {
		v, _ := r.run(portLAN, pkt{sport: 1, dport: 5060}.bytes(t))
		return v
	}
	idBroad, err := r.dp.InsertPDR(dataplane.PDR{Match: broad, Priority: 10, FAR: 1})
	must(t, err)
	if v := verdict(); v != xdpDrop {
		t.Fatalf("broad only: verdict %d, want drop", v)
	}
	idNarrow, err := r.dp.InsertPDR(dataplane.PDR{Match: narrow, Priority: 20, FAR: 2})
	must(t, err)
	if v := verdict(); v != xdpPass {
		t.Fatalf("narrow (20) over broad (10): verdict %d, want pass", v)
	}
	idLow, err := r.dp.InsertPDR(dataplane.PDR{Match: narrow, Priority: 5, FAR: 1})
	must(t, err)
	if v := verdict(); v != xdpPass {
		t.Fatalf("a lower-priority duplicate must not win: verdict %d", v)
	}
	if _, err := r.dp.InsertPDR(dataplane.PDR{Match: narrow, Priority: 20, FAR: 1}); err == nil {
		t.Fatal("duplicate match+priority accepted")
	}
	must(t, r.dp.DeletePDR(idNarrow))
	if v := verdict(); v != xdpDrop {
		t.Fatalf("after deleting narrow: verdict %d, want drop (broad 10 beats narrow 5)", v)
	}
	idSame, err := r.dp.InsertPDR(dataplane.PDR{Match: same, Priority: 30, FAR: 2})
	must(t, err)
	if v := verdict(); v != xdpPass {
		t.Fatalf("same key, higher priority: verdict %d, want pass", v)
	}
	must(t, r.dp.DeletePDR(idSame))
	must(t, r.dp.DeletePDR(idBroad))
	if v := verdict(); v != xdpDrop {
		t.Fatalf("only narrow 5 left: verdict %d, want drop", v)
	}
	must(t, r.dp.ModifyPDR(idLow, 2))
	if v := verdict(); v != xdpPass {
		t.Fatalf("after modify to pass: verdict %d", v)
	}
	c, err := r.dp.PDRCounter(idLow)
	must(t, err)
	if c.Packets != 2 {
		t.Errorf("pdr counter %+v, want 2 packets", c)
	}
	must(t, r.dp.DeletePDR(idLow))
	if v := verdict(); v != xdpPass {
		t.Fatalf("no rules: verdict %d, want default pass", v)
	}
	if err := r.dp.DeletePDR(idLow); err == nil {
		t.Fatal("second delete succeeded")
	}
}
