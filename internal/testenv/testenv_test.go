package testenv

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
	"github.com/vishvananda/netns"
)

// fakeTB records Skipf/Fatalf instead of stopping the goroutine, to test
// the skip-or-fail policy without privileges.
type fakeTB struct {
	testing.TB
	skipped, fatal string
}

func (f *fakeTB) Helper()                           {}
func (f *fakeTB) Skipf(format string, args ...any)  { f.skipped = fmt.Sprintf(format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) { f.fatal = fmt.Sprintf(format, args...) }

func TestSkipOrFail(t *testing.T) {
	t.Setenv(RequirePrivEnv, "")
	f := &fakeTB{TB: t}
	SkipOrFail(f, "no %s", "veth")
	if f.fatal != "" || !strings.HasPrefix(f.skipped, "no veth") {
		t.Errorf("without %s: skipped=%q fatal=%q, want a skip", RequirePrivEnv, f.skipped, f.fatal)
	}

	t.Setenv(RequirePrivEnv, "1")
	f = &fakeTB{TB: t}
	SkipOrFail(f, "no %s", "veth")
	if f.skipped != "" || !strings.HasPrefix(f.fatal, "no veth") {
		t.Errorf("with %s=1: skipped=%q fatal=%q, want a failure", RequirePrivEnv, f.skipped, f.fatal)
	}
}

// pair builds a <-> b over veth0/veth1 with 10.1.0.1/24, 10.1.0.2/24 and
// fd00:1::1/64, fd00:1::2/64.
func pair(t *testing.T) (a, b *NS) {
	t.Helper()
	RequireRoot(t)
	a, b = NewNS(t), NewNS(t)
	Veth(t, a, "veth0", b, "veth1")
	AddAddr(t, a, "veth0", "10.1.0.1/24")
	AddAddr(t, b, "veth1", "10.1.0.2/24")
	AddAddr(t, a, "veth0", "fd00:1::1/64")
	AddAddr(t, b, "veth1", "fd00:1::2/64")
	return a, b
}

func TestPing(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	for _, tc := range []struct {
		from *NS
		dst  string
	}{
		{a, "10.1.0.2"}, {b, "10.1.0.1"}, {a, "fd00:1::2"}, {b, "fd00:1::1"}, {a, "127.0.0.1"},
	} {
		n, err := Ping(tc.from, netip.MustParseAddr(tc.dst), 3, 3*time.Second)
		if err != nil || n != 3 {
			t.Errorf("ping %s from %s: received %d/3, err %v", tc.dst, tc.from, n, err)
		}
	}
	// Nobody owns 10.1.0.9: the echoes go unanswered (ARP fails), no error.
	n, err := Ping(a, netip.MustParseAddr("10.1.0.9"), 2, 500*time.Millisecond)
	if err != nil || n != 0 {
		t.Errorf("ping unowned address: received %d, err %v; want 0, nil", n, err)
	}
}

func TestTCPTransfer(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	if err := TransferTCP(t, a, b, "10.1.0.2:0", 1<<20); err != nil {
		t.Errorf("v4: %v", err)
	}
	if err := TransferTCP(t, b, a, "[fd00:1::1]:5001", 1<<20); err != nil {
		t.Errorf("v6: %v", err)
	}
	// Nothing listens in a: dialling must fail, not hang.
	if c, err := DialTCP(b, "10.1.0.1:9", time.Second); err == nil {
		c.Close()
		t.Errorf("dial to closed port succeeded")
	}
	if _, err := ListenTCP(a, "localhost:0"); err == nil {
		t.Errorf("ListenTCP accepted a host name")
	}
}

func TestUDPFlows(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	n, err := UDPFlow(t, a, "10.1.0.1:40000", b, "10.1.0.2:5000", 200)
	if err != nil || n != 200 {
		t.Errorf("UDPFlow: received %d/200, err %v", n, err)
	}

	sink := NewUDPSink(t, b, "10.1.0.2:5001")
	flows := map[FlowID]netip.AddrPort{}
	for port := uint16(41000); port < 41004; port++ {
		src := netip.AddrPortFrom(netip.MustParseAddr("10.1.0.1"), port)
		id, err := SendUDP(a, src.String(), "10.1.0.2:5001", 50, 200, 0)
		if err != nil {
			t.Fatal(err)
		}
		flows[id] = src
	}
	for id, src := range flows {
		if got := sink.WaitReceived(id, 50, 2*time.Second); got != 50 {
			t.Errorf("flow from %s: received %d/50", src, got)
		}
		if got := sink.BySource()[src]; got != 50 {
			t.Errorf("by source %s: %d datagrams, want 50", src, got)
		}
	}
	if sink.Total() != 200 || sink.Corrupt() != 0 {
		t.Errorf("sink total %d corrupt %d, want 200 and 0", sink.Total(), sink.Corrupt())
	}
}

func TestOffloads(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	for _, o := range []Offload{OffloadTXChecksum, OffloadTSO, OffloadGSO, OffloadGRO} {
		on, err := GetOffload(a, "veth0", o)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("veth default %s=%v", o.Name, on)
	}

	// What the toggle is for: with TX checksum offload on, frames cross
	// the veth as CHECKSUM_PARTIAL; with it off, checksums are complete.
	capt := NewCapture(t, b, "veth1")
	udpTo := func(port uint16) func(Packet) bool {
		return func(p Packet) bool {
			u, ok := p.Decode().Layer(layers.LayerTypeUDP).(*layers.UDP)
			return ok && uint16(u.DstPort) == port
		}
	}
	if _, err := SendUDP(a, "", "10.1.0.2:6000", 1, 100, 0); err != nil {
		t.Fatal(err)
	}
	if p, ok := capt.Wait(2*time.Second, udpTo(6000)); !ok || !p.CsumPartial {
		t.Errorf("with tx-checksum on: found=%v partial=%v, want a CHECKSUM_PARTIAL frame\n%s", ok, p.CsumPartial, capt)
	}

	DisableTXChecksum(t, a, "veth0")
	if on, err := GetOffload(a, "veth0", OffloadTXChecksum); err != nil || on {
		t.Errorf("tx-checksum after disable: %v, %v", on, err)
	}
	if on, err := GetOffload(a, "veth0", OffloadTSO); err != nil || on {
		t.Errorf("tso should follow tx-checksum off: %v, %v", on, err)
	}
	// The peer in the other namespace is a different device.
	if on, err := GetOffload(b, "veth1", OffloadTXChecksum); err != nil || !on {
		t.Errorf("peer tx-checksum: %v, %v; want untouched (on)", on, err)
	}
	if _, err := SendUDP(a, "", "10.1.0.2:6001", 1, 100, 0); err != nil {
		t.Fatal(err)
	}
	if p, ok := capt.Wait(2*time.Second, udpTo(6001)); !ok || p.CsumPartial {
		t.Errorf("with tx-checksum off: found=%v partial=%v, want a complete checksum\n%s", ok, p.CsumPartial, capt)
	} else if err := p.Decode().ErrorLayer(); err != nil {
		t.Errorf("decode: %v", err.Error())
	}

	SetGRO(t, b, "veth1", true)
	if on, err := GetOffload(b, "veth1", OffloadGRO); err != nil || !on {
		t.Errorf("gro after enable: %v, %v", on, err)
	}
	SetGRO(t, b, "veth1", false)
	SetGRO(t, b, "veth1", true)
	// Traffic still flows with software checksums and GRO.
	if err := TransferTCP(t, a, b, "10.1.0.2:0", 1<<20); err != nil {
		t.Error(err)
	}
	SetOffload(t, a, "veth0", OffloadTXChecksum, true)

	if _, err := GetOffload(a, "nosuchdev", OffloadGRO); err == nil {
		t.Errorf("ethtool on a missing device succeeded")
	}
}

func TestLinkHelpers(t *testing.T) {
	t.Parallel()
	a, b := pair(t)
	SetMTU(t, a, "veth0", 1400)
	if got := Link(t, a, "veth0").Attrs().MTU; got != 1400 {
		t.Errorf("mtu %d, want 1400", got)
	}
	mac, err := HardwareAddr(b, "veth1")
	if err != nil || len(mac) != 6 {
		t.Fatalf("hardware addr: %v %v", mac, err)
	}
	AddNeigh(t, a, "veth0", "10.1.0.2", mac)
	SetLinkDown(t, b, "veth1")
	if n, _ := Ping(a, netip.MustParseAddr("10.1.0.2"), 1, 300*time.Millisecond); n != 0 {
		t.Errorf("ping across a down link answered")
	}
	SetLinkUp(t, b, "veth1")
	WaitOperUp(t, a, "veth0", 5*time.Second)
	if n, err := Ping(a, netip.MustParseAddr("10.1.0.2"), 1, 3*time.Second); n != 1 {
		t.Errorf("ping after link up: %d, %v", n, err)
	}
	// Both ends in one namespace.
	x0, x1 := Veth(t, a, "x0", a, "x1")
	if x0.Attrs().Index == x1.Attrs().Index || x0.Attrs().OperState.String() != "up" {
		t.Errorf("same-namespace veth: %v %v", x0.Attrs(), x1.Attrs())
	}
	out, err := a.Exec("ip", "-br", "link", "show", "veth0")
	if err != nil || !strings.Contains(string(out), "veth0") {
		t.Errorf("exec ip in ns: %q, %v", out, err)
	}
}

// TestRouted checks routes and per-namespace sysctls: a -- r -- c, with
// forwarding only in r.
func TestRouted(t *testing.T) {
	t.Parallel()
	RequireRoot(t)
	a, r, c := NewNS(t), NewNS(t), NewNS(t)
	Veth(t, a, "eth0", r, "ra")
	Veth(t, r, "rc", c, "eth0")
	AddAddr(t, a, "eth0", "10.1.0.2/24")
	AddAddr(t, r, "ra", "10.1.0.1/24")
	AddAddr(t, r, "rc", "10.2.0.1/24")
	AddAddr(t, c, "eth0", "10.2.0.2/24")
	AddDefaultRoute(t, a, "10.1.0.1")
	AddRoute(t, c, "10.1.0.0/16", "10.2.0.1")

	// Pin the defaults (new namespaces may inherit the host's values).
	SetSysctl(t, a, "net/ipv4/ip_forward", "0")
	SetSysctl(t, r, "net/ipv4/ip_forward", "0")
	if n, _ := Ping(a, netip.MustParseAddr("10.2.0.2"), 1, 300*time.Millisecond); n != 0 {
		t.Errorf("forwarded without ip_forward")
	}
	SetSysctl(t, r, "net.ipv4.ip_forward", "1")
	if v, err := Sysctl(r, "net/ipv4/ip_forward"); err != nil || v != "1" {
		t.Errorf("ip_forward in r = %q, %v", v, err)
	}
	if v, err := Sysctl(a, "net/ipv4/ip_forward"); err != nil || v != "0" {
		t.Errorf("ip_forward leaked into a: %q, %v", v, err)
	}
	if n, err := Ping(a, netip.MustParseAddr("10.2.0.2"), 3, 3*time.Second); n != 3 {
		t.Errorf("routed ping: %d/3, %v", n, err)
	}
	if err := TransferTCP(t, c, a, "10.1.0.2:0", 256<<10); err != nil {
		t.Error(err)
	}
	AddRoute(t, a, "fd00:9::/64", "fe80::1%eth0") // link-local gateway with zone
	DisableIPv6(t, c)
	if v, err := Sysctl(c, "net/ipv6/conf/eth0/disable_ipv6"); err != nil || v != "1" {
		t.Errorf("disable_ipv6 on eth0 = %q, %v", v, err)
	}
}

func TestDo(t *testing.T) {
	t.Parallel()
	RequirePriv(t, "netns switching")
	a, b := NewNS(t), NewNS(t)
	inode := func(h netns.NsHandle) string { return h.UniqueId() }

	err := a.Do(func() error {
		cur, err := netns.Get()
		if err != nil {
			return err
		}
		defer cur.Close()
		if !cur.Equal(a.Handle()) {
			return fmt.Errorf("inside a.Do the thread is in %s, want %s", inode(cur), inode(a.Handle()))
		}
		// Nested Do returns to a, not to the root namespace.
		if err := b.Do(func() error { return nil }); err != nil {
			return err
		}
		back, err := netns.Get()
		if err != nil {
			return err
		}
		defer back.Close()
		if !back.Equal(a.Handle()) {
			return errors.New("nested Do did not return to a")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Many goroutines hopping namespaces must never see a foreign one.
	root, err := netns.GetFromPath("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for i := range 64 {
		ns := a
		if i%2 == 1 {
			ns = b
		}
		wg.Go(func() {
			errs <- <-ns.Go(func() error {
				cur, err := netns.Get()
				if err != nil {
					return err
				}
				defer cur.Close()
				if !cur.Equal(ns.Handle()) {
					return fmt.Errorf("Go(fn) ran in the wrong namespace")
				}
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestDoPanicRestores(t *testing.T) {
	RequirePriv(t, "netns switching")
	a := NewNS(t)
	done := make(chan bool)
	go func() {
		defer func() {
			recover()
			cur, err := netns.Get()
			if err != nil {
				done <- false
				return
			}
			defer cur.Close()
			done <- !cur.Equal(a.Handle())
		}()
		a.Do(func() error { panic("boom") })
	}()
	if !<-done {
		t.Errorf("thread still in the namespace after a panic in Do")
	}
}

func TestCleanup(t *testing.T) {
	RequireRoot(t)
	outer := NewNS(t)
	var name string
	t.Run("inner", func(t *testing.T) {
		ns := NewNS(t)
		name = ns.Name()
		if _, err := os.Stat(filepath.Join("/run/netns", name)); err != nil {
			t.Fatalf("namespace not pinned: %v", err)
		}
		Veth(t, ns, "in0", outer, "out0")
		ln, err := ListenTCP(ns, "127.0.0.1:0") // a socket pinning the netns
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
	})
	if _, err := os.Stat(filepath.Join("/run/netns", name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("/run/netns/%s after cleanup: %v", name, err)
	}
	if h, err := netns.GetFromName(name); err == nil {
		h.Close()
		t.Errorf("netns %s still exists after cleanup", name)
	}
	// Deleting the namespace's links took the peer in the other one too.
	if _, err := outer.Netlink().LinkByName("out0"); err == nil {
		t.Errorf("veth peer out0 survived its namespace")
	}
}

func TestNilNamespace(t *testing.T) {
	if _, err := Ping(nil, netip.MustParseAddr("127.0.0.1"), 1, time.Second); err == nil {
		t.Error("Ping accepted a nil namespace")
	}
	if _, err := HardwareAddr(nil, "lo"); err == nil {
		t.Error("HardwareAddr accepted a nil namespace")
	}
	if _, err := GetOffload(nil, "lo", OffloadGRO); err == nil {
		t.Error("GetOffload accepted a nil namespace")
	}
}
