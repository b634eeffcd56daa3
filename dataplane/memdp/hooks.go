package memdp

import (
	"fmt"
	"maps"
	"slices"

	"github.com/linx-sdwan/linx/dataplane"
)

// Test hooks: what packets would have done to a real data path, and read-back of
// the tables. Everything returned is a copy.

func addCounter(a, b dataplane.Counter) dataplane.Counter {
	return dataplane.Counter{Packets: a.Packets + b.Packets, Bytes: a.Bytes + b.Bytes}
}

// AddPDRCount adds c to rule id's counter, as if packets had matched it. An id that
// is not installed is ErrNotFound.
func (d *Dataplane) AddPDRCount(id dataplane.PDRID, c dataplane.Counter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	old, ok := d.pdrCount[id]
	if !ok {
		return pdrNotFound(id)
	}
	d.pdrCount[id] = addCounter(old, c)
	return nil
}

// AddPDRDefaultCount adds c to the counter of packets that matched no rule.
func (d *Dataplane) AddPDRDefaultCount(c dataplane.Counter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.defCount = addCounter(d.defCount, c)
}

// AddPortCount adds c to port id's counters. A port that is not attached is
// ErrNotFound.
func (d *Dataplane) AddPortCount(id dataplane.PortID, c dataplane.PortCounters) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.ports[id]; !ok {
		return fmt.Errorf("%w: port %d is not attached", dataplane.ErrNotFound, id)
	}
	old := d.portCount[id]
	d.portCount[id] = dataplane.PortCounters{RX: addCounter(old.RX, c.RX), TX: addCounter(old.TX, c.TX), Drops: addCounter(old.Drops, c.Drops)}
	return nil
}

// AddTunnelCount adds c to tunnel id's counters. A tunnel that is not installed is
// ErrNotFound.
func (d *Dataplane) AddTunnelCount(id dataplane.TunnelID, c dataplane.TunnelCounters) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tunnels[id]; !ok {
		return fmt.Errorf("%w: tunnel %d", dataplane.ErrNotFound, id)
	}
	old := d.tunCount[id]
	d.tunCount[id] = dataplane.TunnelCounters{TX: addCounter(old.TX, c.TX), RX: addCounter(old.RX, c.RX)}
	return nil
}

// AddNonIPCount adds c to the counter of the non_ip rule of ethType, as if
// frames had matched it. A rule that is not installed is ErrNotFound.
func (d *Dataplane) AddNonIPCount(ethType uint16, c dataplane.Counter) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.nonIP[ethType]; !ok {
		return fmt.Errorf("%w: non_ip rule %#04x", dataplane.ErrNotFound, ethType)
	}
	d.nonIPCnt[ethType] = addCounter(d.nonIPCnt[ethType], c)
	return nil
}

// AddDrop adds c to the drop counter of reason.
func (d *Dataplane) AddDrop(reason dataplane.DropReason, c dataplane.Counter) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.drops[reason] = addCounter(d.drops[reason], c)
}

// InjectPunt delivers p on the Punts channel as if a punt FAR (or a non_ip rule)
// had sent it. The
// packet is copied and, like the real data path, truncated to
// dataplane.MaxPuntBytes; a zero Length is set to the packet's length before
// truncation. It reports false, dropping the punt, when the channel is full
// (PuntBuffer punts not yet received) or closed.
func (d *Dataplane) InjectPunt(p dataplane.Punt) bool {
	if p.Length == 0 {
		p.Length = len(p.Packet)
	}
	p.Packet = slices.Clone(p.Packet[:min(len(p.Packet), dataplane.MaxPuntBytes)])
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	select {
	case d.punts <- p:
		return true
	default:
		return false
	}
}

// Transmitted returns the frames passed to Transmit so far, oldest first.
func (d *Dataplane) Transmitted() []Sent {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Sent, len(d.sent))
	for i, s := range d.sent {
		out[i] = Sent{Port: s.Port, Frame: slices.Clone(s.Frame)}
	}
	return out
}

// ResetTransmitted forgets the frames recorded so far.
func (d *Dataplane) ResetTransmitted() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sent = nil
}

// PDRs returns the installed rules by id.
func (d *Dataplane) PDRs() map[dataplane.PDRID]dataplane.PDR {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.pdrs)
}

// PDRDefault returns the action for packets that match no rule.
func (d *Dataplane) PDRDefault() dataplane.FAR {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pdrDefault
}

// FARs returns the installed FARs by id.
func (d *Dataplane) FARs() map[dataplane.FARID]dataplane.FAR {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.fars)
}

// LBRs returns the installed LBRs by id, members in the order they were set.
func (d *Dataplane) LBRs() map[dataplane.LBRID][]dataplane.LBRMember {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[dataplane.LBRID][]dataplane.LBRMember, len(d.lbrs))
	for id, m := range d.lbrs {
		out[id] = slices.Clone(m)
	}
	return out
}

// Tunnels returns the installed tunnels by id.
func (d *Dataplane) Tunnels() map[dataplane.TunnelID]dataplane.Tunnel {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.tunnels)
}

// Terms returns the installed tunnel terminations and the tunnel each decapsulates
// onto.
func (d *Dataplane) Terms() map[dataplane.TunnelTerm]dataplane.TunnelID {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.terms)
}

// NonIPRules returns the installed non_ip rules by EtherType.
func (d *Dataplane) NonIPRules() map[uint16]dataplane.NonIPAction {
	d.mu.Lock()
	defer d.mu.Unlock()
	return maps.Clone(d.nonIP)
}

// SentProbe is a probe SendProbe accepted.
type SentProbe struct {
	Tunnel dataplane.TunnelID
	Packet []byte
}

// SentProbes returns the probes sent so far, oldest first, and forgets them.
func (d *Dataplane) SentProbes() []SentProbe {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.probes
	d.probes = nil
	return out
}

// InjectProbeReply delivers r on ProbeReplies as if it had come back through
// its tunnel. It reports false when the data path is closed or the channel is full
// (the real data path drops such replies too).
func (d *Dataplane) InjectProbeReply(r dataplane.ProbeReply) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return false
	}
	select {
	case d.replies <- r:
		return true
	default:
		return false
	}
}
