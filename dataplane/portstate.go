package dataplane

import "fmt"

// SetPortUp records whether a port's link is up. Tunnels leaving by a port that is
// down count as down: load-balancing rules skip them and FARs encapsulating onto
// them drop (tunnel_down), until the port comes back. The agent follows the
// kernel's operstate; the data path only reads the flag.
func (d *EBPF) SetPortUp(id PortID, up bool) error {
	if id == 0 || int(id) >= d.opts.MaxPorts {
		return fmt.Errorf("%w: port %d outside 1..%d", ErrInvalid, id, d.opts.MaxPorts-1)
	}
	var v uint32
	if !up {
		v = 1
	}
	if err := d.objs.PortDown.Put(uint32(id), v); err != nil {
		return fmt.Errorf("set port %d %s: %w", id, map[bool]string{true: "up", false: "down"}[up], err)
	}
	return nil
}
