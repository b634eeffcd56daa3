package p4rtsrv

import (
	"bytes"
	"context"
	"slices"
	"testing"
	"time"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
)

// This file replays what stock ONOS does to a P4Runtime device, as described in
// /work/shared/reference/onos-p4runtime.md ("the reference" below, §2.x), and
// checks every answer the way ONOS reads it. It is a script: each step names the
// ONOS behaviour it mirrors. gNMI and gNOI are out of scope here.

// onosNode is one ONOS instance's P4Runtime client for the device.
type onosNode struct {
	t    *testing.T
	h    *harness
	name string
	eid  *p4v1.Uint128 // the election id last sent
	s    *ctrl
}

// onosElectionID is P4RuntimeHandshaker.roleChanged's election id:
// term*MAX_CLUSTER_SIZE - preference, MAX_CLUSTER_SIZE = 20 (reference §2.2, step 2).
func onosElectionID(term, preference uint64) *p4v1.Uint128 {
	return &p4v1.Uint128{Low: term*20 - preference}
}

// onosFingerprint stands for DefaultPiPipeconf.generateFingerprint(): an opaque
// uint64 the device stores and echoes (reference §2.2, step 4).
const onosFingerprint = 0x5eed_0000_c0ff_ee42

// setMastership opens the StreamChannel (once) and sends MasterArbitrationUpdate
// {device_id, election_id} with no role (StreamClientImpl.sendMasterArbitrationUpdate).
func (o *onosNode) setMastership(term, preference uint64) {
	o.t.Helper()
	o.eid = onosElectionID(term, preference)
	if o.s == nil {
		o.s = o.h.open()
	}
	o.s.arbitrate(1, o.eid, "")
}

// arbitration receives the next notification and interprets it as
// StreamClientImpl.handleArbitrationUpdate does: only an update with both
// election_id and status set is handled; status OK means master.
func (o *onosNode) arbitration() (master bool, highest *p4v1.Uint128) {
	o.t.Helper()
	u := o.s.arbitration()
	if u.ElectionId == nil || u.Status == nil {
		o.t.Fatalf("%s: ONOS ignores an arbitration update without election_id and status: %v", o.name, u)
	}
	if u.Role != nil {
		o.t.Errorf("%s: ONOS sends no role, the device answered with one: %v", o.name, u.Role)
	}
	return codes.Code(u.Status.Code) == codes.OK, u.ElectionId
}

// probe is the reachability check (P4RuntimeClientImpl.probeService, reference
// §2.2 step 3): any response means reachable.
func (o *onosNode) probe() {
	o.t.Helper()
	if _, err := o.h.c.GetForwardingPipelineConfig(o.t.Context(), &p4v1.GetForwardingPipelineConfigRequest{DeviceId: 1,
		ResponseType: p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY}); err != nil {
		o.t.Errorf("%s: reachability probe failed: %v", o.name, err)
	}
}

// pipelineIsSet is the watchdog's check (PipelineConfigClientImpl, reference §2.2
// step 4): Get COOKIE_ONLY, then compare the cookie with the pipeconf
// fingerprint. FAILED_PRECONDITION and an unset config both mean "not set".
func (o *onosNode) pipelineIsSet() bool {
	o.t.Helper()
	r, err := o.h.c.GetForwardingPipelineConfig(o.t.Context(), &p4v1.GetForwardingPipelineConfigRequest{DeviceId: 1,
		ResponseType: p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY})
	switch {
	case status.Code(err) == codes.FailedPrecondition, err == nil && r.Config == nil:
		return false
	case err != nil:
		o.t.Fatalf("%s: pipeline watchdog Get: %v", o.name, err)
	}
	if r.Config.P4Info != nil || len(r.Config.P4DeviceConfig) > 0 {
		o.t.Errorf("%s: COOKIE_ONLY answered with more than the cookie (ONOS warns): %v", o.name, r.Config)
	}
	if r.Config.Cookie == nil {
		o.t.Errorf("%s: no cookie: ONOS would fall back to comparing p4info", o.name)
		return false
	}
	return r.Config.Cookie.Cookie == onosFingerprint
}

// setPipeline pushes the pipeconf: VERIFY_AND_COMMIT with the p4info, the
// driver's device config and the fingerprint as cookie; success is an empty
// response (PipelineConfigClientImpl.setPipelineConfig).
func (o *onosNode) setPipeline(info *p4configv1.P4Info, deviceConfig []byte) {
	o.t.Helper()
	ctx, cancel := context.WithTimeout(o.t.Context(), 60*time.Second)
	defer cancel()
	r, err := o.h.c.SetForwardingPipelineConfig(ctx, &p4v1.SetForwardingPipelineConfigRequest{DeviceId: 1, ElectionId: o.eid,
		Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: info, P4DeviceConfig: deviceConfig,
			Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: onosFingerprint}}})
	if err != nil || !proto.Equal(r, &p4v1.SetForwardingPipelineConfigResponse{}) {
		o.t.Fatalf("%s: SetForwardingPipelineConfig: %v, %v; ONOS needs an empty response", o.name, r, err)
	}
}

// writeOutcome is ONOS's per-update result (P4RuntimeWriteClient.EntityUpdateStatus).
type writeOutcome string

const (
	onosSuccess     writeOutcome = "SUCCESS"
	onosExists      writeOutcome = "ALREADY_EXIST"
	onosNotFound    writeOutcome = "ENTITY_NOT_FOUND"
	onosOtherError  writeOutcome = "OTHER_ERROR"
	onosPermDenied  writeOutcome = "PERMISSION_DENIED (re-check mastership)"
	onosWholeFailed writeOutcome = "ALL FAILED"
)

// write sends WriteRequest{device_id, election_id, updates, CONTINUE_ON_ERROR}
// and parses the outcome as WriteResponseImpl does (reference §2.4): success is
// an empty WriteResponse; per-update errors are read only from an UNKNOWN status
// whose grpc-status-details-bin trailer holds exactly one p4.v1.Error per update.
func (o *onosNode) write(ups ...*p4v1.Update) []writeOutcome {
	o.t.Helper()
	var trailer metadata.MD
	r, err := o.h.c.Write(o.t.Context(), &p4v1.WriteRequest{DeviceId: 1, ElectionId: o.eid, Updates: ups,
		Atomicity: p4v1.WriteRequest_CONTINUE_ON_ERROR}, grpc.Trailer(&trailer))
	all := func(w writeOutcome) []writeOutcome {
		out := make([]writeOutcome, len(ups))
		for i := range out {
			out[i] = w
		}
		return out
	}
	if err == nil {
		if !proto.Equal(r, &p4v1.WriteResponse{}) {
			o.t.Errorf("%s: write succeeded with a non-empty response %v", o.name, r)
		}
		return all(onosSuccess)
	}
	if status.Code(err) == codes.PermissionDenied {
		return all(onosPermDenied)
	}
	bin := trailer.Get("grpc-status-details-bin")
	if status.Code(err) != codes.Unknown || len(bin) != 1 {
		o.t.Errorf("%s: write failed as %v with trailer %v: ONOS cannot tell which update failed", o.name, err, trailer)
		return all(onosWholeFailed)
	}
	var st rpcstatus.Status
	if err := proto.Unmarshal([]byte(bin[0]), &st); err != nil || len(st.Details) != len(ups) {
		o.t.Errorf("%s: status details %v (%v): want exactly one p4.v1.Error per update", o.name, &st, err)
		return all(onosWholeFailed)
	}
	out := make([]writeOutcome, len(ups))
	for i, d := range st.Details {
		var e p4v1.Error
		if err := d.UnmarshalTo(&e); err != nil {
			o.t.Errorf("%s: detail %d is not a p4.v1.Error: %v", o.name, i, d)
			return all(onosWholeFailed)
		}
		switch codes.Code(e.CanonicalCode) {
		case codes.OK:
			out[i] = onosSuccess
		case codes.AlreadyExists:
			out[i] = onosExists
		case codes.NotFound:
			out[i] = onosNotFound
		default:
			out[i] = onosOtherError
		}
	}
	return out
}

// mustWrite is a write whose every update must succeed.
func (o *onosNode) mustWrite(ups ...*p4v1.Update) {
	o.t.Helper()
	for i, w := range o.write(ups...) {
		if w != onosSuccess {
			o.t.Errorf("%s: update %d (%v): %s", o.name, i, ups[i], w)
		}
	}
}

// nonConstTables are the tables ONOS reads: not is_const_table (reference §2.3).
func nonConstTables(info *p4configv1.P4Info) []*p4configv1.Table {
	var out []*p4configv1.Table
	for _, t := range info.Tables {
		if !t.IsConstTable {
			out = append(out, t)
		}
	}
	return out
}

// readDefaultEntries is AbstractP4RuntimePipelineProgrammable.getDefaultEntries:
// the default entry of every non-const table without const_default_action_id.
func (o *onosNode) readDefaultEntries(info *p4configv1.P4Info) []*p4v1.TableEntry {
	o.t.Helper()
	var q []*p4v1.Entity
	for _, t := range nonConstTables(info) {
		if t.ConstDefaultActionId == 0 {
			q = append(q, tableEntity(&p4v1.TableEntry{TableId: t.Preamble.Id, IsDefaultAction: true}))
		}
	}
	ents, err := o.h.read(q...)
	if err != nil {
		o.t.Fatalf("%s: default-entry read failed (ONOS then sees no entries at all): %v", o.name, err)
	}
	var out []*p4v1.TableEntry
	for _, e := range ents {
		out = append(out, e.GetTableEntry())
	}
	return out
}

// readFlows is P4RuntimeFlowRuleProgrammable.getFlowEntries with the default
// driver properties (reference §2.3): ONE ReadRequest with, per non-const table,
// TableEntry{table_id} (counter_data only if the table has a direct counter) and,
// for tables without a const default action, the same with is_default_action.
func (o *onosNode) readFlows(info *p4configv1.P4Info) (entries, defaults []*p4v1.TableEntry) {
	o.t.Helper()
	direct := map[uint32]bool{}
	for _, dc := range info.DirectCounters {
		direct[dc.DirectTableId] = true
	}
	var q []*p4v1.Entity
	for _, t := range nonConstTables(info) {
		te := &p4v1.TableEntry{TableId: t.Preamble.Id}
		if direct[t.Preamble.Id] {
			te.CounterData = &p4v1.CounterData{}
		}
		q = append(q, tableEntity(te))
		if t.ConstDefaultActionId == 0 {
			d := proto.Clone(te).(*p4v1.TableEntry)
			d.IsDefaultAction = true
			q = append(q, tableEntity(d))
		}
	}
	ents, err := o.h.read(q...)
	if err != nil {
		o.t.Fatalf("%s: flow read failed (ONOS then sees no entries at all): %v", o.name, err)
	}
	for _, e := range ents {
		te := e.GetTableEntry()
		if te == nil {
			o.t.Fatalf("%s: table read returned %v", o.name, e)
		}
		if direct[te.TableId] != (te.CounterData != nil) {
			o.t.Errorf("%s: counter_data must come with (and only with) entries of tables with a direct counter: %v", o.name, te)
		}
		if te.IsDefaultAction {
			defaults = append(defaults, te)
		} else {
			entries = append(entries, te)
		}
	}
	return entries, defaults
}

// onosFit pads every bytestring of an entry read from the device to its P4Info
// width, as ONOS ≥ 2.6 does on decode (copyAndFit in FieldMatchCodec and
// ActionCodec), and drops counter_data, which is not part of PiTableEntry
// equality.
func onosFit(t *testing.T, info *p4info.Index, te *p4v1.TableEntry) *p4v1.TableEntry {
	t.Helper()
	te = proto.Clone(te).(*p4v1.TableEntry)
	te.CounterData = nil
	fit := func(b []byte, n int) []byte {
		if len(b) > n {
			t.Fatalf("value %x wider than %d bytes", b, n)
		}
		return append(make([]byte, n-len(b)), b...)
	}
	tab, ok := info.Table(te.TableId)
	if !ok {
		t.Fatalf("unknown table in %v", te)
	}
	for _, m := range te.Match {
		f, _ := tab.MatchField(m.FieldId)
		n := f.Bytes()
		switch {
		case m.GetExact() != nil:
			m.GetExact().Value = fit(m.GetExact().Value, n)
		case m.GetTernary() != nil:
			m.GetTernary().Value, m.GetTernary().Mask = fit(m.GetTernary().Value, n), fit(m.GetTernary().Mask, n)
		case m.GetRange() != nil:
			m.GetRange().Low, m.GetRange().High = fit(m.GetRange().Low, n), fit(m.GetRange().High, n)
		}
	}
	if a := te.GetAction().GetAction(); a != nil {
		act, _ := info.Action(a.ActionId)
		for _, p := range a.Params {
			pi, _ := act.Param(p.ParamId)
			p.Value = fit(p.Value, pi.Bytes())
		}
	}
	return te
}

// A plausible linx pipeconf's flow rules, encoded as ONOS 2.7 encodes them:
// bytestrings padded to the field width (reference §2.4), priority
// 1 + flowRule.priority on pdr (the only table with ternary/range fields),
// controller_metadata 0. Members and groups come from the pipeconf's
// action-group programmable.
func onosTunnel(id uint32, port uint16, src, dst string, key uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnels,
		Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelsTunnelID, pad(uint64(id), 4))},
		Action: action(p4info.IDActionSetGRE, param(p4info.IDParamSetGREPort, pad(uint64(port), 2)),
			param(p4info.IDParamSetGRESrcAddr, ip4(src)), param(p4info.IDParamSetGREDstAddr, ip4(dst)),
			param(p4info.IDParamSetGREKey, pad(uint64(key), 4)))}
}

func onosTerm(remote, local string, key, tunnel uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm,
		Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelTermSrcAddr, ip4(remote)),
			exactField(p4info.IDFieldTunnelTermDstAddr, ip4(local)), exactField(p4info.IDFieldTunnelTermGREKey, pad(uint64(key), 4))},
		Action: action(p4info.IDActionDecap, param(p4info.IDParamDecapTunnelID, pad(uint64(tunnel), 4)))}
}

func onosFAR(id, act uint32, ps ...*p4v1.Action_Param) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldFARFarID, pad(uint64(id), 4))},
		Action: action(act, ps...)}
}

// onosPDR matches a direction and a destination prefix (ternary), flow-rule
// priority prio.
func onosPDR(direction uint8, dst, mask string, prio int32, far uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: 1 + prio,
		Match: []*p4v1.FieldMatch{
			ternaryField(p4info.IDFieldPDRDirection, pad(uint64(direction), 1), pad(3, 1)),
			ternaryField(p4info.IDFieldPDRDstAddr, ip4(dst), ip4(mask)),
		},
		Action: action(p4info.IDActionSetFAR, param(p4info.IDParamSetFARFarID, pad(uint64(far), 4)))}
}

func onosLBR(id, group uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldLBRLbrID, pad(uint64(id), 4))},
		Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: group}}}
}

func onosMember(id, tunnel uint32) *p4v1.ActionProfileMember {
	return &p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: id,
		Action: &p4v1.Action{ActionId: p4info.IDActionEncap, Params: []*p4v1.Action_Param{param(p4info.IDParamEncapTunnelID, pad(uint64(tunnel), 4))}}}
}

func onosPacketOut(port uint16, frame []byte) *p4v1.PacketOut {
	return &p4v1.PacketOut{Payload: frame, Metadata: []*p4v1.PacketMetadata{{MetadataId: p4info.IDMetaEgressPort, Value: pad(uint64(port), 2)}}}
}

// TestONOSReplay drives the server as stock ONOS does with the stratum-bmv2
// driver (p4_device_config = the pipeconf's BMV2_JSON bytes) and with
// stratum-dummy (one 0x00 byte), on both data paths.
func TestONOSReplay(t *testing.T) {
	drivers := []struct {
		name         string
		deviceConfig []byte
	}{
		{"stratum-bmv2", []byte(`{"__meta__": {"version": [2, 18]}, "program": "linx.p4"}`)},
		{"stratum-dummy", make([]byte, 1)}, // StratumDummyPipelineProgrammable: ByteBuffer.allocate(1)
	}
	for _, d := range drivers {
		t.Run(d.name, func(t *testing.T) {
			forEachDP(t, testOptions, func(t *testing.T, h *harness) { replayONOS(t, h, d.deviceConfig) })
		})
	}
}

func replayONOS(t *testing.T, h *harness, deviceConfig []byte) {
	// The pipeconf carries P4_INFO_TEXT: ONOS parses the committed p4info.txt and
	// sends that message (PipeconfHelper.getP4Info).
	info := &p4configv1.P4Info{}
	must(t, prototext.Unmarshal(p4info.FileText(), info))
	h.fitSizes(info)

	onos1 := &onosNode{t: t, h: h, name: "onos-1"}
	onos2 := &onosNode{t: t, h: h, name: "onos-2"}

	// §2.2 step 1: channel only, no RPC. Step 3 may already run: the P4Runtime
	// reachability probe, with device_id 1 as no stream exists yet.
	onos1.probe()

	// §2.2 step 2: onos-1 becomes master (term 1, preference 0): election id 20,
	// no role. The device answers with election_id and status OK.
	onos1.setMastership(1, 0)
	if master, highest := onos1.arbitration(); !master || !proto.Equal(highest, eid(20)) {
		t.Fatalf("onos-1 not master (%v, %v)", master, highest)
	}

	// §2.2 step 4, pipeline watchdog: Get COOKIE_ONLY; no config yet means "not
	// set", so the pipeconf is pushed with VERIFY_AND_COMMIT...
	if onos1.pipelineIsSet() {
		t.Fatal("a fresh device reports the pipeline as set")
	}
	onos1.setPipeline(info, deviceConfig)
	// ...then the default entry of every non-const table without a const
	// default action is read to seed the mirror: only pdr's, initially pass.
	defaults := onos1.readDefaultEntries(info)
	if len(defaults) != 1 || !proto.Equal(defaults[0], pdrDefault(p4info.IDActionPass)) {
		t.Fatalf("default entries %v, want pdr's pass", defaults)
	}
	// The next watchdog round finds the cookie equal to the fingerprint.
	onos1.probe()
	if !onos1.pipelineIsSet() {
		t.Fatal("watchdog: pipeline not set after VERIFY_AND_COMMIT")
	}
	// The device kept the driver's device config as sent.
	if r, err := h.getConfig(p4v1.GetForwardingPipelineConfigRequest_ALL); err != nil || !bytes.Equal(r.GetP4DeviceConfig(), deviceConfig) {
		t.Errorf("p4_device_config read back as %x (%v), ONOS sent %x", r.GetP4DeviceConfig(), err, deviceConfig)
	}

	// §2.4: the apps' flow rules, in dependent batches. Members, then the group
	// (P4RuntimeActionGroupProgrammable), then tables.
	tunnels := []*p4v1.TableEntry{
		onosTunnel(1, 2, "172.16.0.1", "172.16.0.2", 0),
		onosTunnel(2, 3, "172.16.1.1", "172.16.1.2", 100),
		onosTerm("172.16.0.2", "172.16.0.1", 0, 1),
	}
	onos1.mustWrite(insert(tunnels[0]), insert(tunnels[1]), insert(tunnels[2]))
	onos1.mustWrite(update(p4v1.Update_INSERT, memberEntity(onosMember(1, 1))), update(p4v1.Update_INSERT, memberEntity(onosMember(2, 2))))
	grp := group(1, 1, 3, 2, 1)
	grp.MaxSize = 16
	onos1.mustWrite(update(p4v1.Update_INSERT, groupEntity(grp)))
	flows := []*p4v1.TableEntry{
		onosLBR(1, 1),
		onosFAR(1, p4info.IDActionBalance, param(p4info.IDParamBalanceLbrID, pad(1, 4))),
		onosFAR(2, p4info.IDActionForward, param(p4info.IDParamForwardPort, pad(1, 2))),
		onosFAR(3, p4info.IDActionPunt),
		onosPDR(1, "10.2.0.0", "255.255.0.0", 40000, 1), // uplink to the remote site: balanced over both overlays
		onosPDR(2, "10.1.0.0", "255.255.0.0", 40000, 2), // downlink: out of the LAN port
		onosPDR(1, "10.9.9.9", "255.255.255.255", 50000, 3),
	}
	var ups []*p4v1.Update
	for _, f := range flows {
		ups = append(ups, insert(f))
	}
	onos1.mustWrite(ups...)
	// A flow rule on pdr with an empty selector is the default action: MODIFY.
	onos1.mustWrite(modify(pdrDefault(p4info.IDActionDrop)))
	if h.mem != nil {
		if len(h.mem.PDRs()) != 3 || len(h.mem.FARs()) != 3 || len(h.mem.LBRs()[1]) != 2 || h.mem.PDRDefault().Action != dataplane.ActDrop {
			t.Errorf("data path: pdrs %v fars %v lbrs %v default %v", h.mem.PDRs(), h.mem.FARs(), h.mem.LBRs(), h.mem.PDRDefault())
		}
	}

	// §2.4: a batch with failures, parsed as WriteResponseImpl parses it. After
	// an agent restart ONOS' mirror is off: it re-inserts and deletes blindly.
	got := onos1.write(
		insert(flows[2]), // already there
		del(pdrKey(onosPDR(2, "10.3.0.0", "255.255.0.0", 40000, 2))),                             // never installed
		insert(onosFAR(4, p4info.IDActionForward, param(p4info.IDParamForwardPort, pad(99, 2)))), // no such port
		insert(onosFAR(5, p4info.IDActionForward, param(p4info.IDParamForwardPort, pad(3, 2)))),
	)
	if want := []writeOutcome{onosExists, onosNotFound, onosOtherError, onosSuccess}; !slices.Equal(got, want) {
		t.Errorf("write outcomes %v, want %v", got, want)
	}
	flows = append(flows, onosFAR(5, p4info.IDActionForward, param(p4info.IDParamForwardPort, pad(3, 2))))
	// ONOS' store: every table entry it installed.
	store := append(slices.Clone(tunnels), flows...)

	// Traffic, so the flow stats have something to show.
	var uplinkID dataplane.PDRID
	if h.mem != nil {
		for id, p := range h.mem.PDRs() {
			if p.Match.Dst.Value == 0x0a020000 {
				uplinkID = id
			}
		}
		must(t, h.mem.AddPDRCount(uplinkID, dataplane.Counter{Packets: 10, Bytes: 1500}))
		h.mem.AddPDRDefaultCount(dataplane.Counter{Packets: 2, Bytes: 120})
	}

	// §2.3 steady state, every 30 s: the combined per-table read. Every entry
	// ONOS installed must come back equal to what it wrote once fitted to the
	// field widths (forgeFlowEntry), or ONOS deletes and re-installs it; nothing
	// else may be there (ONOS would delete it); pdr entries carry counter_data.
	checkFlows := func(o *onosNode, flows []*p4v1.TableEntry, wantDefault uint32) {
		t.Helper()
		entries, defaults := o.readFlows(info)
		left := append([]*p4v1.TableEntry(nil), flows...)
		for _, e := range entries {
			fitted := onosFit(t, h.info, e)
			found := false
			for i, f := range left {
				if proto.Equal(fitted, f) {
					left = append(left[:i], left[i+1:]...)
					found = true
					break
				}
			}
			if !found {
				t.Errorf("%s: device entry not in ONOS' store (ONOS would delete it): %v", o.name, e)
			}
			if h.mem != nil && e.TableId == p4info.IDTablePDR && bytes.Equal(e.Match[1].GetTernary().GetValue(), ip4("10.2.0.0")) && e.CounterData.GetPacketCount() != 10 {
				t.Errorf("%s: uplink pdr stats %v, want 10 packets", o.name, e.CounterData)
			}
		}
		for _, f := range left {
			t.Errorf("%s: ONOS' flow not on the device (ONOS would re-install it): %v", o.name, f)
		}
		if len(defaults) != 1 || !proto.Equal(onosFit(t, h.info, defaults[0]), pdrDefault(wantDefault)) {
			t.Errorf("%s: default entries %v, want pdr's %x", o.name, defaults, wantDefault)
		}
		if h.mem != nil && len(defaults) == 1 && defaults[0].CounterData.GetPacketCount() != 2 {
			t.Errorf("%s: pdr default entry stats %v, want 2 packets", o.name, defaults[0].CounterData)
		}
	}
	checkFlows(onos1, store, p4info.IDActionDrop)

	// Action profiles are read too (groups and members of each profile), and
	// must equal what was written once fitted.
	ents := h.mustRead(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector}),
		memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector}))
	if len(ents) != 3 || !proto.Equal(ents[0].GetActionProfileGroup(), grp) ||
		!proto.Equal(ents[1].GetActionProfileMember(), member(1, 1)) || !proto.Equal(ents[2].GetActionProfileMember(), member(2, 2)) {
		t.Errorf("action profile read: %v", ents)
	}
	// A pipeconf's PortStatisticsDiscovery reads indirect counters by port
	// number (reference §2.3, basic pipeline).
	for _, p := range testPorts {
		c := h.mustRead(counterEntity(&p4v1.CounterEntry{CounterId: p4info.IDCounterPortRX, Index: &p4v1.Index{Index: int64(p.id)}}),
			counterEntity(&p4v1.CounterEntry{CounterId: p4info.IDCounterPortTX, Index: &p4v1.Index{Index: int64(p.id)}}))
		if len(c) != 2 || c[0].GetCounterEntry().GetData() == nil || c[1].GetCounterEntry().GetData() == nil {
			t.Errorf("port %d counters: %v", p.id, c)
		}
	}

	// §2.5 packet I/O. LLDP discovery: one PacketOut per port from the master.
	var captures []*testenv.Capture
	if h.ns != nil {
		for _, p := range testPorts {
			captures = append(captures, testenv.NewCapture(t, h.ns, p.name+"p"))
		}
	}
	lldp := func(port uint16) []byte {
		f := make([]byte, 64)
		copy(f, []byte{0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0, 0, 0, 0, byte(port), 0x88, 0xcc})
		return f
	}
	for _, p := range testPorts {
		onos1.s.packetOut(onosPacketOut(uint16(p.id), lldp(uint16(p.id))))
	}
	// Punted packets reach the master as PacketIn; ONOS decodes metadata by id
	// and fits ingress_port to 16 bits (PacketMetadataCodec).
	var punted []byte
	if h.mem != nil {
		punted = bytes.Repeat([]byte{0xee}, 64)
		h.mem.InjectPunt(dataplane.Punt{Port: 1, Packet: punted})
	} else {
		punted = udpFrame(t, testenv.Link(t, h.ns, "lan0").Attrs().HardwareAddr, "10.1.0.2", "10.9.9.9")
		h.sendFrame(1, punted)
	}
	wantPacketIn(t, onos1, punted, 1)
	for i, p := range testPorts {
		want := lldp(uint16(p.id))
		if h.mem != nil {
			if !waitSent(h.mem, p.id, want) {
				t.Errorf("LLDP not sent on port %d: %v", p.id, h.mem.Transmitted())
			}
		} else if _, ok := captures[i].Wait(2*time.Second, func(pk testenv.Packet) bool { return bytes.Equal(pk.Data, want) }); !ok {
			t.Errorf("LLDP not seen on %sp", p.name)
		}
	}

	// §2.2: a second ONOS instance connects as backup (term 1, preference 1:
	// election id 19). It is told ALREADY_EXISTS, with the master's id.
	onos2.setMastership(1, 1)
	if master, highest := onos2.arbitration(); master || !proto.Equal(highest, eid(20)) {
		t.Errorf("onos-2: master %v, highest %v; want backup of 20", master, highest)
	}
	onos1.s.quiet(30 * time.Millisecond)
	// A backup's write is PERMISSION_DENIED (ONOS then re-checks mastership);
	// it still reads and probes.
	if got := onos2.write(insert(onosFAR(6, p4info.IDActionPunt))); got[0] != onosPermDenied {
		t.Errorf("backup write: %v", got)
	}
	onos2.probe()
	if !onos2.pipelineIsSet() {
		t.Error("backup's watchdog sees no pipeline")
	}

	// The master goes away: its stream closes. The backup is told there is no
	// master — election_id and status both set, so ONOS handles it.
	onos1.s.closeSend()
	if err := onos1.s.ended(); err != nil {
		t.Errorf("onos-1's stream ended with %v", err)
	}
	if master, highest := onos2.arbitration(); master || !proto.Equal(highest, eid(20)) {
		t.Errorf("after the master left, onos-2: master %v, highest %v; want no master, 20", master, highest)
	}
	// Mastership moves to onos-2 with a new term: 2*20 - 0 = 40, sent on the
	// same stream.
	onos2.setMastership(2, 0)
	if master, highest := onos2.arbitration(); !master || !proto.Equal(highest, eid(40)) {
		t.Fatalf("onos-2 not master after the term change: %v, %v", master, highest)
	}
	// The device is already configured cluster-wide and the cookie matches: no
	// re-push, and the forwarding state is still all there.
	if !onos2.pipelineIsSet() {
		t.Fatal("onos-2's watchdog: pipeline not set")
	}
	checkFlows(onos2, store, p4info.IDActionDrop)

	// Flow removal: DELETE by key; reconciliation resets a default entry that
	// differs from the original with MODIFY{is_default_action, no action}.
	last := store[len(store)-1]
	onos2.mustWrite(del(&p4v1.TableEntry{TableId: last.TableId, Match: last.Match}), modify(pdrDefault(0)))
	checkFlows(onos2, store[:len(store)-1], p4info.IDActionPass)
	if h.mem != nil && h.mem.PDRDefault().Action != dataplane.ActPass {
		t.Errorf("data path default after reset: %v", h.mem.PDRDefault())
	}

	// onos-2 shuts down cleanly.
	onos2.s.closeSend()
	if err := onos2.s.ended(); err != nil {
		t.Errorf("onos-2's stream ended with %v", err)
	}
	for range 2 {
		if err := h.streamEnd(); err != nil {
			t.Errorf("a StreamChannel handler returned %v", err)
		}
	}
}

// waitSent waits until the in-memory data path transmitted frame on port.
func waitSent(dp *memdp.Dataplane, port dataplane.PortID, frame []byte) bool {
	for deadline := time.Now().Add(waitFor); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		for _, s := range dp.Transmitted() {
			if s.Port == port && bytes.Equal(s.Frame, frame) {
				return true
			}
		}
	}
	return false
}

// fitSizes sets the capacities of info (the committed p4info.txt, sized for the
// default data path) to those of the harness's small data path: what a
// pipeconf built for this device declares. The agent refuses a P4Info that
// declares more than its data path holds (TestP4InfoSizes).
func (h *harness) fitSizes(info *p4configv1.P4Info) {
	for _, t := range info.Tables {
		if got, ok := h.info.TableByName(t.Preamble.Name); ok {
			t.Size = got.Size()
		}
	}
	for _, c := range info.Counters {
		if got, ok := h.info.CounterByName(c.Preamble.Name); ok {
			c.Size = got.Size()
		}
	}
	for _, p := range info.ActionProfiles {
		if got, ok := h.info.ActionProfileByName(p.Preamble.Name); ok {
			p.Size, p.MaxGroupSize = got.Size(), int32(got.MaxGroupSize())
		}
	}
	for _, m := range info.Meters {
		if got, ok := h.info.MeterByName(m.Preamble.Name); ok {
			m.Size = got.Size()
		}
	}
}
