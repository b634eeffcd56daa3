package fwd

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// generate runs the generator: frames frames split over cpus (nil: one
// unpinned generator), each CPU's share from a thread pinned to it in the
// generator's namespace. It returns the wall time until the last finished.
func (t *Topology) generate(frames uint32, cpus []int) (time.Duration, error) {
	if len(cpus) == 0 {
		return t.genOn(-1, frames)
	}
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		errs    []error
		elapsed time.Duration
	)
	per := frames / uint32(len(cpus))
	for _, cpu := range cpus {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := t.genOn(cpu, per)
			mu.Lock()
			defer mu.Unlock()
			errs = append(errs, err)
			elapsed = max(elapsed, d)
		}()
	}
	wg.Wait()
	return elapsed, errors.Join(errs...)
}

// genOn runs frames frames through the generator on cpu (-1: unpinned).
func (t *Topology) genOn(cpu int, frames uint32) (elapsed time.Duration, err error) {
	err = t.gen.Do(func() error {
		restore, err := pin(cpu)
		if err != nil {
			return err
		}
		defer restore()
		start := time.Now()
		err = t.burst(frames)
		elapsed = time.Since(start)
		return err
	})
	return elapsed, err
}

// burst is one BPF_PROG_TEST_RUN of the generator: frames live frames in
// batches of 64, on the calling thread's CPU.
func (t *Topology) burst(frames uint32) error {
	_, err := t.objs.FwdGen.Run(&ebpf.RunOptions{
		Data:      t.frame,
		Repeat:    frames,
		Flags:     unix.BPF_F_TEST_XDP_LIVE_FRAMES,
		BatchSize: 64,
	})
	if err != nil {
		return fmt.Errorf("generator run in %s: %w", t.gen, err)
	}
	return nil
}

// pin pins the calling (locked) thread to cpu and returns the undo; cpu < 0
// leaves it alone.
func pin(cpu int) (func(), error) {
	if cpu < 0 {
		return func() {}, nil
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return nil, fmt.Errorf("get affinity: %w", err)
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("pin to CPU %d: %w", cpu, err)
	}
	return func() { unix.SchedSetaffinity(0, &old) }, nil
}

// Paced is one run of the paced generator.
type Paced struct {
	Result
	Offered float64   // frames per second asked for
	Busy    []float64 // per CPU: % of the run not idle (/proc/stat: all but idle and iowait)
}

// OfferedMpps is the rate the generator achieved.
func (p Paced) OfferedMpps() float64 {
	if p.Elapsed <= 0 {
		return 0
	}
	return float64(p.Sent) / p.Elapsed.Seconds() / 1e6
}

// LossPct is the share of sent frames the sink did not see.
func (p Paced) LossPct() float64 {
	if p.Sent == 0 {
		return 0
	}
	return 100 * float64(p.Lost()) / float64(p.Sent)
}

// Slice is the paced generator's time slice: every slice, each generator CPU
// sends its share of the slice's frames in one burst and sleeps the rest.
const Slice = time.Millisecond

// RunPaced offers pps frames per second for d, spread over cpus (nil: one
// unpinned generator), and reports delivery and per-CPU busy time.
func (t *Topology) RunPaced(pps float64, d time.Duration, cpus []int) (Paced, error) {
	p := Paced{Offered: pps}
	sent0, err := sumPerCPU(t.objs.GenSent, 0)
	if err != nil {
		return p, err
	}
	sink0, err := t.sinkCounts()
	if err != nil {
		return p, err
	}
	gens := cpus
	if len(gens) == 0 {
		gens = []int{-1}
	}
	perSlice := pps * Slice.Seconds() / float64(len(gens))
	cpu0, err := readCPUTimes()
	if err != nil {
		return p, err
	}
	// Each generator times its own window from when it is ready to send:
	// entering the namespace and pinning can take longer than d on a busy
	// machine, and a window that closed before the first burst sent nothing.
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		errs        []error
		first, last time.Time
	)
	for _, cpu := range gens {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := t.gen.Do(func() error {
				restore, err := pin(cpu)
				if err != nil {
					return err
				}
				defer restore()
				owed := 0.0
				begin := time.Now()
				next := begin
				defer func() {
					end := time.Now()
					mu.Lock()
					if first.IsZero() || begin.Before(first) {
						first = begin
					}
					if end.After(last) {
						last = end
					}
					mu.Unlock()
				}()
				for end := begin.Add(d); time.Now().Before(end); {
					owed += perSlice
					if n := uint32(owed); n > 0 {
						if err := t.burst(n); err != nil {
							return err
						}
						owed -= float64(n)
					}
					next = next.Add(Slice)
					if w := time.Until(next); w > 0 {
						time.Sleep(w)
					} else if w < -10*Slice {
						next = time.Now() // too far behind: do not burst to catch up
					}
				}
				return nil
			})
			mu.Lock()
			errs = append(errs, err)
			mu.Unlock()
		}()
	}
	wg.Wait()
	p.Elapsed = last.Sub(first)
	if err := errors.Join(errs...); err != nil {
		return p, err
	}
	cpu1, err := readCPUTimes()
	if err != nil {
		return p, err
	}
	sent1, err := sumPerCPU(t.objs.GenSent, 0)
	if err != nil {
		return p, err
	}
	p.Sent = sent1 - sent0
	// Let what is in flight arrive (a forwarder on another CPU).
	var sink1 [4]uint64
	for last, quiet := ^uint64(0), 0; quiet < 5; time.Sleep(time.Millisecond) {
		if sink1, err = t.sinkCounts(); err != nil {
			return p, err
		}
		if n := sink1[0] - sink0[0]; n >= p.Sent {
			break
		} else if n == last {
			quiet++
		} else {
			last, quiet = n, 0
		}
	}
	p.Received = sink1[0] - sink0[0]
	p.GRE = sink1[fwdSinkKindSINK_GRE] - sink0[fwdSinkKindSINK_GRE]
	p.UDP = sink1[fwdSinkKindSINK_UDP] - sink0[fwdSinkKindSINK_UDP]
	p.Busy = busy(cpu0, cpu1)
	return p, nil
}

// cpuTimes are /proc/stat's per-CPU counters: busy and total jiffies.
type cpuTimes struct{ busy, total []uint64 }

func readCPUTimes() (cpuTimes, error) {
	var c cpuTimes
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return c, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || !strings.HasPrefix(f[0], "cpu") || f[0] == "cpu" {
			continue
		}
		var total, idle uint64
		for i, v := range f[1:] {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return c, fmt.Errorf("/proc/stat: %q: %w", line, err)
			}
			if i == 8 || i == 9 { // guest, guest_nice are already in user, nice
				continue
			}
			total += n
			if i == 3 || i == 4 { // idle, iowait
				idle += n
			}
		}
		c.busy = append(c.busy, total-idle)
		c.total = append(c.total, total)
	}
	if len(c.total) == 0 {
		return c, errors.New("/proc/stat: no per-CPU lines")
	}
	return c, nil
}

func busy(a, b cpuTimes) []float64 {
	out := make([]float64, min(len(a.total), len(b.total)))
	for i := range out {
		if dt := b.total[i] - a.total[i]; dt > 0 {
			out[i] = 100 * float64(b.busy[i]-a.busy[i]) / float64(dt)
		}
	}
	return out
}

// CPUs is the number of CPUs the benchmark can spread over.
func CPUs() int { return runtime.NumCPU() }

// SinkFrames is how many frames the sink has counted so far (all CPUs).
func (t *Topology) SinkFrames() (uint64, error) {
	return sumPerCPU(t.objs.SinkCount, uint32(fwdSinkKindSINK_ALL))
}

// Blast runs the generator on cpu in bursts of burst frames until stop is
// closed: background traffic for measurements made from another CPU.
func (t *Topology) Blast(stop <-chan struct{}, cpu int, burst uint32) error {
	return t.gen.Do(func() error {
		restore, err := pin(cpu)
		if err != nil {
			return err
		}
		defer restore()
		for {
			select {
			case <-stop:
				return nil
			default:
			}
			if err := t.burst(burst); err != nil {
				return err
			}
		}
	})
}

// Pin pins the calling goroutine's thread to cpu until the returned function
// is called (which also unlocks it).
func Pin(cpu int) (func(), error) {
	runtime.LockOSThread()
	restore, err := pin(cpu)
	if err != nil {
		runtime.UnlockOSThread()
		return nil, err
	}
	return func() { restore(); runtime.UnlockOSThread() }, nil
}

// Addresses and ids of the downlink topology that a controller needs to
// program it through P4Runtime (write-to-forward).
var (
	DownlinkPeer  = wan0Peer // GRE source
	DownlinkLocal = wan0Addr // GRE destination
	DownlinkKey   = uint32(greKey0)
	DownlinkSrc   = remoteHosts // inner sources
	DownlinkDst   = lanHosts    // inner destinations
	DownlinkLAN   = uint16(portLAN)
	DownlinkWAN   = uint16(portWAN0)
)
