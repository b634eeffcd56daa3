package gnmisrv

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/dataplane"
)

// OperStatus is the openconfig-interfaces oper-status enumeration (RFC 2863 states).
type OperStatus string

// The oper-status values. ONOS treats "UP" as enabled and everything else as
// disabled.
const (
	OperUp             OperStatus = "UP"
	OperDown           OperStatus = "DOWN"
	OperTesting        OperStatus = "TESTING"
	OperUnknown        OperStatus = "UNKNOWN"
	OperDormant        OperStatus = "DORMANT"
	OperNotPresent     OperStatus = "NOT_PRESENT"
	OperLowerLayerDown OperStatus = "LOWER_LAYER_DOWN"
)

// LinkState is the kernel's view of a port's link.
type LinkState struct {
	// AdminUp is the administrative state (IFF_UP): admin-status "UP" or "DOWN".
	AdminUp bool
	// Oper is the operational state: oper-status.
	Oper OperStatus
	// LastChange is when Oper last changed: last-change, in nanoseconds since the
	// Unix epoch. The zero time is reported as 0 (unknown).
	LastChange time.Time
}

// LinkStater reports the link state of an attached port. Implementations must be
// safe for concurrent use: every Get and every active subscription calls it.
type LinkStater interface {
	LinkState(p dataplane.PortInfo) (LinkState, error)
}

// NetlinkLinks is the production LinkStater: it reads the link's flags and
// operstate over netlink, looking the link up by the port's interface name in the
// network namespace of its handle (the data path attaches by name in the agent's
// namespace, so the default handle is the right one).
//
// The kernel keeps no timestamp of operstate changes, so LastChange is tracked
// here: it is the time this LinkStater first saw the link, then the time it first
// saw each change of oper-status. Changes are noticed when LinkState is called,
// which active ON_CHANGE subscriptions do every Options.ChangeInterval.
type NetlinkLinks struct {
	h *netlink.Handle

	mu   sync.Mutex
	seen map[string]linkMemo
}

type linkMemo struct {
	oper  OperStatus
	since time.Time
}

// NewNetlinkLinks returns a LinkStater that queries links through h; a nil h uses
// the calling thread's current network namespace.
func NewNetlinkLinks(h *netlink.Handle) *NetlinkLinks {
	return &NetlinkLinks{h: h, seen: map[string]linkMemo{}}
}

// ErrNoLink is wrapped by NetlinkLinks.LinkState when the port's interface does not
// exist (any more).
var ErrNoLink = errors.New("link not found")

// LinkState implements LinkStater.
func (n *NetlinkLinks) LinkState(p dataplane.PortInfo) (LinkState, error) {
	var (
		l   netlink.Link
		err error
	)
	if n.h != nil {
		l, err = n.h.LinkByName(p.Name)
	} else {
		l, err = netlink.LinkByName(p.Name)
	}
	if err != nil {
		if _, ok := err.(netlink.LinkNotFoundError); ok {
			n.forget(p.Name)
			return LinkState{}, fmt.Errorf("%w: %s", ErrNoLink, p.Name)
		}
		return LinkState{}, fmt.Errorf("netlink: link %s: %w", p.Name, err)
	}
	a := l.Attrs()
	st := LinkState{AdminUp: a.Flags&net.FlagUp != 0, Oper: operFromKernel(a.OperState, a.Flags)}
	st.LastChange = n.observe(p.Name, st.Oper, time.Now())
	return st, nil
}

func (n *NetlinkLinks) observe(name string, oper OperStatus, now time.Time) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.seen[name]
	if !ok || m.oper != oper {
		m = linkMemo{oper: oper, since: now}
		n.seen[name] = m
	}
	return m.since
}

func (n *NetlinkLinks) forget(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.seen, name)
}

// operFromKernel maps IF_OPER_* to oper-status. Drivers that do not track
// operstate (loopback, some virtual devices) report "unknown"; for them a running
// (carrier up), administratively up link is UP, as iproute2 users would expect.
func operFromKernel(s netlink.LinkOperState, flags net.Flags) OperStatus {
	switch s {
	case netlink.OperUp:
		return OperUp
	case netlink.OperDown:
		return OperDown
	case netlink.OperLowerLayerDown:
		return OperLowerLayerDown
	case netlink.OperTesting:
		return OperTesting
	case netlink.OperDormant:
		return OperDormant
	case netlink.OperNotPresent:
		return OperNotPresent
	}
	if flags&net.FlagUp != 0 && flags&net.FlagRunning != 0 {
		return OperUp
	}
	if flags&net.FlagUp == 0 {
		return OperDown
	}
	return OperUnknown
}
