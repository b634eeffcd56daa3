package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/internal/demo"
	"github.com/linx-sdwan/linx/internal/impair"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// The SLA tests of issue 12: two real linx-agents (the demo's testbed: two
// gateways, two WAN links each through an underlay router whose WAN ends run
// the impairment element), probing each other's overlays with STAMP, and a
// path broken with its carrier up.

// slaTimeout bounds each SLA test.
const slaTimeout = 4 * time.Minute

// maxGap is the correctness bound on a failover: traffic that does not move
// to the other overlay within it never moved. The target (≤ 300 ms) is
// measured and logged, not asserted: timing belongs in reports.
const maxGap = 5 * time.Second

func newTestbed(t *testing.T, sla string) *demo.Testbed {
	t.Helper()
	testenv.RequireRoot(t)
	if _, err := exec.LookPath("go"); err != nil {
		testenv.SkipOrFail(t, "the testbed builds linx-agent and linxctl: %v", err)
	}
	tb, err := demo.StartTestbed(testenv.Context(t, slaTimeout), demo.TestbedConfig{Out: t.Output(), SLA: sla})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			// What the agents decided, for the failure's story.
			for site, name := range []string{"gw-a", "gw-b"} {
				t.Logf("%s's SLA log:\n%s", name, strings.Join(tb.LogLines(site, "sla: "), "\n"))
			}
		}
		if left := tb.Close(); len(left) > 0 {
			t.Errorf("left behind: %s", strings.Join(left, "; "))
		}
	})
	return tb
}

// waitUp waits until both agents hold both overlays up (the first verdict
// may be degraded: the first probes leave before the underlay neighbours are
// resolved and count as lost).
func waitUp(t *testing.T, ctx context.Context, tb *demo.Testbed) {
	t.Helper()
	end := time.Now().Add(30 * time.Second)
	for site := range 2 {
		for _, id := range []int{1, 2} {
			for {
				ls := tb.LogLines(site, fmt.Sprintf("sla: tunnel %d dscp 0 ", id))
				if len(ls) > 0 && strings.Contains(ls[len(ls)-1], "→ up") {
					break
				}
				if time.Now().After(end) || ctx.Err() != nil {
					t.Fatalf("site %d: overlay %d not up after 30 s: %q", site, id, ls)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
}

// startStream starts the testbed's sequence-numbered UDP from host-a to
// host-b (demo.Stream), stopped when the test ends.
func startStream(t *testing.T, tb *demo.Testbed, flows int, interval time.Duration) *demo.Stream {
	t.Helper()
	st, err := tb.StartStream(demo.SiteA, flows, interval)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Halt)
	return st
}

func tx1(t *testing.T, ctx context.Context, tb *demo.Testbed) uint64 {
	t.Helper()
	c, err := tb.TunnelTX(ctx, demo.SiteA)
	if err != nil {
		t.Fatal(err)
	}
	return c[1][0]
}

// slaRuns is how many blackouts TestSLABlackout measures: 2 by default, more
// with LINX_SLA_RUNS (the report's numbers come from 10).
func slaRuns() int {
	if n, err := strconv.Atoi(os.Getenv("LINX_SLA_RUNS")); err == nil && n > 0 {
		return n
	}
	return 2
}

// blackoutSLA is the testbed's sla section for the blackout test: defaults,
// but a tunnel counts as stable 1 s after coming back, so that runs a few
// seconds apart each start from the base hold-down (3 s) rather than one
// doubled by the previous run. Detection does not depend on it.
const blackoutSLA = `sla:
  interval: 50ms
  thresholds:
    stable: 1s`

// TestSLABlackout is issue 12's (a), (c) and (e): overlay 1 goes black with
// its carrier up; its traffic continues on overlay 2 (the gap at the receiver
// is measured from sequence-numbered UDP), a TCP transfer across the event
// completes intact, and after the blackout the overlay comes back once the
// hold-down has passed and carries traffic again.
func TestSLABlackout(t *testing.T) {
	tb := newTestbed(t, blackoutSLA)
	ctx := testenv.Context(t, slaTimeout)
	waitUp(t, ctx, tb)

	// Probe overhead: what crosses WAN link 1 from gw-a with no traffic at all
	// (gw-a's probes through overlay 1, and its reflector's replies to gw-b's).
	el := tb.Impair(demo.SiteA, 0)
	s0, err := el.Stats()
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	s1, err := el.Stats()
	if err != nil {
		t.Fatal(err)
	}
	rate := float64(s1.Seen-s0.Seen) / 2
	t.Logf("probe overhead, idle: %.1f frames/s on WAN link 1 from gw-a (probes and replies of overlay 1; 40/s expected at 50 ms), %.1f kbit/s of 110-octet frames",
		rate, rate*110*8/1000)
	// The cost is bounded: 20 probes and 20 replies a second (a late poll
	// skips probes, never bunches them), plus a few ARP-free stragglers.
	if rate == 0 || rate > 45 {
		t.Errorf("idle overlay 1 carries %.1f frames/s from gw-a: want at most 40 (20 probes and 20 replies a second) and some", rate)
	}

	var gaps, recoveries []time.Duration
	// Overlay 1's verdicts: "sla: tunnel 1 dscp 0 <from> → <to> (why)…".
	const tun = "sla: tunnel 1 dscp 0 "
	downs := func() int { return lines(tb, demo.SiteA, tun, "→ down") }
	ups := func() int { return lines(tb, demo.SiteA, tun, "→ up") }
	stalls := 0
	for run := 0; run < slaRuns(); run++ {
		t.Logf("run %d", run+1)
		if l := last(tb.LogLines(demo.SiteA, tun)); !strings.Contains(l, "→ up") {
			// A stall of this shared machine took overlay 1 down since the
			// last run (or the probe overhead's count): wait for its return.
			t.Logf("run %d: overlay 1 is not up (%q): waiting for it", run+1, l)
			waitLines(t, ctx, tb, demo.SiteA, tun, "→ up", ups(), 60*time.Second)
			time.Sleep(1500 * time.Millisecond)
		}
		down0, up0 := downs(), ups()
		var tcp *netlab.TCPStream
		if run == 0 {
			// (e): a transfer riding overlay 1 when it goes black.
			var err error
			if tcp, err = tb.StartTCPOn(ctx, 1, 24<<20, 4<<20); err != nil {
				t.Fatal(err)
			}
		}
		st := startStream(t, tb, 8, 4*time.Millisecond)
		before := tx1(t, ctx, tb)
		time.Sleep(time.Second)
		if tx1(t, ctx, tb)-before < 50 {
			t.Fatalf("run %d: overlay 1 carried no traffic before the blackout", run+1)
		}
		if downs() > down0 {
			// Overlay 1 went down with nothing broken: the agent heard no reply
			// for 200 ms, which a stall of this shared machine does too
			// (docs/sla.md: a pause over 150 ms reads as a blackout). That run
			// measures nothing; wait for the overlay and do it again.
			stalls++
			st.Halt()
			t.Logf("run %d: overlay 1 went down before the blackout (%q): a stall; again after its return", run+1, tb.LogLines(demo.SiteA, tun))
			if stalls > 3 {
				t.Fatalf("overlay 1 went down %d times with nothing broken", stalls)
			}
			waitLines(t, ctx, tb, demo.SiteA, tun, "→ up", up0, 60*time.Second)
			time.Sleep(1500 * time.Millisecond)
			run--
			continue
		}
		down0 = downs()
		b := time.Now()
		if err := tb.BreakOverlay(0, impair.Config{Blackout: true}); err != nil {
			t.Fatal(err)
		}
		detect := waitLines(t, ctx, tb, demo.SiteA, tun, "→ down", down0, 10*time.Second).Sub(b)
		line := last(tb.LogLines(demo.SiteA, tun))
		if run == 0 {
			// What an operator sees: the verdict over gNMI, through linxctl.
			if got := slaState(t, ctx, tb, demo.SiteA, 1); got != "DOWN" {
				t.Errorf("linxctl show tunnels on gw-a: overlay 1's SLA state %q after the verdict, want DOWN", got)
			}
		}
		// Keep the stream until every flow has delivered for a while after the
		// verdict (a moment's stall of the machine must not read as traffic
		// that never moved), at most maxGap.
		time.Sleep(time.Second)
		for deadline := time.Now().Add(maxGap); ; {
			if a := st.ArrivedSince(b.Add(detect + 500*time.Millisecond)); !slices.ContainsFunc(a, func(n int) bool { return n < 50 }) || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		end := time.Now()
		st.Halt()
		g := st.Gaps(b.Add(-500*time.Millisecond), end)
		worst := slices.Max(g)
		logStayers(t, run+1, st, b, b.Add(detect), end)
		after := st.ArrivedSince(b.Add(detect + 500*time.Millisecond))
		t.Logf("run %d: blackout → gw-a's verdict within %v (%q); gap at the receiver per flow %v; worst %v",
			run+1, detect.Round(time.Millisecond), line, g, worst.Round(time.Millisecond))
		if worst > maxGap {
			t.Errorf("run %d: a flow went %v without a datagram: its traffic never moved", run+1, worst)
		}
		for f, n := range after {
			if n == 0 {
				t.Errorf("run %d: flow %d delivered nothing after the verdict", run+1, f)
			}
		}
		gaps = append(gaps, worst)
		if tcp != nil {
			if err := tcp.Wait(); err != nil {
				t.Errorf("(e) the TCP transfer across the blackout failed: %v", err)
			} else {
				t.Logf("(e) the TCP transfer across the blackout completed intact: %d MiB", tcp.Size()>>20)
			}
		}

		// (c): recovery after the hold-down.
		if n := ups(); n > up0 {
			t.Errorf("run %d: overlay 1 came back while still black: %q", run+1, tb.LogLines(demo.SiteA, tun))
		}
		up0 = ups()
		e := time.Now()
		if err := tb.BreakOverlay(0, impair.Config{}); err != nil {
			t.Fatal(err)
		}
		rec := waitLines(t, ctx, tb, demo.SiteA, tun, "→ up", up0, 60*time.Second).Sub(e)
		line = last(tb.LogLines(demo.SiteA, tun))
		recoveries = append(recoveries, rec)
		t.Logf("run %d: blackout over → overlay 1 up again after %v (%q)", run+1, rec.Round(time.Millisecond), line)
		if run == 0 {
			if got := slaState(t, ctx, tb, demo.SiteA, 1); got != "UP" {
				t.Errorf("linxctl show tunnels on gw-a: overlay 1's SLA state %q after recovery, want UP", got)
			}
		}
		st = startStream(t, tb, 8, 4*time.Millisecond)
		before = tx1(t, ctx, tb)
		time.Sleep(time.Second)
		st.Halt()
		if got := tx1(t, ctx, tb) - before; got < 50 {
			t.Errorf("run %d: overlay 1 back up but carried %d packets of 8 new flows in 1 s", run+1, got)
		}
		time.Sleep(1500 * time.Millisecond) // stable: the next run starts from the base hold-down
	}
	t.Logf("failover gap over %d runs: %s", len(gaps), spread(gaps))
	t.Logf("recovery after the blackout over %d runs: %s", len(recoveries), spread(recoveries))
}

// logStayers logs what the flows that stayed on overlay 2 saw around the
// verdict (docs/sla.md: they paused when overlay 1's verdict was written): each
// one's longest gap from the blackout b to end and when it began relative to
// the verdict, against the longest gap of every flow in the 0.9 s before the
// blackout (nothing happening). A flow that went through overlay 1 has a gap
// of at least the detection time; one under half of it stayed.
func logStayers(t *testing.T, run int, st *demo.Stream, b, verdict, end time.Time) {
	t.Helper()
	base := st.Gaps(b.Add(-900*time.Millisecond), b)
	var stay []string
	for f, g := range st.LongestGaps(b, end) {
		if g.Len < verdict.Sub(b)/2 {
			stay = append(stay, fmt.Sprintf("flow %d %v from verdict%+dms, %d arrived at its end, %d lost", f, g.Len.Round(time.Millisecond),
				g.At.Sub(verdict).Milliseconds(), g.Burst, g.Missing))
		}
	}
	t.Logf("run %d: flows that stayed on overlay 2, longest gap after the blackout: %s; every flow's longest gap in the 0.9 s before it: worst %v (%v)",
		run, strings.Join(stay, ", "), slices.Max(base).Round(time.Millisecond), base)
}

// spread renders the median and min–max of ds.
func spread(ds []time.Duration) string {
	s := slices.Clone(ds)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf("median %v, min %v, max %v", med.Round(time.Millisecond), s[0].Round(time.Millisecond), s[len(s)-1].Round(time.Millisecond))
}

// lines counts site's log messages about prefix that also contain substr.
func lines(tb *demo.Testbed, site int, prefix, substr string) int {
	n := 0
	for _, l := range tb.LogLines(site, prefix) {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

// waitLines waits until lines(...) exceeds skip and returns when it did.
func waitLines(t *testing.T, ctx context.Context, tb *demo.Testbed, site int, prefix, substr string, skip int, timeout time.Duration) time.Time {
	t.Helper()
	end := time.Now().Add(timeout)
	for lines(tb, site, prefix, substr) <= skip {
		if time.Now().After(end) || ctx.Err() != nil {
			t.Fatalf("site %d: no log message %q…%q within %v; its messages about it: %q", site, prefix, substr, timeout, tb.LogLines(site, prefix))
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Now()
}

// TestSLABrownout is issue 12's (b): overlay 1 turns brown (+100 ms RTT, its
// carrier and its replies still there); the voice class leaves it while bulk
// stays, and comes back after the hold-down once the path is good again. The
// classes are the examples' (voice: RTT ≤ 50 ms on LBR 2; bulk: RTT ≤ 400 ms
// on LBR 1); voice is balanced over both overlays by LBR 2 for this test.
func TestSLABrownout(t *testing.T) {
	tb := newTestbed(t, "")
	ctx := testenv.Context(t, slaTimeout)
	waitUp(t, ctx, tb)
	_, peer := tb.Host(demo.SiteB)
	for _, cmd := range [][]string{
		{"add", "lbr", "2", "members=1:1,2:1"},
		{"add", "far", "4", "balance", "lbr=2"},
		{"add", "pdr", "prio=40", "dir=uplink", "dst=" + netip.PrefixFrom(peer, 16).Masked().String(), "dscp=ef", "far=4"},
	} {
		if out, err := tb.Ctl(ctx, demo.SiteA, append([]string{"--master"}, cmd...)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	const voice, bulk = "sla: class voice on tunnels ", "sla: class bulk on tunnels "
	waitLines(t, ctx, tb, demo.SiteA, voice, "[1 2]", 0, 20*time.Second)
	bulkBefore := lines(tb, demo.SiteA, bulk, "")
	downBefore := lines(tb, demo.SiteA, "sla: tunnel 1 dscp 0 ", "→ down")
	v1, v2, err := tb.Burst(ctx, demo.SiteA, 46<<2, 40)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("before: 40 voice flows → overlay 1 %d, overlay 2 %d datagrams", v1, v2)
	if v1 == 0 || v2 == 0 {
		t.Fatalf("voice is not balanced over both overlays before the brownout: %d, %d", v1, v2)
	}

	// Put the delay line in the path first, adding nothing, so that the
	// brownout is a clean step of +100 ms (a replies-path pause of 150 ms,
	// below the 200 ms of silence that mean down) rather than that plus the
	// line's start-up.
	if err := tb.Impair(demo.SiteA, 0).Set(impair.Config{Delay: time.Microsecond}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	b := time.Now()
	if err := tb.Impair(demo.SiteA, 0).Set(impair.Config{Delay: 100 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	left := waitLines(t, ctx, tb, demo.SiteA, voice, "[2]", 0, 20*time.Second)
	t.Logf("(b) +100 ms RTT on overlay 1 → voice left it after %v: %q", left.Sub(b).Round(time.Millisecond), tb.LogLines(demo.SiteA, voice))
	v1, v2, err = tb.Burst(ctx, demo.SiteA, 46<<2, 40)
	if err != nil {
		t.Fatal(err)
	}
	b1, b2, err := tb.Burst(ctx, demo.SiteA, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("during the brownout: 40 voice flows → overlay 1 %d, overlay 2 %d; 100 bulk flows → overlay 1 %d, overlay 2 %d datagrams", v1, v2, b1, b2)
	if v1 != 0 {
		t.Errorf("during the brownout %d voice datagrams took overlay 1", v1)
	}
	if b1 == 0 {
		t.Errorf("during the brownout no bulk flow took overlay 1: bulk should stay")
	}
	if n := lines(tb, demo.SiteA, bulk, ""); n != bulkBefore {
		t.Errorf("bulk's selection changed during the brownout: %q", tb.LogLines(demo.SiteA, bulk))
	}
	if n := lines(tb, demo.SiteA, "sla: tunnel 1 dscp 0 ", "→ down"); n != downBefore {
		t.Errorf("the brownout took overlay 1 down: %q", tb.LogLines(demo.SiteA, "sla: tunnel 1 dscp 0 "))
	}

	e := time.Now()
	if err := tb.Impair(demo.SiteA, 0).Pass(); err != nil {
		t.Fatal(err)
	}
	back := waitLines(t, ctx, tb, demo.SiteA, voice, "[1 2]", 1, 30*time.Second)
	t.Logf("(b) brownout over → voice back on overlay 1 after %v", back.Sub(e).Round(time.Millisecond))
	v1, v2, err = tb.Burst(ctx, demo.SiteA, 46<<2, 40)
	if err != nil {
		t.Fatal(err)
	}
	if v1 == 0 {
		t.Errorf("voice back on both overlays, yet 40 new voice flows left overlay 1 alone (overlay 2 %d)", v2)
	}
}

// TestSLAFlapBound is issue 12's (d): overlay 1 alternates black and good
// every 2 s. docs/sla.md bounds the switches: with good phases of g ≤ 3.5 s
// (0.5 s of samples plus the 3 s hold-down) the overlay never returns while
// the flapping lasts, so it is taken down once: 1 switch, however long the
// run. CI runs 3 cycles (12 s); LINX_SLA_FLAP_FULL=1 runs the 60 s.
//
// Both gateways run their reflectors stateful here (sla.stateful_reflector),
// so the whole loop also runs in RFC 8762's stateful mode.
func TestSLAFlapBound(t *testing.T) {
	tb := newTestbed(t, "sla:\n  interval: 50ms\n  stateful_reflector: true")
	ctx := testenv.Context(t, slaTimeout)
	waitUp(t, ctx, tb)
	cycles := 3
	if os.Getenv("LINX_SLA_FLAP_FULL") == "1" {
		cycles = 15
	}
	const tun = "sla: tunnel 1 dscp 0 "
	downs0, ups0 := lines(tb, demo.SiteA, tun, "→ down"), lines(tb, demo.SiteA, tun, "→ up")
	start := time.Now()
	for range cycles {
		if err := tb.BreakOverlay(0, impair.Config{Blackout: true}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
		if err := tb.BreakOverlay(0, impair.Config{}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Second)
	}
	downs, ups := lines(tb, demo.SiteA, tun, "→ down")-downs0, lines(tb, demo.SiteA, tun, "→ up")-ups0
	t.Logf("(d) %d cycles of 2 s black / 2 s good in %v: overlay 1 went down %d times and came back %d times: %d switches (bound 1)",
		cycles, time.Since(start).Round(time.Second), downs, ups, downs+ups)
	if downs != 1 || ups != 0 {
		t.Errorf("switches: %d down, %d up: docs/sla.md bounds them to 1 down and no return: %q", downs, ups, tb.LogLines(demo.SiteA, tun))
	}
	// Good for good now: it returns after its hold-down.
	back := waitLines(t, ctx, tb, demo.SiteA, tun, "→ up", ups0, 60*time.Second)
	t.Logf("(d) the path good for good: overlay 1 back %v later", back.Sub(start.Add(time.Duration(cycles)*4*time.Second)).Round(time.Millisecond))
}

func last(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

// slaState is overlay id's SLA state on site i as an operator reads it:
// linxctl show tunnels, which reads it from the agent over gNMI ("" when the
// agent reports none).
func slaState(t *testing.T, ctx context.Context, tb *demo.Testbed, i int, id uint32) string {
	t.Helper()
	out, err := tb.Ctl(ctx, i, "--json", "show", "tunnels")
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		ID    uint32 `json:"id"`
		State *struct {
			SLA string `json:"sla_state"`
		} `json:"state"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("linxctl --json show tunnels: %v\n%s", err, out)
	}
	for _, r := range rows {
		if r.ID == id {
			if r.State == nil {
				return ""
			}
			return r.State.SLA
		}
	}
	t.Fatalf("linxctl show tunnels lists no tunnel %d:\n%s", id, out)
	return ""
}

// TestSLAControllerClass: a class a controller writes in table sla_class
// (here with linxctl, as ONOS would over P4Runtime) reaches the agent's
// prober, which then steers that LBR; a brownout it tolerates changes nothing.
func TestSLAControllerClass(t *testing.T) {
	tb := newTestbed(t, "")
	ctx := testenv.Context(t, slaTimeout)
	waitUp(t, ctx, tb)
	for _, cmd := range [][]string{
		{"add", "lbr", "3", "members=1:1,2:1"},
		{"add", "sla", "3", "rtt=150ms", "loss=10%"},
	} {
		if out, err := tb.Ctl(ctx, demo.SiteA, append([]string{"--master"}, cmd...)...); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
	}
	// The class is named after its LBR (p4rtsrv.SLAClassName) and, with both
	// overlays within its limits, carried by both.
	waitLines(t, ctx, tb, demo.SiteA, "sla: class lbr-3 on tunnels ", "[1 2]", 0, 20*time.Second)
	if n := lines(tb, demo.SiteA, "SLA classes from the controller", ""); n == 0 {
		t.Errorf("gw-a never logged the controller's classes: %q", tb.LogLines(demo.SiteA, "sla"))
	}
}
