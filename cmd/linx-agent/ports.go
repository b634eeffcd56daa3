package main

// The host conditions under which the data path would lose traffic without a
// word (internal/portcheck): the agent fixes forwarding, warns about veth
// peers that drop redirected frames, names whoever holds a busy port; validate
// reports the same without changing anything.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"go.uber.org/zap"

	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/internal/portcheck"
)

// checkPort is config.ValidateOptions.Port: what the agent's start would find
// on the interface, without changing it.
func checkPort(c *config.Config, it config.Interface) (errs, warns []string) {
	if h, ok, err := portcheck.XDPHolder(it.Name); err != nil {
		warns = append(warns, err.Error())
	} else if ok && !takenOver(c, it.Name, h) {
		errs = append(errs, fmt.Sprintf("%s is held by %v", it.Name, h))
	}
	if on, err := portcheck.Forwarding(it.Name); err != nil {
		warns = append(warns, err.Error())
	} else if !on {
		warns = append(warns, fmt.Sprintf("%s is 0: the agent sets it to 1 when it starts (without it the data path drops what it routes out of %s as no_route)",
			portcheck.ForwardingKey(it.Name), it.Name))
	}
	if w := vethProblem(c, it.Name); w != "" {
		warns = append(warns, w)
	}
	return errs, warns
}

// takenOver reports whether the XDP program on ifname is one the agent will
// take over: linx's (or unreadable without CAP_SYS_ADMIN) with its link pinned
// in bpffs_dir (links/<ifname>, dataplane/xdp/pin.go).
func takenOver(c *config.Config, ifname string, h portcheck.Holder) bool {
	if c.BPFFSDir == "" || (h.Name != "" && !h.Linx()) {
		return false
	}
	_, err := os.Stat(filepath.Join(c.BPFFSDir, "links", ifname))
	return err == nil
}

// vethProblem is the warning for a veth port whose peer drops the frames the
// pipeline redirects into it; "" when there is none. The configuration's
// other ports get linx's program, so a peer among them is fine.
func vethProblem(c *config.Config, ifname string) string {
	ours := func(name string) bool {
		return slices.ContainsFunc(c.Interfaces, func(it config.Interface) bool { return it.Name == name })
	}
	peer, ok, err := portcheck.CheckVethPeer(ifname, ours)
	if err != nil {
		return err.Error()
	}
	if !ok {
		return ""
	}
	return peer.Problem(ifname)
}

// enableForwarding turns IPv4 forwarding on for every port, logging each change
// (docs/operations.md, "Forwarding"): bpf_fib_lookup answers "forwarding
// disabled" for a port without it, and the pipeline drops as no_route.
func enableForwarding(c *config.Config, log *zap.Logger) error {
	global, gerr := portcheck.GlobalForwarding()
	for _, it := range c.Interfaces {
		changed, err := portcheck.EnableForwarding(it.Name)
		if err != nil {
			return fmt.Errorf("port %s: %w", it.Name, err)
		}
		if changed {
			log.Info("enabled IPv4 forwarding on a port", zap.String("interface", it.Name),
				zap.String("sysctl", portcheck.ForwardingKey(it.Name)), zap.String("was", "0"), zap.String("now", "1"),
				zap.Bool("ip_forward", global && gerr == nil))
		}
	}
	return nil
}

// warnVethPeers logs a warning for each veth port whose peer drops the frames
// the pipeline redirects into it.
func warnVethPeers(c *config.Config, log *zap.Logger) {
	for _, it := range c.Interfaces {
		if w := vethProblem(c, it.Name); w != "" {
			log.Warn("port may lose redirected frames", zap.String("interface", it.Name), zap.String("problem", w))
		}
	}
}

// attachError names the holder of a port that attach found busy.
func attachError(ifname string, err error) error {
	if !portcheck.Busy(err) {
		return fmt.Errorf("attach %s: %w", ifname, err)
	}
	h, ok, herr := portcheck.XDPHolder(ifname)
	switch {
	case herr != nil:
		return fmt.Errorf("attach %s: %w (and finding its holder: %v)", ifname, err, herr)
	case !ok:
		return fmt.Errorf("attach %s: %w (no XDP program is attached now: retry)", ifname, err)
	}
	return fmt.Errorf("attach %s: %w: held by %v", ifname, err, h)
}
