package sla

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
)

// Sender injects a probe into a tunnel: the agent implements it by building
// IPv4/UDP (to the far gateway's tunnel address, port Port, the path's DSCP)
// around probe and sending it through the path's tunnel. Send should not block
// for long; an error counts in Status.SendErrors (the probe then counts lost).
type Sender interface {
	Send(path Path, probe []byte) error
}

// Clock is the prober's time source; tests inject a fake one.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real clock.
type SystemClock struct{}

// Now is time.Now.
func (SystemClock) Now() time.Time { return time.Now() }

// After is time.After.
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Defaults of a probe session; docs/sla.md gives the arithmetic behind them.
const (
	DefaultInterval = 50 * time.Millisecond
	DefaultWindow   = 20
	DefaultTimeout  = time.Second
	MinInterval     = 10 * time.Millisecond
	MaxInterval     = 10 * time.Second
)

// SessionConfig configures the probing of one path. Zero fields take defaults.
type SessionConfig struct {
	Interval time.Duration // between probes: DefaultInterval, MinInterval..MaxInterval
	Size     int           // STAMP octets per probe: BaseLen (44)..MaxProbeLen
	Window   int           // probes the quality is computed over: DefaultWindow
	// Timeout: a probe with no reply after this long, and no later probe
	// answered, counts lost. DefaultTimeout.
	Timeout time.Duration
	// StatefulReflector: the far reflector numbers its replies (RFC 8762 stateful
	// mode), so loss is split by direction.
	StatefulReflector bool
	Thresholds        Thresholds
}

func (c SessionConfig) withDefaults() SessionConfig {
	if c.Interval == 0 {
		c.Interval = DefaultInterval
	}
	if c.Size == 0 {
		c.Size = BaseLen
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	c.Thresholds = c.Thresholds.withDefaults()
	return c
}

func (c SessionConfig) validate() error {
	switch {
	case c.Interval < MinInterval || c.Interval > MaxInterval:
		return fmt.Errorf("interval %v: want %v..%v", c.Interval, MinInterval, MaxInterval)
	case c.Size < BaseLen || c.Size > MaxProbeLen:
		return fmt.Errorf("size %d: want %d..%d octets", c.Size, BaseLen, MaxProbeLen)
	case c.Window < 2:
		return fmt.Errorf("window %d: want at least 2 probes", c.Window)
	case c.Timeout <= 0:
		return fmt.Errorf("timeout %v: want > 0", c.Timeout)
	}
	return c.Thresholds.validate()
}

// StateChange is a tunnel (path) changing state.
type StateChange struct {
	At       time.Time
	Path     Path
	From, To State
	Reason   string
	Quality  Quality
}

// SelectionChange is a class whose carrying members changed. Members is nil when
// no member is alive.
type SelectionChange struct {
	At      time.Time
	Class   string
	Members []dataplane.LBRMember
}

// Config configures a Prober.
type Config struct {
	Clock  Clock  // nil: SystemClock
	Sender Sender // required
	// Classes: SLA classes, validated by ValidateClasses.
	Classes []Class
	// OnState and OnSelect, when set, are called in order of the changes, never
	// concurrently and with no lock of the prober held: they may call Status,
	// Selection, Add, Remove and SetClasses, not Poll or Receive.
	OnState  func(StateChange)
	OnSelect func(SelectionChange)
}

// ErrUnknownPath is wrapped when a path has no probe session.
var ErrUnknownPath = errors.New("no probe session on this path")

// Prober probes paths, measures their quality, and keeps their state and the
// classes' selection. It is safe for concurrent use: typically Run in one
// goroutine and Receive from the one that reads replies.
type Prober struct {
	clock    Clock
	sender   Sender
	onState  func(StateChange)
	onSelect func(SelectionChange)
	wake     chan struct{}

	emit sync.Mutex // held by Poll and Receive across their callbacks, to keep order

	mu       sync.Mutex
	sessions map[Path]*session
	classes  []Class
	sel      Selection
}

type session struct {
	path    Path
	cfg     SessionConfig
	est     *Estimator
	m       *machine
	gates   map[string]*gate
	start   time.Time
	next    time.Time
	seq     uint32
	sendErr uint64
}

// NewProber builds a prober with no session.
func NewProber(cfg Config) (*Prober, error) {
	if cfg.Sender == nil {
		return nil, errors.New("prober: no Sender")
	}
	if err := ValidateClasses(cfg.Classes); err != nil {
		return nil, fmt.Errorf("prober: %w", err)
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock{}
	}
	return &Prober{
		clock: cfg.Clock, sender: cfg.Sender, onState: cfg.OnState, onSelect: cfg.OnSelect,
		wake: make(chan struct{}, 1), sessions: map[Path]*session{},
		classes: cloneClasses(cfg.Classes), sel: Selection{},
	}, nil
}

func cloneClasses(cs []Class) []Class {
	out := make([]Class, len(cs))
	for i, c := range cs {
		c.Members = append([]dataplane.LBRMember(nil), c.Members...)
		out[i] = c
	}
	return out
}

// Add starts probing path; its first probe is due now and the next every
// interval after, on a fixed grid.
func (p *Prober) Add(path Path, cfg SessionConfig) error {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return fmt.Errorf("probe session on %v: %w", path, err)
	}
	est, err := NewEstimator(cfg.Window, cfg.StatefulReflector)
	if err != nil {
		return fmt.Errorf("probe session on %v: %w", path, err)
	}
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.sessions[path]; ok {
		return fmt.Errorf("probe session on %v: already exists", path)
	}
	s := &session{path: path, cfg: cfg, est: est, m: newMachine(cfg.Thresholds, cfg.Interval, now), start: now, next: now}
	s.gates = p.gatesFor(s)
	p.sessions[path] = s
	p.poke()
	return nil
}

// Remove stops probing path. Its replies are then refused with ErrUnknownPath.
func (p *Prober) Remove(path Path) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.sessions, path)
}

// SetClasses replaces the SLA classes. Every member starts again from a first
// verdict, with no hold-down.
func (p *Prober) SetClasses(classes []Class) error {
	if err := ValidateClasses(classes); err != nil {
		return fmt.Errorf("set classes: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.classes = cloneClasses(classes)
	for _, s := range p.sessions {
		s.gates = p.gatesFor(s)
	}
	p.poke()
	return nil
}

func (p *Prober) gatesFor(s *session) map[string]*gate {
	g := map[string]*gate{}
	for _, c := range p.classes {
		for _, m := range c.Members {
			if m.Tunnel == s.path.Tunnel {
				gc := newGate(c.SLA, c.Recover, s.cfg.Thresholds)
				g[c.Name] = &gc
			}
		}
	}
	return g
}

func (p *Prober) poke() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

type outgoing struct {
	path  Path
	probe []byte
}

type events struct {
	states  []StateChange
	selects []SelectionChange
}

// Poll sends the probes due by now, settles the probes that timed out,
// re-evaluates every path and class, and returns when it wants to be called
// next: the next probe due, or the instant a silent path would be declared down
// (so a blackout is detected exactly DownAfter intervals after the last reply,
// not at the next tick).
func (p *Prober) Poll(now time.Time) time.Time {
	p.emit.Lock()
	defer p.emit.Unlock()
	var out []outgoing
	var ev events
	p.mu.Lock()
	wake := now.Add(MaxInterval)
	for _, path := range p.pathsLocked() {
		s := p.sessions[path]
		if !now.Before(s.next) {
			if b, err := s.probe(now); err == nil {
				out = append(out, outgoing{path, b})
			} else {
				s.sendErr++
			}
			k := now.Sub(s.start)/s.cfg.Interval + 1 // probes missed by a late Poll are skipped, not bunched
			s.next = s.start.Add(k * s.cfg.Interval)
		}
		s.est.Expire(now, s.cfg.Timeout)
		p.evalLocked(s, now, &ev)
		wake = earliest(wake, s.next)
		if s.m.state != StateDown {
			if d := s.lastHeard().Add(s.m.silenceLimit()); d.After(now) {
				wake = earliest(wake, d)
			}
		}
	}
	p.selectLocked(now, &ev)
	p.mu.Unlock()

	for _, o := range out {
		if err := p.sender.Send(o.path, o.probe); err != nil {
			p.mu.Lock()
			if s, ok := p.sessions[o.path]; ok {
				s.sendErr++
			}
			p.mu.Unlock()
		}
	}
	p.deliver(ev)
	return wake
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// pathsLocked lists the sessions in a fixed order, so that callbacks come in
// the same order on every run.
func (p *Prober) pathsLocked() []Path {
	paths := make([]Path, 0, len(p.sessions))
	for k := range p.sessions {
		paths = append(paths, k)
	}
	sort.Slice(paths, func(i, j int) bool {
		if paths[i].Tunnel != paths[j].Tunnel {
			return paths[i].Tunnel < paths[j].Tunnel
		}
		return paths[i].DSCP < paths[j].DSCP
	})
	return paths
}

func (s *session) probe(now time.Time) ([]byte, error) {
	ts := NTPTimestamp(now)
	b, err := TestPacket{Seq: s.seq, Timestamp: ts, ErrorEstimate: DefaultErrorEstimate, Len: s.cfg.Size}.Marshal()
	if err != nil {
		return nil, err
	}
	s.est.Sent(s.seq, now, ts)
	s.seq++
	return b, nil
}

func (s *session) lastHeard() time.Time {
	if l := s.est.Quality().LastReply; l.After(s.start) {
		return l
	}
	return s.start
}

// Receive takes a reply (the STAMP payload, from the UDP header on) that came
// back through path at rx. A malformed reply wraps ErrMalformed, one that answers
// no outstanding probe ErrUnexpectedReply; neither changes anything.
func (p *Prober) Receive(path Path, reply []byte, rx time.Time) error {
	r, err := ParseReflectedPacket(reply)
	if err != nil {
		return fmt.Errorf("reply on %v: %w", path, err)
	}
	p.emit.Lock()
	defer p.emit.Unlock()
	var ev events
	p.mu.Lock()
	s, ok := p.sessions[path]
	if !ok {
		p.mu.Unlock()
		return fmt.Errorf("reply on %v: %w", path, ErrUnknownPath)
	}
	wasSilent := rx.Sub(s.lastHeard()) >= s.m.silenceLimit()
	if err := s.est.Reply(r, rx); err != nil {
		p.mu.Unlock()
		return fmt.Errorf("reply on %v: %w", path, err)
	}
	if s.m.state == StateDown && wasSilent {
		// The first reply after an outage: what was lost during it says nothing
		// about the path now.
		s.est.Forget(r.SenderSeq)
	}
	p.evalLocked(s, rx, &ev)
	p.selectLocked(rx, &ev)
	p.mu.Unlock()
	p.deliver(ev)
	return nil
}

func (p *Prober) evalLocked(s *session, now time.Time, ev *events) {
	q := s.est.Quality()
	from := s.m.state
	to, why := s.m.eval(now, q, now.Sub(s.lastHeard()))
	if why != "" {
		ev.states = append(ev.states, StateChange{At: now, Path: s.path, From: from, To: to, Reason: why, Quality: q})
		if to == StateDown {
			s.est.Reset() // judge the way back on probes sent from now on
		}
	}
	for _, g := range s.gates {
		switch {
		case to.Alive() || s.m.back:
			// Alive, or down with replies back: the class's own hold-down runs in
			// parallel with the tunnel's, so a member returns to its classes when
			// the tunnel returns, not a hold-down later.
			g.eval(now, q)
		case to == StateDown && g.decided:
			g.fail(now)
		}
	}
}

func (p *Prober) statusLocked() map[Path]Status {
	out := make(map[Path]Status, len(p.sessions))
	for path, s := range p.sessions {
		in := make(map[string]bool, len(s.gates))
		for name, g := range s.gates {
			in[name] = g.decided && g.good
		}
		out[path] = Status{Path: path, State: s.m.state, Since: s.m.since, Quality: s.est.Quality(), InSLA: in, SendErrors: s.sendErr}
	}
	return out
}

func (p *Prober) selectLocked(now time.Time, ev *events) {
	sel := Select(p.classes, p.statusLocked(), p.sel)
	for _, c := range p.classes {
		if old, cur := p.sel[c.Name], sel[c.Name]; !slices.Equal(old, cur) {
			ev.selects = append(ev.selects, SelectionChange{At: now, Class: c.Name, Members: cur})
		}
	}
	p.sel = sel
}

func (p *Prober) deliver(ev events) {
	if p.onState != nil {
		for _, c := range ev.states {
			p.onState(c)
		}
	}
	if p.onSelect != nil {
		for _, c := range ev.selects {
			p.onSelect(c)
		}
	}
}

// Status is every session's state and quality.
func (p *Prober) Status() map[Path]Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.statusLocked()
}

// Selection is the current selection of every class.
func (p *Prober) Selection() Selection {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(Selection, len(p.sel))
	for k, v := range p.sel {
		out[k] = slices.Clone(v)
	}
	return out
}

// Run polls on the prober's clock until ctx is done.
func (p *Prober) Run(ctx context.Context) error {
	for {
		next := p.Poll(p.clock.Now())
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.clock.After(next.Sub(p.clock.Now())):
		case <-p.wake:
		}
	}
}
