package sla

import (
	"testing"
	"time"
)

// stepper drives a machine at 50 ms steps with a given quality and reply pattern.
type stepper struct {
	t         *testing.T
	m         *machine
	now       time.Time
	lastReply time.Time
	changes   []State
	at        []time.Time
}

func newStepper(t *testing.T) *stepper {
	th := DefaultThresholds.withDefaults()
	if err := th.validate(); err != nil {
		t.Fatal(err)
	}
	return &stepper{t: t, m: newMachine(th, 50*time.Millisecond, t0), now: t0, lastReply: t0}
}

// step advances d, in 50 ms steps, with quality q and replies (or silence).
func (s *stepper) step(d time.Duration, q Quality, replies bool) {
	for end := s.now.Add(d); s.now.Before(end); {
		s.now = s.now.Add(50 * time.Millisecond)
		if replies {
			s.lastReply = s.now
		}
		if to, why := s.m.eval(s.now, q, s.now.Sub(s.lastReply)); why != "" {
			s.changes = append(s.changes, to)
			s.at = append(s.at, s.now)
		}
	}
}

func good(rtt time.Duration) Quality {
	return Quality{Samples: 20, Replies: 20, RTT: rtt}
}

func TestMachineFirstVerdictAndBlackout(t *testing.T) {
	s := newStepper(t)
	s.step(time.Second, good(30*time.Millisecond), true)
	if len(s.changes) != 1 || s.changes[0] != StateUp || !s.at[0].Equal(t0.Add(50*time.Millisecond)) {
		t.Fatalf("changes %v at %v, want up at the first evaluation with enough samples", s.changes, s.at)
	}
	last := s.lastReply
	s.step(time.Second, good(30*time.Millisecond), false)
	if len(s.changes) != 2 || s.changes[1] != StateDown {
		t.Fatalf("changes %v, want down", s.changes)
	}
	if d := s.at[1].Sub(last); d != 4*50*time.Millisecond {
		t.Errorf("down %v after the last reply, want DownAfter (4) × 50ms", d)
	}
}

func TestMachineHysteresisAndHoldDown(t *testing.T) {
	s := newStepper(t)
	s.step(time.Second, good(100*time.Millisecond), true)
	s.step(100*time.Millisecond, good(260*time.Millisecond), true) // > 250: degraded
	if got := s.m.state; got != StateDegraded {
		t.Fatalf("state %v, want degraded", got)
	}
	s.step(20*time.Second, good(220*time.Millisecond), true) // under 250 but over 200 (recover)
	if got := s.m.state; got != StateDegraded {
		t.Fatalf("at 220ms (between recover 200 and degrade 250): %v, want still degraded", got)
	}
	from := s.now
	s.step(10*time.Second, good(150*time.Millisecond), true)
	if s.m.state != StateUp {
		t.Fatalf("state %v, want up", s.m.state)
	}
	if d := s.at[len(s.at)-1].Sub(from); d != 50*time.Millisecond+3*time.Second {
		t.Errorf("up %v after recovering, want one step + the 3s hold-down", d)
	}
}

func TestHoldDownDoublesOnFlapsAndResets(t *testing.T) {
	s := newStepper(t)
	s.step(time.Second, good(30*time.Millisecond), true)
	bad, ok := good(300*time.Millisecond), good(30*time.Millisecond)
	var holds []time.Duration
	for range 6 {
		s.step(100*time.Millisecond, bad, true) // leaves up soon after coming back: a flap
		from := s.now
		s.step(2*time.Minute, ok, true)
		holds = append(holds, s.at[len(s.at)-1].Sub(from)-50*time.Millisecond)
		if s.m.state != StateUp {
			t.Fatalf("not back up")
		}
		// step(2min) also makes the tunnel stable again: reset the flap run.
		s.step(0, ok, true)
	}
	// Each time the tunnel stays up 2 min > Stable (30 s): the hold-down is back
	// at 3 s before the next failure, so no doubling.
	for i, h := range holds {
		if h != 3*time.Second {
			t.Errorf("failure %d after a stable period: hold-down %v, want 3s", i, h)
		}
	}

	// Now flap quickly: fail as soon as the tunnel is back.
	holds = holds[:0]
	for range 6 {
		s.step(50*time.Millisecond, bad, true)
		from := s.now
		for s.m.state != StateUp {
			s.step(50*time.Millisecond, ok, true)
		}
		holds = append(holds, s.now.Sub(from)-50*time.Millisecond)
	}
	want := []time.Duration{3, 6, 12, 24, 48, 48}
	for i := range want {
		if holds[i] != want[i]*time.Second {
			t.Errorf("flap %d: hold-down %v, want %vs (doubling, capped at MaxHoldDown)", i, holds[i], want[i])
		}
	}
}

func TestMachineDownOnLossAndBack(t *testing.T) {
	s := newStepper(t)
	s.step(time.Second, good(30*time.Millisecond), true)
	lossy := good(30 * time.Millisecond)
	lossy.Loss = 0.55
	s.step(50*time.Millisecond, lossy, true)
	if s.m.state != StateDown {
		t.Fatalf("loss 55%%: %v, want down", s.m.state)
	}
	// Loss at 30 %: above DownRecoveredLoss (20 %), stays down.
	lossy.Loss = 0.3
	s.step(10*time.Second, lossy, true)
	if s.m.state != StateDown {
		t.Fatalf("loss 30%%: %v, want still down (hysteresis)", s.m.state)
	}
	// 10 % loss: back after the hold-down, degraded (10 % > 6 %, the recover limit).
	lossy.Loss = 0.1
	from := s.now
	s.step(10*time.Second, lossy, true)
	if s.m.state != StateDegraded || s.at[len(s.at)-1].Sub(from) != 50*time.Millisecond+3*time.Second {
		t.Errorf("state %v after %v, want degraded after the 3s hold-down", s.m.state, s.at[len(s.at)-1].Sub(from))
	}
}

func TestThresholdsValidate(t *testing.T) {
	if err := DefaultThresholds.withDefaults().validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	for name, th := range map[string]Thresholds{
		"loss > 1":            {Degraded: Limits{Loss: 1.5}},
		"negative rtt":        {Degraded: Limits{RTT: -1}},
		"recovered ≥ down":    {DownLoss: 0.3, DownRecoveredLoss: 0.3},
		"max hold < hold":     {HoldDown: time.Minute, MaxHoldDown: time.Second},
		"negative down_after": {DownAfter: -1},
	} {
		if err := th.withDefaults().validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
