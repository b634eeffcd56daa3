package testenv

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sync"
	"testing"
)

var built struct {
	mu   sync.Mutex
	dir  string
	bins map[string]string
	errs map[string]error
}

// GoBinary builds a main package of this module (an import path such as
// "github.com/linx-sdwan/linx/cmd/linx-agent") once per test binary and returns
// the executable's path, so tests can run the real programs. Without a go tool
// the test is skipped (failed with LINX_REQUIRE_PRIV=1). Call RemoveBinaries
// from TestMain.
func GoBinary(tb testing.TB, pkg string) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		SkipOrFail(tb, "no go tool to build %s: %v", pkg, err)
	}
	built.mu.Lock()
	defer built.mu.Unlock()
	if bin, ok := built.bins[pkg]; ok {
		return bin
	}
	if err, ok := built.errs[pkg]; ok {
		tb.Fatal(err)
	}
	if built.dir == "" {
		if built.dir, err = os.MkdirTemp("", "linx-test-bin-"); err != nil {
			tb.Fatal(err)
		}
		built.bins, built.errs = map[string]string{}, map[string]error{}
	}
	bin := filepath.Join(built.dir, path.Base(pkg))
	if out, err := exec.Command(goTool, "build", "-o", bin, pkg).CombinedOutput(); err != nil {
		built.errs[pkg] = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		tb.Fatal(built.errs[pkg])
	}
	built.bins[pkg] = bin
	return bin
}

// RemoveBinaries deletes what GoBinary built; call it from TestMain after m.Run.
func RemoveBinaries() {
	built.mu.Lock()
	defer built.mu.Unlock()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

// LinxAgent is GoBinary of cmd/linx-agent.
func LinxAgent(tb testing.TB) string {
	tb.Helper()
	return GoBinary(tb, "github.com/linx-sdwan/linx/cmd/linx-agent")
}

// FreeLoopbackAddr returns a 127.0.0.1 address nothing listens on (for a moment:
// callers that race other processes for it should retry).
func FreeLoopbackAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}
