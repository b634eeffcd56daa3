// Package linkwatch follows the kernel's link state of the ports the data path
// is attached to and tells the data path (dataplane.Dataplane.SetPortUp), so
// that overlays leaving by a port whose link went down leave load balancing
// at once and come back when the link does.
//
// It reads every link once when it starts (a netlink dump) and then follows
// RTM_NEWLINK/RTM_DELLINK notifications, in the network namespace it is
// started in (or the one given to RunIn). A port is up when its operstate is
// UP, or UNKNOWN with IFF_UP and IFF_RUNNING (drivers that do not report an
// operstate, such as loopback); anything else, and a deleted interface, is
// down. The data path is told only about changes, plus each port's state at
// the start.
//
// The package logs nothing itself: what it has to say goes to the logf
// callback, one line per event.
package linkwatch

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// PortSetter is the part of dataplane.Dataplane linkwatch uses.
type PortSetter interface {
	SetPortUp(id dataplane.PortID, up bool) error
}

// Logf receives linkwatch's messages (printf style). nil discards them.
type Logf func(format string, args ...any)

// resubscribeDelay is how long Run waits before subscribing again after the
// kernel closed or overran its notification socket.
const resubscribeDelay = 200 * time.Millisecond

// Run follows the link state of ports in the calling thread's network
// namespace until ctx is done, and returns ctx's error. Ports are matched by
// interface name and, when PortInfo.Ifindex is set, by index too (so the
// made-up indexes of an in-memory data path normally match nothing, and its
// ports are reported missing). It returns early only when it cannot subscribe
// to link notifications at all.
func Run(ctx context.Context, dp PortSetter, ports []dataplane.PortInfo, logf Logf) error {
	return RunIn(ctx, netns.None(), dp, ports, logf)
}

// RunIn is Run in network namespace ns (netns.None(): the calling thread's).
func RunIn(ctx context.Context, ns netns.NsHandle, dp PortSetter, ports []dataplane.PortInfo, logf Logf) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	w := &watcher{dp: dp, logf: logf, ports: ports, state: map[dataplane.PortID]bool{}}
	for first := true; ; first = false {
		subscribed, err := w.session(ctx, ns)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if first && !subscribed {
			return fmt.Errorf("linkwatch: %w", err)
		}
		logf("linkwatch: link notifications interrupted (%v); subscribing again", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(resubscribeDelay):
		}
	}
}

// Start runs Run on a goroutine of its own and returns a function that stops
// it and waits until it has stopped, so no SetPortUp call happens after stop
// returns: `defer linkwatch.Start(dp, dp.Ports(), logf)()` after `defer
// dp.Close()` stops it first. It watches the process's network namespace (the
// goroutine's thread is not switched anywhere).
func Start(dp PortSetter, ports []dataplane.PortInfo, logf Logf) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := Run(ctx, dp, ports, logf); err != nil && !errors.Is(err, context.Canceled) && logf != nil {
			logf("linkwatch: stopped: %v", err)
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

type watcher struct {
	dp    PortSetter
	logf  Logf
	ports []dataplane.PortInfo
	// state is what the data path was last told, by port; absent: nothing yet.
	state map[dataplane.PortID]bool
	// dumping is set while the initial dump of a subscription arrives: the
	// ports' first states are then summed up by report, not logged one by one.
	dumping bool
}

// session subscribes, reads the initial dump and follows notifications until
// ctx is done or the subscription breaks. subscribed is false when it could
// not subscribe at all.
func (w *watcher) session(ctx context.Context, ns netns.NsHandle) (subscribed bool, err error) {
	ch := make(chan netlink.LinkUpdate, 64)
	done := make(chan struct{})
	var (
		mu     sync.Mutex
		subErr error
	)
	err = netlink.LinkSubscribeWithOptions(ch, done, netlink.LinkSubscribeOptions{
		Namespace:    &ns,
		ListExisting: true,
		ErrorCallback: func(err error) {
			mu.Lock()
			if subErr == nil {
				subErr = err
			}
			mu.Unlock()
		},
	})
	if err != nil {
		close(done)
		return false, fmt.Errorf("subscribe to link notifications: %w", err)
	}
	// The subscription's reader blocks on ch: drain it until it closes.
	defer func() {
		close(done)
		for range ch {
		}
	}()

	// The dump that ListExisting asked for arrives first; ports it does not
	// mention do not exist (yet). A dump ends with NLMSG_DONE, which the
	// subscription swallows, so the dump is taken as over once it pauses.
	seen := map[dataplane.PortID]bool{}
	w.dumping = true
	settle := time.NewTimer(dumpSettle)
	defer settle.Stop()
	for {
		select {
		case <-ctx.Done():
			return true, nil
		case <-settle.C:
			if w.dumping {
				w.dumping = false
				w.report(seen)
			}
		case u, ok := <-ch:
			if !ok {
				mu.Lock()
				err := subErr
				mu.Unlock()
				if err == nil {
					err = errors.New("notification socket closed")
				}
				return true, err
			}
			if id, ok := w.handle(u); ok && w.dumping {
				seen[id] = true
				if !settle.Stop() {
					select {
					case <-settle.C:
					default:
					}
				}
				settle.Reset(dumpSettle)
			}
		}
	}
}

// dumpSettle is how long after the last dumped link the initial dump is taken
// as complete (only to report ports whose interface is missing).
const dumpSettle = 500 * time.Millisecond

// handle applies one notification; it reports the port it concerned.
func (w *watcher) handle(u netlink.LinkUpdate) (dataplane.PortID, bool) {
	a := u.Link.Attrs()
	if a == nil {
		return 0, false
	}
	for _, p := range w.ports {
		if p.Name != a.Name || (p.Ifindex != 0 && p.Ifindex != a.Index) {
			continue
		}
		up, why := linkUp(a)
		if u.Header.Type == unix.RTM_DELLINK {
			up, why = false, "interface deleted"
		}
		w.set(p, up, why)
		return p.ID, true
	}
	return 0, false
}

// set tells the data path about a change of p's state (or its first state).
func (w *watcher) set(p dataplane.PortInfo, up bool, why string) {
	if old, ok := w.state[p.ID]; ok && old == up {
		return
	}
	if err := w.dp.SetPortUp(p.ID, up); err != nil {
		w.logf("linkwatch: port %d (%s) %s: telling the data path failed: %v", p.ID, p.Name, upDown(up), err)
		delete(w.state, p.ID) // try again at the next notification
		return
	}
	w.state[p.ID] = up
	if !w.dumping {
		w.logf("linkwatch: port %d (%s) link %s (%s)", p.ID, p.Name, upDown(up), why)
	}
}

// report says, once the initial dump is over, what state each port starts in
// and which ports have no interface.
func (w *watcher) report(seen map[dataplane.PortID]bool) {
	var found, missing []string
	for _, p := range w.ports {
		if !seen[p.ID] {
			missing = append(missing, fmt.Sprintf("%d (%s)", p.ID, p.Name))
			continue
		}
		found = append(found, fmt.Sprintf("%d (%s) %s", p.ID, p.Name, upDown(w.state[p.ID])))
	}
	if len(found) > 0 {
		w.logf("linkwatch: following ports %s", strings.Join(found, ", "))
	}
	if len(missing) > 0 {
		w.logf("linkwatch: no interface for ports %s here: their link state is followed once they appear", strings.Join(missing, ", "))
	}
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// linkUp says whether a link can carry traffic, and why.
func linkUp(a *netlink.LinkAttrs) (bool, string) {
	st := a.OperState
	switch st {
	case netlink.OperUp:
		return true, "operstate up"
	case netlink.OperUnknown:
		const want = unix.IFF_UP | unix.IFF_RUNNING
		if a.RawFlags&want == want {
			return true, "operstate unknown, up and running"
		}
		return false, "operstate unknown, not running"
	}
	return false, "operstate " + st.String()
}
