package fwd

import (
	"testing"

	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestForwardHarness checks, with small frame counts, that every case of the
// benchmark delivers exactly what the generator sends, of the kind its path
// emits, and that the per-stage profile leaves the pipeline as it found it.
// It asserts delivery only: timings are BenchmarkForward's business.
func TestForwardHarness(t *testing.T) {
	testenv.RequireRoot(t)
	for _, c := range Cases() {
		t.Run(c.Name, func(t *testing.T) {
			top := build(t, c)
			// Twice: the second run finds recycled pages that the gateway rewrote.
			for range 2 {
				r, err := top.Run(20_000)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.Check(c.Path); err != nil {
					t.Fatalf("%v (frame % x)", err, top.Frame())
				}
			}
			dp := top.Dataplane()
			if dp == nil {
				return
			}
			// linx itself forwarded them: every packet hit the traffic's rule
			// (the kernel would deliver the downlink's too, had linx passed it)
			// and left by an XDP redirect.
			if c, err := dp.PDRDefaultCounter(); err != nil || c.Packets != 0 {
				t.Errorf("%d packets matched no rule (err %v)", c.Packets, err)
			}
			var tx uint64
			for _, p := range dp.Ports() {
				pc, err := dp.PortCounter(p.ID)
				if err != nil {
					t.Fatal(err)
				}
				tx += pc.TX.Packets
			}
			if tx != 2*20_000 {
				t.Errorf("linx redirected %d frames, want %d", tx, 2*20_000)
			}
			stats, err := EnableStats()
			if err != nil {
				testenv.SkipOrFail(t, "%v", err)
			}
			defer stats.Close()
			stages, err := top.Profile(5_000)
			if err != nil {
				t.Fatal(err)
			}
			if want := len(stagePlan[planPath(c)]) + 1; len(stages) != want {
				t.Fatalf("profile has %d stages, want %d: %+v", len(stages), want, stages)
			}
			// Every stub was taken out again: the whole path still delivers.
			r, err := top.Run(5_000)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Check(c.Path); err != nil {
				t.Fatalf("after profiling: %v", err)
			}
			if r.GatewayRuns != r.Sent {
				t.Errorf("gateway program ran %d times for %d frames", r.GatewayRuns, r.Sent)
			}
		})
	}
}

// build makes c's topology in namespaces owned by tb: they are removed when
// tb ends, passed or failed, even if Close is never reached.
func build(tb testing.TB, c Case) *Topology {
	tb.Helper()
	top, err := Build(c, testenv.NSMaker(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := top.Close(); err != nil {
			tb.Errorf("close %s: %v", c.Name, err)
		}
	})
	return top
}
