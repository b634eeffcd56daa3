// Command linx-demo is linx's two-site SD-WAN demonstration (`make demo`): it
// builds linx-agent and linxctl, a lab of network namespaces with a host and a
// gateway at each site and two WAN links per gateway through an underlay
// router, starts an agent in each gateway with examples/gateway-{a,b}.yaml,
// programs both with linxctl over P4Runtime, and shows ping, TCP and UDP
// traffic, per-overlay counters, load balancing, and a WAN link failing under
// a running transfer. It tears everything down at the end, on failure and on
// SIGINT/SIGTERM, and checks that nothing is left. Every claim it prints is
// checked; it exits 1 if any failed (package internal/demo has the details).
// Killed with SIGKILL, it cannot tear down: its agents die with it, and the
// next run removes the namespaces and the directory it left.
//
// It needs root (namespaces, BPF) and the go tool, and runs from inside the
// repository:
//
//	go run ./cmd/linx-demo
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/linx-sdwan/linx/internal/demo"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// runTimeout bounds the scenario; teardown comes on top.
const runTimeout = 2 * time.Minute

func main() {
	if code, done := parseArgs(os.Args[1:], os.Stderr); done {
		os.Exit(code)
	}
	if p := netlab.PrivProblem(); p != "" {
		fmt.Fprintf(os.Stderr, "linx-demo needs root with CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW: %s\n", p)
		os.Exit(2)
	}
	if p := netlab.XDPProblem(); p != "" {
		fmt.Fprintf(os.Stderr, "linx-demo needs BPF: %s\n", p)
		os.Exit(2)
	}
	// stop runs after Run has torn everything down: a second Ctrl-C during
	// teardown is swallowed rather than leaving things half-removed.
	sigctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeoutCause(sigctx, runTimeout, fmt.Errorf("no result within %v", runTimeout))
	defer cancel()
	r := demo.Run(ctx, demo.Config{})
	if !r.OK() {
		stop()
		os.Exit(1)
	}
}

// parseArgs handles the command line: linx-demo takes no flags and no
// arguments, so -h prints the usage and anything else is refused, in both
// cases before anything is started. done says to exit with code.
func parseArgs(args []string, stderr io.Writer) (code int, done bool) {
	fs := flag.NewFlagSet("linx-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: linx-demo

Runs linx's two-site SD-WAN demonstration (make demo) in network namespaces:
two gateways with the real linx-agent, programmed with linxctl, traffic, load
balancing and a WAN link failure, every claim checked; then tears it all down.
Needs root and the go tool; run it from inside the repository. No flags.`)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, true
		}
		return 2, true
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "linx-demo: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2, true
	}
	return 0, false
}
