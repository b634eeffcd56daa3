package xdp

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/sla"
)

// BenchmarkSTAMPReflector compares what linx_xdp costs per STAMP probe it
// reflects with what it costs per downlink data packet of the same size through
// the same tunnel (decapsulated, classified by one PDR from the flow cache,
// forwarded to the LAN), and per uplink data packet of that inner size (from the
// LAN, classified, encapsulated into the tunnel: the other half of the
// reflector's work). Program run time from the kernel's BPF stats (tail-called
// stages included), one packet per BPF_PROG_TEST_RUN, in batches of 256 that
// alternate the three, so that all see the same machine; ns/pkt reported as
// medians over the batches (extremes logged). The stateful reflector is timed
// at 44 octets. The reflector's rate is set high enough that every probe is
// answered, but in the over-rate cases: a rate of 1 probe per second and a
// burst of 1, so that every timed probe is a flood's, dropped (stamp_rate).
func BenchmarkSTAMPReflector(b *testing.B) {
	for _, c := range []struct {
		size     int
		stateful bool
		overRate bool
	}{{sla.BaseLen, false, false}, {1000, false, false}, {sla.BaseLen, true, false}, {sla.BaseLen, false, true}, {1000, false, true}} {
		size := c.size
		b.Run(fmt.Sprintf("stamp=%d/stateful=%v/overrate=%v", size, c.stateful, c.overRate), func(b *testing.B) {
			rate, burst := dataplane.MaxReflectorRate, dataplane.MaxReflectorBurst
			if c.overRate {
				rate, burst = 1, 1
			}
			r := newRigWith(b, dataplane.Options{MaxPDRs: 4096, MaxFARs: 1024, MaxLBRs: 64, MaxTunnels: 64, MaxTerms: 64, MaxPorts: 16,
				StatefulReflector: c.stateful, ReflectorRate: rate, ReflectorBurst: burst})
			must(b, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0}))
			must(b, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer0, Local: local0}, 1))
			must(b, r.dp.SetFAR(1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN}))
			must(b, r.dp.SetFAR(2, dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 1}))
			_, err := r.dp.InsertPDR(dataplane.PDR{Match: downlink(), Priority: 1, FAR: 1})
			must(b, err)
			_, err = r.dp.InsertPDR(dataplane.PDR{Match: uplink(), Priority: 1, FAR: 2})
			must(b, err)
			payload := stampProbe(b, 1, size)
			probe := greFrame(b, peer0, local0, &layers.GRE{}, udpDatagram(b, peer0, local0, 40000, sla.Port, 0, 64, payload))
			data := greFrame(b, peer0, local0, &layers.GRE{}, udpDatagram(b, remoteIP, hostIP, 40000, 4000, 0, 64, payload))
			up := pkt{src: hostIP, dst: remoteIP, sport: 40000, dport: 4000, payload: size}.bytes(b)
			if len(probe) != len(data) {
				b.Fatalf("frames of %d and %d octets", len(probe), len(data))
			}
			for _, f := range []struct {
				port  dataplane.PortID
				frame []byte
			}{{portWAN0, probe}, {portWAN0, data}, {portLAN, up}} {
				if v, _ := r.run(f.port, f.frame); v != xdpRedirect {
					b.Fatalf("verdict %d, want redirect (drops %v)", v, r.drops())
				}
			}
			if c.overRate { // the burst of 1 is spent: the next probes are over the rate
				if v, _ := r.run(portWAN0, probe); v != xdpDrop || r.drops()[dataplane.DropSTAMPRate].Packets == 0 {
					b.Fatalf("verdict %d, want a stamp_rate drop (drops %v)", v, r.drops())
				}
			}
			stats, err := ebpf.EnableStats(unix.BPF_STATS_RUN_TIME)
			if err != nil {
				b.Skipf("BPF stats: %v", err)
			}
			defer stats.Close()
			const batch = 256
			// Other frames (the kernel's own, on the idle ports) may run the
			// program too: a handful among thousands, counted in.
			nsPerPkt := func(port dataplane.PortID, frame []byte) float64 {
				s0, err := r.dp.objs.LinxXdp.Stats()
				must(b, err)
				for range batch {
					r.run(port, frame)
				}
				s1, err := r.dp.objs.LinxXdp.Stats()
				must(b, err)
				if n := s1.RunCount - s0.RunCount; n < batch {
					b.Fatalf("%d runs counted for %d packets", n, batch)
				}
				return float64(s1.Runtime-s0.Runtime) / float64(s1.RunCount-s0.RunCount)
			}
			var probes, downs, ups []float64
			b.ResetTimer()
			for range b.N {
				probes = append(probes, nsPerPkt(portWAN0, probe))
				downs = append(downs, nsPerPkt(portWAN0, data))
				ups = append(ups, nsPerPkt(portLAN, up))
			}
			b.StopTimer()
			med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
			b.ReportMetric(med(probes), "probe-ns/pkt")
			b.ReportMetric(med(downs), "downlink-ns/pkt")
			b.ReportMetric(med(ups), "uplink-ns/pkt")
			b.ReportMetric(0, "ns/op")
			b.Logf("%d batches of %d: probe %.0f ns (%.0f–%.0f), downlink data %.0f ns (%.0f–%.0f), uplink data %.0f ns (%.0f–%.0f)",
				len(probes), batch, med(probes), slices.Min(probes), slices.Max(probes), med(downs), slices.Min(downs), slices.Max(downs),
				med(ups), slices.Min(ups), slices.Max(ups))
		})
	}
}
