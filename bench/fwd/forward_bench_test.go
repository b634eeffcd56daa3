package fwd

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/internal/testenv"
)

var (
	rounds      = flag.Int("fwd.rounds", 5, "BenchmarkForward: rounds, each running every case once (interleaved)")
	batchFrames = flag.Uint("fwd.batch", 1<<19, "BenchmarkForward: frames per case per round (one generator run)")
	statFrames  = flag.Uint("fwd.statframes", 1<<17, "frames of each run with BPF stats on, for program ns/pkt (BenchmarkForward: 0 for none)")
	onlyCases   = flag.String("fwd.cases", "", "BenchmarkForward: comma-separated case names to build and run (default all)")
)

// BenchmarkForward measures delivered packets per second through each Case:
// 64-byte UDP frames from a live-frames XDP generator, through the gateway,
// counted at an XDP sink. It needs root.
//
// The VM is noisy, so the paths are measured interleaved, inside one
// invocation: every topology is built first, then -fwd.rounds rounds each run
// every case once (-fwd.batch frames; the starting case rotates), followed by
// a pass with BPF stats on (-fwd.statframes frames) for the gateway program's
// own time, since stats slow every program down. The sub-benchmarks then
// report, per case, medians over the rounds:
//
//	Mpps        sink frames per second of generator time (with Mpps-min, Mpps-max)
//	ns/op       wall time per delivered frame: the whole one-core chain
//	x-bare      the round's Mpps over bare's in the same round (also x-kernel
//	            on uplink, x-uplink on its variants)
//	gw-ns/pkt   the gateway program's run time per packet (not on kernel)
//	lost/sent   over all rounds; the sink must see every frame
//
// and the parent logs (shown with -v) the issue-10 ratios with their min–max.
// b.N plays no part (the sub-benchmarks only report); -count repeats the
// whole thing. So:
//
//	go test -run '^$' -bench 'Forward$' -benchtime 1x -v ./bench/fwd/ -fwd.rounds 9
func BenchmarkForward(b *testing.B) {
	testenv.RequireRoot(b)
	if *rounds < 1 {
		b.Fatalf("-fwd.rounds %d: want at least 1", *rounds)
	}
	var cases []Case
	for _, c := range Cases() {
		if *onlyCases == "" || slices.Contains(strings.Split(*onlyCases, ","), c.Name) {
			cases = append(cases, c)
		}
	}
	tops := make([]*Topology, len(cases))
	for i, c := range cases {
		tops[i] = build(b, c)
		if _, err := tops[i].Run(uint32(*batchFrames / 8)); err != nil { // warm caches
			b.Fatal(err)
		}
	}

	runs := make([][]Result, len(cases)) // [case][round]
	gw := make([][]float64, len(cases))
	for r := range *rounds {
		for k := range cases {
			i := (k + r) % len(cases)
			res, err := tops[i].Run(uint32(*batchFrames))
			if err != nil {
				b.Fatal(err)
			}
			if err := res.Check(cases[i].Path); err != nil {
				b.Logf("round %d, %s: %v", r+1, cases[i].Name, err)
			}
			runs[i] = append(runs[i], res)
		}
		if *statFrames == 0 {
			continue
		}
		stats, err := EnableStats()
		if err != nil {
			b.Logf("no gateway ns/pkt: %v", err)
			continue
		}
		for i, top := range tops {
			if top.entry == nil {
				continue
			}
			res, err := top.Run(uint32(*statFrames))
			if err != nil {
				stats.Close()
				b.Fatal(err)
			}
			gw[i] = append(gw[i], res.GatewayNsPerPkt())
		}
		stats.Close()
	}

	mpps := func(i int) []float64 {
		var v []float64
		for _, r := range runs[i] {
			v = append(v, r.Mpps())
		}
		return v
	}
	index := map[string]int{}
	for i, c := range cases {
		index[c.Name] = i
	}
	// ratio returns a's Mpps over b's, round by round.
	ratio := func(a, b string) []float64 {
		ia, oka := index[a]
		ib, okb := index[b]
		if !oka || !okb {
			return nil
		}
		var v []float64
		for r := range runs[ia] {
			if d := runs[ib][r].Mpps(); d > 0 {
				v = append(v, runs[ia][r].Mpps()/d)
			}
		}
		return v
	}

	for i, c := range cases {
		b.Run("path="+c.Name, func(b *testing.B) {
			for range b.N { // the measurement happened above, interleaved
			}
			m := mpps(i)
			med, lo, hi := medianRange(m)
			b.ReportMetric(med, "Mpps")
			b.ReportMetric(lo, "Mpps-min")
			b.ReportMetric(hi, "Mpps-max")
			if med > 0 {
				b.ReportMetric(1e3/med, "ns/op")
			}
			for _, to := range ratiosTo(c.Name) {
				if x := ratio(c.Name, to); len(x) > 0 {
					med, _, _ := medianRange(x)
					b.ReportMetric(med, "x-"+to)
				}
			}
			if len(gw[i]) > 0 {
				med, _, _ := medianRange(gw[i])
				b.ReportMetric(med, "gw-ns/pkt")
			}
			var sum Result
			for _, r := range runs[i] {
				sum.Add(r)
			}
			b.ReportMetric(float64(sum.Lost())/float64(sum.Sent), "lost/sent")
		})
	}

	var s []string
	for _, q := range [][3]string{
		{"minimal/bare", "minimal", "bare"},
		{"uplink/bare", "uplink", "bare"},
		{"uplink/minimal", "uplink", "minimal"},
		{"downlink/bare", "downlink", "bare"},
		{"uplink/kernel", "uplink", "kernel"},
		{"1Mflows/uplink", "uplink-1Mflows", "uplink"},
		{"100kpdrs/uplink", "uplink-100kpdrs", "uplink"},
		{"ipv6/uplink", "uplink-ipv6", "uplink"},
	} {
		if v := ratio(q[1], q[2]); len(v) > 0 {
			med, lo, hi := medianRange(v)
			s = append(s, fmt.Sprintf("%s %.2f (%.2f–%.2f)", q[0], med, lo, hi))
		}
	}
	b.Logf("%d rounds of %d frames; ratios, median (min–max) of per-round ratios: %s", *rounds, *batchFrames, strings.Join(s, ", "))
}

// ratiosTo names the cases a case's Mpps is compared with, round by round.
func ratiosTo(name string) []string {
	switch {
	case name == "uplink":
		return []string{"bare", "kernel", "minimal"}
	case strings.HasPrefix(name, "uplink-"):
		return []string{"bare", "uplink"}
	}
	return []string{"bare"}
}

// medianRange returns the median, minimum and maximum of v (zeros if empty).
func medianRange(v []float64) (med, lo, hi float64) {
	if len(v) == 0 {
		return 0, 0, 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	med = v[n/2]
	if n%2 == 0 {
		med = (v[n/2-1] + v[n/2]) / 2
	}
	return med, v[0], v[n-1]
}

// BenchmarkForwardStages splits the linx gateway program's time per packet by
// stage (Topology.Profile: BPF stats on, a drop stub in the next stage's slot),
// for every linx case. b.N is a number of profiles of -fwd.statframes frames
// per cut. Metrics are ns/pkt per stage program, named after it, plus the total.
//
//	go test -run '^$' -bench ForwardStages -count 5 -benchtime 2x ./bench/fwd/
func BenchmarkForwardStages(b *testing.B) {
	testenv.RequireRoot(b)
	parent := b
	for _, c := range Cases() {
		if _, ok := stagePlan[c.Path]; !ok {
			continue
		}
		var top *Topology
		b.Run("path="+c.Name, func(b *testing.B) {
			b.StopTimer()
			if top == nil {
				var err error
				if top, err = Build(c, testenv.NSMaker(parent)); err != nil {
					b.Fatal(err)
				}
				parent.Cleanup(func() {
					if err := top.Close(); err != nil {
						parent.Errorf("close %s: %v", c.Name, err)
					}
				})
			}
			stats, err := EnableStats()
			if err != nil {
				testenv.SkipOrFail(b, "%v", err)
			}
			defer stats.Close()
			frames := uint32(max(*statFrames, 1024))
			if _, err := top.Run(frames); err != nil { // warm caches
				b.Fatal(err)
			}
			sum := map[string]float64{}
			var order []string
			b.StartTimer()
			for range b.N {
				stages, err := top.Profile(frames)
				if err != nil {
					b.Fatal(err)
				}
				for _, s := range stages {
					if _, ok := sum[s.Name]; !ok {
						order = append(order, s.Name)
					}
					sum[s.Name] += s.NsPerPkt
				}
			}
			b.StopTimer()
			var total float64
			for _, name := range order {
				b.ReportMetric(sum[name]/float64(b.N), name+"-ns/pkt")
				total += sum[name]
			}
			b.ReportMetric(total/float64(b.N), "total-ns/pkt")
		})
	}
}
