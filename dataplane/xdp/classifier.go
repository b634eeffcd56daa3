package xdp

import (
	"bytes"
	"cmp"
	"fmt"
	"iter"
	"slices"

	"github.com/linx-sdwan/linx/dataplane"
)

// The classifier is a tuple-space search (Srinivasan et al., SIGCOMM '99), the
// algorithm behind Open vSwitch's megaflow classifier: rules are grouped by mask
// shape ("tuple"); each tuple is one exact-match hash table over masked fields, so
// a packet costs one hash lookup per tuple, however many rules there are. Port
// ranges become prefix masks (a range expands to at most 30 prefixes per port).
// Tuples are visited in decreasing order of their best priority and the search
// stops once no remaining tuple can beat the match found (priority-sorted TSS).
//
// This file is pure bookkeeping: it decides which map writes an update needs and
// in which order, so that every packet sees each rule either wholly installed or
// not at all. The order for a batch of inserts and deletes is:
//
//  1. entries (phase A): each affected masked key gets {best-after, best-before}
//     ordered by priority; since a rule is live only once its pdr_rules entry
//     holds a priority (the array's zero entry is no rule), packets keep seeing
//     the old winner until the commit;
//     the tuple list is published with new tuples and raised priorities;
//  2. commit: pdr_rules writes for inserts, then retirements (one write of
//     zeroes per rule);
//  3. entries (phase C): keys get their true best two rules, emptied keys and
//     tuples are removed.

// fields are the classifier's packet fields in host byte order (IPv6 addresses
// in network order); as a mask, a set bit means "compared". v6 says which tuple
// space a key or mask belongs to: IPv4 keys (pdr_entries) use src and dst, IPv6
// keys (pdr6_entries) src6 and dst6. Tuple ids are shared by both families.
type fields struct {
	src, dst     uint32
	sport, dport uint16
	inPort       uint16
	proto        uint8
	dscpDir      uint8 // dscp << 2 | direction
	v6           bool
	src6, dst6   [16]byte
}

func (f fields) and(m fields) fields {
	r := fields{src: f.src & m.src, dst: f.dst & m.dst, sport: f.sport & m.sport, dport: f.dport & m.dport,
		inPort: f.inPort & m.inPort, proto: f.proto & m.proto, dscpDir: f.dscpDir & m.dscpDir, v6: f.v6}
	if m.v6 {
		for i := range r.src6 {
			r.src6[i] = f.src6[i] & m.src6[i]
			r.dst6[i] = f.dst6[i] & m.dst6[i]
		}
	}
	return r
}

type entryKey struct {
	tuple uint32
	val   fields
}

type ruleRef struct {
	id   dataplane.PDRID
	prio uint32
}

// before orders rules best first: higher priority, then lower id.
func (a ruleRef) before(b ruleRef) bool {
	return a.prio > b.prio || (a.prio == b.prio && a.id < b.id)
}

type entry struct {
	rules []ruleRef          // best first (starts in one)
	kv    [2]dataplane.PDRID // what the kernel holds
	epoch uint64             // the update that last touched it (classifier.epoch)
	one   [1]ruleRef         // rules' storage while it holds one rule, the common case
}

func (e *entry) top2() [2]dataplane.PDRID {
	var v [2]dataplane.PDRID
	for i := 0; i < 2 && i < len(e.rules); i++ {
		v[i] = e.rules[i].id
	}
	return v
}

type tuple struct {
	id     uint32
	mask   fields
	refs   int              // entries×rules under this tuple
	prios  map[uint32]int32 // priority → refs
	heap   prioHeap         // distinct priorities, lazily pruned
	max    uint32
	epoch  uint64 // the update that last touched it (classifier.epoch)
	oldMax uint32 // max before that update
}

func (t *tuple) add(prio uint32) {
	t.refs++
	n := t.prios[prio] + 1
	t.prios[prio] = n
	if n == 1 {
		t.heap.push(prio)
	}
	t.max = max(t.max, prio)
}

func (t *tuple) remove(prio uint32) {
	t.refs--
	if t.prios[prio]--; t.prios[prio] == 0 {
		delete(t.prios, prio)
		// Pop priorities that no rule holds any more; the top is the new max.
		for t.heap.Len() > 0 {
			if _, live := t.prios[t.heap[0]]; live {
				break
			}
			t.heap.pop()
		}
		t.max = 0
		if t.heap.Len() > 0 {
			t.max = t.heap[0]
		}
	}
}

// prioHeap is a max-heap of priorities (the algorithm of container/heap, without
// its interface: no boxing of every priority pushed).
type prioHeap []uint32

func (h prioHeap) Len() int { return len(h) }

func (h *prioHeap) push(x uint32) {
	*h = append(*h, x)
	s := *h
	for j := len(s) - 1; j > 0; {
		i := (j - 1) / 2
		if s[i] >= s[j] {
			break
		}
		s[i], s[j] = s[j], s[i]
		j = i
	}
}

func (h *prioHeap) pop() uint32 {
	s := *h
	n := len(s) - 1
	s[0], s[n] = s[n], s[0]
	for i := 0; ; {
		j := 2*i + 1
		if j >= n {
			break
		}
		if j+1 < n && s[j+1] > s[j] {
			j++
		}
		if s[i] >= s[j] {
			break
		}
		s[i], s[j] = s[j], s[i]
		i = j
	}
	x := s[n]
	*h = s[:n]
	return x
}

// rule is an installed rule in 56 bytes (a dataplane.PDR is 112, 64 of them
// IPv6 addresses most rules do not have). Its keys are not kept: deleting it
// expands its match again, which costs less than holding ~80 bytes per rule.
type rule struct {
	prio      uint32 // 0: no rule
	far       dataplane.FARID
	inPort    dataplane.Ternary[uint16]
	src, dst  dataplane.Ternary[uint32]
	sport     dataplane.PortRange
	dport     dataplane.PortRange
	direction dataplane.Ternary[uint8]
	proto     dataplane.Ternary[uint8]
	dscp      dataplane.Ternary[uint8]
	family    uint8
	v6        *[2]dataplane.Addr6 // Src6, Dst6; nil: both zero
}

func newRule(p dataplane.PDR) rule {
	m := p.Match
	r := rule{prio: p.Priority, far: p.FAR, inPort: m.InPort, src: m.Src, dst: m.Dst, sport: m.SrcPort, dport: m.DstPort,
		direction: m.Direction, proto: m.Proto, dscp: m.DSCP, family: m.Family}
	if !m.Src6.IsZero() || !m.Dst6.IsZero() {
		r.v6 = &[2]dataplane.Addr6{m.Src6, m.Dst6}
	}
	return r
}

// match is the rule's match.
func (r *rule) match() dataplane.PDRMatch {
	m := dataplane.PDRMatch{InPort: r.inPort, Direction: r.direction, Src: r.src, Dst: r.dst, Proto: r.proto,
		SrcPort: r.sport, DstPort: r.dport, DSCP: r.dscp, Family: r.family}
	if r.v6 != nil {
		m.Src6, m.Dst6 = r.v6[0], r.v6[1]
	}
	return m
}

// pdr is the rule as installed.
func (r *rule) pdr() dataplane.PDR {
	return dataplane.PDR{Match: r.match(), Priority: r.prio, FAR: r.far}
}

// tupleRow is one row of the tuple list written to the kernel.
type tupleRow struct {
	id      uint32
	mask    fields
	maxPrio uint32
}

type entryWrite struct {
	key entryKey
	val [2]dataplane.PDRID
}

// plan is the ordered list of map operations for one update.
type plan struct {
	writesA  []entryWrite
	tuplesA  []tupleRow        // nil: unchanged
	commit   []dataplane.PDRID // rules to make live, with their PDRs in classifier.rules
	retire   []dataplane.PDRID // rules to make dead
	writesC  []entryWrite
	deletesC []entryKey
	tuplesC  []tupleRow // nil: unchanged
}

type classifier struct {
	maxTuples  int
	maxEntries int
	tuples     map[fields]*tuple
	entries    entryMap
	rules      [][]rule // by id, in pages of rulePage: ids are dense (dataplane.PDRIDs)
	nrules     int
	published  []tupleRow
	epoch      uint64 // counts updates: marks what the current one touched
}

func newClassifier(maxTuples, maxEntries int) *classifier {
	return &classifier{
		maxTuples:  maxTuples,
		maxEntries: maxEntries,
		tuples:     map[fields]*tuple{},
		entries:    newEntryMap(0),
	}
}

// rulePage is how many rules a page of classifier.rules holds: the rules
// grow by pages, never copied, and take at most a page more than their ids.
const rulePage = 1024

// rule returns rule id, nil if there is none.
func (c *classifier) rule(id dataplane.PDRID) *rule {
	if p := int(id) / rulePage; p < len(c.rules) {
		if r := &c.rules[p][int(id)%rulePage]; r.prio != 0 {
			return r
		}
	}
	return nil
}

// addRule holds p as rule id.
func (c *classifier) addRule(id dataplane.PDRID, p dataplane.PDR) {
	for int(id)/rulePage >= len(c.rules) {
		c.rules = append(c.rules, make([]rule, rulePage))
	}
	c.rules[int(id)/rulePage][int(id)%rulePage] = newRule(p)
	c.nrules++
}

// dropRule forgets rule id.
func (c *classifier) dropRule(id dataplane.PDRID) {
	c.rules[int(id)/rulePage][int(id)%rulePage] = rule{}
	c.nrules--
}

// all yields the rules in id order.
func (c *classifier) all() iter.Seq2[dataplane.PDRID, *rule] {
	return func(yield func(dataplane.PDRID, *rule) bool) {
		for p, page := range c.rules {
			for i := range page {
				if page[i].prio != 0 && !yield(dataplane.PDRID(p*rulePage+i), &page[i]) {
					return
				}
			}
		}
	}
}

// prefixes16 splits lo..hi into aligned prefix blocks (value, mask).
func prefixes16(lo, hi uint16) [][2]uint16 {
	return appendPrefixes16(nil, lo, hi)
}

// appendPrefixes16 is prefixes16 appending to out (at most 30 blocks).
func appendPrefixes16(out [][2]uint16, lo, hi uint16) [][2]uint16 {
	l, h := uint32(lo), uint32(hi)
	for l <= h {
		step := prefixStep(l, h)
		out = append(out, [2]uint16{uint16(l), uint16(^(step - 1))})
		l += step
	}
	return out
}

// prefixStep is the size of the largest aligned block starting at l within l..h.
func prefixStep(l, h uint32) uint32 {
	step := uint32(1 << 16)
	if l != 0 {
		step = l & -l
	}
	for step > h-l+1 {
		step >>= 1
	}
	return step
}

// firstPrefix16 is prefixes16(lo, hi)[0] (lo <= hi).
func firstPrefix16(lo, hi uint16) [2]uint16 {
	step := prefixStep(uint32(lo), uint32(hi))
	return [2]uint16{lo, uint16(^(step - 1))}
}

// expand turns a match into (mask, masked value) pairs, one per port-prefix pair
// and IP version it applies to (a rule of both versions has entries in both
// tuple spaces, under one rule id and priority).
func expand(m dataplane.PDRMatch) [][2]fields { return appendExpansion(nil, m) }

// appendExpansion is expand appending to out.
func appendExpansion(out [][2]fields, m dataplane.PDRMatch) [][2]fields {
	base, famBuf, nf := expansionBase(m)
	var sbuf, dbuf [32][2]uint16
	sps := appendPrefixes16(sbuf[:0], m.SrcPort.Lo, m.SrcPort.Hi)
	dps := appendPrefixes16(dbuf[:0], m.DstPort.Lo, m.DstPort.Hi)
	for _, fm := range famBuf[:nf] {
		b := base
		b.v6 = fm.v6
		for _, sp := range sps {
			for _, dp := range dps {
				mk, v := fm, b
				mk.sport, v.sport = sp[1], sp[0]
				mk.dport, v.dport = dp[1], dp[0]
				out = append(out, [2]fields{mk, v.and(mk)})
			}
		}
	}
	return out
}

// expansionBase is a match's values (ports aside) and the masks of the
// families it applies to (nf of them: IPv4's first).
func expansionBase(m dataplane.PDRMatch) (base fields, fams [2]fields, nf int) {
	base = fields{
		src: m.Src.Value, dst: m.Dst.Value,
		inPort: m.InPort.Value, proto: m.Proto.Value,
		dscpDir: m.DSCP.Value<<2 | m.Direction.Value,
	}
	mask := fields{
		src: m.Src.Mask, dst: m.Dst.Mask,
		inPort: m.InPort.Mask, proto: m.Proto.Mask,
		dscpDir: m.DSCP.Mask<<2 | m.Direction.Mask&3,
	}
	v4, v6 := m.Families()
	if v4 {
		fams[nf] = mask
		nf++
	}
	if v6 {
		m6 := mask
		m6.src, m6.dst = 0, 0
		m6.v6, m6.src6, m6.dst6 = true, m.Src6.Mask, m.Dst6.Mask
		fams[nf] = m6
		nf++
	}
	base.src6, base.dst6 = m.Src6.Value, m.Dst6.Value
	return base, fams, nf
}

// firstExpansion is expand(m)[0], without the rest.
func firstExpansion(m dataplane.PDRMatch) [2]fields {
	base, fams, _ := expansionBase(m)
	sp, dp := firstPrefix16(m.SrcPort.Lo, m.SrcPort.Hi), firstPrefix16(m.DstPort.Lo, m.DstPort.Hi)
	mk, v := fams[0], base
	v.v6 = mk.v6
	mk.sport, v.sport = sp[1], sp[0]
	mk.dport, v.dport = dp[1], dp[0]
	return [2]fields{mk, v.and(mk)}
}

// has reports whether a rule with p's match and priority is installed: such a
// rule has an entry under p's first expanded key, among the rules of p's
// priority there.
func (c *classifier) has(p dataplane.PDR) bool {
	mv := firstExpansion(p.Match)
	t, ok := c.tuples[mv[0]]
	if !ok {
		return false
	}
	e := c.entries.get(entryKey{t.id, mv[1]})
	if e == nil {
		return false
	}
	for _, ref := range e.rules {
		if ref.prio == p.Priority && c.rule(ref.id).match() == p.Match {
			return true
		}
	}
	return false
}

// expansion returns how many entries a match needs.
func expansion(m dataplane.PDRMatch) int {
	n := len(prefixes16(m.SrcPort.Lo, m.SrcPort.Hi)) * len(prefixes16(m.DstPort.Lo, m.DstPort.Hi))
	if v4, v6 := m.Families(); v4 && v6 {
		n *= 2
	}
	return n
}

// touched is a key an update changes, with its entry and the best rule it had
// before the update (id 0: none).
type touched struct {
	key   entryKey
	e     *entry
	bestB ruleRef
}

// retiring is a rule to delete.
type retiring struct {
	ref ruleRef
	r   *rule
}

// insertion is a rule to insert (its id already chosen) with its expansion,
// computed once per update.
type insertion struct {
	id  dataplane.PDRID
	pdr dataplane.PDR
	mvs [][2]fields
}

// update plans inserting ins (ids already chosen) and deleting del. On error the
// classifier is unchanged.
func (c *classifier) update(ins map[dataplane.PDRID]dataplane.PDR, del []dataplane.PDRID) (*plan, error) {
	inss := make([]insertion, 0, len(ins))
	for id, p := range ins {
		inss = append(inss, insertion{id: id, pdr: p})
	}
	slices.SortFunc(inss, func(a, b insertion) int { return cmp.Compare(a.id, b.id) })
	return c.plan(inss, del)
}

// plan is update with the inserts in ascending id order (the order plans are
// made in). A batch's bookkeeping comes in a few allocations, not a few per
// rule: the expansions share one slice, rules go into the slice of rules by
// id, and the new entries are carved from one slice (a batch's slab lives as
// long as one of its entries does).
func (c *classifier) plan(inss []insertion, del []dataplane.PDRID) (*plan, error) {
	total := 0
	for i := range inss {
		total += expansion(inss[i].pdr.Match)
	}
	// A large batch into an empty classifier (a controller replaying its state
	// after a pipeline push) sizes the maps once instead of growing them step by
	// step, each step rehashing what is there.
	if c.nrules == 0 && len(inss) >= 1024 {
		if c.entries.len() == 0 {
			c.entries = newEntryMap(total)
		}
	}
	arena := make([][2]fields, 0, total)
	for i := range inss {
		n := len(arena)
		arena = appendExpansion(arena, inss[i].pdr.Match)
		inss[i].mvs = arena[n:len(arena):len(arena)]
	}

	// Capacity first, so that a refused update changes nothing.
	newEntries, newTuples := 0, map[fields]bool{}
	for _, in := range inss {
		for _, mv := range in.mvs {
			if _, ok := c.tuples[mv[0]]; !ok {
				newTuples[mv[0]] = true
			}
			newEntries++ // upper bound: shared keys need no new entry
		}
	}
	// Each family's tuple list holds maxTuples shapes.
	var n [2]int
	for m := range c.tuples {
		n[b2i(m.v6)]++
	}
	for m := range newTuples {
		n[b2i(m.v6)]++
	}
	if n[0] > c.maxTuples {
		return nil, fmt.Errorf("%w: more than %d distinct PDR mask shapes", dataplane.ErrFull, c.maxTuples)
	}
	if n[1] > c.maxTuples {
		return nil, fmt.Errorf("%w: more than %d distinct PDR mask shapes for IPv6", dataplane.ErrFull, c.maxTuples)
	}
	if c.entries.len()+newEntries > c.maxEntries {
		// Count exactly before refusing: shared keys take no space.
		exact := 0
		seen := map[entryKey]bool{}
		placeholder := map[fields]uint32{} // one id per new tuple, so keys shared in it count once
		for _, in := range inss {
			for _, mv := range in.mvs {
				var id uint32
				if t, ok := c.tuples[mv[0]]; ok {
					id = t.id
				} else if id, ok = placeholder[mv[0]]; !ok {
					id = ^uint32(0) - uint32(len(placeholder)) // distinct from real tuple ids
					placeholder[mv[0]] = id
				}
				k := entryKey{id, mv[1]}
				if c.entries.get(k) == nil && !seen[k] {
					seen[k] = true
					exact++
				}
			}
		}
		if c.entries.len()+exact > c.maxEntries {
			return nil, fmt.Errorf("%w: PDR entries exhausted (%d in use, %d needed)", dataplane.ErrFull, c.entries.len(), exact)
		}
	}

	// Keys and tuples this update touches are marked with its epoch, and listed
	// once each with what they held before.
	c.epoch++
	touch := make([]touched, 0, len(inss)+len(del))
	mark := func(k entryKey, e *entry) {
		if e.epoch == c.epoch {
			return
		}
		e.epoch = c.epoch
		t := touched{key: k, e: e}
		if len(e.rules) > 0 {
			t.bestB = e.rules[0]
		}
		touch = append(touch, t)
	}
	var noted []*tuple
	noteTuple := func(t *tuple) {
		if t.epoch != c.epoch {
			t.epoch, t.oldMax = c.epoch, t.max
			noted = append(noted, t)
		}
	}

	p := &plan{commit: make([]dataplane.PDRID, 0, len(inss)), retire: make([]dataplane.PDRID, 0, len(del))}
	// Retire the lowest priority first: a packet then sees its old winner until that
	// is retired and the new one after, never another rule of the batch being
	// deleted (retiring a higher rule first would expose a lower deleted one).
	// The rules are looked up once, not in every comparison of the sort.
	dels := make([]retiring, len(del))
	for i, id := range del {
		r := c.rule(id)
		if r == nil {
			return nil, fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
		}
		dels[i].ref, dels[i].r = ruleRef{id, r.prio}, r
	}
	slices.SortStableFunc(dels, func(a, b retiring) int { return cmp.Compare(a.ref.prio, b.ref.prio) })
	var mvs [][2]fields
	for _, dl := range dels {
		id, r, ref := dl.ref.id, dl.r, dl.ref
		mvs = appendExpansion(mvs[:0], r.match())
		for _, mv := range mvs {
			t := c.tuples[mv[0]]
			k := entryKey{t.id, mv[1]}
			e := c.entries.get(k)
			mark(k, e)
			i := slices.IndexFunc(e.rules, func(x ruleRef) bool { return x.id == id })
			e.rules = slices.Delete(e.rules, i, i+1)
			noteTuple(t)
			t.remove(ref.prio)
		}
		c.dropRule(id)
		p.retire = append(p.retire, id)
	}
	var entries []entry // new entries, allocated at the first
	for _, in := range inss {
		id, pdr := in.id, in.pdr
		ref := ruleRef{id, pdr.Priority}
		for _, mv := range in.mvs {
			t := c.tuples[mv[0]]
			if t == nil {
				t = &tuple{id: c.freeTupleID(mv[0].v6), mask: mv[0], prios: map[uint32]int32{}}
				c.tuples[mv[0]] = t
			}
			noteTuple(t)
			t.add(ref.prio)
			k := entryKey{t.id, mv[1]}
			e := c.entries.get(k)
			if e == nil { // new to the classifier, so not yet marked
				if entries == nil {
					entries = make([]entry, 0, total)
				}
				entries = append(entries, entry{})
				e = &entries[len(entries)-1]
				e.rules = e.one[:0]
				c.entries.put(k, e)
			}
			mark(k, e)
			i, _ := slices.BinarySearchFunc(e.rules, ref, func(a, b ruleRef) int {
				if a.before(b) {
					return -1
				}
				return 1
			})
			e.rules = slices.Insert(e.rules, i, ref)
		}
		c.addRule(id, pdr)
		p.commit = append(p.commit, id)
	}

	// Phase A: every affected key keeps its old winner live until the commit.
	if len(touch) <= 64 {
		// stable plans for small updates; order is irrelevant
		slices.SortFunc(touch, func(a, b touched) int { return compareKeys(a.key, b.key) })
	}
	for _, t := range touch {
		k, e := t.key, t.e
		var bestA ruleRef
		if len(e.rules) > 0 {
			bestA = e.rules[0]
		}
		var v [2]dataplane.PDRID
		switch {
		case bestA.id == t.bestB.id:
			v = e.top2()
		case bestA.id == 0:
			v = [2]dataplane.PDRID{t.bestB.id}
		case t.bestB.id == 0:
			v = [2]dataplane.PDRID{bestA.id}
		case bestA.before(t.bestB):
			v = [2]dataplane.PDRID{bestA.id, t.bestB.id}
		default:
			v = [2]dataplane.PDRID{t.bestB.id, bestA.id}
		}
		if v != e.kv {
			p.writesA = append(p.writesA, entryWrite{k, v})
			e.kv = v
		}
	}
	rowsA := c.rows(true)
	if !slices.Equal(rowsA, c.published) {
		p.tuplesA = rowsA
		c.published = rowsA
	}

	// Phase C: the true state.
	for _, t := range touch {
		k, e := t.key, t.e
		if len(e.rules) == 0 {
			p.deletesC = append(p.deletesC, k)
			c.entries.del(k)
			continue
		}
		if v := e.top2(); v != e.kv {
			p.writesC = append(p.writesC, entryWrite{k, v})
			e.kv = v
		}
	}
	for _, t := range noted {
		if t.refs == 0 {
			delete(c.tuples, t.mask)
		}
	}
	rowsC := c.rows(false)
	if !slices.Equal(rowsC, c.published) {
		p.tuplesC = rowsC
		c.published = rowsC
	}
	return p, nil
}

// rows is the tuple list, best first. With keepOld, tuples keep the larger of
// their best priority before the current update and now, and empty tuples stay
// listed.
func (c *classifier) rows(keepOld bool) []tupleRow {
	rows := make([]tupleRow, 0, len(c.tuples))
	for _, t := range c.tuples {
		m := t.max
		if keepOld {
			if t.epoch == c.epoch {
				m = max(m, t.oldMax)
			}
		} else if t.refs == 0 {
			continue
		}
		if m == 0 {
			continue
		}
		rows = append(rows, tupleRow{t.id, t.mask, m})
	}
	slices.SortFunc(rows, func(a, b tupleRow) int {
		if c := cmp.Compare(b.maxPrio, a.maxPrio); c != 0 {
			return c
		}
		return cmp.Or(compareBool(a.mask.v6, b.mask.v6), cmp.Compare(a.id, b.id))
	})
	return rows
}

func (c *classifier) freeTupleID(v6 bool) uint32 {
	used := make([]bool, c.maxTuples+1)
	for _, t := range c.tuples {
		if int(t.id) < len(used) && t.mask.v6 == v6 {
			used[t.id] = true
		}
	}
	for i := range used {
		if !used[i] {
			return uint32(i)
		}
	}
	panic("classifier: no free tuple id despite capacity check")
}

// lookup classifies a packet the way the data path does (for tests and memdp).
func (c *classifier) lookup(pkt fields) (dataplane.PDRID, bool) {
	var best ruleRef
	for _, row := range c.published {
		if row.mask.v6 != pkt.v6 {
			continue // the other family's list (tuple ids are per family)
		}
		if row.maxPrio <= best.prio {
			break
		}
		e := c.entries.get(entryKey{row.id, pkt.and(row.mask)})
		if e == nil {
			continue
		}
		for _, id := range e.kv {
			if id == 0 {
				break
			}
			r := c.rule(id)
			if r == nil {
				continue
			}
			if r.prio > best.prio {
				best = ruleRef{id, r.prio}
			}
			break
		}
	}
	return best.id, best.id != 0
}

func compareKeys(a, b entryKey) int {
	return cmp.Or(cmp.Compare(a.tuple, b.tuple), compareBool(a.val.v6, b.val.v6),
		bytes.Compare(a.val.src6[:], b.val.src6[:]), bytes.Compare(a.val.dst6[:], b.val.dst6[:]),
		cmp.Compare(a.val.src, b.val.src),
		cmp.Compare(a.val.dst, b.val.dst), cmp.Compare(a.val.sport, b.val.sport),
		cmp.Compare(a.val.dport, b.val.dport), cmp.Compare(a.val.inPort, b.val.inPort),
		cmp.Compare(a.val.proto, b.val.proto), cmp.Compare(a.val.dscpDir, b.val.dscpDir))
}

func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
