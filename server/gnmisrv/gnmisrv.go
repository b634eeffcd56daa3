// Package gnmisrv is linx's gNMI service: the read-only slice of OpenConfig that
// ONOS' stratum/gnmi drivers use for port discovery, port statistics and port
// state, served from the data path's ports, overlays and counters and the
// kernel's link state.
//
// Served paths (module openconfig-interfaces unless noted):
//
//	/interfaces/interface[name=IF]/name                 string  (the list key)
//	/interfaces/interface[name=IF]/state/name           string
//	/interfaces/interface[name=IF]/state/type           "iana-if-type:ethernetCsmacd" | "iana-if-type:tunnel"
//	/interfaces/interface[name=IF]/state/id             uint32  openconfig-p4rt: the P4 port number
//	/interfaces/interface[name=IF]/state/ifindex        uint32  the P4 port number (not the kernel ifindex)
//	/interfaces/interface[name=IF]/state/admin-status   "UP" | "DOWN"
//	/interfaces/interface[name=IF]/state/oper-status    "UP" | "DOWN" | "LOWER_LAYER_DOWN" | ...
//	/interfaces/interface[name=IF]/state/last-change    uint64  ns since the Unix epoch (0: unknown)
//	/interfaces/interface[name=IF]/state/counters/C     uint64
//
// IF is the port's interface name. Each overlay (tunnels table) is a logical
// port too: IF = "tunnel-<id>" (TunnelName), type tunnel, id and ifindex its
// logical port number dataplane.TunnelPort (MaxPorts + id, above every
// physical port), admin-status UP, oper-status DOWN when the overlay is
// marked down, LOWER_LAYER_DOWN when its WAN port is down or not attached,
// UP when that port is up (UNKNOWN when its state is), last-change when this
// server saw oper-status change, in-* counters what it decapsulated and out-*
// what it encapsulated.
//
// Overlays whose quality the SLA prober reports (Options.Quality, see
// TunnelQuality) also carry linx's augmentation (module linx-sla):
//
//	/interfaces/interface[name=tunnel-ID]/sla/state/status         "UP" | "DEGRADED" | "DOWN" | "UNKNOWN"
//	/interfaces/interface[name=tunnel-ID]/sla/state/last-change    uint64  ns since the Unix epoch (0: unknown)
//	/interfaces/interface[name=tunnel-ID]/sla/state/rtt            uint64  µs, median of the probe window
//	/interfaces/interface[name=tunnel-ID]/sla/state/rtt-min        uint64  µs
//	/interfaces/interface[name=tunnel-ID]/sla/state/jitter         uint64  µs (RFC 3550, the worse direction)
//	/interfaces/interface[name=tunnel-ID]/sla/state/loss           uint32  ppm, round trip
//	/interfaces/interface[name=tunnel-ID]/sla/state/loss-forward   uint32  ppm (only with a stateful reflector)
//	/interfaces/interface[name=tunnel-ID]/sla/state/loss-backward  uint32  ppm (only with a stateful reflector)
//
// status and last-change are sent on change (at once when the agent calls
// Server.QualityChanged); the measures are sampled like counters.
//
// Configured meters carry their per-color counts under linx's module linx-qos
// (meters.go; F the FAR id, U bytes or packets, ID the data path's rule id):
//
//	/qos/meters/meter[far=F][unit=U]/state/counters/{green,yellow,red}/{packets,bytes}  uint64
//	/qos/pdr-meters/meter[pdr=ID]/state/counters/{green,yellow,red}/{packets,bytes}     uint64
//
// The counters C are exactly those ONOS reads:
// in-octets, in-unicast-pkts, in-broadcast-pkts, in-multicast-pkts,
// in-unknown-protos, in-discards, in-errors, in-fcs-errors, out-octets,
// out-unicast-pkts, out-broadcast-pkts, out-multicast-pkts, out-discards,
// out-errors. A port's counters sum the pipeline's and the kernel's (see
// counterNames): in = what XDP saw arrive, out = what the pipeline redirected
// plus what the kernel sent, in-discards = the pipeline's drops on arrival plus
// the kernel's rx_dropped, out-discards = the kernel's tx_dropped;
// in/out-unicast-pkts carry all packets and broadcast/multicast/errors are 0.
//
// Paths may use the key wildcards name=* and name=... (ONOS' port discovery
// sends the latter), the element wildcards * and ..., module-qualified element
// names and origin "openconfig". Every update carries the full path from
// the root; a request prefix's target is echoed in the notification prefix.
//
// Get: encodings PROTO (one typed update per leaf: string_val or uint_val),
// JSON_IETF and JSON (one update per addressed node holding its subtree, member
// names module-qualified per RFC 7951 for JSON_IETF); types ALL, CONFIG, STATE,
// OPERATIONAL. A path outside the schema is INVALID_ARGUMENT (what ONOS' gNMI
// probe expects), an interface name that is not attached NOT_FOUND, an encoding
// other than those UNIMPLEMENTED. Set is UNIMPLEMENTED.
//
// Subscribe: ONCE, POLL and STREAM, always leaf by leaf with typed scalar values
// (string_val, uint_val) whatever the encoding requested (PROTO, JSON or
// JSON_IETF; others are UNIMPLEMENTED): the encoding governs structured values
// only, and subscriptions send none. The leaves of one interface that are due
// together travel in one notification (so oper-status and last-change arrive
// together, as ONOS expects). STREAM modes:
//
//   - ON_CHANGE: the state is re-read every Options.ChangeInterval and the
//     leaves that changed are sent; counters, which change with every packet,
//     are checked only every Options.DefaultSampleInterval.
//   - SAMPLE: every sample_interval (0 means Options.MinSampleInterval, smaller
//     is INVALID_ARGUMENT), honouring suppress_redundant.
//   - TARGET_DEFINED: counters as SAMPLE (sample_interval, by default
//     Options.DefaultSampleInterval), the other leaves as ON_CHANGE.
//
// heartbeat_interval (at least Options.MinSampleInterval) resends everything;
// updates_only suppresses the initial state. An interface that goes away is
// reported as a delete of /interfaces/interface[name=IF] (a meter reset to the
// default, or whose rule is deleted, as a delete of its meter entry);
// subscriptions to interfaces or meters that do not exist yet stay open. Cancelling the RPC ends it at
// once; Server.Close ends all of them.
package gnmisrv

import (
	"context"
	"sync"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
)

// PortSource is what the service reads from the data path: ports and
// overlays with their counters; dataplane.Dataplane (and memdp) satisfy it.
type PortSource interface {
	Ports() []dataplane.PortInfo
	PortCounter(id dataplane.PortID) (dataplane.PortCounters, error)
	ListTunnels() []dataplane.TunnelInfo
	TunnelCounter(id dataplane.TunnelID) (dataplane.TunnelCounters, error)
}

// Options tune the service. Zero fields take the defaults.
type Options struct {
	// Links reports link state (admin-status, oper-status, last-change).
	// The agent passes linkwatch.NewLinks (the kernel's view over netlink); without
	// one every port's oper-status is unknown.
	Links LinkStater
	// ChangeInterval is how often ON_CHANGE (and TARGET_DEFINED non-counter)
	// subscriptions re-read the state to detect changes. Default 1 s.
	ChangeInterval time.Duration
	// DefaultSampleInterval is the sample interval of counters in TARGET_DEFINED
	// subscriptions. Default 10 s (ONOS polls port statistics every 10 s).
	DefaultSampleInterval time.Duration
	// MinSampleInterval is the smallest sample_interval and heartbeat_interval
	// accepted, and the interval used for sample_interval 0. Default 1 s.
	MinSampleInterval time.Duration
	// Meters, if set, lists the configured meters served under /qos
	// (meters.go); nil: the data path's own, if it lists them
	// (dataplane.MeterLister). The agent passes its data path here because
	// the one it serves interfaces from is wrapped by the SLA steering.
	Meters dataplane.MeterLister
	// Quality, if set, reports the overlays' measured quality (the agent's SLA
	// prober), served under each overlay's sla container (quality.go).
	Quality TunnelQuality
	// Logf, if set, receives operational messages (failures reading counters or
	// link state, each reported once until it clears).
	Logf func(format string, args ...any)
}

// Defaults.
const (
	DefaultChangeInterval        = time.Second
	DefaultDefaultSampleInterval = 10 * time.Second
	DefaultMinSampleInterval     = time.Second
)

func (o Options) withDefaults() Options {
	if o.Links == nil {
		o.Links = noLinks{}
	}
	if o.ChangeInterval <= 0 {
		o.ChangeInterval = DefaultChangeInterval
	}
	if o.DefaultSampleInterval <= 0 {
		o.DefaultSampleInterval = DefaultDefaultSampleInterval
	}
	if o.MinSampleInterval <= 0 {
		o.MinSampleInterval = DefaultMinSampleInterval
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o
}

// Server implements gnmi.GNMIServer.
type Server struct {
	gnmi.UnimplementedGNMIServer

	dp     PortSource
	meters dataplane.MeterLister // nil: no meters served
	links  LinkStater
	opts   Options

	done      chan struct{}
	closeOnce sync.Once

	logMu  sync.Mutex
	logged map[string]bool

	tunMu   sync.Mutex
	tunSeen map[dataplane.TunnelID]tunnelSeen

	// changeCh is closed (and replaced) by QualityChanged.
	changeMu sync.Mutex
	changeCh chan struct{}
}

var _ gnmi.GNMIServer = (*Server)(nil)

// New returns the gNMI service over dp.
func New(dp PortSource, opts Options) *Server {
	opts = opts.withDefaults()
	return &Server{dp: dp, meters: meterSource(dp, opts), links: opts.Links, opts: opts, done: make(chan struct{}), logged: map[string]bool{},
		tunSeen: map[dataplane.TunnelID]tunnelSeen{}, changeCh: make(chan struct{})}
}

// Register registers the service on g (gnmi.RegisterGNMIServer).
func (s *Server) Register(g grpc.ServiceRegistrar) { gnmi.RegisterGNMIServer(g, s) }

// Close ends every active Subscribe RPC with UNAVAILABLE and makes new ones fail
// the same way, so that grpc.Server.GracefulStop does not wait for subscriptions
// that never end by themselves. Get and Capabilities keep working.
func (s *Server) Close() {
	s.closeOnce.Do(func() { close(s.done) })
}

func (s *Server) logOnce(key, format string, args ...any) {
	s.logMu.Lock()
	seen := s.logged[key]
	s.logged[key] = true
	s.logMu.Unlock()
	if !seen {
		s.opts.Logf(format, args...)
	}
}

func (s *Server) clearLog(key string) {
	s.logMu.Lock()
	delete(s.logged, key)
	s.logMu.Unlock()
}

// gnmiVersion is the gNMI service version of the compiled protos.
var gnmiVersion = func() string {
	opts := gnmi.File_github_com_openconfig_gnmi_proto_gnmi_gnmi_proto.Options()
	if v, ok := proto.GetExtension(opts, gnmi.E_GnmiService).(string); ok && v != "" {
		return v
	}
	return "0.10.0"
}()

// supportedModels are the YANG modules whose nodes are served (the subset listed
// in the package documentation); no model revision is claimed.
var supportedModels = []*gnmi.ModelData{
	{Name: modInterfaces, Organization: "OpenConfig working group"},
	{Name: modP4RT, Organization: "OpenConfig working group"},
	{Name: modSLA, Organization: "linx"},
	{Name: modQoS, Organization: "linx"},
}

// Capabilities implements gnmi.GNMIServer.
func (s *Server) Capabilities(context.Context, *gnmi.CapabilityRequest) (*gnmi.CapabilityResponse, error) {
	resp := &gnmi.CapabilityResponse{GNMIVersion: gnmiVersion}
	for _, m := range supportedModels {
		resp.SupportedModels = append(resp.SupportedModels, proto.Clone(m).(*gnmi.ModelData))
	}
	resp.SupportedEncodings = append(resp.SupportedEncodings, supportedEncodings...)
	return resp, nil
}

// Set implements gnmi.GNMIServer: linx's gNMI tree is read-only.
func (s *Server) Set(context.Context, *gnmi.SetRequest) (*gnmi.SetResponse, error) {
	return nil, status.Error(codes.Unimplemented, "gNMI Set is not supported: the served tree is read-only")
}

// Get implements gnmi.GNMIServer.
func (s *Server) Get(ctx context.Context, req *gnmi.GetRequest) (*gnmi.GetResponse, error) {
	if err := checkEncoding(req.GetEncoding()); err != nil {
		return nil, err
	}
	if _, ok := gnmi.GetRequest_DataType_name[int32(req.GetType())]; !ok {
		return nil, status.Errorf(codes.InvalidArgument, "unknown data type %v", req.GetType())
	}
	paths := req.GetPath()
	if len(paths) == 0 {
		// No path: the whole tree at the prefix.
		paths = []*gnmi.Path{{}}
	}
	pats := make([]*pattern, len(paths))
	var need lists
	for i, p := range paths {
		pat, err := parsePattern(req.GetPrefix(), p)
		if err != nil {
			return nil, err
		}
		pats[i] = pat
		need = need.union(pat.lists)
	}
	snap := s.take(need)
	resp := &gnmi.GetResponse{}
	for _, pat := range pats {
		all := snap.leaves(pat)
		if what := pat.namedEntry(); len(all) == 0 && what != "" {
			return nil, status.Errorf(codes.NotFound, "%s: no such %s", pat.text, what)
		}
		var leaves []leaf
		for _, l := range all {
			if l.def.class.in(req.GetType()) {
				leaves = append(leaves, l)
			}
		}
		n := &gnmi.Notification{Timestamp: snap.at.UnixNano(), Prefix: targetPrefix(pat.target)}
		switch req.GetEncoding() {
		case gnmi.Encoding_PROTO:
			for _, l := range leaves {
				n.Update = append(n.Update, &gnmi.Update{Path: toGNMIPath(l.path), Val: typedScalar(l.val, gnmi.Encoding_PROTO)})
			}
		default:
			n.Update = jsonUpdates(pat, leaves, req.GetEncoding())
		}
		resp.Notification = append(resp.Notification, n)
	}
	return resp, nil
}

// jsonUpdates groups leaves by the node the pattern addresses and renders each
// node as one JSON value. Patterns with "..." address nodes at every depth; for
// them each leaf is its own node.
func jsonUpdates(pat *pattern, leaves []leaf, enc gnmi.Encoding) []*gnmi.Update {
	depth := len(pat.elems)
	type group struct {
		node   []pelem
		leaves []leaf
	}
	var groups []*group
	index := map[string]*group{}
	for _, l := range leaves {
		node := l.path
		if !pat.hasDots() && depth < len(node) {
			node = node[:depth]
		}
		k := pathString(node)
		g, ok := index[k]
		if !ok {
			g = &group{node: node}
			index[k] = g
			groups = append(groups, g)
		}
		g.leaves = append(g.leaves, l)
	}
	out := make([]*gnmi.Update, 0, len(groups))
	ietf := enc == gnmi.Encoding_JSON_IETF
	for _, g := range groups {
		b := buildJSON(g.node, g.leaves, ietf)
		val := &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonVal{JsonVal: b}}
		if ietf {
			val = &gnmi.TypedValue{Value: &gnmi.TypedValue_JsonIetfVal{JsonIetfVal: b}}
		}
		out = append(out, &gnmi.Update{Path: toGNMIPath(g.node), Val: val})
	}
	return out
}

func targetPrefix(target string) *gnmi.Path {
	if target == "" {
		return nil
	}
	return &gnmi.Path{Target: target}
}
