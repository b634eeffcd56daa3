package xdp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"
)

// ErrKernel reports a kernel that lacks something the pipeline needs.
var ErrKernel = errors.New("kernel too old for the linx data path")

// kernelFeature is one thing bpf/ needs from the kernel, with the Linux release
// that introduced it (docs/operations.md, "Supported kernels", lists the same).
type kernelFeature struct {
	name  string
	since string
	probe func() error
}

func helper(fn asm.BuiltinFunc) func() error {
	return func() error { return features.HaveProgramHelper(ebpf.XDP, fn) }
}

func mapType(mt ebpf.MapType) func() error {
	return func() error { return features.HaveMapType(mt) }
}

// kernelFeatures are probed in order of the release that introduced them. Some
// needs are not probed, because every kernel with bpf_xdp_load_bytes (5.18) has
// them: BTF-described global data (5.2); bounded loops (5.3), whose probe answers
// "not supported" to a process without CAP_PERFMON and would blame the kernel for
// a missing capability; XDP attachment through bpf_link (5.9), which has no probe
// that leaves the host's interfaces alone.
var kernelFeatures = []kernelFeature{
	{"XDP programs", "4.8", func() error { return features.HaveProgramType(ebpf.XDP) }},
	{"BPF_MAP_TYPE_PROG_ARRAY (tail calls between stages)", "4.2", mapType(ebpf.ProgramArray)},
	{"BPF_MAP_TYPE_PERCPU_ARRAY (scratch, counters)", "4.6", mapType(ebpf.PerCPUArray)},
	{"BPF_MAP_TYPE_LRU_PERCPU_HASH (flow cache)", "4.10", mapType(ebpf.LRUCPUHash)},
	{"bpf_xdp_adjust_head (GRE encap and decap)", "4.10", helper(asm.FnXdpAdjustHead)},
	{"bpf_fib_lookup (routes and neighbours)", "4.18", helper(asm.FnFibLookup)},
	{"bpf_xdp_adjust_tail (ICMP too big)", "4.18", helper(asm.FnXdpAdjustTail)},
	{"BPF_MAP_TYPE_DEVMAP_HASH (redirect targets)", "5.4", mapType(ebpf.DevMapHash)},
	{"BPF_MAP_TYPE_RINGBUF (packet-in)", "5.8", mapType(ebpf.RingBuf)},
	{"bpf_check_mtu (MSS clamp)", "5.12", helper(asm.FnCheckMtu)},
	{"bpf_xdp_load_bytes (packet-in copy, MSS clamp)", "5.18", helper(asm.FnXdpLoadBytes)},
	{"bpf_xdp_store_bytes (MSS clamp)", "5.18", helper(asm.FnXdpStoreBytes)},
}

// CheckKernel probes the running kernel for everything the pipeline needs and
// names what is missing with the Linux release that introduced it, so an agent
// on an old kernel refuses to start with a reason instead of a verifier log.
// Probing needs the privileges Load needs (CAP_BPF, or root).
func CheckKernel() error {
	return checkKernel(kernelFeatures, kernelRelease())
}

func checkKernel(feats []kernelFeature, release string) error {
	var missing []string
	for _, f := range feats {
		err := f.probe()
		switch {
		case err == nil:
		case errors.Is(err, ebpf.ErrNotSupported):
			missing = append(missing, fmt.Sprintf("%s (Linux %s)", f.name, f.since))
		default:
			return fmt.Errorf("probe kernel for %s: %w", f.name, err)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: kernel %s lacks %s; the data path needs Linux 5.18 or later and is tested on 6.1 and newer (docs/operations.md, \"Supported kernels\")",
			ErrKernel, release, strings.Join(missing, ", "))
	}
	return nil
}

func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return "(unknown)"
	}
	return unix.ByteSliceToString(u.Release[:])
}
