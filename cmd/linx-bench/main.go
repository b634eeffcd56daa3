// Command linx-bench reproduces the paper's evaluation with baselines side by
// side (`make bench`; root): data-path throughput, CPU load and loss against
// bare XDP, kernel forwarding, kernel VXLAN and a user-space GRE forwarder,
// and the control plane's latencies, install rate and memory. It writes
// bench/results/latest.json, the generated section of docs/benchmarks.md and
// the SVG plots in docs/img. BENCH_QUICK=1 (or -quick) runs fewer points.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/linx-sdwan/linx/bench/eval"
	"github.com/linx-sdwan/linx/internal/netlab"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		fs := flag.NewFlagSet("agent", flag.ExitOnError)
		prof := fs.String("cpuprofile", "", "write a CPU profile of the agent here")
		mem := fs.String("memprofile", "", "write a heap profile of the agent here when it stops")
		fs.Parse(os.Args[2:])
		if err := eval.AgentMain(*prof, *mem); err != nil {
			fmt.Fprintln(os.Stderr, "linx-bench agent:", err)
			os.Exit(1)
		}
		return
	}
	quick := flag.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "fewer points (also BENCH_QUICK=1)")
	tiny := flag.Bool("tiny", false, "a handful of points of every figure (the driver's CI test)")
	out := flag.String("out", "bench/results/latest.json", "results file")
	doc := flag.String("doc", "docs/benchmarks.md", "markdown whose generated section is rewritten (empty: none)")
	img := flag.String("img", "docs/img", "directory of the SVG plots (empty: none)")
	only := flag.String("only", "", "comma list of parts to run: datapath, control, w2f (default all)")
	render := flag.Bool("render", false, "measure nothing: re-render the markdown and plots from -out")
	agentProf := flag.String("agentprof", "", "directory where the control part's agent writes agent-cpu.pprof and agent-heap.pprof")
	keep := flag.Bool("keep", false, "with -only control,w2f: keep the data-path results of -out (measured earlier) and replace the control-plane ones")
	flag.Parse()
	if *render {
		r, err := eval.ReadJSON(*out)
		if err == nil {
			err = eval.WritePlots(r, *img)
		}
		if err == nil {
			err = eval.UpdateDoc(r, *doc)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "linx-bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*quick, *tiny, *keep, *out, *doc, *img, *only, *agentProf); err != nil {
		fmt.Fprintln(os.Stderr, "linx-bench:", err)
		os.Exit(1)
	}
}

func run(quick, tiny, keep bool, out, doc, img, only, agentProf string) error {
	c := eval.Full()
	if quick {
		c = eval.Quick()
	}
	if tiny {
		c = eval.Tiny()
	}
	c.Log = os.Stderr
	c.AgentProf = agentProf
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	start := time.Now()
	r := &eval.Results{Meta: meta(c)}
	newNS := cleanupOnSignal()
	want := func(p string) bool { return only == "" || strings.Contains(","+only+",", ","+p+",") }
	if keep {
		if want("datapath") {
			return fmt.Errorf("-keep replaces the control-plane figures only: use -only control,w2f")
		}
		old, err := eval.ReadJSON(out)
		if err != nil {
			return fmt.Errorf("-keep: %w", err)
		}
		m := r.Meta
		r = old
		r.Meta.ControlRun = fmt.Sprintf("%s on %s, %s", m.Date, m.Commit, m.Go)
		if m.Quick {
			r.Meta.ControlRun += " (BENCH_QUICK)"
		}
	}
	if want("datapath") {
		if err := eval.DataPath(c, newNS, r); err != nil {
			return fmt.Errorf("data path: %w", err)
		}
	}
	if want("control") {
		if err := eval.Control(c, exe, newNS, r); err != nil {
			return fmt.Errorf("control plane: %w", err)
		}
	}
	if want("w2f") {
		if err := eval.WriteToForward(c, newNS, r); err != nil {
			return fmt.Errorf("write to forward: %w", err)
		}
	}
	if !keep {
		r.Meta.Seconds = time.Since(start).Seconds()
	}
	if err := eval.WriteJSON(r, out); err != nil {
		return err
	}
	if img != "" {
		if err := eval.WritePlots(r, img); err != nil {
			return err
		}
	}
	if doc != "" {
		if err := eval.UpdateDoc(r, doc); err != nil {
			return err
		}
	}
	// Not r.Meta.Seconds: with -keep that is the kept data-path run's.
	fmt.Fprintf(os.Stderr, "linx-bench: %s written in %.0f s\n", out, time.Since(start).Seconds())
	return nil
}

// cleanupOnSignal returns the namespace maker of the run: on SIGINT or
// SIGTERM every namespace it made that still exists is removed before the
// process exits (programs and maps go with the process).
func cleanupOnSignal() func(string) (*netlab.NS, error) {
	var (
		mu  sync.Mutex
		all []*netlab.NS
	)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		mu.Lock()
		for _, ns := range all {
			ns.Destroy() // a no-op for one already destroyed
		}
		fmt.Fprintf(os.Stderr, "linx-bench: %v: namespaces removed\n", s)
		os.Exit(1)
	}()
	return func(hint string) (*netlab.NS, error) {
		ns, err := netlab.NewNS("linxbench-" + hint)
		if err == nil {
			mu.Lock()
			all = append(all, ns)
			mu.Unlock()
		}
		return ns, err
	}
}

func meta(c eval.Config) eval.Meta {
	m := eval.Meta{Date: time.Now().UTC().Format("2006-01-02"), Go: runtime.Version(), CPUs: runtime.NumCPU(),
		Quick: c.Quick, Rounds: c.Rounds, FramesPerRun: c.Frames}
	if b, err := exec.Command("git", "rev-parse", "--short", "HEAD").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}
