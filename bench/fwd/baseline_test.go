package fwd

import (
	"fmt"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/internal/testenv"
)

// TestBaselines checks the evaluation's extra topologies deliver: the kernel
// forwarding into VXLAN and the user-space GRE forwarder, and every path with
// large frames, two veth queues and a generator on each CPU, unpaced and
// paced. Delivery only (the user-space forwarder at a low paced rate, where
// it keeps up); timings are the benchmarks' business.
func TestBaselines(t *testing.T) {
	testenv.RequireRoot(t)
	cpus := []int{0}
	if CPUs() > 1 {
		cpus = []int{0, 1}
	}
	for _, p := range []Path{PathBare, PathKernel, PathKernelVXLAN, PathUplink, PathDownlink, PathUserspace} {
		for _, size := range []int{64, MaxFrameLen} {
			c := Case{Name: fmt.Sprintf("%s-%d", p, size), Path: p, Flows: 256, PDRs: 100, Size: size, Queues: 2,
				ForwarderCPUs: cpus[len(cpus)-1:]}
			t.Run(c.Name, func(t *testing.T) {
				top := build(t, c)
				if p != PathUserspace {
					r, err := top.RunOn(20_000, cpus[:1])
					if err != nil {
						t.Fatal(err)
					}
					if err := r.Check(p); err != nil {
						t.Fatalf("%v (frame % x)", err, top.Frame()[:64])
					}
					// Both CPUs at once: the kernel paths may drop when the two
					// CPUs' frames meet in one veth ring; delivery is what counts.
					if r, err = top.RunOn(20_000, cpus); err != nil {
						t.Fatal(err)
					}
					if r.Received == 0 {
						t.Errorf("%d CPUs: nothing delivered", len(cpus))
					}
				}
				pr, err := top.RunPaced(20_000, 200*time.Millisecond, cpus[:1])
				if err != nil {
					t.Fatal(err)
				}
				if p == PathUserspace {
					// Asynchronous: its ring overflows whenever the shared VM
					// stalls its thread for longer than the ring holds
					// (16 blocks of ≥ 1 ms). Delivery, of the right kind, is the check.
					if pr.Received == 0 || pr.GRE != pr.Received {
						t.Fatalf("paced: sink counted %d frames, %d GRE, of %d sent (forwarder %+v)", pr.Received, pr.GRE, pr.Sent, top.Forwarder().Stats())
					}
				} else if err := pr.Check(p); err != nil {
					if f := top.Forwarder(); f != nil {
						t.Logf("forwarder: %+v", f.Stats())
					}
					t.Fatalf("paced: %v", err)
				}
				if len(pr.Busy) == 0 {
					t.Error("no CPU busy figures")
				}
			})
		}
	}
}
