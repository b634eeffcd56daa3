package main

// Hitless restart (docs/operations.md, "Restart and upgrade"): the data path is
// pinned under bpffs_dir and keeps forwarding while the agent is down; what
// controllers wrote is kept under state_dir. Startup takes both over: open (and
// lock) the state, load the data path over the pins, attach (a port left
// running swaps in the new program atomically), release what is no longer
// configured, restore the P4Runtime state into the server and the data path,
// then serve.

import (
	"errors"
	"fmt"
	"io"

	"go.uber.org/zap"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/server"
	"github.com/linx-sdwan/linx/server/p4rtsrv"
	"github.com/linx-sdwan/linx/server/p4rtsrv/journal"
)

// openState opens and locks state_dir (nil with the in-memory data path, which
// has nothing to restart hitlessly). A second agent on the same directory is
// refused here, before it touches the data path the first one runs.
func openState(c *config.Config, memory bool, log *zap.Logger) (*journal.Dir, error) {
	if memory {
		log.Debug("in-memory data path: state_dir and bpffs_dir are not used")
		return nil, nil
	}
	st, err := journal.Open(c.StateDir)
	if errors.Is(err, journal.ErrLocked) {
		return nil, fmt.Errorf("state_dir %s is in use: is another linx-agent running with it?", c.StateDir)
	}
	if err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	return st, nil
}

// persistOf is st as the server's Persist (a nil *journal.Dir must not become a
// non-nil interface).
func persistOf(st *journal.Dir) p4rtsrv.Persist {
	if st == nil {
		return nil
	}
	return st
}

// loadDataplane loads the data path (over the pins of bpffs_dir, if any) and
// returns it with the function that stops it. A clean stop detaches every port
// and removes the pins, or, with leave_running_on_stop, leaves the pipeline
// forwarding for the next start to take over. An agent that fails leaves a
// pipeline it took over running (it was forwarding before this start; the next
// one takes it over again), and detaches one it attached itself.
func loadDataplane(c *config.Config, memory bool, log *zap.Logger) (dataplane.Dataplane, func(clean bool), error) {
	opts := c.DataplaneOptions()
	if memory {
		dp := memdp.New(opts)
		return dp, func(bool) { dp.Close() }, nil
	}
	opts.LeaveRunning = c.LeaveRunningOnStop
	if opts.PinDir != "" {
		if err := config.CheckBPFFS(opts.PinDir); err != nil {
			return nil, nil, fmt.Errorf("bpffs_dir: %w", err)
		}
	}
	e, err := xdp.Load(opts)
	if errors.Is(err, xdp.ErrIncompatiblePins) {
		return nil, nil, fmt.Errorf("load data path: %w\n"+
			"The pipeline running from %s cannot be taken over by this build or configuration (see docs/operations.md, \"Restart and upgrade\"): "+
			"stop it with the previous build and leave_running_on_stop: false, or remove %s (its ports stop forwarding until this agent has started)", err, opts.PinDir, opts.PinDir)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load data path: %w", err)
	}
	stop := func(clean bool) {
		leave := opts.LeaveRunning
		if !clean {
			leave = false
			for _, p := range e.Ports() {
				leave = leave || e.TookOver(p.ID)
			}
		}
		e.SetLeaveRunning(leave)
		if err := e.Close(); err != nil {
			log.Warn("closing the data path", zap.Error(err))
		}
		if opts.PinDir == "" {
			return
		}
		if leave {
			log.Info("data path left running: the next start takes it over", zap.String("bpffs_dir", opts.PinDir),
				zap.Bool("leave_running_on_stop", opts.LeaveRunning), zap.Bool("clean_stop", clean))
			return
		}
		if err := xdp.RemovePins(opts.PinDir); err != nil {
			log.Warn("removing the data path's pins", zap.String("bpffs_dir", opts.PinDir), zap.Error(err))
		}
	}
	return e, stop, nil
}

// tookOver reports whether the data path took port id over from the previous
// agent rather than attaching anew.
func tookOver(dp dataplane.Dataplane, id dataplane.PortID) bool {
	e, ok := dp.(*xdp.Dataplane)
	return ok && e.TookOver(id)
}

// releaseStale detaches the ports the previous agent left running that are no
// longer configured, and the rest of its pipeline. Failing that is not fatal:
// what is left is logged, and the next clean stop removes it.
func releaseStale(dp dataplane.Dataplane, log *zap.Logger) {
	e, ok := dp.(*xdp.Dataplane)
	if !ok {
		return
	}
	stale, err := e.ReleaseStale()
	for _, name := range stale {
		log.Info("detached a port the previous agent left running: it is no longer configured", zap.String("interface", name))
	}
	if err != nil {
		log.Warn("releasing what the previous agent left running", zap.Error(err))
	}
}

// logRestored says what the server took over from state_dir.
func logRestored(srv *server.Server, st *journal.Dir, log *zap.Logger) {
	if st == nil {
		return
	}
	r := srv.P4RT.Restored()
	if r.Records == 0 {
		log.Info("no P4Runtime state to restore", zap.String("state_dir", st.Path()))
		return
	}
	log.Info("restored the P4Runtime state", zap.String("state_dir", st.Path()),
		zap.Bool("pipeline_committed", r.Configured), zap.Uint64("cookie", r.Cookie),
		zap.Int("entries", r.Entries), zap.Int("pdrs", r.PDRs), zap.Int("members", r.Members), zap.Int("groups", r.Groups))
}

// takeoverCheckMain is "linx-agent takeover-check -c FILE", run on the gateway
// with the build about to be started: it tells whether that build, with that
// configuration, takes over the data path pinned under bpffs_dir without a gap
// (exit 0), or needs a stop and a start (exit 1).
func takeoverCheckMain(args []string, stdout, stderr io.Writer) int {
	c, file, code := loadChecked("takeover-check", "", "configuration file the agent will start with", args, stderr,
		nil, func() config.ValidateOptions { return config.ValidateOptions{} })
	if c == nil {
		return code
	}
	dir := c.BPFFSDir
	if dir == "" {
		fmt.Fprintf(stdout, "%s: bpffs_dir is not set: nothing is pinned, every start attaches anew\n", file)
		return exitOK
	}
	pinned, err := xdp.CheckPins(c.DataplaneOptions())
	switch {
	case errors.Is(err, xdp.ErrIncompatiblePins):
		fmt.Fprintf(stdout, "%s: %v\nthis build cannot take the running data path over: stop the running agent with leave_running_on_stop: false, then start this one (traffic stops in between)\n", dir, err)
		return exitFailure
	case err != nil:
		fmt.Fprintf(stderr, "linx-agent: %v\n", err)
		return exitFailure
	case !pinned:
		fmt.Fprintf(stdout, "%s: no data path pinned: the next start attaches anew\n", dir)
	default:
		fmt.Fprintf(stdout, "%s: this build takes the running data path over without a gap\n", dir)
	}
	return exitOK
}
