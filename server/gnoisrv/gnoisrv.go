// Package gnoisrv is linx's gNOI service. Only System.Time is implemented: ONOS'
// stratum drivers (ONOS 2.5.9 and later) use it as the device reachability probe.
// Every other System RPC answers UNIMPLEMENTED.
package gnoisrv

import (
	"context"
	"time"

	"github.com/openconfig/gnoi/system"
	"google.golang.org/grpc"
)

// Server implements system.SystemServer.
type Server struct {
	system.UnimplementedSystemServer

	now func() time.Time
}

var _ system.SystemServer = (*Server)(nil)

// New returns the gNOI System service.
func New() *Server { return &Server{now: time.Now} }

// Register registers the service on g (system.RegisterSystemServer).
func (s *Server) Register(g grpc.ServiceRegistrar) { system.RegisterSystemServer(g, s) }

// Time implements system.SystemServer: the current time in nanoseconds since the
// Unix epoch.
func (s *Server) Time(context.Context, *system.TimeRequest) (*system.TimeResponse, error) {
	return &system.TimeResponse{Time: uint64(s.now().UnixNano())}, nil
}
