package xdp

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cilium/ebpf"

	"github.com/linx-sdwan/linx/internal/testenv"
)

func TestCheckKernelRunning(t *testing.T) {
	testenv.RequirePriv(t, "probing the kernel")
	if err := CheckKernel(); err != nil {
		t.Fatalf("CheckKernel on the kernel the suite runs on: %v", err)
	}
}

func TestCheckKernelNamesMissing(t *testing.T) {
	ok := func() error { return nil }
	absent := func() error { return fmt.Errorf("probe: %w", ebpf.ErrNotSupported) }
	feats := []kernelFeature{
		{"XDP programs", "4.8", ok},
		{"bpf_xdp_load_bytes (packet-in copy, MSS clamp)", "5.18", absent},
		{"bpf_xdp_store_bytes (MSS clamp)", "5.18", absent},
	}
	err := checkKernel(feats, "5.15.0-91-generic")
	if !errors.Is(err, ErrKernel) {
		t.Fatalf("err = %v, want ErrKernel", err)
	}
	for _, want := range []string{"5.15.0-91-generic", "bpf_xdp_load_bytes (packet-in copy, MSS clamp) (Linux 5.18)",
		"bpf_xdp_store_bytes (MSS clamp) (Linux 5.18)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "XDP programs") {
		t.Errorf("message %q names a feature that is present", err)
	}

	if err := checkKernel(feats[:1], "6.1.0"); err != nil {
		t.Errorf("all present: %v", err)
	}

	denied := errors.New("operation not permitted")
	err = checkKernel([]kernelFeature{{"XDP programs", "4.8", func() error { return denied }}}, "6.1.0")
	if !errors.Is(err, denied) || errors.Is(err, ErrKernel) {
		t.Errorf("probe failure = %v, want it passed on, not ErrKernel", err)
	}
}
