package xdp

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// BenchmarkMeterAccuracy offers constant-rate UDP at twice the CIR of a
// policer (pir = cir) through real veths and native XDP, at 1, 10, 100 and
// 1000 Mbit/s, and reports the delivered rate against the CIR: at the
// receiving socket, and as the meter's green count. Two bursts: 100 frames
// (124 KB), and 20 ms of the CIR (at least 100 frames): a sender that stalls
// for longer than the bucket lasts loses the tokens of the stall, so a small
// burst at a high rate measures the sender's smoothness as much as the
// policer. Where the sender cannot offer more than the CIR the case says so.
// Run with -benchtime 1x (each iteration measures for several seconds).
func BenchmarkMeterAccuracy(b *testing.B) {
	r := newPoliceRig(b)
	for _, c := range []struct {
		mbit  float64
		burst string
	}{{1, "100f"}, {10, "100f"}, {100, "100f"}, {1000, "100f"}, {100, "20ms"}, {1000, "20ms"}} {
		b.Run(fmt.Sprintf("%gMbit/burst=%s", c.mbit, c.burst), func(b *testing.B) {
			mbit := c.mbit
			cir := mbit * 1e6 / 8
			burst := uint64(100 * policeFrame)
			if c.burst == "20ms" {
				burst = max(burst, uint64(cir*0.02))
			}
			for range b.N {
				r.police(b, uint64(cir), burst)
				var offered float64
				done := make(chan struct{})
				go func() { defer close(done); _, offered = r.offer(b, 2*cir, 8*time.Second, 0) }()
				got, green := r.delivered(2*time.Second, 5*time.Second)
				<-done
				r.waitQuiet()
				b.ReportMetric(offered/cir, "offered/cir")
				b.ReportMetric(got/cir, "delivered/cir")
				b.ReportMetric(green/cir, "green/cir")
				if offered < 1.1*cir {
					b.Logf("%g Mbit/s: the sender offered only %.2f x CIR: not a policing measurement", mbit, offered/cir)
				}
			}
		})
	}
}

// BenchmarkMeterCost is the per-packet program time (BPF stats: linx_xdp's
// run time, tail-called stages included) of a metered FAR against the same
// FAR unmetered, alternated round by round on live frames; the meter's rate
// is far above the offered load, so every packet is green and passes (the
// cost is the metering, not a drop). Reports medians (and min, max) of ns
// per packet over the rounds.
func BenchmarkMeterCost(b *testing.B) {
	r := newPoliceRig(b)
	stats, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
	if err != nil {
		b.Fatalf("enable BPF stats: %v", err)
	}
	defer stats.Close()
	const rounds, frames = 9, 20000
	round := func(metered bool) float64 {
		if metered {
			r.police(b, 1<<40, 1<<30)
		} else {
			must(b, r.dp.SetMeter(dataplane.MeterID{FAR: policeFAR}, dataplane.MeterConfig{}))
		}
		r.offer(b, 0, 0, 100) // warm the flow cache with the new generation
		r.waitQuiet()
		s0, err := r.dp.objs.LinxXdp.Stats()
		must(b, err)
		r.offer(b, 0, 0, frames)
		r.waitQuiet()
		s1, err := r.dp.objs.LinxXdp.Stats()
		must(b, err)
		return float64(s1.Runtime-s0.Runtime) / float64(s1.RunCount-s0.RunCount)
	}
	for range b.N {
		var on, off []float64
		for range rounds {
			off = append(off, round(false))
			on = append(on, round(true))
		}
		slices.Sort(on)
		slices.Sort(off)
		b.ReportMetric(off[rounds/2], "unmetered-ns/pkt")
		b.ReportMetric(on[rounds/2], "metered-ns/pkt")
		b.ReportMetric(on[rounds/2]-off[rounds/2], "meter-ns/pkt")
		b.Logf("unmetered %.1f ns/pkt (%.1f–%.1f), metered %.1f (%.1f–%.1f)", off[rounds/2], off[0], off[rounds-1], on[rounds/2], on[0], on[rounds-1])
	}
}
