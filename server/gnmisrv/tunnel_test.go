package gnmisrv

import (
	"maps"
	"net/netip"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"

	"github.com/linx-sdwan/linx/dataplane"
)

// The rig's overlays: each is reported as a logical port.
var (
	gwA  = netip.MustParseAddr("198.51.100.1")
	gwB  = netip.MustParseAddr("203.0.113.9")
	tun1 = dataplane.Tunnel{Port: 1, Src: gwA, Dst: gwB, Key: 1}             // over wan0 (up)
	tun2 = dataplane.Tunnel{Port: 7, Src: gwA, Dst: gwB, Key: 2}             // over lan1 (down)
	tun3 = dataplane.Tunnel{Port: 1, Src: gwA, Dst: gwB, Key: 3, Down: true} // marked down
	tun4 = dataplane.Tunnel{Port: 9, Src: gwA, Dst: gwB, Key: 4}             // port 9 not attached
)

func (r *rig) setTunnel(t *testing.T, id dataplane.TunnelID, tn dataplane.Tunnel) {
	t.Helper()
	if err := r.dp.SetTunnel(id, tn); err != nil {
		t.Fatal(err)
	}
}

func (r *rig) addTunnelCount(t *testing.T, id dataplane.TunnelID, c dataplane.TunnelCounters) {
	t.Helper()
	if err := r.dp.AddTunnelCount(id, c); err != nil {
		t.Fatal(err)
	}
}

// tunnelPort is the logical port number of overlay id on the rig's data path
// (memdp with the default MaxPorts, 512).
func tunnelPort(id dataplane.TunnelID) string {
	return "u" + strconv.Itoa(int(dataplane.TunnelPort(dataplane.DefaultOptions.MaxPorts, id)))
}

// ONOS' port discovery Get lists every overlay as a port of its own, with a
// logical port number above every physical one and its liveness as
// oper-status.
func TestTunnelsPortDiscovery(t *testing.T) {
	r := newRig(t, fastOptions())
	r.setTunnel(t, 1, tun1)
	r.setTunnel(t, 2, tun2)
	r.setTunnel(t, 3, tun3)
	r.setTunnel(t, 4, tun4)
	resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{
		Path:     []*gnmi.Path{p("/interfaces/interface[name=...]/state")},
		Type:     gnmi.GetRequest_ALL,
		Encoding: gnmi.Encoding_PROTO,
	})
	if err != nil {
		t.Fatal(err)
	}
	got := updates(t, resp.GetNotification()...)
	if len(got) != (3+4)*(7+14) {
		t.Errorf("%d leaves, want %d (3 ports and 4 overlays)", len(got), (3+4)*(7+14))
	}
	for id, oper := range map[dataplane.TunnelID]string{1: "UP", 2: "LOWER_LAYER_DOWN", 3: "DOWN", 4: "LOWER_LAYER_DOWN"} {
		name := TunnelName(dataplane.TunnelID(id))
		base := "/interfaces/interface[name=" + name + "]/state/"
		want := map[string]string{
			"name": name, "type": "iana-if-type:tunnel", "id": tunnelPort(id), "ifindex": tunnelPort(id),
			"admin-status": "UP", "oper-status": oper, "last-change": "u0",
			"counters/in-octets": "u0", "counters/out-unicast-pkts": "u0",
		}
		for leaf, v := range want {
			if got[base+leaf] != v {
				t.Errorf("%s%s = %q, want %q", base, leaf, got[base+leaf], v)
			}
		}
	}
	if got["/interfaces/interface[name=tunnel-1]/state/ifindex"] != "u513" {
		t.Errorf("tunnel-1 ifindex %s, want 513 (MaxPorts 512 + 1)", got["/interfaces/interface[name=tunnel-1]/state/ifindex"])
	}
}

// ONOS' port statistics Get of an overlay: in-* what it decapsulated, out-*
// what it encapsulated; the counters move with traffic.
func TestTunnelsPortStatistics(t *testing.T) {
	r := newRig(t, fastOptions())
	r.setTunnel(t, 1, tun1)
	get := func() map[string]string {
		t.Helper()
		resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{
			Path: []*gnmi.Path{p("/interfaces/interface[name=tunnel-1]/state/counters")}, Encoding: gnmi.Encoding_PROTO})
		if err != nil {
			t.Fatal(err)
		}
		return updates(t, resp.GetNotification()...)
	}
	const c = "/interfaces/interface[name=tunnel-1]/state/counters/"
	want := map[string]string{}
	for _, n := range counterNames {
		want[c+n] = "u0"
	}
	if got := get(); !maps.Equal(got, want) {
		t.Errorf("fresh overlay: got %v, want %v", got, want)
	}
	r.addTunnelCount(t, 1, dataplane.TunnelCounters{TX: dataplane.Counter{Packets: 3, Bytes: 300}, RX: dataplane.Counter{Packets: 2, Bytes: 180}})
	r.addTunnelCount(t, 1, dataplane.TunnelCounters{TX: dataplane.Counter{Packets: 1, Bytes: 100}})
	want[c+"out-unicast-pkts"], want[c+"out-octets"], want[c+"in-unicast-pkts"], want[c+"in-octets"] = "u4", "u400", "u2", "u180"
	if got := get(); !maps.Equal(got, want) {
		t.Errorf("after traffic: got %v, want %v", got, want)
	}
}

// ONOS' port state push: an ON_CHANGE subscription of an overlay's state sees
// oper-status (with last-change, in one notification) follow the overlay's
// Down flag and its WAN port's link, and the interface deleted with the
// overlay.
func TestTunnelsOnChange(t *testing.T) {
	r := newRig(t, fastOptions())
	r.setTunnel(t, 1, tun1)
	l := subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface[name=tunnel-1]/state", gnmi.SubscriptionMode_ON_CHANGE, 0))
	l.UpdatesOnly = true
	s := r.subscribe(t, l)
	if ns := s.untilSync(); len(ns) != 0 {
		t.Fatalf("updates_only sent %v", ns)
	}
	const base = "/interfaces/interface[name=tunnel-1]/state/"
	// waitOper waits for the notification carrying oper-status and returns its
	// leaves.
	waitOper := func(want string) map[string]string {
		t.Helper()
		for {
			m := s.next(5 * time.Second)
			got := updates(t, m.GetUpdate())
			if v, ok := got[base+"oper-status"]; ok {
				if v != want {
					t.Fatalf("oper-status %s, want %s (%v)", v, want, got)
				}
				return got
			}
		}
	}
	lastChange := func(got map[string]string) uint64 {
		t.Helper()
		v, ok := got[base+"last-change"]
		if !ok {
			t.Fatalf("oper-status without last-change in its notification: %v", got)
		}
		n, err := strconv.ParseUint(v[1:], 10, 64)
		if err != nil || n == 0 {
			t.Fatalf("last-change %q, want the time of the change", v)
		}
		return n
	}

	down := tun1
	down.Down = true
	r.setTunnel(t, 1, down)
	c1 := lastChange(waitOper("DOWN"))

	r.setTunnel(t, 1, tun1)
	if c2 := lastChange(waitOper("UP")); c2 < c1 {
		t.Errorf("last-change went back: %d after %d", c2, c1)
	}

	// The WAN port loses carrier: the overlay is down below it.
	r.links.set("wan0", LinkState{AdminUp: true, Oper: OperDown, LastChange: t1})
	waitOper("LOWER_LAYER_DOWN")
	r.links.set("wan0", LinkState{AdminUp: true, Oper: OperUp, LastChange: t1})
	waitOper("UP")

	// Deleted: a delete of its list entry.
	if err := r.dp.DeleteTunnel(1); err != nil {
		t.Fatal(err)
	}
	for {
		m := s.next(5 * time.Second)
		if d := m.GetUpdate().GetDelete(); len(d) > 0 {
			if len(d) != 1 || pstr(d[0]) != "/interfaces/interface[name=tunnel-1]" {
				t.Fatalf("deletes %v", d)
			}
			break
		}
	}
}

// An overlay whose name a port already has is left out rather than reported
// twice under one key.
func TestTunnelsNameTaken(t *testing.T) {
	var (
		mu   sync.Mutex
		logs []string
	)
	opts := fastOptions()
	opts.Logf = func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		logs = append(logs, format)
	}
	r := newRig(t, opts)
	if err := r.dp.Attach("tunnel-1", 5, dataplane.RoleLAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	r.links.set("tunnel-1", LinkState{AdminUp: true, Oper: OperUp})
	r.setTunnel(t, 1, tun1)
	r.setTunnel(t, 2, tun1)
	resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=*]/state/ifindex")}, Encoding: gnmi.Encoding_PROTO})
	if err != nil {
		t.Fatal(err)
	}
	got := updates(t, resp.GetNotification()...)
	if got["/interfaces/interface[name=tunnel-1]/state/ifindex"] != "u5" || got["/interfaces/interface[name=tunnel-2]/state/ifindex"] != tunnelPort(2) {
		t.Errorf("ifindexes %v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(logs) != 1 {
		t.Errorf("logged %q, want one message", logs)
	}
}
