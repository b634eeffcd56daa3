package gnmisrv

import (
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strconv"
	"testing"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
)

func TestCapabilities(t *testing.T) {
	r := newRig(t, fastOptions())
	resp, err := r.client.Capabilities(ctxT(t), &gnmi.CapabilityRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetGNMIVersion() != "0.10.0" {
		t.Errorf("gNMI version %q", resp.GetGNMIVersion())
	}
	for _, e := range []gnmi.Encoding{gnmi.Encoding_PROTO, gnmi.Encoding_JSON_IETF, gnmi.Encoding_JSON} {
		if !slices.Contains(resp.GetSupportedEncodings(), e) {
			t.Errorf("encoding %v not advertised: %v", e, resp.GetSupportedEncodings())
		}
	}
	var models []string
	for _, m := range resp.GetSupportedModels() {
		models = append(models, m.GetName())
	}
	for _, m := range []string{"openconfig-interfaces", "linx-qos"} {
		if !slices.Contains(models, m) {
			t.Errorf("models %v lack %s", models, m)
		}
	}
}

// The request ONOS' OpenConfigGnmiDeviceDescriptionDiscovery sends.
func TestGetPortDiscoveryONOS(t *testing.T) {
	r := newRig(t, fastOptions())
	resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{
		Path:     []*gnmi.Path{p("/interfaces/interface[name=...]/state")},
		Type:     gnmi.GetRequest_ALL,
		Encoding: gnmi.Encoding_PROTO,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetNotification()) != 1 {
		t.Fatalf("%d notifications, want 1 (one per path)", len(resp.GetNotification()))
	}
	got := updates(t, resp.GetNotification()...)
	want := map[string]string{}
	for _, port := range rigPorts {
		base := "/interfaces/interface[name=" + port.name + "]/state/"
		want[base+"name"] = port.name
		want[base+"type"] = "iana-if-type:ethernetCsmacd"
		want[base+"id"] = "u" + strconv.Itoa(int(port.id))
		want[base+"ifindex"] = "u" + strconv.Itoa(int(port.id))
		want[base+"admin-status"] = "UP"
		want[base+"oper-status"] = "UP"
		want[base+"last-change"] = "u" + strconv.FormatInt(t0.UnixNano(), 10)
		for _, c := range counterNames {
			want[base+"counters/"+c] = "u0"
		}
	}
	lan1 := "/interfaces/interface[name=lan1]/state/"
	want[lan1+"admin-status"] = "DOWN"
	want[lan1+"oper-status"] = "DOWN"
	want[lan1+"last-change"] = "u" + strconv.FormatInt(t1.UnixNano(), 10)
	if !maps.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	// ONOS parses leaves at depth 4 by their last element.
	for _, u := range resp.GetNotification()[0].GetUpdate() {
		el := u.GetPath().GetElem()
		if name := el[len(el)-1].GetName(); (name == "ifindex" || name == "oper-status") && len(el) != 4 {
			t.Errorf("%s has %d elements, ONOS wants 4", pstr(u.GetPath()), len(el))
		}
	}
}

// The request ONOS' OpenConfigGnmiPortStatisticsDiscovery sends every 10 s.
func TestGetPortStatisticsONOS(t *testing.T) {
	r := newRig(t, fastOptions())
	r.addCount(t, 1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 10, Bytes: 1500}, TX: dataplane.Counter{Packets: 3, Bytes: 250}})
	r.addCount(t, 2, dataplane.PortCounters{RX: dataplane.Counter{Packets: 1, Bytes: 64}})
	resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{
		Path:     []*gnmi.Path{p("/interfaces/interface[name=wan0]/state/counters"), p("/interfaces/interface[name=lan0]/state/counters")},
		Encoding: gnmi.Encoding_PROTO,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetNotification()) != 2 {
		t.Fatalf("%d notifications, want 2", len(resp.GetNotification()))
	}
	got := updates(t, resp.GetNotification()...)
	want := map[string]string{}
	for _, name := range []string{"wan0", "lan0"} {
		for _, c := range counterNames {
			want["/interfaces/interface[name="+name+"]/state/counters/"+c] = "u0"
		}
	}
	w := "/interfaces/interface[name=wan0]/state/counters/"
	want[w+"in-octets"], want[w+"in-unicast-pkts"], want[w+"out-octets"], want[w+"out-unicast-pkts"] = "u1500", "u10", "u250", "u3"
	l := "/interfaces/interface[name=lan0]/state/counters/"
	want[l+"in-octets"], want[l+"in-unicast-pkts"] = "u64", "u1"
	if !maps.Equal(got, want) {
		t.Errorf("got\n%v\nwant\n%v", got, want)
	}
	if len(counterNames) != 14 {
		t.Errorf("%d counters, ONOS reads 14", len(counterNames))
	}
}

func TestGetJSONIETF(t *testing.T) {
	r := newRig(t, fastOptions())
	r.addCount(t, 1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 10, Bytes: 1500}})
	get := func(enc gnmi.Encoding, paths ...string) []*gnmi.Update {
		t.Helper()
		req := &gnmi.GetRequest{Encoding: enc}
		for _, s := range paths {
			req.Path = append(req.Path, p(s))
		}
		resp, err := r.client.Get(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		var ups []*gnmi.Update
		for _, n := range resp.GetNotification() {
			ups = append(ups, n.GetUpdate()...)
		}
		return ups
	}

	// A leaf: the JSON scalar; uint32 as a number, uint64 (counter64) as a string.
	ups := get(gnmi.Encoding_JSON_IETF, "/interfaces/interface[name=wan0]/state/ifindex",
		"/interfaces/interface[name=wan0]/state/counters/in-octets", "/interfaces/interface[name=wan0]/state/oper-status")
	want := []string{`ietf:1`, `ietf:"1500"`, `ietf:"UP"`}
	for i, u := range ups {
		if got := scalar(t, u.GetVal()); got != want[i] {
			t.Errorf("%s = %s, want %s", pstr(u.GetPath()), got, want[i])
		}
	}

	// The state container of one interface: one update at that path.
	ups = get(gnmi.Encoding_JSON_IETF, "/interfaces/interface[name=wan0]/state")
	if len(ups) != 1 || pstr(ups[0].GetPath()) != "/interfaces/interface[name=wan0]/state" {
		t.Fatalf("updates %v", ups)
	}
	var st map[string]any
	if err := json.Unmarshal(ups[0].GetVal().GetJsonIetfVal(), &st); err != nil {
		t.Fatal(err)
	}
	wantState := map[string]any{
		"openconfig-interfaces:name":         "wan0",
		"openconfig-p4rt:id":                 float64(1),
		"openconfig-interfaces:ifindex":      float64(1),
		"openconfig-interfaces:admin-status": "UP",
		"openconfig-interfaces:oper-status":  "UP",
		"openconfig-interfaces:last-change":  strconv.FormatInt(t0.UnixNano(), 10),
	}
	for k, v := range wantState {
		if st[k] != v {
			t.Errorf("state[%q] = %#v, want %#v (state %v)", k, st[k], v, st)
		}
	}
	counters, _ := st["openconfig-interfaces:counters"].(map[string]any)
	if counters["in-octets"] != "1500" || counters["in-unicast-pkts"] != "10" || counters["out-errors"] != "0" || len(counters) != 14 {
		t.Errorf("counters %v", counters)
	}

	// Wildcard: one update per interface, each at its concrete path.
	ups = get(gnmi.Encoding_JSON_IETF, "/interfaces/interface[name=*]/state")
	var paths []string
	for _, u := range ups {
		paths = append(paths, pstr(u.GetPath()))
	}
	if !slices.Equal(paths, []string{"/interfaces/interface[name=wan0]/state", "/interfaces/interface[name=lan0]/state", "/interfaces/interface[name=lan1]/state"}) {
		t.Errorf("paths %v", paths)
	}

	// The interfaces container: a list with keys.
	ups = get(gnmi.Encoding_JSON_IETF, "/interfaces")
	if len(ups) != 1 || pstr(ups[0].GetPath()) != "/interfaces" {
		t.Fatalf("updates %v", ups)
	}
	var ifs struct {
		List []struct {
			Name  string         `json:"name"`
			State map[string]any `json:"state"`
		} `json:"openconfig-interfaces:interface"`
	}
	if err := json.Unmarshal(ups[0].GetVal().GetJsonIetfVal(), &ifs); err != nil {
		t.Fatal(err)
	}
	if len(ifs.List) != 3 || ifs.List[2].Name != "lan1" || ifs.List[2].State["oper-status"] != "DOWN" || ifs.List[0].State["openconfig-p4rt:id"] != float64(1) {
		t.Errorf("interfaces %s", ups[0].GetVal().GetJsonIetfVal())
	}

	// Plain JSON: no module names, 64-bit numbers as numbers.
	ups = get(gnmi.Encoding_JSON, "/interfaces/interface[name=wan0]/state/counters")
	var c map[string]any
	if err := json.Unmarshal(ups[0].GetVal().GetJsonVal(), &c); err != nil {
		t.Fatal(err)
	}
	if c["in-octets"] != float64(1500) {
		t.Errorf("JSON counters %s", ups[0].GetVal().GetJsonVal())
	}
}

func TestGetPathForms(t *testing.T) {
	r := newRig(t, fastOptions())
	oper := func(resp *gnmi.GetResponse) []string {
		var out []string
		for k, v := range updates(t, resp.GetNotification()...) {
			out = append(out, k+"="+v)
		}
		slices.Sort(out)
		return out
	}
	all := []string{
		"/interfaces/interface[name=lan0]/state/oper-status=UP",
		"/interfaces/interface[name=lan1]/state/oper-status=DOWN",
		"/interfaces/interface[name=wan0]/state/oper-status=UP",
	}
	for _, tc := range []struct {
		name string
		req  *gnmi.GetRequest
		want []string
	}{
		{"key *", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=*]/state/oper-status")}}, all},
		{"no key", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface/state/oper-status")}}, all},
		{"elem *", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/*/*/oper-status")}}, all},
		{"elem ...", &gnmi.GetRequest{Path: []*gnmi.Path{p("/.../oper-status")}}, all},
		{"prefix", &gnmi.GetRequest{Prefix: p("/interfaces/interface[name=lan1]"), Path: []*gnmi.Path{p("/state/oper-status")}}, all[1:2]},
		{"module names and origin", &gnmi.GetRequest{Path: []*gnmi.Path{{
			Origin: "openconfig",
			Elem:   append(p("/openconfig-interfaces:interfaces/interface[name=wan0]").Elem, p("/state/oper-status").Elem...),
		}}}, all[2:]},
		{"deprecated element", &gnmi.GetRequest{Path: []*gnmi.Path{{Element: []string{"interfaces", "interface[name=lan0]", "state", "oper-status"}}}}, all[:1]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Encoding = gnmi.Encoding_PROTO
			resp, err := r.client.Get(ctxT(t), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got := oper(resp); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}

	// A target in the prefix comes back in the notification prefix.
	resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{Prefix: &gnmi.Path{Target: "linx1"}, Path: []*gnmi.Path{p("/interfaces/interface[name=wan0]/state/ifindex")}, Encoding: gnmi.Encoding_PROTO})
	if err != nil {
		t.Fatal(err)
	}
	if n := resp.GetNotification()[0]; n.GetPrefix().GetTarget() != "linx1" || len(n.GetUpdate()) != 1 || pstr(n.GetUpdate()[0].GetPath()) != "/interfaces/interface[name=wan0]/state/ifindex" {
		t.Errorf("notification %v", n)
	}
}

func TestGetDataTypes(t *testing.T) {
	r := newRig(t, fastOptions())
	get := func(typ gnmi.GetRequest_DataType) map[string]string {
		resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=wan0]")}, Type: typ, Encoding: gnmi.Encoding_PROTO})
		if err != nil {
			t.Fatal(err)
		}
		return updates(t, resp.GetNotification()...)
	}
	const base = "/interfaces/interface[name=wan0]/"
	if got := get(gnmi.GetRequest_CONFIG); !maps.Equal(got, map[string]string{base + "name": "wan0"}) {
		t.Errorf("CONFIG: %v", got)
	}
	all, state, oper := get(gnmi.GetRequest_ALL), get(gnmi.GetRequest_STATE), get(gnmi.GetRequest_OPERATIONAL)
	if len(all) != 1+7+14 || len(state) != 7+14 || len(oper) != 4+14 {
		t.Errorf("ALL %d, STATE %d, OPERATIONAL %d leaves", len(all), len(state), len(oper))
	}
	if _, ok := oper[base+"state/name"]; ok {
		t.Errorf("OPERATIONAL has state/name")
	}
	if _, ok := state[base+"name"]; ok {
		t.Errorf("STATE has the config key leaf")
	}
}

func TestGetErrors(t *testing.T) {
	r := newRig(t, fastOptions())
	for _, tc := range []struct {
		name string
		req  *gnmi.GetRequest
		code codes.Code
	}{
		// ONOS' gnmi driver probes reachability with this and wants INVALID_ARGUMENT.
		{"ONOS probe", &gnmi.GetRequest{Path: []*gnmi.Path{p("/onos-gnmi-test")}}, codes.InvalidArgument},
		{"unknown leaf", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=wan0]/state/mtu")}, Encoding: gnmi.Encoding_PROTO}, codes.InvalidArgument},
		{"unknown key", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[id=1]/state")}, Encoding: gnmi.Encoding_PROTO}, codes.InvalidArgument},
		{"key on container", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces[name=x]")}, Encoding: gnmi.Encoding_PROTO}, codes.InvalidArgument},
		{"origin", &gnmi.GetRequest{Path: []*gnmi.Path{{Origin: "cli", Elem: p("/interfaces").Elem}}, Encoding: gnmi.Encoding_PROTO}, codes.InvalidArgument},
		{"no such interface", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=eth9]/state")}, Encoding: gnmi.Encoding_PROTO}, codes.NotFound},
		{"ASCII", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces")}, Encoding: gnmi.Encoding_ASCII}, codes.Unimplemented},
		{"BYTES", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces")}, Encoding: gnmi.Encoding_BYTES}, codes.Unimplemented},
		{"data type", &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces")}, Type: 9}, codes.InvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.client.Get(ctxT(t), tc.req)
			wantCode(t, err, tc.code)
		})
	}
	_, err := r.client.Set(ctxT(t), &gnmi.SetRequest{})
	wantCode(t, err, codes.Unimplemented)
}

func TestGetNoPortsAndLinkErrors(t *testing.T) {
	r := newRig(t, fastOptions())
	// A wildcard over no matching data is an empty notification, not an error.
	for _, port := range rigPorts {
		if err := r.dp.Detach(port.id); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface[name=...]/state")}, Encoding: gnmi.Encoding_PROTO})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.GetNotification()) != 1 || len(resp.GetNotification()[0].GetUpdate()) != 0 {
		t.Errorf("response %v", resp)
	}

	// A port whose link is gone is NOT_PRESENT; one whose state cannot be read UNKNOWN.
	if err := r.dp.Attach("gone0", 3, dataplane.RoleLAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	if err := r.dp.Attach("err0", 4, dataplane.RoleLAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	r.links.mu.Lock()
	r.links.err["err0"] = errors.New("netlink: boom")
	r.links.mu.Unlock()
	resp, err = r.client.Get(ctxT(t), &gnmi.GetRequest{Path: []*gnmi.Path{p("/interfaces/interface/state/oper-status"), p("/interfaces/interface/state/admin-status")}, Encoding: gnmi.Encoding_PROTO})
	if err != nil {
		t.Fatal(err)
	}
	got := updates(t, resp.GetNotification()...)
	want := map[string]string{
		"/interfaces/interface[name=gone0]/state/oper-status":  "NOT_PRESENT",
		"/interfaces/interface[name=err0]/state/oper-status":   "UNKNOWN",
		"/interfaces/interface[name=gone0]/state/admin-status": "DOWN",
		"/interfaces/interface[name=err0]/state/admin-status":  "DOWN",
	}
	if !maps.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
