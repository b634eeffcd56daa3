// Package xdp is linx's data path in the kernel: it loads the XDP pipeline of
// bpf/ (bpf2go bindings, generated and committed), attaches it to ports and
// turns the contract's typed rules (package dataplane) into BPF map entries.
// It is the only Go code that touches BPF; nothing outside it sees a raw map key.
//
// Files by concern: load.go (load and close), ports.go, pdr.go and
// classifier.go (rules and tuple-space planning), tables.go (FARs, LBRs,
// tunnels, terminations, non_ip), maglev.go, counters.go, packetio.go (punts,
// PacketOut), kernel.go (conversions to the C layout), abi.go (the contract's
// enums equal the C ones, checked at compile time), pin.go and restore.go
// (hitless restart).
package xdp

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// Dataplane is the data path in the kernel: the XDP pipeline of bpf/linx.c. Load it with
// Load, attach it to ports, then program it. All methods are safe for concurrent
// use; one mutex serialises updates (the kernel maps are the shared state and the
// classifier's bookkeeping must follow them exactly).
type Dataplane struct {
	mu    sync.Mutex
	opts  dataplane.Options
	objs  linxObjects
	links map[dataplane.PortID]link.Link
	ports map[dataplane.PortID]dataplane.PortInfo

	cls        *classifier
	gen        uint32     // classifier generation: flow-cache entries of older ones are stale
	bloom      bloom      // pdr_bloom's copy (bloom.go)
	nhGen      uint32     // next-hop generation: forward answers (FIB-resolved MACs) of older ones are stale
	slot       uint32     // live slot of pdr_tuple_list
	slot6      uint32     // live slot of pdr6_tuple_list
	rows4      []tupleRow // the IPv4 tuple list last written (nil: unknown)
	rows6      []tupleRow // the IPv6 tuple list last written (nil: unknown)
	ids        dataplane.PDRIDs
	fars       map[dataplane.FARID]dataplane.FAR
	lbrs       map[dataplane.LBRID][]dataplane.LBRMember
	tunnels    map[dataplane.TunnelID]dataplane.Tunnel
	terms      map[dataplane.TunnelTerm]dataplane.TunnelID
	locals     map[netip.Addr]int                          // local tunnel addresses → terminations using them
	nonIP      map[uint16]dataplane.NonIPAction            // by EtherType, host order
	addrs6     map[dataplane.PortID]linxPortAddr6          // port_addrs6 as written (nexthop.go)
	addrs4     map[dataplane.PortID]uint32                 // port_addrs4 as written (nexthop.go)
	meters     map[dataplane.MeterID]dataplane.MeterConfig // configured ones (meter.go)
	counted    map[dataplane.MeterID]bool                  // configured since the counters were zeroed (meter.go)
	pdrMeters  map[dataplane.PDRID]dataplane.MeterConfig   // configured direct meters (meter.go)
	pdrCounted map[dataplane.PDRID]bool                    // direct meters configured since zeroed

	punts     chan dataplane.Punt
	replies   chan dataplane.ProbeReply // SLA probe replies (probe.go)
	ring      *ringbuf.Reader
	probeRing *ringbuf.Reader // probe_replies (probe.go)
	packetFD  int
	rawFD     int // IPv4 raw socket: probes whose next hop the kernel must resolve (probe.go)
	raw6FD    int // the same for IPv6 underlays (IPPROTO_RAW: the header is ours)
	closed    bool
	wg        sync.WaitGroup

	// Hitless restart (pin.go).
	nh *nexthops // tunnels' underlay next hops (nexthop.go)

	stagesPin string   // this Load's pinned stage array
	oldStages []string // stage arrays of earlier loads, removed by ReleaseStale
	restored  bool     // Restore ran
	takenOver map[dataplane.PortID]bool
}

var _ dataplane.Dataplane = (*Dataplane)(nil)

// Load loads the pipeline into the kernel with tables sized by opts. Nothing is
// attached yet.
func Load(opts dataplane.Options) (*Dataplane, error) {
	opts = opts.WithDefaults()
	if err := opts.ValidateReflector(); err != nil {
		return nil, err
	}
	if err := CheckKernel(); err != nil {
		return nil, err
	}
	spec, err := sizedSpec(opts)
	if err != nil {
		return nil, err
	}
	var copts ebpf.CollectionOptions
	if opts.LeaveRunning && opts.PinDir == "" {
		return nil, fmt.Errorf("%w: LeaveRunning needs a PinDir", dataplane.ErrInvalid)
	}
	if opts.PinDir != "" {
		if err := os.MkdirAll(opts.PinDir, 0o700); err != nil {
			return nil, fmt.Errorf("create pin directory: %w", err)
		}
		if err := checkPins(opts.PinDir, spec); err != nil {
			return nil, err
		}
		for name, m := range spec.Maps {
			if pinnedMap(name) {
				m.Pinning = ebpf.PinByName
			}
		}
		copts.Maps.PinPath = opts.PinDir
	}
	d := &Dataplane{
		opts:       opts,
		links:      map[dataplane.PortID]link.Link{},
		ports:      map[dataplane.PortID]dataplane.PortInfo{},
		cls:        newClassifier(int(len(linxPdrTuples{}.T)), opts.MaxPDRs*entriesPerPDR),
		fars:       map[dataplane.FARID]dataplane.FAR{},
		meters:     map[dataplane.MeterID]dataplane.MeterConfig{},
		counted:    map[dataplane.MeterID]bool{},
		pdrMeters:  map[dataplane.PDRID]dataplane.MeterConfig{},
		pdrCounted: map[dataplane.PDRID]bool{},
		lbrs:       map[dataplane.LBRID][]dataplane.LBRMember{},
		tunnels:    map[dataplane.TunnelID]dataplane.Tunnel{},
		terms:      map[dataplane.TunnelTerm]dataplane.TunnelID{},
		locals:     map[netip.Addr]int{},
		nonIP:      map[uint16]dataplane.NonIPAction{},
		addrs6:     map[dataplane.PortID]linxPortAddr6{},
		addrs4:     map[dataplane.PortID]uint32{},
		punts:      make(chan dataplane.Punt, 256),
		replies:    make(chan dataplane.ProbeReply, 256),
		bloom:      bloom{words: make([]uint64, bloomWords(opts.MaxPDRs*entriesPerPDR))},
	}
	if err := spec.LoadAndAssign(&d.objs, &copts); err != nil {
		var ve *ebpf.VerifierError
		if errors.As(err, &ve) {
			return nil, fmt.Errorf("load pipeline: %+v", ve)
		}
		if errors.Is(err, ebpf.ErrMapIncompatible) {
			return nil, fmt.Errorf("%w: %v", ErrIncompatiblePins, err)
		}
		return nil, fmt.Errorf("load pipeline: %w", err)
	}
	stages := map[linxStage]*ebpf.Program{
		linxStageSTAGE_CLASSIFY:  d.objs.LinxClassify,
		linxStageSTAGE_FORWARD:   d.objs.LinxForward,
		linxStageSTAGE_ENCAP:     d.objs.LinxEncap,
		linxStageSTAGE_CLASSIFY6: d.objs.LinxClassify6,
		linxStageSTAGE_ENCAP6:    d.objs.LinxEncap6,
		linxStageSTAGE_ENCAP_U6:  d.objs.LinxEncapU6,
		linxStageSTAGE_ENCAP6U6:  d.objs.LinxEncap6U6,
		linxStageSTAGE_DECAP6:    d.objs.LinxDecap6,
	}
	for s, p := range stages {
		if err := d.objs.Stages.Put(s, p); err != nil {
			d.objs.Close()
			return nil, fmt.Errorf("install stage %d: %w", s, err)
		}
	}
	if opts.PinDir != "" {
		if err := d.pinStages(); err != nil {
			d.objs.Close()
			return nil, err
		}
	}
	if err := d.objs.PdrTupleSlot.Lookup(uint32(0), &d.slot); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("read tuple slot: %w", err)
	}
	if err := d.objs.Pdr6TupleSlot.Lookup(uint32(0), &d.slot6); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("read pdr6 tuple slot: %w", err)
	}
	if err := d.objs.PdrGen.Lookup(uint32(0), &d.gen); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("read classifier generation: %w", err)
	}
	if opts.PinDir != "" {
		if err := d.readBloom(); err != nil {
			d.objs.Close()
			return nil, err
		}
	}
	if err := d.objs.NhGen.Lookup(uint32(0), &d.nhGen); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("read next-hop generation: %w", err)
	}
	// A pinned default (a running pipeline's) stays until Restore says otherwise.
	var miss linxFar
	if err := d.objs.PdrMiss.Lookup(uint32(0), &miss); err != nil {
		if err := d.writeMiss(dataplane.FAR{Action: dataplane.ActPass}); err != nil {
			d.objs.Close()
			return nil, err
		}
	}
	if d.ring, err = ringbuf.NewReader(d.objs.Punts); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("open punt ring: %w", err)
	}
	if d.probeRing, err = ringbuf.NewReader(d.objs.ProbeReplies); err != nil {
		d.ring.Close()
		d.objs.Close()
		return nil, fmt.Errorf("open probe reply ring: %w", err)
	}
	if d.packetFD, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
		d.probeRing.Close()
		d.ring.Close()
		d.objs.Close()
		return nil, fmt.Errorf("open packet socket for PacketOut: %w", err)
	}
	if d.rawFD, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
		unix.Close(d.packetFD)
		d.probeRing.Close()
		d.ring.Close()
		d.objs.Close()
		return nil, fmt.Errorf("open raw socket for probes: %w", err)
	}
	if d.raw6FD, err = unix.Socket(unix.AF_INET6, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_RAW); err != nil {
		unix.Close(d.rawFD)
		unix.Close(d.packetFD)
		d.probeRing.Close()
		d.ring.Close()
		d.objs.Close()
		return nil, fmt.Errorf("open IPv6 raw socket for probes: %w", err)
	}
	if err := d.startNexthops(); err != nil {
		unix.Close(d.raw6FD)
		unix.Close(d.rawFD)
		unix.Close(d.packetFD)
		d.probeRing.Close()
		d.ring.Close()
		d.objs.Close()
		return nil, err
	}
	d.wg.Add(2)
	go d.readPunts()
	go d.readProbeReplies()
	return d, nil
}

// sizedSpec is the pipeline's collection spec with the table sizes of opts,
// whose defaults the caller has filled in.
func sizedSpec(opts dataplane.Options) (*ebpf.CollectionSpec, error) {
	spec, err := loadLinx()
	if err != nil {
		return nil, fmt.Errorf("load pipeline spec: %w", err)
	}
	sizes := map[string]int{
		linxMapPorts: opts.MaxPorts, linxMapPortIfindex: opts.MaxPorts, linxMapTxPorts: opts.MaxPorts,
		linxMapPortDown: opts.MaxPorts, linxMapPortAddrs6: opts.MaxPorts,
		linxMapPortCounters: opts.MaxPorts,
		linxMapPdrEntries:   opts.MaxPDRs * entriesPerPDR, linxMapPdrRules: opts.MaxPDRs + 1,
		linxMapPdrCounters: opts.MaxPDRs + 1,
		linxMapFars:        opts.MaxFARs, linxMapLbrs: opts.MaxLBRs,
		linxMapTunnels: opts.MaxTunnels, linxMapTunnelCounters: opts.MaxTunnels,
		linxMapTunnelTerms: opts.MaxTerms, linxMapTunnelLocals: opts.MaxTerms,
		linxMapTunnels6: opts.MaxTunnels, linxMapTunnelTerms6: opts.MaxTerms, linxMapTunnelLocals6: opts.MaxTerms,
		linxMapPortAddrs4: opts.MaxPorts,
		linxMapFlowCache:  flowCacheSets(opts.FlowCacheSize), linxMapFlow6Cache: flowCacheSets(opts.FlowCacheSize),
		linxMapPdr6Entries: opts.MaxPDRs * entriesPerPDR,
		linxMapPdrBloom:    bloomWords(opts.MaxPDRs * entriesPerPDR),
		// Whatever the mode, so that pins survive a change of it.
		linxMapStampSessions: opts.MaxTunnels * stampDSCPs,
		linxMapStampBuckets:  opts.MaxTunnels,
		linxMapMeters:        2 * opts.MaxMeters, linxMapMeterCounters: 2 * opts.MaxMeters,
		linxMapFarQos:    opts.MaxMeters,
		linxMapPdrMeters: opts.MaxPDRs + 1, linxMapPdrMeterCounters: opts.MaxPDRs + 1,
	}
	if opts.StatefulReflector {
		if err := spec.Variables["stamp_stateful"].Set(uint8(1)); err != nil {
			return nil, fmt.Errorf("make the reflector stateful: %w", err)
		}
	}
	rate, burst := uint64(opts.ReflectorRate), uint64(opts.ReflectorBurst)
	capacity := burst * 1e9 // METER_NS
	for name, v := range map[string]uint64{"stamp_rate": rate, "stamp_cap": capacity, "stamp_fill": (capacity + rate - 1) / rate} {
		if err := spec.Variables[name].Set(v); err != nil {
			return nil, fmt.Errorf("set the reflector's rate (%s): %w", name, err)
		}
	}
	if err := spec.Variables["pdr_bloom_mask"].Set(uint32(bloomWords(opts.MaxPDRs*entriesPerPDR)*64 - 1)); err != nil {
		return nil, fmt.Errorf("size pdr filter: %w", err)
	}
	if err := spec.Variables["max_meters"].Set(uint32(opts.MaxMeters)); err != nil {
		return nil, fmt.Errorf("size meters: %w", err)
	}
	if opts.FlowCacheSize < 0 {
		if err := spec.Variables["flow_cache_off"].Set(uint8(1)); err != nil {
			return nil, fmt.Errorf("disable flow cache: %w", err)
		}
	}
	if err := spec.Variables["flow_cache_mask"].Set(uint32(flowCacheSets(opts.FlowCacheSize) - 1)); err != nil {
		return nil, fmt.Errorf("size flow cache: %w", err)
	}
	for name, n := range sizes {
		spec.Maps[name].MaxEntries = uint32(n)
	}
	if n := spec.Maps[linxMapPortByIfindex].MaxEntries; n != portIfindexDirect {
		return nil, fmt.Errorf("PORT_IFINDEX_DIRECT is %d in C, %d in Go", n, portIfindexDirect)
	}
	if n := spec.Maps[linxMapNonIpRules].MaxEntries; n != dataplane.MaxNonIPRules {
		return nil, fmt.Errorf("MAX_NON_IP_RULES is %d in C, %d in Go", n, dataplane.MaxNonIPRules)
	}
	return spec, nil
}

// flowCacheSets is the number of 2-way sets of the flow cache for size entries
// per CPU: size rounded up to a power of two (at least 2), halved. Negative
// (off): one set, never used.
func flowCacheSets(size int) int {
	if size < 0 {
		return 1
	}
	n := 2
	for n < size && n < 1<<30 {
		n <<= 1
	}
	return n / 2
}

// stampDSCPs is the number of stateful reflector sessions per tunnel: one per
// DSCP (stamp_sessions in bpf/maps.h).
const stampDSCPs = 64

// entriesPerPDR is the average number of classifier entries budgeted per rule
// (port ranges expand into prefixes).
const entriesPerPDR = 4

// Close detaches every port and releases the pipeline. Pinned maps stay pinned
// (RemovePins removes them). With Options.LeaveRunning the ports stay attached
// instead: their pinned links keep the pipeline forwarding after the process is
// gone, for the next Load to take over.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	var errs []error
	for id := range d.ports {
		if d.opts.LeaveRunning {
			errs = append(errs, d.links[id].Close()) // pinned: stays attached
			continue
		}
		errs = append(errs, d.detachLocked(id))
	}
	d.mu.Unlock()
	d.stopNexthops()
	errs = append(errs, d.ring.Close(), d.probeRing.Close())
	d.wg.Wait()
	if d.nh != nil {
		d.nh.close()
	}
	errs = append(errs, unix.Close(d.packetFD), unix.Close(d.rawFD), unix.Close(d.raw6FD), d.objs.Close())
	return errors.Join(errs...)
}
