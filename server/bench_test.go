package server_test

import (
	"context"
	"github.com/linx-sdwan/linx/bench/ctl"
	"github.com/linx-sdwan/linx/server"
	"net"
	"slices"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/xdp"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
)

// Control-plane benchmarks: P4Runtime Writes over loopback gRPC into the real
// XDP data path (root), next to an empty unary call on the same connection so
// that the cost of gRPC itself is measured in the same run. Latencies are
// reported as percentiles (p50, p99 in µs) of per-call durations.

const benchElection = 1

// benchDevice is a server on the real data path with a primary controller.
type benchDevice struct {
	c   p4v1.P4RuntimeClient
	ctx context.Context
	p4i *p4v1.ForwardingPipelineConfig
}

func newBenchDevice(b *testing.B, opts dataplane.Options) *benchDevice {
	b.Helper()
	testenv.RequireRoot(b)
	dp, err := xdp.Load(opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dp.Close() })
	o := opts.WithDefaults()
	pipeline := p4info.New(p4info.Sizes{PDRs: o.MaxPDRs, FARs: o.MaxFARs, LBRs: o.MaxLBRs,
		Tunnels: o.MaxTunnels, TunnelTerms: o.MaxTerms, Ports: o.MaxPorts})
	srv, err := server.New(server.Options{DeviceID: 1, Dataplane: dp, Pipeline: p4info.MustNewIndex(pipeline)})
	if err != nil {
		b.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go srv.Serve(lis)
	b.Cleanup(func() { srv.Stop(time.Second) })
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	d := &benchDevice{c: p4v1.NewP4RuntimeClient(conn), ctx: ctx, p4i: &p4v1.ForwardingPipelineConfig{P4Info: pipeline}}

	stream, err := d.c.StreamChannel(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if err := stream.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{
		Arbitration: &p4v1.MasterArbitrationUpdate{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: benchElection}}}}); err != nil {
		b.Fatal(err)
	}
	m, err := stream.Recv()
	if err != nil {
		b.Fatal(err)
	}
	if m.GetArbitration().GetStatus().GetCode() != 0 {
		b.Fatalf("not primary: %v", m)
	}
	go func() { // keep the stream drained
		for {
			if _, err := stream.Recv(); err != nil {
				return
			}
		}
	}()
	d.commit(b)
	return d
}

// commit pushes the pipeline (VERIFY_AND_COMMIT), which clears the data path.
func (d *benchDevice) commit(b *testing.B) {
	b.Helper()
	if _, err := d.c.SetForwardingPipelineConfig(d.ctx, &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: 1, ElectionId: &p4v1.Uint128{Low: benchElection},
		Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT, Config: d.p4i,
	}); err != nil {
		b.Fatal(err)
	}
}

func (d *benchDevice) write(ups ...*p4v1.Update) error {
	_, err := d.c.Write(d.ctx, &p4v1.WriteRequest{DeviceId: 1, ElectionId: &p4v1.Uint128{Low: benchElection}, Updates: ups})
	return err
}

func (d *benchDevice) empty() error {
	_, err := d.c.Capabilities(d.ctx, &p4v1.CapabilitiesRequest{})
	return err
}

// benchLatencies collects per-call durations.
type benchLatencies []time.Duration

func (l benchLatencies) percentile(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := slices.Clone(l)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func (l benchLatencies) report(b *testing.B, name string) {
	b.ReportMetric(float64(l.percentile(0.50).Nanoseconds())/1e3, name+"-p50-µs")
	b.ReportMetric(float64(l.percentile(0.99).Nanoseconds())/1e3, name+"-p99-µs")
}

// BenchmarkEmptyUnary: an empty unary call (Capabilities) on its own, the floor
// of any P4Runtime round trip on this connection.
func BenchmarkEmptyUnary(b *testing.B) {
	d := newBenchDevice(b, dataplane.Options{})
	for range 200 { // warm the connection
		if err := d.empty(); err != nil {
			b.Fatal(err)
		}
	}
	var lat benchLatencies
	for b.Loop() {
		t0 := time.Now()
		if err := d.empty(); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	lat.report(b, "empty")
}

// BenchmarkWriteRoundTrip: one single-update Write round trip into the real
// data path, interleaved call by call with an empty unary call (Capabilities)
// on the same connection, so both are measured under the same conditions.
// Reported: write and empty percentiles and the ratio of the p50s.
//
//   - far-modify: MODIFY of one FAR, alternating drop and pass (one map write);
//   - pdr-insert-delete: INSERT then DELETE of one PDR among 10 000 installed
//     (classifier entries, tuple list, commit, generation bump), each a Write.
func BenchmarkWriteRoundTrip(b *testing.B) {
	b.Run("far-modify", func(b *testing.B) {
		d := newBenchDevice(b, dataplane.Options{})
		if err := d.write(ctl.Update(p4v1.Update_INSERT, ctl.FAR(1, p4info.IDActionDrop))); err != nil {
			b.Fatal(err)
		}
		ups := []*p4v1.Update{
			ctl.Update(p4v1.Update_MODIFY, ctl.FAR(1, p4info.IDActionPass)),
			ctl.Update(p4v1.Update_MODIFY, ctl.FAR(1, p4info.IDActionDrop)),
		}
		benchInterleaved(b, d, func(i int) error { return d.write(ups[i%2]) })
	})
	b.Run("pdr-insert-delete", func(b *testing.B) {
		d := newBenchDevice(b, dataplane.Options{})
		if err := d.write(ctl.Update(p4v1.Update_INSERT, ctl.FAR(1, p4info.IDActionDrop))); err != nil {
			b.Fatal(err)
		}
		const installed = 10_000
		for i := 0; i < installed; i += 1000 {
			var ups []*p4v1.Update
			for j := i; j < i+1000; j++ {
				ups = append(ups, ctl.Update(p4v1.Update_INSERT, ctl.PDR(j, 1)))
			}
			if err := d.write(ups...); err != nil {
				b.Fatal(err)
			}
		}
		probe := ctl.PDR(installed+1, 1)
		ups := []*p4v1.Update{ctl.Update(p4v1.Update_INSERT, probe),
			ctl.Update(p4v1.Update_DELETE, &p4v1.TableEntry{TableId: probe.TableId, Priority: probe.Priority, Match: probe.Match})}
		benchInterleaved(b, d, func(i int) error { return d.write(ups[i%2]) })
	})
}

// benchInterleaved times an empty call and then op(i), for every iteration.
func benchInterleaved(b *testing.B, d *benchDevice, op func(i int) error) {
	for i := range 200 { // warm the connection and the write path
		if err := d.empty(); err != nil {
			b.Fatal(err)
		}
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	var empty, write benchLatencies
	i := 0
	for b.Loop() {
		t0 := time.Now()
		if err := d.empty(); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := op(i); err != nil {
			b.Fatalf("write %d: %v", i, err)
		}
		t2 := time.Now()
		empty, write = append(empty, t1.Sub(t0)), append(write, t2.Sub(t1))
		i++
	}
	if i%2 == 1 { // leave the device as found (pdr-insert-delete: the probe deleted)
		if err := op(i); err != nil {
			b.Fatal(err)
		}
	}
	write.report(b, "write")
	empty.report(b, "empty")
	b.ReportMetric(float64(write.percentile(0.5))/float64(empty.percentile(0.5)), "p50-write/empty")
}

// BenchmarkInstall100kPDRs: installing 100 000 PDRs of mixed shapes into an
// empty real data path, 1000 updates per WriteRequest, as a controller
// replaying its state after a restart does. Reported in entries/s (install
// time only; the pipeline push that clears the device between iterations is
// not timed).
func BenchmarkInstall100kPDRs(b *testing.B) {
	const total, batch = 100_000, 1000
	d := newBenchDevice(b, dataplane.Options{MaxPDRs: total})
	reqs := make([][]*p4v1.Update, 0, total/batch)
	for i := 0; i < total; i += batch {
		ups := make([]*p4v1.Update, 0, batch)
		for j := i; j < i+batch; j++ {
			ups = append(ups, ctl.Update(p4v1.Update_INSERT, ctl.PDR(j, 1)))
		}
		reqs = append(reqs, ups)
	}
	var installing time.Duration
	n := 0
	for b.Loop() {
		b.StopTimer()
		d.commit(b)
		if err := d.write(ctl.Update(p4v1.Update_INSERT, ctl.FAR(1, p4info.IDActionDrop))); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		for k, ups := range reqs {
			if err := d.write(ups...); err != nil {
				b.Fatalf("batch %d: %v", k, err)
			}
		}
		installing += time.Since(t0)
		n++
	}
	b.ReportMetric(float64(n*total)/installing.Seconds(), "entries/s")
	b.ReportMetric(float64(installing.Nanoseconds())/float64(n*total)/1e3, "µs/entry")
}
