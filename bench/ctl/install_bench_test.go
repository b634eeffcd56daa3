package ctl

import (
	"slices"
	"syscall"
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
// iterations: run with -benchtime=Nx); cpu-ms/install is the process's CPU
// time (user and system, client and server, pipeline push included) per
// iteration, median: on a shared machine it moves less than wall time.
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
	var ds, cpu []time.Duration
	for b.Loop() {
		c0 := cpuTime(b)
		d, err := Install(c, p, 100_000)
		if err != nil {
			b.Fatal(err)
		}
		ds, cpu = append(ds, d), append(cpu, cpuTime(b)-c0)
	}
	slices.Sort(ds)
	slices.Sort(cpu)
	b.ReportMetric(100_000/ds[len(ds)/2].Seconds(), "entries/s")
	b.ReportMetric(float64(cpu[len(cpu)/2].Microseconds())/1e3, "cpu-ms/install")
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
