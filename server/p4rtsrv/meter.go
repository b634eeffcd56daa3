package p4rtsrv

import (
	"errors"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// Meters (far_meter, far_packet_meter): the server keeps each configured
// cell's config (reads return it as written, and it is persisted); the data
// path runs them and counts colors.

// writeMeter sets meter cells (MODIFY only, as the specification says): a
// config, or none to reset the cell to the default (every packet green).
// counter_data in a write is ignored: the per-color counts are the data
// path's.
func (s *Server) writeMeter(op p4v1.Update_Type, me *p4v1.MeterEntry) error {
	if op != p4v1.Update_MODIFY {
		return status.Errorf(codes.InvalidArgument, "meter entries can only be modified, not %v", op)
	}
	cell, err := s.tr.DecodeMeterEntry(me)
	if err != nil {
		return err
	}
	set := func(i int64) error {
		id, _ := translate.MeterOf(cell.Meter, i)
		if err := s.dp.SetMeter(id, cell.Config); err != nil {
			return err
		}
		if cell.Config.IsDefault() {
			delete(s.st.meters, id)
		} else {
			s.st.meters[id] = cell.Config
		}
		return nil
	}
	if !cell.All {
		return set(cell.Index)
	}
	size, err := s.tr.MeterSize(cell.Meter)
	if err != nil {
		return err
	}
	for i := range size {
		if err := set(i); err != nil {
			return err
		}
	}
	return nil
}

// readMeters returns the cells a MeterEntry names (every meter for meter_id
// 0, every cell without an index), each with its config (unset: default) and
// its per-color counts.
func (s *Server) readMeters(me *p4v1.MeterEntry) ([]*p4v1.Entity, error) {
	ids := s.tr.MeterIDs()
	if me.GetMeterId() != 0 {
		ids = []uint32{me.GetMeterId()}
	}
	var out []*p4v1.Entity
	for _, id := range ids {
		cell, err := s.tr.DecodeMeterEntry(&p4v1.MeterEntry{MeterId: id, Index: me.GetIndex()})
		if err != nil {
			return nil, err
		}
		first, last := cell.Index, cell.Index
		if cell.All {
			size, err := s.tr.MeterSize(id)
			if err != nil {
				return nil, err
			}
			first, last = 0, size-1
		}
		for i := first; i <= last; i++ {
			mid, _ := translate.MeterOf(id, i)
			c, err := s.dp.MeterCounters(mid)
			if err != nil && !errors.Is(err, dataplane.ErrNotFound) {
				return nil, err
			}
			e, err := s.tr.EncodeMeterEntry(id, i, s.st.meters[mid], &c)
			if err != nil {
				return nil, err
			}
			out = append(out, &p4v1.Entity{Entity: &p4v1.Entity_MeterEntry{MeterEntry: e}})
		}
	}
	return out, nil
}

// meterEntity is the persisted form of a meter cell now: INSERT of its config,
// or DELETE when it is the default.
func (s *Server) meterUpdate(id dataplane.MeterID) *p4v1.Update {
	me := &p4v1.MeterEntry{MeterId: translate.P4Meter(id), Index: &p4v1.Index{Index: int64(id.FAR)}}
	c, ok := s.st.meters[id]
	if !ok {
		return &p4v1.Update{Type: p4v1.Update_DELETE, Entity: &p4v1.Entity{Entity: &p4v1.Entity_MeterEntry{MeterEntry: me}}}
	}
	me.Config = translate.EncodeMeterConfig(c)
	return &p4v1.Update{Type: p4v1.Update_INSERT, Entity: &p4v1.Entity{Entity: &p4v1.Entity_MeterEntry{MeterEntry: me}}}
}

// replayMeter applies a persisted meter record to the store.
func (s *Server) replayMeter(put bool, me *p4v1.MeterEntry) error {
	if !put {
		me = &p4v1.MeterEntry{MeterId: me.GetMeterId(), Index: me.GetIndex()}
	}
	cell, err := s.tr.DecodeMeterEntry(me)
	if err != nil {
		return err
	}
	if cell.All {
		return errors.New("meter record without an index")
	}
	if put {
		s.st.meters[cell.ID()] = cell.Config
	} else {
		delete(s.st.meters, cell.ID())
	}
	return nil
}

// Direct meters (pdr_meter): each pdr entry's config is kept on the stored
// entry (stored.meter), the data path runs it under the rule's id.

// writeDirectMeter sets a pdr entry's direct meter (MODIFY only): a config,
// or none to reset it.
func (s *Server) writeDirectMeter(op p4v1.Update_Type, dme *p4v1.DirectMeterEntry) error {
	if op != p4v1.Update_MODIFY {
		return status.Errorf(codes.InvalidArgument, "direct meter entries can only be modified, not %v", op)
	}
	k, c, err := s.tr.DecodeDirectMeterEntry(dme)
	if err != nil {
		return err
	}
	st, ok := s.st.entries.get(k)
	if !ok {
		return status.Error(codes.NotFound, "no such table entry")
	}
	if err := s.dp.SetPDRMeter(st.pdr, c); err != nil {
		return err
	}
	st.setMeter(c)
	return nil
}

// readDirectMeters returns the direct meter of the entry a DirectMeterEntry
// names, or of every pdr entry when its table_entry has no match (table_id
// 0 or pdr), each with its config (unset: default) and per-color counts.
func (s *Server) readDirectMeters(dme *p4v1.DirectMeterEntry) ([]*p4v1.Entity, error) {
	te := dme.GetTableEntry()
	if te == nil {
		return nil, status.Error(codes.InvalidArgument, "direct meter entry without table_entry")
	}
	var sts []*stored
	if len(te.Match) == 0 && !te.IsDefaultAction {
		if te.TableId != 0 && te.TableId != p4info.IDTablePDR {
			return nil, status.Errorf(codes.InvalidArgument, "table 0x%08x has no direct meter", te.TableId)
		}
		sts = s.sortedEntries([]uint32{p4info.IDTablePDR})
	} else {
		k, _, err := s.tr.DecodeDirectMeterEntry(&p4v1.DirectMeterEntry{TableEntry: te})
		if err != nil {
			return nil, err
		}
		st, ok := s.st.entries.get(k)
		if !ok {
			return nil, nil
		}
		sts = []*stored{st}
	}
	var out []*p4v1.Entity
	for _, st := range sts {
		c, err := s.dp.PDRMeterCounters(st.pdr)
		if err != nil {
			return nil, err
		}
		e, err := s.tr.EncodeDirectMeterEntry(st.key(), st.meter(), &c)
		if err != nil {
			return nil, err
		}
		out = append(out, &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: e}})
	}
	return out, nil
}

// directMeterUpdate is the persisted form of key's direct meter now: INSERT
// of its config, or DELETE (default, or no entry).
func (s *Server) directMeterUpdate(key translate.Key) (*p4v1.Update, error) {
	te, err := s.tr.EncodeKey(key)
	if err != nil {
		return nil, err
	}
	dme := &p4v1.DirectMeterEntry{TableEntry: te}
	st, ok := s.st.entries.get(key)
	if !ok || st.meter().IsDefault() {
		return &p4v1.Update{Type: p4v1.Update_DELETE, Entity: &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: dme}}}, nil
	}
	dme.Config = translate.EncodeMeterConfig(st.meter())
	return &p4v1.Update{Type: p4v1.Update_INSERT, Entity: &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: dme}}}, nil
}

// replayDirectMeter applies a persisted direct meter record to the store; a
// record of an entry deleted since is ignored.
func (s *Server) replayDirectMeter(put bool, dme *p4v1.DirectMeterEntry) error {
	probe := &p4v1.DirectMeterEntry{TableEntry: dme.GetTableEntry()}
	if put {
		probe.Config = dme.GetConfig()
	}
	k, c, err := s.tr.DecodeDirectMeterEntry(probe)
	if err != nil {
		return err
	}
	if st, ok := s.st.entries.get(k); ok {
		st.setMeter(c)
	}
	return nil
}
