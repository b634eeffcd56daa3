package testenv

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"golang.org/x/sys/unix"
)

// RequirePrivEnv names the environment variable that turns "skip" into
// "fail" for tests whose prerequisites are missing.
const RequirePrivEnv = "LINX_REQUIRE_PRIV"

// Strict reports whether LINX_REQUIRE_PRIV=1, i.e. missing privileges or
// kernel features must fail tests instead of skipping them.
func Strict() bool { return os.Getenv(RequirePrivEnv) == "1" }

// SkipOrFail skips the test with the given reason, or fails it when
// LINX_REQUIRE_PRIV=1. Use it for any unmet prerequisite so CI notices.
func SkipOrFail(tb testing.TB, format string, args ...any) {
	tb.Helper()
	msg := fmt.Sprintf(format, args...)
	if Strict() {
		tb.Fatalf("%s (%s=1, so this is fatal)", msg, RequirePrivEnv)
		return
	}
	tb.Skipf("%s (set %s=1 to make this fatal)", msg, RequirePrivEnv)
}

// Capabilities the helpers rely on: namespaces and links (NET_ADMIN),
// setns and bind mounts (SYS_ADMIN), raw ICMP sockets (NET_RAW).
var neededCaps = []struct {
	bit  uint
	name string
}{
	{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"},
	{unix.CAP_SYS_ADMIN, "CAP_SYS_ADMIN"},
	{unix.CAP_NET_RAW, "CAP_NET_RAW"},
}

// privProblem is computed once: euid and capabilities do not change while
// tests run.
var privProblem = sync.OnceValue(func() string {
	if euid := unix.Geteuid(); euid != 0 {
		return fmt.Sprintf("not root (euid %d)", euid)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Sprintf("capget: %v", err)
	}
	var missing []string
	for _, c := range neededCaps {
		if data[c.bit/32].Effective&(1<<(c.bit%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) > 0 {
		return "root but missing " + strings.Join(missing, ", ")
	}
	return ""
})

// RequirePriv skips (or, with LINX_REQUIRE_PRIV=1, fails) the test unless
// it runs as root with the capabilities needed for namespaces, links and
// raw sockets. what says what the test needed them for.
func RequirePriv(tb testing.TB, what string) {
	tb.Helper()
	if p := privProblem(); p != "" {
		SkipOrFail(tb, "%s needs root with CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW: %s", what, p)
	}
}

// xdpProblem loads (and immediately closes) an XDP program returning
// XDP_PASS. A socket filter would not do: unprivileged users may load those.
var xdpProblem = sync.OnceValue(func() string {
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "linxt_probe",
		Type: ebpf.XDP,
		Instructions: asm.Instructions{
			asm.Mov.Imm(asm.R0, 2), // XDP_PASS
			asm.Return(),
		},
		License: "GPL",
	})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return fmt.Sprintf("cannot load BPF programs (missing CAP_BPF/CAP_SYS_ADMIN?): %v", err)
		}
		return fmt.Sprintf("kernel refused a trivial XDP program: %v", err)
	}
	prog.Close()
	return ""
})

// RequireRoot is RequirePriv plus a check that the kernel lets us load an
// XDP program, which is what the dataplane tests ultimately need.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	RequirePriv(tb, tb.Name())
	if p := xdpProblem(); p != "" {
		SkipOrFail(tb, "%s needs BPF: %s", tb.Name(), p)
	}
}
