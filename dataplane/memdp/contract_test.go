package memdp

import (
	"net/netip"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/dataplanetest"
)

func TestContract(t *testing.T) {
	dataplanetest.RunFlows(t, func(t *testing.T, o dataplane.Options) dataplane.Dataplane {
		d := New(o)
		t.Cleanup(func() { d.Close() })
		return d
	}, flowRig)
}

// flowRig is memdp with four overlays; a flow's overlay is Overlay's answer
// for a hash of the flow's number.
func flowRig(t *testing.T) dataplanetest.FlowRig {
	d := New(dataplane.Options{})
	t.Cleanup(func() { d.Close() })
	if err := d.Attach("wan0", 2, dataplane.RoleWAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	rig := dataplanetest.FlowRig{DP: d, Tunnels: map[dataplane.TunnelID]dataplane.Tunnel{}}
	for id := dataplane.TunnelID(1); id <= 4; id++ {
		tn := dataplane.Tunnel{Port: 2, Src: netip.MustParseAddr("198.51.100.1"), Dst: netip.MustParseAddr("203.0.113.9"), Key: uint32(id)}
		if err := d.SetTunnel(id, tn); err != nil {
			t.Fatal(err)
		}
		rig.Tunnels[id] = tn
	}
	rig.Overlays = func(t *testing.T, id dataplane.LBRID, n int) []dataplane.TunnelID {
		out := make([]dataplane.TunnelID, n)
		for i := range out {
			out[i], _ = d.Overlay(id, uint32(i)*2654435761)
		}
		return out
	}
	return rig
}
