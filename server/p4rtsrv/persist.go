package p4rtsrv

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/p4rtsrv/wire"
	"github.com/linx-sdwan/linx/translate"
)

// Persist is where a Server keeps what controllers wrote, so that after a
// restart it serves the same pipeline config (cookie included) and the same
// entries, and gives the data path back its rules. journal.Dir implements it:
// records are replayed in order (the snapshot's, then the journal's), and
// replaying records over a snapshot that already holds them does no harm.
type Persist interface {
	// Load returns every record kept, oldest first.
	Load() [][]byte
	// Append keeps one more record.
	Append(rec []byte) error
	// Compact replaces every record kept with recs.
	Compact(recs [][]byte) error
	// Pending reports the records and bytes appended since the last Compact.
	Pending() (records int, bytes int64)
}

// What is persisted. Every record is the new value of what it names, never an
// operation on the old one, so replaying it twice changes nothing:
//
//   - recPipeline: the committed and the saved (VERIFY_AND_SAVE) pipeline
//     configs, and whether the entries were cleared first (VERIFY_AND_COMMIT).
//   - recUpdates: for each entity a Write changed, its canonical form (INSERT)
//     or its key (DELETE): table entries (default entries too), action profile
//     members and groups; with the data-path id of every pdr entry put.
//
// Counter values set by controllers (offsets) are not persisted: after a
// restart counters read what the data path counted.
const (
	recPipeline byte = 1
	recUpdates  byte = 2

	pipeClear     = 1 << 0
	pipeCommitted = 1 << 1
	pipeSaved     = 1 << 2
)

// Compaction defaults: a snapshot replaces the journal after this many records,
// or this many bytes of them.
const (
	DefaultCompactEvery = 1000
	compactBytes        = 32 << 20
	snapshotChunk       = 4096 // updates per snapshot record
)

// Restored says what New took over from Options.Persist.
type Restored struct {
	Records    int    // records replayed
	Configured bool   // a pipeline config is committed
	Cookie     uint64 // its cookie
	Entries    int    // table entries (default entries not counted)
	PDRs       int    // of which pdr entries, handed back to the data path
	Members    int
	Groups     int
}

// Restored reports what New restored from Options.Persist (zero without it).
func (s *Server) Restored() Restored { return s.restored }

var marshal = proto.MarshalOptions{Deterministic: true}

func encodePipeline(clear bool, committed, saved *p4v1.ForwardingPipelineConfig) ([]byte, error) {
	var flags byte
	if clear {
		flags |= pipeClear
	}
	out := []byte{recPipeline, 0}
	for _, c := range []struct {
		cfg  *p4v1.ForwardingPipelineConfig
		flag byte
	}{{committed, pipeCommitted}, {saved, pipeSaved}} {
		var b []byte
		if c.cfg != nil {
			flags |= c.flag
			var err error
			if b, err = marshal.Marshal(c.cfg); err != nil {
				return nil, err
			}
		}
		out = binary.AppendUvarint(out, uint64(len(b)))
		out = append(out, b...)
	}
	out[1] = flags
	return out, nil
}

func encodeUpdates(ups []*p4v1.Update, pdrs []dataplane.PDRID) ([]byte, error) {
	out := []byte{recUpdates}
	out = binary.AppendUvarint(out, uint64(len(pdrs)))
	for _, id := range pdrs {
		out = binary.AppendUvarint(out, uint64(id))
	}
	b, err := marshal.Marshal(&p4v1.WriteRequest{Updates: ups})
	if err != nil {
		return nil, err
	}
	return append(out, b...), nil
}

// replay applies one record to the server's state (not to the data path).
func (s *Server) replay(rec []byte) error {
	if len(rec) == 0 {
		return errors.New("empty record")
	}
	b := rec[1:]
	switch rec[0] {
	case recPipeline:
		if len(b) < 1 {
			return errors.New("pipeline record without flags")
		}
		flags := b[0]
		b = b[1:]
		var cfgs [2]*p4v1.ForwardingPipelineConfig
		for i, flag := range []byte{pipeCommitted, pipeSaved} {
			n, k := binary.Uvarint(b)
			if k <= 0 || uint64(len(b)-k) < n {
				return errors.New("pipeline record truncated")
			}
			if flags&flag != 0 {
				cfgs[i] = &p4v1.ForwardingPipelineConfig{}
				if err := proto.Unmarshal(b[k:k+int(n)], cfgs[i]); err != nil {
					return fmt.Errorf("pipeline config: %w", err)
				}
				if cfgs[i].P4Info == nil {
					return errors.New("pipeline config without p4info")
				}
				if err := s.pipeline.Compatible(cfgs[i].P4Info); err != nil {
					return fmt.Errorf("the persisted pipeline is not this agent's: %w", err)
				}
			}
			b = b[k+int(n):]
		}
		if flags&pipeClear != 0 {
			s.resetStore()
		}
		s.config, s.saved = cfgs[0], cfgs[1]
		return nil
	case recUpdates:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return errors.New("updates record truncated")
		}
		b = b[k:]
		pdrs := make([]dataplane.PDRID, n)
		for i := range pdrs {
			v, k := binary.Uvarint(b)
			if k <= 0 {
				return errors.New("updates record truncated")
			}
			pdrs[i] = dataplane.PDRID(v)
			b = b[k:]
		}
		var req p4v1.WriteRequest
		if err := proto.Unmarshal(b, &req); err != nil {
			return fmt.Errorf("updates: %w", err)
		}
		for _, u := range req.Updates {
			if err := s.replayUpdate(u, &pdrs); err != nil {
				return err
			}
		}
		if len(pdrs) > 0 {
			return fmt.Errorf("%d pdr ids left over", len(pdrs))
		}
		return nil
	}
	return fmt.Errorf("unknown record kind %d", rec[0])
}

func (s *Server) replayUpdate(u *p4v1.Update, pdrs *[]dataplane.PDRID) error {
	put := u.Type == p4v1.Update_INSERT
	if !put && u.Type != p4v1.Update_DELETE {
		return fmt.Errorf("update type %v", u.Type)
	}
	switch e := u.GetEntity().GetEntity().(type) {
	case *p4v1.Entity_TableEntry:
		te := e.TableEntry
		if te.IsDefaultAction {
			if !put {
				delete(s.st.defaults, te.TableId)
				return nil
			}
			d, err := s.tr.DecodeTableEntry(te, p4v1.Update_MODIFY)
			if err != nil {
				return fmt.Errorf("default entry: %w", err)
			}
			s.st.defaults[d.Table] = d
			return nil
		}
		if !put {
			k, err := s.tr.DecodeKey(te)
			if err != nil {
				return fmt.Errorf("table entry key: %w", err)
			}
			s.st.entries.del(k)
			return nil
		}
		ent, err := s.tr.DecodeTableEntry(te, p4v1.Update_INSERT)
		if err != nil {
			return fmt.Errorf("table entry: %w", err)
		}
		st := newStored(ent)
		if old, ok := s.st.entries.get(ent.Key); ok {
			st.setMeter(old.meter()) // an entry's record (a MODIFY) does not carry its direct meter
		}
		if b, ok := bindings[ent.Table]; ok && b.ruleIDs {
			if len(*pdrs) == 0 {
				return errors.New("pdr entry without its data-path id")
			}
			st.pdr, *pdrs = (*pdrs)[0], (*pdrs)[1:]
		}
		s.st.entries.put(st)
	case *p4v1.Entity_ActionProfileMember:
		if !put {
			delete(s.st.members, e.ActionProfileMember.MemberId)
			return nil
		}
		m, err := s.tr.DecodeMember(e.ActionProfileMember, p4v1.Update_INSERT)
		if err != nil {
			return fmt.Errorf("member: %w", err)
		}
		s.st.members[m.ID] = m
	case *p4v1.Entity_ActionProfileGroup:
		if !put {
			delete(s.st.groups, e.ActionProfileGroup.GroupId)
			return nil
		}
		g, err := s.tr.DecodeGroup(e.ActionProfileGroup, p4v1.Update_INSERT)
		if err != nil {
			return fmt.Errorf("group: %w", err)
		}
		s.st.groups[g.ID] = g
	case *p4v1.Entity_MeterEntry:
		if err := s.replayMeter(put, e.MeterEntry); err != nil {
			return fmt.Errorf("meter: %w", err)
		}
	case *p4v1.Entity_DirectMeterEntry:
		if err := s.replayDirectMeter(put, e.DirectMeterEntry); err != nil {
			return fmt.Errorf("direct meter: %w", err)
		}
	default:
		return fmt.Errorf("entity %T", e)
	}
	return nil
}

// restore replays what Persist holds, hands the rules to the data path and
// compacts (New calls it).
func (s *Server) restore() error {
	recs := s.persist.Load()
	for i, rec := range recs {
		if err := s.replay(rec); err != nil {
			return fmt.Errorf("persisted state, record %d of %d: %w", i+1, len(recs), err)
		}
	}
	rs, err := s.restoreState()
	if err != nil {
		return fmt.Errorf("persisted state: %w", err)
	}
	if r, ok := s.dp.(dataplane.Restorer); ok {
		if err := r.Restore(rs); err != nil {
			return fmt.Errorf("hand the persisted rules back to the data path: %w", err)
		}
	} else if s.st.entries.len()+len(s.st.defaults) > 0 {
		return fmt.Errorf("the data path (%T) cannot take persisted rules back", s.dp)
	}
	s.restored = Restored{Records: len(recs), Configured: s.config != nil, Cookie: s.config.GetCookie().GetCookie(),
		Entries: s.st.entries.len(), Members: len(s.st.members), Groups: len(s.st.groups), PDRs: len(rs.PDRs)}
	return s.compactLocked()
}

// snapshot encodes the whole state as records.
func (s *Server) snapshot() ([][]byte, error) {
	var recs [][]byte
	if s.config != nil || s.saved != nil {
		r, err := encodePipeline(false, s.config, s.saved)
		if err != nil {
			return nil, err
		}
		recs = append(recs, r)
	}
	var ups []*p4v1.Update
	var pdrs []dataplane.PDRID
	flush := func() error {
		if len(ups) == 0 {
			return nil
		}
		r, err := encodeUpdates(ups, pdrs)
		if err != nil {
			return err
		}
		recs = append(recs, r)
		ups, pdrs = nil, nil
		return nil
	}
	add := func(e *p4v1.Entity, pdr dataplane.PDRID) error {
		ups = append(ups, &p4v1.Update{Type: p4v1.Update_INSERT, Entity: e})
		if pdr != 0 {
			pdrs = append(pdrs, pdr)
		}
		if len(ups) >= snapshotChunk {
			return flush()
		}
		return nil
	}
	// Members and groups before the entries that use them (replay does not care,
	// a reader of the file might).
	for _, id := range sortedIDs(s.st.members) {
		m, err := s.tr.EncodeMember(s.st.members[id])
		if err != nil {
			return nil, err
		}
		if err := add(&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: m}}, 0); err != nil {
			return nil, err
		}
	}
	for _, id := range sortedIDs(s.st.groups) {
		g, err := s.tr.EncodeGroup(s.st.groups[id])
		if err != nil {
			return nil, err
		}
		if err := add(&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: g}}, 0); err != nil {
			return nil, err
		}
	}
	for _, id := range sortedIDs(s.st.defaults) {
		te, err := s.tr.EncodeTableEntry(s.st.defaults[id])
		if err != nil {
			return nil, err
		}
		if err := add(entity(te), 0); err != nil {
			return nil, err
		}
	}
	for _, id := range dataplane.SortedMeterIDs(s.st.meters) {
		ups = append(ups, s.meterUpdate(id))
		if len(ups) >= snapshotChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	for _, st := range s.sortedEntries(s.tableIDs()) {
		e := st.entry()
		e.Counter = nil
		te, err := s.tr.EncodeTableEntry(e)
		if err != nil {
			return nil, err
		}
		if err := add(entity(te), st.pdr); err != nil {
			return nil, err
		}
	}
	// Direct meters after their entries: replay sets them on the stored entry.
	for _, st := range s.sortedEntries([]uint32{p4info.IDTablePDR}) {
		if st.meter().IsDefault() {
			continue
		}
		u, err := s.directMeterUpdate(st.key())
		if err != nil {
			return nil, err
		}
		ups = append(ups, u)
		if len(ups) >= snapshotChunk {
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return recs, nil
}

// meterCells are the cells a (successful) meter write touched.
func (s *Server) meterCells(me *p4v1.MeterEntry) ([]dataplane.MeterID, error) {
	cell, err := s.tr.DecodeMeterEntry(me)
	if err != nil {
		return nil, err
	}
	if !cell.All {
		return []dataplane.MeterID{cell.ID()}, nil
	}
	size, err := s.tr.MeterSize(cell.Meter)
	if err != nil {
		return nil, err
	}
	out := make([]dataplane.MeterID, 0, size)
	for i := range size {
		id, _ := translate.MeterOf(cell.Meter, i)
		out = append(out, id)
	}
	return out, nil
}

func (s *Server) tableIDs() []uint32 {
	var ids []uint32
	for _, t := range s.pipeline.Tables() {
		ids = append(ids, t.ID())
	}
	return ids
}

func sortedIDs[V any](m map[uint32]V) []uint32 {
	ids := make([]uint32, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// compactLocked replaces the persisted records with a snapshot of the state.
func (s *Server) compactLocked() error {
	recs, err := s.snapshot()
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	if err := s.persist.Compact(recs); err != nil {
		return err
	}
	s.persistStale = false
	return nil
}

// appendLocked persists one record; after a failure to persist, the whole state
// is written instead (the record alone would leave out what failed before).
func (s *Server) appendLocked(rec []byte) error {
	if s.persistStale {
		return s.compactLocked()
	}
	if err := s.persist.Append(rec); err != nil {
		return err
	}
	if n, b := s.persist.Pending(); n >= s.compactEvery || b >= compactBytes {
		return s.compactLocked()
	}
	return nil
}

// persistPipelineLocked records a pipeline config change that took effect.
func (s *Server) persistPipelineLocked(clear bool) error {
	if s.persist == nil {
		return nil
	}
	rec, err := encodePipeline(clear, s.config, s.saved)
	if err == nil {
		err = s.appendLocked(rec)
	}
	if err != nil {
		s.persistStale = true
		return status.Errorf(codes.Internal, "the pipeline config took effect but could not be persisted (it is lost if the agent restarts): %v", err)
	}
	return nil
}

// persistWriteLocked records what the successful updates of a Write changed: the
// value now, or the absence, of every entity they touched. If that fails, each
// successful update reports INTERNAL: it took effect but would not survive a
// restart.
func (s *Server) persistWriteLocked(us *wire.Updates, errs []error) {
	if s.persist == nil {
		return
	}
	type touch struct {
		kind  uint8 // 0 table entry, 1 member, 2 group, 3 meter cell, 4 direct meter
		key   translate.Key
		id    uint32
		meter dataplane.MeterID
	}
	seen := map[touch]bool{}
	var ups []*p4v1.Update
	var pdrs []dataplane.PDRID
	var failed error
	for i := range errs {
		if errs[i] != nil || failed != nil {
			continue
		}
		u, err := us.At(i)
		if err != nil {
			failed = err
			continue
		}
		var k touch
		switch e := u.GetEntity().GetEntity().(type) {
		case *p4v1.Entity_TableEntry:
			key, err := s.tr.DecodeKey(e.TableEntry)
			if err != nil {
				failed = err
				continue
			}
			k = touch{kind: 0, key: key}
		case *p4v1.Entity_ActionProfileMember:
			k = touch{kind: 1, id: e.ActionProfileMember.MemberId}
		case *p4v1.Entity_ActionProfileGroup:
			k = touch{kind: 2, id: e.ActionProfileGroup.GroupId}
		case *p4v1.Entity_DirectMeterEntry:
			key, _, err := s.tr.DecodeDirectMeterEntry(&p4v1.DirectMeterEntry{TableEntry: e.DirectMeterEntry.GetTableEntry()})
			if err != nil {
				failed = err
				continue
			}
			if k := (touch{kind: 4, key: key}); !seen[k] {
				seen[k] = true
				u, err := s.directMeterUpdate(key)
				if err != nil {
					failed = err
					continue
				}
				ups = append(ups, u)
			}
			continue
		case *p4v1.Entity_MeterEntry:
			cells, err := s.meterCells(e.MeterEntry)
			if err != nil {
				failed = err
				continue
			}
			for _, id := range cells {
				if k := (touch{kind: 3, meter: id}); !seen[k] {
					seen[k] = true
					ups = append(ups, s.meterUpdate(id))
				}
			}
			continue
		default:
			continue // counters: not persisted
		}
		if seen[k] {
			continue
		}
		seen[k] = true
		up, pdr, err := s.currentLocked(k.kind, k.key, k.id)
		if err != nil {
			failed = err
			continue
		}
		ups = append(ups, up)
		if pdr != 0 {
			pdrs = append(pdrs, pdr)
		}
	}
	if failed == nil && len(ups) > 0 {
		var rec []byte
		if rec, failed = encodeUpdates(ups, pdrs); failed == nil {
			failed = s.appendLocked(rec)
		}
	}
	if failed == nil {
		return
	}
	s.persistStale = true
	for i := range errs {
		if errs[i] == nil {
			errs[i] = status.Errorf(codes.Internal, "applied, but could not be persisted (it is lost if the agent restarts): %v", failed)
		}
	}
}

// currentLocked is the persisted form of an entity now: INSERT of its canonical
// form, or DELETE of its key when it does not exist.
func (s *Server) currentLocked(kind uint8, key translate.Key, id uint32) (*p4v1.Update, dataplane.PDRID, error) {
	put := func(e *p4v1.Entity) *p4v1.Update { return &p4v1.Update{Type: p4v1.Update_INSERT, Entity: e} }
	del := func(e *p4v1.Entity) *p4v1.Update { return &p4v1.Update{Type: p4v1.Update_DELETE, Entity: e} }
	switch kind {
	case 1:
		if m, ok := s.st.members[id]; ok {
			pm, err := s.tr.EncodeMember(m)
			return put(&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: pm}}), 0, err
		}
		return del(&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: &p4v1.ActionProfileMember{
			ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: id}}}), 0, nil
	case 2:
		if g, ok := s.st.groups[id]; ok {
			pg, err := s.tr.EncodeGroup(g)
			return put(&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: pg}}), 0, err
		}
		return del(&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: &p4v1.ActionProfileGroup{
			ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: id}}}), 0, nil
	}
	if key.Default {
		if d, ok := s.st.defaults[key.Table]; ok {
			te, err := s.tr.EncodeTableEntry(d)
			return put(entity(te)), 0, err
		}
		return del(entity(&p4v1.TableEntry{TableId: key.Table, IsDefaultAction: true})), 0, nil
	}
	if st, ok := s.st.entries.get(key); ok {
		e := st.entry()
		e.Counter = nil
		te, err := s.tr.EncodeTableEntry(e)
		return put(entity(te)), st.pdr, err
	}
	te, err := s.tr.EncodeKey(key)
	return del(entity(te)), 0, err
}
