package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server"
	"github.com/linx-sdwan/linx/server/gnmisrv"
	"github.com/linx-sdwan/linx/server/p4rtsrv"
	"github.com/linx-sdwan/linx/translate"
)

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// rig is a memory data path with two ports, two tunnels and counts on all of
// them.
func rig(t *testing.T) *memdp.Dataplane {
	t.Helper()
	dp := memdp.New(dataplane.Options{MaxTunnels: 16, MaxPDRs: 32})
	check(t, dp.Attach("lan0", 1, dataplane.RoleLAN, dataplane.XDPNative))
	check(t, dp.Attach("wan0", 2, dataplane.RoleWAN, dataplane.XDPGeneric))
	check(t, dp.AddPortCount(1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 10, Bytes: 1000}, TX: dataplane.Counter{Packets: 3, Bytes: 300},
		Drops: dataplane.Counter{Packets: 2, Bytes: 120}}))
	check(t, dp.AddPortCount(2, dataplane.PortCounters{RX: dataplane.Counter{Packets: 20, Bytes: 2000}, TX: dataplane.Counter{Packets: 4, Bytes: 400}}))
	for _, id := range []dataplane.TunnelID{0, 15} {
		check(t, dp.SetTunnel(id, dataplane.Tunnel{Port: 2, Src: netip.MustParseAddr("172.16.1.1"), Dst: netip.MustParseAddr("172.16.1.2")}))
	}
	check(t, dp.AddTunnelCount(15, dataplane.TunnelCounters{TX: dataplane.Counter{Packets: 5, Bytes: 500}, RX: dataplane.Counter{Packets: 6, Bytes: 600}}))
	dp.AddPDRDefaultCount(dataplane.Counter{Packets: 7, Bytes: 700})
	dp.AddDrop(dataplane.DropGRESpoofed, dataplane.Counter{Packets: 8, Bytes: 800})
	return dp
}

func TestDataplaneCollector(t *testing.T) {
	dp := rig(t)
	c := NewDataplaneCollector(DataplaneOptions{Dataplane: dp, MaxTunnels: 16})
	want := `
# HELP linx_port_rx_packets_total Packets received on a port, as seen by XDP.
# TYPE linx_port_rx_packets_total counter
linx_port_rx_packets_total{interface="lan0",port="1",role="lan"} 10
linx_port_rx_packets_total{interface="wan0",port="2",role="wan"} 20
# HELP linx_port_tx_bytes_total Bytes the pipeline sent out of a port.
# TYPE linx_port_tx_bytes_total counter
linx_port_tx_bytes_total{interface="lan0",port="1",role="lan"} 300
linx_port_tx_bytes_total{interface="wan0",port="2",role="wan"} 400
# HELP linx_tunnel_tx_packets_total Packets GRE-encapsulated onto a tunnel.
# TYPE linx_tunnel_tx_packets_total counter
linx_tunnel_tx_packets_total{tunnel="0"} 0
linx_tunnel_tx_packets_total{tunnel="15"} 5
# HELP linx_tunnel_rx_bytes_total Bytes decapsulated from a tunnel.
# TYPE linx_tunnel_rx_bytes_total counter
linx_tunnel_rx_bytes_total{tunnel="0"} 0
linx_tunnel_rx_bytes_total{tunnel="15"} 600
# HELP linx_tunnels Tunnels installed.
# TYPE linx_tunnels gauge
linx_tunnels 2
# HELP linx_port_drop_packets_total Packets that arrived on a port and the pipeline dropped (any reason; per reason: linx_drops_total). The kernel's own view of the link is node_exporter's node_network_*.
# TYPE linx_port_drop_packets_total counter
linx_port_drop_packets_total{interface="lan0",port="1",role="lan"} 2
linx_port_drop_packets_total{interface="wan0",port="2",role="wan"} 0
# HELP linx_pdr_default_packets_total Packets that matched no packet detection rule (the PDR table's default entry).
# TYPE linx_pdr_default_packets_total counter
linx_pdr_default_packets_total 7
# HELP linx_metrics_read_errors_total Counters the data path failed to return at scrape time.
# TYPE linx_metrics_read_errors_total counter
linx_metrics_read_errors_total 0
`
	check(t, testutil.CollectAndCompare(c, strings.NewReader(want),
		"linx_port_rx_packets_total", "linx_port_tx_bytes_total", "linx_port_drop_packets_total", "linx_tunnel_tx_packets_total",
		"linx_tunnel_rx_bytes_total", "linx_tunnels", "linx_pdr_default_packets_total", "linx_metrics_read_errors_total"))

	// Every drop reason, zero or not, named after the C enum.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	check(t, err)
	drops := map[string]float64{}
	for _, mf := range mfs {
		switch mf.GetName() {
		case "linx_drops_total":
			for _, m := range mf.Metric {
				drops[m.Label[0].GetValue()] = m.Counter.GetValue()
			}
		case "linx_pdr_packets_total", "linx_pdr_rules":
			t.Errorf("%s exported with per-PDR metrics off and no PDR lister", mf.GetName())
		}
	}
	if len(drops) != dataplane.NumDropReasons-1 {
		t.Errorf("%d drop reasons exported, want %d: %v", len(drops), dataplane.NumDropReasons-1, drops)
	}
	if drops["gre_spoofed"] != 8 || drops["policy"] != 0 {
		t.Errorf("drops %v, want gre_spoofed 8 and policy 0", drops)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP linx_dropped_bytes_total Bytes the pipeline dropped, by reason.
# TYPE linx_dropped_bytes_total counter
`+dropLines("linx_dropped_bytes_total", "gre_spoofed", 800)), "linx_dropped_bytes_total"); err != nil {
		t.Error(err)
	}
}

// dropLines is every reason's series of name, 0 but for reason at v.
func dropLines(name, reason string, v int) string {
	var b strings.Builder
	for r := 1; r < dataplane.NumDropReasons; r++ {
		n := dataplane.DropReason(r).String()
		val := "0"
		if n == reason {
			val = strconv.Itoa(v)
		}
		b.WriteString(name + `{reason="` + n + `"} ` + val + "\n")
	}
	return b.String()
}

func TestPerPDR(t *testing.T) {
	dp := rig(t)
	var ids []dataplane.PDRID
	for i := range 3 {
		m := dataplane.MatchAll()
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(i), Mask: 0x3f}
		id, err := dp.InsertPDR(dataplane.PDR{Match: m, Priority: 1, FAR: 1})
		check(t, err)
		ids = append(ids, id)
	}
	check(t, dp.DeletePDR(ids[1]))
	check(t, dp.AddPDRCount(ids[2], dataplane.Counter{Packets: 9, Bytes: 900}))
	c := NewDataplaneCollector(DataplaneOptions{Dataplane: dp, MaxTunnels: 16, MaxPDRs: 32, PerPDR: true})
	want := `
# HELP linx_pdr_packets_total Packets that matched a packet detection rule (per-PDR metrics on).
# TYPE linx_pdr_packets_total counter
linx_pdr_packets_total{pdr="1"} 0
linx_pdr_packets_total{pdr="3"} 9
# HELP linx_pdr_rules Packet detection rules installed.
# TYPE linx_pdr_rules gauge
linx_pdr_rules 2
`
	check(t, testutil.CollectAndCompare(c, strings.NewReader(want), "linx_pdr_packets_total", "linx_pdr_rules"))
}

// listing is a data path that lists its tunnels and rules (only some of
// them, to show the collector uses the lists).
type listing struct {
	*memdp.Dataplane
	tunnels []dataplane.TunnelID
	pdrs    []dataplane.PDRID
}

func (l listing) TunnelIDs() []dataplane.TunnelID { return l.tunnels }
func (l listing) PDRIDs() []dataplane.PDRID       { return l.pdrs }

func TestListers(t *testing.T) {
	dp := rig(t)
	l := listing{Dataplane: dp, tunnels: []dataplane.TunnelID{15}, pdrs: []dataplane.PDRID{4, 5, 6}}
	c := NewDataplaneCollector(DataplaneOptions{Dataplane: l, MaxTunnels: 16})
	want := `
# HELP linx_tunnel_tx_packets_total Packets GRE-encapsulated onto a tunnel.
# TYPE linx_tunnel_tx_packets_total counter
linx_tunnel_tx_packets_total{tunnel="15"} 5
# HELP linx_pdr_rules Packet detection rules installed.
# TYPE linx_pdr_rules gauge
linx_pdr_rules 3
`
	check(t, testutil.CollectAndCompare(c, strings.NewReader(want), "linx_tunnel_tx_packets_total", "linx_pdr_rules", "linx_pdr_packets_total"))
}

// failing is a data path whose drop counters cannot be read.
type failing struct{ *memdp.Dataplane }

func (failing) DropCounters() (map[dataplane.DropReason]dataplane.Counter, error) {
	return nil, errors.New("map lookup: bad file descriptor")
}

func TestReadError(t *testing.T) {
	c := NewDataplaneCollector(DataplaneOptions{Dataplane: failing{rig(t)}, MaxTunnels: 16})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	h := Handler(reg, new(Health), HandlerOptions{})
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body := rec.Body.String()
		if rec.Code != http.StatusOK || !strings.Contains(body, `linx_port_rx_packets_total{interface="lan0",port="1",role="lan"} 10`) {
			t.Fatalf("a failed counter must not fail the scrape: %d\n%s", rec.Code, body)
		}
	}
	if v := testutil.ToFloat64(c.readErrors); v != 2 {
		t.Errorf("linx_metrics_read_errors_total %v after two failing scrapes, want 2", v)
	}
}

func TestControllerCollector(t *testing.T) {
	var states []p4rtsrv.State
	c := NewControllerCollector(func() []p4rtsrv.State { return states })
	want := `
# HELP linx_p4rt_controllers P4Runtime controllers with an open StreamChannel, by role (the default role is "").
# TYPE linx_p4rt_controllers gauge
linx_p4rt_controllers{role=""} 0
# HELP linx_p4rt_primary 1 when a primary controller is connected for the role, 0 otherwise.
# TYPE linx_p4rt_primary gauge
linx_p4rt_primary{role=""} 0
`
	check(t, testutil.CollectAndCompare(c, strings.NewReader(want)))

	states = []p4rtsrv.State{
		{Role: "", Controllers: 2, Primary: true, ElectionID: &p4v1.Uint128{High: 1, Low: 2}},
		{Role: "backup", Controllers: 1, Primary: false, ElectionID: &p4v1.Uint128{Low: 9}},
	}
	want = `
# HELP linx_p4rt_controllers P4Runtime controllers with an open StreamChannel, by role (the default role is "").
# TYPE linx_p4rt_controllers gauge
linx_p4rt_controllers{role=""} 2
linx_p4rt_controllers{role="backup"} 1
# HELP linx_p4rt_primary 1 when a primary controller is connected for the role, 0 otherwise.
# TYPE linx_p4rt_primary gauge
linx_p4rt_primary{role=""} 1
linx_p4rt_primary{role="backup"} 0
# HELP linx_p4rt_primary_info Always 1, for the primary controller of a role: election_id identifies it.
# TYPE linx_p4rt_primary_info gauge
linx_p4rt_primary_info{election_id="18446744073709551618",role=""} 1
`
	check(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
}

func TestHandler(t *testing.T) {
	var h Health
	srv := httptest.NewServer(Handler(prometheus.NewRegistry(), &h, HandlerOptions{}))
	defer srv.Close()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		check(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		state State
		path  string
		code  int
		body  string
	}{
		{Starting, "/readyz", 503, "starting\n"},
		{Starting, "/healthz", 200, "ok\n"},
		{Ready, "/readyz", 200, "ready\n"},
		{Stopping, "/readyz", 503, "stopping\n"},
		{Stopping, "/healthz", 200, "ok\n"},
		{Ready, "/nope", 404, "404 page not found\n"},
	} {
		h.Set(c.state)
		if code, body := get(c.path); code != c.code || body != c.body {
			t.Errorf("%v %s: %d %q, want %d %q", c.state, c.path, code, body, c.code, c.body)
		}
	}
}

// TestGRPC runs the agent's gRPC server on a memory data path and checks the
// RPC and controller metrics a controller's calls produce.
func TestGRPC(t *testing.T) {
	dp := memdp.New(dataplane.Options{})
	g := NewGRPC()
	srv, err := server.New(server.Options{DeviceID: 1, Dataplane: dp,
		Pipeline: p4info.MustNewIndex(p4info.New(p4info.DefaultSizes)), GRPC: g.ServerOptions()})
	check(t, err)
	g.InitMethods(srv.GRPC.GetServiceInfo())
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(g, NewControllerCollector(srv.P4RT.Arbitration))
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	check(t, err)
	go srv.Serve(lis)
	defer srv.Stop(time.Second)

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	check(t, err)
	defer conn.Close()
	p4 := p4v1.NewP4RuntimeClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Before any call: every method's series exist at zero.
	if n := testutil.ToFloat64(g.requests.WithLabelValues("/p4.v1.P4Runtime/Write", "OK")); n != 0 {
		t.Errorf("Write OK before any call: %v", n)
	}
	if _, err := p4.Capabilities(ctx, &p4v1.CapabilitiesRequest{}); err != nil {
		t.Fatal(err)
	}
	rs, err := p4.Read(ctx, &p4v1.ReadRequest{DeviceId: 99})
	check(t, err)
	if _, err := rs.Recv(); err == nil {
		t.Fatal("Read of another device succeeded")
	}
	st, err := p4.StreamChannel(ctx)
	check(t, err)
	check(t, st.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{
		Arbitration: &p4v1.MasterArbitrationUpdate{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: 5}}}}))
	if _, err := st.Recv(); err != nil {
		t.Fatal(err)
	}
	want := `
# HELP linx_grpc_streams_open Bidirectional gRPC streams open (controller sessions, subscriptions), by full method name.
# TYPE linx_grpc_streams_open gauge
linx_grpc_streams_open{method="/gnmi.gNMI/Subscribe"} 0
linx_grpc_streams_open{method="/p4.v1.P4Runtime/StreamChannel"} 1
# HELP linx_p4rt_controllers P4Runtime controllers with an open StreamChannel, by role (the default role is "").
# TYPE linx_p4rt_controllers gauge
linx_p4rt_controllers{role=""} 1
# HELP linx_p4rt_primary 1 when a primary controller is connected for the role, 0 otherwise.
# TYPE linx_p4rt_primary gauge
linx_p4rt_primary{role=""} 1
# HELP linx_p4rt_primary_info Always 1, for the primary controller of a role: election_id identifies it.
# TYPE linx_p4rt_primary_info gauge
linx_p4rt_primary_info{election_id="5",role=""} 1
`
	check(t, testutil.GatherAndCompare(reg, strings.NewReader(want),
		"linx_grpc_streams_open", "linx_p4rt_controllers", "linx_p4rt_primary", "linx_p4rt_primary_info"))

	// Writes: counted by each update's code, and a request whose updates
	// failed by its first failed update's code, not the Unknown that carries
	// them.
	eid := &p4v1.Uint128{Low: 5}
	_, err = p4.SetForwardingPipelineConfig(ctx, &p4v1.SetForwardingPipelineConfigRequest{DeviceId: 1, ElectionId: eid,
		Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: p4info.New(p4info.DefaultSizes)}})
	check(t, err)
	tr, err := translate.New(p4info.MustNewIndex(p4info.New(p4info.DefaultSizes)))
	check(t, err)
	far := func(id dataplane.FARID) *p4v1.TableEntry {
		te, err := tr.EncodeTableEntry(translate.Entry{Key: translate.Key{Table: p4info.IDTableFAR, FAR: id},
			Action: translate.FARAction{FAR: dataplane.FAR{Action: dataplane.ActDrop}}})
		check(t, err)
		return te
	}
	upd := func(op p4v1.Update_Type, te *p4v1.TableEntry) *p4v1.Update {
		return &p4v1.Update{Type: op, Entity: &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}}
	}
	write := func(us ...*p4v1.Update) error {
		_, err := p4.Write(ctx, &p4v1.WriteRequest{DeviceId: 1, ElectionId: eid, Updates: us})
		return err
	}
	check(t, write(upd(p4v1.Update_INSERT, far(1)), upd(p4v1.Update_INSERT, far(2))))
	if err := write(upd(p4v1.Update_INSERT, far(3)), upd(p4v1.Update_INSERT, far(1)), upd(p4v1.Update_DELETE, far(99))); status.Code(err) != codes.Unknown {
		t.Fatalf("Write with failed updates: %v, want UNKNOWN with details", err)
	}
	// Refused as a whole: no update counted, the request keeps its code.
	if _, err := p4.Write(ctx, &p4v1.WriteRequest{DeviceId: 99, ElectionId: eid, Updates: []*p4v1.Update{upd(p4v1.Update_INSERT, far(4))}}); status.Code(err) != codes.NotFound {
		t.Fatalf("Write to another device: %v, want NOT_FOUND", err)
	}
	wantW := `
# HELP linx_p4rt_write_updates_total Updates of P4Runtime Write requests, by the code of each update's outcome.
# TYPE linx_p4rt_write_updates_total counter
linx_p4rt_write_updates_total{code="AlreadyExists"} 1
linx_p4rt_write_updates_total{code="NotFound"} 1
linx_p4rt_write_updates_total{code="OK"} 3
`
	check(t, testutil.GatherAndCompare(reg, strings.NewReader(wantW), "linx_p4rt_write_updates_total"))
	for _, c := range []struct {
		code string
		n    float64
	}{{"OK", 1}, {"AlreadyExists", 1}, {"NotFound", 1}, {"Unknown", 0}} {
		if n := testutil.ToFloat64(g.requests.WithLabelValues("/p4.v1.P4Runtime/Write", c.code)); n != c.n {
			t.Errorf("Write requests with code %s: %v, want %v", c.code, n, c.n)
		}
	}
	check(t, st.CloseSend())
	if _, err := st.Recv(); err != io.EOF {
		t.Fatalf("StreamChannel after CloseSend: %v, want EOF", err)
	}

	count := func(method, code string) float64 {
		return testutil.ToFloat64(g.requests.WithLabelValues(method, code))
	}
	end := time.Now().Add(5 * time.Second)
	for count("/p4.v1.P4Runtime/StreamChannel", "OK") != 1 && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond) // the server's handler returns after the client saw EOF
	}
	for _, c := range []struct {
		method, code string
		n            float64
	}{
		{"/p4.v1.P4Runtime/Capabilities", "OK", 1},
		{"/p4.v1.P4Runtime/Read", "NotFound", 1},
		{"/p4.v1.P4Runtime/StreamChannel", "OK", 1},
	} {
		if n := count(c.method, c.code); n != c.n {
			t.Errorf("linx_grpc_requests_total{method=%q,code=%q} %v, want %v", c.method, c.code, n, c.n)
		}
	}
	if n := testutil.ToFloat64(g.open.WithLabelValues("/p4.v1.P4Runtime/StreamChannel")); n != 0 {
		t.Errorf("StreamChannel streams open after the stream ended: %v", n)
	}
	// Durations: the unary and server-streaming calls, not the session.
	mfs, err := reg.Gather()
	check(t, err)
	durations := map[string]uint64{}
	for _, mf := range mfs {
		if mf.GetName() == "linx_grpc_request_duration_seconds" {
			for _, m := range mf.Metric {
				durations[m.Label[0].GetValue()] = m.Histogram.GetSampleCount()
			}
		}
	}
	if durations["/p4.v1.P4Runtime/Capabilities"] != 1 || durations["/p4.v1.P4Runtime/Read"] != 1 {
		t.Errorf("durations observed %v, want one Capabilities and one Read", durations)
	}
	if _, ok := durations["/p4.v1.P4Runtime/StreamChannel"]; ok {
		t.Errorf("StreamChannel has a duration histogram: %v", durations)
	}
	if g.method("/x.Y/Z") != OtherMethod {
		t.Errorf("an unknown method keeps its name as label")
	}
}

// BenchmarkCollect is a scrape of the default-sized memory data path without
// listers: probing 4,096 tunnel ids, and with per-PDR metrics 100,000 rule
// ids.
func BenchmarkCollect(b *testing.B) {
	for _, perPDR := range []bool{false, true} {
		b.Run("per_pdr="+strconv.FormatBool(perPDR), func(b *testing.B) {
			dp := memdp.New(dataplane.Options{})
			c := NewDataplaneCollector(DataplaneOptions{Dataplane: dp, PerPDR: perPDR})
			reg := prometheus.NewRegistry()
			reg.MustRegister(c)
			for b.Loop() {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fakeQuality is the prober's side of QualityCollector.
type fakeQuality []gnmisrv.TunnelStatus

func (f *fakeQuality) TunnelStatus() []gnmisrv.TunnelStatus { return *f }

func TestQualityCollector(t *testing.T) {
	var q fakeQuality
	c := NewQualityCollector(&q)
	check(t, testutil.CollectAndCompare(c, strings.NewReader("")))

	q = fakeQuality{
		{Tunnel: 1, State: gnmisrv.TunnelDegraded, LastChange: time.Unix(1700000000, 500_000_000),
			RTT: 120 * time.Millisecond, MinRTT: 100 * time.Millisecond, Jitter: 5 * time.Millisecond,
			Loss: 0.05, Directional: true, LossForward: 0.04, LossBackward: 0.01},
		{Tunnel: 2, State: gnmisrv.TunnelDown},
	}
	want := `
# HELP linx_tunnel_jitter_seconds RFC 3550 interarrival jitter of the overlay's probes, the worse direction.
# TYPE linx_tunnel_jitter_seconds gauge
linx_tunnel_jitter_seconds{tunnel="1"} 0.005
linx_tunnel_jitter_seconds{tunnel="2"} 0
# HELP linx_tunnel_loss_ratio Probe loss ratio (0..1) of the overlay's window: round_trip always, forward and backward with a stateful reflector.
# TYPE linx_tunnel_loss_ratio gauge
linx_tunnel_loss_ratio{direction="backward",tunnel="1"} 0.01
linx_tunnel_loss_ratio{direction="forward",tunnel="1"} 0.04
linx_tunnel_loss_ratio{direction="round_trip",tunnel="1"} 0.05
linx_tunnel_loss_ratio{direction="round_trip",tunnel="2"} 0
# HELP linx_tunnel_rtt_min_seconds Smallest round-trip time of the overlay's probe window.
# TYPE linx_tunnel_rtt_min_seconds gauge
linx_tunnel_rtt_min_seconds{tunnel="1"} 0.1
linx_tunnel_rtt_min_seconds{tunnel="2"} 0
# HELP linx_tunnel_rtt_seconds Median round-trip time of the overlay's probe window.
# TYPE linx_tunnel_rtt_seconds gauge
linx_tunnel_rtt_seconds{tunnel="1"} 0.12
linx_tunnel_rtt_seconds{tunnel="2"} 0
# HELP linx_tunnel_sla_last_change_timestamp_seconds When the overlay's SLA state last changed (Unix time; absent when unknown).
# TYPE linx_tunnel_sla_last_change_timestamp_seconds gauge
linx_tunnel_sla_last_change_timestamp_seconds{tunnel="1"} 1.7000000005e+09
# HELP linx_tunnel_sla_state 1 for the overlay's current SLA state (up, degraded, down, unknown), 0 for the others.
# TYPE linx_tunnel_sla_state gauge
linx_tunnel_sla_state{state="degraded",tunnel="1"} 1
linx_tunnel_sla_state{state="down",tunnel="1"} 0
linx_tunnel_sla_state{state="unknown",tunnel="1"} 0
linx_tunnel_sla_state{state="up",tunnel="1"} 0
linx_tunnel_sla_state{state="degraded",tunnel="2"} 0
linx_tunnel_sla_state{state="down",tunnel="2"} 1
linx_tunnel_sla_state{state="unknown",tunnel="2"} 0
linx_tunnel_sla_state{state="up",tunnel="2"} 0
`
	check(t, testutil.CollectAndCompare(c, strings.NewReader(want)))
	// The collector passes a pedantic registry's consistency checks.
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}
