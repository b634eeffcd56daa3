package fwd

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// Result is one generator run through a topology.
type Result struct {
	Sent     uint64        // frames the generator emitted
	Received uint64        // frames the sink counted
	GRE, UDP uint64        // of Received: IPv4/GRE and IPv4/UDP frames
	Elapsed  time.Duration // the generator's run (wall clock)
	// Drain is how long the sink kept counting after the generator returned
	// (a forwarder on another CPU working through its queue); 0 when the
	// sink had everything when the generator returned.
	Drain time.Duration

	// GatewayRuns and GatewayTime are the gateway program's run count and run
	// time over the run, from BPF stats (zero when stats are off, or on the
	// kernel path, which has no program).
	GatewayRuns uint64
	GatewayTime time.Duration
}

// Mpps is the delivered rate: sink frames per second of generator run time.
func (r Result) Mpps() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Received) / r.Elapsed.Seconds() / 1e6
}

// GatewayNsPerPkt is the gateway program's own time per packet, 0 if unknown.
func (r Result) GatewayNsPerPkt() float64 {
	if r.GatewayRuns == 0 {
		return 0
	}
	return float64(r.GatewayTime.Nanoseconds()) / float64(r.GatewayRuns)
}

// DeliveredMpps is Received over Elapsed + Drain: the rate of a forwarder
// that finishes after the generator (user space); Mpps otherwise.
func (r Result) DeliveredMpps() float64 {
	if d := r.Elapsed + r.Drain; d > 0 {
		return float64(r.Received) / d.Seconds() / 1e6
	}
	return 0
}

// Lost is how many frames the sink did not see; negative when it saw extra.
func (r Result) Lost() int64 { return int64(r.Sent) - int64(r.Received) }

// Add accumulates another run.
func (r *Result) Add(o Result) {
	r.Sent += o.Sent
	r.Received += o.Received
	r.GRE += o.GRE
	r.UDP += o.UDP
	r.Elapsed += o.Elapsed
	r.Drain += o.Drain
	r.GatewayRuns += o.GatewayRuns
	r.GatewayTime += o.GatewayTime
}

// Check returns an error unless the sink saw exactly what was sent, of the
// kind the path emits (GRE on the uplink, UDP otherwise).
func (r Result) Check(p Path) error {
	if r.Sent == 0 {
		return errors.New("the generator sent nothing")
	}
	if r.Received != r.Sent {
		return fmt.Errorf("sink counted %d of %d frames sent (lost %d)", r.Received, r.Sent, r.Lost())
	}
	want, kind := r.UDP, "UDP"
	if p == PathUplink || p == PathUserspace || p == PathMinimal {
		want, kind = r.GRE, "GRE"
	}
	if want != r.Received {
		return fmt.Errorf("sink counted %d frames, %d of them IPv4/%s, want all", r.Received, want, kind)
	}
	return nil
}

// Run sends frames frames (in live-frame batches of 64) and counts what reaches
// the sink. A frame count that does not match is not an error here: Check it.
func (t *Topology) Run(frames uint32) (Result, error) { return t.RunOn(frames, nil) }

// RunOn is Run with the generator on the given CPUs, frames/len(cpus) frames
// from each, in parallel (nil: one generator wherever the scheduler puts it).
// Every CPU's frames land on its own queue of the gateway's veth (Case.Queues)
// and are forwarded by that CPU.
func (t *Topology) RunOn(frames uint32, cpus []int) (Result, error) {
	var r Result
	sent0, err := sumPerCPU(t.objs.GenSent, 0)
	if err != nil {
		return r, err
	}
	sink0, err := t.sinkCounts()
	if err != nil {
		return r, err
	}
	st0, err := progStats(t.entry)
	if err != nil {
		return r, err
	}
	if r.Elapsed, err = t.generate(frames, cpus); err != nil {
		return r, err
	}
	genEnd := time.Now()
	sent1, err := sumPerCPU(t.objs.GenSent, 0)
	if err != nil {
		return r, err
	}
	r.Sent = sent1 - sent0
	// Nearly always done already: the veth hops run in the generator's softirq.
	// The kernel may defer some of it to ksoftirqd under load, and the
	// user-space forwarder runs on its own CPU, so wait until the sink has
	// everything or stops counting.
	var sink1 [4]uint64
	for end, last, quiet := time.Now().Add(pace), ^uint64(0), 0; ; {
		if sink1, err = t.sinkCounts(); err != nil {
			return r, err
		}
		n := sink1[0] - sink0[0]
		if n >= r.Sent || time.Now().After(end) {
			break
		}
		if n == last {
			if quiet++; quiet >= 5 {
				break
			}
		} else {
			quiet, last = 0, n
			r.Drain = time.Since(genEnd)
		}
		time.Sleep(time.Millisecond)
	}
	r.Received = sink1[0] - sink0[0]
	r.GRE = sink1[fwdSinkKindSINK_GRE] - sink0[fwdSinkKindSINK_GRE]
	r.UDP = sink1[fwdSinkKindSINK_UDP] - sink0[fwdSinkKindSINK_UDP]
	st1, err := progStats(t.entry)
	if err != nil {
		return r, err
	}
	r.GatewayRuns = st1.RunCount - st0.RunCount
	r.GatewayTime = st1.Runtime - st0.Runtime
	return r, nil
}

func (t *Topology) sinkCounts() ([4]uint64, error) {
	var c [4]uint64
	for k := range c {
		n, err := sumPerCPU(t.objs.SinkCount, uint32(k))
		if err != nil {
			return c, err
		}
		c[k] = n
	}
	return c, nil
}

func sumPerCPU(m *ebpf.Map, key uint32) (uint64, error) {
	var vals []uint64
	if err := m.Lookup(key, &vals); err != nil {
		return 0, fmt.Errorf("read %s[%d]: %w", m, key, err)
	}
	var sum uint64
	for _, v := range vals {
		sum += v
	}
	return sum, nil
}

func progStats(p *ebpf.Program) (ebpf.ProgramStats, error) {
	if p == nil {
		return ebpf.ProgramStats{}, nil
	}
	s, err := p.Stats()
	if err != nil {
		return ebpf.ProgramStats{}, fmt.Errorf("stats of %s: %w", p, err)
	}
	return *s, nil
}

// EnableStats turns on the kernel's BPF run-time statistics until the returned
// closer is closed. They cost every BPF program on the machine two clock reads
// per run, so measure throughput with them off and program time with them on.
func EnableStats() (io.Closer, error) {
	c, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
	if err != nil {
		return nil, fmt.Errorf("enable BPF stats: %w", err)
	}
	return c, nil
}
