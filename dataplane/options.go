package dataplane

import "fmt"

// Options size the pipeline's tables and set its behaviour. Zero fields take the
// defaults from DefaultOptions.
type Options struct {
	MaxPDRs    int // packet detection rules
	MaxFARs    int // forwarding action rules
	MaxLBRs    int // load-balancing rules
	MaxTunnels int // tunnels; tunnel ids must be < MaxTunnels (they index counters)
	MaxTerms   int // tunnel terminations
	MaxPorts   int // port ids must be < MaxPorts (they index counters)
	// MaxMeters is the size of each FAR meter (far_meter, far_packet_meter)
	// and of the far_qos table: FAR ids below it can be metered.
	MaxMeters int

	// FlowCacheSize is the number of flows per CPU whose classification is cached
	// (rounded up to a power of two; the cache is 2-way set-associative, so
	// flows beyond it, or colliding, cost a tuple search each, nothing more);
	// negative disables the cache (every packet is classified by tuple search).
	FlowCacheSize int

	// StatefulReflector makes the STAMP reflector stateful (RFC 8762 §4.3): a
	// reply carries the reflector's own sequence number, counted per session =
	// (the tunnel the probe came through, its DSCP), so that the sender can tell
	// forward from backward loss. Otherwise (the default) it carries the probe's.
	StatefulReflector bool

	// ReflectorRate is how many STAMP probes per second the reflector answers
	// through each tunnel: a token bucket per tunnel in the data path, shared
	// by every CPU, drops the rest early (drop reason stamp_rate), so a flood
	// of probes costs less than the same flood of data. ReflectorBurst is the
	// bucket's depth: probes answered back to back after a quiet spell. 0: the
	// defaults (DefaultOptions); at most MaxReflectorRate and MaxReflectorBurst.
	ReflectorRate  int
	ReflectorBurst int

	// PinDir, when set, pins maps and programs under this bpffs directory so that a
	// restarted agent can take over a running data path (see pin.go): the maps
	// are reused, and Attach swaps the program of a port an earlier process left
	// attached instead of attaching anew.
	PinDir string

	// LeaveRunning makes Close leave every port attached: the pinned pipeline
	// keeps forwarding without the process. It needs PinDir.
	LeaveRunning bool
}

// DefaultOptions are the sizes used when Options leave a field zero.
var DefaultOptions = Options{
	MaxPDRs:    100_000,
	MaxFARs:    65_536,
	MaxLBRs:    1_024,
	MaxTunnels: 4_096,
	MaxTerms:   4_096,
	MaxPorts:   512,
	MaxMeters:  4_096,

	FlowCacheSize: 65_536,

	// A prober at the shortest interval (10 ms) with a few DSCP sessions per
	// tunnel sends a few hundred probes per second; linx's own default (50 ms,
	// one session) sends 20.
	ReflectorRate:  500,
	ReflectorBurst: 100,
}

// Bounds of Options.ReflectorRate and ReflectorBurst: the data path's token
// arithmetic (probes x 1e9 in 64 bits) stays exact within them.
const (
	MaxReflectorRate  = 1_000_000
	MaxReflectorBurst = 1_000_000
)

// ValidateReflector checks Options.ReflectorRate and ReflectorBurst (after
// WithDefaults), naming the field that is out of range.
func (o Options) ValidateReflector() error {
	if o.ReflectorRate < 1 || o.ReflectorRate > MaxReflectorRate {
		return fmt.Errorf("%w: reflector rate %d probes/s is outside 1..%d", ErrInvalid, o.ReflectorRate, MaxReflectorRate)
	}
	if o.ReflectorBurst < 1 || o.ReflectorBurst > MaxReflectorBurst {
		return fmt.Errorf("%w: reflector burst %d probes is outside 1..%d", ErrInvalid, o.ReflectorBurst, MaxReflectorBurst)
	}
	return nil
}

// WithDefaults returns o with zero fields replaced by DefaultOptions.
func (o Options) WithDefaults() Options {
	d := DefaultOptions
	if o.MaxPDRs == 0 {
		o.MaxPDRs = d.MaxPDRs
	}
	if o.MaxFARs == 0 {
		o.MaxFARs = d.MaxFARs
	}
	if o.MaxLBRs == 0 {
		o.MaxLBRs = d.MaxLBRs
	}
	if o.MaxTunnels == 0 {
		o.MaxTunnels = d.MaxTunnels
	}
	if o.MaxTerms == 0 {
		o.MaxTerms = d.MaxTerms
	}
	if o.MaxPorts == 0 {
		o.MaxPorts = d.MaxPorts
	}
	if o.MaxMeters == 0 {
		o.MaxMeters = d.MaxMeters
	}
	if o.FlowCacheSize == 0 {
		o.FlowCacheSize = d.FlowCacheSize
	}
	if o.ReflectorRate == 0 {
		o.ReflectorRate = d.ReflectorRate
	}
	if o.ReflectorBurst == 0 {
		o.ReflectorBurst = d.ReflectorBurst
	}
	return o
}

// LBRSlots is the size of each load-balancing rule's Maglev lookup table (a prime
// well above the member count, so weights are honoured to within 1/LBRSlots). It
// must equal LBR_SLOTS in bpf/linx.h (package xdp does not compile otherwise).
const LBRSlots = 1021

// MaxLBRMembers bounds the members of one load-balancing rule.
const MaxLBRMembers = 16

// MaxPuntBytes is how much of a punted frame reaches the controller.
const MaxPuntBytes = 1536

// MaxNonIPRules is the capacity of the non_ip table (MAX_NON_IP_RULES in
// bpf/linx.h; package xdp checks they agree when it loads).
const MaxNonIPRules = 64
