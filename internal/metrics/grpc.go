package metrics

import (
	"context"
	"sync/atomic"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/server/p4rtsrv/wire"
)

// GRPC counts and times the calls of a gRPC server through its interceptors
// (ServerOptions). It is a prometheus.Collector: register it.
//
// Call durations are observed for unary and server-streaming calls (P4Runtime
// Write and Read, gNMI Get, gNOI), which end when their answer is complete.
// Bidirectional streams (P4Runtime StreamChannel, gNMI Subscribe) last as long
// as the controller's session: their durations would drown every latency, so
// they are counted as open streams instead, and in the request count when
// they end.
type GRPC struct {
	requests *prometheus.CounterVec
	updates  *prometheus.CounterVec // P4Runtime Write updates by code
	duration *prometheus.HistogramVec
	open     *prometheus.GaugeVec
	methods  atomic.Pointer[map[string]bool] // nil: every method is its own label value
}

var _ prometheus.Collector = (*GRPC)(nil)

// OtherMethod is the method label of calls to methods InitMethods did not
// list.
const OtherMethod = "other"

// DurationBuckets are the bounds, in seconds, of the call duration
// histogram: from a Capabilities call (~100µs) to a Write of a large batch
// (seconds).
var DurationBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewGRPC returns the RPC metrics.
func NewGRPC() *GRPC {
	return &GRPC{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "grpc_requests_total",
			Help: "gRPC calls completed, by full method name and status code.",
		}, []string{"method", "code"}),
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace, Name: "p4rt_write_updates_total",
			Help: "Updates of P4Runtime Write requests, by the code of each update's outcome.",
		}, []string{"code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace, Name: "grpc_request_duration_seconds",
			Help:    "Duration of unary and server-streaming gRPC calls, by full method name.",
			Buckets: DurationBuckets,
		}, []string{"method"}),
		open: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: Namespace, Name: "grpc_streams_open",
			Help: "Bidirectional gRPC streams open (controller sessions, subscriptions), by full method name.",
		}, []string{"method"}),
	}
}

// InitMethods limits the method label to the server's methods (calls to
// others, which a server with an unknown-service handler would accept, are
// labelled "other"), and creates their series at zero so that rates exist
// before the first call. Call it once the services are registered:
// InitMethods(server.GetServiceInfo()).
func (g *GRPC) InitMethods(services map[string]grpc.ServiceInfo) {
	m := map[string]bool{}
	for svc, info := range services {
		for _, mi := range info.Methods {
			name := "/" + svc + "/" + mi.Name
			m[name] = true
			g.requests.WithLabelValues(name, codes.OK.String())
			if mi.IsClientStream && mi.IsServerStream {
				g.open.WithLabelValues(name)
			} else {
				g.duration.WithLabelValues(name)
			}
		}
	}
	g.updates.WithLabelValues(codes.OK.String())
	g.methods.Store(&m)
}

func (g *GRPC) method(full string) string {
	if m := g.methods.Load(); m != nil && !(*m)[full] {
		return OtherMethod
	}
	return full
}

// ServerOptions are the interceptors to give grpc.NewServer. They chain
// with other interceptors.
func (g *GRPC) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(g.unary),
		grpc.ChainStreamInterceptor(g.stream),
	}
}

func (g *GRPC) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	start := time.Now()
	resp, err := h(ctx, req)
	m := g.method(info.FullMethod)
	g.duration.WithLabelValues(m).Observe(time.Since(start).Seconds())
	c := code(err)
	if info.FullMethod == p4v1.P4Runtime_Write_FullMethodName {
		c = g.countUpdates(req, err)
	}
	g.requests.WithLabelValues(m, c.String()).Inc()
	return resp, err
}

// countUpdates counts each update of a P4Runtime Write by its outcome, and
// returns the code to label the request with. A Write whose updates failed
// ends with UNKNOWN and one p4.v1.Error per update (the P4Runtime spec): the
// request is labelled with the code of its first failed update, so that
// dashboards show AlreadyExists or NotFound, not Unknown. A Write refused as
// a whole (not primary, malformed) counts no update and keeps its code.
func (g *GRPC) countUpdates(req any, err error) codes.Code {
	wr, _ := req.(*p4v1.WriteRequest)
	if err == nil {
		if n := wire.Count(wr); n > 0 {
			g.updates.WithLabelValues(codes.OK.String()).Add(float64(n))
		}
		return codes.OK
	}
	st, _ := status.FromError(err)
	if st.Code() != codes.Unknown {
		return code(err)
	}
	var details []*p4v1.Error
	for _, d := range st.Details() {
		if pe, ok := d.(*p4v1.Error); ok {
			details = append(details, pe)
		}
	}
	if len(details) == 0 || len(details) != wire.Count(wr) {
		return codes.Unknown
	}
	first := codes.Unknown
	for _, d := range details {
		c := codes.Code(d.GetCanonicalCode())
		g.updates.WithLabelValues(c.String()).Inc()
		if c != codes.OK && first == codes.Unknown {
			first = c
		}
	}
	return first
}

func (g *GRPC) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	m := g.method(info.FullMethod)
	bidi := info.IsClientStream && info.IsServerStream
	start := time.Now()
	if bidi {
		open := g.open.WithLabelValues(m)
		open.Inc()
		defer open.Dec()
	}
	err := h(srv, ss)
	if !bidi {
		g.duration.WithLabelValues(m).Observe(time.Since(start).Seconds())
	}
	g.requests.WithLabelValues(m, code(err).String()).Inc()
	return err
}

// code is the status a call ended with, as the client sees it: a handler
// returning a context error gets Canceled or DeadlineExceeded, not Unknown.
func code(err error) codes.Code {
	if s, ok := status.FromError(err); ok {
		return s.Code()
	}
	return status.FromContextError(err).Code()
}

// Describe sends the descriptors of the RPC metrics.
func (g *GRPC) Describe(ch chan<- *prometheus.Desc) {
	g.requests.Describe(ch)
	g.updates.Describe(ch)
	g.duration.Describe(ch)
	g.open.Describe(ch)
}

// Collect sends the RPC metrics.
func (g *GRPC) Collect(ch chan<- prometheus.Metric) {
	g.requests.Collect(ch)
	g.updates.Collect(ch)
	g.duration.Collect(ch)
	g.open.Collect(ch)
}
