package xdp

// Counters: per-CPU counters summed, and zeroed when an id starts a new life.

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/cilium/ebpf"

	"github.com/linx-sdwan/linx/dataplane"
)

// PDRCounter reads a rule's packets and bytes.
func (d *Dataplane) PDRCounter(id dataplane.PDRID) (dataplane.Counter, error) {
	d.mu.Lock()
	ok := d.cls.rule(id) != nil
	d.mu.Unlock()
	if !ok {
		return dataplane.Counter{}, fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
	}
	return d.readCounter(d.objs.PdrCounters, uint32(id))
}

// PDRDefaultCounter counts packets that matched no rule.
func (d *Dataplane) PDRDefaultCounter() (dataplane.Counter, error) {
	return d.readCounter(d.objs.PdrCounters, 0)
}

// ResetPDRCounter zeroes a rule's counter.
func (d *Dataplane) ResetPDRCounter(id dataplane.PDRID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.cls.rule(id) == nil {
		return fmt.Errorf("%w: pdr %d", dataplane.ErrNotFound, id)
	}
	return d.resetPDRCounter(id)
}

// resetPDRCounters zeroes the counters of rules about to be installed, with one
// syscall per 4096 rules. Every rule's and CPU's value is the same zero bytes
// (a []byte is taken as it is; a struct goes through reflection, see asBytes).
func (d *Dataplane) resetPDRCounters(ids []dataplane.PDRID) error {
	if len(ids) == 1 {
		return d.resetPDRCounter(ids[0])
	}
	ncpu := ebpf.MustPossibleCPU()
	const chunk = 4096
	zero := make([]byte, unsafe.Sizeof(linxCounter{}))
	vals := make([][]byte, min(chunk, len(ids))*ncpu)
	for i := range vals {
		vals[i] = zero
	}
	keys := make([]uint32, min(chunk, len(ids)))
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		keys = keys[:len(part)]
		for j, id := range part {
			keys[j] = uint32(id)
		}
		if _, err := d.objs.PdrCounters.BatchUpdate(keys, vals[:len(part)*ncpu], nil); err != nil {
			if !errors.Is(err, ebpf.ErrNotSupported) {
				return fmt.Errorf("reset pdr counters: %w", err)
			}
			for _, id := range part {
				if err := d.resetPDRCounter(id); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (d *Dataplane) resetPDRCounter(id dataplane.PDRID) error {
	zero := make([][]byte, ebpf.MustPossibleCPU()) // bytes: no reflection (resetPDRCounters)
	for i := range zero {
		zero[i] = make([]byte, unsafe.Sizeof(linxCounter{}))
	}
	if err := d.objs.PdrCounters.Put(uint32(id), zero); err != nil {
		return fmt.Errorf("reset counter of pdr %d: %w", id, err)
	}
	return nil
}

func (d *Dataplane) readCounter(m *ebpf.Map, key uint32) (dataplane.Counter, error) {
	return sumCounter(m, key)
}

// sumCounter sums a per-CPU counter. The key is typed: its size must be the map's.
func sumCounter[K uint16 | uint32](m *ebpf.Map, key K) (dataplane.Counter, error) {
	var per []linxCounter
	if err := m.Lookup(key, &per); err != nil {
		return dataplane.Counter{}, fmt.Errorf("read counter %v: %w", key, err)
	}
	var c dataplane.Counter
	for _, v := range per {
		c.Packets += v.Packets
		c.Bytes += v.Bytes
	}
	return c, nil
}

func (d *Dataplane) zeroTunnelCounter(id dataplane.TunnelID) error {
	zero := make([]linxTunnelStats, ebpf.MustPossibleCPU())
	if err := d.objs.TunnelCounters.Put(uint32(id), zero); err != nil {
		return fmt.Errorf("reset counters of tunnel %d: %w", id, err)
	}
	return nil
}

// TunnelCounter reads an overlay's tx and rx.
func (d *Dataplane) TunnelCounter(id dataplane.TunnelID) (dataplane.TunnelCounters, error) {
	d.mu.Lock()
	_, ok := d.tunnels[id]
	d.mu.Unlock()
	if !ok {
		return dataplane.TunnelCounters{}, fmt.Errorf("%w: tunnel %d", dataplane.ErrNotFound, id)
	}
	var per []linxTunnelStats
	if err := d.objs.TunnelCounters.Lookup(uint32(id), &per); err != nil {
		return dataplane.TunnelCounters{}, fmt.Errorf("read counters of tunnel %d: %w", id, err)
	}
	var c dataplane.TunnelCounters
	for _, v := range per {
		c.TX.Packets += v.Tx.Packets
		c.TX.Bytes += v.Tx.Bytes
		c.RX.Packets += v.Rx.Packets
		c.RX.Bytes += v.Rx.Bytes
	}
	return c, nil
}

func (d *Dataplane) zeroNonIPCounter(ethType uint16) error {
	zero := make([]linxCounter, ebpf.MustPossibleCPU())
	if err := d.objs.NonIpCounters.Put(hton16(ethType), zero); err != nil {
		return fmt.Errorf("reset counter of non_ip rule %#04x: %w", ethType, err)
	}
	return nil
}

// NonIPCounter reads the packets and bytes the rule of ethType handled.
func (d *Dataplane) NonIPCounter(ethType uint16) (dataplane.Counter, error) {
	d.mu.Lock()
	_, ok := d.nonIP[ethType]
	d.mu.Unlock()
	if !ok {
		return dataplane.Counter{}, fmt.Errorf("%w: non_ip rule %#04x", dataplane.ErrNotFound, ethType)
	}
	return sumCounter(d.objs.NonIpCounters, hton16(ethType))
}

// PortCounter reads what XDP saw on a port.
func (d *Dataplane) PortCounter(id dataplane.PortID) (dataplane.PortCounters, error) {
	d.mu.Lock()
	_, ok := d.ports[id]
	d.mu.Unlock()
	if !ok {
		return dataplane.PortCounters{}, fmt.Errorf("%w: port %d", dataplane.ErrNotFound, id)
	}
	var per []linxPortStats
	if err := d.objs.PortCounters.Lookup(uint32(id), &per); err != nil {
		return dataplane.PortCounters{}, fmt.Errorf("read counters of port %d: %w", id, err)
	}
	var c dataplane.PortCounters
	for _, v := range per {
		c.RX.Packets += v.Rx.Packets
		c.RX.Bytes += v.Rx.Bytes
		c.TX.Packets += v.Tx.Packets
		c.TX.Bytes += v.Tx.Bytes
		c.Drops.Packets += v.Drop.Packets
		c.Drops.Bytes += v.Drop.Bytes
	}
	return c, nil
}

func (d *Dataplane) zeroPortCounter(id dataplane.PortID) {
	d.objs.PortCounters.Put(uint32(id), make([]linxPortStats, ebpf.MustPossibleCPU()))
}

// DropCounters returns packets and bytes dropped, per reason (reasons never seen
// are omitted).
func (d *Dataplane) DropCounters() (map[dataplane.DropReason]dataplane.Counter, error) {
	out := map[dataplane.DropReason]dataplane.Counter{}
	for r := 1; r < dataplane.NumDropReasons; r++ {
		c, err := d.readCounter(d.objs.DropCounters, uint32(r))
		if err != nil {
			return nil, err
		}
		if c.Packets > 0 {
			out[dataplane.DropReason(r)] = c
		}
	}
	return out, nil
}
