package sla

import (
	"fmt"
	"time"
)

// State is a tunnel's verdict.
type State uint8

const (
	// StateUnknown: not enough probes settled yet for a verdict.
	StateUnknown State = iota
	// StateUp: alive and within the tunnel's thresholds.
	StateUp
	// StateDegraded: alive, but beyond the tunnel's thresholds (or back from an
	// outage and not yet through the hold-down).
	StateDegraded
	// StateDown: no reply for DownAfter probe intervals, or loss at DownLoss.
	StateDown
)

func (s State) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StateUp:
		return "up"
	case StateDegraded:
		return "degraded"
	case StateDown:
		return "down"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Alive reports whether a tunnel in this state can carry traffic.
func (s State) Alive() bool { return s == StateUp || s == StateDegraded }

// Limits bound a Quality. A zero field is not checked. Loss is a fraction (0.01
// is 1 %); with a window of W probes loss moves in steps of 1/W, so a limit below
// 1/W means "no loss in the window".
type Limits struct {
	RTT    time.Duration
	Loss   float64
	Jitter time.Duration
}

// Exceeded says which limit q is beyond ("" when within all).
func (l Limits) Exceeded(q Quality) string {
	switch {
	case l.RTT > 0 && q.RTT > l.RTT:
		return fmt.Sprintf("rtt %v > %v", q.RTT, l.RTT)
	case l.Loss > 0 && q.Loss > l.Loss:
		return fmt.Sprintf("loss %.1f%% > %.1f%%", 100*q.Loss, 100*l.Loss)
	case l.Jitter > 0 && q.Jitter > l.Jitter:
		return fmt.Sprintf("jitter %v > %v", q.Jitter, l.Jitter)
	}
	return ""
}

// Scaled is l with every limit multiplied by f.
func (l Limits) Scaled(f float64) Limits {
	return Limits{
		RTT:    time.Duration(float64(l.RTT) * f),
		Loss:   l.Loss * f,
		Jitter: time.Duration(float64(l.Jitter) * f),
	}
}

func (l Limits) validate() error {
	if l.RTT < 0 || l.Jitter < 0 || l.Loss < 0 || l.Loss > 1 {
		return fmt.Errorf("limits %+v: want RTT and jitter ≥ 0 and loss in [0, 1]", l)
	}
	return nil
}

// RecoverRatio derives leave thresholds from enter thresholds when they are not
// given: a tunnel or class comes back only with every measure at 80 % of the limit
// that made it leave.
const RecoverRatio = 0.8

// Thresholds configure a tunnel's state machine. Zero fields take the defaults of
// DefaultThresholds.
type Thresholds struct {
	// Degraded: Up → Degraded when any limit is exceeded.
	Degraded Limits
	// Recovered: Degraded → Up needs every limit met for the hold-down. Zero:
	// Degraded scaled by RecoverRatio.
	Recovered Limits
	// DownAfter: → Down when no reply came for this many probe intervals.
	DownAfter int
	// DownLoss: → Down when loss reaches it (a brownout as bad as a blackout);
	// DownRecoveredLoss: Down → Degraded when loss is at most it again.
	DownLoss          float64
	DownRecoveredLoss float64
	// MinSamples: settled probes needed for a verdict on loss and RTT, at the start
	// and after an outage.
	MinSamples int
	// HoldDown: how long the Recovered limits must hold before a tunnel (or a class
	// member) is back. It doubles each time the tunnel leaves again less than
	// Stable after coming back, up to MaxHoldDown, and returns to HoldDown after
	// Stable without leaving.
	HoldDown    time.Duration
	MaxHoldDown time.Duration
	Stable      time.Duration
}

// DefaultThresholds are the defaults; docs/sla.md gives the reasons.
var DefaultThresholds = Thresholds{
	Degraded:          Limits{RTT: 250 * time.Millisecond, Loss: 0.075, Jitter: 50 * time.Millisecond},
	DownAfter:         4,
	DownLoss:          0.5,
	DownRecoveredLoss: 0.2,
	MinSamples:        10,
	HoldDown:          3 * time.Second,
	MaxHoldDown:       48 * time.Second,
	Stable:            30 * time.Second,
}

// withDefaults fills zero fields.
func (t Thresholds) withDefaults() Thresholds {
	d := DefaultThresholds
	if t.Degraded == (Limits{}) {
		t.Degraded = d.Degraded
	}
	if t.Recovered == (Limits{}) {
		t.Recovered = t.Degraded.Scaled(RecoverRatio)
	}
	if t.DownAfter == 0 {
		t.DownAfter = d.DownAfter
	}
	if t.DownLoss == 0 {
		t.DownLoss = d.DownLoss
	}
	if t.DownRecoveredLoss == 0 {
		t.DownRecoveredLoss = d.DownRecoveredLoss
	}
	if t.MinSamples == 0 {
		t.MinSamples = d.MinSamples
	}
	if t.HoldDown == 0 {
		t.HoldDown = d.HoldDown
	}
	if t.MaxHoldDown == 0 {
		t.MaxHoldDown = max(d.MaxHoldDown, t.HoldDown)
	}
	if t.Stable == 0 {
		t.Stable = d.Stable
	}
	return t
}

func (t Thresholds) validate() error {
	for _, l := range []Limits{t.Degraded, t.Recovered} {
		if err := l.validate(); err != nil {
			return err
		}
	}
	switch {
	case t.DownAfter < 1:
		return fmt.Errorf("down_after %d: want at least 1 interval", t.DownAfter)
	case t.DownLoss <= 0 || t.DownLoss > 1:
		return fmt.Errorf("down_loss %v: want (0, 1]", t.DownLoss)
	case t.DownRecoveredLoss <= 0 || t.DownRecoveredLoss >= t.DownLoss:
		return fmt.Errorf("down_recovered_loss %v: want (0, down_loss %v)", t.DownRecoveredLoss, t.DownLoss)
	case t.MinSamples < 1:
		return fmt.Errorf("min_samples %d: want at least 1", t.MinSamples)
	case t.HoldDown < 0 || t.MaxHoldDown < t.HoldDown:
		return fmt.Errorf("hold_down %v, max_hold_down %v: want 0 ≤ hold_down ≤ max_hold_down", t.HoldDown, t.MaxHoldDown)
	case t.Stable < 0:
		return fmt.Errorf("stable %v: want ≥ 0", t.Stable)
	}
	return nil
}

// gate is a good/bad verdict on a Quality with hysteresis (leave on enter limits,
// come back on stricter recover limits) and a hold-down that doubles on flaps.
// The tunnel's Up/Degraded distinction is one gate, each class's "within SLA" is
// another.
type gate struct {
	enter, recover        Limits
	hold, maxHold, stable time.Duration
	decided, good         bool
	curHold               time.Duration
	// When good: since when. When bad and recoverHeld: since when the recover
	// limits have held.
	goodSince   time.Time
	recoverHeld bool
	// returned: good again after a hold-down (not by the first verdict); only
	// then does a quick failure count as a flap.
	returned bool
}

func newGate(enter, recover Limits, t Thresholds) gate {
	if recover == (Limits{}) {
		recover = enter.Scaled(RecoverRatio)
	}
	return gate{enter: enter, recover: recover, hold: t.HoldDown, maxHold: t.MaxHoldDown, stable: t.Stable, curHold: t.HoldDown}
}

// first gives the first verdict, with no hold-down: nothing has failed yet.
func (g *gate) first(now time.Time, q Quality) {
	g.decided, g.good = true, g.enter.Exceeded(q) == ""
	g.goodSince, g.recoverHeld, g.returned = now, false, false
}

// fail makes the gate bad (an exceeded limit, or the tunnel is down). A failure
// soon after coming back doubles the next hold-down.
func (g *gate) fail(now time.Time) bool {
	if g.decided && !g.good {
		g.recoverHeld = false
		return false
	}
	if g.decided && g.returned && now.Sub(g.goodSince) < g.stable {
		g.curHold = min(2*g.curHold, g.maxHold)
	}
	g.decided, g.good, g.recoverHeld = true, false, false
	return true
}

// comeBack makes the gate good after a served hold-down.
func (g *gate) comeBack(now time.Time) {
	g.good, g.goodSince, g.recoverHeld, g.returned = true, now, false, true
}

// eval updates the verdict from q and reports a change.
func (g *gate) eval(now time.Time, q Quality) (changed bool, reason string) {
	if !g.decided {
		g.first(now, q)
		return true, g.enter.Exceeded(q)
	}
	if g.good {
		if r := g.enter.Exceeded(q); r != "" {
			return g.fail(now), r
		}
		if now.Sub(g.goodSince) >= g.stable {
			g.curHold = g.hold
		}
		return false, ""
	}
	if r := g.recover.Exceeded(q); r != "" {
		g.recoverHeld = false
		return false, r
	}
	if !g.recoverHeld {
		g.recoverHeld, g.goodSince = true, now
	}
	if now.Sub(g.goodSince) >= g.curHold {
		g.comeBack(now)
		return true, fmt.Sprintf("within limits for the hold-down of %v", g.curHold)
	}
	return false, ""
}

// machine is one tunnel's state: Down on silence or heavy loss, otherwise its
// quality gate decides Up or Degraded.
type machine struct {
	t        Thresholds
	interval time.Duration
	state    State
	since    time.Time
	quality  gate
	// While down: back says replies have been flowing with loss at most
	// DownRecoveredLoss since backSince.
	back      bool
	backSince time.Time
}

func newMachine(t Thresholds, interval time.Duration, now time.Time) *machine {
	return &machine{t: t, interval: interval, since: now, quality: newGate(t.Degraded, t.Recovered, t)}
}

// silenceLimit is how long without a reply makes a tunnel down.
func (m *machine) silenceLimit() time.Duration { return time.Duration(m.t.DownAfter) * m.interval }

// eval moves the machine given the quality q and the time since the last reply
// (or since probing began). It returns the new state and why, or "" when
// nothing changed.
func (m *machine) eval(now time.Time, q Quality, silence time.Duration) (State, string) {
	silent := silence >= m.silenceLimit()
	enough := q.Samples >= m.t.MinSamples
	to, why := m.state, ""
	switch m.state {
	case StateUnknown:
		switch {
		case silent:
			to, why = StateDown, fmt.Sprintf("no reply for %v", silence)
		case enough && q.Loss >= m.t.DownLoss:
			to, why = StateDown, fmt.Sprintf("loss %.1f%% ≥ %.1f%%", 100*q.Loss, 100*m.t.DownLoss)
		case enough:
			m.quality.first(now, q)
			to, why = StateUp, "first verdict"
			if r := m.quality.enter.Exceeded(q); r != "" {
				to, why = StateDegraded, r
			}
		}
	case StateUp, StateDegraded:
		m.back = false
		switch {
		case silent:
			m.quality.fail(now)
			to, why = StateDown, fmt.Sprintf("no reply for %v", silence)
		case enough && q.Loss >= m.t.DownLoss:
			m.quality.fail(now)
			to, why = StateDown, fmt.Sprintf("loss %.1f%% ≥ %.1f%%", 100*q.Loss, 100*m.t.DownLoss)
		default:
			if changed, r := m.quality.eval(now, q); changed {
				to, why = StateDegraded, r
				if m.quality.good {
					to = StateUp
				}
			}
		}
	case StateDown:
		if silent || !enough || q.Loss > m.t.DownRecoveredLoss {
			m.back = false
			break
		}
		if !m.quality.decided { // never up before: no hold-down to serve
			m.quality.first(now, q)
			to, why = StateUp, "first verdict"
			if r := m.quality.enter.Exceeded(q); r != "" {
				to, why = StateDegraded, r
			}
			break
		}
		if !m.back {
			m.back, m.backSince = true, now
		}
		if hold := m.quality.curHold; now.Sub(m.backSince) >= hold {
			m.back = false
			// The hold-down is served: up if within the recover limits, else
			// degraded (and the quality gate's own hold-down starts).
			if r := m.quality.recover.Exceeded(q); r == "" {
				m.quality.comeBack(now)
				to, why = StateUp, fmt.Sprintf("replies back for the hold-down of %v", hold)
			} else {
				to, why = StateDegraded, fmt.Sprintf("replies back for the hold-down of %v, but %s", hold, r)
			}
		}
	}
	if to == m.state {
		return to, ""
	}
	m.state, m.since = to, now
	return to, why
}
