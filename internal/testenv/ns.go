package testenv

import (
	"testing"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// NS is a named network namespace owned by one test.
type NS = netlab.NS

// nsPrefix starts the names of test namespaces ("linxt-<pid>-<random>").
const nsPrefix = "linxt"

// NewNS creates a fresh named network namespace with lo up. A tb.Cleanup
// deletes its interfaces and the namespace itself, even on failure.
func NewNS(tb testing.TB) *NS {
	tb.Helper()
	ns, err := NSMaker(tb)("")
	if err != nil {
		tb.Fatalf("%v", err)
	}
	return ns
}

// NSMaker returns a constructor of namespaces owned by tb, for code that
// builds topologies and returns errors (internal/lab). Each namespace is
// named linxt-<hint>-<pid>-<random> and removed by a tb.Cleanup registered
// when it is created, even if the test fails before the code using it
// cleans up itself. Calling the constructor skips (or fails) tb when
// privileges are missing.
func NSMaker(tb testing.TB) func(hint string) (*NS, error) {
	tb.Helper()
	return func(hint string) (*NS, error) {
		tb.Helper()
		RequirePriv(tb, "network namespaces")
		prefix := nsPrefix
		if hint != "" {
			prefix += "-" + hint
		}
		ns, err := netlab.NewNS(prefix)
		if err != nil {
			return nil, err
		}
		tb.Cleanup(func() {
			if err := ns.Destroy(); err != nil {
				tb.Errorf("cleanup: %v", err)
			}
		})
		return ns, nil
	}
}
