package p4rtsrv

import (
	"path/filepath"
	"strings"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

func meterEntity(m *p4v1.MeterEntry) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_MeterEntry{MeterEntry: m}}
}

func meterCell(meter uint32, index int64, c *p4v1.MeterConfig) *p4v1.Update {
	return update(p4v1.Update_MODIFY, meterEntity(&p4v1.MeterEntry{MeterId: meter, Index: &p4v1.Index{Index: index}, Config: c}))
}

func qosEntry(far uint32, ps ...uint64) *p4v1.TableEntry {
	ids := []uint32{p4info.IDParamSetQoSGreen, p4info.IDParamSetQoSGreenDSCP, p4info.IDParamSetQoSYellow,
		p4info.IDParamSetQoSYellowDSCP, p4info.IDParamSetQoSRed, p4info.IDParamSetQoSRedDSCP}
	var params []*p4v1.Action_Param
	for i, v := range ps {
		params = append(params, param(ids[i], u(v)))
	}
	return &p4v1.TableEntry{TableId: p4info.IDTableFARQoS, Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldFARQoSFarID, u(uint64(far)))},
		Action: action(p4info.IDActionSetQoS, params...)}
}

// readMeter reads one cell.
func (h *harness) readMeter(meter uint32, index int64) *p4v1.MeterEntry {
	h.t.Helper()
	got := h.mustRead(meterEntity(&p4v1.MeterEntry{MeterId: meter, Index: &p4v1.Index{Index: index}}))
	if len(got) != 1 {
		h.t.Fatalf("read of meter 0x%08x[%d]: %d entities", meter, index, len(got))
	}
	return got[0].GetMeterEntry()
}

var trTCM = &p4v1.MeterConfig{Cir: 125_000, Cburst: 15_000, Pir: 250_000, Pburst: 30_000}

// TestMeterModifyReadReset: a MODIFY configures a cell, reads return the
// config as written with per-color counter_data, a MODIFY without a config
// resets it (reads return it unset), and the data path follows each step.
func TestMeterModifyReadReset(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.commit(20)
		srTCM := &p4v1.MeterConfig{Cir: 100, Cburst: 10, Pir: 100, Pburst: 10, Eburst: 20}
		h.mustWrite(20, meterCell(p4info.IDMeterFAR, 5, trTCM), meterCell(p4info.IDMeterFARPacket, 5, srTCM))
		if got := h.readMeter(p4info.IDMeterFAR, 5); !proto.Equal(got.Config, trTCM) || got.CounterData == nil {
			t.Errorf("read %v, want config %v with counter_data", got, trTCM)
		}
		if got := h.readMeter(p4info.IDMeterFARPacket, 5); !proto.Equal(got.Config, srTCM) {
			t.Errorf("read %v, want config %v", got, srTCM)
		}
		if got := h.readMeter(p4info.IDMeterFAR, 4); got.Config != nil {
			t.Errorf("untouched cell reads %v, want no config (default)", got)
		}
		// Every cell of every meter: 2 x 16.
		all := h.mustRead(meterEntity(&p4v1.MeterEntry{}))
		if len(all) != 32 {
			t.Errorf("wildcard read: %d cells, want 32", len(all))
		}
		configured := 0
		for _, e := range all {
			if e.GetMeterEntry().Config != nil {
				configured++
			}
		}
		if configured != 2 {
			t.Errorf("wildcard read: %d configured cells, want 2", configured)
		}
		if h.mem != nil {
			want := dataplane.MeterConfig{CIR: 125_000, CBurst: 15_000, PIR: 250_000, PBurst: 30_000}
			if got := h.mem.Meters()[dataplane.MeterID{FAR: 5}]; got != want {
				t.Errorf("data path meter %+v, want %+v", got, want)
			}
		}
		// Modify to another config, then reset.
		other := &p4v1.MeterConfig{Cir: 1000, Cburst: 1500, Pir: 1000, Pburst: 1500}
		h.mustWrite(20, meterCell(p4info.IDMeterFAR, 5, other))
		if got := h.readMeter(p4info.IDMeterFAR, 5); !proto.Equal(got.Config, other) {
			t.Errorf("after modify: %v, want %v", got, other)
		}
		h.mustWrite(20, meterCell(p4info.IDMeterFAR, 5, nil))
		if got := h.readMeter(p4info.IDMeterFAR, 5); got.Config != nil {
			t.Errorf("after reset: %v, want no config", got)
		}
		if h.mem != nil {
			if _, ok := h.mem.Meters()[dataplane.MeterID{FAR: 5}]; ok {
				t.Error("data path still meters far 5 after the reset")
			}
		}
	})
}

// TestMeterCounterData: the per-color counts of the data path come back in
// counter_data.
func TestMeterCounterData(t *testing.T) {
	memOnly(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.commit(20)
		h.mustWrite(20, meterCell(p4info.IDMeterFAR, 3, trTCM))
		h.mem.AddMeterCount(dataplane.MeterID{FAR: 3}, dataplane.MeterCounters{
			Green: dataplane.Counter{Packets: 10, Bytes: 1000}, Yellow: dataplane.Counter{Packets: 2, Bytes: 300}, Red: dataplane.Counter{Packets: 1, Bytes: 1500}})
		got := h.readMeter(p4info.IDMeterFAR, 3).CounterData
		want := &p4v1.MeterCounterData{Green: &p4v1.CounterData{PacketCount: 10, ByteCount: 1000},
			Yellow: &p4v1.CounterData{PacketCount: 2, ByteCount: 300}, Red: &p4v1.CounterData{PacketCount: 1, ByteCount: 1500}}
		if !proto.Equal(got, want) {
			t.Errorf("counter_data %v, want %v", got, want)
		}
	})
}

// TestMeterErrors: every invalid meter write gets the specification's code
// and a message naming what is wrong.
func TestMeterErrors(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.commit(20)
		cfg := func(cir, cb, pir, pb, eb int64) *p4v1.MeterConfig {
			return &p4v1.MeterConfig{Cir: cir, Cburst: cb, Pir: pir, Pburst: pb, Eburst: eb}
		}
		cases := []struct {
			name string
			up   *p4v1.Update
			code codes.Code
			says string
		}{
			{"insert", update(p4v1.Update_INSERT, meterEntity(&p4v1.MeterEntry{MeterId: p4info.IDMeterFAR, Index: &p4v1.Index{Index: 1}, Config: trTCM})), codes.InvalidArgument, "only be modified"},
			{"delete", update(p4v1.Update_DELETE, meterEntity(&p4v1.MeterEntry{MeterId: p4info.IDMeterFAR, Index: &p4v1.Index{Index: 1}})), codes.InvalidArgument, "only be modified"},
			{"pir below cir", meterCell(p4info.IDMeterFAR, 1, cfg(2000, 100, 1000, 100, 0)), codes.InvalidArgument, "pir 1000 below cir 2000"},
			{"zero cburst", meterCell(p4info.IDMeterFAR, 1, cfg(1000, 0, 1000, 100, 0)), codes.InvalidArgument, "cburst is 0"},
			{"zero pburst", meterCell(p4info.IDMeterFAR, 1, cfg(1000, 100, 1000, 0, 0)), codes.InvalidArgument, "pburst is 0"},
			{"zero cir", meterCell(p4info.IDMeterFAR, 1, cfg(0, 100, 1000, 100, 0)), codes.InvalidArgument, "cir is 0"},
			{"oversized cburst", meterCell(p4info.IDMeterFAR, 1, cfg(1000, 1<<33, 1000, 100, 0)), codes.OutOfRange, "cburst 8589934592 above the maximum"},
			{"oversized pir", meterCell(p4info.IDMeterFAR, 1, cfg(1000, 100, 1<<41, 100, 0)), codes.OutOfRange, "pir"},
			{"negative cir", meterCell(p4info.IDMeterFAR, 1, cfg(-1, 100, 1000, 100, 0)), codes.InvalidArgument, "cir is negative"},
			{"srTCM with pir != cir", meterCell(p4info.IDMeterFAR, 1, cfg(1000, 100, 2000, 100, 50)), codes.InvalidArgument, "pir = cir"},
			{"all zero", meterCell(p4info.IDMeterFAR, 1, cfg(0, 0, 0, 0, 0)), codes.InvalidArgument, "leave config unset"},
			{"index out of range", meterCell(p4info.IDMeterFAR, 16, trTCM), codes.OutOfRange, "index 16 out of range 0..15"},
			{"negative index", meterCell(p4info.IDMeterFAR, -1, trTCM), codes.InvalidArgument, "negative index"},
			{"unknown meter", meterCell(0x14000099, 1, trTCM), codes.NotFound, "unknown meter"},
			{"qos far_id out of range", insert(qosEntry(16, 0, 0, 0, 0, 2, 0)), codes.OutOfRange, "far_id 16 out of range 0..15"},
			{"qos color action", insert(qosEntry(1, 0, 0, 3, 0, 2, 0)), codes.InvalidArgument, "yellow is 3"},
			{"qos dscp too wide", insert(qosEntry(1, 1, 64, 0, 0, 2, 0)), codes.OutOfRange, "green_dscp"},
		}
		for _, c := range cases {
			err := h.write(20, c.up)
			var code codes.Code
			var msg string
			if ds := status.Convert(err).Details(); len(ds) == 1 {
				if e, ok := ds[0].(*p4v1.Error); ok {
					code, msg = codes.Code(e.CanonicalCode), e.Message
				}
			}
			if code != c.code || !strings.Contains(msg, c.says) {
				t.Errorf("%s: %v %q, want %v saying %q", c.name, code, msg, c.code, c.says)
			}
		}
		if got := h.readMeter(p4info.IDMeterFAR, 1); got.Config != nil {
			t.Errorf("a refused write changed the cell: %v", got)
		}
	})
}

// TestFARQoSEntries: far_qos entries reach the data path, read back as
// written, and their deletion restores the default policy.
func TestFARQoSEntries(t *testing.T) {
	memOnly(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.commit(20)
		e := qosEntry(7, 1, 46, 1, 10, 2, 0)
		h.mustWrite(20, insert(e))
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFARQoS}), e)
		want := dataplane.QoSPolicy{Green: dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: 46},
			Yellow: dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: 10}, Red: dataplane.ColorPolicy{Action: dataplane.ColorDrop}}
		if got := h.mem.QoS()[7]; got != want {
			t.Errorf("data path policy %+v, want %+v", got, want)
		}
		h.mustWrite(20, del(e))
		if _, ok := h.mem.QoS()[7]; ok {
			t.Error("policy still in the data path after the delete")
		}
	})
}

// TestMeterPersist: meter configs and far_qos entries survive a restart: the
// new server reads them back and hands them to the data path; a reset cell
// stays reset.
func TestMeterPersist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d1, with := openState(t, dir)
	h := newHarness(t, kindMem, testOptions, with)
	h.primary(20)
	h.commit(20)
	h.mustWrite(20, meterCell(p4info.IDMeterFAR, 2, trTCM), meterCell(p4info.IDMeterFARPacket, 9, &p4v1.MeterConfig{Cir: 10, Cburst: 5, Pir: 20, Pburst: 5}),
		meterCell(p4info.IDMeterFAR, 3, trTCM), insert(qosEntry(2, 0, 0, 1, 8, 2, 0)))
	h.mustWrite(20, meterCell(p4info.IDMeterFAR, 3, nil))
	before := h.mustRead(meterEntity(&p4v1.MeterEntry{}), tableEntity(&p4v1.TableEntry{TableId: p4info.IDTableFARQoS}))
	meters, qos := h.mem.Meters(), h.mem.QoS()
	d1.Close()

	_, with = openState(t, dir)
	h2 := newHarness(t, kindMem, testOptions, with)
	sameEntities(t, "after the restart", h2.mustRead(meterEntity(&p4v1.MeterEntry{}), tableEntity(&p4v1.TableEntry{TableId: p4info.IDTableFARQoS})), before)
	if got := h2.mem.Meters(); len(got) != 2 || got[dataplane.MeterID{FAR: 2}] != meters[dataplane.MeterID{FAR: 2}] ||
		got[dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 9}] != meters[dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 9}] {
		t.Errorf("data path meters after the restart %+v, want %+v", got, meters)
	}
	if got := h2.mem.QoS(); len(got) != 1 || got[2] != qos[2] {
		t.Errorf("data path policies after the restart %+v, want %+v", got, qos)
	}
}

func directMeter(te *p4v1.TableEntry, c *p4v1.MeterConfig) *p4v1.Update {
	return update(p4v1.Update_MODIFY, &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: pdrKey(te), Config: c}}})
}

func (h *harness) readDirectMeter(te *p4v1.TableEntry) *p4v1.DirectMeterEntry {
	h.t.Helper()
	got := h.mustRead(&p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: pdrKey(te)}}})
	if len(got) != 1 {
		h.t.Fatalf("direct meter read: %d entities", len(got))
	}
	return got[0].GetDirectMeterEntry()
}

// TestDirectMeter: a pdr entry's direct meter is set, read with counter_data,
// kept by a MODIFY of the entry, reset; wildcard reads list every pdr entry;
// a deleted entry's meter is gone from the data path; bad writes get their
// codes.
func TestDirectMeter(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.commit(20)
		a, b := pdrEntry("10.2.0.0", 10, 1), pdrEntry("10.3.0.0", 20, 1)
		h.mustWrite(20, insert(farForward(1, 1)), insert(a), insert(b))
		h.mustWrite(20, directMeter(a, trTCM))
		if got := h.readDirectMeter(a); !proto.Equal(got.Config, trTCM) || got.CounterData == nil {
			t.Errorf("direct meter of a: %v, want %v with counter_data", got, trTCM)
		}
		if got := h.readDirectMeter(b); got.Config != nil {
			t.Errorf("direct meter of b: %v, want none", got)
		}
		all := h.mustRead(&p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: &p4v1.TableEntry{}}}})
		if len(all) != 2 {
			t.Errorf("wildcard read: %d entities, want 2", len(all))
		}
		// A MODIFY of the entry (another FAR) keeps its meter.
		h.mustWrite(20, insert(farForward(2, 1)), modify(pdrEntry("10.2.0.0", 10, 2)))
		if got := h.readDirectMeter(a); !proto.Equal(got.Config, trTCM) {
			t.Errorf("after the entry's MODIFY: %v, want %v", got, trTCM)
		}
		if h.mem != nil {
			n := 0
			for _, c := range h.mem.PDRMeters() {
				if c.CIR == 125_000 {
					n++
				}
			}
			if n != 1 {
				t.Errorf("data path direct meters %v, want a's", h.mem.PDRMeters())
			}
		}
		h.mustWrite(20, directMeter(a, nil))
		if got := h.readDirectMeter(a); got.Config != nil {
			t.Errorf("after the reset: %v, want none", got)
		}
		// Deleting and re-inserting the entry: no meter.
		h.mustWrite(20, directMeter(a, trTCM))
		h.mustWrite(20, del(pdrKey(a)))
		h.mustWrite(20, insert(a))
		if got := h.readDirectMeter(a); got.Config != nil {
			t.Errorf("re-inserted entry: %v, want no meter", got)
		}

		cases := []struct {
			name string
			up   *p4v1.Update
			code codes.Code
			says string
		}{
			{"insert", update(p4v1.Update_INSERT, &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: pdrKey(a), Config: trTCM}}}), codes.InvalidArgument, "only be modified"},
			{"no such entry", directMeter(pdrEntry("10.9.0.0", 10, 1), trTCM), codes.NotFound, "no such table entry"},
			{"pir below cir", directMeter(a, &p4v1.MeterConfig{Cir: 2, Cburst: 1, Pir: 1, Pburst: 1}), codes.InvalidArgument, "pir 1 below cir 2"},
			{"table without direct meter", update(p4v1.Update_MODIFY, &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{
				TableEntry: &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(1)}, Config: trTCM}}}), codes.InvalidArgument, "has no direct meter"},
			{"meter_config in a table entry", func() *p4v1.Update {
				e := pdrEntry("10.4.0.0", 10, 1)
				e.MeterConfig = trTCM
				return insert(e)
			}(), codes.InvalidArgument, "with DirectMeterEntry"},
		}
		for _, c := range cases {
			err := h.write(20, c.up)
			var code codes.Code
			var msg string
			if ds := status.Convert(err).Details(); len(ds) == 1 {
				if e, ok := ds[0].(*p4v1.Error); ok {
					code, msg = codes.Code(e.CanonicalCode), e.Message
				}
			}
			if code != c.code || !strings.Contains(msg, c.says) {
				t.Errorf("%s: %v %q, want %v saying %q", c.name, code, msg, c.code, c.says)
			}
		}
	})
}

// TestDirectMeterPersist: a pdr entry's direct meter survives a restart (and
// a later MODIFY of the entry in the journal), into the data path too.
func TestDirectMeterPersist(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d1, with := openState(t, dir)
	h := newHarness(t, kindMem, testOptions, with)
	h.primary(20)
	h.commit(20)
	a := pdrEntry("10.2.0.0", 10, 1)
	h.mustWrite(20, insert(farForward(1, 1)), insert(farForward(2, 1)), insert(a), insert(pdrEntry("10.3.0.0", 20, 1)))
	h.mustWrite(20, directMeter(a, trTCM))
	h.mustWrite(20, modify(pdrEntry("10.2.0.0", 10, 2)))
	before := h.readDirectMeter(a)
	meters := h.mem.PDRMeters()
	d1.Close()

	_, with = openState(t, dir)
	h2 := newHarness(t, kindMem, testOptions, with)
	if got := h2.readDirectMeter(a); !proto.Equal(got.Config, before.Config) {
		t.Errorf("after the restart: %v, want %v", got, before)
	}
	if got := h2.mem.PDRMeters(); len(got) != 1 || len(meters) != 1 {
		t.Errorf("data path direct meters after the restart %v, want %v", got, meters)
	}
	for id, c := range meters {
		if h2.mem.PDRMeters()[id] != c {
			t.Errorf("rule %d's meter after the restart %+v, want %+v", id, h2.mem.PDRMeters()[id], c)
		}
	}
}
