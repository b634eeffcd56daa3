package xdp

import (
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// BenchmarkBalanceWatch compares the per-packet cost of an LBR pick without
// watch ports, with every member watching an overlay's logical port, and with
// every member watching a physical port. The flow cache is off, so every
// packet picks; the three cases alternate packet by packet, in rotating order, in one run (the
// machine is noisy) and each reports its median ns/pkt over single-packet
// BPF_PROG_TEST_RUN calls (Repeat 1: encapsulation rewrites the packet). The
// packets end as no_port drops in the encap stage (the tunnels' WAN port is not
// attached here), after the pick, so the difference between the cases is the
// pick's.
func BenchmarkBalanceWatch(b *testing.B) {
	testenv.RequireRoot(b)
	ns := testenv.NewNS(b)
	dp, err := Load(dataplane.Options{MaxPDRs: 64, MaxFARs: 16, MaxLBRs: 8, MaxTunnels: 64, MaxPorts: 16, FlowCacheSize: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer dp.Close()
	var lo int
	ns.Do(func() error { lo = testenv.Link(b, ns, "lo").Attrs().Index; return nil })
	if err := dp.putPort(uint32(lo), linxPortInfo{Port: 1, Role: uint8(dataplane.RoleLAN)}); err != nil {
		b.Fatal(err)
	}
	src := netip.MustParseAddr("192.0.2.1")
	for id := dataplane.TunnelID(1); id <= 8; id++ {
		if err := dp.SetTunnel(id, dataplane.Tunnel{Port: 2, Src: src, Dst: netip.AddrFrom4([4]byte{198, 51, 100, byte(id)})}); err != nil {
			b.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		watch func(dataplane.TunnelID) uint32
	}{
		{"none", func(dataplane.TunnelID) uint32 { return 0 }},
		{"overlay", func(t dataplane.TunnelID) uint32 { return dataplane.TunnelPort(16, t) }},
		{"port", func(dataplane.TunnelID) uint32 { return 3 }},
	}
	frames := make([][]byte, len(cases))
	for i, c := range cases {
		var ms []dataplane.LBRMember
		for t := dataplane.TunnelID(1); t <= 4; t++ {
			ms = append(ms, dataplane.LBRMember{Tunnel: t, Weight: 1, Watch: c.watch(t)})
		}
		id := uint32(i + 1)
		if err := dp.SetLBR(dataplane.LBRID(id), ms); err != nil {
			b.Fatal(err)
		}
		if err := dp.SetFAR(dataplane.FARID(id), dataplane.FAR{Action: dataplane.ActBalance, LBR: dataplane.LBRID(id)}); err != nil {
			b.Fatal(err)
		}
		m := dataplane.MatchAll()
		m.Dst = dataplane.Exact(uint32(10<<24 | id))
		if _, err := dp.InsertPDR(dataplane.PDR{Match: m, Priority: 1, FAR: dataplane.FARID(id)}); err != nil {
			b.Fatal(err)
		}
		frames[i] = pkt{dst: dataplane.AddrFrom4(10<<24 | id), sport: 1000, dport: 443}.bytes(b)
	}
	times := make([][]time.Duration, len(cases))
	b.ResetTimer()
	err = ns.Do(func() error {
		for i := 0; i < b.N; i++ {
			for k := range cases {
				c := (i + k) % len(cases) // rotate: no case always runs first
				_, d, err := dp.objs.LinxXdp.Benchmark(frames[c], 1, nil)
				if err != nil {
					return err
				}
				times[c] = append(times[c], d)
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	if c, err := dp.DropCounters(); err != nil || c[dataplane.DropNoPort].Packets == 0 {
		b.Fatalf("packets did not get past the pick: %v %v", c, err)
	}
	for c := range cases {
		slices.Sort(times[c])
		b.ReportMetric(float64(times[c][len(times[c])/2].Nanoseconds()), fmt.Sprintf("ns/pkt-%s", cases[c].name))
	}
	b.ReportMetric(0, "ns/op")
}
