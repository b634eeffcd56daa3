package sla

import (
	"context"
	"errors"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
)

// link is one simulated overlay: a round-trip time split evenly between the two
// directions, a reflector whose clock is off by offset, and impairments.
type link struct {
	rtt      time.Duration
	offset   time.Duration
	blackout bool                  // drops everything crossing it, both ways
	drop     func(seq uint32) bool // drops the probe with this sequence number
}

type delivery struct {
	at    time.Time
	path  Path
	reply []byte
}

// netsim is the network around a Prober: the Sender puts probes on links whose
// far end runs Reflect; replies come back after the RTT. Time is a fake clock
// that jumps from event to event (a Poll the prober asked for, or a delivery).
type netsim struct {
	t        *testing.T
	now      time.Time
	p        *Prober
	links    map[dataplane.TunnelID]*link
	inflight []delivery
	wake     time.Time
	states   []StateChange
	selects  []SelectionChange
}

func (n *netsim) Now() time.Time                       { return n.now }
func (n *netsim) After(time.Duration) <-chan time.Time { panic("netsim drives Poll itself") }

func (n *netsim) Send(path Path, probe []byte) error {
	l := n.links[path.Tunnel]
	p, err := ParseTestPacket(probe)
	if err != nil {
		n.t.Fatalf("prober sent a malformed probe: %v", err)
	}
	if l.blackout || (l.drop != nil && l.drop(p.Seq)) {
		return nil
	}
	reply, err := Reflect(probe, n.now.Add(l.rtt/2+l.offset), 64)
	if err != nil {
		n.t.Fatal(err)
	}
	if len(reply) > len(probe) {
		n.t.Fatalf("reply of %d octets to a probe of %d", len(reply), len(probe))
	}
	n.inflight = append(n.inflight, delivery{n.now.Add(l.rtt), path, reply})
	sort.SliceStable(n.inflight, func(i, j int) bool { return n.inflight[i].at.Before(n.inflight[j].at) })
	return nil
}

func newNetsim(t *testing.T, classes []Class, links map[dataplane.TunnelID]*link) *netsim {
	n := &netsim{t: t, now: t0, links: links}
	p, err := NewProber(Config{
		Clock: n, Sender: n, Classes: classes,
		OnState:  func(c StateChange) { n.states = append(n.states, c) },
		OnSelect: func(c SelectionChange) { n.selects = append(n.selects, c) },
	})
	if err != nil {
		t.Fatal(err)
	}
	n.p = p
	ids := make([]dataplane.TunnelID, 0, len(links))
	for id := range links {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		if err := p.Add(Path{Tunnel: id}, SessionConfig{}); err != nil {
			t.Fatal(err)
		}
	}
	n.wake = t0
	return n
}

// runUntil processes events up to and including end; at moments set by do, the
// test changes the network (at[i] with do[i]).
func (n *netsim) runUntil(end time.Time) {
	for {
		t, isDelivery := n.wake, false
		if len(n.inflight) > 0 && !n.inflight[0].at.After(t) {
			t, isDelivery = n.inflight[0].at, true
		}
		if t.After(end) {
			n.now = end
			return
		}
		n.now = t
		if isDelivery {
			d := n.inflight[0]
			n.inflight = n.inflight[1:]
			if n.links[d.path.Tunnel].blackout {
				continue // the reply meets the blackout on its way back
			}
			if err := n.p.Receive(d.path, d.reply, t); err != nil {
				n.t.Fatalf("Receive at %v: %v", t.Sub(t0), err)
			}
			continue
		}
		n.wake = n.p.Poll(t)
	}
}

func (n *netsim) stateChanges(tunnel dataplane.TunnelID) []StateChange {
	var out []StateChange
	for _, c := range n.states {
		if c.Path.Tunnel == tunnel {
			out = append(out, c)
		}
	}
	return out
}

// selectChanges lists the changes of a class's selection after from.
func (n *netsim) selectChanges(class string, from time.Time) []SelectionChange {
	var out []SelectionChange
	for _, c := range n.selects {
		if c.Class == class && c.At.After(from) {
			out = append(out, c)
		}
	}
	return out
}

var (
	ms      = time.Millisecond
	classes = []Class{
		{Name: "voice", SLA: Limits{RTT: 150 * ms, Loss: 0.01, Jitter: 30 * ms},
			Members: []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}},
		{Name: "bulk", SLA: Limits{RTT: 400 * ms, Loss: 0.10},
			Members: []dataplane.LBRMember{{Tunnel: 1, Weight: 2}, {Tunnel: 2, Weight: 1}}},
	}
	both  = []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}}
	only2 = []dataplane.LBRMember{{Tunnel: 2, Weight: 1}}
)

func twoLinks(rtt1 time.Duration) map[dataplane.TunnelID]*link {
	return map[dataplane.TunnelID]*link{1: {rtt: rtt1, offset: 3 * time.Hour}, 2: {rtt: 40 * ms, offset: -time.Minute}}
}

func TestProberSteadyState(t *testing.T) {
	n := newNetsim(t, classes, twoLinks(20*ms))
	n.runUntil(t0.Add(5 * time.Second))
	st := n.p.Status()
	for _, id := range []dataplane.TunnelID{1, 2} {
		s := st[Path{Tunnel: id}]
		// The window holds 20 probes, the last still in flight.
		if s.State != StateUp || s.Quality.Loss != 0 || s.Quality.Samples != DefaultWindow-1 {
			t.Errorf("tunnel %d: %v, loss %v, samples %d", id, s.State, s.Quality.Loss, s.Quality.Samples)
		}
	}
	if rtt := st[Path{Tunnel: 1}].Quality.RTT; rtt != 20*ms {
		t.Errorf("tunnel 1 RTT %v, want 20ms whatever the reflector's clock", rtt)
	}
	// The first verdict comes after MinSamples probes have settled: probe 9 is
	// answered at 9 × 50 ms + 40 ms on the slower tunnel.
	if c := n.stateChanges(2); len(c) != 1 || c[0].To != StateUp || c[0].At != t0.Add(490*ms) {
		t.Errorf("tunnel 2 changes %+v, want one, up at 490ms", c)
	}
	if sel := n.p.Selection(); !slices.Equal(sel["voice"], both) {
		t.Errorf("voice on %v, want both tunnels", sel["voice"])
	}
}

// TestProberBlackoutFailover: the overlay goes black with its carrier up, at every
// phase relative to the probe grid; it must be down, and voice off it, within
// 300 ms (at default settings: 4 intervals of 50 ms without a reply).
func TestProberBlackoutFailover(t *testing.T) {
	worst := time.Duration(0)
	for phase := time.Duration(0); phase < 50*ms; phase += 5 * ms {
		n := newNetsim(t, classes, twoLinks(20*ms))
		b := t0.Add(3*time.Second + phase)
		n.runUntil(b)
		n.links[1].blackout = true
		n.runUntil(b.Add(2 * time.Second))

		c := n.stateChanges(1)
		if len(c) != 2 || c[1].To != StateDown {
			t.Fatalf("phase %v: changes %+v, want up then down", phase, c)
		}
		gap := c[1].At.Sub(b)
		worst = max(worst, gap)
		if gap > 300*ms {
			t.Errorf("phase %v: down %v after the blackout, want ≤ 300ms", phase, gap)
		}
		s := n.selectChanges("voice", b)
		if len(s) != 1 {
			t.Fatalf("phase %v: voice changes %+v, want one", phase, s)
		}
		if last := s[0]; !slices.Equal(last.Members, only2) || !last.At.Equal(c[1].At) {
			t.Errorf("phase %v: voice %v at %v, want tunnel 2 alone when 1 goes down", phase, last.Members, last.At.Sub(b))
		}
		if sel := n.p.Selection(); !slices.Equal(sel["bulk"], []dataplane.LBRMember{{Tunnel: 2, Weight: 1}}) {
			t.Errorf("phase %v: bulk on %v, want tunnel 2", phase, sel["bulk"])
		}
	}
	// The bound: the last reply arrives at most one interval before the blackout
	// (replies come every 50 ms), down follows it by exactly 4 × 50 ms.
	if worst > 200*ms+50*ms {
		t.Errorf("worst detection %v, want ≤ 250ms", worst)
	}
}

func TestProberBrownoutLoss(t *testing.T) {
	n := newNetsim(t, classes, twoLinks(20*ms))
	b := t0.Add(5 * time.Second)
	n.runUntil(b)
	var firstDrop time.Time
	n.links[1].drop = func(seq uint32) bool {
		if seq%20 != 7 { // 5 % loss, deterministic
			return false
		}
		if firstDrop.IsZero() {
			firstDrop = n.now
		}
		return true
	}
	n.runUntil(b.Add(20 * time.Second))
	if sel := n.p.Selection(); !slices.Equal(sel["voice"], only2) {
		t.Fatalf("voice on %v, want tunnel 2", sel["voice"])
	}
	s := n.selectChanges("voice", b)
	if len(s) != 1 || !slices.Equal(s[0].Members, only2) {
		t.Fatalf("voice changes %+v, want one: to tunnel 2 alone", s)
	}
	// The loss shows when the next probe's reply overtakes the lost one: one
	// interval and one RTT after it was sent.
	if d := s[0].At.Sub(firstDrop); d != 50*ms+20*ms {
		t.Errorf("voice left %v after the first lost probe, want 70ms", d)
	}
	if s[0].At.Sub(b) > time.Second+70*ms {
		t.Errorf("voice left %v after the brownout began", s[0].At.Sub(b))
	}
	if sel := n.p.Selection(); !slices.Equal(sel["bulk"], classes[1].Members) {
		t.Errorf("bulk (10 %% loss allowed) on %v, want both tunnels", sel["bulk"])
	}
	if c := n.stateChanges(1); len(c) != 1 {
		t.Errorf("tunnel 1 changes %+v, want none after up (one loss in 20 probes is under the 7.5 %% degrade limit)", c)
	}
}

func TestProberBrownoutRTT(t *testing.T) {
	n := newNetsim(t, classes, twoLinks(60*ms))
	b := t0.Add(5 * time.Second)
	n.runUntil(b)
	n.links[1].rtt += 100 * ms
	n.runUntil(b.Add(20 * time.Second))
	s := n.selectChanges("voice", b)
	if len(s) != 1 || !slices.Equal(s[0].Members, only2) {
		t.Fatalf("voice changes %+v, want one: to tunnel 2 alone", s)
	}
	// The median of 20 RTTs passes 150 ms with the 10th slow reply; the jitter step
	// (100 ms / 16) stays under 30 ms.
	if d := s[0].At.Sub(b); d > time.Second {
		t.Errorf("voice left %v after the RTT rose, want ≤ 1s", d)
	}
	if sel := n.p.Selection(); !slices.Equal(sel["bulk"], classes[1].Members) {
		t.Errorf("bulk (400 ms allowed) on %v, want both", sel["bulk"])
	}
	if q := n.p.Status()[Path{Tunnel: 1}].Quality; q.RTT != 160*ms || q.MinRTT != 160*ms {
		t.Errorf("tunnel 1 rtt %v min %v, want 160ms", q.RTT, q.MinRTT)
	}
}

func TestProberRecoveryAfterHoldDown(t *testing.T) {
	n := newNetsim(t, classes, twoLinks(20*ms))
	b, e := t0.Add(5*time.Second), t0.Add(8*time.Second)
	n.runUntil(b)
	n.links[1].blackout = true
	n.runUntil(e)
	n.links[1].blackout = false
	n.runUntil(e.Add(10 * time.Second))

	c := n.stateChanges(1)
	if len(c) != 3 || c[1].To != StateDown || c[2].To != StateUp {
		t.Fatalf("changes %+v, want up, down, up", c)
	}
	// Back: 10 settled probes (MinSamples) after the first reply, then the 3 s
	// hold-down.
	up := c[2].At.Sub(e)
	if up < 3*time.Second || up > 3*time.Second+600*ms {
		t.Errorf("up again %v after the blackout ended, want hold-down (3s) + ≤ 600ms", up)
	}
	// Voice comes back with the tunnel: the class's hold-down ran alongside.
	s := n.selectChanges("voice", b)
	if last := s[len(s)-1]; !slices.Equal(last.Members, both) || !last.At.Equal(c[2].At) {
		t.Errorf("voice %v at %v, want both tunnels when tunnel 1 is up (%v)", last.Members, last.At.Sub(e), up)
	}
}

// TestProberFlapBound: a path alternating good and bad (blackout) every 2 s for
// 60 s, at default settings. The bound: a member leaves once and does not come
// back while the good phases (2 s) are shorter than the hold-down (3 s): one
// switch of voice after its initial selection, one tunnel down. With 4 s phases
// it comes back once (4 s > 0.5 s of samples + 3 s), then the doubled hold-down
// (6 s) keeps it out: three switches.
func TestProberFlapBound(t *testing.T) {
	for _, c := range []struct {
		phase       time.Duration
		maxSwitches int
	}{{2 * time.Second, 1}, {4 * time.Second, 3}} {
		n := newNetsim(t, classes, twoLinks(20*ms))
		start := t0.Add(5 * time.Second)
		n.runUntil(start)
		for at := start; at.Before(start.Add(60 * time.Second)); at = at.Add(c.phase) {
			n.links[1].blackout = !n.links[1].blackout
			n.runUntil(at.Add(c.phase))
		}
		switches := len(n.selectChanges("voice", start))
		if switches > c.maxSwitches {
			t.Errorf("phase %v: voice switched %d times in 60s, want ≤ %d", c.phase, switches, c.maxSwitches)
		}
		downs := 0
		for _, s := range n.stateChanges(1) {
			if s.To == StateDown {
				downs++
			}
		}
		if downs > (c.maxSwitches+1)/2 {
			t.Errorf("phase %v: tunnel 1 down %d times, want ≤ %d", c.phase, downs, (c.maxSwitches+1)/2)
		}
		if switches < 1 {
			t.Errorf("phase %v: voice never left the flapping tunnel", c.phase)
		}
	}
}

func TestProberReceiveRefuses(t *testing.T) {
	n := newNetsim(t, classes, twoLinks(20*ms))
	n.runUntil(t0.Add(time.Second))
	before := n.p.Status()[Path{Tunnel: 1}].Quality
	probe, _ := TestPacket{Seq: 12345, ErrorEstimate: 1}.Marshal()
	stray, _ := Reflect(probe, n.now, 64)
	for name, c := range map[string]struct {
		path  Path
		reply []byte
		want  error
	}{
		"short":         {Path{Tunnel: 1}, stray[:20], ErrMalformed},
		"unknown path":  {Path{Tunnel: 9}, stray, ErrUnknownPath},
		"never sent":    {Path{Tunnel: 1}, stray, ErrUnexpectedReply},
		"other dscp":    {Path{Tunnel: 1, DSCP: 46}, stray, ErrUnknownPath},
		"zero estimate": {Path{Tunnel: 1}, append(append([]byte{}, stray[:12]...), make([]byte, 32)...), ErrMalformed},
	} {
		if err := n.p.Receive(c.path, c.reply, n.now); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	if after := n.p.Status()[Path{Tunnel: 1}].Quality; after != before {
		t.Errorf("refused replies changed the quality: %+v → %+v", before, after)
	}
}

func TestProberConfig(t *testing.T) {
	n := newNetsim(t, classes, twoLinks(20*ms))
	for name, sc := range map[string]SessionConfig{
		"interval 5ms":  {Interval: 5 * ms},
		"interval 11s":  {Interval: 11 * time.Second},
		"size 43":       {Size: 43},
		"size 1500":     {Size: 1500},
		"window 1":      {Window: 1},
		"bad threshold": {Thresholds: Thresholds{DownLoss: 2}},
	} {
		if err := n.p.Add(Path{Tunnel: 7}, sc); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if err := n.p.Add(Path{Tunnel: 1}, SessionConfig{}); err == nil {
		t.Error("second session on a path accepted")
	}
	if _, err := NewProber(Config{}); err == nil {
		t.Error("prober without a Sender accepted")
	}
	if err := n.p.SetClasses([]Class{{Name: "x"}}); err == nil {
		t.Error("class without members accepted")
	}
	n.p.Remove(Path{Tunnel: 2})
	if _, ok := n.p.Status()[Path{Tunnel: 2}]; ok {
		t.Error("removed session still reported")
	}
}

// fakeClock hands out timers the test fires by advancing time.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []fakeTimer
	waiting chan struct{}
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) After(d time.Duration) <-chan time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := make(chan time.Time, 1)
	if d <= 0 {
		c <- f.now
		return c
	}
	f.timers = append(f.timers, fakeTimer{f.now.Add(d), c})
	select {
	case f.waiting <- struct{}{}:
	default:
	}
	return c
}

func (f *fakeClock) advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	kept := f.timers[:0]
	for _, t := range f.timers {
		if t.at.After(f.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- f.now
	}
	f.timers = kept
}

type chanSender chan TestPacket

func (c chanSender) Send(_ Path, b []byte) error {
	p, err := ParseTestPacket(b)
	if err != nil {
		return err
	}
	c <- p
	return nil
}

func TestProberRunOnGrid(t *testing.T) {
	clock := &fakeClock{now: t0, waiting: make(chan struct{}, 1)}
	sent := make(chanSender, 16)
	p, err := NewProber(Config{Clock: clock, Sender: sent})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	// Add once Run is parked on its idle timer, so that every later wake-up of Run
	// is one the test caused: the session's poke, then each advance.
	<-clock.waiting
	if err := p.Add(Path{Tunnel: 1}, SessionConfig{Interval: 100 * ms}); err != nil {
		t.Fatal(err)
	}
	for k := range 5 {
		got := <-sent
		if want := NTPTimestamp(t0.Add(time.Duration(k) * 100 * ms)); got.Seq != uint32(k) || got.Timestamp != want {
			t.Errorf("probe %d: seq %d at %v, want on the 100ms grid", k, got.Seq, got.Timestamp.Time(false).Sub(t0))
		}
		<-clock.waiting // Run is waiting for its next tick
		clock.advance(100 * ms)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run returned %v, want context.Canceled", err)
	}
}
