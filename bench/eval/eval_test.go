package eval

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestMain lets the test binary be its own agent process (StartAgent runs
// `<exe> agent`), as linx-bench is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "agent" {
		fs := flag.NewFlagSet("agent", flag.ExitOnError)
		prof := fs.String("cpuprofile", "", "")
		mem := fs.String("memprofile", "", "write a heap profile of the agent here when it stops")
		fs.Parse(os.Args[2:])
		if err := AgentMain(*prof, *mem); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestDriverTiny runs every part of the evaluation with a handful of points
// and checks the results are complete and plausible: every required key, no
// zero rates, latencies and memory in sane bounds, the plots and the
// markdown rendered. No timing is asserted beyond "non-zero and finite".
func TestDriverTiny(t *testing.T) {
	testenv.RequireRoot(t)
	c := Tiny()
	r := &Results{Meta: Meta{Quick: true}}
	newNS := testenv.NSMaker(t)
	if err := DataPath(c, newNS, r); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := Control(c, exe, newNS, r); err != nil {
		t.Fatal(err)
	}
	if err := WriteToForward(c, newNS, r); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "latest.json")
	if err := WriteJSON(r, path); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range RequiredKeys {
		v, ok := m[k].(float64)
		if !ok {
			t.Errorf("results lack %q (or it is not a number)", k)
			continue
		}
		if !(v > 0) || v > 1e9 {
			t.Errorf("%s = %v: not plausible", k, v)
		}
	}
	if r.AgentRSSMiB100kPDRs > 4096 {
		t.Errorf("agent RSS %v MiB: not plausible", r.AgentRSSMiB100kPDRs)
	}
	for _, tp := range r.Throughput {
		if tp.Median <= 0 {
			t.Errorf("%s %d B %d cores: no throughput", tp.Case, tp.Size, tp.Cores)
		}
	}
	if want := len(Cases) * len(c.Rates); len(r.Load) < want {
		t.Errorf("%d load points, want at least %d", len(r.Load), want)
	}
	if len(r.ZeroLoss) != len(Cases)*len(c.Sizes) {
		t.Errorf("%d zero-loss points, want %d", len(r.ZeroLoss), len(Cases)*len(c.Sizes))
	}
	if err := WritePlots(r, dir); err != nil {
		t.Fatal(err)
	}
	for name := range Plots(r) {
		svg, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "<polyline") {
			t.Errorf("%s: not a plot", name)
		}
	}
	doc := filepath.Join(dir, "doc.md")
	if err := os.WriteFile(doc, []byte("# x\n\n"+BeginMarker+"\nold\n"+EndMarker+"\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := UpdateDoc(r, doc); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(doc)
	if s := string(md); strings.Contains(s, "old") || !strings.Contains(s, "kept") || !strings.Contains(s, "Fig. 4 analog") {
		t.Errorf("generated section not replaced cleanly:\n%s", s)
	}
}
