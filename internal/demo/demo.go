// Package demo is linx's two-site SD-WAN demonstration, what `make demo`
// (cmd/linx-demo) runs: the real linx-agent and linxctl binaries on a lab of
// network namespaces.
//
//	host-a ── gw-a ── wan1 ┐          ┌ wan1 ── gw-b ── host-b
//	                       ├─ router ─┤
//	          gw-a ── wan2 ┘          └ wan2 ── gw-b
//
// Each site has a host behind a gateway; each gateway has two WAN links to an
// underlay router, which routes between four /24s (nothing but IPv4 forwarding
// there). Run builds linx-agent and linxctl, starts an agent in each gateway's
// namespace with examples/gateway-{a,b}.yaml, programs both over P4Runtime
// with linxctl only (DSCP EF pinned to overlay 1, the rest balanced 3:1 over
// overlays 1 and 2), then pings, moves TCP and UDP traffic, reads the
// per-overlay counters with linxctl, carries IPv6 between the sites inside
// the overlays and polices a UDP class with a FAR meter (qosacts.go), fails
// WAN link 2 under a running TCP
// transfer (the agents follow the links' state, package linkwatch) and brings
// it back. Then overlay 1 breaks with its carrier up, through the impairment
// elements on the router (package impair): a blackout, whose failover gap the
// demo measures at the receiver, and a +100 ms brownout that voice leaves
// and bulk does not (the agents' STAMP probing, docs/sla.md). Every claim it
// prints is checked; the timings are printed against their targets. Whatever happens, including
// cancellation, it then stops the agents, deletes the namespaces and its
// temporary directory, and checks that nothing is left.
//
// It needs root (namespaces, BPF) and the go tool.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
)

// NSPrefix starts the names of the demo's namespaces under /run/netns
// ("linxdemo-gw-a-<pid>-<random>"), so leftovers are easy to spot.
const NSPrefix = "linxdemo-"

// Config tunes Run. The zero value prints to standard output and finds the
// repository from the working directory.
type Config struct {
	// Out receives the readable log (nil: standard output).
	Out io.Writer
	// Root is the linx repository (its go.mod's directory); "" asks `go env
	// GOMOD` in the working directory.
	Root string
}

// Check is one claim the demo checked.
type Check struct {
	OK   bool
	Text string
}

// Report is what Run did.
type Report struct {
	Checks []Check
	// Err says why the scenario stopped before its end (nil: it ran through).
	Err error
	// Leftovers lists what teardown could not remove: namespaces, processes,
	// files. Empty when the machine is as it was.
	Leftovers []string
	// Namespaces are the namespaces the demo created (all gone afterwards
	// unless listed in Leftovers).
	Namespaces []string
	Elapsed    time.Duration
	// Timings are what the SLA acts measured (failover gap, reactions).
	Timings []Timing
}

// Timing is one measured duration.
type Timing struct {
	What string
	D    time.Duration
}

// Failed counts the failed checks.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Checks {
		if !c.OK {
			n++
		}
	}
	return n
}

// OK reports whether the scenario ran to its end, every check passed and
// nothing was left behind.
func (r *Report) OK() bool { return r.Err == nil && r.Failed() == 0 && len(r.Leftovers) == 0 }

// Run runs the demonstration and tears it down. Cancelling ctx stops the
// scenario at the next step (traffic in flight is aborted); teardown still
// runs to its end.
func Run(ctx context.Context, cfg Config) *Report {
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	d := &demo{out: cfg.Out, root: cfg.Root, report: &Report{}}
	start := time.Now()
	d.say("linx demo: two sites, two WAN links each through an underlay router, two linx-agents programmed with linxctl")
	d.say("")
	d.say("  host-a ── lan ┌──────┐ wan1 ─── ┌────────┐ ─── wan1 ┌──────┐ lan ── host-b")
	d.say("  10.1.0.2      │ gw-a │ wan2 ─── │ router │ ─── wan2 │ gw-b │      10.2.0.2")
	d.say("                └──────┘          └────────┘          └──────┘")
	d.say("  gw-a wan1 172.16.1.1, wan2 172.16.2.1; gw-b wan1 172.16.3.1, wan2 172.16.4.1; router .254 on each")
	d.say("  overlay 1: gw-a wan1 <-> gw-b wan1 (GRE), overlay 2: wan2 <-> wan2 (GRE key %d)", tunnel2Key)

	// A panic still tears down before it goes on.
	done := false
	defer func() {
		if !done {
			d.teardown()
		}
	}()
	err := d.run(ctx)
	switch {
	case err != nil && ctx.Err() != nil:
		err = fmt.Errorf("interrupted: %v", context.Cause(ctx))
		d.say("\nstopped: %v", err)
	case err != nil:
		d.say("\nstopped: %v", err)
	}
	d.report.Err = err

	d.section("teardown")
	done = true
	d.teardown()
	d.verifyClean()
	d.report.Elapsed = time.Since(start)
	d.summary()
	return d.report
}

// run is everything before teardown.
func (d *demo) run(ctx context.Context) error {
	steps := []struct {
		title string
		fn    func(context.Context) error
	}{
		{"build", d.build},
		{"topology", d.buildTopology},
		{"agents", d.startAgents},
		{"program the gateways with linxctl", d.program},
		{"ping", d.ping},
		{"tcp", d.tcp},
		{"udp flows: DSCP EF pinned to overlay 1, the rest balanced 3:1", d.udp},
		{"per-overlay counters (linxctl show counters tunnels)", d.showCounters},
		{"IPv6 between the sites, inside the overlays of the IPv4 underlay", d.ipv6},
		{"a policed class: UDP to port 9000 metered at 8 Mbit/s", d.policed},
		{"failover: WAN link 2 fails under a running TCP transfer", d.failover},
		{"WAN link 2 back", d.restore},
		{"SLA blackout: overlay 1 goes black with its carrier up", d.slaBlackout},
		{"SLA brownout: +100 ms on overlay 1; voice leaves it, bulk stays", d.slaBrownout},
		{"final counters", d.final},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		d.section(s.title)
		if err := s.fn(ctx); err != nil {
			return fmt.Errorf("%s: %w", s.title, err)
		}
	}
	return nil
}

// demo is one run: its resources and its score.
type demo struct {
	out    io.Writer
	root   string
	report *Report

	tmp      string // temporary directory: binaries, configs, agent logs
	agentBin string
	ctlBin   string

	topo   *topology
	agents []*agent // gw-a, gw-b once started

	sla string // replaces the sla section of the agents' configuration ("": the examples')

	policedRed uint64 // what the policed act's meter dropped on gw-a (reason meter)
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, format+"\n", args...)
}

func (d *demo) section(title string) {
	fmt.Fprintf(d.out, "\n== %s\n", title)
}

// check records and prints one claim.
func (d *demo) check(ok bool, format string, args ...any) bool {
	c := Check{OK: ok, Text: fmt.Sprintf(format, args...)}
	d.report.Checks = append(d.report.Checks, c)
	mark := "ok  "
	if !ok {
		mark = "FAIL"
	}
	d.say("  %s  %s", mark, c.Text)
	return ok
}

// indent prints a block of text indented.
func (d *demo) indent(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		d.say("    %s", l)
	}
}

func (d *demo) summary() {
	r := d.report
	d.section("summary")
	passed := len(r.Checks) - r.Failed()
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		d.say("  %s  %s", mark, c.Text)
	}
	if r.Err != nil {
		d.say("  FAIL  the scenario stopped early: %v", r.Err)
	}
	for _, t := range r.Timings {
		d.say("  measured: %s %v", t.What, t.D.Round(time.Millisecond))
	}
	if len(r.Leftovers) == 0 {
		d.say("  left behind: nothing (namespaces, links, agent processes, temporary files all gone; the agents pinned nothing)")
	} else {
		d.say("  LEFT BEHIND: %s", strings.Join(r.Leftovers, "; "))
	}
	verdict := "PASSED"
	switch {
	case r.Err != nil:
		verdict = "FAILED (stopped early)"
	case !r.OK():
		verdict = "FAILED"
	}
	d.say("\n%s: %d/%d checks passed in %v", verdict, passed, len(r.Checks), r.Elapsed.Round(100*time.Millisecond))
}

// errAgentExited is returned when an agent stops on its own.
var errAgentExited = errors.New("agent exited")
