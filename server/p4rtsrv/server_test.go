package p4rtsrv

import (
	"context"
	"net"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// harness is a real gRPC server on loopback in front of the in-memory data path.
type harness struct {
	t   *testing.T
	srv *Server
	dp  *memdp.Dataplane
	c   p4v1.P4RuntimeClient
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dp := memdp.New(dataplane.Options{})
	srv, err := New(Options{DeviceID: 1, Dataplane: dp, Pipeline: p4info.MustNewIndex(p4info.New(p4info.DefaultSizes))})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	p4v1.RegisterP4RuntimeServer(g, srv)
	go g.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(); g.Stop(); srv.Close() })
	return &harness{t: t, srv: srv, dp: dp, c: p4v1.NewP4RuntimeClient(conn)}
}

// controller opens a stream and arbitrates with election id low (0: unset).
func (h *harness) controller(low uint64) (p4v1.P4Runtime_StreamChannelClient, *p4v1.MasterArbitrationUpdate) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.t.Cleanup(cancel)
	s, err := h.c.StreamChannel(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	u := &p4v1.MasterArbitrationUpdate{DeviceId: 1}
	if low != 0 {
		u.ElectionId = &p4v1.Uint128{Low: low}
	}
	if err := s.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{Arbitration: u}}); err != nil {
		h.t.Fatal(err)
	}
	return s, recvArbitration(h.t, s)
}

func recvArbitration(t *testing.T, s p4v1.P4Runtime_StreamChannelClient) *p4v1.MasterArbitrationUpdate {
	t.Helper()
	type res struct {
		m   *p4v1.StreamMessageResponse
		err error
	}
	ch := make(chan res, 1)
	go func() { m, err := s.Recv(); ch <- res{m, err} }()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("stream: %v", r.err)
		}
		return r.m.GetArbitration()
	case <-time.After(5 * time.Second):
		t.Fatal("no arbitration response")
	}
	return nil
}

func (h *harness) commit(low uint64) {
	h.t.Helper()
	_, err := h.c.SetForwardingPipelineConfig(context.Background(), &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: 1, ElectionId: &p4v1.Uint128{Low: low}, Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: p4info.New(p4info.DefaultSizes), Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: 42}},
	})
	if err != nil {
		h.t.Fatal(err)
	}
}

func farEntry(id uint32, port uint16) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR,
		Match: []*p4v1.FieldMatch{{FieldId: p4info.IDFieldFARFarID, FieldMatchType: &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: translate.EncodeUint(uint64(id))}}}},
		Action: &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: &p4v1.Action{ActionId: p4info.IDActionForward,
			Params: []*p4v1.Action_Param{{ParamId: p4info.IDParamForwardPort, Value: translate.EncodeUint(uint64(port))}}}}}}
}

func pdrEntry(dst []byte, prio int32, far uint32) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: prio, ControllerMetadata: 77,
		Match: []*p4v1.FieldMatch{{FieldId: p4info.IDFieldPDRDstAddr, FieldMatchType: &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{Value: dst, Mask: []byte{0xff, 0xff, 0, 0}}}}},
		Action: &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: &p4v1.Action{ActionId: p4info.IDActionSetFAR,
			Params: []*p4v1.Action_Param{{ParamId: p4info.IDParamSetFARFarID, Value: translate.EncodeUint(uint64(far))}}}}}}
}

func (h *harness) write(low uint64, ups ...*p4v1.Update) error {
	_, err := h.c.Write(context.Background(), &p4v1.WriteRequest{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: low}, Updates: ups})
	return err
}

func insert(te *p4v1.TableEntry) *p4v1.Update {
	return &p4v1.Update{Type: p4v1.Update_INSERT, Entity: &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}}
}

func (h *harness) readAll(te *p4v1.TableEntry) []*p4v1.TableEntry {
	h.t.Helper()
	rs, err := h.c.Read(context.Background(), &p4v1.ReadRequest{DeviceId: 1, Entities: []*p4v1.Entity{{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}}})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*p4v1.TableEntry
	for {
		r, err := rs.Recv()
		if err != nil {
			break
		}
		for _, e := range r.Entities {
			out = append(out, e.GetTableEntry())
		}
	}
	return out
}

func TestWriteReadRoundTrip(t *testing.T) {
	h := newHarness(t)
	if _, u := h.controller(10); u.Status.Code != int32(codes.OK) {
		t.Fatalf("sole controller not primary: %v", u)
	}
	h.commit(10)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	// A padded far_id and dst are accepted and read back canonical.
	far := farEntry(5, 1)
	pdr := pdrEntry([]byte{10, 2, 0, 0}, 10, 5)
	padded := proto.Clone(far).(*p4v1.TableEntry)
	padded.Match[0].GetExact().Value = []byte{0, 0, 0, 5}
	must(h.write(10, insert(padded), insert(pdr)))
	got := h.readAll(&p4v1.TableEntry{})
	if len(got) != 2 {
		t.Fatalf("read %d entries, want 2: %v", len(got), got)
	}
	for _, want := range []*p4v1.TableEntry{far, pdr} {
		found := false
		for _, g := range got {
			if proto.Equal(g, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("entry not read back byte for byte:\nwant %v\ngot  %v", want, got)
		}
	}
	if n := len(h.dp.PDRs()); n != 1 {
		t.Errorf("data path has %d PDRs", n)
	}
	// A batch with a duplicate and a bad entry: per-update errors, in order.
	bad := pdrEntry([]byte{10, 3, 0, 1}, 10, 5) // host bits outside the mask
	err := h.write(10, insert(farEntry(6, 1)), insert(pdr), insert(bad))
	st := status.Convert(err)
	if st.Code() != codes.Unknown || len(st.Details()) != 3 {
		t.Fatalf("batch error %v with %d details", st.Code(), len(st.Details()))
	}
	wantCodes := []codes.Code{codes.OK, codes.AlreadyExists, codes.InvalidArgument}
	for i, d := range st.Details() {
		if c := codes.Code(d.(*p4v1.Error).CanonicalCode); c != wantCodes[i] {
			t.Errorf("update %d: %v, want %v (%s)", i, c, wantCodes[i], d.(*p4v1.Error).Message)
		}
	}
	// A backup cannot write.
	h.controller(5)
	if err := h.write(5, insert(farEntry(7, 1))); status.Code(err) != codes.PermissionDenied {
		t.Errorf("backup write: %v", err)
	}
	// Counters come from the data path.
	ids := h.dp.PDRs()
	for id := range ids {
		h.dp.AddPDRCount(id, dataplane.Counter{Packets: 3, Bytes: 300})
	}
	withCounter := h.readAll(&p4v1.TableEntry{TableId: p4info.IDTablePDR, CounterData: &p4v1.CounterData{}})
	if len(withCounter) != 1 || withCounter[0].CounterData.GetPacketCount() != 3 {
		t.Errorf("pdr counter_data: %v", withCounter)
	}
}
