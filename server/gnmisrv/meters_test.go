package gnmisrv

import (
	"maps"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
)

var (
	meterCfg   = dataplane.MeterConfig{CIR: 125_000, CBurst: 10_000, PIR: 250_000, PBurst: 20_000}
	farBytes3  = dataplane.MeterID{Unit: dataplane.MeterBytes, FAR: 3}
	farPkts3   = dataplane.MeterID{Unit: dataplane.MeterPackets, FAR: 3}
	meterCount = dataplane.MeterCounters{Green: dataplane.Counter{Packets: 10, Bytes: 15_000},
		Yellow: dataplane.Counter{Packets: 2, Bytes: 3_000}, Red: dataplane.Counter{Packets: 5, Bytes: 7_500}}
)

// meterRig is a rig with FAR 3's two meters configured (the bytes one with
// counts) and one rule with a direct meter; it returns the rule's id.
func meterRig(t *testing.T) (*rig, dataplane.PDRID) {
	t.Helper()
	r := newRig(t, fastOptions())
	check := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	check(r.dp.SetMeter(farBytes3, meterCfg))
	check(r.dp.SetMeter(farPkts3, dataplane.MeterConfig{CIR: 100, CBurst: 10, PIR: 100, PBurst: 10}))
	r.dp.AddMeterCount(farBytes3, meterCount)
	// A rule without a meter has no entry; one with a meter has.
	_, err := r.dp.InsertPDR(dataplane.PDR{Match: dataplane.MatchAll(), Priority: 1, FAR: 3})
	check(err)
	m := dataplane.MatchAll()
	m.DSCP = dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f}
	id, err := r.dp.InsertPDR(dataplane.PDR{Match: m, Priority: 2, FAR: 3})
	check(err)
	check(r.dp.SetPDRMeter(id, meterCfg))
	r.dp.AddPDRMeterCount(id, dataplane.MeterCounters{Red: dataplane.Counter{Packets: 4, Bytes: 400}})
	return r, id
}

func get(t *testing.T, r *rig, enc gnmi.Encoding, paths ...string) (map[string]string, error) {
	t.Helper()
	req := &gnmi.GetRequest{Encoding: enc}
	for _, s := range paths {
		req.Path = append(req.Path, p(s))
	}
	resp, err := r.client.Get(ctxT(t), req)
	if err != nil {
		return nil, err
	}
	return updates(t, resp.GetNotification()...), nil
}

// A FAR meter's per-color counters, read with Get in PROTO: one typed leaf
// each, full paths with both keys.
func TestMetersGet(t *testing.T) {
	r, _ := meterRig(t)
	got, err := get(t, r, gnmi.Encoding_PROTO, "/qos/meters/meter[far=3][unit=bytes]/state")
	if err != nil {
		t.Fatal(err)
	}
	pre := "/qos/meters/meter[far=3][unit=bytes]/state/"
	want := map[string]string{
		pre + "far": "u3", pre + "unit": "bytes",
		pre + "counters/green/packets": "u10", pre + "counters/green/bytes": "u15000",
		pre + "counters/yellow/packets": "u2", pre + "counters/yellow/bytes": "u3000",
		pre + "counters/red/packets": "u5", pre + "counters/red/bytes": "u7500",
	}
	if !maps.Equal(got, want) {
		t.Errorf("Get %s:\n got %v\nwant %v", pre, got, want)
	}

	// Without the unit key, both of FAR 3's meters; the packets one counted nothing.
	got, err = get(t, r, gnmi.Encoding_PROTO, "/qos/meters/meter[far=3]/state/counters/red/packets")
	if err != nil {
		t.Fatal(err)
	}
	want = map[string]string{
		"/qos/meters/meter[far=3][unit=bytes]/state/counters/red/packets":   "u5",
		"/qos/meters/meter[far=3][unit=packets]/state/counters/red/packets": "u0",
	}
	if !maps.Equal(got, want) {
		t.Errorf("Get meter[far=3]: got %v, want %v", got, want)
	}
}

// Rules' direct meters: only the rule with a configured meter has an entry;
// a wildcard over every meter sees both lists, nothing under /interfaces.
func TestMetersGetDirect(t *testing.T) {
	r, id := meterRig(t)
	got, err := get(t, r, gnmi.Encoding_PROTO, "/qos/pdr-meters/meter[pdr=*]/state/counters/red")
	if err != nil {
		t.Fatal(err)
	}
	pre := "/qos/pdr-meters/meter[pdr=" + itoa(uint64(id)) + "]/state/counters/red/"
	want := map[string]string{pre + "packets": "u4", pre + "bytes": "u400"}
	if !maps.Equal(got, want) {
		t.Errorf("Get pdr-meters: got %v, want %v", got, want)
	}
	all, err := get(t, r, gnmi.Encoding_PROTO, "/qos")
	if err != nil {
		t.Fatal(err)
	}
	// 2 FAR meters x (2 keys + 2 state keys + 6 counters) + 1 direct x (1 + 1 + 6).
	if len(all) != 2*10+8 {
		t.Errorf("Get /qos: %d leaves, want 28: %v", len(all), all)
	}
	for k := range all {
		if !strings.HasPrefix(k, "/qos/") {
			t.Errorf("Get /qos returned %s", k)
		}
	}
	// The whole tree holds interfaces and meters.
	root, err := get(t, r, gnmi.Encoding_PROTO, "/")
	if err != nil {
		t.Fatal(err)
	}
	if root[pre+"packets"] != "u4" || root["/interfaces/interface[name=wan0]/state/name"] != "wan0" {
		t.Errorf("Get / lacks meters or interfaces: %v", root)
	}
}

// JSON_IETF: a meter entry as one object, keys first, members qualified by
// linx-qos at the top (RFC 7951, as for interfaces).
func TestMetersGetJSONIETF(t *testing.T) {
	r, _ := meterRig(t)
	getJSON := func(path string) map[string]string {
		t.Helper()
		resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p(path)}, Encoding: gnmi.Encoding_JSON_IETF})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, n := range resp.GetNotification() {
			for _, u := range n.GetUpdate() {
				out[pstr(u.GetPath())] = scalar(t, u.GetVal())
			}
		}
		return out
	}
	got := getJSON("/qos/meters/meter[far=3][unit=packets]")
	want := `ietf:{"linx-qos:far":3,"linx-qos:unit":"packets","linx-qos:state":{"far":3,"unit":"packets","counters":{` +
		`"green":{"packets":"0","bytes":"0"},"yellow":{"packets":"0","bytes":"0"},"red":{"packets":"0","bytes":"0"}}}}`
	if v := got["/qos/meters/meter[far=3][unit=packets]"]; v != want {
		t.Errorf("JSON_IETF:\n got %s\nwant %s", v, want)
	}
	got = getJSON("/qos/meters")
	if v := got["/qos/meters"]; !strings.HasPrefix(v, `ietf:{"linx-qos:meter":[{"far":3,"unit":"bytes","state":{`) ||
		!strings.Contains(v, `{"far":3,"unit":"packets",`) {
		t.Errorf("JSON_IETF /qos/meters: %s", v)
	}
}

func TestMetersGetErrors(t *testing.T) {
	r, _ := meterRig(t)
	for _, tc := range []struct {
		path string
		code codes.Code
	}{
		{"/qos/meters/meter[far=4][unit=bytes]", codes.NotFound}, // not configured
		{"/qos/pdr-meters/meter[pdr=1]/state", codes.NotFound},   // a rule without a meter
		{"/qos/meters/meter[name=3]", codes.InvalidArgument},     // no such key
		{"/qos/meters/meter[far=3]/state/counters/blue", codes.InvalidArgument},
	} {
		_, err := get(t, r, gnmi.Encoding_PROTO, tc.path)
		if err == nil {
			t.Errorf("%s: no error", tc.path)
			continue
		}
		wantCode(t, err, tc.code)
		if tc.code == codes.NotFound && !strings.Contains(err.Error(), "no such meter") {
			t.Errorf("%s: %v, want it to say no such meter", tc.path, err)
		}
	}
}

// A SAMPLE subscription to a meter's counters sends them at every sample,
// moving with the counts; a meter reset to the default is deleted from the
// tree, and the subscription says so.
func TestMetersSubscribeSample(t *testing.T) {
	r, _ := meterRig(t)
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM,
		sub("/qos/meters/meter[far=3][unit=bytes]/state/counters/red", gnmi.SubscriptionMode_SAMPLE, 20*time.Millisecond)))
	pre := "/qos/meters/meter[far=3][unit=bytes]/state/counters/red/"
	first := updates(t, s.untilSync()...)
	if want := map[string]string{pre + "packets": "u5", pre + "bytes": "u7500"}; !maps.Equal(first, want) {
		t.Fatalf("initial: got %v, want %v", first, want)
	}
	r.dp.AddMeterCount(farBytes3, dataplane.MeterCounters{Red: dataplane.Counter{Packets: 1, Bytes: 1500}})
	waitUpdate(t, s, pre+"packets", "u6")
	if err := r.dp.SetMeter(farBytes3, dataplane.MeterConfig{}); err != nil {
		t.Fatal(err)
	}
	waitDelete(t, s, "/qos/meters/meter[far=3][unit=bytes]")
}

// ON_CHANGE, as the interfaces' counters: checked every
// DefaultSampleInterval, only changed leaves sent.
func TestMetersSubscribeOnChange(t *testing.T) {
	r, id := meterRig(t)
	s := r.subscribe(t, subList(gnmi.SubscriptionList_STREAM, sub("/qos/pdr-meters/meter[pdr=*]", gnmi.SubscriptionMode_ON_CHANGE, 0)))
	if got := updates(t, s.untilSync()...); len(got) != 8 {
		t.Fatalf("initial: %d leaves, want 8: %v", len(got), got)
	}
	r.dp.AddPDRMeterCount(id, dataplane.MeterCounters{Green: dataplane.Counter{Packets: 1, Bytes: 100}})
	m := s.next(5 * time.Second)
	pre := "/qos/pdr-meters/meter[pdr=" + itoa(uint64(id)) + "]/state/counters/green/"
	if got, want := updates(t, m.GetUpdate()), map[string]string{pre + "packets": "u1", pre + "bytes": "u100"}; !maps.Equal(got, want) {
		t.Fatalf("change: got %v, want %v", got, want)
	}
	s.quiet(150 * time.Millisecond) // nothing else changed
	if err := r.dp.DeletePDR(id); err != nil {
		t.Fatal(err)
	}
	waitDelete(t, s, "/qos/pdr-meters/meter[pdr="+itoa(uint64(id))+"]")
}

// waitUpdate waits for an update of path to value.
func waitUpdate(t *testing.T, s *subStream, path, val string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m := s.next(5 * time.Second)
		if m.GetUpdate() != nil && updates(t, m.GetUpdate())[path] == val {
			return
		}
	}
	t.Fatalf("no update %s = %s", path, val)
}

// waitDelete waits for a delete of path.
func waitDelete(t *testing.T, s *subStream, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		m := s.next(5 * time.Second)
		for _, d := range m.GetUpdate().GetDelete() {
			if pstr(d) == path {
				return
			}
		}
	}
	t.Fatalf("no delete of %s", path)
}

// gnmi_cli, a real third-party client, reads a meter's counters with a ONCE
// subscription, as an operator would.
func TestMetersGnmiCLI(t *testing.T) {
	bin := gnmiCLI(t)
	r, _ := meterRig(t)
	out := runCLI(t, bin, "-address", r.addr, "-insecure", "-timeout", "10s",
		"-query", "/qos/meters/meter[far=3][unit=bytes]/state/counters/red/packets", "-qt", "o", "-dt", "s")
	if got := strings.TrimSpace(out); !strings.HasSuffix(got, "state/counters/red/packets, 5") || !strings.Contains(got, "qos/meters/meter/") {
		t.Errorf("gnmi_cli printed %q", out)
	}
}

// countingMeters counts how often the server lists the meters.
type countingMeters struct {
	dataplane.MeterLister
	lists atomic.Int64
}

func (c *countingMeters) MeterIDs() []dataplane.MeterID {
	c.lists.Add(1)
	return c.MeterLister.MeterIDs()
}

// A request for interfaces reads no meter, one for meters reads them: the
// ON_CHANGE checks of ONOS's port subscriptions (every ChangeInterval) cost
// nothing per configured meter.
func TestMetersReadOnlyWhenAsked(t *testing.T) {
	cm := &countingMeters{}
	opts := fastOptions()
	opts.Meters = cm
	r := newRig(t, opts)
	cm.MeterLister = r.dp
	if err := r.dp.SetMeter(farBytes3, meterCfg); err != nil {
		t.Fatal(err)
	}
	if _, err := get(t, r, gnmi.Encoding_PROTO, "/interfaces/interface[name=*]/state/counters"); err != nil {
		t.Fatal(err)
	}
	if n := cm.lists.Load(); n != 0 {
		t.Errorf("a Get of interface counters listed the meters %d times", n)
	}
	got, err := get(t, r, gnmi.Encoding_PROTO, "/qos/meters/meter[far=3][unit=bytes]/state/far")
	if err != nil {
		t.Fatal(err)
	}
	if n := cm.lists.Load(); n != 1 || got["/qos/meters/meter[far=3][unit=bytes]/state/far"] != "u3" {
		t.Errorf("a Get of a meter listed the meters %d times (want 1) and returned %v", n, got)
	}
	if _, err := get(t, r, gnmi.Encoding_PROTO, "/"); err != nil {
		t.Fatal(err)
	}
	if n := cm.lists.Load(); n != 2 {
		t.Errorf("a Get of the whole tree: meters listed %d times in all, want 2", n)
	}
}
