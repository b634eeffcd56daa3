package xdp

import (
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/dataplanetest"
	"github.com/linx-sdwan/linx/internal/testenv"
)

func TestContract(t *testing.T) {
	testenv.RequireRoot(t)
	dataplanetest.Run(t, func(t *testing.T, o dataplane.Options) dataplane.Dataplane {
		d, err := Load(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}, dataplanetest.Limits{NoIPv6Underlay: true, Flows: flowRig})
}

// flowRig is the fixture rig with four overlays on wan0, told apart by their
// GRE key (the tunnel id). Flow i is a UDP datagram from the LAN with source
// port 10000+i, run through the pipeline twice (the second time from the flow
// cache) and judged by the overlay it leaves in.
func flowRig(t *testing.T) dataplanetest.FlowRig {
	r := newRig(t)
	must(t, r.dp.Clear())
	rig := dataplanetest.FlowRig{DP: r.dp, Tunnels: map[dataplane.TunnelID]dataplane.Tunnel{}}
	for id := dataplane.TunnelID(1); id <= 4; id++ {
		tn := dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0, Key: uint32(id)}
		must(t, r.dp.SetTunnel(id, tn))
		rig.Tunnels[id] = tn
	}
	fars := map[dataplane.LBRID]bool{}
	rig.Overlay = func(t *testing.T, id dataplane.LBRID, i int) dataplane.TunnelID {
		t.Helper()
		if !fars[id] {
			addRule(t, r, uplink(), 1, dataplane.FARID(id), dataplane.FAR{Action: dataplane.ActBalance, LBR: id})
			fars[id] = true
		}
		frame := pkt{sport: uint16(10000 + i), dport: 443, proto: layers.IPProtocolUDP}.bytes(t)
		var first dataplane.TunnelID
		for pass := range 2 {
			v, out := r.run(portLAN, frame)
			if v != xdpRedirect {
				return 0
			}
			_, _, gre, _ := outerIP(t, decode(out))
			got := dataplane.TunnelID(gre.Key)
			if pass == 1 && got != first {
				t.Fatalf("flow %d: tunnel %d, then %d from the flow cache", i, first, got)
			}
			first = got
		}
		return first
	}
	return rig
}
