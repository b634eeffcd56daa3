package linkwatch

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/server/gnmisrv"
)

// The netlink LinkStater on the loopback of the test's own namespace (reading link
// state needs no privileges).
func TestLinks(t *testing.T) {
	n := NewLinks(nil)
	st, err := n.LinkState(dataplane.PortInfo{ID: 1, Name: "lo"})
	if err != nil {
		t.Skipf("no netlink here: %v", err)
	}
	// lo reports operstate UNKNOWN with IFF_UP|IFF_RUNNING: UP.
	if !st.AdminUp || st.Oper != gnmisrv.OperUp || st.LastChange.IsZero() {
		t.Errorf("lo: %+v", st)
	}
	again, err := n.LinkState(dataplane.PortInfo{ID: 1, Name: "lo"})
	if err != nil || !again.LastChange.Equal(st.LastChange) {
		t.Errorf("last-change moved without a change: %+v, %v", again, err)
	}
	if _, err := n.LinkState(dataplane.PortInfo{ID: 2, Name: "linx-nonexistent0"}); !errors.Is(err, gnmisrv.ErrNoLink) {
		t.Errorf("missing link: %v", err)
	}
}

func TestLinksLastChange(t *testing.T) {
	n := NewLinks(nil)
	a := time.Unix(100, 0)
	if got := n.observe("x", gnmisrv.OperUp, a); !got.Equal(a) {
		t.Errorf("first sight: %v", got)
	}
	if got := n.observe("x", gnmisrv.OperUp, a.Add(time.Second)); !got.Equal(a) {
		t.Errorf("no change: %v", got)
	}
	if got := n.observe("x", gnmisrv.OperDown, a.Add(2*time.Second)); !got.Equal(a.Add(2 * time.Second)) {
		t.Errorf("change: %v", got)
	}
}

func TestOperFromKernel(t *testing.T) {
	up := net.FlagUp | net.FlagRunning
	for _, tc := range []struct {
		s     netlink.LinkOperState
		flags net.Flags
		want  gnmisrv.OperStatus
	}{
		{netlink.OperUp, up, gnmisrv.OperUp},
		{netlink.OperDown, net.FlagUp, gnmisrv.OperDown},
		{netlink.OperLowerLayerDown, net.FlagUp, gnmisrv.OperLowerLayerDown},
		{netlink.OperDormant, up, gnmisrv.OperDormant},
		{netlink.OperTesting, up, gnmisrv.OperTesting},
		{netlink.OperNotPresent, 0, gnmisrv.OperNotPresent},
		{netlink.OperUnknown, up, gnmisrv.OperUp},
		{netlink.OperUnknown, 0, gnmisrv.OperDown},
		{netlink.OperUnknown, net.FlagUp, gnmisrv.OperUnknown},
	} {
		if got := operFromKernel(tc.s, tc.flags); got != tc.want {
			t.Errorf("operFromKernel(%v, %v) = %v, want %v", tc.s, tc.flags, got, tc.want)
		}
	}
}
