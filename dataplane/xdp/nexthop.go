package xdp

// Underlay next hops: each tunnel's route and neighbour, resolved here from the
// kernel over netlink and written into tunnel_nexthops, so that encapsulation
// needs no bpf_fib_lookup per packet. The kernel stays in charge: its routes
// and neighbours are the truth, a subscription to their changes (and to links'
// and addresses') re-resolves every tunnel, and a tunnel whose neighbour is not
// known is marked NH_NO_NEIGH, so its packets go to the kernel, which resolves
// it (ARP, or IPv6 neighbour discovery for a tunnel over an IPv6 underlay);
// the neighbour's appearance then comes back as an event.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/linx-sdwan/linx/dataplane"
)

// nudValid are the neighbour states in which the kernel itself would use the
// neighbour's address (NUD_VALID of include/net/neighbour.h), as bpf_fib_lookup
// does.
const nudValid = netlink.NUD_PERMANENT | netlink.NUD_NOARP | netlink.NUD_REACHABLE |
	netlink.NUD_PROBE | netlink.NUD_STALE | netlink.NUD_DELAY

// nexthops follows the kernel's routes and neighbours in the namespace Load ran
// in.
type nexthops struct {
	h    *netlink.Handle
	done chan struct{}
	kick chan struct{} // an event arrived: re-resolve
	nh   map[dataplane.TunnelID]linxTunnelNh
}

// startNexthops subscribes to the routes, neighbours, links and addresses of
// the calling thread's network namespace (Load's: the sockets are made here and
// stay in it, so no setns and no CAP_SYS_ADMIN is needed) and starts
// re-resolving tunnels on their changes.
func (d *Dataplane) startNexthops() error {
	h, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink handle for next hops: %w", err)
	}
	n := &nexthops{h: h, done: make(chan struct{}), kick: make(chan struct{}, 1),
		nh: map[dataplane.TunnelID]linxTunnelNh{}}
	kick := func() {
		select {
		case n.kick <- struct{}{}:
		default: // a refresh is already due
		}
	}
	onErr := func(error) { kick() } // a lost event: resolve everything again
	routes := make(chan netlink.RouteUpdate, 64)
	neighs := make(chan netlink.NeighUpdate, 256)
	links := make(chan netlink.LinkUpdate, 64)
	addrs := make(chan netlink.AddrUpdate, 64)
	errs := []error{
		netlink.RouteSubscribeWithOptions(routes, n.done, netlink.RouteSubscribeOptions{ErrorCallback: onErr}),
		netlink.NeighSubscribeWithOptions(neighs, n.done, netlink.NeighSubscribeOptions{ErrorCallback: onErr}),
		netlink.LinkSubscribeWithOptions(links, n.done, netlink.LinkSubscribeOptions{ErrorCallback: onErr}),
		netlink.AddrSubscribeWithOptions(addrs, n.done, netlink.AddrSubscribeOptions{ErrorCallback: onErr}),
	}
	if err := errors.Join(errs...); err != nil {
		close(n.done)
		h.Close()
		return fmt.Errorf("subscribe to routes and neighbours: %w", err)
	}
	d.nh = n
	d.wg.Add(2)
	go func() { // drain the subscriptions into one pending refresh
		defer d.wg.Done()
		for {
			select {
			case <-n.done:
				return
			case _, ok := <-routes:
				if !ok {
					routes = nil
				}
			case _, ok := <-neighs:
				if !ok {
					neighs = nil
				}
			case _, ok := <-links:
				if !ok {
					links = nil
				}
			case _, ok := <-addrs:
				if !ok {
					addrs = nil
				}
			}
			kick()
		}
	}()
	go func() {
		defer d.wg.Done()
		for {
			select {
			case <-n.done:
				return
			case <-n.kick:
			}
			d.mu.Lock()
			if !d.closed {
				d.refreshNexthops()
			}
			d.mu.Unlock()
		}
	}()
	return nil
}

// stopNexthops ends the subscriptions (Close).
func (d *Dataplane) stopNexthops() {
	if d.nh == nil {
		return
	}
	close(d.nh.done)
}

func (n *nexthops) close() {
	n.h.Close()
}

// refreshNexthops re-resolves every tunnel and writes the next hops that
// changed, then bumps the next-hop generation: the flow cache's forward answers
// carry MACs the data path got from the FIB, which may have changed with
// whatever event brought us here. d.mu is held.
func (d *Dataplane) refreshNexthops() error {
	errs := []error{d.bumpNhGen(), d.syncPortAddrs()}
	for id := range d.tunnels {
		errs = append(errs, d.resolveTunnel(id))
	}
	return errors.Join(errs...)
}

// syncPortAddrs writes each attached port's IPv6 address into port_addrs6
// (the source of the ICMPv6 Packet Too Big encap sends out of it): the first
// global address of its interface that is usable (not tentative, not failed
// duplicate address detection), preferring one not deprecated; zeroes for a
// port without one or no longer attached. Likewise its first IPv4 address
// into port_addrs4 (the source of fragmentation-needed for overlays over an
// IPv6 underlay). d.mu is held.
func (d *Dataplane) syncPortAddrs() error {
	if d.nh == nil {
		return nil
	}
	var errs []error
	put := func(id dataplane.PortID, v linxPortAddr6) {
		if old, ok := d.addrs6[id]; ok && old == v {
			return
		}
		if err := d.objs.PortAddrs6.Put(uint32(id), v); err != nil {
			errs = append(errs, fmt.Errorf("write port %d IPv6 address: %w", id, err))
			return
		}
		d.addrs6[id] = v
	}
	put4 := func(id dataplane.PortID, v uint32) {
		if old, ok := d.addrs4[id]; ok && old == v {
			return
		}
		if err := d.objs.PortAddrs4.Put(uint32(id), v); err != nil {
			errs = append(errs, fmt.Errorf("write port %d IPv4 address: %w", id, err))
			return
		}
		d.addrs4[id] = v
	}
	for id, p := range d.ports {
		var v linxPortAddr6
		var v4 uint32
		if l, err := d.nh.h.LinkByIndex(p.Ifindex); err == nil {
			if as, err := d.nh.h.AddrList(l, netlink.FAMILY_V6); err == nil {
				v = pickAddr6(as)
			}
			if as, err := d.nh.h.AddrList(l, netlink.FAMILY_V4); err == nil {
				v4 = pickAddr4(as)
			}
		}
		put(id, v)
		put4(id, v4)
	}
	for id := range d.addrs6 {
		if _, ok := d.ports[id]; !ok {
			put(id, linxPortAddr6{})
			delete(d.addrs6, id)
		}
	}
	for id := range d.addrs4 {
		if _, ok := d.ports[id]; !ok {
			put4(id, 0)
			delete(d.addrs4, id)
		}
	}
	return errors.Join(errs...)
}

// pickAddr4 chooses an interface's first IPv4 address (in network order as
// the data path stores it; 0: none).
func pickAddr4(as []netlink.Addr) uint32 {
	for _, a := range as {
		if ip := a.IP.To4(); ip != nil && !ip.IsUnspecified() {
			return binary.LittleEndian.Uint32(ip)
		}
	}
	return 0
}

// pickAddr6 chooses the source of ICMPv6 errors among an interface's
// addresses (see syncPortAddrs6).
func pickAddr6(as []netlink.Addr) linxPortAddr6 {
	var best linxPortAddr6
	found := false
	for _, a := range as {
		ip := a.IP.To16()
		if ip == nil || a.IP.To4() != nil || !a.IP.IsGlobalUnicast() ||
			a.Flags&(unix.IFA_F_TENTATIVE|unix.IFA_F_DADFAILED) != 0 {
			continue
		}
		var v linxPortAddr6
		for i := range 4 {
			v.A[i] = binary.LittleEndian.Uint32(ip[4*i:]) // the bytes in network order
		}
		if a.Flags&unix.IFA_F_DEPRECATED == 0 {
			return v
		}
		if !found {
			best, found = v, true
		}
	}
	return best
}

// bumpNhGen invalidates the flow cache's forward answers (their L2 rewrite):
// called after a route, neighbour, link or address change has been heard of,
// and on port attach and detach. d.mu is held.
func (d *Dataplane) bumpNhGen() error {
	if err := d.objs.NhGen.Put(uint32(0), d.nhGen+1); err != nil {
		return fmt.Errorf("bump next-hop generation: %w", err)
	}
	d.nhGen++
	return nil
}

// resolveTunnel resolves tunnel id's next hop and writes it if it changed.
// d.mu is held.
func (d *Dataplane) resolveTunnel(id dataplane.TunnelID) error {
	if d.nh == nil {
		return nil
	}
	t, ok := d.tunnels[id]
	v := linxTunnelNh{}
	if ok {
		v = d.nh.lookup(t, d.ports[t.Port])
	}
	if old, known := d.nh.nh[id]; known && old == v {
		return nil
	}
	if err := d.objs.TunnelNexthops.Put(uint32(id), v); err != nil {
		return fmt.Errorf("write next hop of tunnel %d: %w", id, err)
	}
	if ok {
		d.nh.nh[id] = v
	} else {
		delete(d.nh.nh, id)
	}
	return nil
}

// forgetNexthop clears tunnel id's next hop (the tunnel is gone). d.mu is held.
func (d *Dataplane) forgetNexthop(id dataplane.TunnelID) error {
	if d.nh == nil {
		return nil
	}
	delete(d.nh.nh, id)
	if err := d.objs.TunnelNexthops.Put(uint32(id), linxTunnelNh{}); err != nil {
		return fmt.Errorf("clear next hop of tunnel %d: %w", id, err)
	}
	return nil
}

// lookup asks the kernel for the route from t.Src to t.Dst leaving by the
// tunnel's port, and for the neighbour that route goes through.
func (n *nexthops) lookup(t dataplane.Tunnel, p dataplane.PortInfo) linxTunnelNh {
	if p.Ifindex == 0 {
		return linxTunnelNh{} // not attached: encap drops with no_port
	}
	v := linxTunnelNh{Ifindex: uint32(p.Ifindex), State: uint8(linxNhStateNH_NO_ROUTE)}
	dst := net.IP(t.Dst.AsSlice())
	// Without an output interface: given one, the kernel answers "on link" when
	// no route matches, where the FIB lookup of the data path finds none.
	routes, err := n.h.RouteGetWithOptions(dst, &netlink.RouteGetOptions{SrcAddr: net.IP(t.Src.AsSlice())})
	if err != nil || len(routes) == 0 {
		return v
	}
	r := routes[0]
	if r.Type != 0 && r.Type != unix.RTN_UNICAST {
		return v
	}
	if r.LinkIndex != p.Ifindex {
		// The best route leaves by another interface (several routes or a
		// multipath one): leave the choice to the FIB lookup with the port as
		// output interface, per packet, as without next hops.
		return linxTunnelNh{}
	}
	l, err := n.h.LinkByIndex(p.Ifindex)
	if err != nil {
		return v
	}
	mtu := l.Attrs().MTU
	if r.MTU > 0 && r.MTU < mtu {
		mtu = r.MTU
	}
	v.Mtu = uint16(min(mtu, 0xffff))
	copy(v.Smac[:], l.Attrs().HardwareAddr)
	via := dst
	if r.Gw != nil {
		via = r.Gw
	}
	v.State = uint8(linxNhStateNH_NO_NEIGH)
	family := netlink.FAMILY_V4
	if !t.Dst.Is4() {
		family = netlink.FAMILY_V6
	}
	neighs, err := n.h.NeighList(p.Ifindex, family)
	if err != nil {
		return v
	}
	for _, nb := range neighs {
		if nb.IP.Equal(via) && nb.State&nudValid != 0 && len(nb.HardwareAddr) == 6 &&
			!bytes.Equal(nb.HardwareAddr, make([]byte, 6)) {
			copy(v.Dmac[:], nb.HardwareAddr)
			v.State = uint8(linxNhStateNH_OK)
			break
		}
	}
	return v
}
