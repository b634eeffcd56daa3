package server

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"github.com/openconfig/gnoi/system"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/gnmisrv"
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
// P4Runtime, and checks every field ONOS reads.
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
	want := map[string]uint64{"lan0": 1, "wan0": 2, "wan1": 3}
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
	for {
		r, err := sub.Recv()
		if err != nil {
			t.Fatalf("no oper-status change pushed: %v", err)
		}
		for _, u := range r.GetUpdate().GetUpdate() {
			p := u.Path
			if len(p.Elem) == 4 && p.Elem[1].Key["name"] == "wan1" && p.Elem[3].Name == "oper-status" {
				if v := u.Val.GetStringVal(); v != "DOWN" {
					t.Fatalf("wan1 oper-status %q, want DOWN", v)
				}
				return
			}
		}
	}
}
