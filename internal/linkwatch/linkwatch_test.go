package linkwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// call is one SetPortUp call.
type call struct {
	port dataplane.PortID
	up   bool
}

// recorder passes SetPortUp to an in-memory data path and records each call.
type recorder struct {
	*memdp.Dataplane
	calls chan call
	fail  error
}

func newRecorder() *recorder {
	return &recorder{Dataplane: memdp.New(dataplane.Options{}), calls: make(chan call, 100)}
}

func (r *recorder) SetPortUp(id dataplane.PortID, up bool) error {
	if r.fail != nil {
		return r.fail
	}
	if err := r.Dataplane.SetPortUp(id, up); err != nil {
		return err
	}
	r.calls <- call{id, up}
	return nil
}

// next waits for the next SetPortUp call.
func (r *recorder) next(t *testing.T, what string) call {
	t.Helper()
	select {
	case c := <-r.calls:
		return c
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: no SetPortUp call within 5s", what)
		return call{}
	}
}

// none checks that no SetPortUp call comes for a while.
func (r *recorder) none(t *testing.T, what string) {
	t.Helper()
	select {
	case c := <-r.calls:
		t.Fatalf("%s: unexpected SetPortUp(%d, %v)", what, c.port, c.up)
	case <-time.After(200 * time.Millisecond):
	}
}

// logs collects the messages given to Logf.
type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(format, args...))
}

func (l *logs) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// waitLog waits until a logged line contains s.
func (l *logs) waitLog(t *testing.T, s string) {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) {
		if strings.Contains(l.String(), s) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no log line with %q:\n%s", s, l)
}

func TestLinkUp(t *testing.T) {
	for _, tc := range []struct {
		name  string
		state netlink.LinkOperState
		flags uint32
		up    bool
	}{
		{"up", netlink.OperUp, unix.IFF_UP | unix.IFF_RUNNING, true},
		{"up without running flag", netlink.OperUp, unix.IFF_UP, true},
		{"unknown running", netlink.OperUnknown, unix.IFF_UP | unix.IFF_RUNNING | unix.IFF_LOOPBACK, true},
		{"unknown not running", netlink.OperUnknown, unix.IFF_UP, false},
		{"unknown admin down", netlink.OperUnknown, unix.IFF_RUNNING, false},
		{"down", netlink.OperDown, 0, false},
		{"lower layer down", netlink.OperLowerLayerDown, unix.IFF_UP, false},
		{"dormant", netlink.OperDormant, unix.IFF_UP | unix.IFF_RUNNING, false},
		{"not present", netlink.OperNotPresent, unix.IFF_UP, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, why := linkUp(&netlink.LinkAttrs{OperState: tc.state, RawFlags: tc.flags})
			if up != tc.up {
				t.Errorf("linkUp(%v, %#x) = %v (%s), want %v", tc.state, tc.flags, up, why, tc.up)
			}
		})
	}
}

// update is a notification about link name/index in state st.
func update(typ uint16, name string, index int, st netlink.LinkOperState, flags uint32) netlink.LinkUpdate {
	a := netlink.NewLinkAttrs()
	a.Name, a.Index, a.OperState, a.RawFlags = name, index, st, flags
	return netlink.LinkUpdate{Header: unix.NlMsghdr{Type: typ}, IfInfomsg: *nl.NewIfInfomsg(unix.AF_UNSPEC), Link: &netlink.Device{LinkAttrs: a}}
}

// TestHandle drives the watcher with made-up notifications (no privileges):
// only changes of attached ports reach the data path, matched by name and
// index.
func TestHandle(t *testing.T) {
	r := newRecorder()
	var l logs
	w := &watcher{dp: r, logf: l.logf, state: map[dataplane.PortID]bool{}, ports: []dataplane.PortInfo{
		{ID: 1, Name: "lan", Ifindex: 5},
		{ID: 2, Name: "wan1", Ifindex: 6},
		{ID: 3, Name: "wan2"}, // index unknown: the name alone matches
	}}
	const running = unix.IFF_UP | unix.IFF_RUNNING
	steps := []struct {
		u    netlink.LinkUpdate
		want []call
	}{
		{update(unix.RTM_NEWLINK, "lan", 5, netlink.OperUp, running), []call{{1, true}}},
		{update(unix.RTM_NEWLINK, "lan", 5, netlink.OperUp, running), nil},                       // no change
		{update(unix.RTM_NEWLINK, "eth0", 7, netlink.OperDown, 0), nil},                          // not a port
		{update(unix.RTM_NEWLINK, "wan1", 9, netlink.OperDown, 0), nil},                          // same name, another interface
		{update(unix.RTM_NEWLINK, "wan1", 6, netlink.OperDown, unix.IFF_UP), []call{{2, false}}}, // first state: down
		{update(unix.RTM_NEWLINK, "wan1", 6, netlink.OperUp, running), []call{{2, true}}},
		{update(unix.RTM_NEWLINK, "lan", 5, netlink.OperLowerLayerDown, unix.IFF_UP), []call{{1, false}}},
		{update(unix.RTM_NEWLINK, "wan2", 42, netlink.OperUnknown, running), []call{{3, true}}},
		{update(unix.RTM_DELLINK, "wan2", 42, netlink.OperUnknown, running), []call{{3, false}}},
	}
	for i, s := range steps {
		w.handle(s.u)
		for _, want := range s.want {
			if got := r.next(t, fmt.Sprintf("step %d", i)); got != want {
				t.Fatalf("step %d: SetPortUp%v, want SetPortUp%v", i, got, want)
			}
		}
		select {
		case c := <-r.calls:
			t.Fatalf("step %d: unexpected SetPortUp%v", i, c)
		default:
		}
	}
	if r.PortUp(1) || !r.PortUp(2) || r.PortUp(3) {
		t.Errorf("data path ports up: 1 %v 2 %v 3 %v, want false true false", r.PortUp(1), r.PortUp(2), r.PortUp(3))
	}
	if !strings.Contains(l.String(), "port 3 (wan2) link down (interface deleted)") {
		t.Errorf("log lacks the deletion:\n%s", &l)
	}

	// A failed SetPortUp is logged and retried at the next notification.
	r.fail = errors.New("map update failed")
	w.handle(update(unix.RTM_NEWLINK, "lan", 5, netlink.OperUp, running))
	if !strings.Contains(l.String(), "port 1 (lan) up: telling the data path failed: map update failed") {
		t.Errorf("log lacks the failure:\n%s", &l)
	}
	r.fail = nil
	w.handle(update(unix.RTM_NEWLINK, "lan", 5, netlink.OperUp, running))
	if got := r.next(t, "retry"); got != (call{1, true}) {
		t.Fatalf("retry: SetPortUp%v, want SetPortUp{1 true}", got)
	}
}

// TestRunVeth follows a veth in a test namespace: the initial state, the
// peer going down (carrier lost) and up, the port itself set down, and Run
// stopping with its context.
func TestRunVeth(t *testing.T) {
	testenv.RequirePriv(t, "linkwatch on a veth")
	ns := testenv.NewNS(t)
	testenv.Veth(t, ns, "port0", ns, "peer0")
	idx := testenv.Link(t, ns, "port0").Attrs().Index
	r := newRecorder()
	var l logs
	ports := []dataplane.PortInfo{
		{ID: 2, Name: "port0", Ifindex: idx},
		{ID: 3, Name: "absent0"},
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- RunIn(ctx, ns.Handle(), r, ports, l.logf) }()

	if got := r.next(t, "initial state"); got != (call{2, true}) {
		t.Fatalf("initial state: SetPortUp%v, want SetPortUp{2 true}", got)
	}
	l.waitLog(t, "following ports 2 (port0) up")
	l.waitLog(t, "no interface for ports 3 (absent0)")

	testenv.SetLinkDown(t, ns, "peer0")
	if got := r.next(t, "peer down"); got != (call{2, false}) {
		t.Fatalf("peer down: SetPortUp%v, want SetPortUp{2 false}", got)
	}
	if r.PortUp(2) {
		t.Fatal("peer down: the data path still has port 2 up")
	}
	l.waitLog(t, "port 2 (port0) link down (operstate lower-layer-down)")

	testenv.SetLinkUp(t, ns, "peer0")
	if got := r.next(t, "peer up"); got != (call{2, true}) {
		t.Fatalf("peer up: SetPortUp%v, want SetPortUp{2 true}", got)
	}

	testenv.SetLinkDown(t, ns, "port0")
	if got := r.next(t, "port down"); got != (call{2, false}) {
		t.Fatalf("port down: SetPortUp%v, want SetPortUp{2 false}", got)
	}
	r.none(t, "after port down")

	cancel()
	select {
	case err := <-ran:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop within 5s of its context")
	}
	// Stopped: changes no longer reach the data path.
	testenv.SetLinkUp(t, ns, "port0")
	r.none(t, "after stop")
	t.Logf("log:\n%s", &l)
}

// TestStart checks that the function Start returns stops the watcher and
// waits for it (here in the test's own namespace, where no port exists).
func TestStart(t *testing.T) {
	// Unprivileged processes may not be allowed to subscribe to link
	// notifications (EPERM in some sandboxes).
	testenv.RequirePriv(t, "linkwatch.Start")
	r := newRecorder()
	var l logs
	stop := Start(r, []dataplane.PortInfo{{ID: 1, Name: "linxw-absent"}}, l.logf)
	l.waitLog(t, "no interface for ports 1 (linxw-absent)")
	if strings.Contains(l.String(), "stopped") {
		t.Fatalf("the watcher stopped by itself:\n%s", &l)
	}
	done := make(chan struct{})
	go func() { stop(); stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("stop did not return within 5s")
	}
	r.none(t, "no port")
}
