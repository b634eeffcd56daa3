package testenv

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// check fails tb with err, if any.
func check(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("%v", err)
	}
}

// Veth creates a veth pair with aName in a and bName in b (a may equal b)
// and sets both ends up. The pair is created directly in a with its peer
// placed in b, so no interface ever appears in the host namespace. The
// returned links are re-read from their namespaces (index, MAC valid).
// A kernel without veth skips the test (or fails it, see SkipOrFail).
func Veth(tb testing.TB, a *NS, aName string, b *NS, bName string) (aLink, bLink netlink.Link) {
	tb.Helper()
	aLink, bLink, err := netlab.Veth(a, aName, b, bName)
	if errors.Is(err, unix.EOPNOTSUPP) {
		SkipOrFail(tb, "kernel has no veth support: %v", err)
	}
	check(tb, err)
	return aLink, bLink
}

// WaitOperUp waits until ifname in ns has operstate UP and returns it.
// After carrier comes on, the kernel keeps dropping transmitted packets
// until its (asynchronous) link watcher has run; operstate UP is set by
// that same step, so waiting for it avoids losing the first packets. Call
// it on a veth end whose peer was just set up.
func WaitOperUp(tb testing.TB, ns *NS, ifname string, timeout time.Duration) netlink.Link {
	tb.Helper()
	l, err := netlab.WaitOperUp(ns, ifname, timeout)
	check(tb, err)
	return l
}

// Link looks up ifname in ns.
func Link(tb testing.TB, ns *NS, ifname string) netlink.Link {
	tb.Helper()
	l, err := netlab.Link(ns, ifname)
	check(tb, err)
	return l
}

// SetLinkUp sets ifname up in ns and returns the refreshed link, waiting
// until the kernel's link watcher has processed the carrier (see
// netlab.SetLinkUp). If this brought a veth peer's carrier back, call
// WaitOperUp on the peer before sending from it.
func SetLinkUp(tb testing.TB, ns *NS, ifname string) netlink.Link {
	tb.Helper()
	l, err := netlab.SetLinkUp(ns, ifname)
	check(tb, err)
	return l
}

// SetLinkDown sets ifname down in ns.
func SetLinkDown(tb testing.TB, ns *NS, ifname string) {
	tb.Helper()
	check(tb, netlab.SetLinkDown(ns, ifname))
}

// SetMTU sets ifname's MTU in ns.
func SetMTU(tb testing.TB, ns *NS, ifname string, mtu int) {
	tb.Helper()
	check(tb, netlab.SetMTU(ns, ifname, mtu))
}

// HardwareAddr returns ifname's MAC address in ns, e.g. to program a
// dataplane's neighbour table.
func HardwareAddr(ns *NS, ifname string) (net.HardwareAddr, error) {
	return netlab.HardwareAddr(ns, ifname)
}

// AddAddr adds cidr (e.g. "10.1.0.1/24" or "fd00::1/64") to ifname in ns.
// IPv6 addresses skip duplicate address detection so they work at once.
func AddAddr(tb testing.TB, ns *NS, ifname, cidr string) {
	tb.Helper()
	check(tb, netlab.AddAddr(ns, ifname, cidr))
}

// AddRoute adds a route to dst (a prefix) via gateway via in ns. A
// link-local IPv6 gateway needs its interface as zone: "fe80::1%eth0".
func AddRoute(tb testing.TB, ns *NS, dst, via string) {
	tb.Helper()
	check(tb, netlab.AddRoute(ns, dst, via))
}

// AddDefaultRoute adds a default route via gateway via in ns (IPv4 or
// IPv6 according to via).
func AddDefaultRoute(tb testing.TB, ns *NS, via string) {
	tb.Helper()
	check(tb, netlab.AddDefaultRoute(ns, via))
}

// AddRouteDev adds an on-link route to dst out of ifname in ns (no
// gateway), e.g. for point-to-point links or unnumbered tunnels.
func AddRouteDev(tb testing.TB, ns *NS, dst, ifname string) {
	tb.Helper()
	check(tb, netlab.AddRouteDev(ns, dst, ifname))
}

// AddNeigh installs a permanent neighbour (ARP/NDP) entry, so tests do not
// depend on address resolution crossing the dataplane under test.
func AddNeigh(tb testing.TB, ns *NS, ifname, ip string, mac net.HardwareAddr) {
	tb.Helper()
	check(tb, netlab.AddNeigh(ns, ifname, ip, mac))
}

// SetSysctl writes a sysctl inside ns ("net.ipv4.ip_forward" or, when a
// component such as an interface name contains a dot, the slash form
// "net/ipv4/conf/eth0.1/forwarding"); the host's value is untouched.
func SetSysctl(tb testing.TB, ns *NS, key, value string) {
	tb.Helper()
	check(tb, netlab.SetSysctl(ns, key, value))
}

// Sysctl reads a sysctl inside ns, trimmed of surrounding white space.
func Sysctl(ns *NS, key string) (string, error) { return netlab.Sysctl(ns, key) }

// DisableIPv6 turns IPv6 off in ns (existing and future interfaces), which
// silences router solicitations and MLD reports that would otherwise show
// up in packet counts.
func DisableIPv6(tb testing.TB, ns *NS) {
	tb.Helper()
	check(tb, netlab.DisableIPv6(ns))
}
