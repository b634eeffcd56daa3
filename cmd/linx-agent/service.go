package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/internal/metrics"
	"github.com/linx-sdwan/linx/internal/sdnotify"
	"github.com/linx-sdwan/linx/server"
	"github.com/linx-sdwan/linx/server/gnmisrv"
)

// service is what the agent tells the world about itself: the Prometheus
// endpoint (/metrics, /healthz, /readyz) when metrics.listen is set, and its
// readiness to systemd (sd_notify) when a unit of Type=notify runs it. Its
// methods are no-ops for what is not configured, so run calls them
// unconditionally.
type service struct {
	log    *zap.Logger
	tables config.Tables
	perPDR bool
	health metrics.Health
	reg    *prometheus.Registry // nil: no metrics endpoint
	rpc    *metrics.GRPC
	http   *http.Server
	served chan struct{}
	once   sync.Once
}

// startMetrics starts the metrics endpoint, if configured, reporting the agent
// as starting (/readyz 503) until ready. A listen failure is an error: an
// operator who asked for metrics must not get an agent without them.
func startMetrics(c *config.Config, log *zap.Logger) (*service, error) {
	s := &service{log: log, tables: c.Tables, perPDR: c.Metrics.PerPDR}
	if c.Metrics.Listen == "" {
		return s, nil
	}
	lis, err := net.Listen("tcp", c.Metrics.Listen)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	s.reg = metrics.NewRegistry()
	s.rpc = metrics.NewGRPC()
	s.reg.MustRegister(s.rpc)
	errLog, _ := zap.NewStdLogAt(log.With(zap.String("component", "metrics")), zap.WarnLevel)
	s.http = &http.Server{
		Handler:           metrics.Handler(s.reg, &s.health, metrics.HandlerOptions{ErrorLog: errLog}),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          errLog,
	}
	s.served = make(chan struct{})
	go func() {
		defer close(s.served)
		if err := s.http.Serve(lis); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics endpoint stopped", zap.Error(err))
		}
	}()
	log.Info("serving metrics", zap.String("address", lis.Addr().String()),
		zap.Bool("per_pdr", c.Metrics.PerPDR))
	return s, nil
}

// grpcOptions are the interceptors counting and timing RPCs; none without a
// metrics endpoint.
func (s *service) grpcOptions() []grpc.ServerOption {
	if s.rpc == nil {
		return nil
	}
	return s.rpc.ServerOptions()
}

// watch exports the data path's counters, the controllers' arbitration, the
// overlays' measured quality and the RPC series of every method srv serves.
func (s *service) watch(dp dataplane.Dataplane, srv *server.Server, quality gnmisrv.TunnelQuality) {
	if s.reg == nil {
		return
	}
	s.rpc.InitMethods(srv.GRPC.GetServiceInfo())
	s.reg.MustRegister(
		metrics.NewDataplaneCollector(metrics.DataplaneOptions{
			Dataplane:  dp,
			MaxTunnels: s.tables.Tunnels,
			MaxPDRs:    s.tables.PDRs,
			PerPDR:     s.perPDR,
		}),
		metrics.NewControllerCollector(srv.P4RT.Arbitration),
		metrics.NewQualityCollector(quality),
	)
	if ml := meterLister(dp); ml != nil {
		s.reg.MustRegister(metrics.NewMeterCollector(ml))
	}
	s.reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: metrics.Namespace + "_p4rt_stream_dropped_total",
			Help: "StreamChannel messages (PacketIns above all) dropped because their controller did not read its stream fast enough."},
			func() float64 { return float64(srv.P4RT.StreamDropped()) }),
	)
}

// meterLister is dp's listing of its configured meters (both data paths have
// one), which gNMI and metrics export; nil without one. It is the data path
// itself, not the SLA steering that wraps it for the controller.
func meterLister(dp dataplane.Dataplane) dataplane.MeterLister {
	ml, _ := dp.(dataplane.MeterLister)
	return ml
}

// ready reports the agent ready (the data path loaded and gRPC listening at
// addr): /readyz answers 200, systemd gets READY=1.
func (s *service) ready(addr string) {
	s.health.Set(metrics.Ready)
	s.notify(sdnotify.Ready, sdnotify.Status("serving P4Runtime, gNMI and gNOI on "+addr))
}

// stopping reports the shutdown: /readyz answers 503, systemd gets STOPPING=1.
func (s *service) stopping() {
	s.health.Set(metrics.Stopping)
	s.notify(sdnotify.Stopping, sdnotify.Status("stopping"))
}

func (s *service) notify(states ...string) {
	if sent, err := sdnotify.Notify(states...); err != nil {
		s.log.Warn("cannot notify the service manager", zap.Error(err))
	} else if sent {
		s.log.Debug("notified the service manager", zap.Strings("state", states))
	}
}

// close stops the metrics endpoint (idempotent); scrapes in flight get a
// second to finish.
func (s *service) close() {
	s.once.Do(func() {
		if s.http == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := s.http.Shutdown(ctx); err != nil {
			s.http.Close()
		}
		<-s.served
	})
}

// requiredCapabilities are what the agent needs to run the XDP data path
// (docs/operations.md, "Capabilities"). TestCapabilities proves the set is
// both sufficient and minimal, and that deploy/linx-agent.service grants
// exactly it.
var requiredCapabilities = []struct {
	bit  int
	name string
}{
	{unix.CAP_BPF, "CAP_BPF"},             // create the BPF maps, load the programs
	{unix.CAP_NET_ADMIN, "CAP_NET_ADMIN"}, // load XDP programs, attach them, set accept_local on LAN ports
	{unix.CAP_PERFMON, "CAP_PERFMON"},     // the verifier accepts the programs' packet pointer arithmetic only with it
	{unix.CAP_NET_RAW, "CAP_NET_RAW"},     // the AF_PACKET socket that sends PacketOut frames
}

// missingCapabilities is a log field naming the required capabilities the
// process lacks in its effective set (nothing with the in-memory data path,
// or when none is missing), so that an agent failing for want of one says
// which.
func missingCapabilities(memory bool) zap.Field {
	if memory {
		return zap.Skip()
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return zap.Skip()
	}
	var missing []string
	for _, c := range requiredCapabilities {
		if data[c.bit/32].Effective&(1<<(c.bit%32)) == 0 {
			missing = append(missing, c.name)
		}
	}
	if len(missing) == 0 {
		return zap.Skip()
	}
	return zap.Strings("missing_capabilities", missing)
}
