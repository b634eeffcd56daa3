package xdp

import (
	"runtime"
	"testing"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// TestFlowCacheBypass checks the flow cache's per-CPU bypass (classify.h): a
// window of lookups that all miss (more flows than it holds, here each flow
// once) turns it off on that CPU; one flow repeated, seen by the sampled
// packets, turns it back on. Every packet is classified right throughout.
func TestFlowCacheBypass(t *testing.T) {
	r := newRig(t)
	id := addRule(t, r, uplink(), 1, 1, dataplane.FAR{Action: dataplane.ActDrop})
	const flows, repeat = 4096, 20000

	uses := func(cpu int) linxFlowCacheUse {
		t.Helper()
		var v []linxFlowCacheUse
		must(t, r.dp.objs.FlowCacheUses.Lookup(uint32(0), &v))
		return v[cpu]
	}
	var sent uint64
	run := func(frame []byte, n int) {
		t.Helper()
		opts := &ebpf.RunOptions{Data: frame, Repeat: uint32(n),
			Context: xdpMd{DataEnd: uint32(len(frame)), IngressIfindex: uint32(r.idx[portLAN])}}
		ret, err := r.dp.objs.LinxXdp.Run(opts)
		if err != nil {
			t.Fatalf("test run: %v", err)
		}
		if ret != xdpDrop {
			t.Fatalf("verdict %d, want drop by the rule", ret)
		}
		sent += uint64(n)
	}
	must(t, r.ns.Do(func() error {
		// Pin this thread to one CPU: the bypass is per CPU.
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		var old, one unix.CPUSet
		if err := unix.SchedGetaffinity(0, &old); err != nil {
			return err
		}
		cpu := 0
		for !old.IsSet(cpu) {
			cpu++
		}
		one.Set(cpu)
		if err := unix.SchedSetaffinity(0, &one); err != nil {
			return err
		}
		defer unix.SchedSetaffinity(0, &old)

		for i := range flows {
			run(pkt{sport: uint16(1024 + i), dport: 5060, payload: 16}.bytes(t), 1)
		}
		if u := uses(cpu); u.Bypass != 1 {
			t.Errorf("after %d flows once each: %+v, want bypassed", flows, u)
		}
		run(pkt{sport: 7, dport: 5060, payload: 16}.bytes(t), repeat)
		if u := uses(cpu); u.Bypass != 0 {
			t.Errorf("after one flow %d times: %+v, want the cache in use", repeat, u)
		}
		return nil
	}))
	c, err := r.dp.PDRCounter(id)
	must(t, err)
	if c.Packets != sent {
		t.Errorf("rule counted %d packets, want %d", c.Packets, sent)
	}
}
