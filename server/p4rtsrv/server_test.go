package p4rtsrv

import (
	"context"
	"errors"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/p4rtsrv/wire"
	"github.com/linx-sdwan/linx/translate"
)

// The suite runs every test against both data paths: the in-memory one
// (unprivileged) and the XDP one loaded into a private network namespace (root
// only; skipped, or failed with LINX_REQUIRE_PRIV=1, elsewhere). Checks that need
// memdp's test hooks (AddPDRCount, InjectPunt, Transmitted, the read-back
// accessors PDRs(), FARs()...) run on memdp only.
const (
	kindMem  = "memdp"
	kindEBPF = "ebpf"
)

// testOptions are the data-path capacities of most tests: small, so the eBPF
// variant loads fast and wildcard counter reads stay short.
var testOptions = dataplane.Options{MaxPDRs: 64, MaxFARs: 64, MaxLBRs: 8, MaxTunnels: 16, MaxTerms: 16, MaxPorts: 16, FlowCacheSize: 256, MaxMeters: 16}

// testPorts are attached on both data paths (eBPF: veth pairs whose peers, named
// <name>p, stay in the same namespace).
var testPorts = []struct {
	id   dataplane.PortID
	name string
	role dataplane.Role
}{
	{1, "lan0", dataplane.RoleLAN},
	{2, "wan0", dataplane.RoleWAN},
	{3, "wan1", dataplane.RoleWAN},
}

// sizesFor returns the P4Info sizes an agent advertises for a data path sized by o.
func sizesFor(o dataplane.Options) p4info.Sizes {
	o = o.WithDefaults()
	return p4info.Sizes{PDRs: o.MaxPDRs, FARs: o.MaxFARs, LBRs: o.MaxLBRs, Tunnels: o.MaxTunnels, TunnelTerms: o.MaxTerms,
		Ports: o.MaxPorts, DropReasons: dataplane.NumDropReasons, LBRMembers: o.MaxLBRs * dataplane.MaxLBRMembers,
		LBRMaxGroupSize: dataplane.MaxLBRMembers, Meters: o.MaxMeters}
}

// harness is a real gRPC server on loopback in front of a data path, and a client.
type harness struct {
	t    *testing.T
	kind string
	srv  *Server
	dp   dataplane.Dataplane
	mem  *memdp.Dataplane // nil on the eBPF data path
	ns   *testenv.NS      // eBPF: the namespace holding the ports
	tr   *translate.Translator
	info *p4info.Index
	c    p4v1.P4RuntimeClient
	addr string // the server's address, for tests that dial their own clients

	// streamEnds receives what each StreamChannel handler returned.
	streamEnds chan error
}

// forEachDP runs f as subtest "memdp" and subtest "ebpf", each with a fresh harness.
func forEachDP(t *testing.T, o dataplane.Options, f func(t *testing.T, h *harness)) {
	t.Helper()
	for _, kind := range []string{kindMem, kindEBPF} {
		t.Run(kind, func(t *testing.T) { f(t, newHarness(t, kind, o)) })
	}
}

// memOnly runs f on the in-memory data path only: for tests built on its hooks.
func memOnly(t *testing.T, o dataplane.Options, f func(t *testing.T, h *harness)) {
	t.Helper()
	f(t, newHarness(t, kindMem, o))
}

func newHarness(t *testing.T, kind string, o dataplane.Options, with ...func(*Options)) *harness {
	t.Helper()
	h := &harness{t: t, kind: kind, streamEnds: make(chan error, 64)}
	switch kind {
	case kindMem:
		h.mem = memdp.New(o)
		h.dp = h.mem
		for _, p := range testPorts {
			must(t, h.mem.Attach(p.name, p.id, p.role, dataplane.XDPNative))
		}
	case kindEBPF:
		testenv.RequireRoot(t)
		h.ns = testenv.NewNS(t)
		for _, p := range testPorts {
			testenv.Veth(t, h.ns, p.name, h.ns, p.name+"p")
		}
		testenv.DisableIPv6(t, h.ns) // no router solicitations through the pipeline
		// Load in the namespace: PacketOut's socket belongs to the namespace it is made in.
		var dp *xdp.Dataplane
		err := h.ns.Do(func() error {
			var err error
			if dp, err = xdp.Load(o); err != nil {
				return err
			}
			for _, p := range testPorts {
				if err := dp.Attach(p.name, p.id, p.role, dataplane.XDPNative); err != nil {
					return err
				}
			}
			return nil
		})
		if dp != nil {
			t.Cleanup(func() { dp.Close() })
		}
		if err != nil {
			t.Fatalf("load the XDP data path: %v", err)
		}
		h.dp = dp
	default:
		t.Fatalf("unknown data path %q", kind)
	}

	h.info = p4info.MustNewIndex(p4info.New(sizesFor(o)))
	h.tr = translate.MustNew(h.info)
	so := Options{DeviceID: 1, Dataplane: h.dp, Pipeline: h.info}
	for _, f := range with {
		f(&so)
	}
	srv, err := New(so)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer(grpc.ForceServerCodecV2(wire.Codec()), grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		err := handler(srv, ss)
		if info.FullMethod == p4v1.P4Runtime_StreamChannel_FullMethodName {
			select {
			case h.streamEnds <- err:
			default:
			}
		}
		return err
	}))
	p4v1.RegisterP4RuntimeServer(g, srv)
	served := make(chan struct{})
	go func() { defer close(served); g.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); g.Stop(); <-served; srv.Close() })
	h.c = p4v1.NewP4RuntimeClient(conn)
	h.addr = lis.Addr().String()
	return h
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantCode checks the gRPC code of err.
func wantCode(t testing.TB, err error, want codes.Code, what string) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Errorf("%s: got %v (%v), want %v", what, got, err, want)
	}
}

func eid(low uint64) *p4v1.Uint128 { return &p4v1.Uint128{Low: low} }

// --- Stream clients -----------------------------------------------------------

const waitFor = 5 * time.Second

// ctrl is one controller's StreamChannel; a goroutine receives into msgs.
type ctrl struct {
	t      *testing.T
	s      p4v1.P4Runtime_StreamChannelClient
	cancel context.CancelFunc
	msgs   chan *p4v1.StreamMessageResponse
	end    chan error // the error that ended the stream (io.EOF: the server returned OK)
}

// open starts a StreamChannel without sending anything.
func (h *harness) open() *ctrl {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := h.c.StreamChannel(ctx)
	if err != nil {
		cancel()
		h.t.Fatal(err)
	}
	c := &ctrl{t: h.t, s: s, cancel: cancel, msgs: make(chan *p4v1.StreamMessageResponse, 256), end: make(chan error, 1)}
	h.t.Cleanup(cancel)
	go func() {
		for {
			m, err := s.Recv()
			if err != nil {
				c.end <- err
				close(c.msgs)
				return
			}
			select {
			case c.msgs <- m:
			case <-ctx.Done():
			}
		}
	}()
	return c
}

// connect opens a stream and sends a MasterArbitrationUpdate for device 1.
func (h *harness) connect(election *p4v1.Uint128, role string) *ctrl {
	h.t.Helper()
	c := h.open()
	c.arbitrate(1, election, role)
	return c
}

// controller connects with election id low in the default role and returns the
// arbitration answer.
func (h *harness) controller(low uint64) (*ctrl, *p4v1.MasterArbitrationUpdate) {
	h.t.Helper()
	c := h.connect(eid(low), "")
	return c, c.arbitration()
}

// primary connects a controller that must become primary, and commits the
// pipeline with it.
func (h *harness) primary(low uint64) *ctrl {
	h.t.Helper()
	c, u := h.controller(low)
	if codes.Code(u.GetStatus().GetCode()) != codes.OK {
		h.t.Fatalf("controller %d is not primary: %v", low, u)
	}
	h.commit(low)
	return c
}

func (c *ctrl) send(m *p4v1.StreamMessageRequest) {
	c.t.Helper()
	if err := c.s.Send(m); err != nil {
		c.t.Fatalf("stream send: %v", err)
	}
}

func (c *ctrl) arbitrate(device uint64, election *p4v1.Uint128, role string) {
	c.t.Helper()
	u := &p4v1.MasterArbitrationUpdate{DeviceId: device, ElectionId: election}
	if role != "" {
		u.Role = &p4v1.Role{Name: role}
	}
	c.send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{Arbitration: u}})
}

func (c *ctrl) packetOut(p *p4v1.PacketOut) {
	c.t.Helper()
	c.send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Packet{Packet: p}})
}

// recv returns the next message; the test fails after waitFor or if the stream ends.
func (c *ctrl) recv() *p4v1.StreamMessageResponse {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if !ok {
			c.t.Fatalf("stream ended: %v", <-c.end)
		}
		return m
	case <-time.After(waitFor):
		c.t.Fatal("no stream message")
	}
	return nil
}

func (c *ctrl) arbitration() *p4v1.MasterArbitrationUpdate {
	c.t.Helper()
	m := c.recv()
	if m.GetArbitration() == nil {
		c.t.Fatalf("want an arbitration update, got %v", m)
	}
	return m.GetArbitration()
}

// quiet checks that no message arrives for a while.
func (c *ctrl) quiet(d time.Duration) {
	c.t.Helper()
	select {
	case m, ok := <-c.msgs:
		if ok {
			c.t.Errorf("unexpected stream message %v", m)
		}
	case <-time.After(d):
	}
}

// ended waits for the server to end the stream and returns its status (nil for
// OK). Messages still queued are discarded.
func (c *ctrl) ended() error {
	c.t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case _, ok := <-c.msgs:
			if !ok {
				err := <-c.end
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		case <-timeout:
			c.t.Fatal("stream did not end")
			return nil
		}
	}
}

// closeSend ends the client's side of the stream, as a controller shutting down
// cleanly does.
func (c *ctrl) closeSend() {
	c.t.Helper()
	must(c.t, c.s.CloseSend())
}

// streamEnd returns what the next StreamChannel handler to finish returned.
func (h *harness) streamEnd() error {
	h.t.Helper()
	select {
	case err := <-h.streamEnds:
		return err
	case <-time.After(waitFor):
		h.t.Fatal("no StreamChannel handler returned")
	}
	return nil
}

// streamGoroutines counts goroutines running StreamChannel code (the handler or
// anything it started).
func streamGoroutines() int {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "p4rtsrv.(*Server).StreamChannel") {
			n++
		}
	}
	return n
}

// noStreamGoroutines waits until no StreamChannel goroutine is left.
func noStreamGoroutines(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for streamGoroutines() > 0 {
		if time.Now().After(deadline) {
			t.Errorf("%d StreamChannel goroutines left behind", streamGoroutines())
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// --- Pipeline -----------------------------------------------------------------

// cookie is the pipeline cookie the harness commits.
const cookie = 0x1234_5678_9abc_def0

func (h *harness) commit(low uint64) {
	h.t.Helper()
	_, err := h.c.SetForwardingPipelineConfig(context.Background(), &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: 1, ElectionId: eid(low), Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: h.info.P4Info(), Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: cookie}},
	})
	if err != nil {
		h.t.Fatalf("commit: %v", err)
	}
}

func (h *harness) getConfig(rt p4v1.GetForwardingPipelineConfigRequest_ResponseType) (*p4v1.ForwardingPipelineConfig, error) {
	r, err := h.c.GetForwardingPipelineConfig(context.Background(), &p4v1.GetForwardingPipelineConfigRequest{DeviceId: 1, ResponseType: rt})
	return r.GetConfig(), err
}

// --- Writes -------------------------------------------------------------------

func (h *harness) write(low uint64, ups ...*p4v1.Update) error {
	_, err := h.c.Write(context.Background(), &p4v1.WriteRequest{DeviceId: 1, ElectionId: eid(low), Updates: ups})
	return err
}

// mustWrite writes a batch that must succeed.
func (h *harness) mustWrite(low uint64, ups ...*p4v1.Update) {
	h.t.Helper()
	if err := h.write(low, ups...); err != nil {
		h.t.Fatalf("write: %v %v", err, updateCodes(err))
	}
}

// updateCodes returns the per-update codes of a failed batch (nil for other
// errors): the p4.v1.Error details of an UNKNOWN status.
func updateCodes(err error) []codes.Code {
	st := status.Convert(err)
	if st.Code() != codes.Unknown {
		return nil
	}
	var out []codes.Code
	for _, d := range st.Details() {
		e, ok := d.(*p4v1.Error)
		if !ok {
			return nil
		}
		out = append(out, codes.Code(e.CanonicalCode))
	}
	return out
}

// wantUpdates checks that a batch failed with exactly these per-update codes.
func wantUpdates(t testing.TB, err error, want ...codes.Code) {
	t.Helper()
	got := updateCodes(err)
	if status.Code(err) != codes.Unknown || len(got) != len(want) {
		t.Errorf("batch: got %v with codes %v, want UNKNOWN with %v", status.Code(err), got, want)
		return
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("update %d: %v, want %v (%v)", i, got[i], want[i], status.Convert(err).Details()[i])
		}
	}
}

func update(typ p4v1.Update_Type, e *p4v1.Entity) *p4v1.Update {
	return &p4v1.Update{Type: typ, Entity: e}
}

func insert(te *p4v1.TableEntry) *p4v1.Update { return update(p4v1.Update_INSERT, tableEntity(te)) }
func modify(te *p4v1.TableEntry) *p4v1.Update { return update(p4v1.Update_MODIFY, tableEntity(te)) }
func del(te *p4v1.TableEntry) *p4v1.Update    { return update(p4v1.Update_DELETE, tableEntity(te)) }

func tableEntity(te *p4v1.TableEntry) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}
}

func memberEntity(m *p4v1.ActionProfileMember) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: m}}
}

func groupEntity(g *p4v1.ActionProfileGroup) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: g}}
}

func counterEntity(c *p4v1.CounterEntry) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_CounterEntry{CounterEntry: c}}
}

func directEntity(d *p4v1.DirectCounterEntry) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_DirectCounterEntry{DirectCounterEntry: d}}
}

// --- Reads --------------------------------------------------------------------

func (h *harness) read(ents ...*p4v1.Entity) ([]*p4v1.Entity, error) {
	rs, err := h.c.Read(context.Background(), &p4v1.ReadRequest{DeviceId: 1, Entities: ents})
	if err != nil {
		return nil, err
	}
	var out []*p4v1.Entity
	for {
		r, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, r.Entities...)
	}
}

func (h *harness) mustRead(ents ...*p4v1.Entity) []*p4v1.Entity {
	h.t.Helper()
	out, err := h.read(ents...)
	if err != nil {
		h.t.Fatalf("read: %v", err)
	}
	return out
}

// readTable reads table entries matching the query te.
func (h *harness) readTable(te *p4v1.TableEntry) []*p4v1.TableEntry {
	h.t.Helper()
	var out []*p4v1.TableEntry
	for _, e := range h.mustRead(tableEntity(te)) {
		if e.GetTableEntry() == nil {
			h.t.Fatalf("read returned %v for a table entry query", e)
		}
		out = append(out, e.GetTableEntry())
	}
	return out
}

// canon is the canonical form of an entry as written: what reads must return.
func (h *harness) canon(te *p4v1.TableEntry) *p4v1.TableEntry {
	h.t.Helper()
	c, err := h.tr.Canonical(te)
	if err != nil {
		h.t.Fatalf("canonical form of %v: %v", te, err)
	}
	return c
}

// wantEntries checks that got holds exactly the canonical forms of want (in any
// order), compared with proto.Equal; counter_data is ignored.
func (h *harness) wantEntries(got []*p4v1.TableEntry, want ...*p4v1.TableEntry) {
	h.t.Helper()
	left := make([]*p4v1.TableEntry, 0, len(got))
	for _, g := range got {
		g = proto.Clone(g).(*p4v1.TableEntry)
		g.CounterData = nil
		left = append(left, g)
	}
	for _, w := range want {
		cw := h.canon(w)
		found := false
		for i, g := range left {
			if proto.Equal(g, cw) {
				left = append(left[:i], left[i+1:]...)
				found = true
				break
			}
		}
		if !found {
			h.t.Errorf("entry not read back:\n  want %v", cw)
		}
	}
	for _, g := range left {
		h.t.Errorf("unexpected entry read: %v", g)
	}
}

// --- Entity builders ----------------------------------------------------------

// u is the canonical bytestring of v; pad is v padded to n bytes (what ONOS up to
// 2.7 sends).
func u(v uint64) []byte { return translate.EncodeUint(v) }

func pad(v uint64, n int) []byte {
	b := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		b[i] = byte(v)
		v >>= 8
	}
	return b
}

func ip4(s string) []byte { return net.ParseIP(s).To4() }

func exactField(id uint32, v []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: v}}}
}

func ternaryField(id uint32, v, m []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{Value: v, Mask: m}}}
}

func rangeField(id uint32, lo, hi []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Range_{Range: &p4v1.FieldMatch_Range{Low: lo, High: hi}}}
}

func param(id uint32, v []byte) *p4v1.Action_Param { return &p4v1.Action_Param{ParamId: id, Value: v} }

func action(id uint32, ps ...*p4v1.Action_Param) *p4v1.TableAction {
	return &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: &p4v1.Action{ActionId: id, Params: ps}}}
}

// pdrEntry matches dst_addr dst/16 (a ternary) and selects FAR far.
func pdrEntry(dst string, prio int32, far uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: prio,
		Match:  []*p4v1.FieldMatch{ternaryField(p4info.IDFieldPDRDstAddr, ip4(dst), []byte{0xff, 0xff, 0, 0})},
		Action: action(p4info.IDActionSetFAR, param(p4info.IDParamSetFARFarID, u(uint64(far))))}
}

// pdrHost matches dst_addr dst/32.
func pdrHost(dst string, prio int32, far uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: prio,
		Match:  []*p4v1.FieldMatch{ternaryField(p4info.IDFieldPDRDstAddr, ip4(dst), []byte{0xff, 0xff, 0xff, 0xff})},
		Action: action(p4info.IDActionSetFAR, param(p4info.IDParamSetFARFarID, u(uint64(far))))}
}

// pdrKey is the key of a pdr entry (a DELETE or a read naming it).
func pdrKey(te *p4v1.TableEntry) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: te.TableId, Match: te.Match, Priority: te.Priority}
}

func farKey(id uint32) []*p4v1.FieldMatch {
	return []*p4v1.FieldMatch{exactField(p4info.IDFieldFARFarID, u(uint64(id)))}
}

func farForward(id uint32, port uint16) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(id),
		Action: action(p4info.IDActionForward, param(p4info.IDParamForwardPort, u(uint64(port))))}
}

func farEncap(id, tunnel uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(id),
		Action: action(p4info.IDActionEncap, param(p4info.IDParamEncapTunnelID, u(uint64(tunnel))))}
}

func farBalance(id, lbr uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(id),
		Action: action(p4info.IDActionBalance, param(p4info.IDParamBalanceLbrID, u(uint64(lbr))))}
}

func farPlain(id, act uint32) *p4v1.TableEntry { // drop, pass, punt
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(id), Action: action(act)}
}

func farOnly(id uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(id)}
}

func tunnelEntry(id uint32, port uint16, src, dst string, key uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnels,
		Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelsTunnelID, u(uint64(id)))},
		Action: action(p4info.IDActionSetGRE, param(p4info.IDParamSetGREPort, u(uint64(port))),
			param(p4info.IDParamSetGRESrcAddr, ip4(src)), param(p4info.IDParamSetGREDstAddr, ip4(dst)),
			param(p4info.IDParamSetGREKey, u(uint64(key))))}
}

func termEntry(remote, local string, key, tunnel uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm,
		Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelTermSrcAddr, ip4(remote)),
			exactField(p4info.IDFieldTunnelTermDstAddr, ip4(local)), exactField(p4info.IDFieldTunnelTermGREKey, u(uint64(key)))},
		Action: action(p4info.IDActionDecap, param(p4info.IDParamDecapTunnelID, u(uint64(tunnel))))}
}

func lbrKey(id uint32) []*p4v1.FieldMatch {
	return []*p4v1.FieldMatch{exactField(p4info.IDFieldLBRLbrID, u(uint64(id)))}
}

func lbrGroup(id, group uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: lbrKey(id),
		Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: group}}}
}

func lbrMember(id, member uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: lbrKey(id),
		Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileMemberId{ActionProfileMemberId: member}}}
}

// lbrSet is a one-shot lbr entry: tunnel/weight pairs.
func lbrSet(id uint32, tunnelWeights ...uint32) *p4v1.TableEntry {
	set := &p4v1.ActionProfileActionSet{}
	for i := 0; i+1 < len(tunnelWeights); i += 2 {
		set.ActionProfileActions = append(set.ActionProfileActions, &p4v1.ActionProfileAction{
			Action: &p4v1.Action{ActionId: p4info.IDActionEncap, Params: []*p4v1.Action_Param{param(p4info.IDParamEncapTunnelID, u(uint64(tunnelWeights[i])))}},
			Weight: int32(tunnelWeights[i+1])})
	}
	return &p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: lbrKey(id),
		Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileActionSet{ActionProfileActionSet: set}}}
}

func member(id, tunnel uint32) *p4v1.ActionProfileMember {
	return &p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: id,
		Action: &p4v1.Action{ActionId: p4info.IDActionEncap, Params: []*p4v1.Action_Param{param(p4info.IDParamEncapTunnelID, u(uint64(tunnel)))}}}
}

// group builds a group of lbr_selector from member/weight pairs.
func group(id uint32, memberWeights ...uint32) *p4v1.ActionProfileGroup {
	g := &p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: id}
	for i := 0; i+1 < len(memberWeights); i += 2 {
		g.Members = append(g.Members, &p4v1.ActionProfileGroup_Member{MemberId: memberWeights[i], Weight: int32(memberWeights[i+1])})
	}
	return g
}

func pdrDefault(act uint32) *p4v1.TableEntry {
	te := &p4v1.TableEntry{TableId: p4info.IDTablePDR, IsDefaultAction: true}
	if act != 0 {
		te.Action = action(act)
	}
	return te
}

// --- Packets on the eBPF data path ----------------------------------------------

// sendFrame transmits frame from the veth peer of port, so that the port's XDP
// program receives it.
func (h *harness) sendFrame(port dataplane.PortID, frame []byte) {
	h.t.Helper()
	var peer string
	for _, p := range testPorts {
		if p.id == port {
			peer = p.name + "p"
		}
	}
	idx := testenv.Link(h.t, h.ns, peer).Attrs().Index
	err := h.ns.Do(func() error {
		fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		sa := &unix.SockaddrLinklayer{Ifindex: idx, Halen: 6}
		copy(sa.Addr[:], frame[:6])
		return unix.Sendto(fd, frame, 0, sa)
	})
	must(h.t, err)
}
