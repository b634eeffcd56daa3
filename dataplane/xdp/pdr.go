package xdp

// PDRs: installing, modifying and deleting rules through the classifier's plans,
// in the map order that keeps every update atomic for packets.

import (
	"cmp"
	"errors"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// InsertPDR installs one rule.
func (d *Dataplane) InsertPDR(p dataplane.PDR) (dataplane.PDRID, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	ids, err := d.InsertPDRs([]dataplane.PDR{p})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// InsertPDRs installs rules in one batch: each rule becomes live atomically (the
// batch as a whole does not). Either every rule is installed or none.
func (d *Dataplane) InsertPDRs(ps []dataplane.PDR) ([]dataplane.PDRID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, p := range ps {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("pdr %d of batch: %w", i, err)
		}
	}
	if d.cls.nrules+len(ps) > d.opts.MaxPDRs {
		return nil, fmt.Errorf("%w: %d PDRs installed, capacity %d", dataplane.ErrFull, d.cls.nrules, d.opts.MaxPDRs)
	}
	// A rule's key (match and priority) is refused when installed already (the
	// classifier finds it, no index of its own) or twice in the batch.
	if err := d.checkNew(ps); err != nil {
		return nil, err
	}
	ins := make([]insertion, len(ps))
	ids := make([]dataplane.PDRID, len(ps))
	fail := func(n int, err error) ([]dataplane.PDRID, error) {
		d.ids.Release(ids[:n]...)
		return nil, err
	}
	for i, p := range ps {
		ids[i] = d.ids.Alloc()
		ins[i] = insertion{id: ids[i], pdr: p}
	}
	if !slices.IsSortedFunc(ins, func(a, b insertion) int { return cmp.Compare(a.id, b.id) }) {
		slices.SortFunc(ins, func(a, b insertion) int { return cmp.Compare(a.id, b.id) })
	}
	// The new rules' counters are zeroed while the classifier plans: the one is
	// syscalls, the other Go bookkeeping, and neither needs the other.
	reset := func() error { return d.resetPDRCounters(ids) }
	var resetDone chan error
	if len(ids) >= overlapResetMin {
		resetDone = make(chan error, 1)
		go func() { resetDone <- d.resetPDRCounters(ids) }()
		reset = func() error { return <-resetDone }
	}
	pl, err := d.cls.plan(ins, nil)
	if err != nil {
		if resetDone != nil {
			<-resetDone // zeroed counters of ids not used: harmless
		}
		return fail(len(ps), err)
	}
	if err := reset(); err != nil {
		d.cls.update(nil, ids) // forget the plan: nothing reached the classifier maps
		return fail(len(ps), err)
	}
	if err := d.apply(pl); err != nil {
		// Undo what reached the kernel; the rules never became live unless the
		// commit itself failed part-way.
		if undo, uerr := d.cls.update(nil, ids); uerr == nil {
			d.apply(undo)
		}
		return fail(len(ps), err)
	}
	return ids, d.bloomTidy()
}

// checkNew refuses a batch with a rule whose key is installed or repeated in
// the batch (ErrExists). Repeats are found by the keys' hashes, compared in
// full when two hashes are equal.
func (d *Dataplane) checkNew(ps []dataplane.PDR) error {
	exists := func(p dataplane.PDR) error {
		return fmt.Errorf("%w: pdr with this match and priority %d", dataplane.ErrExists, p.Priority)
	}
	if d.cls.nrules > 0 {
		for _, p := range ps {
			if d.cls.has(p) {
				return exists(p)
			}
		}
	}
	if len(ps) < 2 {
		return nil
	}
	seed := maphash.MakeSeed()
	seen := make(map[uint64]int32, len(ps))
	for i, p := range ps {
		h := maphash.Comparable(seed, p.Key())
		j, dup := seen[h]
		if !dup {
			seen[h] = int32(i)
			continue
		}
		if ps[j].Key() == p.Key() {
			return exists(p)
		}
		// Two keys, one hash: compare every pair of the batch's keys.
		keys := make(map[dataplane.PDRKey]bool, len(ps))
		for _, q := range ps {
			if keys[q.Key()] {
				return exists(q)
			}
			keys[q.Key()] = true
		}
		return nil
	}
	return nil
}

// overlapResetMin is the batch from which counter zeroing runs beside the
// planning (below it, a goroutine costs more than it hides).
const overlapResetMin = 256

// ModifyPDR points a rule at another FAR with one atomic map write.
func (d *Dataplane) ModifyPDR(id dataplane.PDRID, far dataplane.FARID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.cls.rule(id)
	if r == nil {
		return fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
	}
	if err := d.objs.PdrRules.Put(uint32(id), asBytesOf[pdrRuleBytes](&linxPdrRule{FarId: uint32(far), Priority: r.prio})); err != nil {
		return fmt.Errorf("modify pdr %d: %w", id, err)
	}
	r.far = far
	return d.bumpGen()
}

// DeletePDR removes a rule; it stops matching with one map write.
func (d *Dataplane) DeletePDR(id dataplane.PDRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cls.rule(id) == nil {
		return fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
	}
	pl, err := d.cls.update(nil, []dataplane.PDRID{id})
	if err != nil {
		return err
	}
	d.ids.Release(id)
	if err := d.apply(pl); err != nil {
		return err
	}
	if err := d.forgetPDRMeter(id); err != nil {
		return err
	}
	return d.bloomTidy()
}

// clearPDRs removes every rule in the order a plan deleting them all would
// use, without planning per key (a pipeline push of 100 000 rules would make
// tens of megabytes of plan): the rules are retired lowest priority first, so
// that no packet meets a lower rule of those going while a higher one still
// matches it; the generation moves; then every entry goes and both tuple
// lists are emptied, and the classifier starts afresh.
func (d *Dataplane) clearPDRs() error {
	c := d.cls
	refs := make([]ruleRef, 0, c.nrules)
	for id, r := range c.all() {
		refs = append(refs, ruleRef{id, r.prio})
	}
	slices.SortFunc(refs, func(a, b ruleRef) int { return cmp.Or(cmp.Compare(a.prio, b.prio), cmp.Compare(a.id, b.id)) })
	ids := make([]uint32, len(refs))
	for i, r := range refs {
		ids[i] = uint32(r.id)
	}
	if err := batchPut(d.objs.PdrRules, ids, make([]pdrRuleBytes, len(ids))); err != nil {
		return fmt.Errorf("retire pdrs: %w", err)
	}
	if err := d.bumpGen(); err != nil {
		return err
	}
	keys := make([]linxPdrKey, 0, len(c.entries.m4))
	for k := range c.entries.m4 {
		keys = append(keys, kernelKey(k.entryKey()))
	}
	keys6 := make([]linxPdr6Key, 0, len(c.entries.m6))
	for k := range c.entries.m6 {
		keys6 = append(keys6, kernelKey6(k))
	}
	if err := batchDelete(d.objs.PdrEntries, asBytes[pdrKeyBytes](keys)); err != nil {
		return err
	}
	if err := batchDelete(d.objs.Pdr6Entries, asBytes[pdr6KeyBytes](keys6)); err != nil {
		return err
	}
	d.cls = newClassifier(c.maxTuples, c.maxEntries)
	return d.writeTuples(nil)
}

// apply performs a plan's map operations in their safe order.
func (d *Dataplane) apply(p *plan) error {
	if err := d.writeEntries(p.writesA); err != nil {
		return err
	}
	if p.tuplesA != nil {
		if err := d.writeTuples(p.tuplesA); err != nil {
			return err
		}
	}
	if len(p.commit) > 0 {
		keys := make([]uint32, len(p.commit))
		vals := make([]linxPdrRule, len(p.commit))
		for i, id := range p.commit {
			r := d.cls.rule(id)
			keys[i] = uint32(id)
			vals[i] = linxPdrRule{FarId: uint32(r.far), Priority: r.prio}
		}
		if err := batchPut(d.objs.PdrRules, keys, asBytes[pdrRuleBytes](vals)); err != nil {
			return fmt.Errorf("commit pdrs: %w", err)
		}
	}
	for _, id := range p.retire {
		if err := d.objs.PdrRules.Put(uint32(id), &pdrRuleBytes{}); err != nil {
			return fmt.Errorf("retire pdr %d: %w", id, err)
		}
	}
	if len(p.commit)+len(p.retire) > 0 {
		if err := d.bumpGen(); err != nil {
			return err
		}
	}
	if err := d.writeEntries(p.writesC); err != nil {
		return err
	}
	if err := d.deleteEntries(p.deletesC); err != nil {
		return err
	}
	if p.tuplesC != nil {
		return d.writeTuples(p.tuplesC)
	}
	return nil
}

// bumpGen invalidates every flow-cache entry: called once the change that makes
// them stale (a rule, or anything an entry's resolved action depends on) is
// written. Packets then classify and resolve afresh.
func (d *Dataplane) bumpGen() error {
	if err := d.objs.PdrGen.Put(uint32(0), d.gen+1); err != nil {
		return fmt.Errorf("bump classifier generation: %w", err)
	}
	d.gen++
	return nil
}

func (d *Dataplane) writeEntries(ws []entryWrite) error {
	if len(ws) == 0 {
		return nil
	}
	keys := make([]linxPdrKey, 0, len(ws))
	vals := make([]linxPdrEntry, 0, len(ws))
	var keys6 []linxPdr6Key
	var vals6 []linxPdrEntry
	bits := make([]uint32, 0, len(ws))
	for _, w := range ws {
		v := linxPdrEntry{Rule: [2]uint32{uint32(w.val[0]), uint32(w.val[1])}}
		bits = append(bits, d.bloomBitOf(w.key))
		if w.key.val.v6 {
			keys6 = append(keys6, kernelKey6(w.key))
			vals6 = append(vals6, v)
			continue
		}
		keys = append(keys, kernelKey(w.key))
		vals = append(vals, v)
	}
	if err := d.bloomAdd(bits); err != nil { // before the keys: a clear bit means absent
		return err
	}
	err := batchPut(d.objs.PdrEntries, asBytes[pdrKeyBytes](keys), asBytes[pdrEntryBytes](vals))
	if err == nil {
		err = batchPut(d.objs.Pdr6Entries, asBytes[pdr6KeyBytes](keys6), asBytes[pdrEntryBytes](vals6))
	}
	if err != nil {
		if errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ENOSPC) {
			return fmt.Errorf("%w: pdr entries: %v", dataplane.ErrFull, err)
		}
		return fmt.Errorf("write pdr entries: %w", err)
	}
	return nil
}

// batchPut writes keys/values with one syscall per 4096 entries, falling back to
// single updates where the kernel has no batch support for the map type. Keys
// and values of generated struct types are passed as byte arrays (asBytes).
func batchPut[K, V any](m *ebpf.Map, keys []K, vals []V) error {
	if len(keys) == 0 {
		return nil
	}
	if len(keys) == 1 {
		return m.Put(&keys[0], &vals[0]) // pointers: marshalled without a copy
	}
	for i := 0; i < len(keys); i += 4096 {
		j := min(i+4096, len(keys))
		if _, err := m.BatchUpdate(keys[i:j], vals[i:j], nil); err != nil {
			if !errors.Is(err, ebpf.ErrNotSupported) {
				return err
			}
			for k := i; k < j; k++ {
				if err := m.Put(&keys[k], &vals[k]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// deleteEntries removes keys from pdr_entries and pdr6_entries with one syscall
// per 4096 (a pipeline push clears 100 000 of them). A key already absent is
// skipped.
func (d *Dataplane) deleteEntries(ks []entryKey) error {
	var keys []linxPdrKey
	var keys6 []linxPdr6Key
	for _, k := range ks {
		if k.val.v6 {
			keys6 = append(keys6, kernelKey6(k))
		} else {
			keys = append(keys, kernelKey(k))
		}
	}
	if err := batchDelete(d.objs.PdrEntries, asBytes[pdrKeyBytes](keys)); err != nil {
		return err
	}
	return batchDelete(d.objs.Pdr6Entries, asBytes[pdr6KeyBytes](keys6))
}

// batchDelete deletes keys with one syscall per 4096, one by one where the
// kernel has no batch delete; a key already absent is skipped.
func batchDelete[K any](m *ebpf.Map, keys []K) error {
	del1 := func(i int) error {
		if err := m.Delete(&keys[i]); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete pdr entry: %w", err)
		}
		return nil
	}
	if len(keys) == 1 {
		return del1(0)
	}
	for i := 0; i < len(keys); {
		n, err := m.BatchDelete(keys[i:min(i+4096, len(keys))], nil)
		i += n
		switch {
		case err == nil:
		case errors.Is(err, ebpf.ErrNotSupported):
			for ; i < len(keys); i++ {
				if err := del1(i); err != nil {
					return err
				}
			}
		case errors.Is(err, ebpf.ErrKeyNotExist):
			i++ // the batch stopped at a key already gone
		default:
			return fmt.Errorf("delete pdr entries: %w", err)
		}
	}
	return nil
}

// writeTuples publishes the tuple list of each family whose rows changed: the
// IPv4 rows to pdr_tuple_list, the IPv6 rows to pdr6_tuple_list.
func (d *Dataplane) writeTuples(rows []tupleRow) error {
	var r4, r6 []tupleRow
	for _, r := range rows {
		if r.mask.v6 {
			r6 = append(r6, r)
		} else {
			r4 = append(r4, r)
		}
	}
	if !slices.Equal(r4, d.rows4) || d.rows4 == nil {
		var t linxPdrTuples
		t.N = uint32(len(r4))
		for i, r := range r4 {
			t.T[i] = linxPdrTuple{Mask: kernelKey(entryKey{r.id, r.mask}), MaxPrio: r.maxPrio}
		}
		next := (d.slot + 1) % uint32(d.objs.PdrTupleList.MaxEntries())
		if err := d.objs.PdrTupleList.Put(next, asBytesOf[pdrListBytes](&t)); err != nil {
			return fmt.Errorf("write pdr tuples: %w", err)
		}
		if err := d.objs.PdrTupleSlot.Put(uint32(0), next); err != nil {
			return fmt.Errorf("publish pdr tuples: %w", err)
		}
		d.slot, d.rows4 = next, append([]tupleRow{}, r4...)
	}
	if !slices.Equal(r6, d.rows6) || d.rows6 == nil {
		var t linxPdr6Tuples
		t.N = uint32(len(r6))
		for i, r := range r6 {
			t.T[i] = linxPdr6Tuple{Mask: kernelKey6(entryKey{r.id, r.mask}), MaxPrio: r.maxPrio}
		}
		next := (d.slot6 + 1) % uint32(d.objs.Pdr6TupleList.MaxEntries())
		if err := d.objs.Pdr6TupleList.Put(next, asBytesOf[pdr6ListBytes](&t)); err != nil {
			return fmt.Errorf("write pdr6 tuples: %w", err)
		}
		if err := d.objs.Pdr6TupleSlot.Put(uint32(0), next); err != nil {
			return fmt.Errorf("publish pdr6 tuples: %w", err)
		}
		d.slot6, d.rows6 = next, append([]tupleRow{}, r6...)
	}
	return nil
}

// SetPDRDefault sets the FAR of packets matching no PDR.
func (d *Dataplane) SetPDRDefault(f dataplane.FAR) error {
	if err := f.Validate(d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.writeMiss(f); err != nil {
		return err
	}
	return d.bumpGen()
}

func (d *Dataplane) writeMiss(f dataplane.FAR) error {
	if err := d.objs.PdrMiss.Put(uint32(0), kernelFAR(f)); err != nil {
		return fmt.Errorf("set pdr default: %w", err)
	}
	return nil
}
