// Package eval runs linx's reproduction of the paper's evaluation ("When
// SD-WAN meets eBPF", Fig. 3, 4, 5 and Table I) with baselines measured in
// the same run, and renders the results: JSON, the tables of
// docs/benchmarks.md and SVG plots. cmd/linx-bench is its command.
package eval

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/linx-sdwan/linx/bench/fwd"
)

// Config sizes a run.
type Config struct {
	Quick    bool
	Rounds   int       // interleaved rounds of the throughput figure
	Frames   uint32    // frames per throughput run
	Sizes    []int     // frame sizes of Fig. 3 and 5
	Rates    []float64 // offered Mpps of Table I
	LoadDur  time.Duration
	Search   int // binary-search steps of the zero-loss rate
	TrialDur time.Duration
	Writes   int   // single-update Writes of Fig. 4
	W2F      int   // write-to-forward samples
	Installs []int // batch install sizes (one Write each)
	InstallN int   // repetitions of each install
	Log      io.Writer
	// AgentProf, if set, is a directory where the control part's agent
	// writes CPU and heap profiles (agent-cpu.pprof, agent-heap.pprof).
	AgentProf string
}

// Full and Quick are the two sizes `make bench` knows.
func Full() Config {
	return Config{Rounds: 5, Frames: 131_072, Sizes: []int{64, 128, 256, 512, 1024, 1450},
		Rates: []float64{0.25, 0.5, 1, 2, 4}, LoadDur: 500 * time.Millisecond, Search: 5, TrialDur: 200 * time.Millisecond,
		Writes: 10_000, W2F: 1000, Installs: []int{1000, 10_000, 100_000}, InstallN: 3}
}

func Quick() Config {
	return Config{Quick: true, Rounds: 2, Frames: 65_536, Sizes: []int{64, 512, 1450},
		Rates: []float64{0.5, 2}, LoadDur: 250 * time.Millisecond, Search: 4, TrialDur: 150 * time.Millisecond,
		Writes: 1000, W2F: 100, Installs: []int{1000, 100_000}, InstallN: 1}
}

// Tiny is for the CI test of the driver: every figure, a handful of points.
func Tiny() Config {
	return Config{Quick: true, Rounds: 1, Frames: 8192, Sizes: []int{64},
		Rates: []float64{0.2}, LoadDur: 50 * time.Millisecond, Search: 2, TrialDur: 50 * time.Millisecond,
		Writes: 30, W2F: 5, Installs: []int{100}, InstallN: 1}
}

// The measured configurations, in the order of the tables.
var Cases = []string{"bare", "kernel", "kernel-vxlan", "userspace", "uplink", "downlink"}

func caseOf(name string, size int) fwd.Case {
	c := fwd.Case{Name: name, Path: fwd.Path(name), Flows: fwd.DefaultFlows, Size: size, Queues: 2}
	switch name {
	case "uplink", "downlink":
		c.PDRs = fwd.DefaultPDRs
	case "userspace":
		c.ForwarderCPUs = []int{fwd.CPUs() - 1}
	}
	return c
}

// cores is the generator CPU sets of the "1 core" and "2 cores" runs.
func cores(name string) [][]int {
	if name == "userspace" || fwd.CPUs() < 2 {
		return [][]int{{0}} // the forwarder has the other CPU
	}
	return [][]int{{0}, {0, 1}}
}

func (c Config) logf(format string, a ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, time.Now().Format("15:04:05 ")+format+"\n", a...)
	}
}

// DataPath runs Fig. 3, Table I and Fig. 5 into r.
func DataPath(c Config, newNS fwd.NewNS, r *Results) error {
	for _, size := range c.Sizes {
		if err := dataPathSize(c, newNS, r, size); err != nil {
			return err
		}
	}
	r.summarizeDataPath()
	return nil
}

func dataPathSize(c Config, newNS fwd.NewNS, r *Results, size int) (err error) {
	tops := map[string]*fwd.Topology{}
	defer func() {
		for _, t := range tops {
			err = errors.Join(err, t.Close())
		}
	}()
	for _, name := range Cases {
		t, err := fwd.Build(caseOf(name, size), newNS)
		if err != nil {
			return err
		}
		tops[name] = t
		if _, err := t.Run(4096); err != nil { // warm: caches, neighbours, first-packet paths
			return err
		}
	}
	// Fig. 3: unpaced, every case and core count once per round, rotating.
	tp := map[string]*Throughput{}
	for round := range c.Rounds {
		for k := range Cases {
			name := Cases[(k+round)%len(Cases)]
			for _, cpus := range cores(name) {
				res, err := tops[name].RunOn(c.Frames, cpus)
				if err != nil {
					return fmt.Errorf("%s %d B: %w", name, size, err)
				}
				key := fmt.Sprintf("%s/%d", name, len(cpus))
				if tp[key] == nil {
					tp[key] = &Throughput{Case: name, Size: size, Cores: len(cpus)}
				}
				t := tp[key]
				t.Mpps = append(t.Mpps, res.DeliveredMpps())
				t.LossPct = append(t.LossPct, 100*float64(res.Lost())/float64(max(res.Sent, 1)))
			}
		}
	}
	for _, name := range Cases {
		for _, cpus := range cores(name) {
			t := tp[fmt.Sprintf("%s/%d", name, len(cpus))]
			t.summarize()
			r.Throughput = append(r.Throughput, *t)
			c.logf("fig3 %-12s %4d B %d core(s): %.2f Mpps (%.2f–%.2f)", name, size, t.Cores, t.Median, t.Min, t.Max)
		}
	}
	// Table I at the smallest size: CPU busy vs offered rate, rates interleaved across cases.
	if size == c.Sizes[0] {
		for _, rate := range c.Rates {
			for _, name := range Cases {
				for _, cpus := range cores(name) {
					p, err := tops[name].RunPaced(rate*1e6, c.LoadDur, cpus)
					if err != nil {
						return fmt.Errorf("%s at %.2f Mpps: %w", name, rate, err)
					}
					l := Load{Case: name, Size: size, Cores: len(cpus), OfferedMpps: rate, AchievedMpps: p.OfferedMpps(),
						DeliveredMpps: float64(p.Received) / p.Elapsed.Seconds() / 1e6, Busy: p.Busy, LossPct: p.LossPct()}
					r.Load = append(r.Load, l)
					c.logf("table1 %-12s %d core(s) %.2f Mpps offered: achieved %.2f, busy %v, loss %.3f %%", name, l.Cores, rate, l.AchievedMpps, fmtBusy(l.Busy), l.LossPct)
				}
			}
		}
	}
	// Fig. 5: RFC 2544-style highest zero-loss rate, 1 core, binary search;
	// every trial is also a point of loss vs offered rate.
	for _, name := range Cases {
		hi := 0.0
		for _, t := range r.Throughput {
			if t.Case == name && t.Size == size && t.Cores == 1 {
				hi = t.Max * 1.1
			}
		}
		lo, best := 0.0, 0.0
		for range c.Search {
			mid := (lo + hi) / 2
			p, err := tops[name].RunPaced(mid*1e6, c.TrialDur, []int{0})
			if err != nil {
				return fmt.Errorf("%s zero-loss trial at %.2f Mpps: %w", name, mid, err)
			}
			ach := p.OfferedMpps()
			r.Loss = append(r.Loss, LossPoint{Case: name, Size: size, OfferedMpps: mid, AchievedMpps: ach, LossPct: p.LossPct()})
			if p.Lost() <= 0 && ach >= 0.97*mid {
				lo, best = mid, max(best, ach)
			} else {
				hi = mid
			}
		}
		r.ZeroLoss = append(r.ZeroLoss, ZeroLoss{Case: name, Size: size, Mpps: best})
		c.logf("fig5 %-12s %4d B: zero-loss %.2f Mpps", name, size, best)
	}
	return nil
}

func fmtBusy(b []float64) string {
	s := ""
	for i, v := range b {
		if i > 0 {
			s += "/"
		}
		s += fmt.Sprintf("%.0f%%", v)
	}
	return s
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
