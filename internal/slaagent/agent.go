// Package slaagent wires the SLA brain (package sla) into the agent: it keeps
// one probe session per overlay the controller installed, sends the probes
// through the data path (dataplane.Dataplane.SendProbe), feeds the replies
// (ProbeReplies) to the prober, and applies its verdicts to the data path
// through Steered, the decorator that lays them over what the controller
// wrote. docs/sla.md describes the whole.
//
// Like the other libraries it logs nothing: what it has to say goes to a Logf
// callback.
package slaagent

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/sla"
)

// Class is an SLA class as the agent applies it: the class's limits, and the
// LBR whose members it governs. The members are the LBR's as the controller
// wrote them (their weights included), limited to Tunnels when it is set.
type Class struct {
	Name    string
	DSCP    uint8
	SLA     sla.Limits
	Recover sla.Limits // zero: SLA scaled by sla.RecoverRatio
	LBR     dataplane.LBRID
	Tunnels []dataplane.TunnelID // nil: every member of the LBR
}

// Options configure Start.
type Options struct {
	// Session configures every probe session (interval, size, thresholds…);
	// zero fields take package sla's defaults.
	Session sla.SessionConfig
	// Intervals overrides Session.Interval for the sessions of some tunnels
	// (sla.MinInterval..sla.MaxInterval each): a backup link probed slowly, a
	// voice path fast.
	Intervals map[dataplane.TunnelID]time.Duration
	// Classes: at most one per LBR.
	Classes []Class
	// SourcePort is the first of the 64 source ports probes leave from (one per
	// DSCP). 0: DefaultSourcePort.
	SourcePort uint16
	// Logf receives state changes, selections and failures. nil discards them.
	Logf func(format string, args ...any)
	// OnChange, if set, is called after every state change of a session
	// (gNMI's ON_CHANGE subscriptions wake on it). It must not block.
	OnChange func()
}

// Agent runs the prober over a Steered data path.
type Agent struct {
	dp     *Steered
	opts   Options
	prober *sla.Prober
	logf   func(string, ...any)

	syncMu sync.Mutex // serialises sync
	// ctrl: the classes a controller wrote, by LBR; they replace the
	// configured class of the same LBR (SetControllerClasses).
	clsMu    sync.Mutex
	ctrl     map[dataplane.LBRID]Class
	sessions map[sla.Path]bool
	classes  []sla.Class // as last given to the prober
	// heard: tunnels that have answered a probe since their session started.
	// A tunnel that never answered (a peer with no reflector, a data path that
	// cannot send probes) is never marked down by the prober: it would only
	// ever be a guess, and a wrong one takes a working overlay away.
	heardMu sync.Mutex
	heard   map[dataplane.TunnelID]bool

	sendErrOnce sync.Once
	replyErrs   atomic.Uint64

	wake chan struct{} // a session was added: poll now
	// applied: the allowed tunnels last applied per class, so that a
	// selection applied again is not logged again. Only applyVerdicts
	// touches it.
	applied map[string][]dataplane.TunnelID
	// held: tunnels the prober holds down whose verdict was held back because
	// every overlay was silent at once (othersAnswer).
	heldMu sync.Mutex
	// The time is when another overlay was first seen answering again (zero:
	// not yet).
	held map[dataplane.TunnelID]time.Time
	// verdicts waiting for the data path (later, applyVerdicts).
	verdictMu  sync.Mutex
	verdicts   []func()
	verdictSig chan struct{}
	cancel     context.CancelFunc
	done       chan struct{}
}

// Start starts probing the overlays dp holds (and those the controller writes
// later) until the returned Agent is stopped.
func Start(dp *Steered, opts Options) (*Agent, error) {
	if err := validateClasses(opts.Classes); err != nil {
		return nil, err
	}
	if opts.SourcePort == 0 {
		opts.SourcePort = DefaultSourcePort
	}
	if int(opts.SourcePort)+63 > 0xffff {
		return nil, fmt.Errorf("sla source port %d: want at most %d (64 ports are used)", opts.SourcePort, 0xffff-63)
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	a := &Agent{dp: dp, opts: opts, logf: opts.Logf, sessions: map[sla.Path]bool{},
		heard: map[dataplane.TunnelID]bool{}, wake: make(chan struct{}, 1), verdictSig: make(chan struct{}, 1), held: map[dataplane.TunnelID]time.Time{}, applied: map[string][]dataplane.TunnelID{}, done: make(chan struct{})}
	p, err := sla.NewProber(sla.Config{Sender: sender{a}, OnState: a.onState, OnSelect: a.onSelect})
	if err != nil {
		return nil, err
	}
	// A session config error shows at the first Add; check it now instead.
	if err := p.Add(sla.Path{}, opts.Session); err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	p.Remove(sla.Path{})
	for _, id := range slices.Sorted(maps.Keys(opts.Intervals)) {
		cfg := opts.Session
		cfg.Interval = opts.Intervals[id]
		if err := p.Add(sla.Path{Tunnel: id}, cfg); err != nil {
			return nil, fmt.Errorf("sla: tunnel %d: %w", id, err)
		}
		p.Remove(sla.Path{Tunnel: id})
	}
	a.prober = p
	ctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	dp.setOnChange(a.sync)
	a.sync()
	go func() {
		defer close(a.done)
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a.readReplies(ctx) }()
		go func() { defer wg.Done(); a.applyVerdicts(ctx) }()
		a.run(ctx)
		wg.Wait()
	}()
	return a, nil
}

func validateClasses(cs []Class) error {
	lbrs := map[dataplane.LBRID]string{}
	var probe []sla.Class
	for _, c := range cs {
		if other, ok := lbrs[c.LBR]; ok {
			return fmt.Errorf("sla class %q: lbr %d is already governed by class %q", c.Name, c.LBR, other)
		}
		lbrs[c.LBR] = c.Name
		probe = append(probe, sla.Class{Name: c.Name, DSCP: c.DSCP, SLA: c.SLA, Recover: c.Recover,
			Members: []dataplane.LBRMember{{Tunnel: 0, Weight: 1}}})
	}
	return sla.ValidateClasses(probe)
}

// Stop stops probing and waits for the goroutines to end. Verdicts already
// applied stay in the data path (the controller's next writes, or Clear,
// replace them).
func (a *Agent) Stop() {
	a.dp.setOnChange(nil)
	a.cancel()
	<-a.done
}

// SetControllerClasses replaces the classes a controller programmed (the
// sla_class table): each replaces the configured class of the same LBR, and
// the configured classes of other LBRs stay. It does not block for long: it
// re-syncs the sessions and classes and returns.
func (a *Agent) SetControllerClasses(cs []Class) error {
	if err := validateClasses(cs); err != nil {
		return err
	}
	m := make(map[dataplane.LBRID]Class, len(cs))
	for _, c := range cs {
		m[c.LBR] = c
	}
	a.clsMu.Lock()
	a.ctrl = m
	a.clsMu.Unlock()
	a.sync()
	return nil
}

// allClasses is the classes in force: the controller's, then the configured
// ones of the other LBRs.
func (a *Agent) allClasses() []Class {
	a.clsMu.Lock()
	defer a.clsMu.Unlock()
	out := make([]Class, 0, len(a.ctrl)+len(a.opts.Classes))
	for _, id := range slices.Sorted(maps.Keys(a.ctrl)) {
		out = append(out, a.ctrl[id])
	}
	for _, c := range a.opts.Classes {
		if _, ok := a.ctrl[c.LBR]; !ok {
			out = append(out, c)
		}
	}
	return out
}

// Status is the prober's view of every session.
func (a *Agent) Status() map[sla.Path]sla.Status { return a.prober.Status() }

// Selection is the prober's current selection per class.
func (a *Agent) Selection() sla.Selection { return a.prober.Selection() }

// sync brings the probe sessions and classes in line with the controller's
// tunnels and LBRs.
func (a *Agent) sync() {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	tunnels := a.dp.ControllerTunnels()
	var classes []sla.Class
	for _, c := range a.allClasses() {
		members, ok := a.dp.ControllerLBR(c.LBR)
		if !ok {
			continue
		}
		var in []dataplane.LBRMember
		for _, m := range members {
			if _, ok := tunnels[m.Tunnel]; ok && (c.Tunnels == nil || slices.Contains(c.Tunnels, m.Tunnel)) {
				in = append(in, m)
			}
		}
		if len(in) == 0 {
			continue
		}
		classes = append(classes, sla.Class{Name: c.Name, DSCP: c.DSCP, SLA: c.SLA, Recover: c.Recover, Members: in})
	}
	want := map[sla.Path]bool{}
	for id := range tunnels {
		want[sla.Path{Tunnel: id}] = true
	}
	for _, c := range classes {
		if c.DSCP == 0 {
			continue
		}
		for _, m := range c.Members {
			want[sla.Path{Tunnel: m.Tunnel, DSCP: c.DSCP}] = true
		}
	}
	for p := range a.sessions {
		if !want[p] {
			a.prober.Remove(p)
			delete(a.sessions, p)
			if p.DSCP == 0 {
				a.heardMu.Lock()
				delete(a.heard, p.Tunnel)
				a.heardMu.Unlock()
				if err := a.dp.SetDown(p.Tunnel, false); err != nil {
					a.logf("sla: %v", err)
				}
			}
		}
	}
	if !classesEqual(classes, a.classes) {
		if err := a.prober.SetClasses(classes); err != nil {
			a.logf("sla: classes: %v", err)
		} else {
			a.classes = classes
			a.restrictGone(classes)
		}
	}
	for p := range want {
		if a.sessions[p] {
			continue
		}
		if err := a.prober.Add(p, a.session(p.Tunnel)); err != nil {
			a.logf("sla: %v", err)
			continue
		}
		a.sessions[p] = true
		select {
		case a.wake <- struct{}{}:
		default:
		}
	}
}

// restrictGone lifts the restriction of configured classes that are not
// active (their LBR or members are gone).
func (a *Agent) restrictGone(active []sla.Class) {
	for _, c := range a.allClasses() {
		if !slices.ContainsFunc(active, func(x sla.Class) bool { return x.Name == c.Name }) {
			if err := a.dp.Restrict(c.LBR, nil); err != nil {
				a.logf("sla: class %s: %v", c.Name, err)
			}
		}
	}
}

func classesEqual(a, b []sla.Class) bool {
	return slices.EqualFunc(a, b, func(x, y sla.Class) bool {
		return x.Name == y.Name && x.DSCP == y.DSCP && x.SLA == y.SLA && x.Recover == y.Recover && slices.Equal(x.Members, y.Members)
	})
}

func (a *Agent) onState(c sla.StateChange) {
	a.logf("sla: %v %s → %s (%s): rtt %v loss %.1f%% jitter %v", c.Path, c.From, c.To, c.Reason,
		c.Quality.RTT, 100*c.Quality.Loss, c.Quality.Jitter)
	if a.opts.OnChange != nil {
		a.opts.OnChange()
	}
	if c.Path.DSCP != 0 {
		return // a class's own session: its classes follow it, the tunnel does not
	}
	down := c.To == sla.StateDown
	a.heardMu.Lock()
	heard := a.heard[c.Path.Tunnel]
	a.heardMu.Unlock()
	if down && !heard {
		a.logf("sla: tunnel %d has never answered a probe: not marking it down", c.Path.Tunnel)
		return
	}
	if down && !a.othersAnswer(c.Path.Tunnel, c.At) {
		a.heldMu.Lock()
		a.held[c.Path.Tunnel] = time.Time{}
		a.heldMu.Unlock()
		a.logf("sla: every overlay is silent at once: tunnel %d is not marked down (the gateway itself may be stalled; with every overlay black, marking them saves no traffic)", c.Path.Tunnel)
		return
	}
	a.heldMu.Lock()
	delete(a.held, c.Path.Tunnel)
	a.heldMu.Unlock()
	a.later(func() {
		if err := a.dp.SetDown(c.Path.Tunnel, down); err != nil {
			a.logf("sla: %v", err)
		}
		a.applyAll()
	})
}

// session is the probe session configuration of tunnel id's sessions: the
// common one, with the tunnel's own interval if it has one.
func (a *Agent) session(id dataplane.TunnelID) sla.SessionConfig {
	cfg := a.opts.Session
	if d, ok := a.opts.Intervals[id]; ok {
		cfg.Interval = d
	}
	return cfg
}

// interval is tunnel id's probe interval, defaults filled in.
func (a *Agent) interval(id dataplane.TunnelID) time.Duration {
	if d := a.session(id).Interval; d != 0 {
		return d
	}
	return sla.DefaultInterval
}

// othersAnswer reports whether some other overlay that has answered before,
// and is up or degraded, got a reply within the last DownAfter−1 intervals
// before at (the longer of the two tunnels' intervals).
// When none did, every overlay is silent at once: more likely the gateway
// itself (a stall) than every path, and if it is every path, marking them
// down saves no traffic.
func (a *Agent) othersAnswer(id dataplane.TunnelID, at time.Time) bool {
	after := a.opts.Session.Thresholds.DownAfter
	if after == 0 {
		after = sla.DefaultThresholds.DownAfter
	}
	a.heardMu.Lock()
	defer a.heardMu.Unlock()
	for p, st := range a.prober.Status() {
		// Only an overlay that can carry traffic counts: one still held down
		// (its hold-down running) answers, yet marking this one down too
		// would leave nothing.
		if p.DSCP != 0 || p.Tunnel == id || !a.heard[p.Tunnel] || !st.State.Alive() {
			continue
		}
		// Within one interval less than the silence that means down: an
		// overlay that answered just before the others went quiet too is as
		// silent.
		interval := max(a.interval(id), a.interval(p.Tunnel))
		window := time.Duration(after-1) * interval
		if after <= 1 {
			window = interval / 2
		}
		if st.Quality.LastReply.After(at.Add(-window)) {
			return true
		}
	}
	return false
}

// releaseHeld marks down the tunnels whose down verdict was held back while
// every overlay was silent, once another overlay answers again and they stay
// silent for a whole down period (DownAfter of their intervals) after that.
// One that answers again too was silent with the others (a stall of the
// gateway, ended): its verdict is dropped; the prober brings it back after
// its hold-down as usual.
func (a *Agent) releaseHeld(now time.Time) {
	a.heldMu.Lock()
	ids := slices.Collect(maps.Keys(a.held))
	a.heldMu.Unlock()
	if len(ids) == 0 {
		return
	}
	after := a.opts.Session.Thresholds.DownAfter
	if after == 0 {
		after = sla.DefaultThresholds.DownAfter
	}
	status := a.prober.Status()
	for _, id := range ids {
		st := status[sla.Path{Tunnel: id}]
		a.heldMu.Lock()
		since := a.held[id]
		a.heldMu.Unlock()
		drop := st.State != sla.StateDown
		switch {
		case drop:
		case !a.othersAnswer(id, now):
			since = time.Time{}
		case since.IsZero():
			since = now
		case st.Quality.LastReply.After(since):
			drop = true
			a.logf("sla: tunnel %d answers again too: it was silent with the others, not marking it down", id)
		case now.Sub(since) >= time.Duration(after)*a.interval(id):
			drop = true
			a.logf("sla: another overlay answers again and tunnel %d stays silent: marking it down", id)
			a.later(func() {
				if err := a.dp.SetDown(id, true); err != nil {
					a.logf("sla: %v", err)
				}
				a.applyAll()
			})
		}
		a.heldMu.Lock()
		if drop {
			delete(a.held, id)
		} else {
			a.held[id] = since
		}
		a.heldMu.Unlock()
	}
}

// later queues a verdict for the data path. The prober calls back from its own
// goroutine, the one that sends the probes: a data-path write that takes a
// while (a tunnel rewrite resolves its next hop over netlink) must not hold
// every other overlay's probes back, or their silence makes them down too.
// Verdicts are applied in order, by applyVerdicts.
func (a *Agent) later(f func()) {
	a.verdictMu.Lock()
	a.verdicts = append(a.verdicts, f)
	a.verdictMu.Unlock()
	select {
	case a.verdictSig <- struct{}{}:
	default:
	}
}

// applyVerdicts applies the queued verdicts, in order, until ctx is done.
func (a *Agent) applyVerdicts(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-a.verdictSig:
		}
		for {
			a.verdictMu.Lock()
			q := a.verdicts
			a.verdicts = nil
			a.verdictMu.Unlock()
			if len(q) == 0 {
				break
			}
			for _, f := range q {
				f()
			}
		}
	}
}

// applyAll applies every active class's current selection again.
func (a *Agent) applyAll() {
	a.syncMu.Lock()
	names := make([]string, len(a.classes))
	for i, k := range a.classes {
		names[i] = k.Name
	}
	a.syncMu.Unlock()
	sel := a.prober.Selection()
	for _, n := range names {
		a.apply(n, sel[n])
	}
}

func (a *Agent) onSelect(c sla.SelectionChange) { a.later(func() { a.apply(c.Class, c.Members) }) }

// apply installs the selection of class name (members nil: none alive, the
// controller's LBR stands) on the class's LBR. A member that has never
// answered a probe, or has no verdict yet (its first probes still settling),
// is not judged: it keeps carrying the class, so that the first verdicts do
// not move flows back and forth. onState applies every class again when a
// verdict changes, since that can change who is judged without changing the
// selection.
func (a *Agent) apply(name string, members []dataplane.LBRMember) {
	var cls *Class
	for _, k := range a.allClasses() {
		if k.Name == name {
			cls = &k
		}
	}
	if cls == nil {
		return
	}
	var allow []dataplane.TunnelID
	if members != nil {
		allow = make([]dataplane.TunnelID, 0, len(members))
		for _, m := range members {
			allow = append(allow, m.Tunnel)
		}
		status := a.prober.Status()
		a.syncMu.Lock()
		a.heardMu.Lock()
		for _, k := range a.classes {
			if k.Name != name {
				continue
			}
			for _, m := range k.Members {
				unjudged := !a.heard[m.Tunnel] || status[sla.Path{Tunnel: m.Tunnel}].State == sla.StateUnknown
				if unjudged && !slices.Contains(allow, m.Tunnel) {
					allow = append(allow, m.Tunnel)
				}
			}
		}
		a.heardMu.Unlock()
		a.syncMu.Unlock()
	}
	if last, ok := a.applied[name]; !ok || !slices.Equal(last, allow) || (last == nil) != (allow == nil) {
		a.logf("sla: class %s on tunnels %v", name, allow)
		a.applied[name] = allow
	}
	if err := a.dp.Restrict(cls.LBR, allow); err != nil {
		a.logf("sla: class %s: %v", name, err)
	}
}

type sender struct{ a *Agent }

// Send builds the probe's IP/UDP (the family of the tunnel's underlay) and hands it to the data path.
func (s sender) Send(path sla.Path, probe []byte) error {
	a := s.a
	t, ok := a.dp.ControllerTunnel(path.Tunnel)
	if !ok {
		return fmt.Errorf("tunnel %d: %w", path.Tunnel, dataplane.ErrNotFound)
	}
	pkt := buildProbe(t.Src, t.Dst, path.DSCP, a.opts.SourcePort+uint16(path.DSCP), probe)
	err := a.dp.SendProbe(path.Tunnel, pkt)
	if err != nil {
		a.sendErrOnce.Do(func() {
			a.logf("sla: sending probes through tunnel %d: %v (said once; tunnels that never answer are not marked down)", path.Tunnel, err)
		})
	}
	return err
}

// lateLimit is how late a poll may start before the agent takes it that the
// process itself was not running (a loaded machine, a long GC pause).
const lateLimit = 20 * time.Millisecond

// A late poll waits for the reply readers to deliver what arrived while the
// process was not running: as long as it was late, between minCatchUp and
// maxCatchUp (readers that were not running either need about as long to
// catch up as they were held).
const (
	minCatchUp = 10 * time.Millisecond
	maxCatchUp = 100 * time.Millisecond
)

// run polls the prober when it asks to be. A poll that starts more than
// lateLimit late first gives the reply readers time to hand over the replies
// that arrived meanwhile (as long as it was late, within minCatchUp and
// maxCatchUp): the silence that makes a tunnel down must be the path's, not
// the agent's own stall. A real blackout is judged at most maxCatchUp later,
// and only when the agent was itself held up.
func (a *Agent) run(ctx context.Context) {
	var due time.Time
	for {
		now := time.Now()
		if late := now.Sub(due); !due.IsZero() && late > lateLimit {
			a.drain()
			select {
			case <-ctx.Done():
				return
			case <-time.After(min(max(late, minCatchUp), maxCatchUp)):
			}
			a.drain()
			now = time.Now()
		}
		due = a.prober.Poll(now)
		a.releaseHeld(now)
		t := time.NewTimer(time.Until(due))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-a.wake:
			t.Stop()
			due = time.Time{} // not a deadline missed
		}
	}
}

// drain hands the prober every reply already queued.
func (a *Agent) drain() {
	ch := a.dp.ProbeReplies()
	for {
		select {
		case r, ok := <-ch:
			if !ok {
				return
			}
			if err := a.receive(r); err != nil {
				a.replyErrs.Add(1)
			}
		default:
			return
		}
	}
}

func (a *Agent) readReplies(ctx context.Context) {
	ch := a.dp.ProbeReplies()
	for {
		select {
		case <-ctx.Done():
			return
		case r, ok := <-ch:
			if !ok {
				return
			}
			if err := a.receive(r); err != nil {
				a.replyErrs.Add(1)
			}
		}
	}
}

// ReplyErrors counts replies that were refused (not STAMP, no session,
// malformed, answering no outstanding probe).
func (a *Agent) ReplyErrors() uint64 { return a.replyErrs.Load() }

// receive hands one reply to the prober: the session is the tunnel it came
// through (or, when the controller uses another id for the termination, the
// one tunnel whose addresses it reverses) and the DSCP its port says.
func (a *Agent) receive(r dataplane.ProbeReply) error {
	rep, err := parseReply(r.Packet)
	if err != nil {
		return err
	}
	if rep.dport < a.opts.SourcePort || rep.dport > a.opts.SourcePort+63 {
		return fmt.Errorf("%w: to port %d", errNotReply, rep.dport)
	}
	id, ok := a.tunnelOf(r.Tunnel, rep)
	if !ok {
		return fmt.Errorf("reply from %s to %s: %w", rep.src, rep.dst, sla.ErrUnknownPath)
	}
	path := sla.Path{Tunnel: id, DSCP: uint8(rep.dport - a.opts.SourcePort)}
	if err := a.prober.Receive(path, rep.stamp, r.RxTime); err != nil {
		return err
	}
	if path.DSCP == 0 {
		a.heardMu.Lock()
		a.heard[id] = true
		a.heardMu.Unlock()
	}
	return nil
}

func (a *Agent) tunnelOf(id dataplane.TunnelID, rep reply) (dataplane.TunnelID, bool) {
	if t, ok := a.dp.ControllerTunnel(id); ok && t.Src == rep.dst && t.Dst == rep.src {
		return id, true
	}
	found, n := dataplane.TunnelID(0), 0
	for tid, t := range a.dp.ControllerTunnels() {
		if t.Src == rep.dst && t.Dst == rep.src {
			found, n = tid, n+1
		}
	}
	return found, n == 1
}
