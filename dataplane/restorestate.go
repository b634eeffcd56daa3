package dataplane

import (
	"fmt"
)

// RestoreState is everything a data path holds for its controllers: what an
// agent persisted before a restart and gives back to the data path after it.
// PDRs keep the ids they were installed under.
type RestoreState struct {
	PDRs    map[PDRID]PDR
	Default *FAR // what a packet matching no PDR gets; nil: ActPass
	FARs    map[FARID]FAR
	LBRs    map[LBRID][]LBRMember
	Tunnels map[TunnelID]Tunnel
	Terms   map[TunnelTerm]TunnelID
	NonIP   map[uint16]NonIPAction // non_ip rules by EtherType
	// Meters are the configured meters (default ones left out); QoS the FARs'
	// color policies (DefaultQoS left out).
	Meters map[MeterID]MeterConfig
	QoS    map[FARID]QoSPolicy
	// PDRMeters are the rules' configured direct meters, by rule id.
	PDRMeters map[PDRID]MeterConfig
}

// Restorer is a data path that can be handed its rules back after a restart.
type Restorer interface {
	// Restore makes the data path hold exactly s, keeping the PDR ids of s, and
	// rebuilds the implementation's bookkeeping. It must come before any other
	// rule, FAR, LBR, tunnel or termination is written, once. On a data path that
	// an earlier process left running (pinned maps), what is already there and
	// in s stays in place with its counters, packets see no gap, and what is
	// there but not in s is removed; on a fresh one, s is installed.
	Restore(s RestoreState) error
}

// Validate checks s against the table sizes of o (defaults filled in).
func (s RestoreState) Validate(o Options) error {
	o = o.WithDefaults()
	if len(s.PDRs) > o.MaxPDRs {
		return fmt.Errorf("%w: %d PDRs, capacity %d", ErrFull, len(s.PDRs), o.MaxPDRs)
	}
	seen := make(map[PDRKey]PDRID, len(s.PDRs))
	for id, p := range s.PDRs {
		if id == 0 || int(id) > o.MaxPDRs {
			return fmt.Errorf("%w: pdr id %d outside 1..%d", ErrInvalid, id, o.MaxPDRs)
		}
		if err := p.Validate(); err != nil {
			return fmt.Errorf("pdr %d: %w", id, err)
		}
		if other, dup := seen[p.Key()]; dup {
			return fmt.Errorf("%w: pdrs %d and %d have the same match and priority", ErrExists, other, id)
		}
		seen[p.Key()] = id
	}
	if s.Default != nil {
		if err := s.Default.Validate(o.MaxPorts, o.MaxTunnels); err != nil {
			return fmt.Errorf("pdr default: %w", err)
		}
	}
	if len(s.FARs) > o.MaxFARs {
		return fmt.Errorf("%w: %d FARs, capacity %d", ErrFull, len(s.FARs), o.MaxFARs)
	}
	for id, f := range s.FARs {
		if err := f.Validate(o.MaxPorts, o.MaxTunnels); err != nil {
			return fmt.Errorf("far %d: %w", id, err)
		}
	}
	if len(s.LBRs) > o.MaxLBRs {
		return fmt.Errorf("%w: %d LBRs, capacity %d", ErrFull, len(s.LBRs), o.MaxLBRs)
	}
	for id, m := range s.LBRs {
		if err := ValidateMembers(m, o.MaxPorts, o.MaxTunnels); err != nil {
			return fmt.Errorf("lbr %d: %w", id, err)
		}
	}
	for id, t := range s.Tunnels {
		if err := ValidateTunnelID(id, o.MaxTunnels); err != nil {
			return err
		}
		if err := t.Validate(o.MaxPorts); err != nil {
			return fmt.Errorf("tunnel %d: %w", id, err)
		}
	}
	if len(s.Terms) > o.MaxTerms {
		return fmt.Errorf("%w: %d tunnel terminations, capacity %d", ErrFull, len(s.Terms), o.MaxTerms)
	}
	for term, id := range s.Terms {
		if err := term.Validate(); err != nil {
			return err
		}
		if err := ValidateTunnelID(id, o.MaxTunnels); err != nil {
			return err
		}
	}
	if len(s.NonIP) > MaxNonIPRules {
		return fmt.Errorf("%w: %d non_ip rules, capacity %d", ErrFull, len(s.NonIP), MaxNonIPRules)
	}
	for et, a := range s.NonIP {
		if err := ValidateNonIPRule(et, a); err != nil {
			return err
		}
	}
	for id, c := range s.Meters {
		if err := ValidateMeterIndex(id.FAR, o.MaxMeters); err != nil {
			return err
		}
		if id.Unit > MeterPackets {
			return fmt.Errorf("%w: meter unit %d", ErrInvalid, id.Unit)
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("%s meter %d: %w", id.Unit, id.FAR, err)
		}
	}
	for id, c := range s.PDRMeters {
		if _, ok := s.PDRs[id]; !ok {
			return fmt.Errorf("%w: direct meter of pdr %d, which is not restored", ErrInvalid, id)
		}
		if err := c.Validate(); err != nil {
			return fmt.Errorf("pdr %d meter: %w", id, err)
		}
	}
	for id, q := range s.QoS {
		if err := ValidateMeterIndex(id, o.MaxMeters); err != nil {
			return err
		}
		if err := q.Validate(); err != nil {
			return fmt.Errorf("far %d qos: %w", id, err)
		}
	}
	return nil
}
