// Package memdp is an in-memory implementation of dataplane.Dataplane for
// unprivileged tests of the layers above the data path (the P4Runtime and gNMI
// servers). It keeps the tables in Go maps and forwards no packets, but at the API
// level it behaves like the XDP implementation: the same validation, the same
// errors, the same id allocation and capacity limits. Counters stay zero and no
// packet is punted unless a test injects them with the exported hooks (AddPDRCount,
// InjectPunt, ...); frames passed to Transmit are recorded for Transmitted.
package memdp

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/linx-sdwan/linx/dataplane"
)

// PuntBuffer is the capacity of the Punts channel; InjectPunt drops a punt when the
// channel is full, as the real ring buffer does when the agent falls behind.
const PuntBuffer = 256

// Sent is a frame handed to Transmit.
type Sent struct {
	Port  dataplane.PortID
	Frame []byte
}

type pdrKey struct {
	match    dataplane.PDRMatch
	priority uint32
}

// Dataplane is the in-memory data path. Create it with New; it is safe for
// concurrent use.
type Dataplane struct {
	opts dataplane.Options

	mu          sync.Mutex
	ports       map[dataplane.PortID]dataplane.PortInfo
	portDown    map[dataplane.PortID]bool
	nextIfindex int

	pdrs       map[dataplane.PDRID]dataplane.PDR
	pdrByKey   map[pdrKey]dataplane.PDRID
	pdrCount   map[dataplane.PDRID]dataplane.Counter
	ids        dataplane.PDRIDs
	pdrDefault dataplane.FAR
	defCount   dataplane.Counter

	fars        map[dataplane.FARID]dataplane.FAR
	lbrs        map[dataplane.LBRID][]dataplane.LBRMember
	tunnels     map[dataplane.TunnelID]dataplane.Tunnel
	tunCount    map[dataplane.TunnelID]dataplane.TunnelCounters
	terms       map[dataplane.TunnelTerm]dataplane.TunnelID
	nonIP       map[uint16]dataplane.NonIPAction
	nonIPCnt    map[uint16]dataplane.Counter
	portCount   map[dataplane.PortID]dataplane.PortCounters
	drops       map[dataplane.DropReason]dataplane.Counter
	meters      map[dataplane.MeterID]dataplane.MeterConfig
	meterCnt    map[dataplane.MeterID]dataplane.MeterCounters
	qos         map[dataplane.FARID]dataplane.QoSPolicy
	pdrMeters   map[dataplane.PDRID]dataplane.MeterConfig
	pdrMeterCnt map[dataplane.PDRID]dataplane.MeterCounters

	sent    []Sent
	punts   chan dataplane.Punt
	probes  []SentProbe
	replies chan dataplane.ProbeReply
	closed  bool
}

var _ dataplane.Dataplane = (*Dataplane)(nil)

// New returns an empty in-memory data path sized by opts (zero fields take
// dataplane.DefaultOptions). The PDR default action is ActPass, as in the real one.
func New(opts dataplane.Options) *Dataplane {
	d := &Dataplane{
		opts:        opts.WithDefaults(),
		ports:       map[dataplane.PortID]dataplane.PortInfo{},
		portDown:    map[dataplane.PortID]bool{},
		nextIfindex: 1,
		portCount:   map[dataplane.PortID]dataplane.PortCounters{},
		drops:       map[dataplane.DropReason]dataplane.Counter{},
		punts:       make(chan dataplane.Punt, PuntBuffer),
		replies:     make(chan dataplane.ProbeReply, PuntBuffer),
	}
	d.clearLocked()
	return d
}

// clearLocked empties every table and resets the PDR, tunnel and non_ip counters
// and the PDR default action.
func (d *Dataplane) clearLocked() {
	d.pdrs = map[dataplane.PDRID]dataplane.PDR{}
	d.pdrByKey = map[pdrKey]dataplane.PDRID{}
	d.pdrCount = map[dataplane.PDRID]dataplane.Counter{}
	d.ids.Reset(nil)
	d.pdrDefault = dataplane.FAR{Action: dataplane.ActPass}
	d.defCount = dataplane.Counter{}
	d.fars = map[dataplane.FARID]dataplane.FAR{}
	d.lbrs = map[dataplane.LBRID][]dataplane.LBRMember{}
	d.tunnels = map[dataplane.TunnelID]dataplane.Tunnel{}
	d.tunCount = map[dataplane.TunnelID]dataplane.TunnelCounters{}
	d.terms = map[dataplane.TunnelTerm]dataplane.TunnelID{}
	d.nonIP = map[uint16]dataplane.NonIPAction{}
	d.nonIPCnt = map[uint16]dataplane.Counter{}
	d.meters = map[dataplane.MeterID]dataplane.MeterConfig{}
	d.meterCnt = map[dataplane.MeterID]dataplane.MeterCounters{}
	d.qos = map[dataplane.FARID]dataplane.QoSPolicy{}
	d.pdrMeters = map[dataplane.PDRID]dataplane.MeterConfig{}
	d.pdrMeterCnt = map[dataplane.PDRID]dataplane.MeterCounters{}
}

// Options returns the sizes the data path was created with (defaults filled in).
func (d *Dataplane) Options() dataplane.Options { return d.opts }

// Attach records a port; nothing touches the kernel. The port gets a made-up
// ifindex (1, 2, ... in attach order, never reused).
func (d *Dataplane) Attach(ifname string, id dataplane.PortID, role dataplane.Role, mode dataplane.XDPMode) error {
	if ifname == "" {
		return fmt.Errorf("%w: empty interface name", dataplane.ErrInvalid)
	}
	if err := dataplane.ValidatePortID(id, d.opts.MaxPorts); err != nil {
		return err
	}
	if role != dataplane.RoleLAN && role != dataplane.RoleWAN {
		return fmt.Errorf("%w: unknown port role %v", dataplane.ErrInvalid, role)
	}
	if mode != dataplane.XDPNative && mode != dataplane.XDPGeneric {
		return fmt.Errorf("%w: unknown xdp mode %d", dataplane.ErrInvalid, mode)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if p, ok := d.ports[id]; ok {
		return fmt.Errorf("%w: port %d is attached to %s", dataplane.ErrExists, id, p.Name)
	}
	for _, p := range d.ports {
		if p.Name == ifname {
			return fmt.Errorf("%w: %s is attached as port %d", dataplane.ErrExists, ifname, p.ID)
		}
	}
	d.ports[id] = dataplane.PortInfo{ID: id, Name: ifname, Ifindex: d.nextIfindex, Role: role, Mode: mode}
	d.nextIfindex++
	return nil
}

// Detach forgets a port and its counters.
func (d *Dataplane) Detach(id dataplane.PortID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ports[id]; !ok {
		return fmt.Errorf("%w: port %d is not attached", dataplane.ErrNotFound, id)
	}
	delete(d.ports, id)
	delete(d.portCount, id)
	return nil
}

// SetPortUp records a port's link state (see PortUp).
func (d *Dataplane) SetPortUp(id dataplane.PortID, up bool) error {
	if err := dataplane.ValidatePortID(id, d.opts.MaxPorts); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.portDown[id] = !up
	return nil
}

// PortUp reports the link state last set for a port (up unless set down).
func (d *Dataplane) PortUp(id dataplane.PortID) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.portDown[id]
}

// Ports returns the attached ports sorted by id.
func (d *Dataplane) Ports() []dataplane.PortInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	ps := slices.Collect(maps.Values(d.ports))
	slices.SortFunc(ps, func(a, b dataplane.PortInfo) int { return int(a.ID) - int(b.ID) })
	return ps
}

// InsertPDR installs a rule under the smallest free id (ids start at 1 and are
// reused after DeletePDR). A rule with the same match and priority is ErrExists;
// MaxPDRs rules installed is ErrFull.
func (d *Dataplane) InsertPDR(p dataplane.PDR) (dataplane.PDRID, error) {
	if err := p.Validate(); err != nil {
		return 0, err
	}
	k := pdrKey{p.Match, p.Priority}
	d.mu.Lock()
	defer d.mu.Unlock()
	if id, ok := d.pdrByKey[k]; ok {
		return 0, fmt.Errorf("%w: pdr %d has the same match and priority", dataplane.ErrExists, id)
	}
	if len(d.pdrs) >= d.opts.MaxPDRs {
		return 0, fmt.Errorf("%w: %d pdrs installed", dataplane.ErrFull, len(d.pdrs))
	}
	id := d.ids.Alloc()
	d.pdrs[id] = p
	d.pdrByKey[k] = id
	d.pdrCount[id] = dataplane.Counter{}
	return id, nil
}

// InsertPDRs installs a batch of rules: all or none.
func (d *Dataplane) InsertPDRs(ps []dataplane.PDR) ([]dataplane.PDRID, error) {
	ids := make([]dataplane.PDRID, 0, len(ps))
	for i, p := range ps {
		id, err := d.InsertPDR(p)
		if err != nil {
			for _, done := range ids {
				d.DeletePDR(done)
			}
			return nil, fmt.Errorf("pdr %d of batch: %w", i, err)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// ModifyPDR points rule id at another FAR; its counter is kept.
func (d *Dataplane) ModifyPDR(id dataplane.PDRID, far dataplane.FARID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.pdrs[id]
	if !ok {
		return pdrNotFound(id)
	}
	p.FAR = far
	d.pdrs[id] = p
	return nil
}

// DeletePDR removes rule id and its counter; the id becomes free for reuse.
func (d *Dataplane) DeletePDR(id dataplane.PDRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.pdrs[id]
	if !ok {
		return pdrNotFound(id)
	}
	delete(d.pdrs, id)
	delete(d.pdrByKey, pdrKey{p.Match, p.Priority})
	delete(d.pdrCount, id)
	delete(d.pdrMeters, id)
	delete(d.pdrMeterCnt, id)
	d.ids.Release(id)
	return nil
}

func pdrNotFound(id dataplane.PDRID) error {
	return fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
}

// SetPDRDefault sets the action for packets that match no rule.
func (d *Dataplane) SetPDRDefault(f dataplane.FAR) error {
	if err := f.Validate(d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pdrDefault = f
	return nil
}

// PDRCounter returns rule id's counter (zero unless injected with AddPDRCount).
func (d *Dataplane) PDRCounter(id dataplane.PDRID) (dataplane.Counter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.pdrCount[id]
	if !ok {
		return dataplane.Counter{}, pdrNotFound(id)
	}
	return c, nil
}

// PDRDefaultCounter returns the counter of packets that matched no rule.
func (d *Dataplane) PDRDefaultCounter() (dataplane.Counter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.defCount, nil
}

// ResetPDRCounter zeroes rule id's counter.
func (d *Dataplane) ResetPDRCounter(id dataplane.PDRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.pdrs[id]; !ok {
		return pdrNotFound(id)
	}
	d.pdrCount[id] = dataplane.Counter{}
	return nil
}

// SetFAR inserts or replaces FAR id.
func (d *Dataplane) SetFAR(id dataplane.FARID, f dataplane.FAR) error {
	if err := f.Validate(d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := checkRoom(d.fars, id, d.opts.MaxFARs, "far"); err != nil {
		return err
	}
	d.fars[id] = f
	return nil
}

// DeleteFAR removes FAR id; rules that name it stay (packets they match are
// dropped by the real data path).
func (d *Dataplane) DeleteFAR(id dataplane.FARID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return deleteEntry(d.fars, id, "far")
}

// SetLBR inserts or replaces LBR id with a copy of members.
func (d *Dataplane) SetLBR(id dataplane.LBRID, members []dataplane.LBRMember) error {
	if err := dataplane.ValidateMembers(members, d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := checkRoom(d.lbrs, id, d.opts.MaxLBRs, "lbr"); err != nil {
		return err
	}
	d.lbrs[id] = slices.Clone(members)
	return nil
}

// DeleteLBR removes LBR id.
func (d *Dataplane) DeleteLBR(id dataplane.LBRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return deleteEntry(d.lbrs, id, "lbr")
}

// SetTunnel inserts or replaces tunnel id; replacing keeps its counters.
func (d *Dataplane) SetTunnel(id dataplane.TunnelID, t dataplane.Tunnel) error {
	if err := dataplane.ValidateTunnelID(id, d.opts.MaxTunnels); err != nil {
		return err
	}
	if err := t.Validate(d.opts.MaxPorts); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := checkRoom(d.tunnels, id, d.opts.MaxTunnels, "tunnel"); err != nil {
		return err
	}
	d.tunnels[id] = t
	return nil
}

// DeleteTunnel removes tunnel id and zeroes its counters.
func (d *Dataplane) DeleteTunnel(id dataplane.TunnelID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := deleteEntry(d.tunnels, id, "tunnel"); err != nil {
		return err
	}
	delete(d.tunCount, id)
	return nil
}

// TunnelCounter returns tunnel id's counters (zero unless injected with
// AddTunnelCount). A tunnel that is not installed is ErrNotFound.
func (d *Dataplane) TunnelCounter(id dataplane.TunnelID) (dataplane.TunnelCounters, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tunnels[id]; !ok {
		return dataplane.TunnelCounters{}, fmt.Errorf("%w: tunnel %d", dataplane.ErrNotFound, id)
	}
	return d.tunCount[id], nil
}

// ListTunnels returns the installed tunnels sorted by id, with their logical
// port numbers.
func (d *Dataplane) ListTunnels() []dataplane.TunnelInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]dataplane.TunnelInfo, 0, len(d.tunnels))
	for id, t := range d.tunnels {
		out = append(out, dataplane.TunnelInfo{ID: id, Tunnel: t, Port: dataplane.TunnelPort(d.opts.MaxPorts, id)})
	}
	slices.SortFunc(out, func(a, b dataplane.TunnelInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// SetTunnelTerm inserts or replaces the termination term, decapsulating onto
// tunnel id.
func (d *Dataplane) SetTunnelTerm(term dataplane.TunnelTerm, id dataplane.TunnelID) error {
	if err := term.Validate(); err != nil {
		return err
	}
	if err := dataplane.ValidateTunnelID(id, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := checkRoom(d.terms, term, d.opts.MaxTerms, "tunnel_term"); err != nil {
		return err
	}
	d.terms[term] = id
	return nil
}

// DeleteTunnelTerm removes the termination term.
func (d *Dataplane) DeleteTunnelTerm(term dataplane.TunnelTerm) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return deleteEntry(d.terms, term, "tunnel_term")
}

// SetNonIPRule inserts or replaces the rule of EtherType ethType; a new rule's
// counter starts at zero, a replaced one keeps it.
func (d *Dataplane) SetNonIPRule(ethType uint16, a dataplane.NonIPAction) error {
	if err := dataplane.ValidateNonIPRule(ethType, a); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := checkRoom(d.nonIP, ethType, dataplane.MaxNonIPRules, "non_ip"); err != nil {
		return err
	}
	if _, ok := d.nonIP[ethType]; !ok {
		d.nonIPCnt[ethType] = dataplane.Counter{}
	}
	d.nonIP[ethType] = a
	return nil
}

// DeleteNonIPRule removes the rule of ethType and its counter.
func (d *Dataplane) DeleteNonIPRule(ethType uint16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := deleteEntry(d.nonIP, ethType, "non_ip"); err != nil {
		return err
	}
	delete(d.nonIPCnt, ethType)
	return nil
}

// NonIPCounter returns the counter of the rule of ethType (zero unless injected
// with AddNonIPCount).
func (d *Dataplane) NonIPCounter(ethType uint16) (dataplane.Counter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.nonIP[ethType]; !ok {
		return dataplane.Counter{}, fmt.Errorf("%w: non_ip rule %#04x", dataplane.ErrNotFound, ethType)
	}
	return d.nonIPCnt[ethType], nil
}

// PortCounter returns port id's counters (zero unless injected with AddPortCount).
// A port that is not attached is ErrNotFound.
func (d *Dataplane) PortCounter(id dataplane.PortID) (dataplane.PortCounters, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ports[id]; !ok {
		return dataplane.PortCounters{}, fmt.Errorf("%w: port %d is not attached", dataplane.ErrNotFound, id)
	}
	return d.portCount[id], nil
}

// DropCounters returns the drop counters injected with AddDrop (reasons never
// injected are absent).
func (d *Dataplane) DropCounters() (map[dataplane.DropReason]dataplane.Counter, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.drops), nil
}

// minFrame is the shortest frame Transmit accepts: an Ethernet header.
const minFrame = 14

// MTU is the MTU of the ports the in-memory data path pretends to have:
// Transmit refuses frames longer than MTU + an Ethernet header, as the kernel
// does (a veth's default MTU).
const MTU = 1500

// Transmit records a copy of frame as sent out of port id.
func (d *Dataplane) Transmit(id dataplane.PortID, frame []byte) error {
	if err := dataplane.ValidateTransmitPort(id, d.opts.MaxPorts); err != nil {
		return err
	}
	if len(frame) < minFrame {
		return fmt.Errorf("%w: frame of %d bytes is shorter than an ethernet header", dataplane.ErrInvalid, len(frame))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ports[id]; !ok {
		return fmt.Errorf("%w: port %d is not attached", dataplane.ErrNotFound, id)
	}
	if len(frame) > MTU+minFrame {
		return fmt.Errorf("%w: frame of %d bytes is longer than port %d takes: %d bytes (MTU %d + %d-byte Ethernet header)",
			dataplane.ErrInvalid, len(frame), id, MTU+minFrame, MTU, minFrame)
	}
	d.sent = append(d.sent, Sent{Port: id, Frame: slices.Clone(frame)})
	return nil
}

// Punts returns the channel InjectPunt delivers on; it is closed by Close.
func (d *Dataplane) Punts() <-chan dataplane.Punt { return d.punts }

// SendProbe records the probe (SentProbes) after the checks the real data path
// makes; GRE adds 4 octets (8 with a key) and the outer IPv4 header 20 (IPv6: 40).
func (d *Dataplane) SendProbe(id dataplane.TunnelID, packet []byte) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.tunnels[id]
	if !ok {
		return fmt.Errorf("%w: tunnel %d", dataplane.ErrNotFound, id)
	}
	overhead := 24
	if t.Key != 0 {
		overhead = 28
	}
	if t.Src.Is6() {
		overhead += 20 // outer IPv6
	}
	if err := dataplane.ValidateProbe(t, packet, MTU-overhead); err != nil {
		return fmt.Errorf("tunnel %d: %w", id, err)
	}
	d.probes = append(d.probes, SentProbe{Tunnel: id, Packet: slices.Clone(packet)})
	return nil
}

// ProbeReplies returns the channel InjectProbeReply delivers on; closed by Close.
func (d *Dataplane) ProbeReplies() <-chan dataplane.ProbeReply { return d.replies }

// Clear removes every PDR, FAR, LBR, tunnel, termination and non_ip rule, resets
// the PDR, tunnel and non_ip counters and sets the PDR default action back to ActPass. Ports, their
// counters, the drop counters and the transmitted frames stay.
func (d *Dataplane) Clear() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clearLocked()
	return nil
}

// Close detaches every port and closes the Punts channel. Calling it again does
// nothing. The tables stay readable and writable.
func (d *Dataplane) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	close(d.punts)
	close(d.replies)
	clear(d.ports)
	clear(d.portCount)
	return nil
}

// checkRoom returns ErrFull if key is new and the table already holds limit entries.
func checkRoom[K comparable, V any](m map[K]V, key K, limit int, table string) error {
	if _, ok := m[key]; !ok && len(m) >= limit {
		return fmt.Errorf("%w: %d %s entries installed", dataplane.ErrFull, len(m), table)
	}
	return nil
}

func deleteEntry[K comparable, V any](m map[K]V, key K, table string) error {
	if _, ok := m[key]; !ok {
		return fmt.Errorf("%w: %s %v", dataplane.ErrNotFound, table, key)
	}
	delete(m, key)
	return nil
}
