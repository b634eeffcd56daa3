package p4rtsrv

import (
	"errors"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
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
