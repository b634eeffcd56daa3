package xdp

// The other tables: FARs, LBRs (Maglev), tunnels, terminations, non_ip rules,
// and Clear.

import (
	"cmp"
	"errors"
	"fmt"
	"slices"

	"github.com/cilium/ebpf"

	"github.com/linx-sdwan/linx/dataplane"
)

// SetFAR inserts or replaces a FAR with one atomic map write.
func (d *Dataplane) SetFAR(id dataplane.FARID, f dataplane.FAR) error {
	if err := f.Validate(d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.fars[id]; !ok && len(d.fars) >= d.opts.MaxFARs {
		return fmt.Errorf("%w: %d FARs", dataplane.ErrFull, len(d.fars))
	}
	if err := d.objs.Fars.Put(uint32(id), kernelFAR(f)); err != nil {
		return fmt.Errorf("write far %d: %w", id, err)
	}
	d.fars[id] = f
	return d.bumpGen()
}

// DeleteFAR removes a FAR; PDRs still naming it drop with DROP_NO_FAR.
//
// Every change of a FAR, an LBR, a tunnel, the default or a port's state bumps
// the generation after its map write: flow-cache entries hold the resolved
// action (an LBR's tunnel choice included), so every flow resolves afresh.
func (d *Dataplane) DeleteFAR(id dataplane.FARID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.fars[id]; !ok {
		return fmt.Errorf("%w: far %d", dataplane.ErrNotFound, id)
	}
	if err := d.objs.Fars.Delete(uint32(id)); err != nil {
		return fmt.Errorf("delete far %d: %w", id, err)
	}
	delete(d.fars, id)
	return d.bumpGen()
}

// SetLBR inserts or replaces a load-balancing rule: its Maglev table is built here
// and replaces the old one in one map write.
func (d *Dataplane) SetLBR(id dataplane.LBRID, members []dataplane.LBRMember) error {
	if err := dataplane.ValidateMembers(members, d.opts.MaxPorts, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.lbrs[id]; !ok && len(d.lbrs) >= d.opts.MaxLBRs {
		return fmt.Errorf("%w: %d LBRs", dataplane.ErrFull, len(d.lbrs))
	}
	if err := d.objs.Lbrs.Put(uint32(id), kernelLBR(members, d.opts.MaxPorts)); err != nil {
		return fmt.Errorf("write lbr %d: %w", id, err)
	}
	d.lbrs[id] = append([]dataplane.LBRMember(nil), members...)
	return d.bumpGen()
}

// DeleteLBR removes a load-balancing rule.
func (d *Dataplane) DeleteLBR(id dataplane.LBRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.lbrs[id]; !ok {
		return fmt.Errorf("%w: lbr %d", dataplane.ErrNotFound, id)
	}
	if err := d.objs.Lbrs.Delete(uint32(id)); err != nil {
		return fmt.Errorf("delete lbr %d: %w", id, err)
	}
	delete(d.lbrs, id)
	return d.bumpGen()
}

// SetTunnel inserts or replaces a GRE overlay (marking it down or up included).
func (d *Dataplane) SetTunnel(id dataplane.TunnelID, t dataplane.Tunnel) error {
	if err := t.Validate(d.opts.MaxPorts); err != nil {
		return err
	}
	if err := dataplane.ValidateTunnelID(id, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, exists := d.tunnels[id]
	if !exists && len(d.tunnels) >= d.opts.MaxTunnels {
		return fmt.Errorf("%w: %d tunnels", dataplane.ErrFull, len(d.tunnels))
	}
	v, v6 := kernelTunnel(t)
	if !exists {
		if err := d.zeroTunnelCounter(id); err != nil {
			return err
		}
	}
	// The next hop first (it takes netlink round trips), then the tunnel, then
	// at once the generation: flow-cache hits see the tunnel's new state (a
	// tunnel marked down, say) one map write later, not after the lookups.
	prev, had := d.tunnels[id]
	undo := func() {
		if had {
			d.tunnels[id] = prev
		} else {
			delete(d.tunnels, id)
		}
		d.resolveTunnel(id)
	}
	d.tunnels[id] = t
	if err := d.resolveTunnel(id); err != nil {
		undo()
		return err
	}
	// An IPv6 underlay's endpoints before the entry that says to use them.
	if v6 != nil {
		if err := d.objs.Tunnels6.Put(uint32(id), v6); err != nil {
			undo()
			return fmt.Errorf("write tunnel %d endpoints: %w", id, err)
		}
	}
	if err := d.objs.Tunnels.Put(uint32(id), v); err != nil {
		undo()
		return fmt.Errorf("write tunnel %d: %w", id, err)
	}
	return d.bumpGen()
}

// DeleteTunnel removes an overlay; FARs and LBRs naming it drop or skip it.
func (d *Dataplane) DeleteTunnel(id dataplane.TunnelID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.tunnels[id]; !ok {
		return fmt.Errorf("%w: tunnel %d", dataplane.ErrNotFound, id)
	}
	if err := d.objs.Tunnels.Put(uint32(id), linxTunnel{}); err != nil {
		return fmt.Errorf("delete tunnel %d: %w", id, err)
	}
	delete(d.tunnels, id)
	d.zeroTunnelCounter(id)
	if err := d.forgetNexthop(id); err != nil {
		return err
	}
	return d.bumpGen()
}

// ListTunnels returns the installed overlays sorted by id, with their logical
// port numbers, from the Go bookkeeping (no map is read).
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

// SetTunnelTerm makes GRE from term.Remote to term.Local (with term.Key) decapsulate
// as tunnel id.
func (d *Dataplane) SetTunnelTerm(term dataplane.TunnelTerm, id dataplane.TunnelID) error {
	if err := term.Validate(); err != nil {
		return err
	}
	if err := dataplane.ValidateTunnelID(id, d.opts.MaxTunnels); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, exists := d.terms[term]
	if !exists && len(d.terms) >= d.opts.MaxTerms {
		return fmt.Errorf("%w: %d tunnel terminations", dataplane.ErrFull, len(d.terms))
	}
	local := term.Local
	if !exists {
		// The local address first: a GRE packet to it that no termination matches
		// yet is dropped as spoofed, which is what it is until the next write.
		if err := d.putLocal(local, d.locals[local]+1); err != nil {
			return fmt.Errorf("register local tunnel address %s: %w", term.Local, err)
		}
	}
	if err := d.putTerm(term, id); err != nil {
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

// DeleteTunnelTerm stops decapsulating a peer's GRE.
func (d *Dataplane) DeleteTunnelTerm(term dataplane.TunnelTerm) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.terms[term]; !ok {
		return fmt.Errorf("%w: tunnel termination %s→%s key %d", dataplane.ErrNotFound, term.Remote, term.Local, term.Key)
	}
	if err := d.deleteTerm(term); err != nil {
		return fmt.Errorf("delete tunnel termination: %w", err)
	}
	local := term.Local
	d.locals[local]--
	d.putLocal(local, d.locals[local])
	if d.locals[local] == 0 {
		delete(d.locals, local)
	}
	delete(d.terms, term)
	return nil
}

// SetNonIPRule inserts or replaces the rule of EtherType ethType with one map
// write. A new rule's counter is zeroed first, so it counts from its first frame.
func (d *Dataplane) SetNonIPRule(ethType uint16, a dataplane.NonIPAction) error {
	if err := dataplane.ValidateNonIPRule(ethType, a); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	_, exists := d.nonIP[ethType]
	if !exists {
		if len(d.nonIP) >= dataplane.MaxNonIPRules {
			return fmt.Errorf("%w: %d non_ip rules", dataplane.ErrFull, len(d.nonIP))
		}
		if err := d.zeroNonIPCounter(ethType); err != nil {
			return err
		}
	}
	if err := d.objs.NonIpRules.Put(hton16(ethType), linxNonIpRule{Action: uint8(a)}); err != nil {
		return fmt.Errorf("write non_ip rule %#04x: %w", ethType, err)
	}
	d.nonIP[ethType] = a
	return d.syncIPv6NonIP()
}

// etherTypeIPv6 is the EtherType whose non_ip rule takes IPv6 frames away from
// the classifier (ipv6_non_ip).
const etherTypeIPv6 = 0x86dd

// syncIPv6NonIP tells the parser whether IPv6 frames go to their non_ip rule
// (one exists for 0x86dd, as before IPv6 PDRs existed) or to the classifier.
// Called after every change of d.nonIP. d.mu is held.
func (d *Dataplane) syncIPv6NonIP() error {
	var v uint32
	if _, ok := d.nonIP[etherTypeIPv6]; ok {
		v = 1
	}
	if err := d.objs.Ipv6NonIp.Put(uint32(0), v); err != nil {
		return fmt.Errorf("write ipv6_non_ip: %w", err)
	}
	return nil
}

// DeleteNonIPRule removes the rule of ethType: its frames pass to the kernel again.
func (d *Dataplane) DeleteNonIPRule(ethType uint16) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.nonIP[ethType]; !ok {
		return fmt.Errorf("%w: non_ip rule %#04x", dataplane.ErrNotFound, ethType)
	}
	if err := d.deleteNonIP(ethType); err != nil {
		return err
	}
	delete(d.nonIP, ethType)
	return d.syncIPv6NonIP()
}

// deleteNonIP removes a rule, then its counter (a frame between the two is
// still counted, into a counter about to go).
func (d *Dataplane) deleteNonIP(ethType uint16) error {
	if err := d.objs.NonIpRules.Delete(hton16(ethType)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete non_ip rule %#04x: %w", ethType, err)
	}
	if err := d.objs.NonIpCounters.Delete(hton16(ethType)); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return fmt.Errorf("delete counter of non_ip rule %#04x: %w", ethType, err)
	}
	return nil
}

// Clear removes every rule, FAR, LBR, tunnel, termination and non_ip rule and
// zeroes their counters (the default's too); ports, port and drop counters stay.
func (d *Dataplane) Clear() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cls.nrules > 0 {
		if err := d.clearPDRs(); err != nil {
			return err
		}
		if err := d.bloomRebuild(); err != nil {
			return err
		}
	}
	d.ids.Reset(nil)
	var errs []error
	for id := range d.fars {
		errs = append(errs, d.objs.Fars.Delete(uint32(id)))
	}
	for id := range d.lbrs {
		errs = append(errs, d.objs.Lbrs.Delete(uint32(id)))
	}
	for id := range d.tunnels {
		errs = append(errs, d.objs.Tunnels.Put(uint32(id), linxTunnel{}), d.zeroTunnelCounter(id), d.forgetNexthop(id))
	}
	for t := range d.terms {
		errs = append(errs, d.deleteTerm(t))
	}
	for a := range d.locals {
		errs = append(errs, d.putLocal(a, 0))
	}
	for et := range d.nonIP {
		errs = append(errs, d.deleteNonIP(et))
	}
	clear(d.nonIP)
	errs = append(errs, d.syncIPv6NonIP())
	clear(d.fars)
	clear(d.lbrs)
	clear(d.tunnels)
	clear(d.terms)
	clear(d.locals)
	errs = append(errs, d.clearMeters(), d.writeMiss(dataplane.FAR{Action: dataplane.ActPass}), d.resetPDRCounter(0), d.bumpGen())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("clear data path: %w", err)
	}
	return nil
}
