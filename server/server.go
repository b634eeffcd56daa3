// Package server puts linx's P4Runtime, gNMI and gNOI services on one gRPC
// server: ONOS opens one channel per device and uses it for all three.
package server

import (
	"fmt"
	"net"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/gnmisrv"
	"github.com/linx-sdwan/linx/server/gnoisrv"
	"github.com/linx-sdwan/linx/server/p4rtsrv"
	"github.com/linx-sdwan/linx/server/p4rtsrv/wire"
)

// Options configure the device.
type Options struct {
	DeviceID  uint64
	Dataplane dataplane.Dataplane
	Pipeline  *p4info.Index // linx's P4Info as sized by the configuration
	GNMI      gnmisrv.Options
	GRPC      []grpc.ServerOption // credentials, interceptors
	// Persist keeps the P4Runtime state across restarts (p4rtsrv.Options.Persist):
	// New restores it, into the data path too.
	Persist p4rtsrv.Persist
	// OnSLAClasses receives the SLA classes controllers write
	// (p4rtsrv.Options.OnSLAClasses).
	OnSLAClasses func([]p4rtsrv.SLAClass)
}

// Server is the device's gRPC endpoint.
type Server struct {
	GRPC *grpc.Server
	P4RT *p4rtsrv.Server
	GNMI *gnmisrv.Server
}

// New builds the services and registers them on one grpc.Server. Its codec
// decodes P4Runtime Writes lazily (package wire): a large Write never exists
// as one tree of messages.
func New(o Options) (*Server, error) {
	p4rt, err := p4rtsrv.New(p4rtsrv.Options{DeviceID: o.DeviceID, Dataplane: o.Dataplane, Pipeline: o.Pipeline, Persist: o.Persist,
		OnSLAClasses: o.OnSLAClasses})
	if err != nil {
		return nil, fmt.Errorf("p4runtime service: %w", err)
	}
	g := grpc.NewServer(append(append(Limits(), grpc.ForceServerCodecV2(wire.Codec())), o.GRPC...)...)
	p4v1.RegisterP4RuntimeServer(g, p4rt)
	gn := gnmisrv.New(o.Dataplane, o.GNMI)
	gn.Register(g)
	gnoisrv.New().Register(g)
	return &Server{GRPC: g, P4RT: p4rt, GNMI: gn}, nil
}

// Per-connection limits of the gRPC server (Limits).
const (
	// MaxConcurrentStreams bounds the RPCs one connection has open at once;
	// ONOS uses a handful (a StreamChannel, a gNMI subscription, Reads).
	MaxConcurrentStreams = 128
	// KeepaliveTime is how long a connection may be silent before the server
	// pings it; KeepaliveTimeout how long the server then waits for the ack
	// before closing it, so that a controller that vanished (power loss, a
	// cut link) does not hold its streams open for ever.
	KeepaliveTime    = 30 * time.Second
	KeepaliveTimeout = 20 * time.Second
	// KeepaliveMinTime is the shortest ping interval a client may use
	// (grpc-go's default, 5 minutes, would disconnect clients that ping every
	// minute, gnmic for one).
	KeepaliveMinTime = 10 * time.Second
)

// Limits are the server options New applies before Options.GRPC (which may
// override them): per-connection stream limit and keepalive.
func Limits() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(MaxConcurrentStreams),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: KeepaliveTime, Timeout: KeepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: KeepaliveMinTime, PermitWithoutStream: true}),
	}
}

// Serve accepts connections on lis until Stop.
func (s *Server) Serve(lis net.Listener) error { return s.GRPC.Serve(lis) }

// Stop ends subscriptions, gives unary calls up to grace to finish (controller
// streams never end by themselves: they are cut after it), and stops relaying
// punted packets. The error is that of persisting the P4Runtime state (with
// Options.Persist).
func (s *Server) Stop(grace time.Duration) error {
	s.GNMI.Close()
	done := make(chan struct{})
	go func() { s.GRPC.GracefulStop(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		s.GRPC.Stop()
		<-done
	}
	return s.P4RT.Close()
}
