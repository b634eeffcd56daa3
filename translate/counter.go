package translate

import (
	"math"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// EncodeCounterData returns the CounterData of c. Counts above 2^63-1 (P4Runtime
// counts are int64) saturate.
func EncodeCounterData(c dataplane.Counter) *p4v1.CounterData {
	return &p4v1.CounterData{ByteCount: saturate(c.Bytes), PacketCount: saturate(c.Packets)}
}

func saturate(v uint64) int64 {
	if v > math.MaxInt64 {
		return math.MaxInt64
	}
	return int64(v)
}

// DecodeCounterData decodes counter values written by a controller; negative
// counts are INVALID_ARGUMENT.
func DecodeCounterData(d *p4v1.CounterData) (dataplane.Counter, error) {
	if d.GetByteCount() < 0 || d.GetPacketCount() < 0 {
		return dataplane.Counter{}, invalidf("negative counter value (%d bytes, %d packets)", d.GetByteCount(), d.GetPacketCount())
	}
	return dataplane.Counter{Packets: uint64(d.GetPacketCount()), Bytes: uint64(d.GetByteCount())}, nil
}

// unitData keeps the counts a counter unit counts.
func unitData(c dataplane.Counter, unit p4configv1.CounterSpec_Unit) *p4v1.CounterData {
	d := EncodeCounterData(c)
	switch unit {
	case p4configv1.CounterSpec_BYTES:
		d.PacketCount = 0
	case p4configv1.CounterSpec_PACKETS:
		d.ByteCount = 0
	}
	return d
}

// CounterCell is a decoded CounterEntry.
type CounterCell struct {
	Counter uint32 // counter ID (p4info.IDCounter*)
	All     bool   // index unset: every cell of the counter
	Index   int64  // the cell, 0..size-1, when !All
	// Data is the value written, nil when unset (reads, or a MODIFY that does not
	// change the value).
	Data *dataplane.Counter
}

// DecodeCounterEntry decodes a CounterEntry of a read or a MODIFY: an unknown
// counter ID (0 included: a wildcard over all counters is the server's to expand)
// is NOT_FOUND, a negative index INVALID_ARGUMENT and an index at or above the
// counter's size OUT_OF_RANGE, as the specification's CounterEntry section
// requires; negative counts are INVALID_ARGUMENT.
func (t *Translator) DecodeCounterEntry(e *p4v1.CounterEntry) (CounterCell, error) {
	if e == nil {
		return CounterCell{}, invalidf("no counter entry")
	}
	c, ok := t.idx.Counter(e.GetCounterId())
	if !ok {
		return CounterCell{}, Errorf(codes.NotFound, "unknown counter id 0x%08x", e.GetCounterId())
	}
	cell := CounterCell{Counter: c.ID(), All: e.GetIndex() == nil}
	if !cell.All {
		i, err := checkIndex(c, e.GetIndex().GetIndex())
		if err != nil {
			return CounterCell{}, err
		}
		cell.Index = i
	}
	if d := e.GetData(); d != nil {
		v, err := DecodeCounterData(d)
		if err != nil {
			return CounterCell{}, prefixed("counter "+c.Name(), err)
		}
		cell.Data = &v
	}
	return cell, nil
}

func checkIndex(c *p4info.Counter, i int64) (int64, error) {
	switch {
	case i < 0:
		return 0, invalidf("counter %s: negative index %d", c.Name(), i)
	case i >= c.Size():
		return 0, Errorf(codes.OutOfRange, "counter %s: index %d out of range 0..%d", c.Name(), i, c.Size()-1)
	}
	return i, nil
}

// EncodeCounterEntry returns the CounterEntry of one cell, as reads return it
// (only the counts the counter's unit counts are set).
func (t *Translator) EncodeCounterEntry(counter uint32, index int64, v dataplane.Counter) (*p4v1.CounterEntry, error) {
	c, ok := t.idx.Counter(counter)
	if !ok {
		return nil, Errorf(codes.NotFound, "unknown counter id 0x%08x", counter)
	}
	if _, err := checkIndex(c, index); err != nil {
		return nil, err
	}
	return &p4v1.CounterEntry{CounterId: counter, Index: &p4v1.Index{Index: index}, Data: unitData(v, c.Unit())}, nil
}

// CounterSize returns the number of cells of an indirect counter.
func (t *Translator) CounterSize(counter uint32) (int64, error) {
	c, ok := t.idx.Counter(counter)
	if !ok {
		return 0, Errorf(codes.NotFound, "unknown counter id 0x%08x", counter)
	}
	return c.Size(), nil
}

// DecodeDirectCounterEntry decodes a DirectCounterEntry of a read or a MODIFY: the
// key of the table entry it belongs to (see DecodeKey; the table must have a
// direct counter) and the value written, nil when unset. A table_entry without
// match and not default is a wildcard over the table, for the server to expand;
// pass only entries that name one entry.
func (t *Translator) DecodeDirectCounterEntry(e *p4v1.DirectCounterEntry) (Key, *dataplane.Counter, error) {
	if e.GetTableEntry() == nil {
		return Key{}, nil, invalidf("direct counter entry without table_entry")
	}
	tab, err := t.table(e.GetTableEntry().GetTableId())
	if err != nil {
		return Key{}, nil, err
	}
	if tab.DirectCounter() == nil {
		return Key{}, nil, invalidf("table %s has no direct counter", tab.Name())
	}
	k, err := t.DecodeKey(e.GetTableEntry())
	if err != nil {
		return Key{}, nil, err
	}
	if e.GetData() == nil {
		return k, nil, nil
	}
	v, err := DecodeCounterData(e.GetData())
	if err != nil {
		return Key{}, nil, prefixed("direct counter "+tab.DirectCounter().Name(), err)
	}
	return k, &v, nil
}

// EncodeDirectCounterEntry returns the DirectCounterEntry of the entry with key k:
// its canonical key and value.
func (t *Translator) EncodeDirectCounterEntry(k Key, v dataplane.Counter) (*p4v1.DirectCounterEntry, error) {
	te, err := t.EncodeKey(k)
	if err != nil {
		return nil, err
	}
	tab, _ := t.idx.Table(k.Table)
	dc := tab.DirectCounter()
	if dc == nil {
		return nil, Errorf(internal, "table %s has no direct counter", tab.Name())
	}
	return &p4v1.DirectCounterEntry{TableEntry: te, Data: unitData(v, dc.Unit())}, nil
}

// DirectCounterData returns the counter_data of an entry of the given table as
// reads return it (only the counts the direct counter's unit counts are set).
func (t *Translator) DirectCounterData(table uint32, v dataplane.Counter) (*p4v1.CounterData, error) {
	tab, err := t.table(table)
	if err != nil {
		return nil, err
	}
	dc := tab.DirectCounter()
	if dc == nil {
		return nil, invalidf("table %s has no direct counter", tab.Name())
	}
	return unitData(v, dc.Unit()), nil
}
