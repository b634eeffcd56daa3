package xdp

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
)

// Tests of the tuple-space-search bookkeeping in classifier.go. Everything is pure
// Go: the kernel side (bpf/linx.c linx_classify and the three maps it reads) is
// simulated by ctKernel, and plans are applied to it one map operation at a time in
// the order of (*Dataplane).apply.

// ---------------------------------------------------------------------------
// prefixes16

// ctMinCover counts the blocks of the minimal aligned-prefix cover of lo..hi by
// walking the binary trie of the 16-bit space (independent of prefixes16).
func ctMinCover(lo, hi uint32) int {
	var walk func(base, size uint32) int
	walk = func(base, size uint32) int {
		end := base + size - 1
		switch {
		case end < lo || base > hi:
			return 0
		case base >= lo && end <= hi:
			return 1
		}
		return walk(base, size/2) + walk(base+size/2, size/2)
	}
	return walk(0, 1<<16)
}

func ctCheckPrefixes(t *testing.T, lo, hi uint16) {
	t.Helper()
	ps := prefixes16(lo, hi)
	if len(ps) == 0 || len(ps) > 30 {
		t.Fatalf("prefixes16(%d, %d): %d prefixes, want 1..30", lo, hi, len(ps))
	}
	next := uint32(lo) // the blocks must tile lo..hi in order: disjoint, no gap
	for _, p := range ps {
		v, m := p[0], p[1]
		size := uint32(^m) + 1
		if bits.OnesCount16(m)+bits.TrailingZeros16(m) != 16 && m != 0 {
			t.Fatalf("prefixes16(%d, %d): mask %#04x is not a prefix mask", lo, hi, m)
		}
		if v&^m != 0 {
			t.Fatalf("prefixes16(%d, %d): value %#04x has bits outside mask %#04x", lo, hi, v, m)
		}
		if uint32(v) != next {
			t.Fatalf("prefixes16(%d, %d): block %#04x/%#04x starts at %d, want %d (%v)", lo, hi, v, m, v, next, ps)
		}
		next += size
	}
	if next != uint32(hi)+1 {
		t.Fatalf("prefixes16(%d, %d): blocks end at %d, want %d (%v)", lo, hi, next-1, hi, ps)
	}
	if want := ctMinCover(uint32(lo), uint32(hi)); len(ps) != want {
		t.Fatalf("prefixes16(%d, %d): %d prefixes, minimal cover has %d", lo, hi, len(ps), want)
	}
}

func TestPrefixes16(t *testing.T) {
	edges := [][2]uint16{
		{0, 65535}, {0, 0}, {65535, 65535}, {1, 65534}, {1024, 65535},
		{5060, 5061}, {10000, 20000}, {0, 3071}, {2048, 3071}, {32767, 32768},
	}
	for _, e := range edges {
		ctCheckPrefixes(t, e[0], e[1])
	}
	if n := len(prefixes16(1, 65534)); n != 30 {
		t.Errorf("prefixes16(1, 65534): %d prefixes, want the worst case 30", n)
	}
	if got := prefixes16(0, 65535); len(got) != 1 || got[0] != [2]uint16{0, 0} {
		t.Errorf("prefixes16(0, 65535) = %v, want one wildcard block", got)
	}
	if got := prefixes16(80, 80); len(got) != 1 || got[0] != [2]uint16{80, 0xffff} {
		t.Errorf("prefixes16(80, 80) = %v, want one exact block", got)
	}

	// Exhaustive over every range within 0..511.
	for lo := 0; lo < 512; lo++ {
		for hi := lo; hi < 512; hi++ {
			ctCheckPrefixes(t, uint16(lo), uint16(hi))
		}
	}
	// Exhaustive over every pair drawn from a sample holding the powers of two and
	// their neighbours, plus random points.
	sample := map[uint16]bool{0: true, 65535: true}
	for k := range 17 {
		p := uint32(1) << k
		for _, v := range []uint32{p - 2, p - 1, p, p + 1} {
			if v <= 65535 {
				sample[uint16(v)] = true
			}
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 120 {
		sample[uint16(r.UintN(1<<16))] = true
	}
	pts := slices.Sorted(maps.Keys(sample))
	for i, lo := range pts {
		for _, hi := range pts[i:] {
			ctCheckPrefixes(t, lo, hi)
		}
	}
	// Every lo up to 65535 and every hi down from 0.
	for v := range 1 << 16 {
		ctCheckPrefixes(t, uint16(v), 65535)
		ctCheckPrefixes(t, 0, uint16(v))
	}
}

// ---------------------------------------------------------------------------
// Oracle, random rules and packets

// ctMatches evaluates a match directly against host-order packet fields.
func ctMatches(m dataplane.PDRMatch, f fields) bool {
	v4, v6 := m.Families()
	if f.v6 && (!v6 || !m.Src6.Matches(f.src6) || !m.Dst6.Matches(f.dst6)) {
		return false
	}
	if !f.v6 && (!v4 || !m.Src.Matches(f.src) || !m.Dst.Matches(f.dst)) {
		return false
	}
	return m.InPort.Matches(f.inPort) &&
		m.Direction.Matches(f.dscpDir&3) &&
		m.DSCP.Matches(f.dscpDir>>2) &&
		m.Proto.Matches(f.proto) &&
		m.SrcPort.Contains(f.sport) && m.DstPort.Contains(f.dport)
}

// ctOracle is the brute-force classifier: the highest-priority matching rule.
// Ties (which the tests avoid) go to the lower id.
func ctOracle(rules map[dataplane.PDRID]dataplane.PDR, f fields) dataplane.PDRID {
	var best dataplane.PDRID
	var bestPrio uint32
	for id, p := range rules {
		if !ctMatches(p.Match, f) {
			continue
		}
		if p.Priority > bestPrio || (p.Priority == bestPrio && id < best) {
			best, bestPrio = id, p.Priority
		}
	}
	return best
}

// ctGen makes random rules over a small universe of values so that rules overlap,
// share tuples and share masked keys.
type ctGen struct {
	r     *rand.Rand
	prios []uint32 // distinct priorities, consumed from the end
	// wideRanges allows random port ranges (up to 30 prefixes each).
	wideRanges bool
}

func newCTGen(seed uint64, wideRanges bool) *ctGen {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	prios := make([]uint32, 0, 1<<16)
	for i := range uint32(1 << 16) {
		prios = append(prios, i+1)
	}
	r.Shuffle(len(prios), func(i, j int) { prios[i], prios[j] = prios[j], prios[i] })
	return &ctGen{r: r, prios: prios, wideRanges: wideRanges}
}

func (g *ctGen) prio() uint32 {
	p := g.prios[len(g.prios)-1]
	g.prios = g.prios[:len(g.prios)-1]
	return p
}

var (
	ctAddrs  = []uint32{0x0a000000, 0x0a010000, 0x0a010200, 0x0a010203, 0xc0a80100, 0xc0a80105}
	ctLens   = []int{0, 8, 16, 24, 32}
	ctProtos = []uint8{1, 6, 17}
	ctPorts  = []uint16{0, 53, 80, 443, 1023, 1024, 2048, 3071, 5060, 65535}
	ctRanges = []dataplane.PortRange{
		{Lo: 0, Hi: 3071}, {Lo: 2048, Hi: 3071}, {Lo: 2048, Hi: 2050}, {Lo: 1024, Hi: 65535},
		{Lo: 5060, Hi: 5061}, {Lo: 10000, Hi: 20000}, {Lo: 0, Hi: 1023}, {Lo: 80, Hi: 443},
	}
	ctInPortMasks = []uint16{0xffff, 0xfffe, 0x00ff}
	ctDirMasks    = []uint8{3, 1, 2}
	ctDSCPMasks   = []uint8{0x3f, 0x38, 0x01}
)

func ctPick[T any](r *rand.Rand, s []T) T { return s[r.IntN(len(s))] }

// IPv6 addresses of the random universe: prefixes of one another, so rules
// overlap.
var ctAddrs6 = []netip.Addr{netip.MustParseAddr("2001:db8::"), netip.MustParseAddr("2001:db8:1::"),
	netip.MustParseAddr("2001:db8:1:2::7"), netip.MustParseAddr("fd00::5")}

var ctLens6 = []int{0, 32, 48, 64, 128}

func ctPrefix6(r *rand.Rand) dataplane.Addr6 {
	return dataplane.Prefix6(netip.PrefixFrom(ctPick(r, ctAddrs6), ctPick(r, ctLens6)))
}

// ctAddr6Near returns an address inside m mostly, else a random one.
func ctAddr6Near(r *rand.Rand, m dataplane.Addr6) [16]byte {
	a := ctPick(r, ctAddrs6).As16()
	a[15] ^= byte(r.IntN(4))
	if r.IntN(8) == 0 {
		return a
	}
	for i := range a {
		a[i] = m.Value[i] | a[i]&^m.Mask[i]
	}
	return a
}

func (g *ctGen) ports() dataplane.PortRange {
	r := g.r
	switch n := r.IntN(10); {
	case n < 5:
		return dataplane.AnyPort
	case n < 7:
		return dataplane.OnePort(ctPick(r, ctPorts))
	case n < 9 || !g.wideRanges:
		return ctPick(r, ctRanges)
	default:
		lo := uint16(r.UintN(1 << 16))
		hi := lo + uint16(r.UintN(uint(65535-lo)+1))
		return dataplane.PortRange{Lo: lo, Hi: hi}
	}
}

func (g *ctGen) match() dataplane.PDRMatch {
	r := g.r
	m := dataplane.MatchAll()
	if r.IntN(3) == 0 {
		mask := ctPick(r, ctInPortMasks)
		m.InPort = dataplane.Ternary[uint16]{Value: uint16(1+r.IntN(4)) & mask, Mask: mask}
	}
	if r.IntN(3) == 0 {
		mask := ctPick(r, ctDirMasks)
		m.Direction = dataplane.Ternary[uint8]{Value: uint8(r.IntN(4)) & mask, Mask: mask}
	}
	if r.IntN(4) == 0 {
		mask := ctPick(r, ctDSCPMasks)
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(r.IntN(64)) & mask, Mask: mask}
	}
	prefix := func() dataplane.Ternary[uint32] {
		l := ctPick(r, ctLens)
		if l == 0 {
			return dataplane.Ternary[uint32]{}
		}
		mask := ^uint32(0) << (32 - l)
		return dataplane.Ternary[uint32]{Value: ctPick(r, ctAddrs) & mask, Mask: mask}
	}
	switch r.IntN(6) {
	case 0: // IPv6 addresses
		m.Src6, m.Dst6 = ctPrefix6(r), ctPrefix6(r)
	case 1: // IPv6 only, by version
		m.Family = dataplane.FamilyIPv6
	case 2: // IPv4 only, by version
		m.Family = dataplane.FamilyIPv4
		m.Src = prefix()
	default: // IPv4 addresses, or neither (both families)
		m.Src, m.Dst = prefix(), prefix()
	}
	if r.IntN(2) == 0 {
		m.Proto = dataplane.Exact(ctPick(r, ctProtos))
	}
	// A wide random range on one port only, to bound the cross product.
	m.SrcPort = g.ports()
	wide := expansion(dataplane.PDRMatch{SrcPort: m.SrcPort, DstPort: dataplane.OnePort(0)}) > 4
	for {
		m.DstPort = g.ports()
		if !wide || expansion(dataplane.PDRMatch{SrcPort: dataplane.OnePort(0), DstPort: m.DstPort}) <= 4 {
			break
		}
	}
	return m
}

func (g *ctGen) pdr() dataplane.PDR {
	p := dataplane.PDR{Match: g.match(), Priority: g.prio(), FAR: dataplane.FARID(g.r.IntN(8))}
	if err := p.Validate(); err != nil {
		panic(err)
	}
	return p
}

// within returns a value matching ternary (value, mask), mostly, or a random one.
func ctTernary[T ~uint8 | ~uint16 | ~uint32](r *rand.Rand, t dataplane.Ternary[T], random T) T {
	if r.IntN(8) == 0 {
		return random
	}
	return t.Value | random&^t.Mask
}

func ctPort(r *rand.Rand, pr dataplane.PortRange) uint16 {
	switch r.IntN(8) {
	case 0:
		return pr.Lo
	case 1:
		return pr.Hi
	case 2:
		return pr.Lo - 1 // just outside (wraps at 0: then just a random port)
	case 3:
		return pr.Hi + 1
	case 4:
		return uint16(r.UintN(1 << 16))
	}
	return pr.Lo + uint16(r.UintN(uint(pr.Hi-pr.Lo)+1))
}

// ctRandomPacket returns a packet that is random over the rules' universe: one
// in three is IPv6.
func ctRandomPacket(r *rand.Rand) fields {
	if r.IntN(3) == 0 {
		f := ctRandomPacket4(r)
		f.src, f.dst, f.v6 = 0, 0, true
		f.src6, f.dst6 = ctAddr6Near(r, dataplane.Addr6{}), ctAddr6Near(r, dataplane.Addr6{})
		return f
	}
	return ctRandomPacket4(r)
}

func ctRandomPacket4(r *rand.Rand) fields {
	return fields{
		src:     ctPick(r, ctAddrs) | r.Uint32()&0xff,
		dst:     ctPick(r, ctAddrs) | r.Uint32()&0xff,
		sport:   ctPick(r, ctPorts) + uint16(r.IntN(3)),
		dport:   ctPick(r, ctPorts) + uint16(r.IntN(3)),
		inPort:  uint16(1 + r.IntN(4)),
		proto:   ctPick(r, ctProtos),
		dscpDir: uint8(r.IntN(64))<<2 | uint8(r.IntN(4)),
	}
}

// ctPacketNear returns a packet that probably matches m (fields sometimes
// perturbed so that near misses are tested too).
func ctPacketNear(r *rand.Rand, m dataplane.PDRMatch) fields {
	rnd := ctRandomPacket(r)
	dir := ctTernary(r, m.Direction, rnd.dscpDir&3) & 3
	dscp := ctTernary(r, m.DSCP, rnd.dscpDir>>2) & 0x3f
	f := fields{
		src:     ctTernary(r, m.Src, rnd.src),
		dst:     ctTernary(r, m.Dst, rnd.dst),
		sport:   ctPort(r, m.SrcPort),
		dport:   ctPort(r, m.DstPort),
		inPort:  ctTernary(r, m.InPort, rnd.inPort),
		proto:   ctTernary(r, m.Proto, rnd.proto),
		dscpDir: dscp<<2 | dir,
	}
	if v4, v6 := m.Families(); v6 && (!v4 || r.IntN(2) == 0) {
		f.src, f.dst, f.v6 = 0, 0, true
		f.src6, f.dst6 = ctAddr6Near(r, m.Src6), ctAddr6Near(r, m.Dst6)
	}
	return f
}

// ---------------------------------------------------------------------------
// Simulated kernel

// ctKernel holds the maps linx_classify reads.
type ctKernel struct {
	entries map[entryKey][2]dataplane.PDRID   // pdr_entries
	rules   map[dataplane.PDRID]dataplane.PDR // pdr_rules: the live rules
	tuples  []tupleRow                        // pdr_tuple_list
	gen     uint32                            // pdr_gen: tags flow_cache entries
}

func newCTKernel() *ctKernel {
	return &ctKernel{entries: map[entryKey][2]dataplane.PDRID{}, rules: map[dataplane.PDRID]dataplane.PDR{}}
}

// classify is tss_lookup (the uncached path of linx_classify) over the simulated
// maps. The flow cache in front of it is modelled by the checks in try: a result
// computed under a generation is served until the next bump.
func (k *ctKernel) classify(pkt fields) dataplane.PDRID {
	var bestPrio uint32
	var bestRule dataplane.PDRID
	for _, t := range k.tuples {
		if t.mask.v6 != pkt.v6 {
			continue // pdr6_tuple_list's rows: another map
		}
		if t.maxPrio <= bestPrio {
			break
		}
		e, ok := k.entries[entryKey{t.id, pkt.and(t.mask)}]
		if !ok {
			continue
		}
		for j := 0; j < 2; j++ {
			id := e[j]
			if id == 0 {
				break
			}
			r, ok := k.rules[id]
			if !ok {
				continue // not committed yet, or being deleted
			}
			if r.Priority > bestPrio {
				bestPrio, bestRule = r.Priority, id
			}
			break
		}
	}
	return bestRule
}

type ctOp struct {
	name string
	do   func(k *ctKernel)
}

// ctOps lists a plan's map operations one by one, in the order (*Dataplane).apply
// performs them (batch writes reach the kernel one element at a time, so a packet
// can see any prefix of a batch), including the pdr_gen bump that invalidates the
// flow cache after the commit and retire writes. c is the classifier after
// update: commits take their PDRs from c.rules, as apply does.
func ctOps(c *classifier, p *plan) []ctOp {
	var ops []ctOp
	for _, w := range p.writesA {
		ops = append(ops, ctOp{fmt.Sprintf("writeA %v=%v", w.key, w.val), func(k *ctKernel) { k.entries[w.key] = w.val }})
	}
	if p.tuplesA != nil {
		rows := slices.Clone(p.tuplesA)
		ops = append(ops, ctOp{fmt.Sprintf("tuplesA %v", rows), func(k *ctKernel) { k.tuples = rows }})
	}
	for _, id := range p.commit {
		pdr := c.rule(id).pdr()
		ops = append(ops, ctOp{fmt.Sprintf("commit %d", id), func(k *ctKernel) { k.rules[id] = pdr }})
	}
	for _, id := range p.retire {
		ops = append(ops, ctOp{fmt.Sprintf("retire %d", id), func(k *ctKernel) { delete(k.rules, id) }})
	}
	if len(p.commit)+len(p.retire) > 0 {
		ops = append(ops, ctOp{"bump gen", func(k *ctKernel) { k.gen++ }})
	}
	for _, w := range p.writesC {
		ops = append(ops, ctOp{fmt.Sprintf("writeC %v=%v", w.key, w.val), func(k *ctKernel) { k.entries[w.key] = w.val }})
	}
	for _, key := range p.deletesC {
		ops = append(ops, ctOp{fmt.Sprintf("deleteC %v", key), func(k *ctKernel) { delete(k.entries, key) }})
	}
	if p.tuplesC != nil {
		rows := slices.Clone(p.tuplesC)
		ops = append(ops, ctOp{fmt.Sprintf("tuplesC %v", rows), func(k *ctKernel) { k.tuples = rows }})
	}
	return ops
}

// ctCheckMirror checks that the simulated kernel holds exactly what the
// classifier believes it holds.
func ctCheckMirror(t *testing.T, c *classifier, k *ctKernel) {
	t.Helper()
	want := map[entryKey][2]dataplane.PDRID{}
	for key, e := range c.entries.all() {
		want[key] = e.kv
	}
	if !maps.Equal(want, k.entries) {
		t.Fatalf("kernel pdr_entries differ from classifier's kv:\nkernel %v\nclassifier %v", k.entries, want)
	}
	if len(k.rules) != c.nrules {
		t.Fatalf("kernel has %d live rules, classifier %d", len(k.rules), c.nrules)
	}
	for id, r := range c.all() {
		if kr, ok := k.rules[id]; !ok || kr.Priority != r.pdr().Priority {
			t.Fatalf("rule %d: kernel %+v (live %v), classifier %+v", id, kr, ok, r.pdr())
		}
	}
	if !slices.Equal(k.tuples, c.published) {
		t.Fatalf("kernel tuples %v, classifier published %v", k.tuples, c.published)
	}
}

// ctCheckInvariants checks the classifier's internal bookkeeping against a
// recomputation from its rules.
func ctCheckInvariants(t *testing.T, c *classifier) {
	t.Helper()
	type tinfo struct {
		refs  int
		prios map[uint32]int32
	}
	wantT := map[fields]*tinfo{}
	wantE := map[entryKey][]ruleRef{}
	ids := map[fields]uint32{}
	for mask, tp := range c.tuples {
		if tp.mask != mask {
			t.Fatalf("tuple %d keyed by %v has mask %v", tp.id, mask, tp.mask)
		}
		if int(tp.id) >= c.maxTuples {
			t.Fatalf("tuple id %d ≥ maxTuples %d", tp.id, c.maxTuples)
		}
		ids[mask] = tp.id
	}
	var perFamily [2]int
	for m := range c.tuples {
		perFamily[b2i(m.v6)]++
	}
	if max(perFamily[0], perFamily[1]) > c.maxTuples || c.entries.len() > c.maxEntries {
		t.Fatalf("%d tuples, %d entries: over capacity %d/%d", len(c.tuples), c.entries.len(), c.maxTuples, c.maxEntries)
	}
	n := 0
	for id, r := range c.all() {
		n++
		for _, mv := range expand(r.pdr().Match) {
			ti := wantT[mv[0]]
			if ti == nil {
				ti = &tinfo{prios: map[uint32]int32{}}
				wantT[mv[0]] = ti
			}
			ti.refs++
			ti.prios[r.pdr().Priority]++
			tid, ok := ids[mv[0]]
			if !ok {
				t.Fatalf("rule %d: tuple %v missing", id, mv[0])
			}
			key := entryKey{tid, mv[1]}
			wantE[key] = append(wantE[key], ruleRef{id, r.pdr().Priority})
		}
	}
	if n != c.nrules {
		t.Fatalf("%d rules, nrules %d", n, c.nrules)
	}
	if len(wantT) != len(c.tuples) {
		t.Fatalf("%d tuples, want %d", len(c.tuples), len(wantT))
	}
	seenID := map[[2]uint32]bool{}
	for mask, ti := range wantT {
		tp := c.tuples[mask]
		if seenID[[2]uint32{tp.id, uint32(b2i(mask.v6))}] {
			t.Fatalf("tuple id %d used twice", tp.id)
		}
		seenID[[2]uint32{tp.id, uint32(b2i(mask.v6))}] = true
		m := uint32(0)
		for p := range ti.prios {
			m = max(m, p)
		}
		if tp.refs != ti.refs || !maps.Equal(tp.prios, ti.prios) || tp.max != m {
			t.Fatalf("tuple %d: refs %d prios %v max %d, want %d %v %d", tp.id, tp.refs, tp.prios, tp.max, ti.refs, ti.prios, m)
		}
	}
	if len(wantE) != c.entries.len() {
		t.Fatalf("%d entries, want %d", c.entries.len(), len(wantE))
	}
	for key, refs := range wantE {
		e := c.entries.get(key)
		if e == nil {
			t.Fatalf("entry %v missing", key)
		}
		slices.SortFunc(refs, func(a, b ruleRef) int {
			if a.before(b) {
				return -1
			}
			return 1
		})
		if !slices.Equal(e.rules, refs) {
			t.Fatalf("entry %v rules %v, want %v", key, e.rules, refs)
		}
		if e.kv != e.top2() {
			t.Fatalf("entry %v kv %v, want top2 %v", key, e.kv, e.top2())
		}
	}
	if rows := c.rows(false); !slices.Equal(rows, c.published) {
		t.Fatalf("published %v, want %v", c.published, rows)
	}
}

func ctPDRs(c *classifier) map[dataplane.PDRID]dataplane.PDR {
	m := make(map[dataplane.PDRID]dataplane.PDR, c.nrules)
	for id, r := range c.all() {
		m[id] = r.pdr()
	}
	return m
}

// ---------------------------------------------------------------------------
// Correctness against the oracle

func TestClassifierMatchesOracle(t *testing.T) {
	for seed := range uint64(3) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			g := newCTGen(seed+100, true)
			r := g.r
			c := newClassifier(4096, 1<<20)
			k := newCTKernel()
			next := dataplane.PDRID(1)
			var pkts []fields

			check := func(what string) {
				t.Helper()
				ctCheckInvariants(t, c)
				ctCheckMirror(t, c, k)
				rules := ctPDRs(c)
				for _, pkt := range pkts {
					want := ctOracle(rules, pkt)
					got, ok := c.lookup(pkt)
					if got != want || ok != (want != 0) {
						t.Fatalf("%s: lookup(%+v) = %d, %v; oracle %d", what, pkt, got, ok, want)
					}
					if kg := k.classify(pkt); kg != want {
						t.Fatalf("%s: simulated kernel classifies %+v as %d; oracle %d", what, pkt, kg, want)
					}
				}
			}
			update := func(what string, ins map[dataplane.PDRID]dataplane.PDR, del []dataplane.PDRID) {
				t.Helper()
				old := ctPDRs(c)
				p, err := c.update(ins, del)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if want := slices.Sorted(maps.Keys(ins)); !slices.Equal(p.commit, want) {
					t.Fatalf("%s: commit %v, want %v", what, p.commit, want)
				}
				// Deletes retire lowest priority first (see TestAtomicBatchDeleteOrder).
				if !slices.Equal(slices.Sorted(slices.Values(p.retire)), slices.Sorted(slices.Values(del))) ||
					!slices.IsSortedFunc(p.retire, func(a, b dataplane.PDRID) int { return cmp.Compare(old[a].Priority, old[b].Priority) }) {
					t.Fatalf("%s: retire %v, want %v by increasing priority", what, p.retire, del)
				}
				for _, op := range ctOps(c, p) {
					op.do(k)
				}
				for _, pdr := range ins {
					for range 4 {
						pkts = append(pkts, ctPacketNear(r, pdr.Match))
					}
				}
				check(what)
			}
			for range 100 {
				pkts = append(pkts, ctRandomPacket(r))
			}
			newRules := func(n int) map[dataplane.PDRID]dataplane.PDR {
				m := map[dataplane.PDRID]dataplane.PDR{}
				for range n {
					m[next] = g.pdr()
					next++
				}
				return m
			}
			randomLive := func(n int) []dataplane.PDRID {
				ids := ctIDs(c)
				r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
				return ids[:min(n, len(ids))]
			}

			for i := range 40 {
				update(fmt.Sprint("insert #", i), newRules(1), nil)
			}
			for i := range 10 {
				update(fmt.Sprint("insert batch #", i), newRules(2+r.IntN(7)), nil)
			}
			for i := range 15 {
				update(fmt.Sprint("delete #", i), nil, randomLive(1))
			}
			for i := range 5 {
				update(fmt.Sprint("delete batch #", i), nil, randomLive(2+r.IntN(5)))
			}
			for i := range 15 {
				update(fmt.Sprint("mixed batch #", i), newRules(r.IntN(5)), randomLive(r.IntN(5)))
			}
			update("delete all", nil, randomLive(c.nrules))
			if len(c.tuples) != 0 || c.entries.len() != 0 || len(c.published) != 0 {
				t.Fatalf("after deleting everything: %d tuples, %d entries, %d rows", len(c.tuples), c.entries.len(), len(c.published))
			}
		})
	}
}

// TestClassifierExpand checks that a packet hits exactly one of a match's expanded
// keys when the match matches, and none otherwise.
func TestClassifierExpand(t *testing.T) {
	g := newCTGen(7, true)
	r := g.r
	for range 300 {
		m := g.match()
		ex := expand(m)
		if len(ex) != expansion(m) {
			t.Fatalf("expand: %d pairs, expansion says %d", len(ex), expansion(m))
		}
		for range 20 {
			pkt := ctPacketNear(r, m)
			hits := 0
			for _, mv := range ex {
				if pkt.and(mv[0]) == mv[1] {
					hits++
				}
			}
			want := 0
			if ctMatches(m, pkt) {
				want = 1
			}
			if hits != want {
				t.Fatalf("match %+v, packet %+v: %d keys hit, want %d", m, pkt, hits, want)
			}
		}
	}
}

// ---------------------------------------------------------------------------
// Atomicity: plans applied one map operation at a time

type ctAtomic struct {
	t    *testing.T
	c    *classifier
	k    *ctKernel
	r    *rand.Rand
	pkts []fields
	next dataplane.PDRID
	// statistics, to show the tests exercise what they claim to
	steps, transitions int
	// For TestAtomicCatchesBadOrders: apply ops in this order, and record the
	// first violation in err (skipping later updates) instead of failing.
	reorder func([]ctOp) []ctOp
	collect bool
	err     error
}

func newCTAtomic(t *testing.T, seed uint64, maxTuples, maxEntries int) *ctAtomic {
	return &ctAtomic{
		t: t, c: newClassifier(maxTuples, maxEntries), k: newCTKernel(),
		r: rand.New(rand.NewPCG(seed, 77)), next: 1,
	}
}

func (a *ctAtomic) addPackets(m dataplane.PDRMatch, n int) {
	for range n {
		a.pkts = append(a.pkts, ctPacketNear(a.r, m))
	}
}

// update plans ins/del, applies the plan to the simulated kernel one operation at
// a time and checks every packet after every operation (see try).
func (a *ctAtomic) update(what string, ins map[dataplane.PDRID]dataplane.PDR, del []dataplane.PDRID) {
	a.t.Helper()
	if a.err != nil {
		return
	}
	if err := a.try(what, ins, del, a.reorder); err != nil {
		if a.collect {
			a.err = err
			return
		}
		a.t.Fatal(err)
	}
}

// expectEmpty checks that deleting every rule left nothing behind.
func (a *ctAtomic) expectEmpty(what string) {
	a.t.Helper()
	if a.err != nil {
		return
	}
	if a.c.nrules != 0 || len(a.c.tuples) != 0 || a.c.entries.len() != 0 ||
		len(a.k.entries) != 0 || len(a.k.tuples) != 0 || len(a.k.rules) != 0 {
		a.t.Fatalf("%s: state left after deleting everything: classifier %d rules %d tuples %d entries, kernel %d entries %d rows %d rules",
			what, a.c.nrules, len(a.c.tuples), a.c.entries.len(), len(a.k.entries), len(a.k.tuples), len(a.k.rules))
	}
}

// try plans ins/del, applies the plan's operations to the simulated kernel one at
// a time (in the order reorder returns, nil: apply's order) and checks every
// packet after every operation:
//
//   - single-rule update: the packet sees exactly the old result until the
//     rule's commit (insert) or retire (delete), and exactly the new result from
//     that operation on, so in particular always one of {before, after};
//   - batch: the packet sees the old result, the new result, or a rule inserted
//     by the batch that matches it and that no kept rule beats;
//   - flow cache: from the pdr_gen bump on, every packet sees exactly the new
//     result. A lookup that reads the new generation caches its answer until the
//     next rule change, so any other answer there would stick (and before the
//     bump, cached answers are ones already checked at an earlier step).
//
// At every step the maps must also fit the classifier's capacities. Finally the
// kernel must hold what the classifier believes and classify like the oracle.
func (a *ctAtomic) try(what string, ins map[dataplane.PDRID]dataplane.PDR, del []dataplane.PDRID, reorder func([]ctOp) []ctOp) error {
	t, c, k := a.t, a.c, a.k
	t.Helper()
	oldRules := ctPDRs(c)
	before := make([]dataplane.PDRID, len(a.pkts))
	for i, pkt := range a.pkts {
		before[i] = k.classify(pkt)
		if want := ctOracle(oldRules, pkt); before[i] != want {
			return fmt.Errorf("%s: before the update, kernel gives %d for %+v; oracle %d", what, before[i], pkt, want)
		}
	}
	p, err := c.update(ins, del)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	newRules := ctPDRs(c)
	after := make([]dataplane.PDRID, len(a.pkts))
	keptBest := make([]uint32, len(a.pkts)) // best priority among matching rules the batch keeps
	deleted := map[dataplane.PDRID]bool{}
	for _, id := range del {
		deleted[id] = true
	}
	for i, pkt := range a.pkts {
		after[i] = ctOracle(newRules, pkt)
		for id, pdr := range oldRules {
			if !deleted[id] && ctMatches(pdr.Match, pkt) {
				keptBest[i] = max(keptBest[i], pdr.Priority)
			}
		}
	}
	single := len(ins)+len(del) == 1
	var switchOp string // the op at which a single-rule update takes effect
	for id := range ins {
		switchOp = fmt.Sprintf("commit %d", id)
	}
	for _, id := range del {
		switchOp = fmt.Sprintf("retire %d", id)
	}
	switched := false
	gen0 := k.gen
	ops := ctOps(c, p)
	if reorder != nil {
		ops = reorder(ops)
	}
	for n, op := range ops {
		op.do(k)
		a.steps++
		if op.name == switchOp {
			switched = true
		}
		if len(k.entries) > c.maxEntries || len(k.tuples) > c.maxTuples {
			return fmt.Errorf("%s: after op %d (%s): %d entries, %d tuples exceed capacity %d/%d",
				what, n, op.name, len(k.entries), len(k.tuples), c.maxEntries, c.maxTuples)
		}
		for i, pkt := range a.pkts {
			got := k.classify(pkt)
			fail := func(why string) error {
				var plan []string
				for j, o := range ops {
					mark := " "
					if j == n {
						mark = ">"
					}
					plan = append(plan, mark+" "+o.name)
				}
				return fmt.Errorf("%s: after op %d of %d (%s), packet %+v sees rule %d: %s (before %d, after %d)\nrules before: %v\ninserted: %v deleted: %v\nplan:\n%s",
					what, n+1, len(ops), op.name, pkt, got, why, before[i], after[i], oldRules, ins, del, joinLines(plan))
			}
			if got != before[i] && got != after[i] {
				a.transitions++
			}
			if k.gen != gen0 && got != after[i] {
				return fail("after the generation bump, so this would be cached as the flow's result")
			}
			if single {
				want := before[i]
				if switched {
					want = after[i]
				}
				if got != want {
					return fail(fmt.Sprintf("single-rule update not atomic (switched %v)", switched))
				}
				continue
			}
			if got == before[i] || got == after[i] {
				continue
			}
			pdr, ok := ins[got]
			switch {
			case got == 0:
				return fail("no match, but neither before nor after is a miss")
			case !ok:
				return fail("rule neither before, after nor inserted by the batch")
			case !ctMatches(pdr.Match, pkt):
				return fail("inserted rule does not match the packet")
			case pdr.Priority < keptBest[i]:
				return fail(fmt.Sprintf("a kept rule with priority %d is hidden", keptBest[i]))
			}
		}
	}
	if single && !switched {
		return fmt.Errorf("%s: plan has no %q", what, switchOp)
	}
	ctCheckMirror(t, c, k)
	ctCheckInvariants(t, c)
	for i, pkt := range a.pkts {
		if got := k.classify(pkt); got != after[i] {
			return fmt.Errorf("%s: after the update, kernel gives %d for %+v; oracle %d", what, got, pkt, after[i])
		}
		if got, _ := c.lookup(pkt); got != after[i] {
			return fmt.Errorf("%s: after the update, lookup gives %d for %+v; oracle %d", what, got, pkt, after[i])
		}
	}
	return nil
}

func joinLines(s []string) string {
	out := ""
	for _, l := range s {
		out += l + "\n"
	}
	return out
}

// ins inserts named rules in one batch and records their ids in names.
func (a *ctAtomic) ins(what string, names map[string]dataplane.PDRID, rules map[string]dataplane.PDR) {
	a.t.Helper()
	m := map[dataplane.PDRID]dataplane.PDR{}
	for _, name := range slices.Sorted(maps.Keys(rules)) {
		id := a.next
		a.next++
		names[name] = id
		m[id] = rules[name]
		a.addPackets(rules[name].Match, 12)
	}
	a.update(what, m, nil)
}

func (a *ctAtomic) mixed(what string, names map[string]dataplane.PDRID, rules map[string]dataplane.PDR, del ...string) {
	a.t.Helper()
	m := map[dataplane.PDRID]dataplane.PDR{}
	for _, name := range slices.Sorted(maps.Keys(rules)) {
		id := a.next
		a.next++
		names[name] = id
		m[id] = rules[name]
		a.addPackets(rules[name].Match, 12)
	}
	var ids []dataplane.PDRID
	for _, name := range del {
		id, ok := names[name]
		if !ok {
			a.t.Fatalf("%s: no rule %q", what, name)
		}
		ids = append(ids, id)
		delete(names, name)
	}
	a.update(what, m, ids)
}

func (a *ctAtomic) del(what string, names map[string]dataplane.PDRID, del ...string) {
	a.t.Helper()
	a.mixed(what, names, nil, del...)
}

func ctRule(prio uint32, m dataplane.PDRMatch) dataplane.PDR {
	return dataplane.PDR{Match: m, Priority: prio, FAR: dataplane.FARID(prio % 7)}
}

type ctScript struct {
	name string
	run  func(a *ctAtomic)
}

// ctScripts are handcrafted update sequences around overlapping rules.
func ctScripts() []ctScript {
	web := dataplane.MatchAll()
	web.Proto = dataplane.Exact[uint8](6)
	web.Dst = dataplane.Ternary[uint32]{Value: 0x0a000000, Mask: 0xffffff00}
	web.DstPort = dataplane.OnePort(80)

	// Port ranges whose prefix expansions share keys: 0..3071 is 0/5 + 2048/6
	// (16-bit prefix lengths), 2048..3071 is 2048/6.
	wide := dataplane.MatchAll()
	wide.Proto = dataplane.Exact[uint8](6)
	wide.DstPort = dataplane.PortRange{Lo: 0, Hi: 3071}
	mid := wide
	mid.DstPort = dataplane.PortRange{Lo: 2048, Hi: 3071}
	narrow := wide
	narrow.DstPort = dataplane.PortRange{Lo: 2048, Hi: 2050}
	high := wide
	high.DstPort = dataplane.PortRange{Lo: 1024, Hi: 65535}
	block := wide
	block.DstPort = dataplane.PortRange{Lo: 0, Hi: 4095}

	all := dataplane.MatchAll()
	lan := dataplane.MatchAll()
	lan.Direction = dataplane.Ternary[uint8]{Value: 1, Mask: 3}
	ef := dataplane.MatchAll()
	ef.DSCP = dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f}
	net10 := dataplane.MatchAll()
	net10.Src = dataplane.Ternary[uint32]{Value: 0x0a000000, Mask: 0xff000000}
	sip := dataplane.MatchAll()
	sip.Proto = dataplane.Exact[uint8](17)
	sip.SrcPort = dataplane.PortRange{Lo: 5060, Hi: 5061}
	sip.DstPort = dataplane.PortRange{Lo: 5060, Hi: 5061}
	x, y := dataplane.MatchAll(), dataplane.MatchAll()
	x.DstPort = dataplane.PortRange{Lo: 0, Hi: 4095}
	y.DstPort = dataplane.PortRange{Lo: 2048, Hi: 3071}

	return []ctScript{
		{"same-match", func(a *ctAtomic) {
			n := map[string]dataplane.PDRID{}
			a.ins("A10", n, map[string]dataplane.PDR{"A": ctRule(10, web)})
			a.ins("B20 above best", n, map[string]dataplane.PDR{"B": ctRule(20, web)})
			a.ins("C15 between", n, map[string]dataplane.PDR{"C": ctRule(15, web)})
			a.ins("D5 below", n, map[string]dataplane.PDR{"D": ctRule(5, web)})
			a.ins("E30 above best", n, map[string]dataplane.PDR{"E": ctRule(30, web)})
			a.del("delete best E", n, "E")
			a.del("delete best B", n, "B")
			a.del("delete below A", n, "A")
			a.ins("F12 between", n, map[string]dataplane.PDR{"F": ctRule(12, web)})
			a.del("delete best C", n, "C")
			a.del("delete best F", n, "F")
			a.del("delete last D", n, "D")
			a.expectEmpty("same-match")
		}},
		{"overlapping-ranges", func(a *ctAtomic) {
			n := map[string]dataplane.PDRID{}
			a.ins("wide10", n, map[string]dataplane.PDR{"wide": ctRule(10, wide)})
			a.ins("mid20 shares the 2048/6 key", n, map[string]dataplane.PDR{"mid": ctRule(20, mid)})
			a.ins("narrow5 below", n, map[string]dataplane.PDR{"narrow": ctRule(5, narrow)})
			a.ins("high30 above", n, map[string]dataplane.PDR{"high": ctRule(30, high)})
			a.ins("block15 other tuple", n, map[string]dataplane.PDR{"block": ctRule(15, block)})
			a.ins("web25", n, map[string]dataplane.PDR{"web": ctRule(25, web)})
			a.del("delete best high", n, "high")
			a.del("delete mid", n, "mid")
			a.ins("mid again at 8", n, map[string]dataplane.PDR{"mid": ctRule(8, mid)})
			a.ins("narrow again at 40", n, map[string]dataplane.PDR{"narrow2": ctRule(40, narrow)})
			a.del("delete wide", n, "wide")
			a.del("delete narrow2", n, "narrow2")
			a.del("delete block", n, "block")
			a.del("delete narrow", n, "narrow")
			a.del("delete mid", n, "mid")
			a.del("delete web", n, "web")
			a.expectEmpty("overlapping-ranges")
		}},
		{"batches", func(a *ctAtomic) {
			n := map[string]dataplane.PDRID{}
			a.ins("batch same match", n, map[string]dataplane.PDR{
				"A": ctRule(10, web), "B": ctRule(20, web), "C": ctRule(15, web),
			})
			a.ins("batch ranges", n, map[string]dataplane.PDR{
				"wide": ctRule(11, wide), "mid": ctRule(21, mid), "narrow": ctRule(16, narrow), "high": ctRule(6, high),
			})
			a.ins("batch around the best", n, map[string]dataplane.PDR{
				"all": ctRule(1, all), "lan": ctRule(50, lan), "ef": ctRule(18, ef), "top": ctRule(45, web),
			})
			a.del("batch delete two bests", n, "top", "B")
			a.mixed("mixed: new best, delete old best", n, map[string]dataplane.PDR{"E": ctRule(25, web)}, "C")
			a.mixed("mixed: insert above and below, delete two", n,
				map[string]dataplane.PDR{"F": ctRule(3, web), "G": ctRule(40, web), "H": ctRule(19, mid)}, "E", "mid")
			a.mixed("mixed: replace a rule by the same match", n, map[string]dataplane.PDR{"wide2": ctRule(12, wide)}, "wide")
			a.mixed("mixed: empty a tuple and create another", n,
				map[string]dataplane.PDR{"sip": ctRule(33, sip), "net10": ctRule(7, net10)}, "ef", "lan")
			a.del("batch delete overlapping ranges", n, "wide2", "narrow", "H", "high")
			a.del("batch delete the rest", n, slices.Sorted(maps.Keys(n))...)
			a.expectEmpty("batches")
		}},
		{"tuple-order", func(a *ctAtomic) {
			// Rules in different tuples: tuples reorder as their best priority changes.
			n := map[string]dataplane.PDRID{}
			a.ins("all5", n, map[string]dataplane.PDR{"all": ctRule(5, all)})
			a.ins("net10 above", n, map[string]dataplane.PDR{"net10": ctRule(9, net10)})
			a.ins("lan above", n, map[string]dataplane.PDR{"lan": ctRule(13, lan)})
			a.ins("ef between", n, map[string]dataplane.PDR{"ef": ctRule(11, ef)})
			a.ins("all at top", n, map[string]dataplane.PDR{"all2": ctRule(60, all)})
			a.del("delete top tuple's best", n, "all2")
			a.ins("net10 under all", n, map[string]dataplane.PDR{"net10b": ctRule(2, net10)})
			a.del("delete net10 (tuple max drops)", n, "net10")
			a.mixed("raise one tuple, lower another", n, map[string]dataplane.PDR{"net10c": ctRule(70, net10)}, "lan")
			a.mixed("swap", n, map[string]dataplane.PDR{"lan2": ctRule(80, lan)}, "net10c")
		}},
		// The minimal reproducer of a batch delete exposing a rule that is
		// neither the old nor the new winner: X (dport 0..4095, prio 20) and Y
		// (dport 2048..3071, prio 10) live in different tuples; deleting both in
		// one batch (as Clear does, in map order) must never let a packet to port
		// 2500 see Y. Retiring X first did exactly that; deletes are now retired
		// lowest priority first, so the packet sees X until it is gone, then no
		// rule.
		{"batch-delete-order", func(a *ctAtomic) {
			a.pkts = append(a.pkts, fields{dport: 2500}, fields{dport: 100}, fields{dport: 4095})
			n := map[string]dataplane.PDRID{}
			a.ins("insert X and Y", n, map[string]dataplane.PDR{"X": ctRule(20, x), "Y": ctRule(10, y)})
			a.del("delete X, Y", n, "X", "Y")
			a.ins("insert X and Y again", n, map[string]dataplane.PDR{"X": ctRule(20, x), "Y": ctRule(10, y)})
			a.del("delete Y, X", n, "Y", "X")
			a.ins("insert X and Y again", n, map[string]dataplane.PDR{"X": ctRule(20, x), "Y": ctRule(10, y)})
			a.mixed("mixed: insert Z, delete X, Y", n, map[string]dataplane.PDR{"Z": ctRule(5, y)}, "X", "Y")
		}},
	}
}

func TestAtomicHandcrafted(t *testing.T) {
	for i, sc := range ctScripts() {
		t.Run(sc.name, func(t *testing.T) {
			sc.run(newCTAtomic(t, uint64(i), 32, 1000))
		})
	}
}

// TestAtomicCatchesBadOrders applies plans in wrong orders and checks that the
// step-by-step checker notices: the passing tests above mean something.
func TestAtomicCatchesBadOrders(t *testing.T) {
	kind := func(op ctOp) string { return op.name[:strings.IndexByte(op.name, ' ')] }
	// move returns ops with those of kind k moved before the first op of kind
	// before (or to the end if before is "").
	move := func(k, before string) func([]ctOp) []ctOp {
		return func(ops []ctOp) []ctOp {
			var moved, rest []ctOp
			for _, op := range ops {
				if kind(op) == k {
					moved = append(moved, op)
				} else {
					rest = append(rest, op)
				}
			}
			i := slices.IndexFunc(rest, func(op ctOp) bool { return kind(op) == before })
			if i < 0 {
				i = len(rest)
			}
			return slices.Concat(rest[:i], moved, rest[i:])
		}
	}
	mutations := map[string]func([]ctOp) []ctOp{
		"commit before phase A writes":  move("commit", "writeA"),
		"commit before tuplesA":         move("commit", "tuplesA"),
		"phase C writes before commit":  move("writeC", "commit"),
		"phase C deletes before retire": move("deleteC", "retire"),
		"tuplesC before retire":         move("tuplesC", "retire"),
		"retire before commit":          move("retire", "commit"),
		"bump gen before commit":        move("bump", "commit"),
		"bump gen before retire":        move("bump", "retire"),
		"retire highest priority first": func(ops []ctOp) []ctOp {
			ops = slices.Clone(ops)
			i := slices.IndexFunc(ops, func(op ctOp) bool { return kind(op) == "retire" })
			j := i
			for j >= 0 && j < len(ops) && kind(ops[j]) == "retire" {
				j++
			}
			if i >= 0 {
				slices.Reverse(ops[i:j])
			}
			return ops
		},
	}
	for _, name := range slices.Sorted(maps.Keys(mutations)) {
		caught := ""
		for i, sc := range ctScripts() {
			a := newCTAtomic(t, uint64(i), 32, 1000)
			a.reorder, a.collect = mutations[name], true
			sc.run(a)
			if a.err != nil {
				caught = sc.name
				break
			}
		}
		if caught == "" {
			t.Errorf("order mutation %q went unnoticed", name)
		} else {
			t.Logf("order mutation %q caught by script %q", name, caught)
		}
	}
}

// TestAtomicRandom runs random sequences of single and batch updates over a
// small universe (heavy overlap) through the step-by-step kernel simulation.
func TestAtomicRandom(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			a := newCTAtomic(t, seed, 64, 1<<16)
			g := newCTGen(seed+1000, false)
			for range 40 {
				a.pkts = append(a.pkts, ctRandomPacket(a.r))
			}
			// A few fixed matches reused with new priorities, to share masked keys.
			shared := []dataplane.PDRMatch{g.match(), g.match(), g.match()}
			newRule := func() dataplane.PDR {
				if g.r.IntN(3) == 0 {
					return dataplane.PDR{Match: ctPick(g.r, shared), Priority: g.prio(), FAR: 1}
				}
				return g.pdr()
			}
			live := func() []dataplane.PDRID { return ctIDs(a.c) }
			refused := 0
			for i := range 120 {
				ins := map[dataplane.PDRID]dataplane.PDR{}
				var del []dataplane.PDRID
				ids := live()
				switch op := g.r.IntN(10); {
				case op < 4 || len(ids) < 3: // single insert
					ins[a.next] = newRule()
					a.next++
				case op < 7: // single delete
					del = []dataplane.PDRID{ctPick(g.r, ids)}
				default: // batch: inserts and/or deletes
					for range g.r.IntN(4) {
						ins[a.next] = newRule()
						a.next++
					}
					g.r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
					del = ids[:g.r.IntN(min(4, len(ids)))]
					if len(ins)+len(del) == 0 {
						del = ids[:1]
					}
				}
				for _, p := range ins {
					a.addPackets(p.Match, 3)
				}
				if len(a.pkts) > 250 { // keep the newest packets
					a.pkts = a.pkts[len(a.pkts)-250:]
				}
				what := fmt.Sprintf("update #%d (+%d -%d)", i, len(ins), len(del))
				snap := ctSnap(a.c)
				if err := a.try(what, ins, del, nil); errors.Is(err, dataplane.ErrFull) {
					// Too many mask shapes: refused, and nothing may have changed.
					if !reflect.DeepEqual(ctSnap(a.c), snap) {
						t.Fatalf("%s: refused update changed the classifier", what)
					}
					ctCheckMirror(t, a.c, a.k)
					refused++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			t.Logf("%d map operations checked, %d intermediate observations (neither before nor after), %d updates refused as full",
				a.steps, a.transitions, refused)
		})
	}
}

// ---------------------------------------------------------------------------
// Capacity

type ctSnapshot struct {
	tuples    map[fields]tuple
	entries   map[entryKey]entry
	rules     map[dataplane.PDRID]rule
	published []tupleRow
}

func ctSnap(c *classifier) ctSnapshot {
	s := ctSnapshot{tuples: map[fields]tuple{}, entries: map[entryKey]entry{}, rules: map[dataplane.PDRID]rule{},
		published: slices.Clone(c.published)}
	for k, t := range c.tuples {
		cp := *t
		cp.prios = maps.Clone(t.prios)
		s.tuples[k] = cp
	}
	for k, e := range c.entries.all() {
		s.entries[k] = entry{rules: slices.Clone(e.rules), kv: e.kv}
	}
	for id, r := range c.all() {
		s.rules[id] = *r
	}
	return s
}

func TestClassifierFull(t *testing.T) {
	g := newCTGen(5, true)
	var pkts []fields
	for range 200 {
		pkts = append(pkts, ctRandomPacket(g.r))
	}
	lookups := func(c *classifier) []dataplane.PDRID {
		out := make([]dataplane.PDRID, len(pkts))
		for i, p := range pkts {
			out[i], _ = c.lookup(p)
		}
		return out
	}
	mustUpdate := func(t *testing.T, c *classifier, k *ctKernel, ins map[dataplane.PDRID]dataplane.PDR, del []dataplane.PDRID) {
		t.Helper()
		p, err := c.update(ins, del)
		if err != nil {
			t.Fatalf("update: %v", err)
		}
		for _, op := range ctOps(c, p) {
			op.do(k)
		}
		ctCheckMirror(t, c, k)
	}
	// refuse checks that an update fails with want and changes nothing.
	refuse := func(t *testing.T, c *classifier, ins map[dataplane.PDRID]dataplane.PDR, del []dataplane.PDRID, want error) {
		t.Helper()
		s, l := ctSnap(c), lookups(c)
		p, err := c.update(ins, del)
		if !errors.Is(err, want) {
			t.Fatalf("update: plan %v, error %v; want %v", p, err, want)
		}
		if !reflect.DeepEqual(ctSnap(c), s) {
			t.Fatalf("refused update changed the classifier")
		}
		if !slices.Equal(lookups(c), l) {
			t.Fatalf("refused update changed lookups")
		}
		ctCheckInvariants(t, c)
	}
	shape := func(l int) dataplane.PDRMatch { // one distinct tuple per prefix length
		m := dataplane.MatchAll()
		m.Dst = dataplane.Ternary[uint32]{Value: 0x0a000000 & (^uint32(0) << (32 - l)), Mask: ^uint32(0) << (32 - l)}
		return m
	}

	t.Run("tuples", func(t *testing.T) {
		c, k := newClassifier(3, 1000), newCTKernel()
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{1: ctRule(1, shape(8)), 2: ctRule(2, shape(16))}, nil)
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{3: ctRule(3, shape(24))}, nil)
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{4: ctRule(4, shape(24))}, nil) // existing tuple: fine
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, shape(32))}, nil, dataplane.ErrFull)
		// A batch with one rule over the limit is refused as a whole.
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, shape(8)), 6: ctRule(6, shape(32))}, nil, dataplane.ErrFull)
		// One rule whose port ranges expand into too many tuples.
		m := dataplane.MatchAll()
		m.DstPort = dataplane.PortRange{Lo: 1, Hi: 7}
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, m)}, nil, dataplane.ErrFull)
		// Deleting an unknown rule changes nothing either.
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, shape(8))}, []dataplane.PDRID{99}, dataplane.ErrNotFound)
		// Freeing a tuple makes room.
		mustUpdate(t, c, k, nil, []dataplane.PDRID{1})
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, shape(32))}, nil)
		ctCheckInvariants(t, c)
	})

	t.Run("tuples per family", func(t *testing.T) {
		c, k := newClassifier(2, 1000), newCTKernel()
		shape6 := func(l int) dataplane.PDRMatch {
			m := dataplane.MatchAll()
			m.Dst6 = dataplane.Prefix6(netip.PrefixFrom(netip.MustParseAddr("2001:db8::"), l))
			return m
		}
		// Each family has its own maxTuples shapes.
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{1: ctRule(1, shape(8)), 2: ctRule(2, shape(16))}, nil)
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{3: ctRule(3, shape6(32)), 4: ctRule(4, shape6(48))}, nil)
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, shape6(64))}, nil, dataplane.ErrFull)
		// A rule of both families needs a shape in each.
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, dataplane.MatchAll())}, nil, dataplane.ErrFull)
		mustUpdate(t, c, k, nil, []dataplane.PDRID{1, 3})
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, dataplane.MatchAll())}, nil)
		if mvs := expand(c.rule(5).match()); len(mvs) != 2 || mvs[0][0].v6 == mvs[1][0].v6 {
			t.Fatalf("a rule of both families has keys %v, want one per family", mvs)
		}
		ctCheckInvariants(t, c)
	})

	t.Run("entries", func(t *testing.T) {
		all4 := func() dataplane.PDRMatch { // one entry per prefix pair: IPv4 only
			m := dataplane.MatchAll()
			m.Family = dataplane.FamilyIPv4
			return m
		}
		c, k := newClassifier(32, 10), newCTKernel()
		r8 := all4()
		r8.DstPort = dataplane.PortRange{Lo: 1, Hi: 8} // 1, 2/3, 4/7, 8: four entries in three tuples
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{1: ctRule(1, r8)}, nil)
		r6 := all4()
		r6.SrcPort = dataplane.PortRange{Lo: 2, Hi: 13} // 2/3, 4/7, 8/11, 12/13: four entries, two new tuples
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{2: ctRule(2, r6)}, nil)
		if c.entries.len() != 8 {
			t.Fatalf("%d entries, want 8", c.entries.len())
		}
		// Three new entries: refused.
		r3 := all4()
		r3.DstPort = dataplane.PortRange{Lo: 16, Hi: 35} // 16/31, 32/35
		r3.Proto = dataplane.Exact[uint8](6)
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{3: ctRule(3, r3), 4: ctRule(4, shape(8))}, nil, dataplane.ErrFull)
		big := all4()
		big.SrcPort, big.DstPort = dataplane.PortRange{Lo: 1, Hi: 65534}, dataplane.PortRange{Lo: 1, Hi: 65534} // 900 entries
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{3: ctRule(3, big)}, nil, dataplane.ErrFull)
		// Shared keys take no space: the same matches at other priorities fit,
		// although the upper bound (8 more entries) exceeds the capacity.
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{3: ctRule(3, r8), 4: ctRule(4, r6)}, nil)
		if c.entries.len() != 8 {
			t.Fatalf("%d entries, want 8", c.entries.len())
		}
		// Two new entries fit exactly.
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{5: ctRule(5, r3)}, nil)
		if c.entries.len() != 10 {
			t.Fatalf("%d entries, want 10", c.entries.len())
		}
		refuse(t, c, map[dataplane.PDRID]dataplane.PDR{6: ctRule(6, shape(8))}, nil, dataplane.ErrFull)
		ctCheckInvariants(t, c)
		rules := ctPDRs(c)
		for _, p := range pkts {
			if got, _ := c.lookup(p); got != ctOracle(rules, p) {
				t.Fatalf("lookup(%+v) = %d, oracle %d", p, got, ctOracle(rules, p))
			}
		}
	})

	t.Run("entries-new-tuple-shared-key", func(t *testing.T) {
		// Two rules of one batch with the same match in a tuple that does not
		// exist yet need one entry, not two.
		c, k := newClassifier(32, 2), newCTKernel()
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{1: ctRule(1, shape(8))}, nil)
		mustUpdate(t, c, k, map[dataplane.PDRID]dataplane.PDR{2: ctRule(2, shape(16)), 3: ctRule(3, shape(16))}, nil)
		if c.entries.len() != 2 {
			t.Fatalf("%d entries, want 2", c.entries.len())
		}
		ctCheckInvariants(t, c)
	})
}

// TestClassifierHas: has finds exactly the installed keys (match and
// priority), among rules that share first expanded keys, priorities and
// tuples, through random inserts and deletes.
func TestClassifierHas(t *testing.T) {
	g := newCTGen(7, true)
	c := newClassifier(4096, 1<<20)
	var all []dataplane.PDR // installed or not: the probes
	next := dataplane.PDRID(1)
	for i := range 300 {
		p := g.pdr()
		if i%3 == 0 && len(all) > 0 { // another priority or range of a known match
			p.Match = all[g.r.IntN(len(all))].Match
			if i%2 == 0 {
				lo := p.Match.DstPort.Lo
				p.Match.DstPort.Hi = lo + uint16(g.r.IntN(min(200, 65536-int(lo))))
			}
		}
		if err := p.Validate(); err != nil {
			t.Fatal(err)
		}
		if slices.ContainsFunc(all, func(q dataplane.PDR) bool { return q.Key() == p.Key() }) {
			continue
		}
		all = append(all, p)
		if _, err := c.update(map[dataplane.PDRID]dataplane.PDR{next: p}, nil); err != nil {
			t.Fatal(err)
		}
		next++
		if i%5 == 4 { // delete one
			ids := ctIDs(c)
			if _, err := c.update(nil, ids[g.r.IntN(len(ids)):][:1]); err != nil {
				t.Fatal(err)
			}
		}
		live := map[dataplane.PDRKey]bool{}
		for _, r := range c.all() {
			live[r.pdr().Key()] = true
		}
		for _, q := range all {
			if got := c.has(q); got != live[q.Key()] {
				t.Fatalf("step %d: has(%+v prio %d) = %v, want %v", i, q.Match, q.Priority, got, live[q.Key()])
			}
			q.Priority++
			if got := c.has(q); got != live[q.Key()] {
				t.Fatalf("step %d: has(%+v prio %d) = %v, want %v", i, q.Match, q.Priority, got, live[q.Key()])
			}
		}
	}
}

// ctIDs are c's rule ids, ascending.
func ctIDs(c *classifier) []dataplane.PDRID {
	var ids []dataplane.PDRID
	for id := range c.all() {
		ids = append(ids, id)
	}
	return ids
}
