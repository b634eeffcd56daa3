package ctl

import (
	"slices"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// BenchmarkInstall100k is linx-bench's batch install in one process, for
// profiling (-cpuprofile, -memprofile): the real XDP data path behind the real
// server on loopback, each iteration a pipeline push, two FARs and one Write
// of 100 000 PDRs. entries/s is over the Writes alone (median of the
// iterations: run with -benchtime=Nx).
func BenchmarkInstall100k(b *testing.B) {
	testenv.RequireRoot(b)
	o := dataplane.Options{MaxPDRs: 100_000}
	dp, err := xdp.Load(o)
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Close()
	addr, stop, err := Serve(dp, o)
	if err != nil {
		b.Fatal(err)
	}
	defer stop()
	c, err := Dial(addr, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	p := Pipeline(o)
	var ds []time.Duration
	for b.Loop() {
		d, err := Install(c, p, 100_000)
		if err != nil {
			b.Fatal(err)
		}
		ds = append(ds, d)
	}
	slices.Sort(ds)
	b.ReportMetric(100_000/ds[len(ds)/2].Seconds(), "entries/s")
}
