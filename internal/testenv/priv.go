package testenv

import (
	"fmt"
	"os"
	"testing"

	"github.com/linx-sdwan/linx/internal/netlab"
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

// RequirePriv skips (or, with LINX_REQUIRE_PRIV=1, fails) the test unless
// it runs as root with the capabilities needed for namespaces, links and
// raw sockets. what says what the test needed them for.
func RequirePriv(tb testing.TB, what string) {
	tb.Helper()
	if p := netlab.PrivProblem(); p != "" {
		SkipOrFail(tb, "%s needs root with CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW: %s", what, p)
	}
}

// RequireRoot is RequirePriv plus a check that the kernel lets us load an
// XDP program, which is what the dataplane tests ultimately need.
func RequireRoot(tb testing.TB) {
	tb.Helper()
	RequirePriv(tb, tb.Name())
	if p := netlab.XDPProblem(); p != "" {
		SkipOrFail(tb, "%s needs BPF: %s", tb.Name(), p)
	}
}
