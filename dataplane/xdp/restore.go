package xdp

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/linx-sdwan/linx/dataplane"
)

var _ dataplane.Restorer = (*Dataplane)(nil)

// Restore takes over what the maps hold (pinned by an earlier process, or
// empty) and makes them hold s, without disturbing packets:
//
//   - The live tuple list seeds the classifier, so that planning s gives every
//     mask shape the tuple id it has in the kernel, and the classifier entries
//     the keys and values they have: the plan rewrites them with what they hold
//     (PDRs the kernel holds stay live throughout and keep their counters).
//   - Tunnels, LBRs, FARs, terminations and the default are written before the
//     PDRs that use them; what the kernel holds beyond s is removed after: rules
//     first (lowest priority first, as DeletePDR batches do), then their
//     classifier entries, then FARs, LBRs, terminations and tunnels. non_ip
//     rules stand alone: written with the others, extra ones removed last, and
//     those the kernel holds keep their counters.
//   - The classifier generation is bumped last, so the flow cache forgets every
//     answer given before.
func (d *Dataplane) Restore(s dataplane.RestoreState) error {
	if err := s.Validate(d.opts); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.restored || d.cls.nrules > 0 || len(d.fars)+len(d.lbrs)+len(d.tunnels)+len(d.terms)+len(d.nonIP) > 0 {
		return fmt.Errorf("%w: Restore must come once, before any rule is written", dataplane.ErrInvalid)
	}
	if err := d.restoreObjects(s); err != nil {
		return fmt.Errorf("restore data path: %w", err)
	}
	if err := d.restoreMeters(s); err != nil {
		return fmt.Errorf("restore data path: %w", err)
	}
	if err := d.restorePDRMeters(s); err != nil {
		return fmt.Errorf("restore data path: %w", err)
	}
	if err := d.refreshNexthops(); err != nil {
		return fmt.Errorf("restore data path: %w", err)
	}
	if err := d.restorePDRs(s.PDRs); err != nil {
		return fmt.Errorf("restore data path: %w", err)
	}
	if err := d.removeExtraObjects(s); err != nil {
		return fmt.Errorf("restore data path: %w", err)
	}
	if err := d.syncIPv6NonIP(); err != nil {
		return fmt.Errorf("restore data path: %w", err)
	}
	if err := d.bumpGen(); err != nil {
		return err
	}
	d.restored = true
	return nil
}

// restoreObjects writes tunnels, LBRs, FARs, terminations, non_ip rules and the
// default. Counters of objects the kernel already holds go on; new tunnels and
// non_ip rules start at zero.
func (d *Dataplane) restoreObjects(s dataplane.RestoreState) error {
	for _, id := range sortedKeys(s.Tunnels) {
		var v linxTunnel
		exists := d.objs.Tunnels.Lookup(uint32(id), &v) == nil && v.Flags&uint8(linxTunnelFlagsTUNNEL_F_PRESENT) != 0
		if !exists {
			if err := d.zeroTunnelCounter(id); err != nil {
				return err
			}
		}
		v, v6 := kernelTunnel(s.Tunnels[id])
		if v6 != nil {
			if err := d.objs.Tunnels6.Put(uint32(id), v6); err != nil {
				return fmt.Errorf("write tunnel %d endpoints: %w", id, err)
			}
		}
		if err := d.objs.Tunnels.Put(uint32(id), v); err != nil {
			return fmt.Errorf("write tunnel %d: %w", id, err)
		}
		d.tunnels[id] = s.Tunnels[id]
	}
	for _, id := range sortedKeys(s.LBRs) {
		if err := d.objs.Lbrs.Put(uint32(id), kernelLBR(s.LBRs[id], d.opts.MaxPorts)); err != nil {
			return fmt.Errorf("write lbr %d: %w", id, err)
		}
		d.lbrs[id] = slices.Clone(s.LBRs[id])
	}
	for _, id := range sortedKeys(s.FARs) {
		if err := d.objs.Fars.Put(uint32(id), kernelFAR(s.FARs[id])); err != nil {
			return fmt.Errorf("write far %d: %w", id, err)
		}
		d.fars[id] = s.FARs[id]
	}
	// Local addresses before terminations, as SetTunnelTerm does.
	locals := map[netip.Addr]int{}
	for term := range s.Terms {
		locals[term.Local]++
	}
	for a, n := range locals {
		if err := d.putLocal(a, n); err != nil {
			return fmt.Errorf("register local tunnel address %s: %w", a, err)
		}
	}
	for term, id := range s.Terms {
		if err := d.putTerm(term, id); err != nil {
			return fmt.Errorf("write tunnel termination: %w", err)
		}
		d.terms[term] = id
	}
	d.locals = locals
	for _, et := range sortedKeys(s.NonIP) {
		var c []linxCounter
		if d.objs.NonIpCounters.Lookup(hton16(et), &c) != nil {
			if err := d.zeroNonIPCounter(et); err != nil {
				return err
			}
		}
		if err := d.objs.NonIpRules.Put(hton16(et), linxNonIpRule{Action: uint8(s.NonIP[et])}); err != nil {
			return fmt.Errorf("write non_ip rule %#04x: %w", et, err)
		}
		d.nonIP[et] = s.NonIP[et]
	}
	def := dataplane.FAR{Action: dataplane.ActPass}
	if s.Default != nil {
		def = *s.Default
	}
	return d.writeMiss(def)
}

// restorePDRs plans installing rules over the seeded classifier and applies the
// plan, then retires the rules and removes the entries the kernel holds beyond it.
func (d *Dataplane) restorePDRs(rules map[dataplane.PDRID]dataplane.PDR) error {
	live, err := liveRules(d.objs.PdrRules)
	if err != nil {
		return fmt.Errorf("read live pdrs: %w", err)
	}
	var tl linxPdrTuples
	if err := d.objs.PdrTupleList.Lookup(d.slot, &tl); err != nil {
		return fmt.Errorf("read live tuple list: %w", err)
	}
	rows := make([]tupleRow, 0, tl.N)
	odd := int(tl.N) > len(tl.T)
	ids := map[uint32]bool{}
	for i := 0; i < int(tl.N) && i < len(tl.T); i++ {
		r := tl.T[i]
		m := fields{src: hton32(r.Mask.Src), dst: hton32(r.Mask.Dst), sport: hton16(r.Mask.Sport),
			dport: hton16(r.Mask.Dport), inPort: r.Mask.InPort, proto: r.Mask.Proto, dscpDir: r.Mask.DscpDir}
		if _, dup := d.cls.tuples[m]; dup || ids[r.Mask.Tuple] || int(r.Mask.Tuple) > d.cls.maxTuples {
			odd = true // a list no Go code wrote: rewritten below
			continue
		}
		ids[r.Mask.Tuple] = true
		d.cls.tuples[m] = &tuple{id: r.Mask.Tuple, mask: m, prios: map[uint32]int32{}}
		rows = append(rows, tupleRow{r.Mask.Tuple, m, r.MaxPrio})
	}
	var tl6 linxPdr6Tuples
	if err := d.objs.Pdr6TupleList.Lookup(d.slot6, &tl6); err != nil {
		return fmt.Errorf("read live pdr6 tuple list: %w", err)
	}
	odd = odd || int(tl6.N) > len(tl6.T)
	ids6 := map[uint32]bool{} // the IPv6 list has tuple ids of its own
	for i := 0; i < int(tl6.N) && i < len(tl6.T); i++ {
		r := tl6.T[i]
		m := fields6(r.Mask)
		if _, dup := d.cls.tuples[m]; dup || ids6[r.Mask.Tuple] || int(r.Mask.Tuple) > d.cls.maxTuples {
			odd = true
			continue
		}
		ids6[r.Mask.Tuple] = true
		d.cls.tuples[m] = &tuple{id: r.Mask.Tuple, mask: m, prios: map[uint32]int32{}}
		rows = append(rows, tupleRow{r.Mask.Tuple, m, r.MaxPrio})
	}
	slices.SortFunc(rows, func(a, b tupleRow) int {
		return cmp.Or(cmp.Compare(b.maxPrio, a.maxPrio), compareBool(a.mask.v6, b.mask.v6), cmp.Compare(a.id, b.id))
	})
	d.cls.published = rows

	pl, err := d.cls.update(rules, nil)
	if err != nil {
		d.cls = newClassifier(d.cls.maxTuples, d.cls.maxEntries)
		return err
	}
	for m, t := range d.cls.tuples {
		if t.refs == 0 { // live shapes no rule of s has
			delete(d.cls.tuples, m)
		}
	}
	var fresh []dataplane.PDRID
	for id := range rules {
		if _, ok := live[uint32(id)]; !ok {
			fresh = append(fresh, id)
		}
	}
	slices.Sort(fresh)
	if err := d.resetPDRCounters(fresh); err != nil {
		return err
	}
	if err := d.apply(pl); err != nil {
		return err
	}
	if odd {
		d.rows4, d.rows6 = nil, nil // rewrite both lists whatever Go last wrote
		if err := d.writeTuples(d.cls.published); err != nil {
			return err
		}
	}
	d.ids.Reset(rules)

	// Rules the kernel holds beyond s: retired lowest priority first.
	var extra []uint32
	for id := range live {
		if _, ok := rules[dataplane.PDRID(id)]; !ok {
			extra = append(extra, id)
		}
	}
	slices.SortFunc(extra, func(a, b uint32) int {
		return cmp.Or(cmp.Compare(live[a].Priority, live[b].Priority), cmp.Compare(a, b))
	})
	for _, id := range extra {
		if err := d.objs.PdrRules.Put(id, linxPdrRule{}); err != nil {
			return fmt.Errorf("retire pdr %d: %w", id, err)
		}
	}
	if len(extra) > 0 {
		if err := d.bumpGen(); err != nil {
			return err
		}
	}
	// Then the classifier entries no rule of s owns.
	keep := make(map[linxPdrKey]bool, d.cls.entries.len())
	for k := range d.cls.entries.keys() {
		if !k.val.v6 {
			keep[kernelKey(k)] = true
		}
	}
	keys, err := mapKeys[linxPdrKey](d.objs.PdrEntries, d.opts.MaxPDRs*entriesPerPDR)
	if err != nil {
		return fmt.Errorf("read pdr entries: %w", err)
	}
	for _, k := range keys {
		if keep[k] {
			continue
		}
		if err := d.objs.PdrEntries.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete stale pdr entry: %w", err)
		}
	}
	keep6 := make(map[linxPdr6Key]bool)
	for k := range d.cls.entries.keys() {
		if k.val.v6 {
			keep6[kernelKey6(k)] = true
		}
	}
	keys6, err := mapKeys[linxPdr6Key](d.objs.Pdr6Entries, d.opts.MaxPDRs*entriesPerPDR)
	if err != nil {
		return fmt.Errorf("read pdr6 entries: %w", err)
	}
	for _, k := range keys6 {
		if keep6[k] {
			continue
		}
		if err := d.objs.Pdr6Entries.Delete(k); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete stale pdr6 entry: %w", err)
		}
	}
	// pdr_entries now holds exactly the classifier's keys: drop the filter bits
	// of the ones removed (and of anything an earlier build left).
	return d.bloomRebuild()
}

// removeExtraObjects deletes the terminations, local addresses, FARs, LBRs,
// tunnels and non_ip rules (with their counters) the kernel holds beyond s.
func (d *Dataplane) removeExtraObjects(s dataplane.RestoreState) error {
	var errs []error
	del := func(m *ebpf.Map, key any, what string) {
		if err := m.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			errs = append(errs, fmt.Errorf("delete %s: %w", what, err))
		}
	}
	want := make(map[linxTermKey]bool, len(s.Terms))
	want6 := make(map[linxTerm6Key]bool, len(s.Terms))
	for term := range s.Terms {
		if term.Local.Is4() {
			want[kernelTerm(term)] = true
		} else {
			want6[kernelTerm6(term)] = true
		}
	}
	terms, err := mapKeys[linxTermKey](d.objs.TunnelTerms, d.opts.MaxTerms)
	errs = append(errs, err)
	for _, k := range terms {
		if !want[k] {
			del(d.objs.TunnelTerms, k, "stale tunnel termination")
		}
	}
	terms6, err := mapKeys[linxTerm6Key](d.objs.TunnelTerms6, d.opts.MaxTerms)
	errs = append(errs, err)
	for _, k := range terms6 {
		if !want6[k] {
			del(d.objs.TunnelTerms6, k, "stale tunnel termination")
		}
	}
	locals, err := mapKeys[uint32](d.objs.TunnelLocals, d.opts.MaxTerms)
	errs = append(errs, err)
	for _, a := range locals {
		if _, ok := d.locals[dataplane.AddrFrom4(hton32(a))]; !ok {
			del(d.objs.TunnelLocals, a, "stale local tunnel address")
		}
	}
	locals6, err := mapKeys[linxAddr6](d.objs.TunnelLocals6, d.opts.MaxTerms)
	errs = append(errs, err)
	for _, a := range locals6 {
		if _, ok := d.locals[addrFromKernel6(a.A)]; !ok {
			del(d.objs.TunnelLocals6, a, "stale local tunnel address")
		}
	}
	fars, err := mapKeys[uint32](d.objs.Fars, d.opts.MaxFARs)
	errs = append(errs, err)
	for _, id := range fars {
		if _, ok := s.FARs[dataplane.FARID(id)]; !ok {
			del(d.objs.Fars, id, fmt.Sprintf("stale far %d", id))
		}
	}
	lbrs, err := mapKeys[uint32](d.objs.Lbrs, d.opts.MaxLBRs)
	errs = append(errs, err)
	for _, id := range lbrs {
		if _, ok := s.LBRs[dataplane.LBRID(id)]; !ok {
			del(d.objs.Lbrs, id, fmt.Sprintf("stale lbr %d", id))
		}
	}
	for id := uint32(0); id < uint32(d.opts.MaxTunnels); id++ {
		if _, ok := s.Tunnels[dataplane.TunnelID(id)]; ok {
			continue
		}
		var v linxTunnel
		if d.objs.Tunnels.Lookup(id, &v) == nil && v.Flags&uint8(linxTunnelFlagsTUNNEL_F_PRESENT) != 0 {
			if err := d.objs.Tunnels.Put(id, linxTunnel{}); err != nil {
				errs = append(errs, fmt.Errorf("delete stale tunnel %d: %w", id, err))
			}
			errs = append(errs, d.zeroTunnelCounter(dataplane.TunnelID(id)), d.forgetNexthop(dataplane.TunnelID(id)))
		}
	}
	// Rules first, then counters, including counters left without a rule.
	nonIP, err := mapKeys[uint16](d.objs.NonIpRules, dataplane.MaxNonIPRules)
	errs = append(errs, err)
	for _, k := range nonIP {
		if _, ok := s.NonIP[hton16(k)]; !ok {
			del(d.objs.NonIpRules, k, fmt.Sprintf("stale non_ip rule %#04x", hton16(k)))
		}
	}
	nonIPCounters, err := mapKeys[uint16](d.objs.NonIpCounters, dataplane.MaxNonIPRules)
	errs = append(errs, err)
	for _, k := range nonIPCounters {
		if _, ok := s.NonIP[hton16(k)]; !ok {
			del(d.objs.NonIpCounters, k, fmt.Sprintf("counter of stale non_ip rule %#04x", hton16(k)))
		}
	}
	return errors.Join(errs...)
}

// mapKeys lists the keys of a hash map (at most limit of them).
// liveRules reads the live rules of pdr_rules (an array: priority 0 is none).
func liveRules(m *ebpf.Map) (map[uint32]linxPdrRule, error) {
	live := map[uint32]linxPdrRule{}
	var (
		id uint32
		r  linxPdrRule
	)
	it := m.Iterate()
	for it.Next(&id, &r) {
		if r.Priority != 0 {
			live[id] = r
		}
	}
	return live, it.Err()
}

func mapKeys[K any](m *ebpf.Map, limit int) ([]K, error) {
	var out []K
	var prev any // nil: from the start
	for {
		var next K
		err := m.NextKey(prev, &next)
		if errors.Is(err, ebpf.ErrKeyNotExist) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, next)
		if len(out) > limit {
			return nil, fmt.Errorf("map %v holds more than %d keys", m, limit)
		}
		prev = next
	}
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
