// Package impair is the lab's WAN impairment element: it breaks one underlay
// path the way Internet paths break, with the carrier up, so that tests and
// the demo can show SLA steering at work. This kernel has no netem, so:
//
//   - loss (random with a probability, or deterministic every n-th frame) and
//     blackout (drop every frame) are an XDP program (bpf/impair.c) attached
//     to one interface of the underlay router, controlled through an ARRAY
//     map that Set writes;
//   - added delay and jitter are a delay line in user space: the same program
//     redirects the frames that survive to a tap device in the router's
//     namespace; a goroutine reads them from the tap, holds each for the delay
//     (± a uniform jitter, never reordering: a frame leaves no earlier than the
//     one before it), rewrites its destination MAC to the tap's and writes it
//     back, so the router's kernel forwards it as if it had just arrived.
//
// An element impairs the IPv4 frames arriving on its interface (one
// direction); impair both ends of a link for both directions. Other frames
// (ARP) always pass, so neighbours stay resolvable. It is a test tool: the
// delay line copies every frame through user space and suits probe and test
// rates (thousands of frames per second), not line rate.
package impair

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/cilium/ebpf/link"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// Config is what an element does to the IPv4 frames it sees.
type Config struct {
	Blackout bool    // drop every frame
	Loss     float64 // drop each frame with this probability (0..1)
	EveryNth int     // drop every n-th frame (0: off); with Loss, both apply
	Delay    time.Duration
	Jitter   time.Duration // delay varies uniformly in Delay ± Jitter (clamped at 0)
}

// Stats count the IPv4 frames the element saw, dropped and delayed.
type Stats struct {
	Seen, Dropped, Delayed uint64
	// Released counts the frames the delay line wrote back; Late those it
	// could not hold (its queue was full) and wrote back at once.
	Released, Late uint64
}

// Element impairs one interface.
type Element struct {
	ns     *netlab.NS
	ifname string
	objs   impairObjects
	xl     link.Link

	mu   sync.Mutex
	cfg  Config
	line *delayLine
}

// Attach loads the program onto ifname in ns (native XDP) with nothing
// impaired: it passes every frame, so it can stand where a pass program would
// (a veth end that must run XDP for the peer's redirects to arrive).
func Attach(ns *netlab.NS, ifname string) (*Element, error) {
	l, err := netlab.Link(ns, ifname)
	if err != nil {
		return nil, fmt.Errorf("impair %s: %w", ifname, err)
	}
	e := &Element{ns: ns, ifname: ifname}
	if err := loadImpairObjects(&e.objs, nil); err != nil {
		return nil, fmt.Errorf("impair %s: load: %w", ifname, err)
	}
	err = ns.Do(func() (err error) {
		e.xl, err = link.AttachXDP(link.XDPOptions{Program: e.objs.Impair, Interface: l.Attrs().Index, Flags: link.XDPDriverMode})
		return err
	})
	if err != nil {
		e.objs.Close()
		return nil, fmt.Errorf("impair %s in %s: attach: %w", ifname, ns, err)
	}
	return e, nil
}

// Set replaces the impairment. Frames already in the delay line leave when
// their time comes.
func (e *Element) Set(c Config) error {
	if c.Loss < 0 || c.Loss > 1 || math.IsNaN(c.Loss) {
		return fmt.Errorf("impair %s: loss %v: want 0..1", e.ifname, c.Loss)
	}
	if c.EveryNth < 0 || c.Delay < 0 || c.Jitter < 0 {
		return fmt.Errorf("impair %s: every_nth, delay and jitter must not be negative", e.ifname)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var ifindex uint32
	if c.Delay > 0 || c.Jitter > 0 {
		if e.line == nil {
			dl, err := newDelayLine(e.ns, "dl"+e.ifname)
			if err != nil {
				return fmt.Errorf("impair %s: %w", e.ifname, err)
			}
			e.line = dl
		}
		e.line.set(c.Delay, c.Jitter)
		ifindex = uint32(e.line.ifindex)
	}
	kc := impairImpairConfig{EveryNth: uint32(c.EveryNth), DelayIfindex: ifindex}
	if c.Blackout {
		kc.Blackout = 1
	}
	kc.LossThresh = uint32(min(c.Loss*(1<<32), math.MaxUint32))
	if err := e.objs.Config.Put(uint32(0), kc); err != nil {
		return fmt.Errorf("impair %s: write config: %w", e.ifname, err)
	}
	e.cfg = c
	return nil
}

// Config is the impairment in force.
func (e *Element) Config() Config {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cfg
}

// Pass lifts every impairment.
func (e *Element) Pass() error { return e.Set(Config{}) }

// Stats reads the counters.
func (e *Element) Stats() (Stats, error) {
	var s impairImpairStats
	if err := e.objs.Stats.Lookup(uint32(0), &s); err != nil {
		return Stats{}, fmt.Errorf("impair %s: read stats: %w", e.ifname, err)
	}
	out := Stats{Seen: s.Seen, Dropped: s.Dropped, Delayed: s.Delayed}
	e.mu.Lock()
	if e.line != nil {
		out.Released, out.Late = e.line.released.Load(), e.line.late.Load()
	}
	e.mu.Unlock()
	return out, nil
}

// Close detaches the program and removes the delay line.
func (e *Element) Close() error {
	err := e.xl.Close()
	e.mu.Lock()
	if e.line != nil {
		err = errors.Join(err, e.line.close())
		e.line = nil
	}
	e.mu.Unlock()
	return errors.Join(err, e.objs.Close())
}
