package xdp

// Ports: attaching the pipeline to interfaces (XDP links, pinned for takeover),
// the port maps, and link state.

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"

	"github.com/cilium/ebpf/link"
	"github.com/vishvananda/netlink"

	"github.com/linx-sdwan/linx/dataplane"
)

// Attach puts the pipeline on ifname. LAN ports also get accept_local=1: when an
// overlay's underlay neighbour is not resolved yet, the encapsulated packet is
// handed to the kernel, whose forwarding path then resolves it (ARP).
func (d *Dataplane) Attach(ifname string, id dataplane.PortID, role dataplane.Role, mode dataplane.XDPMode) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id == 0 || int(id) >= d.opts.MaxPorts {
		return fmt.Errorf("%w: port %d outside 1..%d", dataplane.ErrInvalid, id, d.opts.MaxPorts-1)
	}
	if role != dataplane.RoleLAN && role != dataplane.RoleWAN {
		return fmt.Errorf("%w: role %d", dataplane.ErrInvalid, role)
	}
	if _, ok := d.ports[id]; ok {
		return fmt.Errorf("%w: port %d", dataplane.ErrExists, id)
	}
	for _, p := range d.ports {
		if p.Name == ifname {
			return fmt.Errorf("%w: interface %s is port %d", dataplane.ErrExists, ifname, p.ID)
		}
	}
	l, err := netlink.LinkByName(ifname)
	if err != nil {
		return fmt.Errorf("find interface %s: %w", ifname, err)
	}
	ifindex := l.Attrs().Index
	if role == dataplane.RoleLAN {
		if err := writeSysctl("net/ipv4/conf/"+ifname+"/accept_local", "1"); err != nil {
			return err
		}
	}
	key := uint32(ifindex)
	if err := d.putPort(key, linxPortInfo{Port: uint16(id), Role: uint8(role)}); err != nil {
		return fmt.Errorf("register port %d: %w", id, err)
	}
	if err := d.objs.TxPorts.Put(key, key); err != nil {
		d.deletePort(key)
		return fmt.Errorf("register port %d as redirect target: %w", id, err)
	}
	if err := d.objs.PortIfindex.Put(uint32(id), key); err != nil {
		d.deletePort(key)
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
		if mode == dataplane.XDPGeneric {
			flags = link.XDPGenericMode
		}
		xl, err = link.AttachXDP(link.XDPOptions{Program: d.objs.LinxXdp, Interface: ifindex, Flags: flags})
		if err == nil {
			if err = d.pinLink(ifname, xl); err != nil {
				xl.Close()
			}
		}
		if err != nil {
			d.deletePort(key)
			d.objs.TxPorts.Delete(key)
			d.objs.PortIfindex.Put(uint32(id), uint32(0))
			return fmt.Errorf("attach XDP to %s (mode %v): %w", ifname, mode, err)
		}
	}
	d.links[id] = xl
	if d.takenOver == nil {
		d.takenOver = map[dataplane.PortID]bool{}
	}
	d.takenOver[id] = tookOver
	d.ports[id] = dataplane.PortInfo{ID: id, Name: ifname, Ifindex: ifindex, Role: role, Mode: mode}
	if err := d.refreshNexthops(); err != nil {
		return err
	}
	return d.bumpGen()
}

// putPort registers the port on ifindex for the parser: in the port_by_ifindex
// array when the ifindex is small enough, else in the ports hash.
func (d *Dataplane) putPort(ifindex uint32, info linxPortInfo) error {
	if ifindex < portIfindexDirect {
		return d.objs.PortByIfindex.Put(ifindex, info)
	}
	return d.objs.Ports.Put(ifindex, info)
}

// deletePort forgets the port on ifindex.
func (d *Dataplane) deletePort(ifindex uint32) error {
	if ifindex < portIfindexDirect {
		return d.objs.PortByIfindex.Put(ifindex, linxPortInfo{})
	}
	return d.objs.Ports.Delete(ifindex)
}

// portIfindexDirect is PORT_IFINDEX_DIRECT of bpf/linx.h: the size of
// port_by_ifindex (load checks they agree).
const portIfindexDirect = 4096

func writeSysctl(path, val string) error {
	if err := os.WriteFile(filepath.Join("/proc/sys", path), []byte(val), 0o644); err != nil {
		return fmt.Errorf("set sysctl %s: %w", path, err)
	}
	return nil
}

// Detach removes the pipeline from a port.
func (d *Dataplane) Detach(id dataplane.PortID) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.detachLocked(id)
}

func (d *Dataplane) detachLocked(id dataplane.PortID) error {
	p, ok := d.ports[id]
	if !ok {
		return fmt.Errorf("%w: port %d", dataplane.ErrNotFound, id)
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
	d.deletePort(key)
	delete(d.links, id)
	delete(d.ports, id)
	errs = append(errs, d.refreshNexthops(), d.bumpGen())
	return errors.Join(errs...)
}

// Ports lists the attached ports by id.
func (d *Dataplane) Ports() []dataplane.PortInfo {
	d.mu.Lock()
	defer d.mu.Unlock()
	return sortedPorts(d.ports)
}

func sortedPorts(m map[dataplane.PortID]dataplane.PortInfo) []dataplane.PortInfo {
	return slices.SortedFunc(maps.Values(m), func(a, b dataplane.PortInfo) int { return int(a.ID) - int(b.ID) })
}

// SetPortUp records whether a port's link is up. Tunnels leaving by a port that is
// down count as down: load-balancing rules skip them and FARs encapsulating onto
// them drop (tunnel_down), until the port comes back. The agent follows the
// kernel's operstate; the data path only reads the flag.
func (d *Dataplane) SetPortUp(id dataplane.PortID, up bool) error {
	if id == 0 || int(id) >= d.opts.MaxPorts {
		return fmt.Errorf("%w: port %d outside 1..%d", dataplane.ErrInvalid, id, d.opts.MaxPorts-1)
	}
	var v uint32
	if !up {
		v = 1
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.objs.PortDown.Put(uint32(id), v); err != nil {
		return fmt.Errorf("set port %d %s: %w", id, map[bool]string{true: "up", false: "down"}[up], err)
	}
	return d.bumpGen() // load balancing chose tunnels by port state
}
