package memdp

import (
	"encoding/binary"
	"hash/fnv"
	"math"

	"github.com/linx-sdwan/linx/dataplane"
)

// Overlay returns the tunnel LBR id sends the flow of hash h to, or false when
// it has none (no such LBR, every member down). It models the choice the XDP
// data path makes with the properties the contract promises, not its exact
// table: weighted rendezvous hashing over every member, so a member that is
// down (its tunnel is missing, marked Down or on a down port, or what it
// watches is down) or excluded gives its flows to the others and no other
// member's flow moves; with every member excluded, none is.
func (d *Dataplane) Overlay(id dataplane.LBRID, h uint32) (dataplane.TunnelID, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	ms, ok := d.lbrs[id]
	if !ok {
		return 0, false
	}
	all := true
	for _, m := range ms {
		all = all && m.Excluded
	}
	best := -1
	var bestScore float64
	for i, m := range ms {
		if m.Excluded && !all || !d.memberLiveLocked(m) {
			continue
		}
		if s := rendezvous(h, m); best < 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	if best < 0 {
		return 0, false
	}
	return ms[best].Tunnel, true
}

// rendezvous is member m's weighted score for the flow of hash h (Schindelhauer
// and Schomaker's logarithmic method): the highest score wins, and each member
// wins its weight's share of flows.
func rendezvous(h uint32, m dataplane.LBRMember) float64 {
	f := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint32(b[:4], h)
	binary.LittleEndian.PutUint32(b[4:], uint32(m.Tunnel))
	f.Write(b[:])
	u := (float64(f.Sum64()>>11) + 0.5) / (1 << 53) // in (0, 1)
	return -float64(m.Weight) / math.Log(u)
}

// memberLiveLocked reports whether m's tunnel can carry flows, as the data path
// judges it: installed, not Down, its port up, and what it watches up.
func (d *Dataplane) memberLiveLocked(m dataplane.LBRMember) bool {
	if !d.tunnelUpLocked(m.Tunnel) {
		return false
	}
	if m.Watch == 0 {
		return true
	}
	if t, ok := dataplane.TunnelOfPort(d.opts.MaxPorts, m.Watch); ok {
		return d.tunnelUpLocked(t)
	}
	return !d.portDown[dataplane.PortID(m.Watch)]
}

func (d *Dataplane) tunnelUpLocked(id dataplane.TunnelID) bool {
	t, ok := d.tunnels[id]
	return ok && !t.Down && !d.portDown[t.Port]
}
