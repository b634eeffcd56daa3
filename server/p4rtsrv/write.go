package p4rtsrv

import (
	"context"
	"fmt"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/p4rtsrv/wire"
	"github.com/linx-sdwan/linx/translate"
)

// Write applies a batch of updates in order (atomicity CONTINUE_ON_ERROR): each
// update succeeds or fails alone and a failed one leaves no trace. When any fails,
// the RPC returns UNKNOWN with one p4.v1.Error per update, in order.
//
// Updates are decoded one at a time (package wire): a request received through
// wire.Codec holds them as wire records, never as one message tree.
func (s *Server) Write(_ context.Context, req *p4v1.WriteRequest) (*p4v1.WriteResponse, error) {
	if err := s.arb.checkPrimary(req.DeviceId, req.Role, req.ElectionId); err != nil {
		return nil, err
	}
	if req.Atomicity != p4v1.WriteRequest_CONTINUE_ON_ERROR {
		return nil, status.Errorf(codes.Unimplemented, "atomicity %v is not supported, only CONTINUE_ON_ERROR", req.Atomicity)
	}
	ups, err := wire.Of(req)
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "updates: %v", err)
	}
	defer ups.Release()
	s.mu.Lock()
	defer s.unlockPublish()
	if !s.configuredLocked() {
		return nil, status.Error(codes.FailedPrecondition, "no forwarding pipeline config: SetForwardingPipelineConfig first")
	}
	errs := make([]error, ups.Len())
	if s.st.entries.len() == 0 && len(errs) >= 1024 {
		// A large Write into an empty store (a controller replaying its state
		// after a pipeline push) sizes the index once instead of regrowing it.
		s.st.entries.m = make(map[uint64]*stored, len(errs))
	}
	if len(errs) >= pipelineMin {
		s.writePipelined(ups, errs)
	} else {
		s.writeInOrder(ups, errs)
	}
	s.persistWriteLocked(ups, errs)
	for _, err := range errs {
		if err != nil {
			return nil, writeError(errs)
		}
	}
	return &p4v1.WriteResponse{}, nil
}

// writeInOrder applies the updates one after the other on the Write's goroutine.
func (s *Server) writeInOrder(ups *wire.Updates, errs []error) {
	var run pdrRun // consecutive PDR inserts go to the data path as one batch
	for i := range errs {
		u, err := ups.At(i)
		switch {
		case err != nil:
			s.insertPDRs(&run, errs)
			errs[i] = status.Errorf(codes.InvalidArgument, "malformed update: %v", err)
		case isPDRInsert(u):
			st, p, err := s.decodePDR(u.GetEntity().GetTableEntry())
			var h uint64
			if err == nil {
				h = s.st.entries.hash(st.key())
			}
			s.addPDR(&run, i, st, h, p, err, errs)
		default:
			s.insertPDRs(&run, errs)
			errs[i] = s.update(u)
		}
	}
	s.insertPDRs(&run, errs)
}

// writeError packs per-update errors the way the spec's Error Reporting section
// (and ONOS, and Stratum) do.
func writeError(errs []error) error {
	failed := 0
	var first error
	details := make([]protoadapt.MessageV1, len(errs))
	for i, err := range errs {
		e := &p4v1.Error{CanonicalCode: int32(codes.OK)}
		if err != nil {
			failed++
			if first == nil {
				first = err
			}
			st := status.Convert(err)
			e = &p4v1.Error{CanonicalCode: int32(st.Code()), Message: st.Message()}
		}
		details[i] = protoadapt.MessageV1Of(e)
	}
	st, err := status.New(codes.Unknown, fmt.Sprintf("%d of %d updates failed; first: %v", failed, len(errs), status.Convert(first).Message())).WithDetails(details...)
	if err != nil {
		return status.Errorf(codes.Internal, "pack write errors: %v", err)
	}
	return st.Err()
}

// status converts errors of the layers below to gRPC statuses.
func rpcErr(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	return status.Error(dpCode(err), err.Error())
}

func (s *Server) update(u *p4v1.Update) error {
	switch e := u.GetEntity().GetEntity().(type) {
	case *p4v1.Entity_TableEntry:
		return rpcErr(s.writeTableEntry(u.Type, e.TableEntry))
	case *p4v1.Entity_ActionProfileMember:
		return rpcErr(s.writeMember(u.Type, e.ActionProfileMember))
	case *p4v1.Entity_ActionProfileGroup:
		return rpcErr(s.writeGroup(u.Type, e.ActionProfileGroup))
	case *p4v1.Entity_CounterEntry:
		return rpcErr(s.writeCounter(u.Type, e.CounterEntry))
	case *p4v1.Entity_DirectCounterEntry:
		return rpcErr(s.writeDirectCounter(u.Type, e.DirectCounterEntry))
	case *p4v1.Entity_MeterEntry:
		return rpcErr(s.writeMeter(u.Type, e.MeterEntry))
	case *p4v1.Entity_DirectMeterEntry:
		return rpcErr(s.writeDirectMeter(u.Type, e.DirectMeterEntry))
	case nil:
		return status.Error(codes.InvalidArgument, "update without an entity")
	default:
		return status.Errorf(codes.Unimplemented, "%T is not supported by the linx pipeline", e)
	}
}

func (s *Server) writeTableEntry(op p4v1.Update_Type, te *p4v1.TableEntry) error {
	e, err := s.tr.DecodeTableEntry(te, op)
	if err != nil {
		return err
	}
	if e.Default {
		return s.writeDefault(op, e)
	}
	if set, ok := e.Action.(translate.ActionSet); ok {
		for i, m := range set.Members {
			if err := s.checkWatchPort(fmt.Sprintf("action set entry %d", i), m.Watch); err != nil {
				return err
			}
		}
	}
	old, exists := s.st.entries.get(e.Key)
	switch op {
	case p4v1.Update_INSERT:
		if err := s.insertEntry(newStored(e)); err != nil {
			return err
		}
	case p4v1.Update_MODIFY:
		if !exists {
			return status.Error(codes.NotFound, "no such entry")
		}
		if e.Action == nil {
			e.Action = old.action()
		}
		st := newStored(e)
		if err := s.install(st, old); err != nil {
			return err
		}
		s.st.entries.put(st)
	case p4v1.Update_DELETE:
		if !exists {
			return status.Error(codes.NotFound, "no such entry")
		}
		if err := s.uninstall(old); err != nil {
			return err
		}
		s.st.entries.del(e.Key)
	default:
		return status.Errorf(codes.InvalidArgument, "update type %v", op)
	}
	if e.Counter != nil && op != p4v1.Update_DELETE {
		st, _ := s.st.entries.get(e.Key)
		return s.setDirect(st, *e.Counter)
	}
	return nil
}

// insertEntry installs and stores a new entry.
func (s *Server) insertEntry(st *stored) error {
	if _, exists := s.st.entries.get(st.key()); exists {
		return status.Error(codes.AlreadyExists, "entry already exists")
	}
	if err := s.install(st, nil); err != nil {
		return err
	}
	s.st.entries.put(st)
	return nil
}

// lbrMembers resolves an lbr entry's action to weighted tunnels. Members that
// encapsulate onto the same tunnel with the same watch port add their weights;
// the data path balances per tunnel, so two members of one tunnel watching
// different ports are UNIMPLEMENTED.
func (s *Server) lbrMembers(a translate.Action) ([]dataplane.LBRMember, error) {
	var out []dataplane.LBRMember
	add := func(t dataplane.TunnelID, w, watch uint32) error {
		for i := range out {
			if out[i].Tunnel != t {
				continue
			}
			if out[i].Watch != watch {
				return status.Errorf(codes.Unimplemented, "two members encapsulate onto tunnel %d with different watch ports (%d, %d): linx balances per tunnel, give them one watch port", t, out[i].Watch, watch)
			}
			out[i].Weight += w
			return nil
		}
		out = append(out, dataplane.LBRMember{Tunnel: t, Weight: w, Watch: watch})
		return nil
	}
	switch a := a.(type) {
	case translate.ProfileMember:
		m, ok := s.st.members[a.ID]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "action profile member %d does not exist", a.ID)
		}
		out = append(out, dataplane.LBRMember{Tunnel: m.Tunnel, Weight: 1})
	case translate.ProfileGroup:
		g, ok := s.st.groups[a.ID]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "action profile group %d does not exist", a.ID)
		}
		for _, gm := range g.Members {
			if err := add(s.st.members[gm.Member].Tunnel, gm.Weight, gm.Watch); err != nil {
				return nil, status.Errorf(status.Code(err), "group %d: %s", a.ID, status.Convert(err).Message())
			}
		}
	case translate.ActionSet:
		for _, m := range a.Members {
			if err := add(m.Tunnel, m.Weight, m.Watch); err != nil {
				return nil, err
			}
		}
	default:
		return nil, status.Errorf(codes.InvalidArgument, "lbr entries take an action profile member, group or action set, not %T", a)
	}
	return out, nil
}

// checkWatchPort refuses a watch_port that names no port of the device: it must
// be an attached port or an installed overlay's logical port (the ports gNMI
// lists). The specification's code for that is INVALID_ARGUMENT. An overlay or
// port removed later does not unwrite the member: the data path treats what it
// watches as down.
func (s *Server) checkWatchPort(what string, port uint32) error {
	if port == 0 {
		return nil
	}
	for _, p := range s.dp.Ports() {
		if uint32(p.ID) == port {
			return nil
		}
	}
	for _, t := range s.dp.ListTunnels() {
		if t.Port == port {
			return nil
		}
	}
	return status.Errorf(codes.InvalidArgument, "%s: watch_port %d is not a port of the device (neither an attached port nor an overlay's logical port)", what, port)
}

// refreshLBRs reinstalls the LBR entries that use member or group id after it
// changed.
func (s *Server) refreshLBRs(uses func(translate.Action) bool) error {
	for st := range s.st.entries.all() {
		if st.table() != p4info.IDTableLBR || !uses(st.action()) {
			continue
		}
		if err := s.install(st, st); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) writeDefault(op p4v1.Update_Type, e translate.Entry) error {
	if op != p4v1.Update_MODIFY {
		return status.Errorf(codes.InvalidArgument, "a default entry can only be modified, not %v", op)
	}
	b, err := bindingOf(e.Table)
	if err != nil {
		return err
	}
	if b.setDefault == nil {
		return status.Error(codes.PermissionDenied, "this table's default action is constant")
	}
	reset := e.Action == nil
	if reset {
		init, err := s.tr.InitialDefault(e.Table)
		if err != nil {
			return err
		}
		e.Action = init.Action
	}
	if err := b.setDefault(s, e); err != nil {
		return err
	}
	if reset && e.ControllerMetadata == 0 && e.Metadata == nil {
		delete(s.st.defaults, e.Table)
	} else {
		s.st.defaults[e.Table] = e
	}
	return nil
}

// isPDRInsert reports whether Write batches u: a PDR INSERT without counter_data.
func isPDRInsert(u *p4v1.Update) bool {
	te := u.GetEntity().GetTableEntry()
	return u.Type == p4v1.Update_INSERT && te != nil && te.TableId == p4info.IDTablePDR && !te.IsDefaultAction && te.CounterData == nil
}

// pdrRun is a run of consecutive PDR inserts of one Write, decoded and checked,
// waiting to go to the data path as one batch.
type pdrRun struct {
	sts   []*stored // what is stored once installed
	rules []dataplane.PDR
	idx   []int    // their updates' positions
	hs    []uint64 // their keys' hashes (entryIndex)
}

// decodePDR decodes a PDR insert (te is not kept). It reads no server state,
// so the decoder goroutine of a pipelined Write can call it.
func (s *Server) decodePDR(te *p4v1.TableEntry) (*stored, dataplane.PDR, error) {
	e, err := s.tr.DecodeTableEntry(te, p4v1.Update_INSERT)
	if err != nil {
		return nil, dataplane.PDR{}, rpcErr(err)
	}
	p, ok := e.PDR()
	if !ok {
		return nil, p, status.Error(codes.InvalidArgument, "pdr entries take set_far")
	}
	if err := p.Validate(); err != nil {
		return nil, p, rpcErr(err)
	}
	return newStored(e), p, nil
}

// addPDR adds update i, a decoded PDR insert (or its decoding error) whose
// key's hash is h, to run unless its key is stored already.
func (s *Server) addPDR(run *pdrRun, i int, st *stored, h uint64, p dataplane.PDR, err error, errs []error) {
	if err == nil {
		if _, dup := s.st.entries.getH(h, st.key()); dup {
			err = status.Error(codes.AlreadyExists, "entry already exists")
		}
	}
	if err != nil {
		errs[i] = err
		return
	}
	if run.sts == nil { // room for the rest of the Write: no regrowing
		n := min(len(errs)-i, pipelineChunk)
		run.sts, run.rules, run.idx, run.hs = make([]*stored, 0, n), make([]dataplane.PDR, 0, n), make([]int, 0, n), make([]uint64, 0, n)
	}
	run.sts = append(run.sts, st)
	run.hs = append(run.hs, h)
	run.rules = append(run.rules, p)
	run.idx = append(run.idx, i)
}

// insertPDRs inserts run's PDRs with one data-path batch and empties run. If
// the batch as a whole is refused (two of the run share a key, the table is
// full, ...), they are inserted one by one so each gets its own error.
func (s *Server) insertPDRs(run *pdrRun, errs []error) {
	if len(run.sts) == 0 {
		return
	}
	defer func() { *run = pdrRun{sts: run.sts[:0], rules: run.rules[:0], idx: run.idx[:0], hs: run.hs[:0]} }()
	ids, err := s.dp.InsertPDRs(run.rules)
	if err != nil {
		for j, st := range run.sts {
			errs[run.idx[j]] = rpcErr(s.insertEntry(st))
		}
		return
	}
	for j, st := range run.sts {
		st.pdr = ids[j]
		s.st.entries.putH(run.hs[j], st)
	}
}

func (s *Server) writeMember(op p4v1.Update_Type, pm *p4v1.ActionProfileMember) error {
	m, err := s.tr.DecodeMember(pm, op)
	if err != nil {
		return err
	}
	_, exists := s.st.members[m.ID]
	uses := func(a translate.Action) bool {
		if pa, ok := a.(translate.ProfileMember); ok && pa.ID == m.ID {
			return true
		}
		if ga, ok := a.(translate.ProfileGroup); ok {
			for _, gm := range s.st.groups[ga.ID].Members {
				if gm.Member == m.ID {
					return true
				}
			}
		}
		return false
	}
	switch op {
	case p4v1.Update_INSERT:
		if exists {
			return status.Errorf(codes.AlreadyExists, "member %d already exists", m.ID)
		}
		s.st.members[m.ID] = m
	case p4v1.Update_MODIFY:
		if !exists {
			return status.Errorf(codes.NotFound, "member %d does not exist", m.ID)
		}
		old := s.st.members[m.ID]
		s.st.members[m.ID] = m
		if err := s.refreshLBRs(uses); err != nil {
			s.st.members[m.ID] = old
			s.refreshLBRs(uses)
			return err
		}
	case p4v1.Update_DELETE:
		if !exists {
			return status.Errorf(codes.NotFound, "member %d does not exist", m.ID)
		}
		for _, g := range s.st.groups {
			for _, gm := range g.Members {
				if gm.Member == m.ID {
					return status.Errorf(codes.FailedPrecondition, "member %d is in group %d", m.ID, g.ID)
				}
			}
		}
		for st := range s.st.entries.all() {
			if pa, ok := st.action().(translate.ProfileMember); ok && pa.ID == m.ID {
				return status.Errorf(codes.FailedPrecondition, "member %d is used by lbr %d", m.ID, st.entry().LBR)
			}
		}
		delete(s.st.members, m.ID)
	default:
		return status.Errorf(codes.InvalidArgument, "update type %v", op)
	}
	return nil
}

func (s *Server) writeGroup(op p4v1.Update_Type, pg *p4v1.ActionProfileGroup) error {
	g, err := s.tr.DecodeGroup(pg, op)
	if err != nil {
		return err
	}
	old, exists := s.st.groups[g.ID]
	uses := func(a translate.Action) bool {
		ga, ok := a.(translate.ProfileGroup)
		return ok && ga.ID == g.ID
	}
	if op != p4v1.Update_DELETE {
		for _, gm := range g.Members {
			if _, ok := s.st.members[gm.Member]; !ok {
				return status.Errorf(codes.NotFound, "group %d: member %d does not exist", g.ID, gm.Member)
			}
			if err := s.checkWatchPort(fmt.Sprintf("group %d member %d", g.ID, gm.Member), gm.Watch); err != nil {
				return err
			}
		}
	}
	switch op {
	case p4v1.Update_INSERT:
		if exists {
			return status.Errorf(codes.AlreadyExists, "group %d already exists", g.ID)
		}
		s.st.groups[g.ID] = g
	case p4v1.Update_MODIFY:
		if !exists {
			return status.Errorf(codes.NotFound, "group %d does not exist", g.ID)
		}
		if g.MaxSize != old.MaxSize {
			return status.Errorf(codes.InvalidArgument, "group %d: max_size cannot change (%d, was %d)", g.ID, g.MaxSize, old.MaxSize)
		}
		s.st.groups[g.ID] = g
		if err := s.refreshLBRs(uses); err != nil {
			s.st.groups[g.ID] = old
			s.refreshLBRs(uses)
			return err
		}
	case p4v1.Update_DELETE:
		if !exists {
			return status.Errorf(codes.NotFound, "group %d does not exist", g.ID)
		}
		for st := range s.st.entries.all() {
			if uses(st.action()) {
				return status.Errorf(codes.FailedPrecondition, "group %d is used by lbr %d", g.ID, st.entry().LBR)
			}
		}
		delete(s.st.groups, g.ID)
	default:
		return status.Errorf(codes.InvalidArgument, "update type %v", op)
	}
	return nil
}

// writeCounter sets indirect counter cells (MODIFY only): the server keeps an
// offset so that reads return the value written plus what was counted since.
func (s *Server) writeCounter(op p4v1.Update_Type, ce *p4v1.CounterEntry) error {
	if op != p4v1.Update_MODIFY {
		return status.Errorf(codes.InvalidArgument, "counter entries can only be modified, not %v", op)
	}
	cell, err := s.tr.DecodeCounterEntry(ce)
	if err != nil {
		return err
	}
	if cell.Data == nil {
		return nil
	}
	raw := s.rawCounter(cell.Counter)
	set := func(i int64) error {
		cur, err := raw(i)
		if err != nil {
			return err
		}
		s.st.counterOffsets[counterCell{cell.Counter, i}] = sub(cur, *cell.Data)
		return nil
	}
	if !cell.All {
		return set(cell.Index)
	}
	size, err := s.tr.CounterSize(cell.Counter)
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

func (s *Server) writeDirectCounter(op p4v1.Update_Type, de *p4v1.DirectCounterEntry) error {
	if op != p4v1.Update_MODIFY {
		return status.Errorf(codes.InvalidArgument, "direct counter entries can only be modified, not %v", op)
	}
	k, data, err := s.tr.DecodeDirectCounterEntry(de)
	if err != nil {
		return err
	}
	if data == nil {
		return nil
	}
	st, ok := s.st.entries.get(k)
	if !ok {
		return status.Error(codes.NotFound, "no such table entry")
	}
	return s.setDirect(st, *data)
}
