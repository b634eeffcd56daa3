package eval

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/bench/ctl"
	"github.com/linx-sdwan/linx/bench/fwd"
	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/gcpolicy"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// AgentOptions are the data path options of the measured agent: room for
// the 100 000-PDR batch.
var AgentOptions = dataplane.Options{MaxPDRs: 100_000}

// AgentMain is the body of the agent process (`linx-bench agent`): the real
// XDP data path (loaded, not attached) behind linx's gRPC server on a
// loopback port, which it prints; it runs until its standard input closes.
// cpuprofile, if set, profiles it all; memprofile, if set, gets a heap profile
// when it stops (after a GC: what the state it still holds takes).
func AgentMain(cpuprofile, memprofile string) error {
	gcpolicy.Apply() // linx-agent's collector default: measure what it runs
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	dp, err := xdp.Load(AgentOptions)
	if err != nil {
		return err
	}
	defer dp.Close()
	addr, stop, err := ctl.Serve(dp, AgentOptions)
	if err != nil {
		return err
	}
	defer stop()
	fmt.Println(addr)
	_, _ = bufio.NewReader(os.Stdin).ReadString(0) // until EOF
	if memprofile != "" {
		// While the server and the data path still hold their state; with the
		// process's mappings beside it (what of the RSS is heap, what maps).
		writeHeapProfile(memprofile)
		if b, err := os.ReadFile("/proc/self/smaps"); err == nil {
			os.WriteFile(strings.TrimSuffix(memprofile, ".pprof")+".smaps", b, 0o644)
		}
	}
	return nil
}

func writeHeapProfile(path string) {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
		return
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "heap profile:", err)
	}
}

// Agent is a running agent process in its own namespace.
type Agent struct {
	Addr  string
	ns    *netlab.NS
	cmd   *exec.Cmd
	stdin interface{ Close() error }
}

// StartAgent starts exe (this program) as `exe agent` in ns; with profDir,
// the agent writes agent-cpu.pprof and agent-heap.pprof there.
func StartAgent(ns *netlab.NS, exe, profDir string) (*Agent, error) {
	args := []string{"agent"}
	if profDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(profDir, "agent-cpu.pprof"),
			"-memprofile", filepath.Join(profDir, "agent-heap.pprof"))
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	// fork on the namespace's thread: the child starts inside it
	if err := ns.Do(cmd.Start); err != nil {
		return nil, fmt.Errorf("start agent: %w", err)
	}
	a := &Agent{ns: ns, cmd: cmd, stdin: in}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		a.Stop()
		return nil, fmt.Errorf("agent address: %w", err)
	}
	a.Addr = strings.TrimSpace(line)
	return a, nil
}

// Dial connects a client to the agent from inside its namespace.
func (a *Agent) Dial() (*ctl.Client, error) {
	return ctl.Dial(a.Addr, func(ctx context.Context, addr string) (c net.Conn, err error) {
		err = a.ns.Do(func() error {
			var d net.Dialer
			c, err = d.DialContext(ctx, "tcp", addr)
			return err
		})
		return c, err
	})
}

// Pid is the agent's process id.
func (a *Agent) Pid() int { return a.cmd.Process.Pid }

// RSSMiB is the agent's resident set size.
func (a *Agent) RSSMiB() (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", a.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmRSS")
}

// Stop ends the agent (closing its standard input) and waits for it.
func (a *Agent) Stop() error {
	a.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- a.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill() // our own child, by pid
		return errors.Join(errors.New("agent did not stop"), <-done)
	}
}

// Control runs Fig. 4 (Write latency CDF beside an empty call), the batch
// installs and the agent's RSS against an agent process, and write-to-forward
// against an in-process server on a downlink topology.
func Control(c Config, exe string, newNS fwd.NewNS, r *Results) error {
	ns, err := newNS("agent")
	if err != nil {
		return err
	}
	defer ns.Destroy()
	a, err := StartAgent(ns, exe, c.AgentProf)
	if err != nil {
		return err
	}
	err = agentFigures(c, a, r)
	return errors.Join(err, a.Stop())
}

func agentFigures(c Config, a *Agent, r *Results) error {
	cl, err := a.Dial()
	if err != nil {
		return err
	}
	defer cl.Close()
	pipeline := ctl.Pipeline(AgentOptions)
	if r.AgentRSSMiBEmpty, err = a.RSSMiB(); err != nil {
		return err
	}
	// Fig. 4 with 1000 PDRs installed.
	const installed = 1000
	if _, err := ctl.Install(cl, pipeline, installed); err != nil {
		return err
	}
	write, empty, err := ctl.WriteLatency(cl, c.Writes, installed)
	if err != nil {
		return err
	}
	r.Write, r.Empty = write.Summarize(), empty.Summarize()
	r.Samples.Write, r.Samples.Empty = write.Micros(), empty.Micros()
	r.WriteP50us, r.WriteP99us, r.EmptyRPCP50us, r.EmptyRPCP99us = r.Write.P50, r.Write.P99, r.Empty.P50, r.Empty.P99
	c.logf("fig4 write: %v", r.Write)
	c.logf("fig4 empty: %v", r.Empty)
	// Batch installs, sizes interleaved.
	ins := make([]Install, len(c.Installs))
	for rep := range c.InstallN {
		for i, n := range c.Installs {
			d, err := ctl.Install(cl, pipeline, n)
			if err != nil {
				return err
			}
			ins[i].PDRs = n
			ins[i].Seconds = append(ins[i].Seconds, d.Seconds())
			if n == 100_000 && rep == c.InstallN-1 {
				if r.AgentRSSMiB100kPDRs, err = a.RSSMiB(); err != nil {
					return err
				}
			}
		}
	}
	for i := range ins {
		ins[i].EntriesPerS = float64(ins[i].PDRs) / median(ins[i].Seconds)
		c.logf("install %6d PDRs in one Write: %.0f entries/s (%v s)", ins[i].PDRs, ins[i].EntriesPerS, ins[i].Seconds)
	}
	r.Install = ins
	r.InstallEntriesPerS = ins[len(ins)-1].EntriesPerS
	if r.AgentRSSMiB100kPDRs == 0 { // the run had no 100k batch (tiny): what it holds now
		if r.AgentRSSMiB100kPDRs, err = a.RSSMiB(); err != nil {
			return err
		}
	}
	c.logf("agent RSS: %.1f MiB empty, %.1f MiB after the largest batch", r.AgentRSSMiBEmpty, r.AgentRSSMiB100kPDRs)
	return nil
}

// WriteToForward measures Write → first packet forwarded on a downlink
// topology whose linx the in-process server drives.
func WriteToForward(c Config, newNS fwd.NewNS, r *Results) (err error) {
	top, err := fwd.Build(fwd.Case{Name: "w2f", Path: fwd.PathDownlink, Flows: 256, Queues: 2}, newNS)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, top.Close()) }()
	o := dataplane.Options{}
	addr, stop, err := ctl.Serve(top.Dataplane(), o)
	if err != nil {
		return err
	}
	defer stop()
	cl, err := ctl.Dial(addr, nil)
	if err != nil {
		return err
	}
	defer cl.Close()
	gen, meas := 0, 0
	if fwd.CPUs() > 1 {
		meas = 1
	}
	fromRet, fromStart, err := ctl.WriteToForward(top, cl, &p4v1.ForwardingPipelineConfig{P4Info: ctl.Pipeline(o)}, c.W2F, gen, meas)
	if err != nil {
		return err
	}
	r.WriteToForward, r.WriteToFwdFromStart = fromRet.Summarize(), fromStart.Summarize()
	r.Samples.WriteToForward = fromRet.Micros()
	r.WriteToForwardP50us, r.WriteToForwardP99us = r.WriteToForward.P50, r.WriteToForward.P99
	c.logf("write→forward (from the Write's return): %v", r.WriteToForward)
	c.logf("write→forward (from the Write's start):  %v", r.WriteToFwdFromStart)
	return nil
}
