package xdp

import (
	"fmt"
	"slices"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket/layers"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/sla"
)

// BenchmarkSTAMPReflector6 is BenchmarkSTAMPReflector over the IPv6
// underlay: what a reflected IPv6 probe costs (linx_xdp, linx_decap6,
// linx_encap6, linx_encap6_u6) beside a downlink IPv6 data packet of the same
// size through the same tunnel (decapsulated, classified from the flow cache,
// forwarded to the LAN). Every probe is answered (the reflector's bucket at
// its largest) but in the over-rate case (a rate of 1/s, a burst of 1 spent
// before the timing: every timed probe is dropped with stamp_rate). Batches
// of 256 alternate the two; ns/pkt from the kernel's BPF stats (tail-called
// stages included), medians over the batches.
//
//	go test -run '^$' -bench STAMPReflector6 -benchtime 20x ./dataplane/xdp
func BenchmarkSTAMPReflector6(b *testing.B) {
	for _, c := range []struct {
		size     int
		overRate bool
	}{{sla.BaseLen, false}, {1000, false}, {sla.BaseLen, true}} {
		size := c.size
		b.Run(fmt.Sprintf("stamp=%d/overrate=%v", size, c.overRate), func(b *testing.B) {
			rate, burst := dataplane.MaxReflectorRate, dataplane.MaxReflectorBurst
			if c.overRate {
				rate, burst = 1, 1
			}
			r := newRigWith(b, dataplane.Options{MaxPDRs: 4096, MaxFARs: 1024, MaxLBRs: 64, MaxTunnels: 64, MaxTerms: 64, MaxPorts: 16,
				ReflectorRate: rate, ReflectorBurst: burst})
			underlay6(b, r)
			testenv.SetSysctl(b, r.ns, "net/ipv6/conf/lan0/disable_ipv6", "0")
			testenv.AddAddr(b, r.ns, "lan0", "2001:db8:1::1/64")
			testenv.AddNeigh(b, r.ns, "lan0", host6.String(), hostMAC)
			must(b, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: peer6a}))
			must(b, r.dp.SetTunnelTerm(dataplane.TunnelTerm{Remote: peer6a, Local: local6a}, 1))
			must(b, r.dp.SetFAR(1, dataplane.FAR{Action: dataplane.ActForward, Port: portLAN}))
			_, err := r.dp.InsertPDR(dataplane.PDR{Match: downlink(), Priority: 1, FAR: 1})
			must(b, err)
			payload := stampProbe(b, 1, size)
			gre := &layers.GRE{Protocol: layers.EthernetTypeIPv6}
			probe := gre6Frame(b, peer6a, local6a, gre, udpDatagram6(b, peer6a, local6a, 40000, sla.Port, 0, 64, payload))
			data := gre6Frame(b, peer6a, local6a, gre, udpDatagram6(b, remote6, host6, 40000, 4000, 0, 64, payload))
			if len(probe) != len(data) {
				b.Fatalf("frames of %d and %d octets", len(probe), len(data))
			}
			for _, f := range [][]byte{probe, data} {
				if v, _ := r.run(portWAN0, f); v != xdpRedirect {
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
			nsPerPkt := func(frame []byte) float64 {
				s0, err := r.dp.objs.LinxXdp.Stats()
				must(b, err)
				for range batch {
					r.run(portWAN0, frame)
				}
				s1, err := r.dp.objs.LinxXdp.Stats()
				must(b, err)
				if n := s1.RunCount - s0.RunCount; n < batch {
					b.Fatalf("%d runs counted for %d packets", n, batch)
				}
				return float64(s1.Runtime-s0.Runtime) / float64(s1.RunCount-s0.RunCount)
			}
			var probes, downs []float64
			b.ResetTimer()
			for range b.N {
				probes = append(probes, nsPerPkt(probe))
				downs = append(downs, nsPerPkt(data))
			}
			b.StopTimer()
			med := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
			b.ReportMetric(med(probes), "probe-ns/pkt")
			b.ReportMetric(med(downs), "downlink-ns/pkt")
			b.ReportMetric(0, "ns/op")
			b.Logf("%d batches of %d: probe %.0f ns (%.0f–%.0f), downlink data %.0f ns (%.0f–%.0f)",
				len(probes), batch, med(probes), slices.Min(probes), slices.Max(probes), med(downs), slices.Min(downs), slices.Max(downs))
		})
	}
}
