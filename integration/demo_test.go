package integration

import (
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/internal/demo"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// demoTimeout bounds TestDemo's scenario (the demo promises under two
// minutes; teardown comes on top).
const demoTimeout = 3 * time.Minute

// TestDemo runs `make demo`'s scenario (internal/demo: real linx-agent and
// linxctl processes, an underlay router, failover) and checks that every
// claim it makes holds and that it leaves no namespace and no process
// behind.
func TestDemo(t *testing.T) {
	testenv.RequireRoot(t)
	if _, err := exec.LookPath("go"); err != nil {
		testenv.SkipOrFail(t, "the demo builds linx-agent and linxctl: %v", err)
	}
	nsBefore := demoNamespaces(t)
	childrenBefore := demo.Children()

	r := demo.Run(testenv.Context(t, demoTimeout), demo.Config{Out: t.Output()})

	if r.Err != nil {
		t.Errorf("the demo stopped early: %v", r.Err)
	}
	if len(r.Checks) == 0 {
		t.Errorf("the demo checked nothing")
	}
	for _, c := range r.Checks {
		if !c.OK {
			t.Errorf("demo check failed: %s", c.Text)
		}
	}
	// The acts of issue 14 ran and checked what they promise: an IPv6 flow
	// across the sites (echoes, UDP, TCP, the IPv6 rules' counters) and a
	// policed class (nothing dropped below the CIR, the CIR delivered above
	// it, the meter's per-color counts equal to what arrived and what not).
	for _, want := range []string{"ping6 host-a -> host-b", "ping6 host-b -> host-a", "udp over IPv6 host-a -> host-b",
		"tcp over IPv6 host-a -> host-b", "the IPv6 rules carried it", "at half the CIR", "at twice the CIR, host-b received",
		"an ideal policer fed the same sends", "the meter's per-color counts match"} {
		if !slices.ContainsFunc(r.Checks, func(c demo.Check) bool { return strings.Contains(c.Text, want) }) {
			t.Errorf("the demo made no check %q", want)
		}
	}
	if len(r.Leftovers) > 0 {
		t.Errorf("the demo says it left behind: %s", strings.Join(r.Leftovers, "; "))
	}
	if len(r.Namespaces) != 5 {
		t.Errorf("the demo created namespaces %v, want 5", r.Namespaces)
	}
	// Independently of what the demo says about itself.
	for _, name := range demoNamespaces(t) {
		if !slices.Contains(nsBefore, name) {
			t.Errorf("namespace %s left in %s", name, netlab.NetnsDir)
		}
	}
	for _, pid := range demo.Children() {
		if !slices.Contains(childrenBefore, pid) {
			t.Errorf("child process %d left running", pid)
		}
	}
	if r.Elapsed > 2*time.Minute {
		t.Errorf("the demo took %v, promised under two minutes", r.Elapsed)
	}
}

// demoNamespaces lists the demo namespaces this process created under
// /run/netns: named linxdemo-<role>-<pid, base 36>-<random>. Other
// processes' namespaces (a demo someone runs meanwhile) are none of this
// test's business.
func demoNamespaces(t *testing.T) []string {
	t.Helper()
	ents, err := os.ReadDir(netlab.NetnsDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	mine := "-" + strconv.FormatInt(int64(os.Getpid()), 36) + "-"
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), demo.NSPrefix) && strings.Contains(e.Name(), mine) {
			out = append(out, e.Name())
		}
	}
	return out
}
