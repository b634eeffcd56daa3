package slaagent

import (
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/linx-sdwan/linx/dataplane"
)

// Steered is a dataplane.Dataplane that sits between the controller's server
// (server/p4rtsrv) and the real data path. It remembers the tunnels and LBRs
// the controller wrote and installs them with the prober's verdicts laid over
// them:
//
//   - a tunnel the prober holds down is installed with Down set (LBRs skip it,
//     FARs onto it drop), whatever the controller wrote;
//   - an LBR governed by an SLA class is installed with the members the
//     class's selection does not allow marked Excluded (the data path skips
//     them without moving anyone else's flows), unless it allows none of the
//     controller's members.
//
// So a controller rewriting a tunnel or an LBR never undoes a verdict, and a
// verdict never undoes a controller write: each write recomputes what is
// installed from both. P4Runtime Read answers from the server's own store, so
// it still returns what the controller wrote. Every other call goes straight
// to the wrapped data path.
type Steered struct {
	dataplane.Dataplane

	mu      sync.Mutex
	tunnels map[dataplane.TunnelID]dataplane.Tunnel         // as the controller wrote them
	lbrs    map[dataplane.LBRID][]dataplane.LBRMember       // as the controller wrote them
	down    map[dataplane.TunnelID]bool                     // the prober's blackout verdicts
	allow   map[dataplane.LBRID]map[dataplane.TunnelID]bool // class selections; absent: no restriction
	// installed is the member list last written to the data path per LBR, so that
	// a verdict that changes nothing for an LBR costs no write (and no flow-cache
	// generation bump).
	installed map[dataplane.LBRID][]dataplane.LBRMember
	onChange  func()
}

// Wrap returns dp, a data path with options o (the table sizes), behind a
// Steered with no verdict yet.
func Wrap(dp dataplane.Dataplane, o dataplane.Options) *Steered {
	return &Steered{
		Dataplane: dp,
		tunnels:   map[dataplane.TunnelID]dataplane.Tunnel{},
		lbrs:      map[dataplane.LBRID][]dataplane.LBRMember{},
		down:      map[dataplane.TunnelID]bool{},
		allow:     map[dataplane.LBRID]map[dataplane.TunnelID]bool{},
		installed: map[dataplane.LBRID][]dataplane.LBRMember{},
	}
}

// Inner is the wrapped data path.
func (s *Steered) Inner() dataplane.Dataplane { return s.Dataplane }

// setOnChange sets the function called (with no lock held) after the
// controller's tunnels or LBRs changed.
func (s *Steered) setOnChange(f func()) {
	s.mu.Lock()
	s.onChange = f
	s.mu.Unlock()
}

func (s *Steered) changed() {
	s.mu.Lock()
	f := s.onChange
	s.mu.Unlock()
	if f != nil {
		f()
	}
}

// effectiveTunnel is t with the verdict on id laid over it.
func (s *Steered) effectiveTunnel(id dataplane.TunnelID, t dataplane.Tunnel) dataplane.Tunnel {
	if s.down[id] {
		t.Down = true
	}
	return t
}

// effectiveLBR is the controller's members of LBR id, those its class's
// selection does not allow marked Excluded (they keep their Maglev slots, so
// the flows of the others do not move), or the controller's list as written
// when there is no selection or it allows none of them (the controller changed
// the LBR since: its word wins until the next selection).
func (s *Steered) effectiveLBR(id dataplane.LBRID, members []dataplane.LBRMember) []dataplane.LBRMember {
	allow, ok := s.allow[id]
	if !ok {
		return members
	}
	out := slices.Clone(members)
	kept := false
	for i := range out {
		out[i].Excluded = !allow[out[i].Tunnel]
		kept = kept || !out[i].Excluded
	}
	if !kept {
		return members
	}
	return out
}

// SetTunnel records the controller's tunnel and installs it with its verdict.
func (s *Steered) SetTunnel(id dataplane.TunnelID, t dataplane.Tunnel) error {
	s.mu.Lock()
	err := s.Dataplane.SetTunnel(id, s.effectiveTunnel(id, t))
	if err == nil {
		s.tunnels[id] = t
	}
	s.mu.Unlock()
	if err == nil {
		s.changed()
	}
	return err
}

// DeleteTunnel forgets the tunnel and its verdict.
func (s *Steered) DeleteTunnel(id dataplane.TunnelID) error {
	s.mu.Lock()
	err := s.Dataplane.DeleteTunnel(id)
	if err == nil {
		delete(s.tunnels, id)
		delete(s.down, id)
	}
	s.mu.Unlock()
	if err == nil {
		s.changed()
	}
	return err
}

// SetLBR records the controller's LBR and installs the members its class allows.
func (s *Steered) SetLBR(id dataplane.LBRID, members []dataplane.LBRMember) error {
	s.mu.Lock()
	eff := s.effectiveLBR(id, members)
	err := s.Dataplane.SetLBR(id, eff)
	if err == nil {
		s.lbrs[id] = slices.Clone(members)
		s.installed[id] = slices.Clone(eff)
	}
	s.mu.Unlock()
	if err == nil {
		s.changed()
	}
	return err
}

// DeleteLBR forgets the LBR.
func (s *Steered) DeleteLBR(id dataplane.LBRID) error {
	s.mu.Lock()
	err := s.Dataplane.DeleteLBR(id)
	if err == nil {
		delete(s.lbrs, id)
		delete(s.installed, id)
	}
	s.mu.Unlock()
	if err == nil {
		s.changed()
	}
	return err
}

// Clear forgets everything the controller wrote and every verdict.
func (s *Steered) Clear() error {
	s.mu.Lock()
	err := s.Dataplane.Clear()
	if err == nil {
		s.forgetLocked()
	}
	s.mu.Unlock()
	if err == nil {
		s.changed()
	}
	return err
}

func (s *Steered) forgetLocked() {
	clear(s.tunnels)
	clear(s.lbrs)
	clear(s.down)
	clear(s.installed)
}

// Restore hands s to the wrapped data path (which must be a
// dataplane.Restorer unless s is empty) and records its tunnels and LBRs as the
// controller's. Verdicts start afresh.
func (s *Steered) Restore(st dataplane.RestoreState) error {
	r, ok := s.Dataplane.(dataplane.Restorer)
	if !ok {
		if len(st.PDRs)+len(st.FARs)+len(st.LBRs)+len(st.Tunnels)+len(st.Terms)+len(st.NonIP) > 0 || st.Default != nil {
			return fmt.Errorf("the data path (%T) cannot take persisted rules back", s.Dataplane)
		}
		return nil
	}
	s.mu.Lock()
	clear(s.down)
	eff := st
	eff.LBRs = make(map[dataplane.LBRID][]dataplane.LBRMember, len(st.LBRs))
	for id, m := range st.LBRs {
		eff.LBRs[id] = s.effectiveLBR(id, m)
	}
	err := r.Restore(eff)
	if err == nil {
		s.forgetLocked()
		maps.Copy(s.tunnels, st.Tunnels)
		for id, m := range st.LBRs {
			s.lbrs[id] = slices.Clone(m)
			s.installed[id] = slices.Clone(eff.LBRs[id])
		}
	}
	s.mu.Unlock()
	if err == nil {
		s.changed()
	}
	return err
}

// ControllerTunnels returns the tunnels as the controller wrote them.
func (s *Steered) ControllerTunnels() map[dataplane.TunnelID]dataplane.Tunnel {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.tunnels)
}

// ControllerTunnel returns one tunnel as the controller wrote it.
func (s *Steered) ControllerTunnel(id dataplane.TunnelID) (dataplane.Tunnel, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tunnels[id]
	return t, ok
}

// ControllerLBR returns one LBR's members as the controller wrote them.
func (s *Steered) ControllerLBR(id dataplane.LBRID) ([]dataplane.LBRMember, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.lbrs[id]
	return slices.Clone(m), ok
}

// SetDown lays (or lifts) the prober's down verdict over tunnel id. A tunnel the
// controller has not written keeps the verdict for when it does.
func (s *Steered) SetDown(id dataplane.TunnelID, down bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down[id] == down {
		return nil
	}
	if down {
		s.down[id] = true
	} else {
		delete(s.down, id)
	}
	t, ok := s.tunnels[id]
	if !ok {
		return nil
	}
	if err := s.Dataplane.SetTunnel(id, s.effectiveTunnel(id, t)); err != nil {
		return fmt.Errorf("mark tunnel %d %s: %w", id, map[bool]string{true: "down", false: "up"}[down], err)
	}
	return nil
}

// Down reports whether the prober holds tunnel id down.
func (s *Steered) Down(id dataplane.TunnelID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down[id]
}

// Restrict limits LBR id to the members in allow (nil: lifts the restriction)
// and installs the result when it differs from what is installed. The others
// are installed Excluded, not removed: the data path's Maglev table stays the
// controller's, so only the excluded members' flows move (docs/sla.md, "Which
// flows move").
func (s *Steered) Restrict(id dataplane.LBRID, allow []dataplane.TunnelID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if allow == nil {
		delete(s.allow, id)
	} else {
		set := make(map[dataplane.TunnelID]bool, len(allow))
		for _, t := range allow {
			set[t] = true
		}
		s.allow[id] = set
	}
	members, ok := s.lbrs[id]
	if !ok || len(members) == 0 {
		return nil
	}
	eff := s.effectiveLBR(id, members)
	if slices.Equal(eff, s.installed[id]) {
		return nil
	}
	if err := s.Dataplane.SetLBR(id, eff); err != nil {
		return fmt.Errorf("restrict lbr %d to tunnels %v: %w", id, allow, err)
	}
	s.installed[id] = slices.Clone(eff)
	return nil
}

var _ dataplane.Dataplane = (*Steered)(nil)
var _ dataplane.Restorer = (*Steered)(nil)
