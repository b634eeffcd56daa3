package xdp

// FAR meters and QoS policies (bpf/meter.h): the token buckets live in the
// shared meters array (one spin-locked value per meter), their per-color counts
// in meter_counters, each FAR's color policy in far_qos.

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/linx-sdwan/linx/dataplane"
)

// meterSlot is id's index in meters and meter_counters.
func (d *Dataplane) meterSlot(id dataplane.MeterID) (uint32, error) {
	if err := dataplane.ValidateMeterIndex(id.FAR, d.opts.MaxMeters); err != nil {
		return 0, err
	}
	if id.Unit > dataplane.MeterPackets {
		return 0, fmt.Errorf("%w: meter unit %d", dataplane.ErrInvalid, id.Unit)
	}
	return uint32(id.Unit)*uint32(d.opts.MaxMeters) + uint32(id.FAR), nil
}

// kernelMeter is c as the data path runs it, buckets full. Tokens are units x
// 1e9, so that a refill is rate x elapsed ns; fill is the time that fills an
// empty bucket, which bounds that product (see bpf/meter.h).
func kernelMeter(u dataplane.MeterUnit, c dataplane.MeterConfig) linxMeter {
	if c.IsDefault() {
		return linxMeter{}
	}
	const ns = 1_000_000_000
	fill := func(capacity, rate uint64) uint64 { return (capacity + rate - 1) / rate }
	m := linxMeter{
		Mode:  uint8(linxMeterModeMETER_TRTCM),
		Rate1: c.CIR, Rate2: c.PIR,
		Cap1: c.CBurst * ns, Cap2: c.PBurst * ns,
	}
	if u == dataplane.MeterPackets {
		m.Packets = 1
	}
	m.Fill1, m.Fill2 = fill(m.Cap1, m.Rate1), fill(m.Cap2, m.Rate2)
	if c.SingleRate() {
		m.Mode = uint8(linxMeterModeMETER_SRTCM)
		m.Rate2 = 0
		m.Cap2 = c.EBurst * ns
		m.Fill1, m.Fill2 = fill(m.Cap1+m.Cap2, m.Rate1), 0
	}
	m.Tok1, m.Tok2 = m.Cap1, m.Cap2
	return m
}

// SetMeter configures a FAR meter (buckets full) or, with the default config,
// resets it; its counters are kept. The generation bump makes cached flows of
// the FAR pick the change up.
func (d *Dataplane) SetMeter(id dataplane.MeterID, c dataplane.MeterConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	slot, err := d.meterSlot(id)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.objs.Meters.Update(slot, kernelMeter(id.Unit, c), ebpf.UpdateLock); err != nil {
		return fmt.Errorf("write %s meter %d: %w", id.Unit, id.FAR, err)
	}
	if c.IsDefault() {
		delete(d.meters, id)
	} else {
		d.meters[id] = c
		d.counted[id] = true
	}
	return d.bumpGen()
}

// MeterIDs lists the configured meters (for metrics), by unit then FAR.
func (d *Dataplane) MeterIDs() []dataplane.MeterID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return dataplane.SortedMeterIDs(d.meters)
}

var _ dataplane.MeterLister = (*Dataplane)(nil)

// PDRMeterIDs lists the rules with a configured direct meter (for metrics
// and gNMI), by id.
func (d *Dataplane) PDRMeterIDs() []dataplane.PDRID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return dataplane.SortedPDRMeterIDs(d.pdrMeters)
}

// MeterCounters reads a meter's per-color counts, summed over CPUs. A meter
// never configured since the counters were zeroed counts nothing: it reads
// zero without a syscall (a wildcard read of every cell costs one per
// configured meter, not one per cell).
func (d *Dataplane) MeterCounters(id dataplane.MeterID) (dataplane.MeterCounters, error) {
	slot, err := d.meterSlot(id)
	if err != nil {
		return dataplane.MeterCounters{}, err
	}
	d.mu.Lock()
	counted := d.counted[id]
	d.mu.Unlock()
	if !counted {
		return dataplane.MeterCounters{}, nil
	}
	c, err := sumMeterStats(d.objs.MeterCounters, slot)
	if err != nil {
		return c, fmt.Errorf("%s meter %d: %w", id.Unit, id.FAR, err)
	}
	return c, nil
}

// SetFARQoS writes what each color does to a FAR's packets; DefaultQoS clears
// the entry (the data path's default is the same policy).
func (d *Dataplane) SetFARQoS(id dataplane.FARID, q dataplane.QoSPolicy) error {
	if err := q.Validate(); err != nil {
		return err
	}
	if err := dataplane.ValidateMeterIndex(id, d.opts.MaxMeters); err != nil {
		return err
	}
	v := kernelQoS(q)
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.objs.FarQos.Put(uint32(id), v); err != nil {
		return fmt.Errorf("write far %d qos: %w", id, err)
	}
	return d.bumpGen()
}

// kernelQoS is q as far_qos holds it: DefaultQoS is an entry without Set,
// which the data path reads as its built-in policy.
func kernelQoS(q dataplane.QoSPolicy) linxQosPolicy {
	v := linxQosPolicy{}
	if q != dataplane.DefaultQoS {
		v.Set = 1
		for i, c := range []dataplane.ColorPolicy{q.Green, q.Yellow, q.Red} {
			v.Act[i], v.Dscp[i] = uint8(c.Action), c.DSCP
		}
	}
	return v
}

// clearMeters resets every meter, its counters and every QoS policy (Clear),
// in three batch writes.
func (d *Dataplane) clearMeters() error {
	n := 2 * d.opts.MaxMeters
	keys := make([]uint32, n)
	for i := range keys {
		keys[i] = uint32(i)
	}
	if _, err := d.objs.Meters.BatchUpdate(keys, make([]linxMeter, n), &ebpf.BatchOptions{ElemFlags: uint64(ebpf.UpdateLock)}); err != nil {
		return fmt.Errorf("reset meters: %w", err)
	}
	if _, err := d.objs.MeterCounters.BatchUpdate(keys, make([]linxMeterStats, n*ebpf.MustPossibleCPU()), nil); err != nil {
		return fmt.Errorf("reset meter counters: %w", err)
	}
	if _, err := d.objs.FarQos.BatchUpdate(keys[:d.opts.MaxMeters], make([]linxQosPolicy, d.opts.MaxMeters), nil); err != nil {
		return fmt.Errorf("reset qos policies: %w", err)
	}
	clear(d.meters)
	clear(d.counted)
	for id := range d.pdrCounted {
		if err := d.forgetPDRMeter(id); err != nil {
			return err
		}
	}
	return nil
}

// sameConfig reports whether two kernel meters have the same configuration,
// whatever their buckets and clock.
func sameConfig(a, b linxMeter) bool {
	a.Lock, a.Last, a.Tok1, a.Tok2 = b.Lock, b.Last, b.Tok1, b.Tok2
	return a == b
}

// restoreMeters makes every meter slot and QoS policy what s says (Restore):
// a meter the kernel already runs with the same config keeps its buckets and
// counters, so a restarted agent does not hand out a fresh burst.
func (d *Dataplane) restoreMeters(s dataplane.RestoreState) error {
	n := d.opts.MaxMeters
	for unit := range 2 {
		for far := range n {
			id := dataplane.MeterID{Unit: dataplane.MeterUnit(unit), FAR: dataplane.FARID(far)}
			slot, _ := d.meterSlot(id)
			want := kernelMeter(id.Unit, s.Meters[id])
			var have linxMeter
			if err := d.objs.Meters.LookupWithFlags(slot, &have, ebpf.LookupLock); err != nil {
				return fmt.Errorf("read meter slot %d: %w", slot, err)
			}
			if c := s.Meters[id]; !c.IsDefault() {
				d.meters[id] = c
			}
			d.counted[id] = true // a pinned data path may hold counts of any cell
			if sameConfig(have, want) {
				continue
			}
			if err := d.objs.Meters.Update(slot, want, ebpf.UpdateLock); err != nil {
				return fmt.Errorf("write %s meter %d: %w", id.Unit, id.FAR, err)
			}
		}
	}
	keys := make([]uint32, n)
	vals := make([]linxQosPolicy, n)
	for i := range keys {
		keys[i] = uint32(i)
		q, ok := s.QoS[dataplane.FARID(i)]
		if !ok {
			q = dataplane.DefaultQoS
		}
		vals[i] = kernelQoS(q)
	}
	if _, err := d.objs.FarQos.BatchUpdate(keys, vals, nil); err != nil {
		return fmt.Errorf("write qos policies: %w", err)
	}
	return nil
}

// SetPDRMeter configures rule id's direct meter (pdr_meter; buckets full) or,
// with the default config, resets it; its counters are kept while the rule
// lives. A rule that does not exist is ErrNotFound.
func (d *Dataplane) SetPDRMeter(id dataplane.PDRID, c dataplane.MeterConfig) error {
	if err := c.Validate(); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cls.rule(id) == nil {
		return fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
	}
	if err := d.objs.PdrMeters.Update(uint32(id), kernelMeter(dataplane.MeterBytes, c), ebpf.UpdateLock); err != nil {
		return fmt.Errorf("write pdr %d meter: %w", id, err)
	}
	if c.IsDefault() {
		delete(d.pdrMeters, id)
	} else {
		d.pdrMeters[id] = c
		d.pdrCounted[id] = true
	}
	return d.bumpGen()
}

// PDRMeterCounters reads rule id's direct meter's per-color counts.
func (d *Dataplane) PDRMeterCounters(id dataplane.PDRID) (dataplane.MeterCounters, error) {
	d.mu.Lock()
	ok := d.cls.rule(id) != nil
	counted := d.pdrCounted[id]
	d.mu.Unlock()
	if !ok {
		return dataplane.MeterCounters{}, fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
	}
	if !counted {
		return dataplane.MeterCounters{}, nil
	}
	return sumMeterStats(d.objs.PdrMeterCounters, uint32(id))
}

// forgetPDRMeter resets a deleted rule's direct meter and its counters, so
// that the id's next rule starts with the default (mu held).
func (d *Dataplane) forgetPDRMeter(id dataplane.PDRID) error {
	if !d.pdrCounted[id] {
		return nil
	}
	if err := d.objs.PdrMeters.Update(uint32(id), linxMeter{}, ebpf.UpdateLock); err != nil {
		return fmt.Errorf("reset pdr %d meter: %w", id, err)
	}
	if err := d.objs.PdrMeterCounters.Put(uint32(id), make([]linxMeterStats, ebpf.MustPossibleCPU())); err != nil {
		return fmt.Errorf("reset pdr %d meter counters: %w", id, err)
	}
	delete(d.pdrMeters, id)
	delete(d.pdrCounted, id)
	return nil
}

// sumMeterStats sums a per-CPU meter_stats cell.
func sumMeterStats(m *ebpf.Map, key uint32) (dataplane.MeterCounters, error) {
	var per []linxMeterStats
	if err := m.Lookup(key, &per); err != nil {
		return dataplane.MeterCounters{}, fmt.Errorf("read meter counters %d: %w", key, err)
	}
	var out [3]dataplane.Counter
	for _, v := range per {
		for i := range out {
			out[i].Packets += v.Color[i].Packets
			out[i].Bytes += v.Color[i].Bytes
		}
	}
	return dataplane.MeterCounters{Green: out[0], Yellow: out[1], Red: out[2]}, nil
}

// restorePDRMeters makes every rule's direct meter what s says (Restore): a
// slot the kernel runs with the same config keeps its buckets and counts;
// slots of rules not in s are reset (a pinned data path may hold them).
func (d *Dataplane) restorePDRMeters(s dataplane.RestoreState) error {
	for id := range uint32(d.opts.MaxPDRs + 1) {
		c := s.PDRMeters[dataplane.PDRID(id)]
		want := kernelMeter(dataplane.MeterBytes, c)
		var have linxMeter
		if err := d.objs.PdrMeters.LookupWithFlags(id, &have, ebpf.LookupLock); err != nil {
			return fmt.Errorf("read pdr meter %d: %w", id, err)
		}
		if !c.IsDefault() {
			d.pdrMeters[dataplane.PDRID(id)] = c
			d.pdrCounted[dataplane.PDRID(id)] = true
		} else if have.Mode != 0 {
			d.pdrCounted[dataplane.PDRID(id)] = true // counts of a rule of the earlier process
		}
		if sameConfig(have, want) {
			continue
		}
		if err := d.objs.PdrMeters.Update(id, want, ebpf.UpdateLock); err != nil {
			return fmt.Errorf("write pdr meter %d: %w", id, err)
		}
	}
	return nil
}
