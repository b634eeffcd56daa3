package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	gpb "github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/dataplane"
)

// gnmiMeters lists the meter entries the agent serves over gNMI (a Get of
// /qos), as "far=F unit=U" and "pdr=ID", with their green packet counts.
func gnmiMeters(t *testing.T, a *agent) map[string]uint64 {
	t.Helper()
	conn, err := grpc.NewClient(a.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := gpb.NewGNMIClient(conn).Get(ctx, &gpb.GetRequest{Encoding: gpb.Encoding_PROTO,
		Path: []*gpb.Path{{Elem: []*gpb.PathElem{{Name: "qos"}}}}})
	if err != nil {
		t.Fatalf("gNMI Get /qos: %v", err)
	}
	out := map[string]uint64{}
	for _, n := range resp.GetNotification() {
		for _, u := range n.GetUpdate() {
			el := u.GetPath().GetElem()
			if len(el) < 3 {
				t.Fatalf("gNMI update at %v", u.GetPath())
			}
			var keys []string
			for k, v := range el[2].GetKey() {
				keys = append(keys, k+"="+v)
			}
			sort.Strings(keys)
			entry := strings.Join(keys, " ")
			if _, ok := out[entry]; !ok {
				out[entry] = 0
			}
			var rel []string
			for _, e := range el[3:] {
				rel = append(rel, e.GetName())
			}
			if strings.Join(rel, "/") == "state/counters/green/packets" {
				out[entry] = u.GetVal().GetUintVal()
			}
		}
	}
	return out
}

func TestMeters(t *testing.T) {
	a := startAgent(t, 1)
	a.ok(t, "-m", "pipeline", "push")
	a.ok(t, "-m", "meter", "5", "cir=10mbit", "cburst=100k")
	a.ok(t, "-m", "meter", "6", "packets", "cir=1000", "cburst=50", "pir=2000", "pburst=100")
	a.ok(t, "-m", "meter", "7", "cir=8000", "cburst=1500", "eburst=3000")
	rows := decodeJSON[[]meterRow](t, a.ok(t, "show", "meters", "--json"))
	want := []meterRow{
		{FAR: 5, Unit: "bytes", Config: &meterConfigJSON{1_250_000, 100_000, 1_250_000, 100_000, 0}},
		{FAR: 7, Unit: "bytes", Config: &meterConfigJSON{8000, 1500, 8000, 1500, 3000}},
		{FAR: 6, Unit: "packets", Config: &meterConfigJSON{1000, 50, 2000, 100, 0}},
	}
	if !slices.EqualFunc(rows, want, func(a, b meterRow) bool {
		return a.FAR == b.FAR && a.Unit == b.Unit && *a.Config == *b.Config && a.Green == dataplane.Counter{}
	}) {
		t.Errorf("show meters --json: %+v, want %+v", rows, want)
	}
	if text := a.ok(t, "show", "meters"); !strings.Contains(text, "3 meters") || !strings.Contains(text, "1250000") ||
		!strings.Contains(text, "GREEN-PKTS") || !strings.Contains(text, "RED-BYTES") {
		t.Errorf("show meters:\n%s", text)
	}
	a.fails(t, exitUsage, []string{"show meters takes no arguments"}, "show", "meters", "5")
	// The agent serves the same meters over gNMI (through the SLA steering
	// that wraps its data path for controllers).
	if got, want := gnmiMeters(t, a), map[string]uint64{"far=5 unit=bytes": 0, "far=6 unit=packets": 0, "far=7 unit=bytes": 0}; !maps.Equal(got, want) {
		t.Errorf("gNMI /qos: %v, want %v", got, want)
	}
	a.ok(t, "-m", "meter", "5", "reset")
	if rows := decodeJSON[[]meterRow](t, a.ok(t, "show", "meters", "--json")); len(rows) != 2 {
		t.Errorf("after reset: %+v, want 2 meters", rows)
	}
	if rows := decodeJSON[[]meterRow](t, a.ok(t, "show", "meters", "--all", "--json")); len(rows) != 2*dataplane.DefaultOptions.MaxMeters {
		t.Errorf("--all: %d rows, want every cell", len(rows))
	}
	a.fails(t, exitError, []string{"INVALID_ARGUMENT", "pir 1000 below cir 2000"}, "-m", "meter", "5", "cir=2000", "cburst=10", "pir=1000", "pburst=10")
	a.fails(t, exitError, []string{"OUT_OF_RANGE", "index 4096"}, "-m", "meter", "4096", "cir=1", "cburst=1")
	a.fails(t, exitUsage, []string{"cir= and cburst= are required"}, "-m", "meter", "5", "cburst=10")
	a.fails(t, exitUsage, []string{"unknown unit"}, "-m", "meter", "5", "cir=10furlongs", "cburst=10")

	a.ok(t, "-m", "add", "qos", "5", "green=ef", "yellow=af11", "red=drop")
	a.ok(t, "-m", "add", "qos", "6", "yellow=drop")
	qs := decodeJSON[[]qosRow](t, a.ok(t, "show", "qos", "--json"))
	if wantQ := []qosRow{{5, "ef", "af11", "drop"}, {6, "pass", "drop", "drop"}}; !slices.Equal(qs, wantQ) {
		t.Errorf("show qos --json: %+v, want %+v", qs, wantQ)
	}
	a.ok(t, "-m", "mod", "qos", "5", "red=cs1")
	a.ok(t, "-m", "del", "qos", "6")
	qs = decodeJSON[[]qosRow](t, a.ok(t, "show", "qos", "--json"))
	if wantQ := []qosRow{{5, "pass", "pass", "cs1"}}; !slices.Equal(qs, wantQ) {
		t.Errorf("after mod and del: %+v, want %+v", qs, wantQ)
	}
	a.fails(t, exitUsage, []string{"green", "pass, drop"}, "-m", "add", "qos", "5", "green=fast")

	// A pdr entry's direct meter.
	a.ok(t, "-m", "add", "far", "1", "drop")
	a.ok(t, "-m", "add", "pdr", "prio=5", "dst=10.2.0.0/16", "far=1")
	a.ok(t, "-m", "meter", "pdr", "prio=5", "dst=10.2.0.0/16", "cir=1mbit", "cburst=10k")
	found := false
	for _, r := range decodeJSON[[]meterRow](t, a.ok(t, "show", "meters", "--json")) {
		if r.PDR != "" {
			found = strings.Contains(r.PDR, "dst=10.2.0.0/16") && r.Config != nil && *r.Config == meterConfigJSON{125_000, 10_000, 125_000, 10_000, 0}
		}
	}
	if !found {
		t.Errorf("show meters lacks the pdr entry's direct meter:\n%s", a.ok(t, "show", "meters"))
	}
	if got := gnmiMeters(t, a); len(got) != 3 || !slices.ContainsFunc(slices.Collect(maps.Keys(got)), func(k string) bool { return strings.HasPrefix(k, "pdr=") }) {
		t.Errorf("gNMI /qos after meter 5's reset and the pdr meter: %v, want far 6, far 7 and one pdr meter", got)
	}
	a.fails(t, exitError, []string{"NOT_FOUND"}, "-m", "meter", "pdr", "prio=6", "dst=10.2.0.0/16", "cir=1", "cburst=1")

	// dump prints meters and policies for apply, which restores them.
	beforeM, beforeQ := a.ok(t, "show", "meters", "--json"), a.ok(t, "show", "qos", "--json")
	d := a.ok(t, "dump")
	for _, w := range []string{"meter 6 packets cir=1000 cburst=50 pir=2000 pburst=100 eburst=0", "add qos 5 green=pass yellow=pass red=cs1",
		"cir=125000 cburst=10000 pir=125000 pburst=10000 eburst=0"} {
		if !strings.Contains(d, w) {
			t.Errorf("dump lacks %q:\n%s", w, d)
		}
	}
	file := filepath.Join(t.TempDir(), "dump")
	os.WriteFile(file, []byte(d), 0o644)
	a.ok(t, "-m", "pipeline", "push", "--force")
	a.ok(t, "-m", "apply", file)
	if m, q := a.ok(t, "show", "meters", "--json"), a.ok(t, "show", "qos", "--json"); m != beforeM || q != beforeQ {
		t.Errorf("after dump and apply:\n%s\n%s\nwant\n%s\n%s", m, q, beforeM, beforeQ)
	}
	a.fails(t, exitError, []string{"OUT_OF_RANGE", "far_id 5000"}, "-m", "add", "qos", "5000", "red=drop")
}
