package translate

import (
	"errors"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// SetQoS is action set_qos of table far_qos: what each meter color does to the
// FAR's packets.
type SetQoS struct{ Policy dataplane.QoSPolicy }

// Police is far_qos's const default action: dataplane.DefaultQoS.
type Police struct{}

func (SetQoS) isAction() {}
func (Police) isAction() {}

func colorPolicy(act, dscp uint64) dataplane.ColorPolicy {
	return dataplane.ColorPolicy{Action: dataplane.ColorAction(act), DSCP: uint8(dscp)}
}

// checkQoS refuses a color action that is none of pass, remark, drop, naming
// the parameter.
func checkQoS(ps actionParams) error {
	for _, p := range []struct {
		id   uint32
		name string
	}{{p4info.IDParamSetQoSGreen, p4info.ParamSetQoSGreen}, {p4info.IDParamSetQoSYellow, p4info.ParamSetQoSYellow}, {p4info.IDParamSetQoSRed, p4info.ParamSetQoSRed}} {
		if v := ps.get(p.id); v > p4info.ColorDrop {
			return invalidf("action %s: parameter %s is %d: 0 pass, 1 remark, 2 drop", p4info.ActionSetQoS, p.name, v)
		}
	}
	return nil
}

func setQoS(ps actionParams) (Action, error) {
	if err := checkQoS(ps); err != nil {
		return nil, err
	}
	return SetQoS{Policy: dataplane.QoSPolicy{
		Green:  colorPolicy(ps.get(p4info.IDParamSetQoSGreen), ps.get(p4info.IDParamSetQoSGreenDSCP)),
		Yellow: colorPolicy(ps.get(p4info.IDParamSetQoSYellow), ps.get(p4info.IDParamSetQoSYellowDSCP)),
		Red:    colorPolicy(ps.get(p4info.IDParamSetQoSRed), ps.get(p4info.IDParamSetQoSRedDSCP)),
	}}, nil
}

func fromSetQoS(q dataplane.QoSPolicy) []param {
	return []param{
		{id: p4info.IDParamSetQoSGreen, v: uint64(q.Green.Action)}, {id: p4info.IDParamSetQoSGreenDSCP, v: uint64(q.Green.DSCP)},
		{id: p4info.IDParamSetQoSYellow, v: uint64(q.Yellow.Action)}, {id: p4info.IDParamSetQoSYellowDSCP, v: uint64(q.Yellow.DSCP)},
		{id: p4info.IDParamSetQoSRed, v: uint64(q.Red.Action)}, {id: p4info.IDParamSetQoSRedDSCP, v: uint64(q.Red.DSCP)},
	}
}

// MeterOf is the data-path meter of cell index of P4 meter id.
func MeterOf(meter uint32, index int64) (dataplane.MeterID, bool) {
	switch meter {
	case p4info.IDMeterFAR:
		return dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: dataplane.FARID(index)}, true
	case p4info.IDMeterFARPacket:
		return dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: dataplane.FARID(index)}, true
	}
	return dataplane.MeterID{}, false
}

// P4Meter is the P4 meter id of a data-path meter (the inverse of MeterOf).
func P4Meter(id dataplane.MeterID) uint32 {
	if id.Unit == dataplane.MeterPackets {
		return p4info.IDMeterFARPacket
	}
	return p4info.IDMeterFAR
}

// MeterCell is a decoded MeterEntry.
type MeterCell struct {
	Meter uint32 // meter ID (p4info.IDMeter*)
	All   bool   // index unset: every cell of the meter
	Index int64  // the cell, 0..size-1, when !All
	// Config is the configuration written; the zero value (config unset) is
	// the default, which passes every packet green.
	Config dataplane.MeterConfig
}

// ID is the data-path meter of the cell (when !All).
func (c MeterCell) ID() dataplane.MeterID {
	id, _ := MeterOf(c.Meter, c.Index)
	return id
}

// DecodeMeterEntry decodes a MeterEntry of a read or a MODIFY, with the
// specification's codes: an unknown meter id (0 included: a wildcard is the
// server's to expand) NOT_FOUND, a negative index INVALID_ARGUMENT, an index at
// or above the meter's size OUT_OF_RANGE; a config with a negative, zero or
// inconsistent value (pir < cir; an srTCM, eburst set, whose pir/pburst differ
// from cir/cburst) INVALID_ARGUMENT and one above the data path's bounds
// OUT_OF_RANGE, each naming the field. An unset config is the default.
func (t *Translator) DecodeMeterEntry(e *p4v1.MeterEntry) (MeterCell, error) {
	if e == nil {
		return MeterCell{}, invalidf("no meter entry")
	}
	m, ok := t.idx.Meter(e.GetMeterId())
	if !ok {
		return MeterCell{}, Errorf(codes.NotFound, "unknown meter id 0x%08x", e.GetMeterId())
	}
	cell := MeterCell{Meter: m.ID(), All: e.GetIndex() == nil}
	if !cell.All {
		switch i := e.GetIndex().GetIndex(); {
		case i < 0:
			return MeterCell{}, invalidf("meter %s: negative index %d", m.Name(), i)
		case i >= m.Size():
			return MeterCell{}, Errorf(codes.OutOfRange, "meter %s: index %d out of range 0..%d", m.Name(), i, m.Size()-1)
		default:
			cell.Index = i
		}
	}
	c, err := DecodeMeterConfig(e.GetConfig())
	if err != nil {
		return MeterCell{}, prefixed("meter "+m.Name(), err)
	}
	cell.Config = c
	return cell, nil
}

// DecodeMeterConfig decodes and validates a MeterConfig (nil: the default).
func DecodeMeterConfig(c *p4v1.MeterConfig) (dataplane.MeterConfig, error) {
	if c == nil {
		return dataplane.MeterConfig{}, nil
	}
	for _, f := range []struct {
		name string
		v    int64
	}{{"cir", c.Cir}, {"cburst", c.Cburst}, {"pir", c.Pir}, {"pburst", c.Pburst}, {"eburst", c.Eburst}} {
		if f.v < 0 {
			return dataplane.MeterConfig{}, invalidf("%s is negative (%d)", f.name, f.v)
		}
	}
	out := dataplane.MeterConfig{CIR: uint64(c.Cir), CBurst: uint64(c.Cburst), PIR: uint64(c.Pir), PBurst: uint64(c.Pburst), EBurst: uint64(c.Eburst)}
	if out.IsDefault() {
		return dataplane.MeterConfig{}, invalidf("config with every field 0: leave config unset to reset the meter")
	}
	if err := out.Validate(); err != nil {
		code := codes.InvalidArgument
		if errors.Is(err, dataplane.ErrOutOfRange) {
			code = codes.OutOfRange
		}
		return dataplane.MeterConfig{}, Errorf(code, "%s", err.Error())
	}
	return out, nil
}

// EncodeMeterConfig is c as P4Runtime carries it: nil for the default.
func EncodeMeterConfig(c dataplane.MeterConfig) *p4v1.MeterConfig {
	if c.IsDefault() {
		return nil
	}
	return &p4v1.MeterConfig{Cir: int64(c.CIR), Cburst: int64(c.CBurst), Pir: int64(c.PIR), Pburst: int64(c.PBurst), Eburst: int64(c.EBurst)}
}

// EncodeMeterCounterData is the per-color counts as P4Runtime carries them.
func EncodeMeterCounterData(c dataplane.MeterCounters) *p4v1.MeterCounterData {
	return &p4v1.MeterCounterData{Green: EncodeCounterData(c.Green), Yellow: EncodeCounterData(c.Yellow), Red: EncodeCounterData(c.Red)}
}

// EncodeMeterEntry returns the MeterEntry of one cell as reads return it:
// config unset for the default, counter_data when counters is not nil.
func (t *Translator) EncodeMeterEntry(meter uint32, index int64, c dataplane.MeterConfig, counters *dataplane.MeterCounters) (*p4v1.MeterEntry, error) {
	m, ok := t.idx.Meter(meter)
	if !ok {
		return nil, Errorf(codes.NotFound, "unknown meter id 0x%08x", meter)
	}
	if index < 0 || index >= m.Size() {
		return nil, Errorf(codes.OutOfRange, "meter %s: index %d out of range 0..%d", m.Name(), index, m.Size()-1)
	}
	e := &p4v1.MeterEntry{MeterId: meter, Index: &p4v1.Index{Index: index}, Config: EncodeMeterConfig(c)}
	if counters != nil {
		e.CounterData = EncodeMeterCounterData(*counters)
	}
	return e, nil
}

// MeterSize returns the number of cells of a meter.
func (t *Translator) MeterSize(meter uint32) (int64, error) {
	m, ok := t.idx.Meter(meter)
	if !ok {
		return 0, Errorf(codes.NotFound, "unknown meter id 0x%08x", meter)
	}
	return m.Size(), nil
}

// MeterIDs are the P4Info's meters, in P4Info order.
func (t *Translator) MeterIDs() []uint32 {
	var ids []uint32
	for _, m := range t.idx.Meters() {
		ids = append(ids, m.ID())
	}
	return ids
}

// DecodeDirectMeterEntry decodes a DirectMeterEntry of a read or a MODIFY: the
// key of the table entry it belongs to (see DecodeKey; the table must have a
// direct meter) and its config (unset: the default). A table_entry without
// match and not default is a wildcard over the table, for the server to
// expand; pass only entries that name one entry.
func (t *Translator) DecodeDirectMeterEntry(e *p4v1.DirectMeterEntry) (Key, dataplane.MeterConfig, error) {
	if e.GetTableEntry() == nil {
		return Key{}, dataplane.MeterConfig{}, invalidf("direct meter entry without table_entry")
	}
	tab, err := t.table(e.GetTableEntry().GetTableId())
	if err != nil {
		return Key{}, dataplane.MeterConfig{}, err
	}
	dm := tab.DirectMeter()
	if dm == nil {
		return Key{}, dataplane.MeterConfig{}, invalidf("table %s has no direct meter", tab.Name())
	}
	k, err := t.DecodeKey(e.GetTableEntry())
	if err != nil {
		return Key{}, dataplane.MeterConfig{}, err
	}
	if k.Default {
		return Key{}, dataplane.MeterConfig{}, invalidf("direct meter %s: the default entry has none", dm.Name())
	}
	c, err := DecodeMeterConfig(e.GetConfig())
	if err != nil {
		return Key{}, dataplane.MeterConfig{}, prefixed("direct meter "+dm.Name(), err)
	}
	return k, c, nil
}

// EncodeDirectMeterEntry returns the DirectMeterEntry of the entry with key k:
// its canonical key, its config (unset: default) and, when counters is not
// nil, its per-color counts.
func (t *Translator) EncodeDirectMeterEntry(k Key, c dataplane.MeterConfig, counters *dataplane.MeterCounters) (*p4v1.DirectMeterEntry, error) {
	te, err := t.EncodeKey(k)
	if err != nil {
		return nil, err
	}
	e := &p4v1.DirectMeterEntry{TableEntry: te, Config: EncodeMeterConfig(c)}
	if counters != nil {
		e.CounterData = EncodeMeterCounterData(*counters)
	}
	return e, nil
}
