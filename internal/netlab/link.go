package netlab

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LinkWait bounds how long helpers wait for the kernel's link watcher.
const LinkWait = 5 * time.Second

// Veth creates a veth pair with aName in a and bName in b (a may equal b)
// and sets both ends up. The pair is created directly in a with its peer
// placed in b, so no interface ever appears in the host namespace. The
// returned links are re-read from their namespaces (index, MAC valid).
// A kernel without veth yields an error wrapping unix.EOPNOTSUPP.
func Veth(a *NS, aName string, b *NS, bName string) (aLink, bLink netlink.Link, err error) {
	return VethQueues(a, aName, b, bName, 0)
}

// VethQueues is Veth with queues TX and RX queues on each end (0: the
// kernel's default, one). XDP runs per RX queue, and a frame redirected into
// a veth lands on the peer's queue of the sending CPU, so one queue per CPU
// lets every CPU forward without sharing a ring.
func VethQueues(a *NS, aName string, b *NS, bName string, queues int) (aLink, bLink netlink.Link, err error) {
	if err := a.alive("veth"); err != nil {
		return nil, nil, err
	}
	if err := b.alive("veth"); err != nil {
		return nil, nil, err
	}
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: aName, NumTxQueues: queues, NumRxQueues: queues},
		PeerName:  bName,
	}
	if queues > 0 {
		v.PeerNumTxQueues, v.PeerNumRxQueues = uint32(queues), uint32(queues)
	}
	if a != b {
		v.PeerNamespace = netlink.NsFd(b.handle)
	}
	if err := a.nl.LinkAdd(v); err != nil {
		return nil, nil, fmt.Errorf("create veth %s(%s) <-> %s(%s): %w", aName, a, bName, b, err)
	}
	if _, err := SetLinkUp(a, aName); err != nil {
		return nil, nil, err
	}
	if _, err := SetLinkUp(b, bName); err != nil {
		return nil, nil, err
	}
	if aLink, err = WaitOperUp(a, aName, LinkWait); err != nil {
		return nil, nil, err
	}
	if bLink, err = WaitOperUp(b, bName, LinkWait); err != nil {
		return nil, nil, err
	}
	return aLink, bLink, nil
}

// WaitOperUp waits until ifname in ns has operstate UP and returns it.
// After carrier comes on, the kernel keeps dropping transmitted packets
// until its (asynchronous) link watcher has run; operstate UP is set by
// that same step, so waiting for it avoids losing the first packets. Call
// it on a veth end whose peer was just set up.
func WaitOperUp(ns *NS, ifname string, timeout time.Duration) (netlink.Link, error) {
	end := time.Now().Add(timeout)
	for {
		l, err := Link(ns, ifname)
		if err != nil {
			return nil, err
		}
		st := l.Attrs().OperState
		if st == netlink.OperUp {
			return l, nil
		}
		if !time.Now().Before(end) {
			return nil, fmt.Errorf("%s in %s: operstate %v after %v, want up", ifname, ns, st, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Link looks up ifname in ns.
func Link(ns *NS, ifname string) (netlink.Link, error) {
	if err := ns.alive("link " + ifname); err != nil {
		return nil, err
	}
	l, err := ns.nl.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("find link %s in %s: %w", ifname, ns, err)
	}
	return l, nil
}

// SetLinkUp sets ifname up in ns and returns the refreshed link. If it has
// carrier, this waits until the kernel's link watcher has processed it
// (IFF_RUNNING), because until then transmitted packets are dropped. If this
// brought a veth peer's carrier back, call WaitOperUp on the peer before
// sending from it.
func SetLinkUp(ns *NS, ifname string) (netlink.Link, error) {
	l, err := Link(ns, ifname)
	if err != nil {
		return nil, err
	}
	if err := ns.nl.LinkSetUp(l); err != nil {
		return nil, fmt.Errorf("set %s up in %s: %w", ifname, ns, err)
	}
	end := time.Now().Add(LinkWait)
	for {
		if l, err = Link(ns, ifname); err != nil {
			return nil, err
		}
		f := l.Attrs().RawFlags
		if f&unix.IFF_LOWER_UP == 0 || f&unix.IFF_RUNNING != 0 {
			return l, nil
		}
		if !time.Now().Before(end) {
			return nil, fmt.Errorf("set %s up in %s: carrier but not running after %v", ifname, ns, LinkWait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// SetLinkDown sets ifname down in ns.
func SetLinkDown(ns *NS, ifname string) error {
	l, err := Link(ns, ifname)
	if err != nil {
		return err
	}
	if err := ns.nl.LinkSetDown(l); err != nil {
		return fmt.Errorf("set %s down in %s: %w", ifname, ns, err)
	}
	return nil
}

// SetMTU sets ifname's MTU in ns.
func SetMTU(ns *NS, ifname string, mtu int) error {
	l, err := Link(ns, ifname)
	if err != nil {
		return err
	}
	if err := ns.nl.LinkSetMTU(l, mtu); err != nil {
		return fmt.Errorf("set mtu %d on %s in %s: %w", mtu, ifname, ns, err)
	}
	return nil
}

// HardwareAddr returns ifname's MAC address in ns, e.g. to program a
// neighbour table.
func HardwareAddr(ns *NS, ifname string) (net.HardwareAddr, error) {
	l, err := Link(ns, ifname)
	if err != nil {
		return nil, fmt.Errorf("hardware addr: %w", err)
	}
	return l.Attrs().HardwareAddr, nil
}

// AddAddr adds cidr (e.g. "10.1.0.1/24" or "fd00::1/64") to ifname in ns.
// IPv6 addresses skip duplicate address detection so they work at once.
func AddAddr(ns *NS, ifname, cidr string) error {
	l, err := Link(ns, ifname)
	if err != nil {
		return err
	}
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		return fmt.Errorf("add addr %s to %s in %s: %w", cidr, ifname, ns, err)
	}
	if addr.IP.To4() == nil {
		addr.Flags |= unix.IFA_F_NODAD
	}
	if err := ns.nl.AddrAdd(l, addr); err != nil {
		return fmt.Errorf("add addr %s to %s in %s: %w", cidr, ifname, ns, err)
	}
	return nil
}

// AddRoute adds a route to dst (a prefix) via gateway via in ns. A
// link-local IPv6 gateway needs its interface as zone: "fe80::1%eth0".
func AddRoute(ns *NS, dst, via string) error {
	pfx, err := netip.ParsePrefix(dst)
	if err != nil {
		return fmt.Errorf("add route %s via %s in %s: %w", dst, via, ns, err)
	}
	return addGwRoute(ns, pfx, via)
}

// AddDefaultRoute adds a default route via gateway via in ns (IPv4 or IPv6
// according to via).
func AddDefaultRoute(ns *NS, via string) error {
	gw, err := netip.ParseAddr(via)
	if err != nil {
		return fmt.Errorf("add default route via %s in %s: %w", via, ns, err)
	}
	pfx := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if gw.Is6() && !gw.Is4In6() {
		pfx = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	return addGwRoute(ns, pfx, via)
}

func addGwRoute(ns *NS, pfx netip.Prefix, via string) error {
	if err := ns.alive("add route"); err != nil {
		return err
	}
	gw, err := netip.ParseAddr(via)
	if err != nil {
		return fmt.Errorf("add route %s via %s in %s: %w", pfx, via, ns, err)
	}
	r := &netlink.Route{Dst: prefixToIPNet(pfx.Masked()), Gw: gw.Unmap().WithZone("").AsSlice()}
	if z := gw.Zone(); z != "" { // link-local gateway: "fe80::1%eth0"
		l, err := Link(ns, z)
		if err != nil {
			return fmt.Errorf("add route %s via %s: %w", pfx, via, err)
		}
		r.LinkIndex = l.Attrs().Index
	}
	if err := ns.nl.RouteAdd(r); err != nil {
		return fmt.Errorf("add route %s via %s in %s: %w", pfx, via, ns, err)
	}
	return nil
}

// AddRouteDev adds an on-link route to dst out of ifname in ns (no
// gateway), e.g. for point-to-point links or unnumbered tunnels.
func AddRouteDev(ns *NS, dst, ifname string) error {
	l, err := Link(ns, ifname)
	if err != nil {
		return err
	}
	pfx, err := netip.ParsePrefix(dst)
	if err != nil {
		return fmt.Errorf("add route %s dev %s in %s: %w", dst, ifname, ns, err)
	}
	r := &netlink.Route{
		Dst:       prefixToIPNet(pfx.Masked()),
		LinkIndex: l.Attrs().Index,
		Scope:     netlink.SCOPE_LINK,
	}
	if err := ns.nl.RouteAdd(r); err != nil {
		return fmt.Errorf("add route %s dev %s in %s: %w", dst, ifname, ns, err)
	}
	return nil
}

// AddNeigh installs a permanent neighbour (ARP/NDP) entry, so a topology
// need not depend on address resolution crossing the path under test.
func AddNeigh(ns *NS, ifname, ip string, mac net.HardwareAddr) error {
	l, err := Link(ns, ifname)
	if err != nil {
		return err
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return fmt.Errorf("add neigh %s on %s in %s: %w", ip, ifname, ns, err)
	}
	addr = addr.Unmap()
	family := netlink.FAMILY_V4
	if addr.Is6() {
		family = netlink.FAMILY_V6
	}
	n := &netlink.Neigh{
		LinkIndex:    l.Attrs().Index,
		Family:       family,
		State:        netlink.NUD_PERMANENT,
		IP:           addr.AsSlice(),
		HardwareAddr: mac,
	}
	if err := ns.nl.NeighSet(n); err != nil {
		return fmt.Errorf("add neigh %s lladdr %s on %s in %s: %w", ip, mac, ifname, ns, err)
	}
	return nil
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	a := p.Addr().Unmap()
	bits := p.Bits()
	if p.Addr().Is4In6() {
		bits -= 96
	}
	return &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(bits, a.BitLen())}
}

// sysctlPath turns "net.ipv4.ip_forward" or "net/ipv4/ip_forward" into a
// /proc/sys path. Use the slash form when a component (an interface name)
// contains a dot.
func sysctlPath(key string) string {
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join("/proc/sys", filepath.Clean("/"+key))
}

// SetSysctl writes a sysctl inside ns. /proc/sys/net resolves against the
// network namespace of the thread that opens it, so the write happens from
// a thread switched into ns; the host's value is untouched.
func SetSysctl(ns *NS, key, value string) error {
	if err := ns.alive("sysctl"); err != nil {
		return err
	}
	path := sysctlPath(key)
	if err := ns.Do(func() error { return os.WriteFile(path, []byte(value), 0) }); err != nil {
		return fmt.Errorf("sysctl %s=%s in %s: %w", key, value, ns, err)
	}
	return nil
}

// Sysctl reads a sysctl inside ns, trimmed of surrounding white space.
func Sysctl(ns *NS, key string) (string, error) {
	if err := ns.alive("sysctl"); err != nil {
		return "", err
	}
	var b []byte
	err := ns.Do(func() (err error) {
		b, err = os.ReadFile(sysctlPath(key))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("read sysctl %s in %s: %w", key, ns, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// DisableIPv6 turns IPv6 off in ns (existing and future interfaces), which
// silences router solicitations and MLD reports that would otherwise show up
// in packet counts.
func DisableIPv6(ns *NS) error {
	if err := SetSysctl(ns, "net/ipv6/conf/all/disable_ipv6", "1"); err != nil {
		return err
	}
	return SetSysctl(ns, "net/ipv6/conf/default/disable_ipv6", "1")
}
