package xdp

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/gopacket/layers"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// benchShapes are the rule shapes of BenchmarkClassify: a mix of the fields an
// SD-WAN policy uses. Every size uses all of them, so the tuple count (what the
// per-packet cost depends on) is the same at 10 and at 100 000 rules.
var benchShapes = []func(rng *rand.Rand, m *dataplane.PDRMatch){
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // dst /24, UDP, one port
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xff, Mask: 0xffffff00}
		m.Proto = dataplane.Exact[uint8](17)
		m.DstPort = dataplane.OnePort(uint16(rng.IntN(65536)))
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // site to site: src /16, dst /16
		m.Src = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffff, Mask: 0xffff0000}
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffff, Mask: 0xffff0000}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // one host, one DSCP
		m.Dst = dataplane.Exact(rng.Uint32())
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(rng.IntN(64)), Mask: 0x3f}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // port, direction, dst /8
		m.InPort = dataplane.Exact[uint16](1)
		m.Direction = dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUplink), Mask: 3}
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffffff, Mask: 0xff000000}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // TCP, a 256-port range
		m.Proto = dataplane.Exact[uint8](6)
		lo := uint16(rng.IntN(256)) << 8
		m.DstPort = dataplane.PortRange{Lo: lo, Hi: lo + 255}
		m.Src = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xffffff, Mask: 0xff000000}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // a full 5-tuple
		m.Src = dataplane.Exact(rng.Uint32())
		m.Dst = dataplane.Exact(rng.Uint32())
		m.Proto = dataplane.Exact[uint8](17)
		m.SrcPort = dataplane.OnePort(uint16(rng.IntN(65536)))
		m.DstPort = dataplane.OnePort(uint16(rng.IntN(65536)))
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // dst /20 and a two-port range (5060-5061 style)
		m.Dst = dataplane.Ternary[uint32]{Value: rng.Uint32() &^ 0xfff, Mask: 0xfffff000}
		lo := uint16(rng.IntN(32768)) * 2
		m.DstPort = dataplane.PortRange{Lo: lo, Hi: lo + 1}
	},
	func(rng *rand.Rand, m *dataplane.PDRMatch) { // DSCP class per protocol
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(rng.IntN(64)), Mask: 0x3f}
		m.Proto = dataplane.Exact[uint8](uint8(rng.IntN(256)))
	},
}

func benchRules(n int) []dataplane.PDR {
	rng := rand.New(rand.NewPCG(1, uint64(n)))
	prios := rng.Perm(4 * n)
	rules := make([]dataplane.PDR, n)
	for i := range rules {
		m := dataplane.MatchAll()
		benchShapes[i%len(benchShapes)](rng, &m)
		rules[i] = dataplane.PDR{Match: m, Priority: uint32(prios[i] + 1), FAR: 1}
	}
	return rules
}

// packetFor builds a frame that matches r (wildcarded bits random).
func packetFor(tb testing.TB, rng *rand.Rand, r dataplane.PDR) []byte {
	m := r.Match
	pick32 := func(t dataplane.Ternary[uint32]) uint32 { return t.Value | rng.Uint32()&^t.Mask }
	pickPort := func(pr dataplane.PortRange) uint16 { return pr.Lo + uint16(rng.IntN(int(pr.Hi-pr.Lo)+1)) }
	proto := m.Proto.Value
	if m.Proto.Mask == 0 {
		proto = 17
	}
	dscp := m.DSCP.Value | uint8(rng.IntN(64))&^m.DSCP.Mask
	p := pkt{src: dataplane.AddrFrom4(pick32(m.Src)), dst: dataplane.AddrFrom4(pick32(m.Dst)), tos: dscp << 2,
		proto: layers.IPProtocol(proto), sport: pickPort(m.SrcPort), dport: pickPort(m.DstPort), payload: 18}
	if proto != 6 && proto != 17 {
		p.proto = layers.IPProtocol(proto)
		p.sport, p.dport = 0, 0
	}
	return p.bytes(tb)
}

// BenchmarkClassify measures the per-packet cost of the pipeline (parse, classify,
// FAR drop) with 10, 1000 and 100 000 PDRs of mixed shapes and priorities, the
// traffic spread over the rules. Reported as ns/pkt (BPF_PROG_TEST_RUN, JIT).
func BenchmarkClassify(b *testing.B) { benchClassify(b, 0) }

// BenchmarkClassifyTSS is BenchmarkClassify with the flow cache off: every packet
// pays the full tuple-space search (the cost of a flow's first packet).
func BenchmarkClassifyTSS(b *testing.B) { benchClassify(b, -1) }

func benchClassify(b *testing.B, flowCache int) {
	testenv.RequireRoot(b)
	for _, n := range []int{10, 1000, 100_000} {
		b.Run(fmt.Sprintf("pdrs=%d", n), func(b *testing.B) {
			ns := testenv.NewNS(b)
			dp, err := Load(dataplane.Options{MaxPDRs: 100_000, FlowCacheSize: flowCache})
			if err != nil {
				b.Fatal(err)
			}
			defer dp.Close()
			// BPF_PROG_TEST_RUN without a context runs as if received on the
			// namespace's loopback: make that a LAN port.
			var lo int
			ns.Do(func() error { lo = testenv.Link(b, ns, "lo").Attrs().Index; return nil })
			if err := dp.putPort(uint32(lo), linxPortInfo{Port: 1, Role: uint8(dataplane.RoleLAN)}); err != nil {
				b.Fatal(err)
			}
			if err := dp.SetFAR(1, dataplane.FAR{Action: dataplane.ActDrop}); err != nil {
				b.Fatal(err)
			}
			rules := benchRules(n)
			ids, err := dp.InsertPDRs(rules)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, uint64(n)))
			const distinct = 256
			frames := make([][]byte, distinct)
			for i := range frames {
				frames[i] = packetFor(b, rng, rules[rng.IntN(n)])
			}
			const repeat = 200
			b.ResetTimer()
			var total float64
			err = ns.Do(func() error {
				for i := 0; i < b.N; i++ {
					ret, d, err := dp.objs.LinxXdp.Benchmark(frames[i%distinct], repeat, nil)
					if err != nil {
						return err
					}
					if ret != xdpDrop {
						return fmt.Errorf("verdict %d", ret)
					}
					total += float64(d.Nanoseconds())
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(total/float64(b.N), "ns/pkt")
			b.ReportMetric(0, "ns/op")
			// Every packet must have hit a rule, not the default.
			if c, _ := dp.PDRDefaultCounter(); c.Packets != 0 {
				b.Fatalf("%d packets missed every rule", c.Packets)
			}
			_ = ids
		})
	}
}
