package gnmisrv

import (
	"context"
	"errors"
	"io"
	"maps"
	"strconv"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
)

// subStream is a client Subscribe stream whose responses a goroutine reads into a
// channel, so that tests can wait with timeouts.
type subStream struct {
	t      *testing.T
	stream gnmi.GNMI_SubscribeClient
	cancel context.CancelFunc
	resp   chan *gnmi.SubscribeResponse
	err    chan error // the final Recv error
}

func (r *rig) subscribe(t *testing.T, list *gnmi.SubscriptionList) *subStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	stream, err := r.client.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s := &subStream{t: t, stream: stream, cancel: cancel, resp: make(chan *gnmi.SubscribeResponse, 1000), err: make(chan error, 1)}
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				s.err <- err
				close(s.resp)
				return
			}
			s.resp <- m
		}
	}()
	if list != nil {
		// io.EOF: the server already ended the RPC; its status comes with Recv.
		if err := stream.Send(&gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: list}}); err != nil && !errors.Is(err, io.EOF) {
			t.Fatal(err)
		}
	}
	return s
}

// next returns the next response, failing after timeout.
func (s *subStream) next(timeout time.Duration) *gnmi.SubscribeResponse {
	s.t.Helper()
	select {
	case m, ok := <-s.resp:
		if !ok {
			s.t.Fatalf("stream ended: %v", <-s.err)
		}
		return m
	case <-time.After(timeout):
		s.t.Fatalf("no response within %v", timeout)
	}
	return nil
}

// untilSync collects notifications up to the sync_response.
func (s *subStream) untilSync() []*gnmi.Notification {
	s.t.Helper()
	var ns []*gnmi.Notification
	for {
		m := s.next(5 * time.Second)
		if m.GetSyncResponse() {
			return ns
		}
		if m.GetUpdate() == nil {
			s.t.Fatalf("unexpected response %v", m)
		}
		ns = append(ns, m.GetUpdate())
	}
}

// quiet asserts that nothing arrives for d.
func (s *subStream) quiet(d time.Duration) {
	s.t.Helper()
	select {
	case m, ok := <-s.resp:
		if ok {
			s.t.Fatalf("unexpected response %v", m)
		}
		s.t.Fatalf("stream ended: %v", <-s.err)
	case <-time.After(d):
	}
}

// end waits for the stream's final error (nil for a clean io.EOF).
func (s *subStream) end() error {
	s.t.Helper()
	for {
		select {
		case _, ok := <-s.resp:
			if !ok {
				err := <-s.err
				if errors.Is(err, io.EOF) {
					return nil
				}
				return err
			}
		case <-time.After(5 * time.Second):
			s.t.Fatal("stream did not end")
		}
	}
}

func subList(mode gnmi.SubscriptionList_Mode, subs ...*gnmi.Subscription) *gnmi.SubscriptionList {
	return &gnmi.SubscriptionList{Mode: mode, Encoding: gnmi.Encoding_PROTO, Subscription: subs}
}

func sub(path string, mode gnmi.SubscriptionMode, interval time.Duration) *gnmi.Subscription {
	return &gnmi.Subscription{Path: p(path), Mode: mode, SampleInterval: uint64(interval)}
}

func TestSubscribeOnce(t *testing.T) {
	r := newRig(t, fastOptions())
	r.addCount(t, 2, dataplane.PortCounters{TX: dataplane.Counter{Packets: 5, Bytes: 500}})
	s := r.subscribe(t, subList(gnmi.SubscriptionList_ONCE,
		sub("/interfaces/interface[name=*]/state/counters/out-octets", 0, 0),
		sub("/interfaces/interface[name=lan1]/state/oper-status", 0, 0)))
	got := updates(t, s.untilSync()...)
	want := map[string]string{
		"/interfaces/interface[name=wan0]/state/counters/out-octets": "u0",
		"/interfaces/interface[name=lan0]/state/counters/out-octets": "u500",
		"/interfaces/interface[name=lan1]/state/counters/out-octets": "u0",
		"/interfaces/interface[name=lan1]/state/oper-status":         "DOWN",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if err := s.end(); err != nil {
		t.Errorf("ONCE ended with %v", err)
	}

	// updates_only: just the sync_response.
	l := subList(gnmi.SubscriptionList_ONCE, sub("/interfaces", 0, 0))
	l.UpdatesOnly = true
	s = r.subscribe(t, l)
	if ns := s.untilSync(); len(ns) != 0 {
		t.Errorf("updates_only ONCE sent %v", ns)
	}
	if err := s.end(); err != nil {
		t.Errorf("ONCE ended with %v", err)
	}
}

func TestSubscribeOnceJSON(t *testing.T) {
	r := newRig(t, fastOptions())
	l := subList(gnmi.SubscriptionList_ONCE, sub("/interfaces/interface[name=wan0]/state", 0, 0))
	l.Encoding = gnmi.Encoding_JSON_IETF
	s := r.subscribe(t, l)
	got := updates(t, s.untilSync()...)
	// Leaves travel as typed scalars whatever the encoding.
	if got["/interfaces/interface[name=wan0]/state/oper-status"] != "UP" || got["/interfaces/interface[name=wan0]/state/counters/in-octets"] != "u0" || len(got) != 7+14 {
		t.Errorf("got %v", got)
	}
}

func TestSubscribePoll(t *testing.T) {
	r := newRig(t, fastOptions())
	s := r.subscribe(t, subList(gnmi.SubscriptionList_POLL, sub("/interfaces/interface[name=wan0]/state/counters/in-octets", 0, 0)))
	const path = "/interfaces/interface[name=wan0]/state/counters/in-octets"
	if got := updates(t, s.untilSync()...); got[path] != "u0" || len(got) != 1 {
		t.Fatalf("initial %v", got)
	}
	s.quiet(100 * time.Millisecond)
	for i := 1; i <= 3; i++ {
		r.addCount(t, 1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 1, Bytes: 100}})
		if err := s.stream.Send(&gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Poll{Poll: &gnmi.Poll{}}}); err != nil {
			t.Fatal(err)
		}
		if got := updates(t, s.untilSync()...); got[path] != "u"+strconv.Itoa(100*i) {
			t.Fatalf("poll %d: %v", i, got)
		}
	}
	// The client closing its side ends the RPC cleanly.
	if err := s.stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if err := s.end(); err != nil {
		t.Errorf("POLL ended with %v", err)
	}
	checkNoHandlers(t)
}

func TestSubscribeStreamSample(t *testing.T) {
	r := newRig(t, fastOptions())
	const path = "/interfaces/interface[name=wan0]/state/counters/in-octets"
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub(path, gnmi.SubscriptionMode_SAMPLE, 30*time.Millisecond)))
	if got := updates(t, s.untilSync()...); got[path] != "u0" || len(got) != 1 {
		t.Fatalf("initial %v", got)
	}
	// Every sample is sent, changed or not.
	for range 3 {
		m := s.next(time.Second)
		if got := updates(t, m.GetUpdate()); got[path] != "u0" {
			t.Fatalf("sample %v", got)
		}
	}
	r.addCount(t, 1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 1, Bytes: 42}})
	deadline := time.Now().Add(2 * time.Second)
	for {
		m := s.next(time.Second)
		if updates(t, m.GetUpdate())[path] == "u42" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("new counter value never sampled")
		}
	}
	s.cancel()
	wantCode(t, s.end(), codes.Canceled)
	checkNoHandlers(t)
}

func TestSubscribeStreamSampleSuppressRedundant(t *testing.T) {
	r := newRig(t, fastOptions())
	const path = "/interfaces/interface[name=lan0]/state/counters/out-unicast-pkts"
	sb := sub("/interfaces/interface[name=lan0]/state/counters", gnmi.SubscriptionMode_SAMPLE, 20*time.Millisecond)
	sb.SuppressRedundant = true
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sb))
	if got := updates(t, s.untilSync()...); len(got) != 14 {
		t.Fatalf("initial %v", got)
	}
	s.quiet(150 * time.Millisecond)
	r.addCount(t, 2, dataplane.PortCounters{TX: dataplane.Counter{Packets: 2, Bytes: 200}})
	got := updates(t, s.next(time.Second).GetUpdate())
	want := map[string]string{path: "u2", "/interfaces/interface[name=lan0]/state/counters/out-octets": "u200"}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want only the changed leaves %v", got, want)
	}
	s.quiet(150 * time.Millisecond)
}

// The subscription ONOS' GnmiDeviceStateSubscriber opens, and an oper-status flip.
func TestSubscribeStreamOnChangeONOS(t *testing.T) {
	r := newRig(t, fastOptions())
	list := &gnmi.SubscriptionList{Mode: gnmi.SubscriptionList_STREAM, UpdatesOnly: true}
	for _, port := range rigPorts {
		list.Subscription = append(list.Subscription, sub("/interfaces/interface[name="+port.name+"]/state", gnmi.SubscriptionMode_ON_CHANGE, 0))
	}
	list.Encoding = gnmi.Encoding_PROTO
	s := r.subscribe(t, list)
	if ns := s.untilSync(); len(ns) != 0 {
		t.Fatalf("updates_only sent initial state %v", ns)
	}
	s.quiet(100 * time.Millisecond) // nothing changes, nothing is sent

	t2 := time.Unix(1_700_000_200, 5)
	r.links.set("wan0", LinkState{AdminUp: true, Oper: OperLowerLayerDown, LastChange: t2})
	n := s.next(2 * time.Second).GetUpdate()
	got := updates(t, n)
	want := map[string]string{
		"/interfaces/interface[name=wan0]/state/oper-status": "LOWER_LAYER_DOWN",
		"/interfaces/interface[name=wan0]/state/last-change": "u" + strconv.FormatInt(t2.UnixNano(), 10),
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v (in one notification)", got, want)
	}
	s.quiet(100 * time.Millisecond)

	// Admin down and up again on lan0.
	r.links.set("lan0", LinkState{AdminUp: false, Oper: OperDown, LastChange: t2})
	got = updates(t, s.next(2*time.Second).GetUpdate())
	want = map[string]string{
		"/interfaces/interface[name=lan0]/state/admin-status": "DOWN",
		"/interfaces/interface[name=lan0]/state/oper-status":  "DOWN",
		"/interfaces/interface[name=lan0]/state/last-change":  "u" + strconv.FormatInt(t2.UnixNano(), 10),
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	// Counters below state change too: ON_CHANGE sends them when they do.
	r.addCount(t, 7, dataplane.PortCounters{RX: dataplane.Counter{Packets: 1, Bytes: 60}})
	got = updates(t, s.next(2*time.Second).GetUpdate())
	want = map[string]string{
		"/interfaces/interface[name=lan1]/state/counters/in-octets":       "u60",
		"/interfaces/interface[name=lan1]/state/counters/in-unicast-pkts": "u1",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}

	s.cancel()
	wantCode(t, s.end(), codes.Canceled)
	checkNoHandlers(t)
}

func TestSubscribeStreamOnChangeInitialAndHeartbeat(t *testing.T) {
	r := newRig(t, fastOptions())
	sb := sub("/interfaces/interface[name=wan0]/state/oper-status", gnmi.SubscriptionMode_ON_CHANGE, 0)
	sb.HeartbeatInterval = uint64(50 * time.Millisecond)
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sb))
	if got := updates(t, s.untilSync()...); got["/interfaces/interface[name=wan0]/state/oper-status"] != "UP" || len(got) != 1 {
		t.Fatalf("initial %v", got)
	}
	// Unchanged, but the heartbeat resends it.
	for range 2 {
		if got := updates(t, s.next(time.Second).GetUpdate()); got["/interfaces/interface[name=wan0]/state/oper-status"] != "UP" {
			t.Fatalf("heartbeat %v", got)
		}
	}
}

// TARGET_DEFINED (what gnmi_cli -qt s sends): status on change, counters sampled.
func TestSubscribeStreamTargetDefined(t *testing.T) {
	opts := fastOptions()
	opts.DefaultSampleInterval = 500 * time.Millisecond
	r := newRig(t, opts)
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface[name=lan0]/state", gnmi.SubscriptionMode_TARGET_DEFINED, 0)))
	if got := updates(t, s.untilSync()...); len(got) != 7+14 {
		t.Fatalf("initial %v", got)
	}
	// The status change comes (every ChangeInterval) before the first sample of the
	// counters (every DefaultSampleInterval).
	r.links.set("lan0", LinkState{AdminUp: true, Oper: OperDown, LastChange: t1})
	got := updates(t, s.next(time.Second).GetUpdate())
	if got["/interfaces/interface[name=lan0]/state/oper-status"] != "DOWN" || len(got) != 2 {
		t.Errorf("change %v", got)
	}
	// Then the counters, sampled: all 14, unchanged.
	got = updates(t, s.next(time.Second).GetUpdate())
	if len(got) != 14 || got["/interfaces/interface[name=lan0]/state/counters/in-octets"] != "u0" {
		t.Errorf("sample %v", got)
	}
}

func TestSubscribeStreamInterfaceChurn(t *testing.T) {
	r := newRig(t, fastOptions())
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface/state/oper-status", gnmi.SubscriptionMode_ON_CHANGE, 0)))
	if got := updates(t, s.untilSync()...); len(got) != 3 {
		t.Fatalf("initial %v", got)
	}
	if err := r.dp.Detach(2); err != nil {
		t.Fatal(err)
	}
	n := s.next(time.Second).GetUpdate()
	if len(n.GetDelete()) != 1 || pstr(n.GetDelete()[0]) != "/interfaces/interface[name=lan0]" || len(n.GetUpdate()) != 0 {
		t.Fatalf("want delete of lan0, got %v", n)
	}
	// A port attached later shows up.
	if err := r.dp.Attach("wan1", 9, dataplane.RoleWAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	r.links.set("wan1", LinkState{AdminUp: true, Oper: OperUp})
	got := updates(t, s.next(time.Second).GetUpdate())
	if !maps.Equal(got, map[string]string{"/interfaces/interface[name=wan1]/state/oper-status": "UP"}) {
		t.Errorf("got %v", got)
	}
}

// A subscription to an interface that does not exist yet stays open.
func TestSubscribeStreamFutureInterface(t *testing.T) {
	r := newRig(t, fastOptions())
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface[name=wan9]/state/ifindex", gnmi.SubscriptionMode_ON_CHANGE, 0)))
	if ns := s.untilSync(); len(ns) != 0 {
		t.Fatalf("initial %v", ns)
	}
	if err := r.dp.Attach("wan9", 99, dataplane.RoleWAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	got := updates(t, s.next(time.Second).GetUpdate())
	if !maps.Equal(got, map[string]string{"/interfaces/interface[name=wan9]/state/ifindex": "u99"}) {
		t.Errorf("got %v", got)
	}
}

func TestSubscribeErrors(t *testing.T) {
	r := newRig(t, fastOptions())
	for _, tc := range []struct {
		name string
		req  *gnmi.SubscribeRequest
		code codes.Code
	}{
		{"poll first", &gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Poll{Poll: &gnmi.Poll{}}}, codes.InvalidArgument},
		{"empty", &gnmi.SubscribeRequest{}, codes.InvalidArgument},
		{"no subscription", &gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: subList(gnmi.SubscriptionList_STREAM)}}, codes.InvalidArgument},
		{"bad path", &gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: subList(gnmi.SubscriptionList_STREAM, sub("/system/state", 0, 0))}}, codes.InvalidArgument},
		{"interval too small", &gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: subList(gnmi.SubscriptionList_STREAM,
			sub("/interfaces", gnmi.SubscriptionMode_SAMPLE, time.Millisecond))}}, codes.InvalidArgument},
		{"mode", &gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: subList(gnmi.SubscriptionList_STREAM, sub("/interfaces", 7, 0))}}, codes.InvalidArgument},
		{"encoding", &gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: &gnmi.SubscriptionList{
			Encoding: gnmi.Encoding_ASCII, Subscription: []*gnmi.Subscription{sub("/interfaces", 0, 0)}}}}, codes.Unimplemented},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := r.subscribe(t, nil)
			if err := s.stream.Send(tc.req); err != nil {
				t.Fatal(err)
			}
			wantCode(t, s.end(), tc.code)
		})
	}

	// A second SubscriptionList on a STREAM RPC is INVALID_ARGUMENT.
	list := subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface[name=wan0]/state/oper-status", gnmi.SubscriptionMode_ON_CHANGE, 0))
	s := r.subscribe(t, list)
	s.untilSync()
	if err := s.stream.Send(&gnmi.SubscribeRequest{Request: &gnmi.SubscribeRequest_Subscribe{Subscribe: list}}); err != nil {
		t.Fatal(err)
	}
	wantCode(t, s.end(), codes.InvalidArgument)
	checkNoHandlers(t)
}

// Half-closing a STREAM subscription does not end it; Close does, and ends RPCs
// still waiting for their request.
func TestSubscribeStreamHalfCloseAndServerClose(t *testing.T) {
	r := newRig(t, fastOptions())
	idle := r.subscribe(t, nil) // an RPC that never sends its SubscriptionList
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface[name=wan0]/state/oper-status", gnmi.SubscriptionMode_ON_CHANGE, 0)))
	s.untilSync()
	if err := s.stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	r.links.set("wan0", LinkState{AdminUp: true, Oper: OperDown, LastChange: t1})
	if got := updates(t, s.next(time.Second).GetUpdate()); got["/interfaces/interface[name=wan0]/state/oper-status"] != "DOWN" {
		t.Fatalf("got %v", got)
	}
	r.srv.Close()
	wantCode(t, s.end(), codes.Unavailable)
	wantCode(t, idle.end(), codes.Unavailable)
	checkNoHandlers(t)
	s = r.subscribe(t, subList(gnmi.SubscriptionList_ONCE, sub("/interfaces", 0, 0)))
	wantCode(t, s.end(), codes.Unavailable)
}

// Many streams opened and cancelled leave nothing behind.
func TestSubscribeNoLeaks(t *testing.T) {
	r := newRig(t, fastOptions())
	var streams []*subStream
	for i := range 20 {
		mode := []gnmi.SubscriptionList_Mode{gnmi.SubscriptionList_STREAM, gnmi.SubscriptionList_POLL}[i%2]
		s := r.subscribe(t, subList(mode, sub("/interfaces", gnmi.SubscriptionMode_TARGET_DEFINED, 0)))
		s.untilSync()
		streams = append(streams, s)
	}
	for _, s := range streams {
		s.cancel()
		wantCode(t, s.end(), codes.Canceled)
	}
	checkNoHandlers(t)
}
