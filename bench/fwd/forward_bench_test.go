package fwd

import (
	"flag"
	"fmt"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/internal/testenv"
)

var (
	batchFrames = flag.Uint("fwd.batch", 1<<19, "frames per benchmark iteration (one generator run) of BenchmarkForward")
	statFrames  = flag.Uint("fwd.statframes", 1<<17, "frames of BenchmarkForward's extra run with BPF stats on, for the gateway program's ns/pkt (0: none)")
)

// BenchmarkForward measures delivered packets per second through each Case:
// 64-byte UDP frames from a live-frames XDP generator, through the gateway,
// counted at an XDP sink. It needs root.
//
// Sub-benchmarks run in the order of Cases, each on a topology built once for
// the whole invocation; b.N is a number of generator runs of -fwd.batch frames.
// Metrics: Mpps (sink frames per second of generator time), ns/op (wall time
// per delivered frame, the whole one-core chain), gw-ns/pkt (the gateway
// program's own run time from BPF stats, in a separate run of -fwd.statframes
// frames, since stats slow every program down), lost/sent.
//
// The VM is noisy: compare paths within one run and take medians over rounds.
// -count N runs every path once per round, round after round, so the paths
// are interleaved (each round rebuilds its topologies):
//
//	go test -run '^$' -bench Forward -count 7 -benchtime 3x ./bench/fwd/
//
// Each round also logs its ratios to bare and kernel.
func BenchmarkForward(b *testing.B) {
	testenv.RequireRoot(b)
	mpps := map[string]float64{}
	parent := b
	for _, c := range Cases() {
		var top *Topology
		b.Run("path="+c.Name, func(b *testing.B) {
			b.StopTimer()
			if top == nil {
				// Built on first use (a -bench filter skips the others) and
				// owned by the parent: the testing package runs a
				// sub-benchmark's cleanups after each of its b.N rounds.
				var err error
				if top, err = Build(c, testenv.NSMaker(parent)); err != nil {
					b.Fatal(err)
				}
				parent.Cleanup(func() {
					if err := top.Close(); err != nil {
						parent.Errorf("close %s: %v", c.Name, err)
					}
				})
				if _, err := top.Run(uint32(*batchFrames / 8)); err != nil { // warm caches
					b.Fatal(err)
				}
			}
			b.StartTimer()
			var sum Result
			for range b.N {
				r, err := top.Run(uint32(*batchFrames))
				if err != nil {
					b.Fatal(err)
				}
				sum.Add(r)
			}
			b.StopTimer()
			if err := sum.Check(c.Path); err != nil {
				b.Logf("%s: %v", c.Name, err)
			}
			b.ReportMetric(sum.Mpps(), "Mpps")
			if sum.Received > 0 {
				b.ReportMetric(float64(sum.Elapsed.Nanoseconds())/float64(sum.Received), "ns/op")
			}
			b.ReportMetric(float64(sum.Lost())/float64(sum.Sent), "lost/sent")
			if ns := gatewayNs(b, top); ns > 0 {
				b.ReportMetric(ns, "gw-ns/pkt")
			}
			mpps[c.Name] = sum.Mpps()
		})
	}
	b.Log(ratios(mpps))
}

// gatewayNs runs -fwd.statframes frames with BPF stats on and returns the
// gateway program's run time per packet (0 without a program).
func gatewayNs(b *testing.B, top *Topology) float64 {
	if top.entry == nil || *statFrames == 0 {
		return 0
	}
	stats, err := EnableStats()
	if err != nil {
		b.Logf("no gateway ns/pkt: %v", err)
		return 0
	}
	defer stats.Close()
	r, err := top.Run(uint32(*statFrames))
	if err != nil {
		b.Fatal(err)
	}
	return r.GatewayNsPerPkt()
}

// ratios summarises one round: each linx case against bare and kernel, and the
// stress cases against the plain uplink.
func ratios(m map[string]float64) string {
	var s []string
	r := func(name, a, b string) {
		if m[a] > 0 && m[b] > 0 {
			s = append(s, fmt.Sprintf("%s=%.2f", name, m[a]/m[b]))
		}
	}
	r("uplink/bare", "uplink", "bare")
	r("downlink/bare", "downlink", "bare")
	r("uplink/kernel", "uplink", "kernel")
	r("1Mflows/uplink", "uplink-1Mflows", "uplink")
	r("100kpdrs/uplink", "uplink-100kpdrs", "uplink")
	if len(s) == 0 {
		return "ratios: none (cases filtered out)"
	}
	return "ratios: " + strings.Join(s, " ")
}
