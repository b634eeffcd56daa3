package dataplane

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"sync"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// EBPF is the data path in the kernel: the XDP pipeline of bpf/linx.c. Load it with
// Load, attach it to ports, then program it. All methods are safe for concurrent
// use; one mutex serialises updates (the kernel maps are the shared state and the
// classifier's bookkeeping must follow them exactly).
type EBPF struct {
	mu    sync.Mutex
	opts  Options
	objs  linxObjects
	links map[PortID]link.Link
	ports map[PortID]PortInfo

	cls     *classifier
	gen     uint32 // classifier generation: flow-cache entries of older ones are stale
	slot    uint32 // live slot of pdr_tuple_list
	nextPDR PDRID
	freePDR []PDRID
	ident   map[pdrIdentity]PDRID // match+priority → rule: P4Runtime's entry key
	fars    map[FARID]FAR
	lbrs    map[LBRID][]LBRMember
	tunnels map[TunnelID]Tunnel
	terms   map[TunnelTerm]TunnelID
	locals  map[netipAddr4]int
	nonIP   map[uint16]NonIPAction // by EtherType, host order

	punts    chan Punt
	ring     *ringbuf.Reader
	packetFD int
	closed   bool
	wg       sync.WaitGroup

	// Hitless restart (pin.go).
	stagesPin string   // this Load's pinned stage array
	oldStages []string // stage arrays of earlier loads, removed by ReleaseStale
	restored  bool     // Restore ran
	takenOver map[PortID]bool
}

type netipAddr4 = uint32

var _ Dataplane = (*EBPF)(nil)

// Load loads the pipeline into the kernel with tables sized by opts. Nothing is
// attached yet.
func Load(opts Options) (*EBPF, error) {
	opts = opts.WithDefaults()
	if err := checkABI(); err != nil {
		return nil, err
	}
	spec, err := sizedSpec(opts)
	if err != nil {
		return nil, err
	}
	var copts ebpf.CollectionOptions
	if opts.LeaveRunning && opts.PinDir == "" {
		return nil, fmt.Errorf("%w: LeaveRunning needs a PinDir", ErrInvalid)
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
	d := &EBPF{
		opts:    opts,
		links:   map[PortID]link.Link{},
		ports:   map[PortID]PortInfo{},
		cls:     newClassifier(int(len(linxPdrTuples{}.T)), opts.MaxPDRs*entriesPerPDR),
		nextPDR: 1,
		ident:   map[pdrIdentity]PDRID{},
		fars:    map[FARID]FAR{},
		lbrs:    map[LBRID][]LBRMember{},
		tunnels: map[TunnelID]Tunnel{},
		terms:   map[TunnelTerm]TunnelID{},
		locals:  map[uint32]int{},
		nonIP:   map[uint16]NonIPAction{},
		punts:   make(chan Punt, 256),
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
		linxStageSTAGE_CLASSIFY: d.objs.LinxClassify,
		linxStageSTAGE_FORWARD:  d.objs.LinxForward,
		linxStageSTAGE_BALANCE:  d.objs.LinxBalance,
		linxStageSTAGE_ENCAP:    d.objs.LinxEncap,
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
	if err := d.objs.PdrGen.Lookup(uint32(0), &d.gen); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("read classifier generation: %w", err)
	}
	// A pinned default (a running pipeline's) stays until Restore says otherwise.
	var miss linxFar
	if err := d.objs.PdrMiss.Lookup(uint32(0), &miss); err != nil {
		if err := d.writeMiss(FAR{Action: ActPass}); err != nil {
			d.objs.Close()
			return nil, err
		}
	}
	if d.ring, err = ringbuf.NewReader(d.objs.Punts); err != nil {
		d.objs.Close()
		return nil, fmt.Errorf("open punt ring: %w", err)
	}
	if d.packetFD, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
		d.ring.Close()
		d.objs.Close()
		return nil, fmt.Errorf("open packet socket for PacketOut: %w", err)
	}
	d.wg.Add(1)
	go d.readPunts()
	return d, nil
}

// sizedSpec is the pipeline's collection spec with the table sizes of opts
// (defaults filled in).
func sizedSpec(opts Options) (*ebpf.CollectionSpec, error) {
	opts = opts.WithDefaults()
	spec, err := loadLinx()
	if err != nil {
		return nil, fmt.Errorf("load pipeline spec: %w", err)
	}
	sizes := map[string]int{
		linxMapPorts: opts.MaxPorts, linxMapPortIfindex: opts.MaxPorts, linxMapTxPorts: opts.MaxPorts,
		linxMapPortDown:     opts.MaxPorts,
		linxMapPortCounters: opts.MaxPorts,
		linxMapPdrEntries:   opts.MaxPDRs * entriesPerPDR, linxMapPdrRules: opts.MaxPDRs,
		linxMapPdrCounters: opts.MaxPDRs + 1,
		linxMapFars:        opts.MaxFARs, linxMapLbrs: opts.MaxLBRs,
		linxMapTunnels: opts.MaxTunnels, linxMapTunnelCounters: opts.MaxTunnels,
		linxMapTunnelTerms: opts.MaxTerms, linxMapTunnelLocals: opts.MaxTerms,
		linxMapFlowCache: opts.FlowCacheSize,
	}
	if opts.FlowCacheSize < 0 {
		sizes[linxMapFlowCache] = 1
		if err := spec.Variables["flow_cache_off"].Set(uint8(1)); err != nil {
			return nil, fmt.Errorf("disable flow cache: %w", err)
		}
	}
	for name, n := range sizes {
		spec.Maps[name].MaxEntries = uint32(n)
	}
	if n := spec.Maps[linxMapNonIpRules].MaxEntries; n != MaxNonIPRules {
		return nil, fmt.Errorf("MAX_NON_IP_RULES is %d in C, %d in Go", n, MaxNonIPRules)
	}
	return spec, nil
}

// entriesPerPDR is the average number of classifier entries budgeted per rule
// (port ranges expand into prefixes).
const entriesPerPDR = 4

// checkABI proves the Go constants agree with the C ones.
func checkABI() error {
	if n := len(linxLbr{}.Slots); n != LBRSlots {
		return fmt.Errorf("LBR_SLOTS is %d in C, %d in Go", n, LBRSlots)
	}
	if n := len(linxLbr{}.Members); n != MaxLBRMembers {
		return fmt.Errorf("MAX_LBR_MEMBERS is %d in C, %d in Go", n, MaxLBRMembers)
	}
	if n := len(linxPuntRecord{}.Data); n != MaxPuntBytes {
		return fmt.Errorf("MAX_PUNT_BYTES is %d in C, %d in Go", n, MaxPuntBytes)
	}
	return nil
}

func (d *EBPF) readPunts() {
	defer d.wg.Done()
	defer close(d.punts)
	for {
		rec, err := d.ring.Read()
		if err != nil {
			return // closed
		}
		var r linxPuntRecord
		if len(rec.RawSample) < int(unsafe.Offsetof(r.Data)) {
			continue
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&r)), unsafe.Sizeof(r)), rec.RawSample)
		n := min(int(r.CapLen), len(r.Data))
		p := Punt{Port: PortID(r.Port), Packet: append([]byte(nil), r.Data[:n]...), Length: int(r.Len)}
		select {
		case d.punts <- p:
		default: // nobody listening fast enough: the controller loses this one
		}
	}
}

// Punts delivers packets punted to the controller; closed by Close.
func (d *EBPF) Punts() <-chan Punt { return d.punts }

// Attach puts the pipeline on ifname. LAN ports also get accept_local=1: when an
// overlay's underlay neighbour is not resolved yet, the encapsulated packet is
// handed to the kernel, whose forwarding path then resolves it (ARP).
func (d *EBPF) Attach(ifname string, id PortID, role Role, mode XDPMode) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id == 0 || int(id) >= d.opts.MaxPorts {
		return fmt.Errorf("%w: port %d outside 1..%d", ErrInvalid, id, d.opts.MaxPorts-1)
	}
	if role != RoleLAN && role != RoleWAN {
		return fmt.Errorf("%w: role %d", ErrInvalid, role)
	}
	if _, ok := d.ports[id]; ok {
		return fmt.Errorf("%w: port %d", ErrExists, id)
	}
	for _, p := range d.ports {
		if p.Name == ifname {
			return fmt.Errorf("%w: interface %s is port %d", ErrExists, ifname, p.ID)
		}
	}
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("find interface %s: %w", ifname, err)
	}
	ifindex := l.Attrs().Index
	if role == RoleLAN {
		if err := writeSysctl("net/ipv4/conf/"+ifname+"/accept_local", "1"); err != nil {
			return err
		}
	}
	key := uint32(ifindex)
	if err := d.objs.Ports.Put(key, linxPortInfo{Port: uint16(id), Role: uint8(role)}); err != nil {
		return fmt.Errorf("register port %d: %w", id, err)
	}
	if err := d.objs.TxPorts.Put(key, key); err != nil {
		d.objs.Ports.Delete(key)
		return fmt.Errorf("register port %d as redirect target: %w", id, err)
	}
	if err := d.objs.PortIfindex.Put(uint32(id), key); err != nil {
		d.objs.Ports.Delete(key)
		d.objs.TxPorts.Delete(key)
		return fmt.Errorf("register port %d ifindex: %w", id, err)
	}
	// A port an earlier process left running is taken over: its link swaps in
	// this load's program atomically, and its counters go on counting.
	xl := d.pinnedLink(ifname, l, mode)
	tookOver := xl != nil
	if tookOver {
		if err := xl.Update(d.objs.LinxXdp); err != nil {
			xl.Close()
			return fmt.Errorf("take over XDP link of %s: %w", ifname, err)
		}
	} else {
		d.zeroPortCounter(id)
		flags := link.XDPDriverMode
		if mode == XDPGeneric {
			flags = link.XDPGenericMode
		}
		xl, err = link.AttachXDP(link.XDPOptions{Program: d.objs.LinxXdp, Interface: ifindex, Flags: flags})
		if err == nil {
			if err = d.pinLink(ifname, xl); err != nil {
				xl.Close()
			}
		}
		if err != nil {
			d.objs.Ports.Delete(key)
			d.objs.TxPorts.Delete(key)
			d.objs.PortIfindex.Put(uint32(id), uint32(0))
			return fmt.Errorf("attach XDP to %s (mode %v): %w", ifname, mode, err)
		}
	}
	d.links[id] = xl
	if d.takenOver == nil {
		d.takenOver = map[PortID]bool{}
	}
	d.takenOver[id] = tookOver
	d.ports[id] = PortInfo{ID: id, Name: ifname, Ifindex: ifindex, Role: role, Mode: mode}
	return nil
}

func (m XDPMode) String() string {
	if m == XDPGeneric {
		return "generic"
	}
	return "native"
}

func writeSysctl(path, val string) error {
	if err := os.WriteFile(filepath.Join("/proc/sys", path), []byte(val), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s: %w", path, err)
	}
	return nil
}

// Detach removes the pipeline from a port.
func (d *EBPF) Detach(id PortID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.detachLocked(id)
}

func (d *EBPF) detachLocked(id PortID) error {
	p, ok := d.ports[id]
	if !ok {
		return fmt.Errorf("%w: port %d", ErrNotFound, id)
	}
	var errs []error
	if d.opts.PinDir != "" {
		if err := d.links[id].Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("unpin XDP link of %s: %w", p.Name, err))
		}
	}
	if err := d.links[id].Close(); err != nil {
		errs = append(errs, fmt.Errorf("detach XDP from %s: %w", p.Name, err))
	}
	key := uint32(p.Ifindex)
	d.objs.PortIfindex.Put(uint32(id), uint32(0))
	d.objs.TxPorts.Delete(key)
	d.objs.Ports.Delete(key)
	delete(d.links, id)
	delete(d.ports, id)
	return errors.Join(errs...)
}

// Ports lists the attached ports by id.
func (d *EBPF) Ports() []PortInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return sortedPorts(d.ports)
}

// InsertPDR installs one rule.
func (d *EBPF) InsertPDR(p PDR) (PDRID, error) {
	ids, err := d.InsertPDRs([]PDR{p})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

// InsertPDRs installs rules in one batch: each rule becomes live atomically (the
// batch as a whole does not). Either every rule is installed or none.
func (d *EBPF) InsertPDRs(ps []PDR) ([]PDRID, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, p := range ps {
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("pdr %d of batch: %w", i, err)
		}
	}
	if len(d.cls.rules)+len(ps) > d.opts.MaxPDRs {
		return nil, fmt.Errorf("%w: %d PDRs installed, capacity %d", ErrFull, len(d.cls.rules), d.opts.MaxPDRs)
	}
	batch := make(map[pdrIdentity]bool, len(ps))
	ins := make(map[PDRID]PDR, len(ps))
	ids := make([]PDRID, len(ps))
	for i, p := range ps {
		k := identity(p)
		if _, ok := d.ident[k]; ok || batch[k] {
			d.releaseIDs(ids[:i])
			return nil, fmt.Errorf("%w: pdr with this match and priority %d", ErrExists, p.Priority)
		}
		batch[k] = true
		ids[i] = d.allocPDR()
		ins[ids[i]] = p
	}
	pl, err := d.cls.update(ins, nil)
	if err != nil {
		d.releaseIDs(ids)
		return nil, err
	}
	if err := d.resetPDRCounters(ids); err != nil {
		d.cls.update(nil, ids) // forget the plan: nothing reached the classifier maps
		d.releaseIDs(ids)
		return nil, err
	}
	if err := d.apply(pl); err != nil {
		// Undo what reached the kernel; the rules never became live unless the
		// commit itself failed part-way.
		if undo, uerr := d.cls.update(nil, ids); uerr == nil {
			d.apply(undo)
		}
		d.releaseIDs(ids)
		return nil, err
	}
	for i, p := range ps {
		d.ident[identity(p)] = ids[i]
	}
	return ids, nil
}

type pdrIdentity struct {
	m    PDRMatch
	prio uint32
}

func identity(p PDR) pdrIdentity { return pdrIdentity{p.Match, p.Priority} }

func (d *EBPF) allocPDR() PDRID {
	if n := len(d.freePDR); n > 0 {
		id := d.freePDR[n-1]
		d.freePDR = d.freePDR[:n-1]
		return id
	}
	id := d.nextPDR
	d.nextPDR++
	return id
}

func (d *EBPF) releaseIDs(ids []PDRID) {
	for _, id := range ids {
		if id != 0 {
			d.freePDR = append(d.freePDR, id)
		}
	}
}

// ModifyPDR points a rule at another FAR with one atomic map write.
func (d *EBPF) ModifyPDR(id PDRID, far FARID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.cls.rules[id]
	if !ok {
		return fmt.Errorf("%w: pdr %d", ErrNotFound, id)
	}
	if err := d.objs.PdrRules.Put(uint32(id), linxPdrRule{FarId: uint32(far), Priority: r.pdr.Priority}); err != nil {
		return fmt.Errorf("modify pdr %d: %w", id, err)
	}
	r.pdr.FAR = far
	return d.bumpGen()
}

// DeletePDR removes a rule; it stops matching with one map write.
func (d *EBPF) DeletePDR(id PDRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.cls.rules[id]
	if !ok {
		return fmt.Errorf("%w: pdr %d", ErrNotFound, id)
	}
	k := identity(r.pdr)
	pl, err := d.cls.update(nil, []PDRID{id})
	if err != nil {
		return err
	}
	delete(d.ident, k)
	d.freePDR = append(d.freePDR, id)
	return d.apply(pl)
}

// apply performs a plan's map operations in their safe order.
func (d *EBPF) apply(p *plan) error {
	if err := d.writeEntries(p.writesA); err != nil {
		return err
	}
	if p.tuplesA != nil {
		if err := d.writeTuples(p.tuplesA); err != nil {
			return err
		}
	}
	if len(p.commit) > 0 {
		keys := make([]uint32, len(p.commit))
		vals := make([]linxPdrRule, len(p.commit))
		for i, id := range p.commit {
			r := d.cls.rules[id]
			keys[i] = uint32(id)
			vals[i] = linxPdrRule{FarId: uint32(r.pdr.FAR), Priority: r.pdr.Priority}
		}
		if err := batchPut(d.objs.PdrRules, keys, vals); err != nil {
			return fmt.Errorf("commit pdrs: %w", err)
		}
	}
	for _, id := range p.retire {
		if err := d.objs.PdrRules.Delete(uint32(id)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("retire pdr %d: %w", id, err)
		}
	}
	if len(p.commit)+len(p.retire) > 0 {
		if err := d.bumpGen(); err != nil {
			return err
		}
	}
	if err := d.writeEntries(p.writesC); err != nil {
		return err
	}
	for _, k := range p.deletesC {
		if err := d.objs.PdrEntries.Delete(kernelKey(k)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("delete pdr entry: %w", err)
		}
	}
	if p.tuplesC != nil {
		return d.writeTuples(p.tuplesC)
	}
	return nil
}

// bumpGen invalidates every flow-cache entry: called once the rule change that
// makes them stale is committed. Packets then classify afresh.
func (d *EBPF) bumpGen() error {
	if err := d.objs.PdrGen.Put(uint32(0), d.gen+1); err != nil {
		return fmt.Errorf("bump classifier generation: %w", err)
	}
	d.gen++
	return nil
}

func (d *EBPF) writeEntries(ws []entryWrite) error {
	if len(ws) == 0 {
		return nil
	}
	keys := make([]linxPdrKey, len(ws))
	vals := make([]linxPdrEntry, len(ws))
	for i, w := range ws {
		keys[i] = kernelKey(w.key)
		vals[i] = linxPdrEntry{Rule: [2]uint32{uint32(w.val[0]), uint32(w.val[1])}}
	}
	if err := batchPut(d.objs.PdrEntries, keys, vals); err != nil {
		if errors.Is(err, unix.E2BIG) || errors.Is(err, unix.ENOSPC) {
			return fmt.Errorf("%w: pdr entries: %v", ErrFull, err)
		}
		return fmt.Errorf("write pdr entries: %w", err)
	}
	return nil
}

// batchPut writes keys/values with one syscall per 4096 entries, falling back to
// single updates where the kernel has no batch support for the map type.
func batchPut[K, V any](m *ebpf.Map, keys []K, vals []V) error {
	if len(keys) == 1 {
		return m.Put(keys[0], vals[0])
	}
	for i := 0; i < len(keys); i += 4096 {
		j := min(i+4096, len(keys))
		if _, err := m.BatchUpdate(keys[i:j], vals[i:j], nil); err != nil {
			if !errors.Is(err, ebpf.ErrNotSupported) {
				return err
			}
			for k := i; k < j; k++ {
				if err := m.Put(keys[k], vals[k]); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (d *EBPF) writeTuples(rows []tupleRow) error {
	var t linxPdrTuples
	t.N = uint32(len(rows))
	for i, r := range rows {
		t.T[i] = linxPdrTuple{Mask: kernelKey(entryKey{r.id, r.mask}), MaxPrio: r.maxPrio}
	}
	next := (d.slot + 1) % uint32(d.objs.PdrTupleList.MaxEntries())
	if err := d.objs.PdrTupleList.Put(next, &t); err != nil {
		return fmt.Errorf("write pdr tuples: %w", err)
	}
	if err := d.objs.PdrTupleSlot.Put(uint32(0), next); err != nil {
		return fmt.Errorf("publish pdr tuples: %w", err)
	}
	d.slot = next
	return nil
}

// kernelKey converts to the C layout: addresses and ports in network order.
func kernelKey(k entryKey) linxPdrKey {
	return linxPdrKey{
		Tuple: k.tuple, Src: hton32(k.val.src), Dst: hton32(k.val.dst),
		Sport: hton16(k.val.sport), Dport: hton16(k.val.dport),
		InPort: k.val.inPort, Proto: k.val.proto, DscpDir: k.val.dscpDir,
	}
}

// hton32 returns the integer whose in-memory (little-endian) bytes are v in
// network order. linx's BPF objects are built for little-endian targets only.
func hton32(v uint32) uint32 { return bits.ReverseBytes32(v) }
func hton16(v uint16) uint16 { return bits.ReverseBytes16(v) }

// SetPDRDefault sets the FAR of packets matching no PDR.
func (d *EBPF) SetPDRDefault(f FAR) error {
	if err := f.Validate(d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writeMiss(f)
}

func (d *EBPF) writeMiss(f FAR) error {
	if err := d.objs.PdrMiss.Put(uint32(0), kernelFAR(f)); err != nil {
		return fmt.Errorf("set pdr default: %w", err)
	}
	return nil
}

func kernelFAR(f FAR) linxFar {
	k := linxFar{Action: uint8(f.Action), Port: uint16(f.Port)}
	switch f.Action {
	case ActEncap:
		k.Arg = uint32(f.Tunnel)
	case ActBalance:
		k.Arg = uint32(f.LBR)
	}
	return k
}

// PDRCounter reads a rule's packets and bytes.
func (d *EBPF) PDRCounter(id PDRID) (Counter, error) {
	d.mu.Lock()
	_, ok := d.cls.rules[id]
	d.mu.Unlock()
	if !ok {
		return Counter{}, fmt.Errorf("%w: pdr %d", ErrNotFound, id)
	}
	return d.readCounter(d.objs.PdrCounters, uint32(id))
}

// PDRDefaultCounter counts packets that matched no rule.
func (d *EBPF) PDRDefaultCounter() (Counter, error) {
	return d.readCounter(d.objs.PdrCounters, 0)
}

// ResetPDRCounter zeroes a rule's counter.
func (d *EBPF) ResetPDRCounter(id PDRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.cls.rules[id]; !ok {
		return fmt.Errorf("%w: pdr %d", ErrNotFound, id)
	}
	return d.resetPDRCounter(id)
}

// resetPDRCounters zeroes the counters of rules about to be installed, in batches.
func (d *EBPF) resetPDRCounters(ids []PDRID) error {
	if len(ids) == 1 {
		return d.resetPDRCounter(ids[0])
	}
	ncpu := ebpf.MustPossibleCPU()
	for i := 0; i < len(ids); i += 4096 {
		chunk := ids[i:min(i+4096, len(ids))]
		keys := make([]uint32, len(chunk))
		for j, id := range chunk {
			keys[j] = uint32(id)
		}
		zero := make([]linxCounter, len(chunk)*ncpu)
		if _, err := d.objs.PdrCounters.BatchUpdate(keys, zero, nil); err != nil {
			if !errors.Is(err, ebpf.ErrNotSupported) {
				return fmt.Errorf("reset pdr counters: %w", err)
			}
			for _, id := range chunk {
				if err := d.resetPDRCounter(id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (d *EBPF) resetPDRCounter(id PDRID) error {
	zero := make([]linxCounter, ebpf.MustPossibleCPU())
	if err := d.objs.PdrCounters.Put(uint32(id), zero); err != nil {
		return fmt.Errorf("reset counter of pdr %d: %w", id, err)
	}
	return nil
}

func (d *EBPF) readCounter(m *ebpf.Map, key uint32) (Counter, error) {
	return sumCounter(m, key)
}

// sumCounter sums a per-CPU counter. The key is typed: its size must be the map's.
func sumCounter[K uint16 | uint32](m *ebpf.Map, key K) (Counter, error) {
	var per []linxCounter
	if err := m.Lookup(key, &per); err != nil {
		return Counter{}, fmt.Errorf("read counter %v: %w", key, err)
	}
	var c Counter
	for _, v := range per {
		c.Packets += v.Packets
		c.Bytes += v.Bytes
	}
	return c, nil
}

// SetFAR inserts or replaces a FAR with one atomic map write.
func (d *EBPF) SetFAR(id FARID, f FAR) error {
	if err := f.Validate(d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.fars[id]; !ok && len(d.fars) >= d.opts.MaxFARs {
		return fmt.Errorf("%w: %d FARs", ErrFull, len(d.fars))
	}
	if err := d.objs.Fars.Put(uint32(id), kernelFAR(f)); err != nil {
		return fmt.Errorf("write far %d: %w", id, err)
	}
	d.fars[id] = f
	return nil
}

// DeleteFAR removes a FAR; PDRs still naming it drop with DROP_NO_FAR.
func (d *EBPF) DeleteFAR(id FARID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.fars[id]; !ok {
		return fmt.Errorf("%w: far %d", ErrNotFound, id)
	}
	if err := d.objs.Fars.Delete(uint32(id)); err != nil {
		return fmt.Errorf("delete far %d: %w", id, err)
	}
	delete(d.fars, id)
	return nil
}

// SetLBR inserts or replaces a load-balancing rule: its Maglev table is built here
// and replaces the old one in one map write.
func (d *EBPF) SetLBR(id LBRID, members []LBRMember) error {
	if err := ValidateMembers(members, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.lbrs[id]; !ok && len(d.lbrs) >= d.opts.MaxLBRs {
		return fmt.Errorf("%w: %d LBRs", ErrFull, len(d.lbrs))
	}
	if err := d.objs.Lbrs.Put(uint32(id), kernelLBR(members)); err != nil {
		return fmt.Errorf("write lbr %d: %w", id, err)
	}
	d.lbrs[id] = append([]LBRMember(nil), members...)
	return nil
}

// DeleteLBR removes a load-balancing rule.
func (d *EBPF) DeleteLBR(id LBRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.lbrs[id]; !ok {
		return fmt.Errorf("%w: lbr %d", ErrNotFound, id)
	}
	if err := d.objs.Lbrs.Delete(uint32(id)); err != nil {
		return fmt.Errorf("delete lbr %d: %w", id, err)
	}
	delete(d.lbrs, id)
	return nil
}

// SetTunnel inserts or replaces a GRE overlay (marking it down or up included).
func (d *EBPF) SetTunnel(id TunnelID, t Tunnel) error {
	if err := t.Validate(d.opts.MaxPorts); err != nil {
		return err
	}
	if int(id) >= d.opts.MaxTunnels {
		return fmt.Errorf("%w: tunnel id %d ≥ %d", ErrInvalid, id, d.opts.MaxTunnels)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, exists := d.tunnels[id]
	if !exists && len(d.tunnels) >= d.opts.MaxTunnels {
		return fmt.Errorf("%w: %d tunnels", ErrFull, len(d.tunnels))
	}
	v := kernelTunnel(t)
	if !exists {
		if err := d.zeroTunnelCounter(id); err != nil {
			return err
		}
	}
	if err := d.objs.Tunnels.Put(uint32(id), v); err != nil {
		return fmt.Errorf("write tunnel %d: %w", id, err)
	}
	d.tunnels[id] = t
	return nil
}

// DeleteTunnel removes an overlay; FARs and LBRs naming it drop or skip it.
func (d *EBPF) DeleteTunnel(id TunnelID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tunnels[id]; !ok {
		return fmt.Errorf("%w: tunnel %d", ErrNotFound, id)
	}
	if err := d.objs.Tunnels.Delete(uint32(id)); err != nil {
		return fmt.Errorf("delete tunnel %d: %w", id, err)
	}
	delete(d.tunnels, id)
	d.zeroTunnelCounter(id)
	return nil
}

func (d *EBPF) zeroTunnelCounter(id TunnelID) error {
	zero := make([]linxTunnelStats, ebpf.MustPossibleCPU())
	if err := d.objs.TunnelCounters.Put(uint32(id), zero); err != nil {
		return fmt.Errorf("reset counters of tunnel %d: %w", id, err)
	}
	return nil
}

// TunnelCounter reads an overlay's tx and rx.
func (d *EBPF) TunnelCounter(id TunnelID) (TunnelCounters, error) {
	d.mu.Lock()
	_, ok := d.tunnels[id]
	d.mu.Unlock()
	if !ok {
		return TunnelCounters{}, fmt.Errorf("%w: tunnel %d", ErrNotFound, id)
	}
	var per []linxTunnelStats
	if err := d.objs.TunnelCounters.Lookup(uint32(id), &per); err != nil {
		return TunnelCounters{}, fmt.Errorf("read counters of tunnel %d: %w", id, err)
	}
	var c TunnelCounters
	for _, v := range per {
		c.TX.Packets += v.Tx.Packets
		c.TX.Bytes += v.Tx.Bytes
		c.RX.Packets += v.Rx.Packets
		c.RX.Bytes += v.Rx.Bytes
	}
	return c, nil
}

// SetTunnelTerm makes GRE from term.Remote to term.Local (with term.Key) decapsulate
// as tunnel id.
func (d *EBPF) SetTunnelTerm(term TunnelTerm, id TunnelID) error {
	if err := term.Validate(); err != nil {
		return err
	}
	if err := ValidateTunnelID(id, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, exists := d.terms[term]
	if !exists && len(d.terms) >= d.opts.MaxTerms {
		return fmt.Errorf("%w: %d tunnel terminations", ErrFull, len(d.terms))
	}
	local := IPv4(term.Local)
	if !exists {
		// The local address first: a GRE packet to it that no termination matches
		// yet is dropped as spoofed, which is what it is until the next write.
		if err := d.objs.TunnelLocals.Put(hton32(local), uint32(d.locals[local]+1)); err != nil {
			return fmt.Errorf("register local tunnel address %s: %w", term.Local, err)
		}
	}
	if err := d.objs.TunnelTerms.Put(kernelTerm(term), uint32(id)); err != nil {
		if !exists {
			d.putLocal(local, d.locals[local])
		}
		return fmt.Errorf("write tunnel termination: %w", err)
	}
	if !exists {
		d.locals[local]++
	}
	d.terms[term] = id
	return nil
}

func (d *EBPF) putLocal(addr uint32, refs int) {
	if refs == 0 {
		d.objs.TunnelLocals.Delete(hton32(addr))
		return
	}
	d.objs.TunnelLocals.Put(hton32(addr), uint32(refs))
}

// DeleteTunnelTerm stops decapsulating a peer's GRE.
func (d *EBPF) DeleteTunnelTerm(term TunnelTerm) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.terms[term]; !ok {
		return fmt.Errorf("%w: tunnel termination %s→%s key %d", ErrNotFound, term.Remote, term.Local, term.Key)
	}
	if err := d.objs.TunnelTerms.Delete(kernelTerm(term)); err != nil {
		return fmt.Errorf("delete tunnel termination: %w", err)
	}
	local := IPv4(term.Local)
	d.locals[local]--
	d.putLocal(local, d.locals[local])
	if d.locals[local] == 0 {
		delete(d.locals, local)
	}
	delete(d.terms, term)
	return nil
}

// kernelLBR builds a load-balancing rule's map value: members and Maglev table.
func kernelLBR(members []LBRMember) *linxLbr {
	var v linxLbr
	v.N_members = uint32(len(members))
	for i, m := range members {
		v.Members[i] = uint32(m.Tunnel)
	}
	for i, t := range maglevTable(members, LBRSlots) {
		v.Slots[i] = uint32(t)
	}
	return &v
}

func kernelTunnel(t Tunnel) linxTunnel {
	v := linxTunnel{Src: hton32(IPv4(t.Src)), Dst: hton32(IPv4(t.Dst)), Key: hton32(t.Key), Port: uint16(t.Port), Dscp: t.DSCP}
	if t.Key != 0 {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_KEY)
	}
	if t.Down {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_DOWN)
	}
	if t.SetDSCP {
		v.Flags |= uint8(linxTunnelFlagsTUNNEL_F_SET_DSCP)
	}
	return v
}

func kernelTerm(t TunnelTerm) linxTermKey {
	return linxTermKey{Remote: hton32(IPv4(t.Remote)), Local: hton32(IPv4(t.Local)), Key: hton32(t.Key)}
}

// SetNonIPRule inserts or replaces the rule of EtherType ethType with one map
// write. A new rule's counter is zeroed first, so it counts from its first frame.
func (d *EBPF) SetNonIPRule(ethType uint16, a NonIPAction) error {
	if err := ValidateNonIPRule(ethType, a); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, exists := d.nonIP[ethType]
	if !exists {
		if len(d.nonIP) >= MaxNonIPRules {
			return fmt.Errorf("%w: %d non_ip rules", ErrFull, len(d.nonIP))
		}
		if err := d.zeroNonIPCounter(ethType); err != nil {
			return err
		}
	}
	if err := d.objs.NonIpRules.Put(hton16(ethType), linxNonIpRule{Action: uint8(a)}); err != nil {
		return fmt.Errorf("write non_ip rule %#04x: %w", ethType, err)
	}
	d.nonIP[ethType] = a
	return nil
}

// DeleteNonIPRule removes the rule of ethType: its frames pass to the kernel again.
func (d *EBPF) DeleteNonIPRule(ethType uint16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.nonIP[ethType]; !ok {
		return fmt.Errorf("%w: non_ip rule %#04x", ErrNotFound, ethType)
	}
	if err := d.deleteNonIP(ethType); err != nil {
		return err
	}
	delete(d.nonIP, ethType)
	return nil
}

// deleteNonIP removes a rule, then its counter (a frame between the two is
// still counted, into a counter about to go).
func (d *EBPF) deleteNonIP(ethType uint16) error {
	if err := d.objs.NonIpRules.Delete(hton16(ethType)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete non_ip rule %#04x: %w", ethType, err)
	}
	if err := d.objs.NonIpCounters.Delete(hton16(ethType)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete counter of non_ip rule %#04x: %w", ethType, err)
	}
	return nil
}

func (d *EBPF) zeroNonIPCounter(ethType uint16) error {
	zero := make([]linxCounter, ebpf.MustPossibleCPU())
	if err := d.objs.NonIpCounters.Put(hton16(ethType), zero); err != nil {
		return fmt.Errorf("reset counter of non_ip rule %#04x: %w", ethType, err)
	}
	return nil
}

// NonIPCounter reads the packets and bytes the rule of ethType handled.
func (d *EBPF) NonIPCounter(ethType uint16) (Counter, error) {
	d.mu.Lock()
	_, ok := d.nonIP[ethType]
	d.mu.Unlock()
	if !ok {
		return Counter{}, fmt.Errorf("%w: non_ip rule %#04x", ErrNotFound, ethType)
	}
	return sumCounter(d.objs.NonIpCounters, hton16(ethType))
}

// PortCounter reads what XDP saw on a port.
func (d *EBPF) PortCounter(id PortID) (PortCounters, error) {
	d.mu.Lock()
	_, ok := d.ports[id]
	d.mu.Unlock()
	if !ok {
		return PortCounters{}, fmt.Errorf("%w: port %d", ErrNotFound, id)
	}
	var per []linxPortStats
	if err := d.objs.PortCounters.Lookup(uint32(id), &per); err != nil {
		return PortCounters{}, fmt.Errorf("read counters of port %d: %w", id, err)
	}
	var c PortCounters
	for _, v := range per {
		c.RX.Packets += v.Rx.Packets
		c.RX.Bytes += v.Rx.Bytes
		c.TX.Packets += v.Tx.Packets
		c.TX.Bytes += v.Tx.Bytes
	}
	return c, nil
}

func (d *EBPF) zeroPortCounter(id PortID) {
	d.objs.PortCounters.Put(uint32(id), make([]linxPortStats, ebpf.MustPossibleCPU()))
}

// DropCounters returns packets and bytes dropped, per reason (reasons never seen
// are omitted).
func (d *EBPF) DropCounters() (map[DropReason]Counter, error) {
	out := map[DropReason]Counter{}
	for r := 1; r < NumDropReasons; r++ {
		c, err := d.readCounter(d.objs.DropCounters, uint32(r))
		if err != nil {
			return nil, err
		}
		if c.Packets > 0 {
			out[DropReason(r)] = c
		}
	}
	return out, nil
}

// Transmit sends frame out of port (PacketOut) through an AF_PACKET socket: it
// leaves by the interface like any locally sent frame.
func (d *EBPF) Transmit(id PortID, frame []byte) error {
	d.mu.Lock()
	p, ok := d.ports[id]
	d.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: port %d", ErrNotFound, id)
	}
	if len(frame) < 14 {
		return fmt.Errorf("%w: frame of %d bytes", ErrInvalid, len(frame))
	}
	sa := &unix.SockaddrLinklayer{Ifindex: p.Ifindex, Halen: 6}
	copy(sa.Addr[:], frame[:6])
	if err := unix.Sendto(d.packetFD, frame, 0, sa); err != nil {
		return fmt.Errorf("transmit on port %d (%s): %w", id, p.Name, err)
	}
	return nil
}

// Clear removes every rule, FAR, LBR, tunnel, termination and non_ip rule and
// zeroes their counters (the default's too); ports, port and drop counters stay.
func (d *EBPF) Clear() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ids := make([]PDRID, 0, len(d.cls.rules))
	for id := range d.cls.rules {
		ids = append(ids, id)
	}
	if len(ids) > 0 {
		pl, err := d.cls.update(nil, ids)
		if err != nil {
			return err
		}
		if err := d.apply(pl); err != nil {
			return err
		}
	}
	d.freePDR, d.nextPDR = nil, 1
	clear(d.ident)
	var errs []error
	for id := range d.fars {
		errs = append(errs, d.objs.Fars.Delete(uint32(id)))
	}
	for id := range d.lbrs {
		errs = append(errs, d.objs.Lbrs.Delete(uint32(id)))
	}
	for id := range d.tunnels {
		errs = append(errs, d.objs.Tunnels.Delete(uint32(id)), d.zeroTunnelCounter(id))
	}
	for t := range d.terms {
		errs = append(errs, d.objs.TunnelTerms.Delete(kernelTerm(t)))
	}
	for a := range d.locals {
		errs = append(errs, d.objs.TunnelLocals.Delete(hton32(a)))
	}
	for et := range d.nonIP {
		errs = append(errs, d.deleteNonIP(et))
	}
	clear(d.nonIP)
	clear(d.fars)
	clear(d.lbrs)
	clear(d.tunnels)
	clear(d.terms)
	clear(d.locals)
	errs = append(errs, d.writeMiss(FAR{Action: ActPass}), d.resetPDRCounter(0))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clear data path: %w", err)
	}
	return nil
}

// Close detaches every port and releases the pipeline. Pinned maps stay pinned
// (RemovePins removes them). With Options.LeaveRunning the ports stay attached
// instead: their pinned links keep the pipeline forwarding after the process is
// gone, for the next Load to take over.
func (d *EBPF) Close() error {
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
	errs = append(errs, d.ring.Close())
	d.wg.Wait()
	errs = append(errs, unix.Close(d.packetFD), d.objs.Close())
	return errors.Join(errs...)
}
