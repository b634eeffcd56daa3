package sla

import (
	"errors"
	"math"
	"testing"
	"time"
)

var t0 = time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)

// exchange is one probe's four timestamps; the reflector's clock is offset from
// the sender's.
type exchange struct {
	seq, rseq      uint32
	t1, t2, t3, t4 time.Time
}

func (x exchange) reply() ReflectedPacket {
	return ReflectedPacket{
		Seq: x.rseq, Timestamp: NTPTimestamp(x.t3), ErrorEstimate: DefaultErrorEstimate, ReceiveTime: NTPTimestamp(x.t2),
		SenderSeq: x.seq, SenderTimestamp: NTPTimestamp(x.t1), SenderErrorEstimate: DefaultErrorEstimate,
	}
}

func newEst(t *testing.T, window int, stateful bool) *Estimator {
	t.Helper()
	e, err := NewEstimator(window, stateful)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestRTTIsOffsetFree(t *testing.T) {
	e := newEst(t, 10, false)
	offset := time.Hour + 123*time.Millisecond // the reflector's clock is wrong
	for i, fwd := range []time.Duration{10, 12, 11} {
		fwd *= time.Millisecond
		t1 := t0.Add(time.Duration(i) * 50 * time.Millisecond)
		hold := 3 * time.Millisecond
		x := exchange{seq: uint32(i), rseq: uint32(i), t1: t1, t2: t1.Add(fwd + offset), t3: t1.Add(fwd + hold + offset), t4: t1.Add(fwd + hold + 15*time.Millisecond)}
		e.Sent(x.seq, x.t1, NTPTimestamp(x.t1))
		if err := e.Reply(x.reply(), x.t4); err != nil {
			t.Fatal(err)
		}
		want := fwd + 15*time.Millisecond
		if q := e.Quality(); q.LastRTT != want {
			t.Errorf("probe %d: RTT %v, want %v (t4-t1 minus the reflector's hold)", i, q.LastRTT, want)
		}
	}
	q := e.Quality()
	if q.RTT != 26*time.Millisecond || q.MinRTT != 25*time.Millisecond {
		t.Errorf("median %v min %v, want 26ms and 25ms", q.RTT, q.MinRTT)
	}
}

// run feeds n probes 50 ms apart with constant 20 ms RTT, answering those for
// which answer(seq) is true, in order.
func run(t *testing.T, e *Estimator, from, n uint32, answer func(uint32) bool) time.Time {
	t.Helper()
	var last time.Time
	for s := from; s < from+n; s++ {
		t1 := t0.Add(time.Duration(s) * 50 * time.Millisecond)
		e.Sent(s, t1, NTPTimestamp(t1))
		if answer(s) {
			x := exchange{seq: s, rseq: s, t1: t1, t2: t1.Add(10 * time.Millisecond), t3: t1.Add(10 * time.Millisecond), t4: t1.Add(20 * time.Millisecond)}
			if err := e.Reply(x.reply(), x.t4); err != nil {
				t.Fatal(err)
			}
			last = x.t4
		}
	}
	return last
}

func TestLossOverSlidingWindow(t *testing.T) {
	e := newEst(t, 10, false)
	last := run(t, e, 0, 10, func(s uint32) bool { return s != 3 && s != 7 })
	q := e.Quality()
	if q.Samples != 10 || q.Replies != 8 || q.Loss != 0.2 {
		t.Errorf("samples %d replies %d loss %v, want 10, 8, 0.2 (gaps counted as soon as a later probe is answered)", q.Samples, q.Replies, q.Loss)
	}
	if !q.LastReply.Equal(last) {
		t.Errorf("last reply %v, want %v", q.LastReply, last)
	}
	// Three unanswered probes are pending, not lost, until the timeout. The
	// window is now probes 3..12: 3 and 7 lost, 10..12 pending.
	run(t, e, 10, 3, func(uint32) bool { return false })
	if q := e.Quality(); q.Samples != 7 || q.Loss != 2.0/7 {
		t.Errorf("with 3 pending: samples %d loss %v, want 7 settled, 2/7", q.Samples, q.Loss)
	}
	e.Expire(t0.Add(12*50*time.Millisecond+time.Second-time.Nanosecond), time.Second)
	if q := e.Quality(); q.Samples != 9 {
		t.Errorf("just before probe 12's timeout: samples %d, want 9", q.Samples)
	}
	e.Expire(t0.Add(12*50*time.Millisecond+time.Second), time.Second)
	if q := e.Quality(); q.Samples != 10 || q.Loss != 0.5 {
		t.Errorf("after the timeout: samples %d loss %v, want 10, 0.5", q.Samples, q.Loss)
	}
	// The window slides: ten clean probes and the losses are gone.
	run(t, e, 13, 10, func(uint32) bool { return true })
	if q := e.Quality(); q.Loss != 0 || q.Samples != 10 {
		t.Errorf("after 10 clean probes: loss %v samples %d, want 0, 10", q.Loss, q.Samples)
	}
}

func TestReorderedReplyIsNotLoss(t *testing.T) {
	e := newEst(t, 10, false)
	var xs []exchange
	for s := uint32(0); s < 3; s++ {
		t1 := t0.Add(time.Duration(s) * 50 * time.Millisecond)
		e.Sent(s, t1, NTPTimestamp(t1))
		xs = append(xs, exchange{seq: s, rseq: s, t1: t1, t2: t1, t3: t1, t4: t1.Add(30 * time.Millisecond)})
	}
	for _, i := range []int{0, 2, 1} {
		if err := e.Reply(xs[i].reply(), xs[i].t4.Add(time.Duration(i)*time.Millisecond)); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			if q := e.Quality(); q.Loss != 1.0/3 {
				t.Errorf("probe 1 overtaken: loss %v, want 1/3", q.Loss)
			}
		}
	}
	if q := e.Quality(); q.Loss != 0 || q.Reordered != 1 {
		t.Errorf("loss %v reordered %d, want 0 and 1", q.Loss, q.Reordered)
	}
}

func TestUnexpectedReplies(t *testing.T) {
	e := newEst(t, 4, false)
	run(t, e, 0, 6, func(s uint32) bool { return s == 5 })
	t1 := t0.Add(5 * 50 * time.Millisecond)
	ok := exchange{seq: 5, t1: t1, t2: t1, t3: t1, t4: t1}
	stale := exchange{seq: 1, t1: t0.Add(50 * time.Millisecond)}
	future := exchange{seq: 9, t1: t1}
	forged := exchange{seq: 4, t1: t1} // sequence number sent, timestamp not
	for name, x := range map[string]exchange{"duplicate": ok, "left the window": stale, "never sent": future, "wrong timestamp": forged} {
		if err := e.Reply(x.reply(), t1); !errors.Is(err, ErrUnexpectedReply) {
			t.Errorf("%s: %v, want ErrUnexpectedReply", name, err)
		}
	}
}

func TestDirectionalLoss(t *testing.T) {
	// 20 probes; the reflector never sees 3 and 4 (forward), and its replies to
	// 10, 11 and 12 are lost (backward). A stateful reflector numbers what it
	// reflects.
	fwdLost := map[uint32]bool{3: true, 4: true}
	bwdLost := map[uint32]bool{10: true, 11: true, 12: true}
	for _, stateful := range []bool{true, false} {
		e := newEst(t, 20, stateful)
		rseq := uint32(0)
		for s := uint32(0); s < 20; s++ {
			t1 := t0.Add(time.Duration(s) * 50 * time.Millisecond)
			e.Sent(s, t1, NTPTimestamp(t1))
			if fwdLost[s] {
				continue
			}
			x := exchange{seq: s, rseq: s, t1: t1, t2: t1, t3: t1, t4: t1.Add(20 * time.Millisecond)}
			if stateful {
				x.rseq = rseq
			}
			rseq++
			if !bwdLost[s] {
				if err := e.Reply(x.reply(), x.t4); err != nil {
					t.Fatal(err)
				}
			}
		}
		q := e.Quality()
		if q.Loss != 5.0/20 {
			t.Errorf("stateful %v: round-trip loss %v, want 5/20", stateful, q.Loss)
		}
		if !stateful {
			if q.Directional {
				t.Errorf("stateless reflector: directional loss claimed")
			}
			continue
		}
		// Between probe 0 and 19: 19 sent after the first, reflector numbered 17 of
		// them, 14 replies came back after the first.
		if !q.Directional || !near(q.LossForward, 2.0/19) || !near(q.LossBackward, 3.0/17) {
			t.Errorf("forward %v backward %v (directional %v), want 2/19 and 3/17", q.LossForward, q.LossBackward, q.Directional)
		}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestJitterRFC3550(t *testing.T) {
	// The forward transit alternates 10 ms / 20 ms, the backward one is constant;
	// the reflector's clock is 7 s off. Each step has |D| = 10 ms forward, 0 back.
	e := newEst(t, 50, false)
	var j float64
	for s := uint32(0); s < 40; s++ {
		t1 := t0.Add(time.Duration(s) * 50 * time.Millisecond)
		fwd := 10 * time.Millisecond
		if s%2 == 1 {
			fwd = 20 * time.Millisecond
		}
		t2 := t1.Add(fwd + 7*time.Second)
		x := exchange{seq: s, rseq: s, t1: t1, t2: t2, t3: t2.Add(time.Millisecond), t4: t1.Add(fwd + time.Millisecond + 5*time.Millisecond)}
		e.Sent(s, t1, NTPTimestamp(t1))
		if err := e.Reply(x.reply(), x.t4); err != nil {
			t.Fatal(err)
		}
		if s > 0 {
			j += (float64(10*time.Millisecond) - j) / 16
		}
	}
	q := e.Quality()
	if d := q.JitterForward - time.Duration(j); d.Abs() > time.Microsecond {
		t.Errorf("forward jitter %v, want %v", q.JitterForward, time.Duration(j))
	}
	if q.JitterBackward > time.Microsecond {
		t.Errorf("backward jitter %v, want 0", q.JitterBackward)
	}
	if q.Jitter != q.JitterForward || q.JitterRTT != q.JitterForward {
		t.Errorf("jitter %v, rtt jitter %v, want both = forward %v", q.Jitter, q.JitterRTT, q.JitterForward)
	}
}

func TestForgetAndReset(t *testing.T) {
	e := newEst(t, 20, false)
	run(t, e, 0, 10, func(s uint32) bool { return s >= 8 })
	e.Forget(8)
	if q := e.Quality(); q.Samples != 2 || q.Loss != 0 {
		t.Errorf("after Forget: samples %d loss %v, want 2, 0", q.Samples, q.Loss)
	}
	e.Reset()
	if q := e.Quality(); q.Samples != 0 || q.LastReply.IsZero() {
		t.Errorf("after Reset: samples %d last reply %v, want 0 and kept", q.Samples, q.LastReply)
	}
	if _, err := NewEstimator(1, false); err == nil {
		t.Error("window 1 accepted")
	}
}
