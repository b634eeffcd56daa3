package dataplane

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// ErrOutOfRange is returned for an index or a value beyond what the pipeline
// holds (a meter index at or above MaxMeters, a burst above MaxMeterBurst).
var ErrOutOfRange = errors.New("out of range")

// MeterUnit is what a meter measures.
type MeterUnit uint8

const (
	MeterBytes   = MeterUnit(0) // far_meter: rates in bytes/s, bursts in bytes
	MeterPackets = MeterUnit(1) // far_packet_meter: packets/s, packets
)

func (u MeterUnit) String() string {
	if u == MeterPackets {
		return "packets"
	}
	return "bytes"
}

// MeterID names one meter: the FAR whose packets it meters (FAR ids below
// MaxMeters can have one meter of each unit) and its unit.
type MeterID struct {
	Unit MeterUnit
	FAR  FARID
}

// Bounds of a meter configuration: they keep the data path's token arithmetic
// (units x 1e9 in 64 bits) from overflowing.
const (
	MaxMeterBurst = 1<<32 - 1 // bytes or packets
	MaxMeterRate  = 1 << 40   // bytes or packets per second (8.8 Tbit/s)
)

// MeterConfig is a meter's rates (units per second) and bursts (units), as in
// P4Runtime's MeterConfig. With EBurst 0 it is a two-rate three-color marker
// (RFC 2698: red above PIR/PBurst, yellow above CIR/CBurst); with EBurst set,
// a single-rate three-color marker (RFC 2697: CIR, CBS = CBurst, EBS =
// EBurst; P4Runtime requires PIR = CIR and PBurst = CBurst). The zero value
// is the default: no metering, every packet green.
type MeterConfig struct {
	CIR, CBurst, PIR, PBurst, EBurst uint64
}

// IsDefault reports whether c is the default (unmetered) configuration.
func (c MeterConfig) IsDefault() bool { return c == MeterConfig{} }

// SingleRate reports whether c is an srTCM (RFC 2697).
func (c MeterConfig) SingleRate() bool { return c.EBurst != 0 }

// Validate checks c, naming the field at fault: ErrInvalid for a zero rate or
// burst, PIR below CIR, or an srTCM whose PIR/PBurst differ from CIR/CBurst;
// ErrOutOfRange for a value above MaxMeterRate or MaxMeterBurst.
func (c MeterConfig) Validate() error {
	if c.IsDefault() {
		return nil
	}
	for _, f := range []struct {
		name string
		v    uint64
		max  uint64
	}{{"cir", c.CIR, MaxMeterRate}, {"cburst", c.CBurst, MaxMeterBurst}, {"pir", c.PIR, MaxMeterRate}, {"pburst", c.PBurst, MaxMeterBurst}, {"eburst", c.EBurst, MaxMeterBurst}} {
		if f.v > f.max {
			return fmt.Errorf("%w: meter %s %d above the maximum %d", ErrOutOfRange, f.name, f.v, f.max)
		}
		if f.v == 0 && f.name != "eburst" {
			return fmt.Errorf("%w: meter %s is 0 (an unset config resets the meter; a zero rate or burst is refused)", ErrInvalid, f.name)
		}
	}
	if c.PIR < c.CIR {
		return fmt.Errorf("%w: meter pir %d below cir %d", ErrInvalid, c.PIR, c.CIR)
	}
	if c.SingleRate() && (c.PIR != c.CIR || c.PBurst != c.CBurst) {
		return fmt.Errorf("%w: single-rate meter (eburst set) needs pir = cir and pburst = cburst, got pir %d cir %d pburst %d cburst %d",
			ErrInvalid, c.PIR, c.CIR, c.PBurst, c.CBurst)
	}
	return nil
}

// Color is a meter's verdict on a packet.
type Color uint8

const (
	Green  = Color(0)
	Yellow = Color(1)
	Red    = Color(2)
)

func (c Color) String() string {
	switch c {
	case Green:
		return "green"
	case Yellow:
		return "yellow"
	case Red:
		return "red"
	}
	return fmt.Sprintf("color(%d)", uint8(c))
}

// MeterCounters are the packets and bytes a meter colored each color.
type MeterCounters struct{ Green, Yellow, Red Counter }

// ColorAction is what a color does to a packet of a FAR.
type ColorAction uint8

const (
	ColorPass   = ColorAction(0) // on, unchanged
	ColorRemark = ColorAction(1) // on, inner DSCP set
	ColorDrop   = ColorAction(2) // dropped (DropMeter)
)

func (a ColorAction) String() string {
	switch a {
	case ColorPass:
		return "pass"
	case ColorRemark:
		return "remark"
	case ColorDrop:
		return "drop"
	}
	return fmt.Sprintf("color_action(%d)", uint8(a))
}

// ColorPolicy is one color's action; DSCP is the value ColorRemark sets.
type ColorPolicy struct {
	Action ColorAction
	DSCP   uint8
}

// QoSPolicy is what each color of a FAR's meters does. Without a meter every
// packet is green, so a Green remark sets the DSCP of all the FAR's packets.
type QoSPolicy struct{ Green, Yellow, Red ColorPolicy }

// DefaultQoS applies to FARs without a policy: green and yellow pass, red drops
// (a policer).
var DefaultQoS = QoSPolicy{Red: ColorPolicy{Action: ColorDrop}}

// Validate checks the actions and DSCPs of q.
func (q QoSPolicy) Validate() error {
	for i, c := range []ColorPolicy{q.Green, q.Yellow, q.Red} {
		if c.Action > ColorDrop {
			return fmt.Errorf("%w: %s action %d (pass 0, remark 1, drop 2)", ErrInvalid, Color(i), c.Action)
		}
		if c.DSCP > 63 {
			return fmt.Errorf("%w: %s dscp %d above 63", ErrInvalid, Color(i), c.DSCP)
		}
	}
	return nil
}

// ValidateMeterIndex checks that a FAR id can have meters and a QoS policy.
func ValidateMeterIndex(id FARID, maxMeters int) error {
	if uint64(id) >= uint64(maxMeters) {
		return fmt.Errorf("%w: meter index (far id) %d, the pipeline holds 0..%d", ErrOutOfRange, id, maxMeters-1)
	}
	return nil
}

// Meters is the part of the data path that meters FARs (docs/datapath.md,
// "Meters"). Every Dataplane implements it.
type Meters interface {
	// SetMeter configures meter id; the default (zero) config resets it to
	// pass every packet green. Buckets start full; counters are kept.
	SetMeter(id MeterID, c MeterConfig) error
	// MeterCounters reads meter id's per-color counts.
	MeterCounters(id MeterID) (MeterCounters, error)
	// SetFARQoS sets what each color does to FAR id's packets; DefaultQoS
	// removes the policy.
	SetFARQoS(id FARID, q QoSPolicy) error
	// SetPDRMeter configures or resets rule id's direct meter (pdr_meter, in
	// bytes); its colors join the FAR's meters'. Deleting the rule resets it
	// and its counters. A rule that does not exist is ErrNotFound.
	SetPDRMeter(id PDRID, c MeterConfig) error
	// PDRMeterCounters reads rule id's direct meter's per-color counts.
	PDRMeterCounters(id PDRID) (MeterCounters, error)
}

// MeterLister is a data path that lists its configured meters (both
// implementations are): what metrics and gNMI export is then bounded by what
// operators configured, not by the meters' size.
type MeterLister interface {
	Meters
	// MeterIDs lists the configured FAR meters, by unit then FAR.
	MeterIDs() []MeterID
	// PDRMeterIDs lists the rules whose direct meter is configured, by id.
	PDRMeterIDs() []PDRID
}

// SortedPDRMeterIDs lists the keys of m in ascending order.
func SortedPDRMeterIDs[V any](m map[PDRID]V) []PDRID {
	ids := make([]PDRID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// SortedMeterIDs lists the keys of m by unit, then FAR.
func SortedMeterIDs[V any](m map[MeterID]V) []MeterID {
	ids := make([]MeterID, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b MeterID) int {
		if a.Unit != b.Unit {
			return cmp.Compare(a.Unit, b.Unit)
		}
		return cmp.Compare(a.FAR, b.FAR)
	})
	return ids
}
