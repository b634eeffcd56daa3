package testenv

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// mustNS refuses nil namespaces: a nil would otherwise mean "the host".
func mustNS(tb testing.TB, ns *NS, what string) {
	tb.Helper()
	if ns == nil {
		tb.Fatalf("%s: nil namespace (refusing to touch the host)", what)
	}
}

// Veth creates a veth pair with aName in a and bName in b (a may equal b)
// and sets both ends up. The pair is created directly in a with its peer
// placed in b, so no interface ever appears in the host namespace.
// The returned links are re-read from their namespaces (index, MAC valid).
func Veth(tb testing.TB, a *NS, aName string, b *NS, bName string) (aLink, bLink netlink.Link) {
	tb.Helper()
	mustNS(tb, a, "veth")
	mustNS(tb, b, "veth")
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: aName},
		PeerName:  bName,
	}
	if a != b {
		v.PeerNamespace = netlink.NsFd(b.handle)
	}
	if err := a.nl.LinkAdd(v); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) {
			SkipOrFail(tb, "kernel has no veth support: %v", err)
		}
		tb.Fatalf("create veth %s(%s) <-> %s(%s): %v", aName, a, bName, b, err)
	}
	SetLinkUp(tb, a, aName)
	SetLinkUp(tb, b, bName)
	aLink = WaitOperUp(tb, a, aName, linkWait)
	bLink = WaitOperUp(tb, b, bName, linkWait)
	return aLink, bLink
}

// linkWait bounds how long helpers wait for the kernel's link watcher.
const linkWait = 5 * time.Second

// WaitOperUp waits until ifname in ns has operstate UP and returns it.
// After carrier comes on, the kernel keeps dropping transmitted packets
// until its (asynchronous) link watcher has run; operstate UP is set by
// that same step, so waiting for it avoids losing the first packets. Call
// it on a veth end whose peer was just set up.
func WaitOperUp(tb testing.TB, ns *NS, ifname string, timeout time.Duration) netlink.Link {
	tb.Helper()
	end := time.Now().Add(timeout)
	for {
		l := Link(tb, ns, ifname)
		st := l.Attrs().OperState
		if st == netlink.OperUp {
			return l
		}
		if !time.Now().Before(end) {
			tb.Fatalf("%s in %s: operstate %v after %v, want up", ifname, ns, st, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// Link looks up ifname in ns.
func Link(tb testing.TB, ns *NS, ifname string) netlink.Link {
	tb.Helper()
	mustNS(tb, ns, "link")
	l, err := ns.nl.LinkByName(ifname)
	if err != nil {
		tb.Fatalf("find link %s in %s: %v", ifname, ns, err)
	}
	return l
}

// SetLinkUp sets ifname up in ns and returns the refreshed link. If it
// has carrier, this waits until the kernel's link watcher has processed it
// (IFF_RUNNING), because until then transmitted packets are dropped. If
// this brought a veth peer's carrier back, call WaitOperUp on the peer
// before sending from it.
func SetLinkUp(tb testing.TB, ns *NS, ifname string) netlink.Link {
	tb.Helper()
	l := Link(tb, ns, ifname)
	if err := ns.nl.LinkSetUp(l); err != nil {
		tb.Fatalf("set %s up in %s: %v", ifname, ns, err)
	}
	end := time.Now().Add(linkWait)
	for {
		l = Link(tb, ns, ifname)
		f := l.Attrs().RawFlags
		if f&unix.IFF_LOWER_UP == 0 || f&unix.IFF_RUNNING != 0 {
			return l
		}
		if !time.Now().Before(end) {
			tb.Fatalf("set %s up in %s: carrier but not running after %v", ifname, ns, linkWait)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// SetLinkDown sets ifname down in ns.
func SetLinkDown(tb testing.TB, ns *NS, ifname string) {
	tb.Helper()
	l := Link(tb, ns, ifname)
	if err := ns.nl.LinkSetDown(l); err != nil {
		tb.Fatalf("set %s down in %s: %v", ifname, ns, err)
	}
}

// SetMTU sets ifname's MTU in ns.
func SetMTU(tb testing.TB, ns *NS, ifname string, mtu int) {
	tb.Helper()
	l := Link(tb, ns, ifname)
	if err := ns.nl.LinkSetMTU(l, mtu); err != nil {
		tb.Fatalf("set mtu %d on %s in %s: %v", mtu, ifname, ns, err)
	}
}

// HardwareAddr returns ifname's MAC address in ns, e.g. to program a
// dataplane's neighbour table.
func HardwareAddr(ns *NS, ifname string) (net.HardwareAddr, error) {
	if ns == nil {
		return nil, errors.New("hardware addr: nil namespace")
	}
	l, err := ns.nl.LinkByName(ifname)
	if err != nil {
		return nil, fmt.Errorf("find link %s in %s: %w", ifname, ns, err)
	}
	return l.Attrs().HardwareAddr, nil
}

// AddAddr adds cidr (e.g. "10.1.0.1/24" or "fd00::1/64") to ifname in ns.
// IPv6 addresses skip duplicate address detection so they work at once.
func AddAddr(tb testing.TB, ns *NS, ifname, cidr string) {
	tb.Helper()
	l := Link(tb, ns, ifname)
	addr, err := netlink.ParseAddr(cidr)
	if err != nil {
		tb.Fatalf("add addr %s to %s in %s: %v", cidr, ifname, ns, err)
	}
	if addr.IP.To4() == nil {
		addr.Flags |= unix.IFA_F_NODAD
	}
	if err := ns.nl.AddrAdd(l, addr); err != nil {
		tb.Fatalf("add addr %s to %s in %s: %v", cidr, ifname, ns, err)
	}
}

// AddRoute adds a route to dst (a prefix) via gateway via in ns. A
// link-local IPv6 gateway needs its interface as zone: "fe80::1%eth0".
func AddRoute(tb testing.TB, ns *NS, dst, via string) {
	tb.Helper()
	mustNS(tb, ns, "add route")
	pfx, err := netip.ParsePrefix(dst)
	if err != nil {
		tb.Fatalf("add route %s via %s in %s: %v", dst, via, ns, err)
	}
	addGwRoute(tb, ns, pfx, via)
}

// AddDefaultRoute adds a default route via gateway via in ns (IPv4 or
// IPv6 according to via).
func AddDefaultRoute(tb testing.TB, ns *NS, via string) {
	tb.Helper()
	mustNS(tb, ns, "add default route")
	gw, err := netip.ParseAddr(via)
	if err != nil {
		tb.Fatalf("add default route via %s in %s: %v", via, ns, err)
	}
	pfx := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if gw.Is6() && !gw.Is4In6() {
		pfx = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	addGwRoute(tb, ns, pfx, via)
}

func addGwRoute(tb testing.TB, ns *NS, pfx netip.Prefix, via string) {
	tb.Helper()
	gw, err := netip.ParseAddr(via)
	if err != nil {
		tb.Fatalf("add route %s via %s in %s: %v", pfx, via, ns, err)
	}
	r := &netlink.Route{Dst: prefixToIPNet(pfx.Masked()), Gw: gw.Unmap().WithZone("").AsSlice()}
	if z := gw.Zone(); z != "" { // link-local gateway: "fe80::1%eth0"
		r.LinkIndex = Link(tb, ns, z).Attrs().Index
	}
	if err := ns.nl.RouteAdd(r); err != nil {
		tb.Fatalf("add route %s via %s in %s: %v", pfx, via, ns, err)
	}
}

// AddRouteDev adds an on-link route to dst out of ifname in ns (no
// gateway), e.g. for point-to-point links or unnumbered tunnels.
func AddRouteDev(tb testing.TB, ns *NS, dst, ifname string) {
	tb.Helper()
	l := Link(tb, ns, ifname)
	pfx, err := netip.ParsePrefix(dst)
	if err != nil {
		tb.Fatalf("add route %s dev %s in %s: %v", dst, ifname, ns, err)
	}
	r := &netlink.Route{
		Dst:       prefixToIPNet(pfx.Masked()),
		LinkIndex: l.Attrs().Index,
		Scope:     netlink.SCOPE_LINK,
	}
	if err := ns.nl.RouteAdd(r); err != nil {
		tb.Fatalf("add route %s dev %s in %s: %v", dst, ifname, ns, err)
	}
}

// AddNeigh installs a permanent neighbour (ARP/NDP) entry, so tests do not
// depend on address resolution crossing the dataplane under test.
func AddNeigh(tb testing.TB, ns *NS, ifname, ip string, mac net.HardwareAddr) {
	tb.Helper()
	l := Link(tb, ns, ifname)
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		tb.Fatalf("add neigh %s on %s in %s: %v", ip, ifname, ns, err)
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
		tb.Fatalf("add neigh %s lladdr %s on %s in %s: %v", ip, mac, ifname, ns, err)
	}
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
// /proc/sys path. Use the slash form when a component (an interface
// name) contains a dot.
func sysctlPath(key string) string {
	if !strings.Contains(key, "/") {
		key = strings.ReplaceAll(key, ".", "/")
	}
	return filepath.Join("/proc/sys", filepath.Clean("/"+key))
}

// SetSysctl writes a sysctl inside ns. /proc/sys/net resolves against the
// network namespace of the thread that opens it, so the write happens from
// a thread switched into ns; the host's value is untouched.
func SetSysctl(tb testing.TB, ns *NS, key, value string) {
	tb.Helper()
	mustNS(tb, ns, "sysctl")
	path := sysctlPath(key)
	err := ns.Do(func() error { return os.WriteFile(path, []byte(value), 0) })
	if err != nil {
		tb.Fatalf("sysctl %s=%s in %s: %v", key, value, ns, err)
	}
}

// Sysctl reads a sysctl inside ns, trimmed of surrounding white space.
func Sysctl(ns *NS, key string) (string, error) {
	if ns == nil {
		return "", errors.New("sysctl: nil namespace")
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
// silences router solicitations and MLD reports that would otherwise show
// up in packet counts.
func DisableIPv6(tb testing.TB, ns *NS) {
	tb.Helper()
	SetSysctl(tb, ns, "net/ipv6/conf/all/disable_ipv6", "1")
	SetSysctl(tb, ns, "net/ipv6/conf/default/disable_ipv6", "1")
}
