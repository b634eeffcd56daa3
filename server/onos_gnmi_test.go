package server

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnoi/system"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/gnmisrv"
	"github.com/linx-sdwan/linx/translate"
)

// links is a LinkStater whose oper-status the test flips.
type links struct {
	mu   sync.Mutex
	down map[string]bool
}

func (l *links) LinkState(p dataplane.PortInfo) (gnmisrv.LinkState, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := gnmisrv.LinkState{AdminUp: true, Oper: gnmisrv.OperUp, LastChange: time.Unix(1700000000, 0)}
	if l.down[p.Name] {
		st.Oper = gnmisrv.OperDown
	}
	return st, nil
}

func gpath(elems ...*gnmi.PathElem) *gnmi.Path { return &gnmi.Path{Elem: elems} }

func elem(name string, kv ...string) *gnmi.PathElem {
	e := &gnmi.PathElem{Name: name}
	if len(kv) == 2 {
		e.Key = map[string]string{kv[0]: kv[1]}
	}
	return e
}

// TestONOSReplayGNMI replays what the stratum driver family of ONOS asks over gNMI
// and gNOI (../shared/reference/onos-p4runtime.md §2.6), on the same port as
// P4Runtime, and checks every field ONOS reads, for ports and for an overlay
// written over P4Runtime (a logical port), and that the packet-outs ONOS then
// sends to every port are refused on the logical one.
func TestONOSReplayGNMI(t *testing.T) {
	dp := memdp.New(dataplane.Options{})
	for i, name := range []string{"lan0", "wan0", "wan1"} {
		role := dataplane.RoleWAN
		if i == 0 {
			role = dataplane.RoleLAN
		}
		if err := dp.Attach(name, dataplane.PortID(i+1), role, dataplane.XDPNative); err != nil {
			t.Fatal(err)
		}
	}
	if err := dp.AddPortCount(1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 10, Bytes: 1000}, TX: dataplane.Counter{Packets: 7, Bytes: 700}}); err != nil {
		t.Fatal(err)
	}
	lk := &links{down: map[string]bool{}}
	srv, err := New(Options{DeviceID: 1, Dataplane: dp, Pipeline: p4info.MustNewIndex(p4info.New(p4info.DefaultSizes)),
		GNMI: gnmisrv.Options{Links: lk, ChangeInterval: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(lis)
	defer srv.Stop(time.Second)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g := gnmi.NewGNMIClient(conn)

	// Reachability (ONOS ≥ 2.5.9 with stratum drivers): gNOI System.Time.
	tr, err := system.NewSystemClient(conn).Time(ctx, &system.TimeRequest{})
	if err != nil || tr.Time == 0 {
		t.Fatalf("gNOI Time: %v %v", tr, err)
	}
	// The plain gnmi driver's probe: an unknown path must be INVALID_ARGUMENT.
	if _, err := g.Get(ctx, &gnmi.GetRequest{Path: []*gnmi.Path{gpath(elem("onos-gnmi-ping"))}, Encoding: gnmi.Encoding_PROTO}); status.Code(err) != codes.InvalidArgument {
		t.Errorf("gNMI probe: %v, want InvalidArgument", err)
	}

	// An overlay written over P4Runtime, as ONOS writes a tunnels entry: over
	// wan1 (port 3). gNMI reports it as the logical port tunnel-1.
	p4 := newP4Session(ctx, t, conn)
	p4.write(t, tunnelEntry(1, 3, "198.51.100.1", "203.0.113.9", 7))
	const tunnelIfindex = 512 + 1 // dataplane.TunnelPort(MaxPorts, 1)

	// Port discovery: one Get of every interface's state, name key "...".
	resp, err := g.Get(ctx, &gnmi.GetRequest{Type: gnmi.GetRequest_ALL, Encoding: gnmi.Encoding_PROTO,
		Path: []*gnmi.Path{gpath(elem("interfaces"), elem("interface", "name", "..."), elem("state"))}})
	if err != nil {
		t.Fatal(err)
	}
	type port struct {
		ifindex uint64
		oper    string
		seen    bool
	}
	ports := map[string]*port{}
	for _, n := range resp.Notification {
		for _, u := range n.Update {
			p := u.Path
			if n.Prefix != nil && len(n.Prefix.Elem) > 0 {
				t.Fatalf("ONOS reads full paths in updates; got a prefix %v", n.Prefix)
			}
			if len(p.Elem) != 4 || p.Elem[1].Key["name"] == "" {
				continue // ONOS switches on 4-element paths
			}
			name := p.Elem[1].Key["name"]
			if ports[name] == nil {
				ports[name] = &port{}
			}
			switch p.Elem[3].Name {
			case "ifindex":
				ports[name].ifindex = u.Val.GetUintVal()
				ports[name].seen = true
			case "oper-status":
				ports[name].oper = u.Val.GetStringVal()
			}
		}
	}
	want := map[string]uint64{"lan0": 1, "wan0": 2, "wan1": 3, "tunnel-1": tunnelIfindex}
	for name, id := range want {
		p := ports[name]
		if p == nil || !p.seen || p.ifindex != id || p.oper != "UP" {
			t.Errorf("port %s discovered as %+v, want ifindex %d, UP", name, p, id)
		}
	}

	// Statistics, every 10 s per port: one Get of …/state/counters per port.
	resp, err = g.Get(ctx, &gnmi.GetRequest{Encoding: gnmi.Encoding_PROTO,
		Path: []*gnmi.Path{gpath(elem("interfaces"), elem("interface", "name", "lan0"), elem("state"), elem("counters"))}})
	if err != nil {
		t.Fatal(err)
	}
	leaves := map[string]uint64{}
	for _, n := range resp.Notification {
		if n.Timestamp == 0 {
			t.Error("counters notification without timestamp (ONOS computes uptime from it)")
		}
		for _, u := range n.Update {
			if len(u.Path.Elem) != 5 || u.Path.Elem[1].Key["name"] != "lan0" {
				t.Errorf("counter update path %v is not the full path", u.Path)
				continue
			}
			leaves[u.Path.Elem[4].Name] = u.Val.GetUintVal()
		}
	}
	for _, name := range []string{"in-octets", "out-octets", "in-unicast-pkts", "in-broadcast-pkts", "in-multicast-pkts",
		"in-unknown-protos", "out-unicast-pkts", "out-broadcast-pkts", "out-multicast-pkts", "in-discards",
		"in-fcs-errors", "out-discards", "in-errors", "out-errors"} {
		if _, ok := leaves[name]; !ok {
			t.Errorf("counter %s missing", name)
		}
	}
	if leaves["in-octets"] != 1000 || leaves["in-unicast-pkts"] != 10 || leaves["out-octets"] != 700 || leaves["out-unicast-pkts"] != 7 {
		t.Errorf("counters %v do not match the data path's", leaves)
	}

	// ONOS' LLDP and host probes send packet-outs to every port it knows,
	// the overlays' logical ports included: refused with INVALID_ARGUMENT on
	// the stream, which stays up and still transmits on physical ports.
	p4.packetOut(t, tunnelIfindex)
	if e := p4.streamError(t); e.GetCanonicalCode() != int32(codes.InvalidArgument) ||
		!strings.Contains(e.GetMessage(), "logical port of overlay 1") || e.GetPacketOut() == nil {
		t.Errorf("packet-out on tunnel-1: stream error %v, want INVALID_ARGUMENT naming overlay 1", e)
	}
	p4.packetOut(t, 2)
	for deadline := time.Now().Add(10 * time.Second); len(dp.Transmitted()) == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if sent := dp.Transmitted(); len(sent) != 1 || sent[0].Port != 2 {
		t.Errorf("transmitted %v, want one frame on port 2", sent)
	}

	// Port state push: STREAM, updates_only, ON_CHANGE on every port's state.
	sub, err := g.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var subs []*gnmi.Subscription
	for name := range want {
		subs = append(subs, &gnmi.Subscription{Mode: gnmi.SubscriptionMode_ON_CHANGE,
			Path: gpath(elem("interfaces"), elem("interface", "name", name), elem("state"))})
	}
	if err := sub.Send(&gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: &gnmi.SubscriptionList{
		Mode: gnmi.SubscriptionList_STREAM, UpdatesOnly: true, Encoding: gnmi.Encoding_PROTO, Subscription: subs}}}); err != nil {
		t.Fatal(err)
	}
	r, err := sub.Recv()
	if err != nil || !r.GetSyncResponse() {
		t.Fatalf("first response %v (%v), want sync_response (updates_only)", r, err)
	}
	lk.mu.Lock()
	lk.down["wan1"] = true
	lk.mu.Unlock()
	// wan1 goes down, and the overlay over it with it.
	pending := map[string]string{"wan1": "DOWN", "tunnel-1": "LOWER_LAYER_DOWN"}
	for len(pending) > 0 {
		r, err := sub.Recv()
		if err != nil {
			t.Fatalf("no oper-status change pushed for %v: %v", pending, err)
		}
		for _, u := range r.GetUpdate().GetUpdate() {
			p := u.Path
			name := p.Elem[1].Key["name"]
			if len(p.Elem) == 4 && p.Elem[3].Name == "oper-status" && pending[name] != "" {
				if v := u.Val.GetStringVal(); v != pending[name] {
					t.Fatalf("%s oper-status %q, want %s", name, v, pending[name])
				}
				delete(pending, name)
			}
		}
	}
}

// p4Session is a primary P4Runtime client with the linx pipeline pushed, as
// ONOS is once a device is available.
type p4Session struct {
	c      p4v1.P4RuntimeClient
	ctx    context.Context
	stream p4v1.P4Runtime_StreamChannelClient
	errs   chan *p4v1.StreamError
}

const replayElection = 10

func newP4Session(ctx context.Context, t *testing.T, conn *grpc.ClientConn) *p4Session {
	t.Helper()
	s := &p4Session{c: p4v1.NewP4RuntimeClient(conn), ctx: ctx, errs: make(chan *p4v1.StreamError, 10)}
	var err error
	if s.stream, err = s.c.StreamChannel(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.stream.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{
		Arbitration: &p4v1.MasterArbitrationUpdate{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: replayElection}}}}); err != nil {
		t.Fatal(err)
	}
	if m, err := s.stream.Recv(); err != nil || m.GetArbitration().GetStatus().GetCode() != 0 {
		t.Fatalf("arbitration: %v %v", m, err)
	}
	go func() {
		for {
			m, err := s.stream.Recv()
			if err != nil {
				close(s.errs)
				return
			}
			if e := m.GetError(); e != nil {
				s.errs <- e
			}
		}
	}()
	if _, err := s.c.SetForwardingPipelineConfig(ctx, &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: 1, ElectionId: &p4v1.Uint128{Low: replayElection}, Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: p4info.New(p4info.DefaultSizes), Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: 1}},
	}); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *p4Session) write(t *testing.T, ups ...*p4v1.Update) {
	t.Helper()
	if _, err := s.c.Write(s.ctx, &p4v1.WriteRequest{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: replayElection}, Updates: ups}); err != nil {
		t.Fatal(err)
	}
}

// packetOut sends an LLDP-sized frame out of port, its egress_port padded to
// 16 bits as ONOS 2.7 encodes it.
func (s *p4Session) packetOut(t *testing.T, port uint16) {
	t.Helper()
	frame := make([]byte, 60)
	if err := s.stream.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Packet{Packet: &p4v1.PacketOut{
		Payload: frame, Metadata: []*p4v1.PacketMetadata{{MetadataId: p4info.IDMetaEgressPort, Value: []byte{byte(port >> 8), byte(port)}}},
	}}}); err != nil {
		t.Fatal(err)
	}
}

func (s *p4Session) streamError(t *testing.T) *p4v1.StreamError {
	t.Helper()
	select {
	case e, ok := <-s.errs:
		if !ok {
			t.Fatal("stream ended")
		}
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no stream error")
	}
	return nil
}

// tunnelEntry is the INSERT of a tunnels entry: set_gre(port, src, dst, key).
func tunnelEntry(id uint32, port uint16, src, dst string, key uint32) *p4v1.Update {
	addr := func(s string) []byte { a := netip.MustParseAddr(s).As4(); return a[:] }
	return &p4v1.Update{Type: p4v1.Update_INSERT, Entity: &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: &p4v1.TableEntry{
		TableId: p4info.IDTableTunnels,
		Match: []*p4v1.FieldMatch{{FieldId: p4info.IDFieldTunnelsTunnelID,
			FieldMatchType: &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: translate.EncodeUint(uint64(id))}}}},
		Action: &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: &p4v1.Action{ActionId: p4info.IDActionSetGRE, Params: []*p4v1.Action_Param{
			{ParamId: p4info.IDParamSetGREPort, Value: translate.EncodeUint(uint64(port))},
			{ParamId: p4info.IDParamSetGRESrcAddr, Value: addr(src)},
			{ParamId: p4info.IDParamSetGREDstAddr, Value: addr(dst)},
			{ParamId: p4info.IDParamSetGREKey, Value: translate.EncodeUint(uint64(key))},
		}}}},
	}}}}
}
