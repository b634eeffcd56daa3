package eval

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// The paper's published numbers (other hardware: a 10 GbE Intel X550T, TRex).
const (
	PaperMpps64   = 10.0 // ~10 Mpps at 50-byte packets (64-byte frames)
	PaperMeanMs   = 0.8155
	PaperP50Ms    = 0.7
	PaperP90Ms    = 1.6
	PaperMaxMs    = 2.6
	paperHardware = "paper, other hardware: X550T 10 GbE"
)

// WriteJSON writes r to path.
func WriteJSON(r *Results, path string) error {
	b, err := json.MarshalIndent(r, "", " ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// Plots renders every figure of r, by file name.
func Plots(r *Results) map[string]string {
	out := map[string]string{}
	var mpps, gbps []Series
	for _, name := range Cases {
		for _, cores := range []int{1, 2} {
			var x, y, g []float64
			for _, t := range r.Throughput {
				if t.Case == name && t.Cores == cores {
					x, y, g = append(x, float64(t.Size)), append(y, t.Median), append(g, t.Gbps)
				}
			}
			if len(x) == 0 {
				continue
			}
			label := fmt.Sprintf("%s, %d core", name, cores)
			if cores == 2 {
				label += "s"
			}
			col := caseColor(name)
			mpps = append(mpps, Series{Name: label, X: x, Y: y, Dashed: cores == 2, Color: col})
			gbps = append(gbps, Series{Name: label, X: x, Y: g, Dashed: cores == 2, Color: col})
		}
	}
	out["fig3-mpps.svg"] = Plot{Title: "Fig. 3 analog: throughput vs frame size (veth, median of rounds)",
		XLabel: "frame size (bytes)", YLabel: "delivered Mpps", Series: mpps,
		HRefs: []Ref{{PaperMpps64, "~10 Mpps at 64 B (" + paperHardware + ")"}}}.SVG()
	out["fig3-gbps.svg"] = Plot{Title: "Fig. 3 analog: throughput vs frame size",
		XLabel: "frame size (bytes)", YLabel: "delivered Gbit/s (L2 frames)", Series: gbps,
		HRefs: []Ref{{10, "10 GbE line rate (paper's NIC)"}}}.SVG()

	var load []Series
	for _, name := range Cases {
		for _, cores := range []int{1, 2} {
			var x, y []float64
			for _, l := range r.Load {
				if l.Case == name && l.Cores == cores {
					x = append(x, l.AchievedMpps)
					y = append(y, sum(l.Busy))
				}
			}
			if len(x) == 0 {
				continue
			}
			load = append(load, Series{Name: fmt.Sprintf("%s, %d core(s)", name, cores), X: x, Y: y, Dashed: cores == 2, Color: caseColor(name)})
		}
	}
	out["table1-cpu.svg"] = Plot{Title: "Table I analog: CPU busy vs offered rate (64 B; generator included)",
		XLabel: "offered Mpps (achieved)", YLabel: "CPU busy, % summed over both vCPUs", Series: load}.SVG()

	var loss, zl []Series
	if len(r.Throughput) > 0 {
		size := r.Throughput[0].Size
		for _, name := range Cases {
			var pts [][2]float64
			for _, l := range r.Loss {
				if l.Case == name && l.Size == size {
					pts = append(pts, [2]float64{l.AchievedMpps, l.LossPct})
				}
			}
			for _, l := range r.Load {
				if l.Case == name && l.Size == size && l.Cores == 1 {
					pts = append(pts, [2]float64{l.AchievedMpps, l.LossPct})
				}
			}
			slices.SortFunc(pts, func(a, b [2]float64) int {
				if a[0] < b[0] {
					return -1
				}
				if a[0] > b[0] {
					return 1
				}
				return 0
			})
			var x, y []float64
			for _, p := range pts {
				x, y = append(x, p[0]), append(y, p[1])
			}
			loss = append(loss, Series{Name: name, X: x, Y: y, Color: caseColor(name)})
		}
	}
	for _, name := range Cases {
		var x, y []float64
		for _, z := range r.ZeroLoss {
			if z.Case == name {
				x, y = append(x, float64(z.Size)), append(y, z.Mpps)
			}
		}
		zl = append(zl, Series{Name: name, X: x, Y: y, Color: caseColor(name)})
	}
	out["fig5-loss.svg"] = Plot{Title: "Fig. 5 analog: loss vs offered rate (smallest frame, 1 core)",
		XLabel: "offered Mpps (achieved)", YLabel: "loss %", Series: loss,
		HRefs: []Ref{{0.15, "0.15 % (paper, ≥ 3 queues, other hardware)"}}}.SVG()
	out["fig5-zeroloss.svg"] = Plot{Title: "Fig. 5 analog: highest zero-loss rate per frame size (RFC 2544 style, 1 core)",
		XLabel: "frame size (bytes)", YLabel: "zero-loss Mpps", Series: zl}.SVG()

	cdf := func(name string, us []float64) Series {
		s := slices.Clone(us)
		slices.Sort(s)
		x, y := make([]float64, len(s)), make([]float64, len(s))
		for i, v := range s {
			x[i], y[i] = v, float64(i+1)/float64(len(s))
		}
		return Series{Name: name, X: x, Y: y, NoDots: true}
	}
	zero := 0.0
	out["fig4-cdf.svg"] = Plot{Title: "Fig. 4 analog: control-plane latency CDF (loopback gRPC, real XDP data path)",
		XLabel: "latency (µs, log scale)", YLabel: "fraction of calls", LogX: true, YMin: &zero,
		Series: []Series{cdf("single-update Write", r.Samples.Write), cdf("empty RPC (Capabilities)", r.Samples.Empty),
			cdf("Write return → first packet", r.Samples.WriteToForward)},
		VRefs: []Ref{{PaperP50Ms * 1e3, "paper p50 0.7 ms"}, {PaperP90Ms * 1e3, "paper p90 1.6 ms"}, {PaperMaxMs * 1e3, "paper max 2.6 ms"}}}.SVG()
	return out
}

// caseColor gives a case the same colour in every plot.
func caseColor(name string) string {
	for i, c := range Cases {
		if c == name {
			return palette[i%len(palette)]
		}
	}
	return palette[len(palette)-1]
}

// ReadJSON reads results written by WriteJSON.
func ReadJSON(path string) (*Results, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &Results{}
	return r, json.Unmarshal(b, r)
}

func sum(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s
}

// WritePlots writes Plots(r) into dir.
func WritePlots(r *Results, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, svg := range Plots(r) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(svg), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Markers delimit the generated part of docs/benchmarks.md.
const (
	BeginMarker = "<!-- linx-bench:begin (generated by `make bench`; edit bench/eval/report.go instead) -->"
	EndMarker   = "<!-- linx-bench:end -->"
)

// UpdateDoc replaces the text between the markers in the markdown file path
// with Markdown(r).
func UpdateDoc(r *Results, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i, j := bytes.Index(b, []byte(BeginMarker)), bytes.Index(b, []byte(EndMarker))
	if i < 0 || j < i {
		return fmt.Errorf("%s: no %q ... %q section", path, BeginMarker, EndMarker)
	}
	var out bytes.Buffer
	out.Write(b[:i+len(BeginMarker)])
	out.WriteString("\n" + Markdown(r))
	out.Write(b[j:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// Markdown is the generated tables.
func Markdown(r *Results) string {
	var b strings.Builder
	m := r.Meta
	q := ""
	if m.Quick {
		q = " (BENCH_QUICK: fewer points)"
	}
	fmt.Fprintf(&b, "\n_Run of %s on %s%s: kernel %s, %d vCPU %q, %s; %d interleaved rounds of %d frames per throughput point; %.0f s in all._\n\n",
		m.Date, m.Commit, q, m.Kernel, m.CPUs, m.CPU, m.Go, m.Rounds, m.FramesPerRun, m.Seconds)
	if m.ControlRun != "" {
		fmt.Fprintf(&b, "_Control-plane figures (Fig. 4, batch installs, agent RSS, Write → forward) from a later run of the control part alone: %s._\n\n", m.ControlRun)
	}

	b.WriteString("#### Headline (64-byte frames, 1 core; ratios are medians of per-round ratios, min–max)\n\n| ratio | median | min–max |\n|---|---|---|\n")
	keys := make([]string, 0, len(r.Ratios))
	for k := range r.Ratios {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		v := r.Ratios[k]
		fmt.Fprintf(&b, "| %s | **%.2f×** | %.2f–%.2f |\n", k, v.Median, v.Min, v.Max)
	}

	b.WriteString("\n#### Fig. 3 analog: delivered Mpps (Gbit/s) vs frame size, median (min–max) over rounds\n\n")
	b.WriteString("![throughput vs frame size](img/fig3-mpps.svg)\n![Gbit/s vs frame size](img/fig3-gbps.svg)\n\n")
	sizes := uniqSizes(r)
	b.WriteString("| case | cores |")
	for _, s := range sizes {
		fmt.Fprintf(&b, " %d B |", s)
	}
	b.WriteString("\n|---|---|" + strings.Repeat("---|", len(sizes)) + "\n")
	for _, name := range Cases {
		for _, cores := range []int{1, 2} {
			if r.tp(name, sizes[0], cores) == nil {
				continue
			}
			fmt.Fprintf(&b, "| %s | %d |", name, cores)
			for _, s := range sizes {
				if t := r.tp(name, s, cores); t != nil {
					fmt.Fprintf(&b, " %.2f (%.2f–%.2f), %.2f Gb/s |", t.Median, t.Min, t.Max, t.Gbps)
				} else {
					b.WriteString(" — |")
				}
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\nPaper (other hardware, 10 GbE X550T, TRex): ~%.0f Mpps at 64-byte frames.\n", PaperMpps64)

	b.WriteString("\n#### Table I analog: CPU busy % per vCPU vs offered rate (64-byte frames; the generator's own work included)\n\n")
	b.WriteString("![CPU busy vs offered rate](img/table1-cpu.svg)\n\n| case | cores | offered Mpps | achieved | cpu0 % | cpu1 % | loss % |\n|---|---|---|---|---|---|---|\n")
	for _, l := range r.Load {
		b0, b1 := 0.0, 0.0
		if len(l.Busy) > 0 {
			b0 = l.Busy[0]
		}
		if len(l.Busy) > 1 {
			b1 = l.Busy[1]
		}
		fmt.Fprintf(&b, "| %s | %d | %.2f | %.2f | %.0f | %.0f | %.3f |\n", l.Case, l.Cores, l.OfferedMpps, l.AchievedMpps, b0, b1, l.LossPct)
	}

	b.WriteString("\n#### Fig. 5 analog: highest zero-loss rate (Mpps, 1 core, binary search) and loss vs offered rate\n\n")
	b.WriteString("![zero-loss rate per size](img/fig5-zeroloss.svg)\n![loss vs offered rate](img/fig5-loss.svg)\n\n| case |")
	for _, s := range sizes {
		fmt.Fprintf(&b, " %d B |", s)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(sizes)) + "\n")
	for _, name := range Cases {
		fmt.Fprintf(&b, "| %s |", name)
		for _, s := range sizes {
			v := "—"
			for _, z := range r.ZeroLoss {
				if z.Case == name && z.Size == s {
					v = fmt.Sprintf("%.2f", z.Mpps)
				}
			}
			b.WriteString(" " + v + " |")
		}
		b.WriteString("\n")
	}

	b.WriteString("\n#### Fig. 4 analog: control plane (µs)\n\n![latency CDF](img/fig4-cdf.svg)\n\n| | n | mean | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|---|\n")
	row := func(name string, s Summary) {
		fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.0f | %.0f | %.0f |\n", name, s.N, s.Mean, s.P50, s.P90, s.P99, s.Max)
	}
	row("single-update Write (PDR insert/modify/delete)", r.Write)
	row("empty RPC (Capabilities), same moments", r.Empty)
	row("Write return → first packet at the sink", r.WriteToForward)
	row("Write start → first packet at the sink", r.WriteToFwdFromStart)
	fmt.Fprintf(&b, "| paper: control signalling (other hardware) | — | %.0f | %.0f | %.0f | — | %.0f |\n", PaperMeanMs*1e3, PaperP50Ms*1e3, PaperP90Ms*1e3, PaperMaxMs*1e3)
	if r.Empty.P50 > 0 {
		fmt.Fprintf(&b, "\nWrite p50 / empty p50 = **%.2f×** (target ≤ 1.5×); Write p99 / empty p99 = **%.2f×** (target ≤ 2×); Write → forward p99 **%.0f µs** (target ≤ 1000).\n",
			r.Write.P50/r.Empty.P50, r.Write.P99/max(r.Empty.P99, 1e-9), r.WriteToForward.P99)
	}
	b.WriteString("\n| batch install (one Write) | entries/s (median) | seconds per run |\n|---|---|---|\n")
	for _, in := range r.Install {
		s := make([]string, len(in.Seconds))
		for i, v := range in.Seconds {
			s[i] = fmt.Sprintf("%.3f", v)
		}
		fmt.Fprintf(&b, "| %d PDRs | **%.0f** | %s |\n", in.PDRs, in.EntriesPerS, strings.Join(s, ", "))
	}
	fmt.Fprintf(&b, "\nAgent RSS: %.1f MiB with an empty data path, **%.1f MiB** after the 100 000-PDR batch (target ≤ 100 MiB).\n\n", r.AgentRSSMiBEmpty, r.AgentRSSMiB100kPDRs)
	return b.String()
}

func uniqSizes(r *Results) []int {
	var s []int
	for _, t := range r.Throughput {
		if !slices.Contains(s, t.Size) {
			s = append(s, t.Size)
		}
	}
	if len(s) == 0 {
		s = []int{64}
	}
	return s
}
