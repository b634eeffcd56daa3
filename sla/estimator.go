package sla

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// Quality is what the probes of one session say about its path, over the
// estimator's window of the last probes sent.
type Quality struct {
	// Samples is the number of settled probes in the window: answered, or lost.
	// Pending probes (sent, no verdict yet) are not counted.
	Samples int
	Replies int // answered probes in the window

	// RTT is the median round-trip time of the window's replies, (T4-T1)-(T3-T2):
	// the reflector's hold time is taken out and no clock offset enters.
	RTT     time.Duration
	MinRTT  time.Duration // smallest round-trip time in the window
	LastRTT time.Duration // round-trip time of the latest reply

	// Loss is the round-trip loss: lost / settled probes in the window.
	Loss float64
	// Directional says whether LossForward and LossBackward are known: only a
	// stateful reflector (its own sequence numbers) lets the sender tell the
	// direction of a loss.
	Directional  bool
	LossForward  float64 // probes the reflector never saw
	LossBackward float64 // replies that never came back

	// Jitter is the larger of the two one-way jitters, RFC 3550's interarrival
	// jitter (J += (|D| - J)/16) of each direction. One-way transit times carry the
	// clock offset between the gateways, but D, a difference of two of them, does
	// not. JitterRTT is the same filter over round-trip times.
	Jitter         time.Duration
	JitterForward  time.Duration
	JitterBackward time.Duration
	JitterRTT      time.Duration

	LastReply time.Time // zero before the first reply
	Reordered uint64    // replies that came after a later probe's reply, since the start
}

// ErrUnexpectedReply is wrapped when a reply answers no probe of the window: a
// sequence number never sent or too old, a sender timestamp that is not the one
// sent (a stale or forged reply), or a duplicate.
var ErrUnexpectedReply = errors.New("reply to no outstanding probe")

type probeStatus uint8

const (
	pending probeStatus = iota
	answered
	lost
)

type probe struct {
	seq    uint32
	sentAt time.Time // T1, sender clock
	wireTS Timestamp // T1 as written in the probe
	status probeStatus
	rtt    time.Duration
	rseq   uint32 // reflector's sequence number, when answered
}

// Estimator turns the probes of one session and their replies into a Quality.
// It is not safe for concurrent use (the Prober serialises it).
type Estimator struct {
	window   int
	stateful bool

	ring  []probe // the last window probes sent, oldest first
	jfwd  float64 // RFC 3550 filters, in nanoseconds
	jbwd  float64
	jrtt  float64
	prev  *reply // previous reply in arrival order, for jitter
	last  time.Time
	rtt   time.Duration
	reord uint64
}

type reply struct {
	t1, t4 time.Time
	t2, t3 Timestamp
	ptp    bool
	rtt    time.Duration
}

// NewEstimator keeps a window of the last window probes (at least 2). stateful
// says the reflector numbers its replies itself (RFC 8762 stateful mode), so that
// loss can be split by direction.
func NewEstimator(window int, stateful bool) (*Estimator, error) {
	if window < 2 {
		return nil, fmt.Errorf("estimator window %d: want at least 2 probes", window)
	}
	return &Estimator{window: window, stateful: stateful, ring: make([]probe, 0, window)}, nil
}

// Sent records probe seq, sent at (sender clock) with wire timestamp ts.
// Sequence numbers must increase by one per probe, as RFC 8762 asks.
func (e *Estimator) Sent(seq uint32, at time.Time, ts Timestamp) {
	if len(e.ring) == e.window {
		copy(e.ring, e.ring[1:])
		e.ring = e.ring[:e.window-1]
	}
	e.ring = append(e.ring, probe{seq: seq, sentAt: at, wireTS: ts})
}

// Reply records the reply r received at (sender clock). Probes sent before the
// one answered that are still pending are counted lost at once: a later probe
// came back, so they are overtaken (if one of them does come back later it is
// counted answered again, and reordered).
func (e *Estimator) Reply(r ReflectedPacket, at time.Time) error {
	i := e.find(r.SenderSeq)
	if i < 0 {
		return fmt.Errorf("sequence number %d: %w", r.SenderSeq, ErrUnexpectedReply)
	}
	p := &e.ring[i]
	if p.status == answered {
		return fmt.Errorf("sequence number %d answered twice: %w", r.SenderSeq, ErrUnexpectedReply)
	}
	if r.SenderTimestamp != p.wireTS {
		return fmt.Errorf("sequence number %d: sender timestamp %#x, sent %#x: %w",
			r.SenderSeq, uint64(r.SenderTimestamp), uint64(p.wireTS), ErrUnexpectedReply)
	}
	ptp := r.ErrorEstimate.PTP()
	total := at.Sub(p.sentAt)
	hold := r.Timestamp.Sub(r.ReceiveTime, ptp)
	if hold < 0 || hold > total { // a reflector clock step: keep what we know
		hold = 0
	}
	rtt := total - hold
	if p.status == lost {
		e.reord++
	}
	p.status, p.rtt, p.rseq = answered, rtt, r.Seq
	for j := range i {
		if e.ring[j].status == pending {
			e.ring[j].status = lost
		}
	}

	cur := &reply{t1: p.sentAt, t4: at, t2: r.ReceiveTime, t3: r.Timestamp, ptp: ptp, rtt: rtt}
	if q := e.prev; q != nil && q.ptp == ptp {
		fwd := cur.t2.Sub(q.t2, ptp) - cur.t1.Sub(q.t1)
		bwd := cur.t4.Sub(q.t4) - cur.t3.Sub(q.t3, ptp)
		e.jfwd = rfc3550(e.jfwd, fwd)
		e.jbwd = rfc3550(e.jbwd, bwd)
		e.jrtt = rfc3550(e.jrtt, cur.rtt-q.rtt)
	}
	e.prev, e.last, e.rtt = cur, at, rtt
	return nil
}

// rfc3550 is one step of the interarrival jitter filter, J += (|D| - J)/16.
func rfc3550(j float64, d time.Duration) float64 {
	return j + (math.Abs(float64(d))-j)/16
}

// Expire counts lost the pending probes sent at least timeout before now.
func (e *Estimator) Expire(now time.Time, timeout time.Duration) {
	for i := range e.ring {
		if e.ring[i].status == pending && now.Sub(e.ring[i].sentAt) >= timeout {
			e.ring[i].status = lost
		}
	}
}

// Reset forgets the window (loss and RTT samples) but keeps the jitter filters and
// the last reply: the prober calls it when a tunnel goes down, so that the way
// back up is judged on probes sent after the outage began.
func (e *Estimator) Reset() {
	e.ring = e.ring[:0]
	e.prev = nil
}

// Forget drops the probes sent before seq: the prober calls it on the first reply
// after an outage, so that the way back up is judged on the path as it is now.
func (e *Estimator) Forget(seq uint32) {
	if i := e.find(seq); i > 0 {
		e.ring = append(e.ring[:0], e.ring[i:]...)
	}
}

func (e *Estimator) find(seq uint32) int {
	if len(e.ring) == 0 {
		return -1
	}
	i := int(int32(seq - e.ring[0].seq)) // sequence numbers are consecutive in the ring
	if i < 0 || i >= len(e.ring) || e.ring[i].seq != seq {
		return -1
	}
	return i
}

// Quality summarises the window.
func (e *Estimator) Quality() Quality {
	q := Quality{
		LastReply:      e.last,
		LastRTT:        e.rtt,
		JitterForward:  time.Duration(e.jfwd),
		JitterBackward: time.Duration(e.jbwd),
		JitterRTT:      time.Duration(e.jrtt),
		Reordered:      e.reord,
	}
	q.Jitter = max(q.JitterForward, q.JitterBackward)
	var rtts []time.Duration
	lostN := 0
	first, last := -1, -1
	for i, p := range e.ring {
		switch p.status {
		case answered:
			rtts = append(rtts, p.rtt)
			if first < 0 {
				first = i
			}
			last = i
		case lost:
			lostN++
		}
	}
	q.Replies = len(rtts)
	q.Samples = q.Replies + lostN
	if q.Samples > 0 {
		q.Loss = float64(lostN) / float64(q.Samples)
	}
	if len(rtts) > 0 {
		slices.Sort(rtts)
		q.MinRTT = rtts[0]
		q.RTT = rtts[len(rtts)/2]
		if len(rtts)%2 == 0 {
			q.RTT = (rtts[len(rtts)/2-1] + rtts[len(rtts)/2]) / 2
		}
	}
	if e.stateful && q.Replies >= 2 {
		// Between the first and last answered probes the sender sent ds probes after
		// the first, the reflector answered dr of them, and dr - (replies-1) of those
		// answers were lost on the way back.
		a, b := e.ring[first], e.ring[last]
		ds, dr := float64(b.seq-a.seq), float64(b.rseq-a.rseq)
		if dr <= ds { // a reflector that restarted its count says nothing
			q.Directional = true
			q.LossForward = (ds - dr) / ds
			if dr > 0 {
				q.LossBackward = (dr - float64(q.Replies-1)) / dr
			}
		}
	}
	return q
}
