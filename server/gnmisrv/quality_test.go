package gnmisrv

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"

	"github.com/linx-sdwan/linx/dataplane"
)

// fakeQuality is a TunnelQuality the test sets, as the agent's prober would.
type fakeQuality struct {
	mu sync.Mutex
	st map[dataplane.TunnelID]TunnelStatus
}

func newFakeQuality() *fakeQuality { return &fakeQuality{st: map[dataplane.TunnelID]TunnelStatus{}} }

func (f *fakeQuality) TunnelStatus() []TunnelStatus {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Collect(maps.Values(f.st))
}

func (f *fakeQuality) set(s TunnelStatus) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.st[s.Tunnel] = s
}

var tChange = time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)

// degraded1 is overlay 1 measured by a stateful reflector: 5 % loss, 12.345 ms.
var degraded1 = TunnelStatus{Tunnel: 1, State: TunnelDegraded, LastChange: tChange,
	RTT: 12345 * time.Microsecond, MinRTT: 9 * time.Millisecond, Jitter: 1500 * time.Microsecond,
	Loss: 0.05, Directional: true, LossForward: 0.04, LossBackward: 0.0104}

func qualityRig(t *testing.T, opts Options) (*rig, *fakeQuality) {
	t.Helper()
	q := newFakeQuality()
	opts.Quality = q
	r := newRig(t, opts)
	r.setTunnel(t, 1, tun1)
	r.setTunnel(t, 2, tun2)
	r.setTunnel(t, 3, tun3)
	return r, q
}

// Get of the sla containers: the leaves of each overlay the prober reports,
// in their units (µs, ppm, ns since the epoch); none for overlays it does
// not report, nor for physical ports; directional loss only when known.
func TestQualityGet(t *testing.T) {
	r, q := qualityRig(t, fastOptions())
	q.set(degraded1)
	q.set(TunnelStatus{Tunnel: 2, State: TunnelUp, RTT: 30 * time.Millisecond, MinRTT: 29 * time.Millisecond})
	q.set(TunnelStatus{Tunnel: 9, State: TunnelDown}) // not installed: ignored
	resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=*]/linx-sla:sla/state")}, Encoding: gnmi.Encoding_PROTO})
	if err != nil {
		t.Fatal(err)
	}
	got := updates(t, resp.GetNotification()...)
	const t1, t2 = "/interfaces/interface[name=tunnel-1]/sla/state/", "/interfaces/interface[name=tunnel-2]/sla/state/"
	want := map[string]string{
		t1 + "status": "DEGRADED", t1 + "last-change": "u1796292000000000000", t1 + "rtt": "u12345", t1 + "rtt-min": "u9000",
		t1 + "jitter": "u1500", t1 + "loss": "u50000", t1 + "loss-forward": "u40000", t1 + "loss-backward": "u10400",
		t2 + "status": "UP", t2 + "last-change": "u0", t2 + "rtt": "u30000", t2 + "rtt-min": "u29000", t2 + "jitter": "u0", t2 + "loss": "u0",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v\nwant %v", got, want)
	}

	// JSON_IETF names the augmenting module where the sla container begins.
	resp, err = r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=tunnel-1]")}, Encoding: gnmi.Encoding_JSON_IETF})
	if err != nil {
		t.Fatal(err)
	}
	b := resp.GetNotification()[0].GetUpdate()[0].GetVal().GetJsonIetfVal()
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	sla, ok := v["linx-sla:sla"].(map[string]any)
	if !ok || sla["state"].(map[string]any)["status"] != "DEGRADED" {
		t.Errorf("JSON_IETF of tunnel-1: %s", b)
	}

	// A port has no sla container: naming one is NOT_FOUND (no such data).
	_, err = r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=wan0]/sla")}, Encoding: gnmi.Encoding_PROTO})
	if err == nil || !strings.Contains(err.Error(), "no such interface") {
		t.Errorf("sla of a port: %v, want NOT_FOUND", err)
	}
}

// ON_CHANGE of an overlay's sla status: QualityChanged sends the new status
// with its last-change in one notification at once, although the server's
// change check would not run for an hour.
func TestQualityOnChange(t *testing.T) {
	opts := fastOptions()
	opts.ChangeInterval = time.Hour
	r, q := qualityRig(t, opts)
	q.set(TunnelStatus{Tunnel: 1, State: TunnelUp, LastChange: tChange})
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface[name=tunnel-1]/sla/state", gnmi.SubscriptionMode_ON_CHANGE, 0)))
	const base = "/interfaces/interface[name=tunnel-1]/sla/state/"
	if got := updates(t, s.untilSync()...); got[base+"status"] != "UP" {
		t.Fatalf("initial state %v", got)
	}
	for i, st := range []TunnelState{TunnelDown, TunnelUp, TunnelDegraded} {
		at := tChange.Add(time.Duration(i+1) * time.Second)
		q.set(TunnelStatus{Tunnel: 1, State: st, LastChange: at})
		r.srv.QualityChanged()
		got := updates(t, s.next(5*time.Second).GetUpdate())
		if got[base+"status"] != string(st) || got[base+"last-change"] != "u"+itoa(uint64(at.UnixNano())) {
			t.Fatalf("after %s: %v", st, got)
		}
	}
	s.quiet(50 * time.Millisecond) // unchanged measures are not resent
}

// SAMPLE of an overlay's rtt follows the prober's measure.
func TestQualitySample(t *testing.T) {
	r, q := qualityRig(t, fastOptions())
	q.set(TunnelStatus{Tunnel: 1, State: TunnelUp, RTT: time.Millisecond})
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub("/interfaces/interface[name=tunnel-1]/sla/state/rtt", gnmi.SubscriptionMode_SAMPLE, 10*time.Millisecond)))
	const path = "/interfaces/interface[name=tunnel-1]/sla/state/rtt"
	if got := updates(t, s.untilSync()...); got[path] != "u1000" || len(got) != 1 {
		t.Fatalf("initial %v", got)
	}
	q.set(TunnelStatus{Tunnel: 1, State: TunnelUp, RTT: 2 * time.Millisecond})
	for {
		if got := updates(t, s.next(5*time.Second).GetUpdate()); got[path] == "u2000" {
			break
		} else if got[path] != "u1000" {
			t.Fatalf("sample %v", got)
		}
	}
}

func itoa(u uint64) string { return strconv.FormatUint(u, 10) }

// gnmi_cli, a real third-party client, reads the overlays' sla status with a
// ONCE subscription, as an operator would.
func TestQualityGnmiCLI(t *testing.T) {
	bin := gnmiCLI(t)
	r, q := qualityRig(t, fastOptions())
	q.set(degraded1)
	q.set(TunnelStatus{Tunnel: 2, State: TunnelDown})
	out := runCLI(t, bin, "-address", r.addr, "-insecure", "-timeout", "10s",
		"-query", "/interfaces/interface[name=*]/sla/state/status", "-qt", "o", "-dt", "s")
	got := map[string]bool{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		got[l] = true
	}
	want := map[string]bool{
		"interfaces/interface/tunnel-1/sla/state/status, DEGRADED": true,
		"interfaces/interface/tunnel-2/sla/state/status, DOWN":     true,
	}
	if !maps.Equal(got, want) {
		t.Errorf("gnmi_cli printed %q, want %v", out, want)
	}
}
