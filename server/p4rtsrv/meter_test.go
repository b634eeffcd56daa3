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
