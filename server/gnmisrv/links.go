package gnmisrv

import (
	"errors"
	"time"

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
	// Kernel is the kernel's own statistics of the link, nil when unknown. They
	// count what the kernel stack sent and dropped (packet-outs, kernel-forwarded
	// and locally sent frames), which the pipeline never sees.
	Kernel *KernelStats
}

// KernelStats are a link's kernel statistics (rtnl_link_stats64).
type KernelStats struct {
	TxPackets, TxBytes   uint64
	RxDropped, TxDropped uint64
}

// LinkStater reports the link state of an attached port. Implementations must be
// safe for concurrent use: every Get and every active subscription calls it.
type LinkStater interface {
	LinkState(p dataplane.PortInfo) (LinkState, error)
}

// ErrNoLinkSource is what LinkState reports when Options.Links was not set.
var ErrNoLinkSource = errors.New("no link state source configured")

// noLinks is the LinkStater of a server given none: every port's state is unknown.
type noLinks struct{}

func (noLinks) LinkState(dataplane.PortInfo) (LinkState, error) { return LinkState{}, ErrNoLinkSource }

// ErrNoLink is wrapped by a LinkStater when the port's interface does not
// exist (any more).
var ErrNoLink = errors.New("link not found")
