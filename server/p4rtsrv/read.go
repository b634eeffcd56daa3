package p4rtsrv

import (
	"bytes"
	"errors"
	"slices"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// Read answers are streamed in ReadResponses of at most readChunk entities and
// about readChunkBytes each (a message holds at least one entity).
const (
	readChunk      = 1000
	readChunkBytes = 1 << 20
)

// MaxReadEntities is the default cap on the entities one Read returns: what
// the device can hold, once — every table full (plus its default entry and,
// with a direct counter, a counter entry per entry), every counter and meter
// cell, every action-profile member and group. A Read whose answer would exceed it (queries
// that overlap, each answered in full) is RESOURCE_EXHAUSTED.
func MaxReadEntities(x *p4info.Index) int {
	n := int64(0)
	for _, t := range x.Tables() {
		n += t.Size() + 1
		if t.DirectCounter() != nil {
			n += t.Size() + 1
		}
		if t.DirectMeter() != nil {
			n += t.Size()
		}
	}
	for _, c := range x.Counters() {
		n += c.Size()
	}
	for _, m := range x.Meters() {
		n += m.Size()
	}
	for _, p := range x.ActionProfiles() {
		n += 2 * p.Size()
	}
	return int(n)
}

// Read answers from what Writes accepted, byte for byte, with counters from the
// live data path. Wildcards: table_id 0 (every table), no match (every entry),
// counter_id 0, no index; is_default_action selects the default entry. An
// entity named more than once in a request is answered once.
//
// The answer is a snapshot: it is built (entities encoded, counters read) under
// the read lock, which is released before the first Send, so a client that
// does not consume its answer holds nothing but its own stream. Its size is
// bounded by the cap (Options.MaxReadEntities), so is the memory of a Read.
func (s *Server) Read(req *p4v1.ReadRequest, stream p4v1.P4Runtime_ReadServer) error {
	if req.DeviceId != s.deviceID {
		return status.Errorf(codes.NotFound, "device id %d is not served here (this is device %d)", req.DeviceId, s.deviceID)
	}
	out, err := s.readSnapshot(req)
	if err != nil {
		return err
	}
	for len(out) > 0 {
		n, size := 0, 0
		for n < len(out) && n < readChunk && (n == 0 || size+proto.Size(out[n]) <= readChunkBytes) {
			size += proto.Size(out[n])
			n++
		}
		if err := stream.Send(&p4v1.ReadResponse{Entities: out[:n]}); err != nil {
			return err
		}
		out = out[n:]
	}
	return nil
}

// readSnapshot builds the whole answer of a Read under the read lock.
func (s *Server) readSnapshot(req *p4v1.ReadRequest) ([]*p4v1.Entity, error) {
	seen := make(map[string]bool, len(req.Entities))
	queries := make([]*p4v1.Entity, 0, len(req.Entities))
	for _, ent := range req.Entities {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(ent)
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "read entity: %v", err)
		}
		if !seen[string(b)] {
			seen[string(b)] = true
			queries = append(queries, ent)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.configuredLocked() {
		return nil, status.Error(codes.FailedPrecondition, "no forwarding pipeline config: SetForwardingPipelineConfig first")
	}
	var out []*p4v1.Entity
	for _, ent := range queries {
		got, err := s.read(ent)
		if err != nil {
			return nil, rpcErr(err)
		}
		out = append(out, got...)
		if len(out) > s.maxRead {
			return nil, status.Errorf(codes.ResourceExhausted, "the answer exceeds %d entities, the most one Read returns (what the device holds, once): split the request", s.maxRead)
		}
	}
	return out, nil
}

func (s *Server) read(ent *p4v1.Entity) ([]*p4v1.Entity, error) {
	switch e := ent.GetEntity().(type) {
	case *p4v1.Entity_TableEntry:
		return s.readTable(e.TableEntry)
	case *p4v1.Entity_ActionProfileMember:
		return s.readMembers(e.ActionProfileMember)
	case *p4v1.Entity_ActionProfileGroup:
		return s.readGroups(e.ActionProfileGroup)
	case *p4v1.Entity_CounterEntry:
		return s.readCounters(e.CounterEntry)
	case *p4v1.Entity_DirectCounterEntry:
		return s.readDirect(e.DirectCounterEntry)
	case *p4v1.Entity_MeterEntry:
		return s.readMeters(e.MeterEntry)
	case *p4v1.Entity_DirectMeterEntry:
		return s.readDirectMeters(e.DirectMeterEntry)
	case nil:
		return nil, status.Error(codes.InvalidArgument, "read of an empty entity")
	default:
		return nil, status.Errorf(codes.Unimplemented, "%T is not supported by the linx pipeline", e)
	}
}

// tables lists the tables a read names (all for table_id 0).
func (s *Server) tables(id uint32) ([]uint32, error) {
	if id != 0 {
		if _, ok := s.pipeline.Table(id); !ok {
			return nil, status.Errorf(codes.NotFound, "unknown table id 0x%08x", id)
		}
		return []uint32{id}, nil
	}
	var ids []uint32
	for _, t := range s.pipeline.Tables() {
		ids = append(ids, t.ID())
	}
	return ids, nil
}

func (s *Server) readTable(te *p4v1.TableEntry) ([]*p4v1.Entity, error) {
	withCounter := te.CounterData != nil
	if te.IsDefaultAction {
		tabs, err := s.tables(te.TableId)
		if err != nil {
			return nil, err
		}
		var out []*p4v1.Entity
		for _, id := range tabs {
			e, err := s.defaultEntry(id)
			if err != nil {
				return nil, err
			}
			if e == nil {
				continue
			}
			// ONOS asks for counter_data with the default entry of a table
			// with a direct counter: it counts the packets that matched no rule.
			if withCounter {
				if e.CounterData, err = s.defaultCounterData(id); err != nil {
					return nil, err
				}
			}
			out = append(out, entity(e))
		}
		return out, nil
	}
	// One named entry.
	if te.TableId != 0 && len(te.Match) > 0 {
		k, err := s.tr.DecodeKey(te)
		if err != nil {
			return nil, err
		}
		st, ok := s.st.entries.get(k)
		if !ok || !s.passes(te, st) {
			return nil, nil
		}
		e, err := s.encode(st, withCounter)
		if err != nil {
			return nil, err
		}
		return []*p4v1.Entity{entity(e)}, nil
	}
	tabs, err := s.tables(te.TableId)
	if err != nil {
		return nil, err
	}
	var out []*p4v1.Entity
	for _, st := range s.sortedEntries(tabs) {
		if !s.passes(te, st) {
			continue
		}
		e, err := s.encode(st, withCounter)
		if err != nil {
			return nil, err
		}
		out = append(out, entity(e))
	}
	return out, nil
}

// passes applies the filters of a table-entry read (spec "Wildcard Reads"): a
// non-default priority, controller_metadata or metadata must be equal, and an
// action (direct actions only) must have the same action_id.
func (s *Server) passes(q *p4v1.TableEntry, st *stored) bool {
	e := st.entry()
	switch {
	case q.Priority != 0 && e.Priority != q.Priority,
		q.ControllerMetadata != 0 && e.ControllerMetadata != q.ControllerMetadata,
		len(q.Metadata) > 0 && !bytes.Equal(e.Metadata, q.Metadata):
		return false
	}
	if id := q.GetAction().GetAction().GetActionId(); id != 0 {
		te, err := s.tr.EncodeTableEntry(e)
		return err == nil && te.GetAction().GetAction().GetActionId() == id
	}
	return true
}

// sortedEntries returns the stored entries of tables in a stable order (by table,
// then insertion-independent key order) so repeated reads agree.
func (s *Server) sortedEntries(tabs []uint32) []*stored {
	want := map[uint32]bool{}
	for _, t := range tabs {
		want[t] = true
	}
	var out []*stored
	for st := range s.st.entries.all() {
		if want[st.table()] {
			out = append(out, st)
		}
	}
	slices.SortFunc(out, func(a, b *stored) int { return compareEntries(a.entry(), b.entry()) })
	return out
}

func compareEntries(a, b translate.Entry) int {
	switch {
	case a.Table != b.Table:
		return int(int64(a.Table) - int64(b.Table))
	case a.Priority != b.Priority:
		return int(b.Priority - a.Priority)
	case a.FAR != b.FAR:
		return int(int64(a.FAR) - int64(b.FAR))
	case a.LBR != b.LBR:
		return int(int64(a.LBR) - int64(b.LBR))
	case a.Tunnel != b.Tunnel:
		return int(int64(a.Tunnel) - int64(b.Tunnel))
	}
	ka, kb := a.Key, b.Key
	return cmpKeys(ka, kb)
}

func cmpKeys(a, b translate.Key) int {
	ma, mb := a.Match, b.Match
	for _, d := range []int64{
		int64(ma.Dst.Value) - int64(mb.Dst.Value), int64(ma.Dst.Mask) - int64(mb.Dst.Mask),
		int64(ma.Src.Value) - int64(mb.Src.Value), int64(ma.Src.Mask) - int64(mb.Src.Mask),
		int64(ma.Proto.Value) - int64(mb.Proto.Value), int64(ma.DstPort.Lo) - int64(mb.DstPort.Lo),
		int64(ma.DstPort.Hi) - int64(mb.DstPort.Hi), int64(ma.SrcPort.Lo) - int64(mb.SrcPort.Lo),
		int64(ma.SrcPort.Hi) - int64(mb.SrcPort.Hi), int64(ma.DSCP.Value) - int64(mb.DSCP.Value),
		int64(ma.InPort.Value) - int64(mb.InPort.Value), int64(ma.Direction.Value) - int64(mb.Direction.Value),
		// netip's order: the zero Addr (entries without one) first, then IPv4, then IPv6.
		int64(a.Term.Remote.Compare(b.Term.Remote)),
		int64(a.Term.Local.Compare(b.Term.Local)),
		int64(a.Term.Key) - int64(b.Term.Key),
		int64(a.EthType) - int64(b.EthType),
	} {
		if d != 0 {
			return int(max(-1, min(1, d)))
		}
	}
	return 0
}

func entity(te *p4v1.TableEntry) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}
}

// encode returns a stored entry as written, with counter_data when asked.
func (s *Server) encode(st *stored, withCounter bool) (*p4v1.TableEntry, error) {
	e := st.entry()
	e.Counter = nil
	te, err := s.tr.EncodeTableEntry(e)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode stored entry: %v", err)
	}
	if b := bindings[e.Table]; withCounter && b != nil && b.direct != nil {
		c, err := s.directCount(st)
		if err != nil {
			return nil, err
		}
		if te.CounterData, err = s.tr.DirectCounterData(e.Table, c); err != nil {
			return nil, err
		}
	}
	return te, nil
}

// defaultCounterData is counter_data of a table's default entry, nil for
// tables without a direct counter.
func (s *Server) defaultCounterData(table uint32) (*p4v1.CounterData, error) {
	tab, ok := s.pipeline.Table(table)
	if !ok || tab.DirectCounter() == nil {
		return nil, nil
	}
	c, err := s.defaultCount(table)
	if err != nil {
		return nil, err
	}
	return s.tr.DirectCounterData(table, c)
}

// defaultEntry returns a table's default entry, or nil for tables whose default
// action is constant (the spec lets servers omit them; ONOS never reads them).
func (s *Server) defaultEntry(table uint32) (*p4v1.TableEntry, error) {
	e, ok := s.st.defaults[table]
	if !ok {
		init, err := s.tr.InitialDefault(table)
		if err != nil {
			if translate.Code(err) == codes.NotFound || translate.Code(err) == codes.PermissionDenied || translate.Code(err) == codes.InvalidArgument {
				return nil, nil
			}
			return nil, err
		}
		e = init
	}
	te, err := s.tr.EncodeTableEntry(e)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "encode default entry: %v", err)
	}
	return te, nil
}

func (s *Server) readMembers(pm *p4v1.ActionProfileMember) ([]*p4v1.Entity, error) {
	if pm.ActionProfileId != 0 && pm.ActionProfileId != p4info.IDActionProfileLBRSelector {
		return nil, status.Errorf(codes.NotFound, "unknown action profile 0x%08x", pm.ActionProfileId)
	}
	ids := make([]uint32, 0, len(s.st.members))
	for id := range s.st.members {
		if pm.MemberId == 0 || pm.MemberId == id {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []*p4v1.Entity
	for _, id := range ids {
		m, err := s.tr.EncodeMember(s.st.members[id])
		if err != nil {
			return nil, status.Errorf(codes.Internal, "encode member: %v", err)
		}
		out = append(out, &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: m}})
	}
	return out, nil
}

func (s *Server) readGroups(pg *p4v1.ActionProfileGroup) ([]*p4v1.Entity, error) {
	if pg.ActionProfileId != 0 && pg.ActionProfileId != p4info.IDActionProfileLBRSelector {
		return nil, status.Errorf(codes.NotFound, "unknown action profile 0x%08x", pg.ActionProfileId)
	}
	ids := make([]uint32, 0, len(s.st.groups))
	for id := range s.st.groups {
		if pg.GroupId == 0 || pg.GroupId == id {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var out []*p4v1.Entity
	for _, id := range ids {
		g, err := s.tr.EncodeGroup(s.st.groups[id])
		if err != nil {
			return nil, status.Errorf(codes.Internal, "encode group: %v", err)
		}
		out = append(out, &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: g}})
	}
	return out, nil
}

var counterIDs = []uint32{p4info.IDCounterPortRX, p4info.IDCounterPortTX, p4info.IDCounterTunnelTX,
	p4info.IDCounterTunnelRX, p4info.IDCounterDrop}

func (s *Server) readCounters(ce *p4v1.CounterEntry) ([]*p4v1.Entity, error) {
	ids := counterIDs
	if ce.CounterId != 0 {
		ids = []uint32{ce.CounterId}
	}
	var out []*p4v1.Entity
	for _, id := range ids {
		probe := &p4v1.CounterEntry{CounterId: id, Index: ce.Index}
		cell, err := s.tr.DecodeCounterEntry(probe)
		if err != nil {
			return nil, err
		}
		first, last := cell.Index, cell.Index
		if cell.All {
			size, err := s.tr.CounterSize(id)
			if err != nil {
				return nil, err
			}
			first, last = 0, size-1
		}
		raw := s.rawCounter(id)
		for i := first; i <= last; i++ {
			v, err := raw(i)
			if err != nil {
				return nil, err
			}
			v = sub(v, s.st.counterOffsets[counterCell{id, i}])
			e, err := s.tr.EncodeCounterEntry(id, i, v)
			if err != nil {
				return nil, err
			}
			out = append(out, &p4v1.Entity{Entity: &p4v1.Entity_CounterEntry{CounterEntry: e}})
		}
	}
	return out, nil
}

// rawCounter returns a reader of counter id's cells in the data path (before the
// offsets of counter MODIFYs); cells of ports, tunnels or reasons that do not
// exist read zero. Drop reasons are read once per reader: the data path returns
// them all at once.
func (s *Server) rawCounter(id uint32) func(i int64) (dataplane.Counter, error) {
	zeroIfMissing := func(err error) error {
		if errors.Is(err, dataplane.ErrNotFound) || errors.Is(err, dataplane.ErrInvalid) {
			return nil
		}
		return err
	}
	switch id {
	case p4info.IDCounterPortRX, p4info.IDCounterPortTX:
		return func(i int64) (dataplane.Counter, error) {
			c, err := s.dp.PortCounter(dataplane.PortID(i))
			if id == p4info.IDCounterPortRX {
				return c.RX, zeroIfMissing(err)
			}
			return c.TX, zeroIfMissing(err)
		}
	case p4info.IDCounterTunnelTX, p4info.IDCounterTunnelRX:
		return func(i int64) (dataplane.Counter, error) {
			c, err := s.dp.TunnelCounter(dataplane.TunnelID(i))
			if id == p4info.IDCounterTunnelTX {
				return c.TX, zeroIfMissing(err)
			}
			return c.RX, zeroIfMissing(err)
		}
	case p4info.IDCounterDrop:
		var drops map[dataplane.DropReason]dataplane.Counter
		return func(i int64) (dataplane.Counter, error) {
			if drops == nil {
				d, err := s.dp.DropCounters()
				if err != nil {
					return dataplane.Counter{}, err
				}
				drops = d
			}
			return drops[dataplane.DropReason(i)], nil
		}
	}
	return func(int64) (dataplane.Counter, error) {
		return dataplane.Counter{}, status.Errorf(codes.NotFound, "unknown counter 0x%08x", id)
	}
}

func (s *Server) readDirect(de *p4v1.DirectCounterEntry) ([]*p4v1.Entity, error) {
	te := de.GetTableEntry()
	if te == nil {
		return nil, status.Error(codes.InvalidArgument, "direct counter entry without table_entry")
	}
	var sts []*stored
	if len(te.Match) == 0 && !te.IsDefaultAction {
		tabs := directTables()
		if te.TableId != 0 {
			if b := bindings[te.TableId]; b == nil || b.direct == nil {
				return nil, status.Errorf(codes.InvalidArgument, "table 0x%08x has no direct counter", te.TableId)
			}
			tabs = []uint32{te.TableId}
		}
		sts = s.sortedEntries(tabs)
	} else {
		k, _, err := s.tr.DecodeDirectCounterEntry(de)
		if err != nil {
			return nil, err
		}
		if k.Default {
			c, err := s.defaultCount(k.Table)
			if err != nil {
				return nil, err
			}
			e, err := s.tr.EncodeDirectCounterEntry(k, c)
			if err != nil {
				return nil, err
			}
			return []*p4v1.Entity{{Entity: &p4v1.Entity_DirectCounterEntry{DirectCounterEntry: e}}}, nil
		}
		st, ok := s.st.entries.get(k)
		if !ok {
			return nil, nil
		}
		sts = []*stored{st}
	}
	var out []*p4v1.Entity
	for _, st := range sts {
		c, err := s.directCount(st)
		if err != nil {
			return nil, err
		}
		e, err := s.tr.EncodeDirectCounterEntry(st.key(), c)
		if err != nil {
			return nil, err
		}
		out = append(out, &p4v1.Entity{Entity: &p4v1.Entity_DirectCounterEntry{DirectCounterEntry: e}})
	}
	return out, nil
}
