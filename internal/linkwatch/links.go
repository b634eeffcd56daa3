package linkwatch

import (
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/server/gnmisrv"
)

// Links is the production gnmisrv.LinkStater: it reads the link's flags and
// operstate over netlink, looking the link up by the port's interface name in the
// network namespace of its handle (the data path attaches by name in the agent's
// namespace, so the default handle is the right one).
//
// The kernel keeps no timestamp of operstate changes, so LastChange is tracked
// here: it is the time this LinkStater first saw the link, then the time it first
// saw each change of oper-status. Changes are noticed when LinkState is called,
// which active ON_CHANGE subscriptions do every Options.ChangeInterval.
type Links struct {
	h *netlink.Handle

	mu   sync.Mutex
	seen map[string]linkMemo
}

type linkMemo struct {
	oper  gnmisrv.OperStatus
	since time.Time
}

// NewLinks returns a LinkStater that queries links through h; a nil h uses
// the calling thread's current network namespace.
func NewLinks(h *netlink.Handle) *Links {
	return &Links{h: h, seen: map[string]linkMemo{}}
}

// LinkState implements LinkStater.
func (n *Links) LinkState(p dataplane.PortInfo) (gnmisrv.LinkState, error) {
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
			return gnmisrv.LinkState{}, fmt.Errorf("%w: %s", gnmisrv.ErrNoLink, p.Name)
		}
		return gnmisrv.LinkState{}, fmt.Errorf("netlink: link %s: %w", p.Name, err)
	}
	a := l.Attrs()
	st := gnmisrv.LinkState{AdminUp: a.Flags&net.FlagUp != 0, Oper: operFromKernel(a.OperState, a.Flags)}
	st.LastChange = n.observe(p.Name, st.Oper, time.Now())
	if s := a.Statistics; s != nil {
		st.Kernel = &gnmisrv.KernelStats{TxPackets: s.TxPackets, TxBytes: s.TxBytes, RxDropped: s.RxDropped, TxDropped: s.TxDropped}
	}
	return st, nil
}

func (n *Links) observe(name string, oper gnmisrv.OperStatus, now time.Time) time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	m, ok := n.seen[name]
	if !ok || m.oper != oper {
		m = linkMemo{oper: oper, since: now}
		n.seen[name] = m
	}
	return m.since
}

func (n *Links) forget(name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.seen, name)
}

// operFromKernel maps IF_OPER_* to oper-status. Drivers that do not track
// operstate (loopback, some virtual devices) report "unknown"; for them a running
// (carrier up), administratively up link is UP, as iproute2 users would expect.
func operFromKernel(s netlink.LinkOperState, flags net.Flags) gnmisrv.OperStatus {
	switch s {
	case netlink.OperUp:
		return gnmisrv.OperUp
	case netlink.OperDown:
		return gnmisrv.OperDown
	case netlink.OperLowerLayerDown:
		return gnmisrv.OperLowerLayerDown
	case netlink.OperTesting:
		return gnmisrv.OperTesting
	case netlink.OperDormant:
		return gnmisrv.OperDormant
	case netlink.OperNotPresent:
		return gnmisrv.OperNotPresent
	}
	if flags&net.FlagUp != 0 && flags&net.FlagRunning != 0 {
		return gnmisrv.OperUp
	}
	if flags&net.FlagUp == 0 {
		return gnmisrv.OperDown
	}
	return gnmisrv.OperUnknown
}
