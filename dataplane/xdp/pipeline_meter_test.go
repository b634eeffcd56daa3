package xdp

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
)

// freezeMeter configures meter id and stops its clock: the data path refills a
// bucket only when a packet's time is after the last refill, so a last refill
// at the end of time makes every color depend on the buckets alone, and the
// reference model can replay them exactly.
func freezeMeter(t *testing.T, r *rig, id dataplane.MeterID, c dataplane.MeterConfig) {
	t.Helper()
	must(t, r.dp.SetMeter(id, c))
	slot, err := r.dp.meterSlot(id)
	must(t, err)
	v := kernelMeter(id.Unit, c)
	v.Last = math.MaxUint64
	must(t, r.dp.objs.Meters.Update(slot, v, ebpf.UpdateLock))
}

// meterCounts reads a meter's per-color counters.
func meterCounts(t *testing.T, r *rig, id dataplane.MeterID) dataplane.MeterCounters {
	t.Helper()
	c, err := r.dp.MeterCounters(id)
	must(t, err)
	return c
}

// colorOf is the color the data path counted for the packet just run: the
// counter that moved.
func colorOf(t *testing.T, before, after dataplane.MeterCounters) dataplane.Color {
	t.Helper()
	moved := []dataplane.Color{}
	if after.Green.Packets != before.Green.Packets {
		moved = append(moved, dataplane.Green)
	}
	if after.Yellow.Packets != before.Yellow.Packets {
		moved = append(moved, dataplane.Yellow)
	}
	if after.Red.Packets != before.Red.Packets {
		moved = append(moved, dataplane.Red)
	}
	if len(moved) != 1 {
		t.Fatalf("%d color counters moved (%+v → %+v), want 1", len(moved), before, after)
	}
	return moved[0]
}

// TestMeterColorsMatchRFCModel sends random packet sizes through metered FARs
// of each kind (trTCM and srTCM, bytes and packets) and checks every packet's
// color, its verdict under the default policy (red drops, as meter) and the
// counted bytes against the reference model.
func TestMeterColorsMatchRFCModel(t *testing.T) {
	r := newRig(t)
	cases := []struct {
		name     string
		id       dataplane.MeterID
		c        dataplane.MeterConfig
		noYellow bool // PBS < CBS without refill: the peak bucket runs out first
	}{
		{"trTCM bytes", dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: 1}, dataplane.MeterConfig{CIR: 1000, CBurst: 3000, PIR: 2000, PBurst: 6000}, false},
		{"trTCM bytes, peak burst below committed", dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: 7}, dataplane.MeterConfig{CIR: 1000, CBurst: 5000, PIR: 1000, PBurst: 2500}, true},
		{"srTCM bytes", dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: 2}, dataplane.MeterConfig{CIR: 1000, CBurst: 3000, PIR: 1000, PBurst: 3000, EBurst: 2000}, false},
		{"trTCM packets", dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 3}, dataplane.MeterConfig{CIR: 1, CBurst: 4, PIR: 2, PBurst: 7}, false},
		{"srTCM packets", dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 4}, dataplane.MeterConfig{CIR: 1, CBurst: 3, PIR: 1, PBurst: 3, EBurst: 2}, false},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			must(t, r.dp.Clear())
			addRule(t, r, uplink(), 1, tc.id.FAR, dataplane.FAR{Action: dataplane.ActPass})
			freezeMeter(t, r, tc.id, tc.c)
			model := newMeterModel(tc.c, tc.id.Unit == dataplane.MeterPackets)
			model.timeless = true
			var want dataplane.MeterCounters
			for i := range 40 {
				frame := pkt{sport: 1000, dport: 2000, payload: rng.IntN(1400)}.bytes(t)
				before := meterCounts(t, r, tc.id)
				drops := r.drops()[dataplane.DropMeter]
				verdict, _ := r.run(portLAN, frame)
				after := meterCounts(t, r, tc.id)
				got := colorOf(t, before, after)
				wantColor := model.color(0, len(frame))
				if got != wantColor {
					t.Fatalf("packet %d (%d bytes): %v, model says %v", i, len(frame), got, wantColor)
				}
				wantVerdict := uint32(xdpPass)
				if got == dataplane.Red {
					wantVerdict = xdpDrop
					if d := r.drops()[dataplane.DropMeter]; d.Packets != drops.Packets+1 {
						t.Errorf("packet %d: red, drop reason meter counted %d → %d", i, drops.Packets, d.Packets)
					}
				}
				if verdict != wantVerdict {
					t.Fatalf("packet %d: %v gave verdict %d, want %d", i, got, verdict, wantVerdict)
				}
				c := dataplane.Counter{Packets: 1, Bytes: uint64(len(frame))}
				switch got {
				case dataplane.Green:
					want.Green = dataplane.Counter{Packets: want.Green.Packets + c.Packets, Bytes: want.Green.Bytes + c.Bytes}
				case dataplane.Yellow:
					want.Yellow = dataplane.Counter{Packets: want.Yellow.Packets + c.Packets, Bytes: want.Yellow.Bytes + c.Bytes}
				case dataplane.Red:
					want.Red = dataplane.Counter{Packets: want.Red.Packets + c.Packets, Bytes: want.Red.Bytes + c.Bytes}
				}
			}
			if got := meterCounts(t, r, tc.id); got != want {
				t.Errorf("counters %+v, want %+v", got, want)
			}
			if want.Green.Packets == 0 || want.Red.Packets == 0 || (want.Yellow.Packets == 0) != tc.noYellow {
				t.Errorf("the sequence did not reach every color: %+v", want)
			}
		})
	}
}

// TestMeterRefillsWithTime checks that a meter left idle is full again: a
// drained bucket colors red, and after the configured fill time (a clock whose
// last refill lies in the past) the full burst is green again.
func TestMeterRefillsWithTime(t *testing.T) {
	r := newRig(t)
	id := dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 1}
	addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActPass})
	c := dataplane.MeterConfig{CIR: 1, CBurst: 3, PIR: 1, PBurst: 3}
	freezeMeter(t, r, id, c)
	frame := pkt{sport: 1, dport: 2}.bytes(t)
	for i, want := range []uint32{xdpPass, xdpPass, xdpPass, xdpDrop} {
		if v, _ := r.run(portLAN, frame); v != want {
			t.Fatalf("frozen packet %d: verdict %d, want %d", i, v, want)
		}
	}
	// Thaw: the last refill at 0 is seconds ago, more than the 3 s that fill
	// 3 packets at 1 packet/s only when the machine has been up that long,
	// which any test machine has.
	slot, _ := r.dp.meterSlot(id)
	var v linxMeter
	must(t, r.dp.objs.Meters.LookupWithFlags(slot, &v, ebpf.LookupLock))
	v.Last = 0
	must(t, r.dp.objs.Meters.Update(slot, v, ebpf.UpdateLock))
	for i, want := range []uint32{xdpPass, xdpPass, xdpPass, xdpDrop} {
		if v, _ := r.run(portLAN, frame); v != want {
			t.Fatalf("refilled packet %d: verdict %d, want %d", i, v, want)
		}
	}
}

// TestMeterPolicy covers the per-color actions of far_qos: remark (DSCP set,
// ECN kept, checksum right, the overlay's outer DSCP copied from the remarked
// inner one), drop, and pass; a FAR with a policy and no meter (all green); a
// reset meter passing everything with its counters kept; and an unmetered FAR
// beside a metered one.
func TestMeterPolicy(t *testing.T) {
	r := newRig(t)
	frame := pkt{sport: 1000, dport: 5060, tos: 46<<2 | 1, payload: 100}
	bytesID := dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: 1}
	remark := func(dscp uint8) dataplane.ColorPolicy {
		return dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: dscp}
	}
	// tos checks the inner header's ToS and, in an overlay, the outer one's
	// (the same DSCP, ECN 0 by the encap policy).
	tos := func(want uint8) func(t *testing.T, r *rig, p gopacket.Packet) {
		return func(t *testing.T, r *rig, p gopacket.Packet) {
			ips := []*layers.IPv4{}
			for _, l := range p.Layers() {
				if ip, ok := l.(*layers.IPv4); ok {
					ips = append(ips, ip)
				}
			}
			if len(ips) == 0 {
				t.Fatal("no IPv4 header")
			}
			for i, ip := range ips {
				want := want
				if i < len(ips)-1 {
					want &^= 3
				}
				if ip.TOS != want {
					t.Errorf("IPv4 %s→%s tos %#x, want %#x", ip.SrcIP, ip.DstIP, ip.TOS, want)
				}
			}
			checkIPv4(t, p)
		}
	}
	// One green packet fits the 200-byte committed burst; a second is yellow,
	// a third red (peak burst 400).
	meter := func(t *testing.T, r *rig, far dataplane.FAR, q dataplane.QoSPolicy, drain int) {
		addRule(t, r, uplink(), 1, 1, far)
		must(t, r.dp.SetFARQoS(1, q))
		freezeMeter(t, r, bytesID, dataplane.MeterConfig{CIR: 1, CBurst: 200, PIR: 1, PBurst: 400})
		for range drain {
			r.run(portLAN, frame.bytes(t))
		}
	}
	pass := dataplane.FAR{Action: dataplane.ActPass}
	policy := dataplane.QoSPolicy{Green: remark(10), Yellow: remark(12), Red: remark(14)}
	fixtures := []fixture{
		{name: "green remarked", port: portLAN, frame: frameOf(frame), want: xdpPass, check: tos(10<<2 | 1),
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, policy, 0) }},
		{name: "yellow remarked", port: portLAN, frame: frameOf(frame), want: xdpPass, check: tos(12<<2 | 1),
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, policy, 1) }},
		{name: "red remarked instead of dropped", port: portLAN, frame: frameOf(frame), want: xdpPass, check: tos(14<<2 | 1),
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, policy, 2) }},
		{name: "yellow dropped by policy", port: portLAN, frame: frameOf(frame), want: xdpDrop, reason: dataplane.DropMeter,
			setup: func(t *testing.T, r *rig) {
				meter(t, r, pass, dataplane.QoSPolicy{Yellow: dataplane.ColorPolicy{Action: dataplane.ColorDrop}}, 1)
			}},
		{name: "red passed by policy", port: portLAN, frame: frameOf(frame), want: xdpPass, check: tos(46<<2 | 1),
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, dataplane.QoSPolicy{}, 2) }},
		{name: "red dropped by default", port: portLAN, frame: frameOf(frame), want: xdpDrop, reason: dataplane.DropMeter,
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, dataplane.DefaultQoS, 2) }},
		{name: "remarked inner DSCP copied to the overlay", port: portLAN, frame: frameOf(frame), want: xdpRedirect, check: tos(12<<2 | 1),
			setup: func(t *testing.T, r *rig) {
				tunnels(t, r)
				meter(t, r, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1}, policy, 1)
			}},
		{name: "FAR DSCP set without a meter", port: portLAN, frame: frameOf(frame), want: xdpPass, check: tos(34<<2 | 1),
			setup: func(t *testing.T, r *rig) {
				addRule(t, r, uplink(), 1, 1, pass)
				must(t, r.dp.SetFARQoS(1, dataplane.QoSPolicy{Green: remark(34)}))
			}},
		{name: "reset meter passes all, counters kept", port: portLAN, frame: frameOf(frame), want: xdpPass, check: tos(46<<2 | 1),
			setup: func(t *testing.T, r *rig) {
				meter(t, r, pass, dataplane.DefaultQoS, 3)
				must(t, r.dp.SetMeter(bytesID, dataplane.MeterConfig{}))
			},
			check2: func(t *testing.T, r *rig) {
				c := meterCounts(t, r, bytesID)
				if c.Green.Packets != 1 || c.Yellow.Packets != 1 || c.Red.Packets != 1 {
					t.Errorf("counters after reset %+v, want the 3 packets before it", c)
				}
			}},
		{name: "unmetered FAR beside a metered one", port: portLAN, frame: frameOf(pkt{sport: 1, dport: 2, payload: 100}), want: xdpPass,
			setup: func(t *testing.T, r *rig) {
				meter(t, r, pass, dataplane.DefaultQoS, 3)
				m := uplink()
				m.SrcPort = dataplane.OnePort(1)
				addRule(t, r, m, 2, 2, pass)
			}},
		{name: "bytes and packets meters: the worse color", port: portLAN, frame: frameOf(frame), want: xdpDrop, reason: dataplane.DropMeter,
			setup: func(t *testing.T, r *rig) {
				meter(t, r, pass, dataplane.DefaultQoS, 0)
				freezeMeter(t, r, dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 1}, dataplane.MeterConfig{CIR: 1, CBurst: 1, PIR: 1, PBurst: 1})
				r.run(portLAN, frame.bytes(t)) // green in bytes, takes the only packet token
			}},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) {
			f.run(t, r)
			if f.check2 != nil {
				f.check2(t, r)
			}
		})
	}
}

func TestMeterConfigErrors(t *testing.T) {
	r := newRig(t)
	n := dataplane.FARID(dataplane.DefaultOptions.MaxMeters)
	ok := dataplane.MeterConfig{CIR: 1, CBurst: 1, PIR: 1, PBurst: 1}
	if err := r.dp.SetMeter(dataplane.MeterID{FAR: n}, ok); !errors.Is(err, dataplane.ErrOutOfRange) {
		t.Errorf("meter index %d: %v, want out of range", n, err)
	}
	if err := r.dp.SetFARQoS(n, dataplane.QoSPolicy{}); !errors.Is(err, dataplane.ErrOutOfRange) {
		t.Errorf("qos index %d: %v, want out of range", n, err)
	}
	if err := r.dp.SetMeter(dataplane.MeterID{FAR: 1}, dataplane.MeterConfig{CIR: 2, CBurst: 1, PIR: 1, PBurst: 1}); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("pir < cir: %v, want invalid", err)
	}
}

// TestMeterRestore: meters and policies handed back by Restore run: a
// restored packets meter with a one-packet burst passes the first packet and
// drops the second, and a restored policy remarks the passed one.
func TestMeterRestore(t *testing.T) {
	r := newRig(t)
	id := dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 1}
	q := dataplane.QoSPolicy{Green: dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: 8}, Red: dataplane.ColorPolicy{Action: dataplane.ColorDrop}}
	must(t, r.dp.Restore(dataplane.RestoreState{
		FARs:   map[dataplane.FARID]dataplane.FAR{1: {Action: dataplane.ActPass}},
		Meters: map[dataplane.MeterID]dataplane.MeterConfig{id: {CIR: 1, CBurst: 1, PIR: 1, PBurst: 1}},
		QoS:    map[dataplane.FARID]dataplane.QoSPolicy{1: q},
	}))
	if _, err := r.dp.InsertPDR(dataplane.PDR{Match: uplink(), Priority: 1, FAR: 1}); err != nil {
		t.Fatal(err)
	}
	frame := pkt{sport: 1, dport: 2}.bytes(t)
	v, out := r.run(portLAN, frame)
	if ip, _ := decode(out).Layer(layers.LayerTypeIPv4).(*layers.IPv4); v != xdpPass || ip == nil || ip.TOS != 8<<2 {
		t.Fatalf("first packet: verdict %d, %v; want pass remarked to DSCP 8", v, ip)
	}
	if v, _ := r.run(portLAN, frame); v != xdpDrop {
		t.Fatalf("second packet: verdict %d, want drop (one-packet burst)", v)
	}
	c, _ := r.dp.MeterCounters(id)
	if c.Green.Packets != 1 || c.Red.Packets != 1 {
		t.Errorf("counters %+v, want 1 green, 1 red", c)
	}
}

// TestPDRDirectMeter: a rule's direct meter colors its packets (red drops
// under the default policy), its colors join the FAR meter's (the worse
// wins), its counts are per rule, and deleting the rule resets meter and
// counts for the id's next rule.
func TestPDRDirectMeter(t *testing.T) {
	r := newRig(t)
	frame := pkt{sport: 1, dport: 2, payload: 100}.bytes(t)
	freezePDR := func(id dataplane.PDRID, c dataplane.MeterConfig) {
		t.Helper()
		must(t, r.dp.SetPDRMeter(id, c))
		v := kernelMeter(dataplane.MeterBytes, c)
		v.Last = math.MaxUint64
		must(t, r.dp.objs.PdrMeters.Update(uint32(id), v, ebpf.UpdateLock))
	}
	one := dataplane.MeterConfig{CIR: 1, CBurst: 200, PIR: 1, PBurst: 200} // one 142-byte frame
	id := addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActPass})
	freezePDR(id, one)
	for i, want := range []uint32{xdpPass, xdpDrop, xdpDrop} {
		if v, _ := r.run(portLAN, frame); v != want {
			t.Fatalf("packet %d: verdict %d, want %d", i, v, want)
		}
	}
	c, err := r.dp.PDRMeterCounters(id)
	must(t, err)
	if c.Green.Packets != 1 || c.Red.Packets != 2 || c.Green.Bytes != uint64(len(frame)) {
		t.Errorf("direct meter counts %+v, want 1 green, 2 red", c)
	}
	if err := r.dp.SetPDRMeter(99, one); !errors.Is(err, dataplane.ErrNotFound) {
		t.Errorf("meter of a missing rule: %v, want not found", err)
	}

	// The id's next rule starts unmetered, with zero counts.
	must(t, r.dp.DeletePDR(id))
	id2 := addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActPass})
	if id2 != id {
		t.Fatalf("the new rule got id %d, not the freed %d", id2, id)
	}
	if c, _ := r.dp.PDRMeterCounters(id2); c != (dataplane.MeterCounters{}) {
		t.Errorf("counts of the id's next rule %+v, want zero", c)
	}
	for i := range 3 {
		if v, _ := r.run(portLAN, frame); v != xdpPass {
			t.Fatalf("unmetered packet %d: verdict %d", i, v)
		}
	}

	// Direct meter red, FAR meter green: red; remarked by the FAR's policy.
	freezePDR(id2, one)
	freezeMeter(t, r, dataplane.MeterID{FAR: 1}, dataplane.MeterConfig{CIR: 1, CBurst: 100_000, PIR: 1, PBurst: 100_000})
	must(t, r.dp.SetFARQoS(1, dataplane.QoSPolicy{Red: dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: 8}}))
	r.run(portLAN, frame)
	v, out := r.run(portLAN, frame)
	if ip, _ := decode(out).Layer(layers.LayerTypeIPv4).(*layers.IPv4); v != xdpPass || ip == nil || ip.TOS != 8<<2 {
		t.Fatalf("direct red, FAR green: verdict %d, %v; want the red remark", v, ip)
	}
	if fc, _ := r.dp.MeterCounters(dataplane.MeterID{FAR: 1}); fc.Green.Packets != 2 {
		t.Errorf("FAR meter %+v, want 2 green", fc)
	}
}

// TestMeterPolicyIPv6 is TestMeterPolicy's colors on IPv6 packets: the same
// FAR meters police them, and a remark rewrites the traffic class's DSCP,
// keeping ECN, in the packet and in the overlay's outer header.
func TestMeterPolicyIPv6(t *testing.T) {
	r := newRig(t)
	frame := pkt6{sport: 1000, dport: 5060, tc: 46<<2 | 1, payload: 100}
	bytesID := dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: 1}
	remark := func(dscp uint8) dataplane.ColorPolicy {
		return dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: dscp}
	}
	tc := func(want uint8, outer bool) func(t *testing.T, r *rig, p gopacket.Packet) {
		return func(t *testing.T, r *rig, p gopacket.Packet) {
			ip6, _ := p.Layer(layers.LayerTypeIPv6).(*layers.IPv6)
			if ip6 == nil {
				t.Fatalf("no IPv6 header: %v", p)
			}
			if ip6.TrafficClass != want {
				t.Errorf("IPv6 traffic class %#x, want %#x", ip6.TrafficClass, want)
			}
			if ip6.FlowLabel != 0 || ip6.Version != 6 {
				t.Errorf("version %d flow label %#x: the remark touched the class's neighbours", ip6.Version, ip6.FlowLabel)
			}
			if outer {
				ip4, _ := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
				if ip4 == nil || ip4.TOS != want&^3 {
					t.Errorf("outer header %v, want TOS %#x", ip4, want&^3)
				}
			}
		}
	}
	meter := func(t *testing.T, r *rig, far dataplane.FAR, q dataplane.QoSPolicy, drain int) {
		addRule(t, r, v6only(), 1, 1, far)
		must(t, r.dp.SetFARQoS(1, q))
		freezeMeter(t, r, bytesID, dataplane.MeterConfig{CIR: 1, CBurst: 200, PIR: 1, PBurst: 400})
		for range drain {
			r.run(portLAN, frame.bytes(t))
		}
	}
	pass := dataplane.FAR{Action: dataplane.ActPass}
	policy := dataplane.QoSPolicy{Green: remark(10), Yellow: remark(12), Red: remark(14)}
	fixtures := []fixture{
		{name: "green remarked", port: portLAN, frame: frame6(frame), want: xdpPass, check: tc(10<<2|1, false),
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, policy, 0) }},
		{name: "yellow remarked", port: portLAN, frame: frame6(frame), want: xdpPass, check: tc(12<<2|1, false),
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, policy, 1) }},
		{name: "red dropped by default", port: portLAN, frame: frame6(frame), want: xdpDrop, reason: dataplane.DropMeter,
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, dataplane.DefaultQoS, 2) }},
		{name: "red passed by policy, class kept", port: portLAN, frame: frame6(frame), want: xdpPass, check: tc(46<<2|1, false),
			setup: func(t *testing.T, r *rig) { meter(t, r, pass, dataplane.QoSPolicy{}, 2) }},
		{name: "remarked class copied to the overlay", port: portLAN, frame: frame6(frame), want: xdpRedirect, check: tc(12<<2|1, true),
			setup: func(t *testing.T, r *rig) {
				tunnels(t, r)
				meter(t, r, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1}, policy, 1)
			}},
	}
	for _, f := range fixtures {
		t.Run(f.name, func(t *testing.T) { f.run(t, r) })
	}
	c := meterCounts(t, r, bytesID)
	if c.Green.Packets == 0 || c.Yellow.Packets == 0 {
		t.Errorf("meter counters %+v: IPv6 packets not counted by color", c)
	}
}
