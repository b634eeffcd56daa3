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
	"fmt"
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
