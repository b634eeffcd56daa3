package gnmisrv

import (
	"math"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
)

// TunnelState is an overlay's SLA state as the prober decides it (sla.State):
// the value of .../sla/state/status.
type TunnelState string

// The status values.
const (
	TunnelUp       TunnelState = "UP"
	TunnelDegraded TunnelState = "DEGRADED"
	TunnelDown     TunnelState = "DOWN"
	TunnelUnknown  TunnelState = "UNKNOWN" // no verdict yet (too few probes settled)
)

// TunnelStatus is what the SLA prober measured of one overlay (its probe
// session without DSCP: sla.Path{Tunnel: id}).
type TunnelStatus struct {
	Tunnel dataplane.TunnelID
	State  TunnelState
	// LastChange is when State last changed; zero: unknown.
	LastChange time.Time
	// RTT is the median round-trip time of the window, MinRTT its minimum,
	// Jitter the larger of the two directions' RFC 3550 jitter.
	RTT, MinRTT, Jitter time.Duration
	// Loss is the round-trip loss ratio (0..1) of the window.
	Loss float64
	// NoReplies says no probe of the window was answered: RTT, MinRTT and
	// Jitter are unknown and their leaves absent (not 0).
	NoReplies bool
	// Directional says LossForward and LossBackward are known (the far end is
	// a stateful STAMP reflector); otherwise their leaves are absent.
	Directional               bool
	LossForward, LossBackward float64
}

// TunnelQuality is the source of the overlays' measured quality: the agent
// implements it over its sla.Prober. Implementations must be safe for
// concurrent use (every Get and every active subscription calls it) and cheap:
// it is called once per snapshot. An overlay it does not report has no sla
// leaves; one it reports that is not installed is ignored. Call
// Server.QualityChanged when a state changes so that ON_CHANGE subscriptions
// send it at once instead of at their next ChangeInterval check.
type TunnelQuality interface {
	TunnelStatus() []TunnelStatus
}

// QualityChanged tells the server that an overlay's quality state changed:
// streaming subscriptions with ON_CHANGE leaves check for changes now. It does
// not block; the agent calls it from the prober's state callback.
func (s *Server) QualityChanged() {
	s.changeMu.Lock()
	close(s.changeCh)
	s.changeCh = make(chan struct{})
	s.changeMu.Unlock()
}

// changes returns a channel closed at the next QualityChanged.
func (s *Server) changes() <-chan struct{} {
	s.changeMu.Lock()
	defer s.changeMu.Unlock()
	return s.changeCh
}

// quality returns the source's status by overlay (nil without a source).
func (s *Server) quality() map[dataplane.TunnelID]*TunnelStatus {
	if s.opts.Quality == nil {
		return nil
	}
	st := s.opts.Quality.TunnelStatus()
	out := make(map[dataplane.TunnelID]*TunnelStatus, len(st))
	for i := range st {
		out[st[i].Tunnel] = &st[i]
	}
	return out
}

// micros is d in whole microseconds, 0 for negative durations.
func micros(d time.Duration) uint64 {
	if d < 0 {
		return 0
	}
	return uint64(d / time.Microsecond)
}

// ppm is a ratio in parts per million, clamped to 0..1e6.
func ppm(r float64) uint32 {
	switch {
	case math.IsNaN(r) || r <= 0:
		return 0
	case r >= 1:
		return 1_000_000
	}
	return uint32(math.Round(r * 1e6))
}

func unixNanos(t time.Time) uint64 {
	if t.IsZero() || t.UnixNano() < 0 {
		return 0
	}
	return uint64(t.UnixNano())
}

// slaLeaves are the quality leaves of an overlay's interface entry, under
// /interfaces/interface[name=tunnel-<id>]/sla/state (module linx-sla). status
// and last-change are sent on change; the measures, which move with every
// probe, are sampled like counters.
func slaLeaves() []*leafDef {
	has := func(d *ifaceData) bool { return d.sla != nil }
	directional := func(d *ifaceData) bool { return d.sla != nil && d.sla.Directional }
	replied := func(d *ifaceData) bool { return d.sla != nil && !d.sla.NoReplies }
	leaf := func(name string, typ leafType, sampled bool, present func(*ifaceData) bool, get func(*TunnelStatus) value) *leafDef {
		return &leafDef{rel: []string{"sla", "state", name}, module: modSLA, typ: typ, class: classOperational,
			sampled: sampled, present: present, get: func(d *ifaceData) value { return get(d.sla) }}
	}
	return []*leafDef{
		leaf("status", tString, false, has, func(q *TunnelStatus) value {
			if q.State == "" {
				return str(string(TunnelUnknown))
			}
			return str(string(q.State))
		}),
		leaf("last-change", tUint64, false, has, func(q *TunnelStatus) value { return u64(unixNanos(q.LastChange)) }),
		leaf("rtt", tUint64, true, replied, func(q *TunnelStatus) value { return u64(micros(q.RTT)) }),
		leaf("rtt-min", tUint64, true, replied, func(q *TunnelStatus) value { return u64(micros(q.MinRTT)) }),
		leaf("jitter", tUint64, true, replied, func(q *TunnelStatus) value { return u64(micros(q.Jitter)) }),
		leaf("loss", tUint32, true, has, func(q *TunnelStatus) value { return u32(ppm(q.Loss)) }),
		leaf("loss-forward", tUint32, true, directional, func(q *TunnelStatus) value { return u32(ppm(q.LossForward)) }),
		leaf("loss-backward", tUint32, true, directional, func(q *TunnelStatus) value { return u32(ppm(q.LossBackward)) }),
	}
}
