package xdp

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// BenchmarkEncapUnderlay compares the whole pipeline's per-packet cost of
// encapsulation over an IPv4 and over an IPv6 underlay, for IPv4 and IPv6
// inner packets (uplink, flow cache warm, next hops resolved by the agent:
// every packet is redirected). The four cases alternate packet by packet in
// rotating order in one run (the machine is noisy); each reports its median
// ns/pkt over single-packet BPF_PROG_TEST_RUN calls (Repeat 1: encapsulation
// rewrites the packet).
//
//	go test -run '^$' -bench EncapUnderlay -benchtime 20000x ./dataplane/xdp
func BenchmarkEncapUnderlay(b *testing.B) {
	r := newRig(b)
	underlay6(b, r)
	// BPF_PROG_TEST_RUN without a context receives on the namespace's
	// loopback: make it the LAN port.
	var lo int
	must(b, r.ns.Do(func() error { lo = testenv.Link(b, r.ns, "lo").Attrs().Index; return nil }))
	must(b, r.dp.putPort(uint32(lo), linxPortInfo{Port: uint16(portLAN), Role: uint8(dataplane.RoleLAN)}))
	cases := []struct {
		name   string
		tunnel dataplane.TunnelID
		frame  []byte
	}{
		{"v4-in-v4", 1, pkt{sport: 1000, dport: 1}.bytes(b)},
		{"v4-in-v6", 3, pkt{sport: 1000, dport: 3}.bytes(b)},
		{"v6-in-v4", 1, pkt6{sport: 1000, dport: 1}.bytes(b)},
		{"v6-in-v6", 3, pkt6{sport: 1000, dport: 3}.bytes(b)},
	}
	must(b, r.dp.SetTunnel(1, dataplane.Tunnel{Port: portWAN0, Src: local0, Dst: peer0}))
	must(b, r.dp.SetTunnel(3, dataplane.Tunnel{Port: portWAN0, Src: local6a, Dst: peer6a}))
	for _, id := range []dataplane.TunnelID{1, 3} {
		must(b, r.dp.SetFAR(dataplane.FARID(id), dataplane.FAR{Action: dataplane.ActEncap, Tunnel: id}))
		m := dataplane.MatchAll()
		m.DstPort = dataplane.OnePort(uint16(id))
		_, err := r.dp.InsertPDR(dataplane.PDR{Match: m, Priority: 1, FAR: dataplane.FARID(id)})
		must(b, err)
	}
	times := make([][]time.Duration, len(cases))
	run := func(c int) {
		ret, d, err := r.dp.objs.LinxXdp.Benchmark(cases[c].frame, 1, nil)
		if err != nil || ret != xdpRedirect {
			b.Fatalf("%s: verdict %d, %v (drops %v)", cases[c].name, ret, err, r.drops())
		}
		times[c] = append(times[c], d)
	}
	must(b, r.ns.Do(func() error {
		for c := range cases { // warm the flow cache
			run(c)
		}
		return nil
	}))
	clear(times)
	b.ResetTimer()
	must(b, r.ns.Do(func() error {
		for i := 0; i < b.N; i++ {
			for k := range cases {
				run((i + k) % len(cases))
			}
		}
		return nil
	}))
	b.StopTimer()
	for c := range cases {
		slices.Sort(times[c])
		b.ReportMetric(float64(times[c][len(times[c])/2].Nanoseconds()), fmt.Sprintf("ns/pkt-%s", cases[c].name))
	}
	b.ReportMetric(0, "ns/op")
}
