// Package p4rtsrv is linx's P4Runtime service: client arbitration, the forwarding
// pipeline config, Write and Read of the PDR/FAR/LBR/tunnel tables through the
// translate package onto a dataplane.Dataplane, and packet I/O. It does not log:
// callers observe it through its return values and State.
package p4rtsrv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// APIVersion is the P4Runtime version reported by Capabilities.
const APIVersion = "1.4.1"

// Options configure a Server.
type Options struct {
	DeviceID  uint64              // the P4Runtime device id (default 1)
	Dataplane dataplane.Dataplane // where entries go
	Pipeline  *p4info.Index       // linx's own P4Info: the only pipeline accepted

	// Persist, when set, keeps the pipeline config and every entry written
	// across restarts (persist.go): New restores what it holds, into the server
	// and into the data path (dataplane.Restorer), before serving anything.
	Persist Persist
	// MaxReadEntities caps the entities one Read returns (default: the
	// function MaxReadEntities of Pipeline).
	MaxReadEntities int
	// CompactEvery is how many records Persist's journal takes before a
	// snapshot replaces it (default DefaultCompactEvery).
	CompactEvery int
	// OnSLAClasses, when set, receives every SLA class controllers wrote in
	// table sla_class (sla.go), in LBR order, whenever the set changes: after
	// a Write or pipeline commit that changed an sla_class entry or an LBR a
	// class uses, and once from New when entries were restored. It is called
	// outside the server's locks, one call at a time, newest set last; it must
	// not block (hand the classes to the prober's goroutine) since the RPC
	// that changed them waits for it. The slice is the callee's.
	OnSLAClasses func([]SLAClass)
}

// Server implements p4v1.P4RuntimeServer.
type Server struct {
	p4v1.UnimplementedP4RuntimeServer

	deviceID uint64
	dp       dataplane.Dataplane
	pipeline *p4info.Index
	tr       *translate.Translator
	arb      *arbiter
	maxRead  int // Options.MaxReadEntities

	// mu orders Writes, Reads and pipeline changes: writes exclusive, reads shared
	// (the spec's "as if one completed before the other began").
	mu     sync.RWMutex
	config *p4v1.ForwardingPipelineConfig // committed; nil before the first commit
	saved  *p4v1.ForwardingPipelineConfig // VERIFY_AND_SAVE, awaiting COMMIT
	st     store                          // what controllers wrote

	// SLA classes (sla.go): slaDirty (under mu) says they may have changed;
	// slaGen numbers the sets taken under mu, slaMu orders their delivery.
	onSLA        func([]SLAClass)
	slaDirty     bool
	slaGen       uint64
	slaMu        sync.Mutex
	slaDelivered uint64
	slaLast      []SLAClass

	stopPunts chan struct{}
	punts     sync.WaitGroup
	// streamDropped counts StreamChannel messages (PacketIns, arbitration
	// notifications, stream errors) lost because a client did not read its
	// stream fast enough (streamQueue messages were waiting).
	streamDropped atomic.Uint64

	persist      Persist
	compactEvery int
	persistStale bool // a record could not be persisted: the next one is a snapshot
	restored     Restored
}

// New returns a server for one device. Call Close to stop relaying punted packets.
func New(o Options) (*Server, error) {
	if o.DeviceID == 0 {
		o.DeviceID = 1
	}
	if o.Dataplane == nil || o.Pipeline == nil {
		return nil, errors.New("p4rtsrv: a data path and a pipeline are required")
	}
	tr, err := translate.New(o.Pipeline)
	if err != nil {
		return nil, fmt.Errorf("p4rtsrv: %w", err)
	}
	s := &Server{deviceID: o.DeviceID, dp: o.Dataplane, pipeline: o.Pipeline, tr: tr, arb: newArbiter(o.DeviceID),
		stopPunts: make(chan struct{}), persist: o.Persist, compactEvery: o.CompactEvery, onSLA: o.OnSLAClasses}
	if s.maxRead = o.MaxReadEntities; s.maxRead <= 0 {
		s.maxRead = MaxReadEntities(o.Pipeline)
	}
	if s.compactEvery <= 0 {
		s.compactEvery = DefaultCompactEvery
	}
	s.resetStore()
	if s.persist != nil {
		if err := s.restore(); err != nil {
			return nil, fmt.Errorf("p4rtsrv: %w", err)
		}
		if len(s.st.sla) > 0 {
			s.mu.Lock()
			s.unlockPublish()
		}
	}
	s.punts.Add(1)
	go s.relayPunts()
	return s, nil
}

// Close stops the PacketIn relay and, with Options.Persist, replaces the journal
// with a snapshot; the error is that of the snapshot (the journal still holds
// everything then).
func (s *Server) Close() error {
	select {
	case <-s.stopPunts:
	default:
		close(s.stopPunts)
	}
	s.punts.Wait()
	if s.persist == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.compactLocked()
}

// StreamDropped is the number of StreamChannel messages (PacketIns above all)
// dropped since New because their client's queue was full: a controller that
// stops reading its stream loses messages, it does not block the others.
func (s *Server) StreamDropped() uint64 { return s.streamDropped.Load() }

// streamQueue is how many messages wait for one StreamChannel client before
// further ones are dropped.
const streamQueue = 1024

// Arbitration describes the controllers per role.
func (s *Server) Arbitration() []State { return s.arb.state() }

// Capabilities reports the P4Runtime API version.
func (s *Server) Capabilities(context.Context, *p4v1.CapabilitiesRequest) (*p4v1.CapabilitiesResponse, error) {
	return &p4v1.CapabilitiesResponse{P4RuntimeApiVersion: APIVersion}, nil
}

// StreamChannel runs one controller session: arbitration, PacketOut in, PacketIn
// and arbitration notifications out.
func (s *Server) StreamChannel(stream p4v1.P4Runtime_StreamChannelServer) error {
	c := &client{out: make(chan *p4v1.StreamMessageResponse, streamQueue), dropped: &s.streamDropped}
	defer s.arb.leave(c)

	ctx := stream.Context()
	sendErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case m := <-c.out:
				if err := stream.Send(m); err != nil {
					sendErr <- err
					return
				}
			}
		}
	}()
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil // the client closed its side: a clean end
		}
		if err != nil {
			if status.Code(err) == codes.Canceled {
				return nil
			}
			return err
		}
		select {
		case err := <-sendErr:
			return err
		default:
		}
		switch u := req.Update.(type) {
		case *p4v1.StreamMessageRequest_Arbitration:
			if err := s.arb.arbitrate(c, u.Arbitration); err != nil {
				return err
			}
		case *p4v1.StreamMessageRequest_Packet:
			if err := s.packetOut(c, u.Packet); err != nil {
				c.send(streamError(err, &p4v1.StreamError{Details: &p4v1.StreamError_PacketOut{
					PacketOut: &p4v1.PacketOutError{PacketOut: u.Packet}}}))
			}
		case *p4v1.StreamMessageRequest_DigestAck:
			// linx declares no digests: nothing to acknowledge.
		default:
			if !c.joined {
				return status.Error(codes.FailedPrecondition, "the first stream message must be a MasterArbitrationUpdate")
			}
		}
	}
}

func streamError(err error, e *p4v1.StreamError) *p4v1.StreamMessageResponse {
	st := status.Convert(err)
	e.CanonicalCode = int32(st.Code())
	e.Message = st.Message()
	return &p4v1.StreamMessageResponse{Update: &p4v1.StreamMessageResponse_Error{Error: e}}
}

// SetForwardingPipelineConfig accepts linx's own pipeline only: a P4Info that
// differs from it is refused with the differences spelled out.
func (s *Server) SetForwardingPipelineConfig(_ context.Context, req *p4v1.SetForwardingPipelineConfigRequest) (*p4v1.SetForwardingPipelineConfigResponse, error) {
	if err := s.arb.checkPrimary(req.DeviceId, req.Role, req.ElectionId); err != nil {
		return nil, err
	}
	verify := func() error {
		if req.Config == nil || req.Config.P4Info == nil {
			return status.Error(codes.InvalidArgument, "config with a p4info is required")
		}
		if err := s.pipeline.Compatible(req.Config.P4Info); err != nil {
			return status.Errorf(codes.InvalidArgument, "this device runs the linx pipeline only: %v", err)
		}
		// Capacities may be smaller than the data path's (the controller then
		// keeps within its own), never larger: the P4Info served back would
		// promise entries and counter cells that are not there.
		got, err := p4info.NewIndex(req.Config.P4Info)
		if err != nil {
			return status.Errorf(codes.InvalidArgument, "p4info: %v", err)
		}
		if over := s.pipeline.Exceeds(got); len(over) > 0 {
			return status.Errorf(codes.ResourceExhausted, "the P4Info declares more than this device's data path holds (sized by the agent's tables configuration): %s",
				strings.Join(over, "; "))
		}
		return nil
	}
	s.mu.Lock()
	defer s.unlockPublish()
	switch req.Action {
	case p4v1.SetForwardingPipelineConfigRequest_VERIFY:
		return &p4v1.SetForwardingPipelineConfigResponse{}, verify()
	case p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_SAVE:
		if err := verify(); err != nil {
			return nil, err
		}
		s.saved = proto.Clone(req.Config).(*p4v1.ForwardingPipelineConfig)
	case p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT:
		if err := verify(); err != nil {
			return nil, err
		}
		if err := s.clearLocked(); err != nil {
			return nil, status.Errorf(codes.Internal, "clear forwarding state: %v", err)
		}
		s.config = proto.Clone(req.Config).(*p4v1.ForwardingPipelineConfig)
		s.saved = nil
	case p4v1.SetForwardingPipelineConfigRequest_COMMIT:
		if req.Config != nil {
			return nil, status.Error(codes.InvalidArgument, "COMMIT takes no config: it commits the one saved by VERIFY_AND_SAVE")
		}
		if s.saved == nil {
			return nil, status.Error(codes.NotFound, "no config saved by VERIFY_AND_SAVE")
		}
		// The saved pipeline is linx's, the one running: the forwarding state
		// written since the save stays as it is.
		s.config, s.saved = s.saved, nil
	case p4v1.SetForwardingPipelineConfigRequest_RECONCILE_AND_COMMIT:
		return nil, status.Error(codes.Unimplemented, "RECONCILE_AND_COMMIT is not supported")
	default:
		return nil, status.Errorf(codes.InvalidArgument, "unknown action %v", req.Action)
	}
	if err := s.persistPipelineLocked(req.Action == p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT); err != nil {
		return nil, err
	}
	return &p4v1.SetForwardingPipelineConfigResponse{}, nil
}

// GetForwardingPipelineConfig returns the committed config; before the first
// commit the response has no config, which ONOS reads as "not configured".
func (s *Server) GetForwardingPipelineConfig(_ context.Context, req *p4v1.GetForwardingPipelineConfigRequest) (*p4v1.GetForwardingPipelineConfigResponse, error) {
	if req.DeviceId != s.deviceID {
		return nil, status.Errorf(codes.NotFound, "device id %d is not served here (this is device %d)", req.DeviceId, s.deviceID)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.config == nil {
		return &p4v1.GetForwardingPipelineConfigResponse{}, nil
	}
	out := &p4v1.ForwardingPipelineConfig{Cookie: proto.Clone(s.config.Cookie).(*p4v1.ForwardingPipelineConfig_Cookie)}
	if s.config.Cookie == nil {
		out.Cookie = nil
	}
	switch req.ResponseType {
	case p4v1.GetForwardingPipelineConfigRequest_ALL:
		out.P4Info = proto.Clone(s.config.P4Info).(*p4configv1.P4Info)
		out.P4DeviceConfig = append([]byte(nil), s.config.P4DeviceConfig...)
	case p4v1.GetForwardingPipelineConfigRequest_COOKIE_ONLY:
	case p4v1.GetForwardingPipelineConfigRequest_P4INFO_AND_COOKIE:
		out.P4Info = proto.Clone(s.config.P4Info).(*p4configv1.P4Info)
	case p4v1.GetForwardingPipelineConfigRequest_DEVICE_CONFIG_AND_COOKIE:
		out.P4DeviceConfig = append([]byte(nil), s.config.P4DeviceConfig...)
	default:
		return nil, status.Errorf(codes.InvalidArgument, "unknown response type %v", req.ResponseType)
	}
	return &p4v1.GetForwardingPipelineConfigResponse{Config: out}, nil
}

// configuredLocked reports whether Reads and Writes have a pipeline to refer to:
// a committed one, or one saved by VERIFY_AND_SAVE ("any subsequent Read / Write
// requests must refer to fields in the new config"; linx's pipeline is the one
// running either way, so entries written before COMMIT take effect at once).
func (s *Server) configuredLocked() bool { return s.config != nil || s.saved != nil }

// clearLocked wipes the forwarding state (VERIFY_AND_COMMIT): the data path and
// the entries the server remembers.
func (s *Server) clearLocked() error {
	if err := s.dp.Clear(); err != nil {
		return err
	}
	s.resetStore()
	return nil
}
