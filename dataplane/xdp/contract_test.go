package xdp

import (
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/dataplanetest"
	"github.com/linx-sdwan/linx/internal/testenv"
)

func TestContract(t *testing.T) {
	testenv.RequireRoot(t)
	dataplanetest.RunFlows(t, func(t *testing.T, o dataplane.Options) dataplane.Dataplane {
		d, err := Load(o)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}, flowRig)
}

// flowRig is the fixture rig with four overlays on wan0, told apart by their
// GRE key (the tunnel id). Flow i is a UDP datagram from the LAN with source
// port 10000+i, run through the pipeline twice (the second time from the flow
// cache) and judged by the overlay it leaves in. One namespace switch per
// batch: the kernel matrix runs this on emulated CPUs.
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
	rig.Overlays = func(t *testing.T, id dataplane.LBRID, n int) []dataplane.TunnelID {
		t.Helper()
		if !fars[id] {
			addRule(t, r, uplink(), 1, dataplane.FARID(id), dataplane.FAR{Action: dataplane.ActBalance, LBR: id})
			fars[id] = true
		}
		frames := make([][]byte, n)
		for i := range frames {
			frames[i] = pkt{sport: uint16(10000 + i), dport: 443, proto: layers.IPProtocolUDP}.bytes(t)
		}
		outs := make([][2][]byte, n)
		verdicts := make([][2]uint32, n)
		err := r.ns.Do(func() error {
			for i, f := range frames {
				for pass := range 2 {
					out := make([]byte, len(f)+512)
					opts := &ebpf.RunOptions{Data: f, DataOut: out, Context: xdpMd{DataEnd: uint32(len(f)), IngressIfindex: uint32(r.idx[portLAN])}}
					v, err := r.dp.objs.LinxXdp.Run(opts)
					if err != nil {
						return err
					}
					verdicts[i][pass], outs[i][pass] = v, opts.DataOut
				}
			}
			return nil
		})
		must(t, err)
		got := make([]dataplane.TunnelID, n)
		for i := range got {
			var tid [2]dataplane.TunnelID
			for pass := range 2 {
				if verdicts[i][pass] != xdpRedirect {
					continue
				}
				_, _, gre, _ := outerIP(t, decode(outs[i][pass]))
				tid[pass] = dataplane.TunnelID(gre.Key)
			}
			if tid[0] != tid[1] {
				t.Fatalf("flow %d: tunnel %d, then %d from the flow cache (0: dropped)", i, tid[0], tid[1])
			}
			got[i] = tid[0]
		}
		return got
	}
	return rig
}
