package demo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// agentGrace is how long an agent gets to stop on SIGTERM before it is
// killed (its gRPC shutdown_grace is 5s, and no client is connected then).
const agentGrace = 10 * time.Second

// teardown stops the agents, deletes the namespaces (and with them every
// link) and the temporary directory. It runs whatever happened before and
// needs no context: it must finish even after an interrupt.
func (d *demo) teardown() {
	for i := len(d.agents) - 1; i >= 0; i-- {
		a := d.agents[i]
		d.say("  %s: linx-agent (pid %d) %s", a.name, a.pid, a.stop(agentGrace))
		for _, l := range a.logLines("linx-agent stopped") {
			d.say("  %s log: %s", a.name, l)
		}
	}
	if d.topo != nil {
		if err := d.topo.destroy(); err != nil {
			d.say("  deleting namespaces: %v", err)
		} else {
			d.say("  deleted namespaces %s (and their links)", strings.Join(d.report.Namespaces, " "))
		}
	}
	if d.tmp != "" {
		if err := os.RemoveAll(d.tmp); err != nil {
			d.say("  removing %s: %v", d.tmp, err)
		} else {
			d.say("  removed %s", d.tmp)
		}
	}
}

// verifyClean checks that teardown left nothing behind and records what it
// did leave in the report.
func (d *demo) verifyClean() {
	var left []string
	for _, name := range d.report.Namespaces {
		if _, err := os.Lstat(filepath.Join(netlab.NetnsDir, name)); !errors.Is(err, os.ErrNotExist) {
			left = append(left, "namespace "+name)
		}
	}
	for _, a := range d.agents {
		if !a.exited() {
			left = append(left, fmt.Sprintf("%s's linx-agent (pid %d)", a.name, a.pid))
		}
	}
	for _, pid := range Children() {
		left = append(left, fmt.Sprintf("child process %d (%s)", pid, comm(pid)))
	}
	if d.tmp != "" {
		if _, err := os.Lstat(d.tmp); !errors.Is(err, os.ErrNotExist) {
			left = append(left, "directory "+d.tmp)
		}
	}
	// Every link was created inside the demo's namespaces; none may have
	// reached the host's.
	if links, err := netlink.LinkList(); err == nil {
		names := map[string]bool{ifLAN: true, ifWAN1: true, ifWAN2: true}
		if d.topo != nil {
			for _, s := range d.topo.sites() {
				names[s.routerIf[0]], names[s.routerIf[1]] = true, true
			}
		}
		for _, l := range links {
			if names[l.Attrs().Name] {
				left = append(left, "link "+l.Attrs().Name+" in the host namespace")
			}
		}
	}
	d.report.Leftovers = left
	if len(left) == 0 {
		d.say("  checked: no demo namespace in %s, no agent or other child process, no temporary directory, no demo link in the host namespace", netlab.NetnsDir)
	}
}

// Children lists the processes whose parent is this process (from /proc).
func Children() []int {
	me := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid(pid) == me {
			out = append(out, pid)
		}
	}
	return out
}

// ppid reads a process's parent from /proc/PID/stat (0 if unknown).
func ppid(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(f[1])
	return p
}

// comm is a process's command name.
func comm(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	return strings.TrimSpace(string(b))
}
