package p4rtsrv

import (
	"net/netip"
	"reflect"
	"slices"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

var (
	local0 = netip.MustParseAddr("172.16.0.1")
	peer0  = netip.MustParseAddr("172.16.0.2")
	local1 = netip.MustParseAddr("172.16.1.1")
	peer1  = netip.MustParseAddr("172.16.1.2")
)

// onlyRule returns the single PDR of the in-memory data path.
func onlyRule(t *testing.T, h *harness) (dataplane.PDRID, dataplane.PDR) {
	t.Helper()
	rules := h.mem.PDRs()
	if len(rules) != 1 {
		t.Fatalf("data path has %d PDRs, want 1: %v", len(rules), rules)
	}
	for id, p := range rules {
		return id, p
	}
	return 0, dataplane.PDR{}
}

// TestWriteTables inserts, modifies and deletes entries of every table, checking
// reads and the data path after each step.
func TestWriteTables(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		term := dataplane.TunnelTerm{Remote: peer0, Local: local0, Key: 5}
		v1 := []*p4v1.TableEntry{
			tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0),
			termEntry("172.16.0.2", "172.16.0.1", 5, 1),
			farForward(1, 2), farPlain(2, p4info.IDActionPass), farPlain(3, p4info.IDActionPunt),
			lbrSet(1, 1, 3, 2, 1),
			pdrEntry("10.2.0.0", 10, 1),
		}
		v2 := []*p4v1.TableEntry{
			tunnelEntry(1, 3, "172.16.1.1", "172.16.1.2", 42),
			termEntry("172.16.0.2", "172.16.0.1", 5, 2),
			farEncap(1, 1), farBalance(2, 1), farPlain(3, p4info.IDActionDrop),
			lbrSet(1, 2, 5),
			pdrEntry("10.2.0.0", 10, 3),
		}
		keyOf := func(te *p4v1.TableEntry) *p4v1.TableEntry {
			return &p4v1.TableEntry{TableId: te.TableId, Match: te.Match, Priority: te.Priority}
		}
		batch := func(f func(*p4v1.TableEntry) *p4v1.Update, es []*p4v1.TableEntry) []*p4v1.Update {
			var out []*p4v1.Update
			for _, e := range es {
				out = append(out, f(e))
			}
			return out
		}
		codesOf := func(c codes.Code) []codes.Code { return slices.Repeat([]codes.Code{c}, len(v1)) }

		// INSERT.
		h.mustWrite(20, batch(insert, v1)...)
		h.wantEntries(h.readTable(&p4v1.TableEntry{}), v1...)
		if h.mem != nil {
			if got := h.mem.Tunnels(); !reflect.DeepEqual(got, map[dataplane.TunnelID]dataplane.Tunnel{1: {Port: 2, Src: local0, Dst: peer0}}) {
				t.Errorf("tunnels %v", got)
			}
			if got := h.mem.Terms(); !reflect.DeepEqual(got, map[dataplane.TunnelTerm]dataplane.TunnelID{term: 1}) {
				t.Errorf("terms %v", got)
			}
			if got := h.mem.FARs(); !reflect.DeepEqual(got, map[dataplane.FARID]dataplane.FAR{
				1: {Action: dataplane.ActForward, Port: 2}, 2: {Action: dataplane.ActPass}, 3: {Action: dataplane.ActPunt}}) {
				t.Errorf("fars %v", got)
			}
			if got := h.mem.LBRs(); !reflect.DeepEqual(got, map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 1, Weight: 3}, {Tunnel: 2, Weight: 1}}}) {
				t.Errorf("lbrs %v", got)
			}
			_, p := onlyRule(t, h)
			want := dataplane.MatchAll()
			want.Dst = dataplane.Ternary[uint32]{Value: 0x0a020000, Mask: 0xffff0000}
			if p != (dataplane.PDR{Match: want, Priority: 10, FAR: 1}) {
				t.Errorf("pdr %+v", p)
			}
		}
		wantUpdates(t, h.write(20, batch(insert, v1)...), codesOf(codes.AlreadyExists)...)

		// MODIFY: the action changes, the PDR keeps its identity (and counter).
		var pdrID dataplane.PDRID
		if h.mem != nil {
			pdrID, _ = onlyRule(t, h)
			must(t, h.mem.AddPDRCount(pdrID, dataplane.Counter{Packets: 4, Bytes: 400}))
		}
		h.mustWrite(20, batch(modify, v2)...)
		h.wantEntries(h.readTable(&p4v1.TableEntry{}), v2...)
		if h.mem != nil {
			if got := h.mem.Tunnels()[1]; got != (dataplane.Tunnel{Port: 3, Src: local1, Dst: peer1, Key: 42}) {
				t.Errorf("tunnel after modify %+v", got)
			}
			if got := h.mem.Terms()[term]; got != 2 {
				t.Errorf("term decapsulates onto %d after modify", got)
			}
			if got := h.mem.FARs(); !reflect.DeepEqual(got, map[dataplane.FARID]dataplane.FAR{
				1: {Action: dataplane.ActEncap, Tunnel: 1}, 2: {Action: dataplane.ActBalance, LBR: 1}, 3: {Action: dataplane.ActDrop}}) {
				t.Errorf("fars after modify %v", got)
			}
			if got := h.mem.LBRs()[1]; !reflect.DeepEqual(got, []dataplane.LBRMember{{Tunnel: 2, Weight: 5}}) {
				t.Errorf("lbr after modify %v", got)
			}
			id, p := onlyRule(t, h)
			if id != pdrID || p.FAR != 3 {
				t.Errorf("pdr after modify: id %d (was %d), far %d", id, pdrID, p.FAR)
			}
			got := h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, CounterData: &p4v1.CounterData{}})
			if len(got) != 1 || got[0].GetCounterData().GetPacketCount() != 4 {
				t.Errorf("pdr counter lost by modify: %v", got)
			}
		}
		// MODIFY of a missing entry.
		missing := []*p4v1.TableEntry{tunnelEntry(9, 2, "172.16.0.1", "172.16.0.2", 0), termEntry("172.16.0.9", "172.16.0.1", 0, 1),
			farForward(9, 1), farForward(10, 1), farForward(11, 1), lbrSet(9, 1, 1), pdrEntry("10.9.0.0", 10, 1)}
		wantUpdates(t, h.write(20, batch(modify, missing)...), codesOf(codes.NotFound)...)

		// DELETE names the key only.
		h.mustWrite(20, batch(func(te *p4v1.TableEntry) *p4v1.Update { return del(keyOf(te)) }, v1)...)
		if got := h.readTable(&p4v1.TableEntry{}); len(got) != 0 {
			t.Errorf("entries left after delete: %v", got)
		}
		if h.mem != nil && len(h.mem.PDRs())+len(h.mem.FARs())+len(h.mem.LBRs())+len(h.mem.Tunnels())+len(h.mem.Terms()) != 0 {
			t.Errorf("data path not emptied: %v %v %v %v %v", h.mem.PDRs(), h.mem.FARs(), h.mem.LBRs(), h.mem.Tunnels(), h.mem.Terms())
		}
		wantUpdates(t, h.write(20, batch(del, v1)...), codesOf(codes.NotFound)...)
	})
}

// TestDefaultEntry: pdr's default entry is read with is_default_action, set to
// drop or pass with MODIFY, and reset by a MODIFY without action; other
// operations on default entries are refused.
func TestDefaultEntry(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		readDefault := func() []*p4v1.TableEntry {
			return h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, IsDefaultAction: true})
		}
		wantDP := func(a dataplane.Action) {
			t.Helper()
			if h.mem != nil && h.mem.PDRDefault() != (dataplane.FAR{Action: a}) {
				t.Errorf("data path default %v, want %v", h.mem.PDRDefault(), a)
			}
		}
		h.wantEntries(readDefault(), pdrDefault(p4info.IDActionPass))

		h.mustWrite(20, modify(pdrDefault(p4info.IDActionDrop)))
		h.wantEntries(readDefault(), pdrDefault(p4info.IDActionDrop))
		wantDP(dataplane.ActDrop)
		// The default entry is not part of a plain wildcard read.
		if got := h.readTable(&p4v1.TableEntry{}); len(got) != 0 {
			t.Errorf("wildcard read returned %v", got)
		}

		withMeta := pdrDefault(p4info.IDActionPass)
		withMeta.ControllerMetadata, withMeta.Metadata = 9, []byte("onos")
		h.mustWrite(20, modify(withMeta))
		h.wantEntries(readDefault(), withMeta)
		wantDP(dataplane.ActPass)

		h.mustWrite(20, modify(pdrDefault(p4info.IDActionDrop)))
		h.mustWrite(20, modify(pdrDefault(0))) // reset: no action
		h.wantEntries(readDefault(), pdrDefault(p4info.IDActionPass))
		wantDP(dataplane.ActPass)

		farDefault := &p4v1.TableEntry{TableId: p4info.IDTableFAR, IsDefaultAction: true, Action: action(p4info.IDActionDrop)}
		setFAR := pdrDefault(0)
		setFAR.Action = action(p4info.IDActionSetFAR, param(p4info.IDParamSetFARFarID, u(1)))
		wantUpdates(t, h.write(20, insert(pdrDefault(p4info.IDActionDrop)), del(pdrDefault(0)), modify(setFAR), modify(farDefault)),
			codes.InvalidArgument, codes.InvalidArgument, codes.PermissionDenied, codes.PermissionDenied)
		h.wantEntries(readDefault(), pdrDefault(p4info.IDActionPass))

		// Every table's default entry: pdr's as set, non_ip's its const pass,
		// far_qos's its const police, sla_class's its const no_sla, the others their const drop.
		all := h.readTable(&p4v1.TableEntry{IsDefaultAction: true})
		seen := map[uint32]bool{}
		for _, e := range all {
			seen[e.TableId] = true
			if !e.IsDefaultAction || len(e.Match) != 0 {
				t.Errorf("default-entry read returned %v", e)
			}
			want := p4info.IDActionDrop
			switch e.TableId {
			case p4info.IDTableNonIP:
				want = p4info.IDActionPass
			case p4info.IDTableFARQoS:
				want = p4info.IDActionPolice
			case p4info.IDTableSLAClass:
				want = p4info.IDActionNoSLA
			}
			if e.TableId != p4info.IDTablePDR && e.GetAction().GetAction().GetActionId() != want {
				t.Errorf("const default entry %v", e)
			}
		}
		if !seen[p4info.IDTableNonIP] {
			t.Errorf("no non_ip default entry in %v", all)
		}
		wantUpdates(t, h.write(20, modify(&p4v1.TableEntry{TableId: p4info.IDTableNonIP, IsDefaultAction: true, Action: action(p4info.IDActionPass)})),
			codes.PermissionDenied)
		if !seen[p4info.IDTablePDR] {
			t.Errorf("no pdr default entry in %v", all)
		}
	})
}

// TestDefaultEntryCounter: counter_data of pdr's default entry is the count of
// packets that matched no rule, returned only when asked for.
func TestDefaultEntryCounter(t *testing.T) {
	memOnly(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.mem.AddPDRDefaultCount(dataplane.Counter{Packets: 3, Bytes: 300})
		got := h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, IsDefaultAction: true, CounterData: &p4v1.CounterData{}})
		if len(got) != 1 || !proto.Equal(got[0].CounterData, &p4v1.CounterData{PacketCount: 3, ByteCount: 300}) {
			t.Errorf("default entry with counter_data: %v", got)
		}
		got = h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, IsDefaultAction: true})
		if len(got) != 1 || got[0].CounterData != nil {
			t.Errorf("default entry without counter_data asked: %v", got)
		}
		d := h.mustRead(directEntity(&p4v1.DirectCounterEntry{TableEntry: pdrDefault(0)}))
		if len(d) != 1 || !proto.Equal(d[0].GetDirectCounterEntry().GetData(), &p4v1.CounterData{PacketCount: 3, ByteCount: 300}) {
			t.Errorf("direct counter of the default entry: %v", d)
		}
	})
}

// TestActionProfiles: members and groups of lbr_selector, and lbr entries using
// them; the data path's LBR follows every change.
func TestActionProfiles(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		ins := func(e *p4v1.Entity) *p4v1.Update { return update(p4v1.Update_INSERT, e) }
		mod := func(e *p4v1.Entity) *p4v1.Update { return update(p4v1.Update_MODIFY, e) }
		rm := func(e *p4v1.Entity) *p4v1.Update { return update(p4v1.Update_DELETE, e) }
		wantLBRs := func(want map[dataplane.LBRID][]dataplane.LBRMember) {
			t.Helper()
			if h.mem != nil && !reflect.DeepEqual(h.mem.LBRs(), want) {
				t.Errorf("data path LBRs %v, want %v", h.mem.LBRs(), want)
			}
		}
		wantRead := func(q *p4v1.Entity, want ...*p4v1.Entity) {
			t.Helper()
			got := h.mustRead(q)
			if len(got) != len(want) {
				t.Errorf("read %v: %v, want %v", q, got, want)
				return
			}
			for i := range want {
				if !proto.Equal(got[i], want[i]) {
					t.Errorf("read %v: entity %d is %v, want %v", q, i, got[i], want[i])
				}
			}
		}

		m1, m2, m3 := memberEntity(member(1, 1)), memberEntity(member(2, 2)), memberEntity(member(3, 3))
		h.mustWrite(20, ins(m1), ins(m2), ins(m3))
		g10 := groupEntity(group(10, 1, 1, 2, 3))
		h.mustWrite(20, ins(g10))
		h.mustWrite(20, insert(lbrGroup(1, 10)), insert(lbrMember(2, 3)))
		wantLBRs(map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 3}}, 2: {{Tunnel: 3, Weight: 1}}})
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableLBR}), lbrGroup(1, 10), lbrMember(2, 3))

		wantRead(memberEntity(&p4v1.ActionProfileMember{}), m1, m2, m3)
		wantRead(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 2}), m2)
		wantRead(groupEntity(&p4v1.ActionProfileGroup{}), g10)
		wantRead(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: 10}), g10)
		_, err := h.read(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: 0x11000009}))
		wantCode(t, err, codes.NotFound, "read of an unknown action profile")

		// Group MODIFY: the LBR follows.
		g10b := groupEntity(group(10, 2, 2, 3, 1))
		h.mustWrite(20, mod(g10b))
		wantLBRs(map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 2, Weight: 2}, {Tunnel: 3, Weight: 1}}, 2: {{Tunnel: 3, Weight: 1}}})
		wantRead(groupEntity(&p4v1.ActionProfileGroup{}), g10b)

		// Member MODIFY: every LBR using it, directly or through a group, follows.
		m3b := memberEntity(member(3, 4))
		h.mustWrite(20, mod(m3b))
		wantLBRs(map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 2, Weight: 2}, {Tunnel: 4, Weight: 1}}, 2: {{Tunnel: 4, Weight: 1}}})
		wantRead(memberEntity(&p4v1.ActionProfileMember{}), m1, m2, m3b)

		// Members and groups in use cannot go; unknown ones are NOT_FOUND.
		wantUpdates(t, h.write(20,
			rm(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 3})), // in group 10 and lbr 2
			rm(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 2})), // in group 10
			rm(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: 10})),   // used by lbr 1
			rm(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 1})), // unused
			ins(m2),                                  // exists
			mod(memberEntity(member(9, 1))),          // missing
			ins(groupEntity(group(11, 1, 1, 99, 1))), // unknown member
			insert(lbrGroup(3, 12)),                  // unknown group
			insert(lbrMember(4, 98)),                 // unknown member
		), codes.FailedPrecondition, codes.FailedPrecondition, codes.FailedPrecondition, codes.OK,
			codes.AlreadyExists, codes.NotFound, codes.NotFound, codes.NotFound, codes.NotFound)
		wantRead(memberEntity(&p4v1.ActionProfileMember{}), m2, m3b)
		wantLBRs(map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 2, Weight: 2}, {Tunnel: 4, Weight: 1}}, 2: {{Tunnel: 4, Weight: 1}}})

		// An empty group is allowed; its LBR holds no member, so it is not in the
		// data path (its packets drop like a miss).
		h.mustWrite(20, ins(groupEntity(group(11))))
		h.mustWrite(20, insert(lbrGroup(3, 11)))
		wantLBRs(map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 2, Weight: 2}, {Tunnel: 4, Weight: 1}}, 2: {{Tunnel: 4, Weight: 1}}})
		// Filling it installs the LBR.
		h.mustWrite(20, mod(groupEntity(group(11, 2, 1))))
		wantLBRs(map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: 2, Weight: 2}, {Tunnel: 4, Weight: 1}}, 2: {{Tunnel: 4, Weight: 1}}, 3: {{Tunnel: 2, Weight: 1}}})

		// Unwind in dependency order.
		h.mustWrite(20, del(&p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: lbrKey(1)}), del(&p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: lbrKey(2)}),
			del(&p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: lbrKey(3)}))
		wantLBRs(map[dataplane.LBRID][]dataplane.LBRMember{})
		h.mustWrite(20, rm(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: 10})),
			rm(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: 11})))
		h.mustWrite(20, rm(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 2})),
			rm(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 3})))
		if got := h.mustRead(memberEntity(&p4v1.ActionProfileMember{}), groupEntity(&p4v1.ActionProfileGroup{})); len(got) != 0 {
			t.Errorf("left: %v", got)
		}
	})
}

// TestBatchErrors: CONTINUE_ON_ERROR attempts every update and reports one
// p4.v1.Error per update, in order, under UNKNOWN; the other atomicity modes are
// UNIMPLEMENTED and change nothing.
func TestBatchErrors(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.mustWrite(20, insert(farForward(1, 1)))

		// A successful batch gets an empty response.
		r, err := h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, ElectionId: eid(20), Updates: []*p4v1.Update{insert(farForward(2, 1))}})
		if err != nil || !proto.Equal(r, &p4v1.WriteResponse{}) {
			t.Errorf("successful write: %v, %v", r, err)
		}
		r, err = h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, ElectionId: eid(20)})
		if err != nil || !proto.Equal(r, &p4v1.WriteResponse{}) {
			t.Errorf("empty batch: %v, %v", r, err)
		}

		badMask := pdrEntry("10.3.0.1", 10, 1) // host bits outside the mask
		noPrio := pdrEntry("10.4.0.0", 0, 1)
		wideParam := farForward(7, 1)
		wideParam.Action.GetAction().Params[0].Value = []byte{1, 0, 0} // 17 bits for a 16-bit port
		ups := []*p4v1.Update{
			insert(farForward(3, 1)),            // OK
			insert(farForward(1, 2)),            // ALREADY_EXISTS
			insert(badMask),                     // INVALID_ARGUMENT
			insert(pdrEntry("10.2.0.0", 10, 1)), // OK
			insert(noPrio),                      // INVALID_ARGUMENT
			del(farOnly(9)),                     // NOT_FOUND
			insert(wideParam),                   // OUT_OF_RANGE
			insert(farForward(8, 99)),           // INVALID_ARGUMENT (data path: port ≥ MaxPorts)
			update(p4v1.Update_INSERT, memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: 1,
				Action: &p4v1.Action{ActionId: p4info.IDActionDrop}})), // PERMISSION_DENIED (drop is DEFAULT_ONLY in lbr)
			{Type: p4v1.Update_INSERT},                                     // INVALID_ARGUMENT: no entity
			update(p4v1.Update_UNSPECIFIED, tableEntity(farForward(4, 1))), // INVALID_ARGUMENT
			update(p4v1.Update_INSERT, &p4v1.Entity{Entity: &p4v1.Entity_RegisterEntry{RegisterEntry: &p4v1.RegisterEntry{}}}), // UNIMPLEMENTED
			update(p4v1.Update_MODIFY, counterEntity(&p4v1.CounterEntry{CounterId: p4info.IDCounterPortRX, Index: &p4v1.Index{Index: 1 << 20},
				Data: &p4v1.CounterData{}})), // OUT_OF_RANGE
			update(p4v1.Update_INSERT, tableEntity(&p4v1.TableEntry{TableId: 0x0200ffff})), // NOT_FOUND
			insert(farForward(5, 1)), // OK
		}
		err = h.write(20, ups...)
		wantUpdates(t, err, codes.OK, codes.AlreadyExists, codes.InvalidArgument, codes.OK, codes.InvalidArgument,
			codes.NotFound, codes.OutOfRange, codes.InvalidArgument, codes.PermissionDenied, codes.InvalidArgument,
			codes.InvalidArgument, codes.Unimplemented, codes.OutOfRange, codes.NotFound, codes.OK)
		for i, d := range status.Convert(err).Details() {
			e := d.(*p4v1.Error)
			if (e.CanonicalCode == 0) != (e.Message == "") {
				t.Errorf("update %d: error %v (OK carries no message, failures do)", i, e)
			}
		}
		h.wantEntries(h.readTable(&p4v1.TableEntry{}), farForward(1, 1), farForward(2, 1), farForward(3, 1), farForward(5, 1), pdrEntry("10.2.0.0", 10, 1))

		// Only CONTINUE_ON_ERROR is supported.
		for _, a := range []p4v1.WriteRequest_Atomicity{p4v1.WriteRequest_ROLLBACK_ON_ERROR, p4v1.WriteRequest_DATAPLANE_ATOMIC} {
			_, err := h.c.Write(t.Context(), &p4v1.WriteRequest{DeviceId: 1, ElectionId: eid(20), Atomicity: a,
				Updates: []*p4v1.Update{insert(farForward(6, 1))}})
			wantCode(t, err, codes.Unimplemented, a.String())
			if len(status.Convert(err).Details()) != 0 {
				t.Errorf("%v: RPC-wide error with details", a)
			}
		}
		// Neither is writing as a backup: an RPC-wide error, nothing written.
		h.controller(10)
		err = h.write(10, insert(farForward(6, 1)))
		wantCode(t, err, codes.PermissionDenied, "backup write")
		if len(status.Convert(err).Details()) != 0 {
			t.Errorf("RPC-wide error with details: %v", err)
		}
		if got := h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(6)}); len(got) != 0 {
			t.Errorf("refused write left %v", got)
		}
	})
}

// dpState is everything the in-memory data path holds.
type dpState struct {
	PDRs    map[dataplane.PDRID]dataplane.PDR
	Default dataplane.FAR
	FARs    map[dataplane.FARID]dataplane.FAR
	LBRs    map[dataplane.LBRID][]dataplane.LBRMember
	Tunnels map[dataplane.TunnelID]dataplane.Tunnel
	Terms   map[dataplane.TunnelTerm]dataplane.TunnelID
}

func snapshot(h *harness) dpState {
	return dpState{h.mem.PDRs(), h.mem.PDRDefault(), h.mem.FARs(), h.mem.LBRs(), h.mem.Tunnels(), h.mem.Terms()}
}

// TestFailedUpdateLeavesNoTrace: updates refused by the server or by the data
// path — including ones that must undo earlier steps — leave what reads return
// and (checked on memdp with its read-back accessors) the data path exactly as
// they were.
func TestFailedUpdateLeavesNoTrace(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.mustWrite(20, insert(tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0)), insert(termEntry("172.16.0.2", "172.16.0.1", 0, 1)),
			insert(farForward(1, 2)), insert(pdrEntry("10.2.0.0", 10, 1)), insert(lbrSet(1, 1, 1)),
			update(p4v1.Update_INSERT, memberEntity(member(1, 1))), update(p4v1.Update_INSERT, memberEntity(member(2, 2))))
		h.mustWrite(20, update(p4v1.Update_INSERT, groupEntity(group(1, 1, 1, 2, 1))))
		h.mustWrite(20, insert(lbrGroup(2, 1)), insert(lbrMember(3, 1)), modify(pdrDefault(p4info.IDActionDrop)))

		var before dpState
		if h.mem != nil {
			before = snapshot(h)
		}
		everything := []*p4v1.Entity{tableEntity(&p4v1.TableEntry{}), tableEntity(pdrDefault(0)),
			memberEntity(&p4v1.ActionProfileMember{}), groupEntity(&p4v1.ActionProfileGroup{})}
		readBefore := h.mustRead(everything...)

		multicast := tunnelEntry(2, 2, "172.16.0.1", "224.0.0.5", 0)
		ups := []*p4v1.Update{
			insert(farForward(2, 99)),                                 // port out of range (data path)
			insert(farEncap(2, 99)),                                   // tunnel id out of range (data path)
			modify(farForward(1, 99)),                                 // modify refused: far 1 unchanged
			insert(tunnelEntry(99, 2, "172.16.0.1", "172.16.0.2", 0)), // tunnel id out of range
			insert(multicast),                                         // multicast underlay
			modify(tunnelEntry(1, 99, "172.16.0.1", "172.16.0.2", 0)), // port out of range
			insert(lbrSet(4, 99, 1)),                                  // member tunnel out of range
			insert(lbrSet(5, 1, 1000, 2, 100)),                        // total weight above the Maglev table
			modify(lbrSet(1, 1, 1000, 2, 100)),
			// Changes that must reinstall LBRs and be undone when that fails:
			update(p4v1.Update_MODIFY, memberEntity(member(1, 99))),            // lbr 2 (group) and 3 (member) use it
			update(p4v1.Update_MODIFY, groupEntity(group(1, 1, 1000, 2, 100))), // lbr 2
			insert(lbrGroup(6, 7)), insert(lbrMember(6, 7)), // unknown group and member
		}
		if h.mem != nil {
			// Decapsulating onto tunnel 99 (≥ MaxTunnels). memdp refuses it;
			// EBPF.SetTunnelTerm does not check the tunnel id (a data-path gap,
			// reported), so these run on memdp only.
			ups = append(ups, insert(termEntry("172.16.0.3", "172.16.0.1", 0, 99)), modify(termEntry("172.16.0.2", "172.16.0.1", 0, 99)))
		}
		err := h.write(20, ups...)
		if got := updateCodes(err); len(got) != len(ups) || slices.Contains(got, codes.OK) {
			t.Fatalf("every update should fail: %v", got)
		}
		if h.mem == nil {
			// the eBPF data path has no read-back: reads below must do
		} else if after := snapshot(h); !reflect.DeepEqual(after, before) {
			t.Errorf("failed batch changed the data path:\nbefore %+v\nafter  %+v", before, after)
		}
		readAfter := h.mustRead(everything...)
		if len(readAfter) != len(readBefore) {
			t.Fatalf("failed batch changed reads: %d entities, was %d", len(readAfter), len(readBefore))
		}
		for i := range readBefore {
			if !proto.Equal(readAfter[i], readBefore[i]) {
				t.Errorf("failed batch changed read entity %d: %v, was %v", i, readAfter[i], readBefore[i])
			}
		}
	})
}

// TestResourceExhausted: a full table refuses inserts with RESOURCE_EXHAUSTED,
// update by update, while modifies still work; reads and the data path agree.
func TestResourceExhausted(t *testing.T) {
	small := dataplane.Options{MaxPDRs: 4, MaxFARs: 2, MaxLBRs: 1, MaxTunnels: 16, MaxTerms: 1, MaxPorts: 16, FlowCacheSize: 16}
	forEachDP(t, small, func(t *testing.T, h *harness) {
		h.primary(20)
		re := codes.ResourceExhausted

		wantUpdates(t, h.write(20, insert(farForward(1, 1)), insert(farForward(2, 1)), insert(farForward(3, 1)), modify(farForward(1, 2))),
			codes.OK, codes.OK, re, codes.OK)

		// One batch of PDR inserts past capacity: the first four fit.
		var ups []*p4v1.Update
		for i := range 6 {
			ups = append(ups, insert(pdrEntry("10."+string(rune('0'+i))+".0.0", 10, 1)))
		}
		wantUpdates(t, h.write(20, ups...), codes.OK, codes.OK, codes.OK, codes.OK, re, re)
		if got := h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR}); len(got) != 4 {
			t.Errorf("read %d pdr entries, want 4", len(got))
		}
		if h.mem != nil && len(h.mem.PDRs()) != 4 {
			t.Errorf("data path has %d PDRs, want 4", len(h.mem.PDRs()))
		}
		// Room again after a delete.
		h.mustWrite(20, del(pdrKey(pdrEntry("10.0.0.0", 10, 1))))
		h.mustWrite(20, insert(pdrEntry("10.5.0.0", 10, 1)))
		wantUpdates(t, h.write(20, insert(pdrEntry("10.6.0.0", 10, 1))), re)

		wantUpdates(t, h.write(20, insert(lbrSet(1, 1, 1)), insert(lbrSet(2, 1, 1)), modify(lbrSet(1, 2, 1))), codes.OK, re, codes.OK)
		wantUpdates(t, h.write(20, insert(termEntry("172.16.0.2", "172.16.0.1", 0, 1)), insert(termEntry("172.16.0.3", "172.16.0.1", 0, 1))), codes.OK, re)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableLBR}), lbrSet(1, 2, 1))
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm}), termEntry("172.16.0.2", "172.16.0.1", 0, 1))
	})
}
