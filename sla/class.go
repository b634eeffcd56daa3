package sla

import (
	"fmt"
	"slices"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
)

// Path is one probe session: a tunnel, and the DSCP its probes carry (so that
// they take the data's path through per-class queues and policies).
type Path struct {
	Tunnel dataplane.TunnelID
	DSCP   uint8
}

func (p Path) String() string { return fmt.Sprintf("tunnel %d dscp %d", p.Tunnel, p.DSCP) }

// Class is an SLA class: the traffic it covers (chosen by PDRs, outside this
// package) may only use member tunnels that meet its limits.
type Class struct {
	Name string
	// DSCP of the probes that measure this class: a member's quality is read from
	// Path{member, DSCP} when that session exists, else from Path{member, 0}.
	DSCP uint8
	// SLA: a member within every limit may carry the class.
	SLA Limits
	// Recover: limits a member that left must meet for the hold-down before it
	// carries the class again. Zero: SLA scaled by RecoverRatio.
	Recover Limits
	// Members are the tunnels that may carry the class, with their LBR weights,
	// in the order Select reports them.
	Members []dataplane.LBRMember
}

// ValidateClasses checks a set of classes: unique non-empty names, valid limits,
// at least one member, positive weights, no tunnel twice in a class.
func ValidateClasses(classes []Class) error {
	seen := map[string]bool{}
	for i, c := range classes {
		switch {
		case c.Name == "":
			return fmt.Errorf("class %d: empty name", i)
		case seen[c.Name]:
			return fmt.Errorf("class %q: defined twice", c.Name)
		case c.DSCP > 63:
			return fmt.Errorf("class %q: dscp %d > 63", c.Name, c.DSCP)
		case len(c.Members) == 0:
			return fmt.Errorf("class %q: no member tunnel", c.Name)
		}
		seen[c.Name] = true
		for _, l := range []Limits{c.SLA, c.Recover} {
			if err := l.validate(); err != nil {
				return fmt.Errorf("class %q: %w", c.Name, err)
			}
		}
		tunnels := map[dataplane.TunnelID]bool{}
		for _, m := range c.Members {
			if m.Weight == 0 {
				return fmt.Errorf("class %q: tunnel %d: weight 0", c.Name, m.Tunnel)
			}
			if tunnels[m.Tunnel] {
				return fmt.Errorf("class %q: tunnel %d listed twice", c.Name, m.Tunnel)
			}
			tunnels[m.Tunnel] = true
		}
	}
	return nil
}

// Status is what the prober knows of one session.
type Status struct {
	Path    Path
	State   State
	Since   time.Time // last state change
	Quality Quality
	// InSLA says, per class name, whether the path is within the class's SLA,
	// with the class's hysteresis and hold-down. Select falls back to comparing
	// Quality with the class's SLA for a class missing here.
	InSLA      map[string]bool
	SendErrors uint64 // probes the Sender refused
}

// Selection is, per class name, the members that carry the class.
type Selection map[string][]dataplane.LBRMember

// Equal reports whether s and t select the same members with the same weights.
func (s Selection) Equal(t Selection) bool {
	if len(s) != len(t) {
		return false
	}
	for k, v := range s {
		w, ok := t[k]
		if !ok || !slices.Equal(v, w) {
			return false
		}
	}
	return true
}

// FallbackMargin is how much better (in score) another member must be to take a
// class from the member that carries it as the best of bad choices.
const FallbackMargin = 0.8

// Select decides which members carry each class, from the sessions' status and
// the previous selection (nil at first):
//
//   - The members that are alive (up or degraded) and within the class's SLA
//     carry it, with their configured weights, in configured order. A member that
//     stays eligible is therefore reported unchanged, and the flows on it stay.
//   - If none is, the one best alive member carries it alone: ranked by state (up
//     before degraded), then by score (lower is better), then by configured order.
//     The score is the largest ratio of a measure to its limit in the class's SLA
//     (1 is at the limit; unchecked measures do not count). The previous
//     best-of-bad member keeps the class while it is alive, no worse in state, and
//     not beaten by a score below FallbackMargin times its own.
//   - If no member is alive (or none has a verdict yet), the class has no entry:
//     there is nothing better to say than the configuration.
func Select(classes []Class, status map[Path]Status, prev Selection) Selection {
	out := Selection{}
	for _, c := range classes {
		var in []dataplane.LBRMember
		for _, m := range c.Members {
			st, ok := c.status(m.Tunnel, status)
			if ok && st.State.Alive() && st.within(c) {
				in = append(in, m)
			}
		}
		if len(in) > 0 {
			out[c.Name] = in
			continue
		}
		if best, ok := c.fallback(status, prev[c.Name]); ok {
			out[c.Name] = []dataplane.LBRMember{best}
		}
	}
	return out
}

func (c Class) status(t dataplane.TunnelID, status map[Path]Status) (Status, bool) {
	if st, ok := status[Path{t, c.DSCP}]; ok {
		return st, true
	}
	st, ok := status[Path{Tunnel: t}]
	return st, ok
}

func (s Status) within(c Class) bool {
	if in, ok := s.InSLA[c.Name]; ok {
		return in
	}
	return c.SLA.Exceeded(s.Quality) == ""
}

// Score is how far q is from the limits l: the largest measure/limit ratio.
func Score(l Limits, q Quality) float64 {
	s := 0.0
	if l.RTT > 0 {
		s = max(s, float64(q.RTT)/float64(l.RTT))
	}
	if l.Loss > 0 {
		s = max(s, q.Loss/l.Loss)
	}
	if l.Jitter > 0 {
		s = max(s, float64(q.Jitter)/float64(l.Jitter))
	}
	return s
}

type candidate struct {
	m     dataplane.LBRMember
	state State
	score float64
}

// better ranks a before b: up before degraded, then lower score.
func (a candidate) better(b candidate, margin float64) bool {
	if a.state != b.state {
		return a.state == StateUp
	}
	return a.score < b.score*margin
}

func (c Class) fallback(status map[Path]Status, prev []dataplane.LBRMember) (dataplane.LBRMember, bool) {
	var cands []candidate
	for _, m := range c.Members {
		if st, ok := c.status(m.Tunnel, status); ok && st.State.Alive() {
			cands = append(cands, candidate{m, st.State, Score(c.SLA, st.Quality)})
		}
	}
	if len(cands) == 0 {
		return dataplane.LBRMember{}, false
	}
	best := cands[0]
	for _, k := range cands[1:] {
		if k.better(best, 1) {
			best = k
		}
	}
	if len(prev) == 1 {
		for _, k := range cands {
			if k.m == prev[0] && !best.better(k, FallbackMargin) {
				return k.m, true
			}
		}
	}
	return best.m, true
}
