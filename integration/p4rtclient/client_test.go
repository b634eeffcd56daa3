package p4rtclient

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/antoninbas/p4runtime-go-client/pkg/client"
	p4_config_v1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4_v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
)

// Names from linx's P4Info (p4info/p4info.txt): the client addresses
// everything by name.
const (
	tPDR         = "LinxIngress.pdr"
	tFAR         = "LinxIngress.far"
	tLBR         = "LinxIngress.lbr"
	tTunnels     = "LinxIngress.tunnels"
	tTunnelTerm  = "LinxIngress.tunnel_term"
	tTunnelTerm6 = "LinxIngress.tunnel_term6"

	aSetFAR  = "LinxIngress.set_far"
	aDrop    = "LinxIngress.drop"
	aForward = "LinxIngress.forward"
	aEncap   = "LinxIngress.encap"
	aBalance = "LinxIngress.balance"
	aPunt    = "LinxIngress.punt"
	aSetGRE  = "LinxIngress.set_gre"
	aSetGRE6 = "LinxIngress.set_gre6"
	aDecap   = "LinxIngress.decap"

	selector = "LinxIngress.lbr_selector"

	cDrop     = "LinxIngress.drop_counter"
	cPortRX   = "LinxIngress.port_rx_counter"
	cTunnelTX = "LinxIngress.tunnel_tx_counter"

	dropPolicy = 1 // drop reason code of a FAR that drops (drop_counter index)
)

// p4infoPath is the committed P4Info of the linx pipeline.
var p4infoPath = filepath.Join("..", "..", "p4info", "p4info.txt")

// be encodes v big-endian on n bytes (padded, as older controllers send).
func be(v uint64, n int) []byte {
	b := binary.BigEndian.AppendUint64(nil, v)
	return b[8-n:]
}

// session is one p4runtime-go-client controller with its stream running.
type session struct {
	*client.Client
	t    *testing.T
	arb  chan bool
	msgs chan *p4_v1.StreamMessageResponse
}

// newSession creates a client with election id low, runs its stream
// (arbitration) and returns once the first arbitration answer arrived:
// primary reports whether it made the client primary.
func newSession(t *testing.T, conn grpc.ClientConnInterface, low uint64) (s *session, primary bool) {
	t.Helper()
	c := client.NewClient(p4_v1.NewP4RuntimeClient(conn), agentDeviceID, &p4_v1.Uint128{High: 0, Low: low})
	s = &session{Client: c, t: t, arb: make(chan bool, 64), msgs: make(chan *p4_v1.StreamMessageResponse, 1024)}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- c.Run(stop, s.arb, s.msgs) }()
	t.Cleanup(func() {
		close(stop)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Errorf("client %d: Run did not return after stop", low)
		}
	})
	return s, s.arbitration()
}

// arbitration waits for the next arbitration answer on s's stream.
func (s *session) arbitration() bool {
	s.t.Helper()
	select {
	case p := <-s.arb:
		return p
	case <-time.After(5 * time.Second):
		s.t.Fatal("no arbitration answer on the stream")
	}
	return false
}

// streamError waits up to d for a StreamError on s's stream.
func (s *session) streamError(d time.Duration) *p4_v1.StreamError {
	timeout := time.After(d)
	for {
		select {
		case m := <-s.msgs:
			if e := m.GetError(); e != nil {
				return e
			}
		case <-timeout:
			return nil
		}
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// setPipeline pushes linx's P4Info with SetFwdPipe (VERIFY_AND_COMMIT); the
// device config is empty (linx has none).
func (s *session) setPipeline(cookie uint64) *client.FwdPipeConfig {
	s.t.Helper()
	bin := filepath.Join(s.t.TempDir(), "device-config.bin")
	if err := os.WriteFile(bin, nil, 0o600); err != nil {
		s.t.Fatal(err)
	}
	cfg, err := s.SetFwdPipe(ctx(s.t), bin, p4infoPath, cookie)
	if err != nil {
		s.t.Fatalf("SetFwdPipe(%s): %v", p4infoPath, err)
	}
	return cfg
}

// writeCode returns the canonical code of the single update of a failed
// Write: the status of the RPC, or the p4.v1.Error detail when the server
// sent per-update errors.
func writeCode(err error) codes.Code {
	st, ok := status.FromError(err)
	if !ok {
		return codes.Unknown
	}
	for _, d := range st.Details() {
		if e, ok := d.(*p4_v1.Error); ok && e.CanonicalCode != int32(codes.OK) {
			return codes.Code(e.CanonicalCode)
		}
	}
	return st.Code()
}

// canonical returns te as the server should read it back: match fields sorted
// by id, bytestrings of action parameters without leading zero bytes, empty
// watch ports dropped, no counter data.
func canonical(te *p4_v1.TableEntry) *p4_v1.TableEntry {
	te = proto.Clone(te).(*p4_v1.TableEntry)
	te.CounterData = nil
	slices.SortFunc(te.Match, func(a, b *p4_v1.FieldMatch) int { return int(a.FieldId) - int(b.FieldId) })
	canonAction := func(a *p4_v1.Action) {
		for _, p := range a.GetParams() {
			p.Value = client.ToCanonicalIf(p.Value, true)
		}
		slices.SortFunc(a.GetParams(), func(x, y *p4_v1.Action_Param) int { return int(x.ParamId) - int(y.ParamId) })
	}
	canonAction(te.GetAction().GetAction())
	for _, a := range te.GetAction().GetActionProfileActionSet().GetActionProfileActions() {
		canonAction(a.Action)
		if len(a.GetWatchPort()) == 0 {
			a.WatchKind = nil
		}
	}
	return te
}

// byKey indexes entries of one table by their canonical match and priority.
func byKey(es []*p4_v1.TableEntry) map[string]*p4_v1.TableEntry {
	out := map[string]*p4_v1.TableEntry{}
	for _, e := range es {
		k := canonical(&p4_v1.TableEntry{TableId: e.TableId, Match: e.Match, Priority: e.Priority})
		out[prototext.Format(k)] = e
	}
	return out
}

// checkTable reads table with ReadTableEntryWildcard and compares it, entry
// by entry, with want (as written).
func (s *session) checkTable(table string, want ...*p4_v1.TableEntry) {
	s.t.Helper()
	got, err := s.ReadTableEntryWildcard(ctx(s.t), table)
	if err != nil {
		s.t.Fatalf("ReadTableEntryWildcard(%s): %v", table, err)
	}
	if len(got) != len(want) {
		s.t.Errorf("%s: read %d entries, want %d:\n%v", table, len(got), len(want), got)
	}
	g := byKey(got)
	for k, w := range byKey(want) {
		r, ok := g[k]
		if !ok {
			s.t.Errorf("%s: entry not read back: %v", table, w)
			continue
		}
		if !proto.Equal(canonical(r), canonical(w)) {
			s.t.Errorf("%s: read back\n  %v\nwant (canonical form of what was written)\n  %v", table, canonical(r), canonical(w))
		}
	}
}

// TestGoClientArbitration: the first client becomes primary, a lower
// election id is backup (it may read but not write or send packets), a
// higher one takes over and every controller hears about it.
func TestGoClientArbitration(t *testing.T) {
	conn := startAgent(t)
	primary, ok := newSession(t, conn, 10)
	if !ok {
		t.Fatal("the first controller (election id 10) is not primary")
	}
	want := primary.setPipeline(0xc0ffee)

	backup, ok := newSession(t, conn, 5)
	if ok {
		t.Fatal("a controller with election id 5 < 10 became primary")
	}
	got, err := backup.GetFwdPipe(ctx(t), client.GetFwdPipeP4InfoAndCookie)
	if err != nil {
		t.Fatalf("backup GetFwdPipe: %v", err)
	}
	if got == nil || got.Cookie != want.Cookie || !proto.Equal(got.P4Info, want.P4Info) {
		t.Errorf("backup reads pipeline cookie %v, want %d and the P4Info pushed", got, want.Cookie)
	}

	far := func(c *session, id uint64) *p4_v1.TableEntry {
		return c.NewTableEntry(tFAR, map[string]client.MatchInterface{"far_id": &client.ExactMatch{Value: be(id, 4)}},
			c.NewTableActionDirect(aForward, [][]byte{be(1, 2)}), nil)
	}
	if err := backup.InsertTableEntry(ctx(t), far(backup, 1)); writeCode(err) != codes.PermissionDenied {
		t.Errorf("backup Write: %v, want PERMISSION_DENIED", err)
	}
	if err := primary.InsertTableEntry(ctx(t), far(primary, 1)); err != nil {
		t.Fatalf("primary Write: %v", err)
	}
	backup.checkTable(tFAR, far(primary, 1)) // backups may read

	// PacketOut: refused from the backup; from the primary, accepted on an
	// attached port and refused (NOT_FOUND) on a missing one.
	frame := append(be(0x020000000001, 6), append(be(0x020000000002, 6), 0x88, 0xb5, 'l', 'i', 'n', 'x')...)
	packetOut := func(c *session, port uint64) *p4_v1.StreamError {
		t.Helper()
		err := c.SendPacketOut(ctx(t), &p4_v1.PacketOut{Payload: frame,
			Metadata: []*p4_v1.PacketMetadata{{MetadataId: 1, Value: be(port, 2)}}})
		if err != nil {
			t.Fatal(err)
		}
		return c.streamError(300 * time.Millisecond)
	}
	if e := packetOut(backup, 1); e == nil || e.CanonicalCode != int32(code.Code_PERMISSION_DENIED) {
		t.Errorf("backup PacketOut: stream error %v, want PERMISSION_DENIED", e)
	}
	if e := packetOut(primary, 1); e != nil {
		t.Errorf("primary PacketOut on port 1: stream error %v", e)
	}
	if e := packetOut(primary, 99); e == nil || e.CanonicalCode != int32(code.Code_NOT_FOUND) {
		t.Errorf("primary PacketOut on unattached port 99: stream error %v, want NOT_FOUND", e)
	}

	// A higher election id takes over: the old primary and the backup are told.
	newer, ok := newSession(t, conn, 20)
	if !ok {
		t.Fatal("a controller with election id 20 > 10 did not become primary")
	}
	if primary.arbitration() {
		t.Error("the old primary was told it is still primary after election id 20 arrived")
	}
	if backup.arbitration() {
		t.Error("the backup was told it is primary after election id 20 arrived")
	}
	if err := primary.InsertTableEntry(ctx(t), far(primary, 2)); writeCode(err) != codes.PermissionDenied {
		t.Errorf("demoted primary Write: %v, want PERMISSION_DENIED", err)
	}
	if _, err := newer.GetFwdPipe(ctx(t), client.GetFwdPipeP4InfoAndCookie); err != nil {
		t.Fatal(err)
	}
	if err := newer.InsertTableEntry(ctx(t), far(newer, 2)); err != nil {
		t.Errorf("new primary Write: %v", err)
	}
	newer.checkTable(tFAR, far(newer, 1), far(newer, 2))
}

// TestGoClientPipeline: SetFwdPipe with linx's P4Info is committed and read
// back as pushed; a P4Info that is not linx's is refused.
func TestGoClientPipeline(t *testing.T) {
	conn := startAgent(t)
	c, ok := newSession(t, conn, 1)
	if !ok {
		t.Fatal("not primary")
	}
	if got, err := c.GetFwdPipe(ctx(t), client.GetFwdPipeAll); err != nil || got != nil {
		t.Errorf("before any push, GetFwdPipe = %v, %v; want no config", got, err)
	}
	want := c.setPipeline(42)
	got, err := c.GetFwdPipe(ctx(t), client.GetFwdPipeAll)
	if err != nil {
		t.Fatal(err)
	}
	if got.Cookie != 42 || !proto.Equal(got.P4Info, want.P4Info) {
		t.Errorf("GetFwdPipe: cookie %d, P4Info equal %v; want 42, true", got.Cookie, proto.Equal(got.P4Info, want.P4Info))
	}
	text, err := os.ReadFile(p4infoPath)
	if err != nil {
		t.Fatal(err)
	}
	var p4i p4_config_v1.P4Info
	if err := prototext.Unmarshal(text, &p4i); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(&p4i, got.P4Info) {
		t.Errorf("the P4Info read back differs from %s", p4infoPath)
	}
	other := []byte(strings.Replace(string(text), `name: "LinxIngress.pdr"`, `name: "LinxIngress.acl"`, 1))
	if _, err := c.SetFwdPipeFromBytes(ctx(t), nil, other, 43); status.Code(err) != codes.InvalidArgument {
		t.Errorf("SetFwdPipe with a foreign P4Info: %v, want INVALID_ARGUMENT", err)
	}
}

// TestGoClientTableEntries writes every linx table with the client's helpers
// (padded bytestrings, as older controllers send), reads them back with
// ReadTableEntryWildcard and ReadTableEntry, modifies and deletes.
func TestGoClientTableEntries(t *testing.T) {
	conn := startAgent(t)
	c, ok := newSession(t, conn, 1)
	if !ok {
		t.Fatal("not primary")
	}
	c.setPipeline(1)
	cx := ctx(t)
	exact := func(v uint64, n int) client.MatchInterface { return &client.ExactMatch{Value: be(v, n)} }
	insert := func(es ...*p4_v1.TableEntry) {
		t.Helper()
		for _, e := range es {
			if err := c.InsertTableEntry(cx, e); err != nil {
				t.Fatalf("insert %v: %v", e, err)
			}
		}
	}

	// Overlays and terminations: 172.16.1.1 -> .2 (no key), 172.16.2.1 -> .2 (key 2).
	var tunnels, terms []*p4_v1.TableEntry
	for i := uint64(1); i <= 2; i++ {
		src, dst, key := 0xac100001|i<<8, 0xac100002|i<<8, i-1
		if i == 2 {
			key = 2
		}
		tunnels = append(tunnels, c.NewTableEntry(tTunnels, map[string]client.MatchInterface{"tunnel_id": exact(i, 4)},
			c.NewTableActionDirect(aSetGRE, [][]byte{be(1+i, 2), be(src, 4), be(dst, 4), be(key, 4)}), nil))
		terms = append(terms, c.NewTableEntry(tTunnelTerm, map[string]client.MatchInterface{
			"src_addr": exact(dst, 4), "dst_addr": exact(src, 4), "gre_key": exact(key, 4)},
			c.NewTableActionDirect(aDecap, [][]byte{be(i, 4)}), nil))
	}
	// An overlay over an IPv6 underlay (set_gre6, 128-bit parameters) and its
	// termination (tunnel_term6, 128-bit exact keys): 2001:db8:a::1 -> 2001:db8:b::1.
	v6a := append([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0xa}, append(make([]byte, 9), 1)...)
	v6b := append([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0xb}, append(make([]byte, 9), 1)...)
	tunnels = append(tunnels, c.NewTableEntry(tTunnels, map[string]client.MatchInterface{"tunnel_id": exact(3, 4)},
		c.NewTableActionDirect(aSetGRE6, [][]byte{be(2, 2), v6a, v6b, be(0, 4)}), nil))
	terms6 := []*p4_v1.TableEntry{c.NewTableEntry(tTunnelTerm6, map[string]client.MatchInterface{
		"src_addr6": &client.ExactMatch{Value: v6b}, "dst_addr6": &client.ExactMatch{Value: v6a}, "gre_key": exact(0, 4)},
		c.NewTableActionDirect(aDecap, [][]byte{be(3, 4)}), nil)}
	insert(tunnels...)
	insert(terms...)
	insert(terms6...)

	farAction := map[uint64]*p4_v1.TableAction{
		1: c.NewTableActionDirect(aForward, [][]byte{be(1, 2)}),
		2: c.NewTableActionDirect(aEncap, [][]byte{be(1, 4)}),
		3: c.NewTableActionDirect(aBalance, [][]byte{be(1, 4)}),
		4: c.NewTableActionDirect(aDrop, nil),
		5: c.NewTableActionDirect(aPunt, nil),
	}
	far := func(id uint64, a *p4_v1.TableAction) *p4_v1.TableEntry {
		return c.NewTableEntry(tFAR, map[string]client.MatchInterface{"far_id": exact(id, 4)}, a, nil)
	}
	var fars []*p4_v1.TableEntry
	for id := uint64(1); id <= 5; id++ {
		fars = append(fars, far(id, farAction[id]))
	}
	insert(fars...)

	// LBR 1: a group of two members weighted 3:1; LBR 2: a one-shot action set.
	for i := uint64(1); i <= 2; i++ {
		if err := c.InsertActionProfileMember(cx, c.NewActionProfileMember(selector, uint32(i), aEncap, [][]byte{be(i, 4)})); err != nil {
			t.Fatalf("insert member %d: %v", i, err)
		}
	}
	group := c.NewActionProfileGroup(selector, 1, []*p4_v1.ActionProfileGroup_Member{{MemberId: 1, Weight: 3}, {MemberId: 2, Weight: 1}}, 4)
	if err := c.InsertActionProfileGroup(cx, group); err != nil {
		t.Fatalf("insert group: %v", err)
	}
	set := c.NewActionProfileActionSet().
		AddAction(aEncap, [][]byte{be(1, 4)}, 1, client.Port{}).
		AddAction(aEncap, [][]byte{be(2, 4)}, 2, client.Port{})
	lbrs := []*p4_v1.TableEntry{
		c.NewTableEntry(tLBR, map[string]client.MatchInterface{"lbr_id": exact(1, 4)}, c.NewTableActionGroup(1), nil),
		c.NewTableEntry(tLBR, map[string]client.MatchInterface{"lbr_id": exact(2, 4)}, set.TableAction(), nil),
	}
	insert(lbrs...)

	// PDRs with ternary and range matches and priorities.
	pdr := func(prio int32, far uint64, dir byte, dst, dstMask uint32, dport *[2]uint16) *p4_v1.TableEntry {
		m := map[string]client.MatchInterface{
			"direction": &client.TernaryMatch{Value: []byte{dir}, Mask: []byte{3}},
			"dst_addr":  &client.TernaryMatch{Value: be(uint64(dst), 4), Mask: be(uint64(dstMask), 4)},
		}
		if dport != nil {
			m["l4_dport"] = &client.RangeMatch{Low: be(uint64(dport[0]), 2), High: be(uint64(dport[1]), 2)}
			m["ip_proto"] = &client.TernaryMatch{Value: []byte{17}, Mask: []byte{0xff}}
		}
		return c.NewTableEntry(tPDR, m, c.NewTableActionDirect(aSetFAR, [][]byte{be(far, 4)}),
			&client.TableEntryOptions{Priority: prio})
	}
	// An IPv6 rule: a 128-bit ternary (2001:db8:2::/48) and the IP version.
	pdr6 := func(prio int32, far uint64) *p4_v1.TableEntry {
		dst := append([]byte{0x20, 0x01, 0x0d, 0xb8, 0, 2}, make([]byte, 10)...)
		mask := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, make([]byte, 10)...)
		return c.NewTableEntry(tPDR, map[string]client.MatchInterface{
			"direction":  &client.TernaryMatch{Value: []byte{1}, Mask: []byte{3}},
			"ip_version": &client.TernaryMatch{Value: []byte{6}, Mask: []byte{0xf}},
			"dst_addr6":  &client.TernaryMatch{Value: dst, Mask: mask},
		}, c.NewTableActionDirect(aSetFAR, [][]byte{be(far, 4)}), &client.TableEntryOptions{Priority: prio})
	}
	pdrs := []*p4_v1.TableEntry{
		pdr(10, 1, 2, 0x0a010000, 0xffff0000, nil),
		pdr(20, 3, 1, 0x0a020000, 0xffff0000, nil),
		pdr(30, 5, 1, 0x0a020000, 0xffff0000, &[2]uint16{9000, 9999}),
		pdr6(25, 3),
	}
	insert(pdrs...)
	if err := c.InsertTableEntry(cx, pdrs[0]); writeCode(err) != codes.AlreadyExists {
		t.Errorf("inserting a pdr twice: %v, want ALREADY_EXISTS", err)
	}

	c.checkTable(tTunnels, tunnels...)
	c.checkTable(tTunnelTerm, terms...)
	c.checkTable(tTunnelTerm6, terms6...)
	c.checkTable(tFAR, fars...)
	c.checkTable(tLBR, lbrs...)
	c.checkTable(tPDR, pdrs...)

	// Members and groups read back (no client helper: a raw wildcard read).
	readProfile := func(e *p4_v1.Entity) []*p4_v1.Entity {
		t.Helper()
		ch := make(chan *p4_v1.Entity, 100)
		var out []*p4_v1.Entity
		done := make(chan struct{})
		go func() {
			for x := range ch {
				out = append(out, x)
			}
			close(done)
		}()
		if err := c.ReadEntityWildcard(cx, e, ch); err != nil {
			t.Fatal(err)
		}
		<-done
		return out
	}
	members := readProfile(&p4_v1.Entity{Entity: &p4_v1.Entity_ActionProfileMember{ActionProfileMember: &p4_v1.ActionProfileMember{}}})
	if len(members) != 2 || members[1].GetActionProfileMember().GetAction().GetParams()[0].GetValue()[0] != 2 {
		t.Errorf("members read back: %v", members)
	}
	groups := readProfile(&p4_v1.Entity{Entity: &p4_v1.Entity_ActionProfileGroup{ActionProfileGroup: &p4_v1.ActionProfileGroup{}}})
	if len(groups) != 1 || !proto.Equal(groups[0].GetActionProfileGroup(), group) {
		t.Errorf("groups read back: %v, want %v", groups, group)
	}

	// One entry by its match.
	one, err := c.ReadTableEntry(cx, tFAR, []client.MatchInterface{exact(2, 4)})
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(canonical(one), canonical(fars[1])) {
		t.Errorf("ReadTableEntry(far 2) = %v, want %v", one, canonical(fars[1]))
	}

	// MODIFY: FAR 2 onto tunnel 2, the uplink PDR to FAR 2, group weights 1:1.
	fars[1] = far(2, c.NewTableActionDirect(aEncap, [][]byte{be(2, 4)}))
	if err := c.ModifyTableEntry(cx, fars[1]); err != nil {
		t.Fatal(err)
	}
	pdrs[1] = pdr(20, 2, 1, 0x0a020000, 0xffff0000, nil)
	if err := c.ModifyTableEntry(cx, pdrs[1]); err != nil {
		t.Fatal(err)
	}
	group.Members[0].Weight = 1
	if err := c.ModifyActionProfileGroup(cx, group); err != nil {
		t.Fatal(err)
	}
	if err := c.ModifyTableEntry(cx, far(9, farAction[1])); writeCode(err) != codes.NotFound {
		t.Errorf("modifying a missing FAR: %v, want NOT_FOUND", err)
	}
	c.checkTable(tFAR, fars...)
	c.checkTable(tPDR, pdrs...)
	groups = readProfile(&p4_v1.Entity{Entity: &p4_v1.Entity_ActionProfileGroup{ActionProfileGroup: &p4_v1.ActionProfileGroup{ActionProfileId: group.ActionProfileId}}})
	if len(groups) != 1 || !proto.Equal(groups[0].GetActionProfileGroup(), group) {
		t.Errorf("group after MODIFY: %v, want %v", groups, group)
	}

	// DELETE: a member still in a group cannot go; entries can.
	if err := c.DeleteActionProfileMember(cx, &p4_v1.ActionProfileMember{ActionProfileId: group.ActionProfileId, MemberId: 1}); writeCode(err) != codes.FailedPrecondition {
		t.Errorf("deleting a member in use: %v, want FAILED_PRECONDITION", err)
	}
	if err := c.DeleteTableEntry(cx, pdrs[2]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTableEntry(cx, fars[4]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTableEntry(cx, lbrs[1]); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteTableEntry(cx, pdrs[2]); writeCode(err) != codes.NotFound {
		t.Errorf("deleting a deleted pdr: %v, want NOT_FOUND", err)
	}
	c.checkTable(tPDR, pdrs[0], pdrs[1], pdrs[3])
	c.checkTable(tFAR, fars[:4]...)
	c.checkTable(tLBR, lbrs[0])

	// A new pipeline commit clears everything.
	c.setPipeline(2)
	for _, tab := range []string{tPDR, tFAR, tLBR, tTunnels, tTunnelTerm} {
		c.checkTable(tab)
	}
}

// TestGoClientCounters reads indirect counters with ReadCounterEntryWildcard
// and ReadCounterEntry, sets cells with ModifyCounterEntry, and reads and
// sets a pdr entry's direct counter.
func TestGoClientCounters(t *testing.T) {
	conn := startAgent(t)
	c, ok := newSession(t, conn, 1)
	if !ok {
		t.Fatal("not primary")
	}
	cfg := c.setPipeline(1)
	cx := ctx(t)
	size := map[string]int64{}
	for _, ctr := range cfg.P4Info.Counters {
		size[ctr.Preamble.Name] = ctr.Size
	}

	for _, name := range []string{cDrop, cPortRX, cTunnelTX} {
		all, err := c.ReadCounterEntryWildcard(cx, name)
		if err != nil {
			t.Fatalf("ReadCounterEntryWildcard(%s): %v", name, err)
		}
		if int64(len(all)) != size[name] {
			t.Errorf("%s: %d cells read, want the P4Info size %d", name, len(all), size[name])
		}
		for i, d := range all {
			if d.PacketCount != 0 || d.ByteCount != 0 {
				t.Errorf("%s[%d] = %v on a fresh in-memory data path, want zero", name, i, d)
				break
			}
		}
	}

	set := &p4_v1.CounterData{PacketCount: 3, ByteCount: 1500}
	if err := c.ModifyCounterEntry(cx, cDrop, dropPolicy, set); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadCounterEntry(cx, cDrop, dropPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, set) {
		t.Errorf("drop_counter[%d] after MODIFY = %v, want %v", dropPolicy, got, set)
	}
	all, err := c.ReadCounterEntryWildcard(cx, cDrop)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range all {
		want := &p4_v1.CounterData{}
		if i == dropPolicy {
			want = set
		}
		if !proto.Equal(d, want) {
			t.Errorf("drop_counter[%d] in a wildcard read = %v, want %v", i, d, want)
		}
	}
	if err := c.ModifyCounterEntry(cx, cDrop, size[cDrop], set); writeCode(err) != codes.OutOfRange {
		t.Errorf("MODIFY of drop_counter[%d] (its size): %v, want OUT_OF_RANGE", size[cDrop], err)
	}

	// Direct counter of a pdr entry.
	if err := c.InsertTableEntry(cx, c.NewTableEntry(tFAR, map[string]client.MatchInterface{"far_id": &client.ExactMatch{Value: be(1, 4)}},
		c.NewTableActionDirect(aDrop, nil), nil)); err != nil {
		t.Fatal(err)
	}
	pdr := c.NewTableEntry(tPDR, map[string]client.MatchInterface{"dst_addr": &client.TernaryMatch{Value: be(0x0a020000, 4), Mask: be(0xffff0000, 4)}},
		c.NewTableActionDirect(aSetFAR, [][]byte{be(1, 4)}), &client.TableEntryOptions{Priority: 5})
	if err := c.InsertTableEntry(cx, pdr); err != nil {
		t.Fatal(err)
	}
	key := &p4_v1.TableEntry{TableId: pdr.TableId, Match: pdr.Match, Priority: pdr.Priority}
	direct := func() *p4_v1.CounterData {
		t.Helper()
		e, err := c.ReadEntitySingle(cx, &p4_v1.Entity{Entity: &p4_v1.Entity_DirectCounterEntry{DirectCounterEntry: &p4_v1.DirectCounterEntry{TableEntry: key}}})
		if err != nil {
			t.Fatalf("read direct counter: %v", err)
		}
		return e.GetDirectCounterEntry().GetData()
	}
	if d := direct(); d.GetPacketCount() != 0 || d.GetByteCount() != 0 {
		t.Errorf("direct counter of a new pdr = %v, want zero", d)
	}
	dset := &p4_v1.CounterData{PacketCount: 7, ByteCount: 700}
	if err := c.WriteUpdate(cx, &p4_v1.Update{Type: p4_v1.Update_MODIFY, Entity: &p4_v1.Entity{Entity: &p4_v1.Entity_DirectCounterEntry{
		DirectCounterEntry: &p4_v1.DirectCounterEntry{TableEntry: key, Data: dset}}}}); err != nil {
		t.Fatal(err)
	}
	if d := direct(); !proto.Equal(d, dset) {
		t.Errorf("direct counter after MODIFY = %v, want %v", d, dset)
	}
	withCounter := proto.Clone(key).(*p4_v1.TableEntry)
	withCounter.CounterData = &p4_v1.CounterData{}
	e, err := c.ReadEntitySingle(cx, &p4_v1.Entity{Entity: &p4_v1.Entity_TableEntry{TableEntry: withCounter}})
	if err != nil {
		t.Fatal(err)
	}
	if d := e.GetTableEntry().GetCounterData(); !proto.Equal(d, dset) {
		t.Errorf("pdr entry read with counter_data: %v, want %v", d, dset)
	}
}

// TestGoClientMeters configures, reads and resets FAR meter cells with the
// Go client: its P4Info parsing finds both meters, ReadMeterEntry returns a
// config as written, a wildcard read returns every cell, a MODIFY without a
// config resets a cell, and a config with pir below cir is INVALID_ARGUMENT.
func TestGoClientMeters(t *testing.T) {
	conn := startAgent(t)
	c, ok := newSession(t, conn, 1)
	if !ok {
		t.Fatal("not primary")
	}
	cfg := c.setPipeline(1)
	cx := ctx(t)
	const meter = "LinxIngress.far_meter"
	var id uint32
	var size int64
	for _, m := range cfg.P4Info.Meters {
		if m.Preamble.Name == meter {
			id, size = m.Preamble.Id, m.Size
		}
	}
	if id == 0 {
		t.Fatalf("the client's P4Info has no %s", meter)
	}
	modify := func(index int64, mc *p4_v1.MeterConfig) error {
		return c.WriteUpdate(cx, &p4_v1.Update{Type: p4_v1.Update_MODIFY, Entity: &p4_v1.Entity{Entity: &p4_v1.Entity_MeterEntry{
			MeterEntry: &p4_v1.MeterEntry{MeterId: id, Index: &p4_v1.Index{Index: index}, Config: mc}}}})
	}
	want := &p4_v1.MeterConfig{Cir: 1_250_000, Cburst: 100_000, Pir: 2_500_000, Pburst: 200_000}
	if err := modify(5, want); err != nil {
		t.Fatal(err)
	}
	got, err := c.ReadMeterEntry(cx, meter, 5)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Errorf("far_meter[5] = %v, want %v", got, want)
	}
	all, err := c.ReadMeterEntryWildcard(cx, meter)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(all)) != size {
		t.Errorf("wildcard read: %d cells, want the P4Info size %d", len(all), size)
	}
	for _, e := range all {
		if (e.GetConfig() != nil) != (e.GetIndex().GetIndex() == 5) {
			t.Errorf("cell %d in a wildcard read: config %v", e.GetIndex().GetIndex(), e.GetConfig())
		}
	}
	if err := modify(5, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := c.ReadMeterEntry(cx, meter, 5); err != nil || got != nil {
		t.Errorf("after the reset: %v, %v; want no config", got, err)
	}
	if err := modify(5, &p4_v1.MeterConfig{Cir: 2000, Cburst: 10, Pir: 1000, Pburst: 10}); writeCode(err) != codes.InvalidArgument {
		t.Errorf("pir < cir: %v, want INVALID_ARGUMENT", err)
	}
}
