package netlab

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/gopacket/layers"
)

// The bulk of this package is exercised through internal/testenv's tests;
// these cover what only netlab has. They skip without privileges (testenv,
// which would make them fail under LINX_REQUIRE_PRIV=1, imports netlab).
func requirePriv(t *testing.T) {
	t.Helper()
	if p := PrivProblem(); p != "" {
		if os.Getenv("LINX_REQUIRE_PRIV") == "1" {
			t.Fatalf("needs root: %s", p)
		}
		t.Skipf("needs root: %s", p)
	}
}

func newNS(t *testing.T) *NS {
	t.Helper()
	requirePriv(t)
	ns, err := NewNS("linxt-netlab")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Destroy(); err != nil {
			t.Error(err)
		}
	})
	return ns
}

func pair(t *testing.T) (a, b *NS) {
	t.Helper()
	a, b = newNS(t), newNS(t)
	must(t, func() error { _, _, err := Veth(a, "v0", b, "v1"); return err }())
	must(t, AddAddr(a, "v0", "10.9.0.1/24"))
	must(t, AddAddr(b, "v1", "10.9.0.2/24"))
	return a, b
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestDestroy(t *testing.T) {
	requirePriv(t)
	ns, err := NewNS("linxt-netlab")
	must(t, err)
	if _, err := NewNamedNS(ns.Name()); !errors.Is(err, os.ErrExist) {
		t.Errorf("second namespace named %s: %v, want ErrExist", ns.Name(), err)
	}
	must(t, ns.Destroy())
	must(t, ns.Destroy()) // idempotent
	if _, err := os.Stat(filepath.Join(NetnsDir, ns.Name())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("pin survives Destroy: %v", err)
	}
	if err := AddAddr(ns, "lo", "10.0.0.1/8"); err == nil {
		t.Error("AddAddr on a destroyed namespace succeeded")
	}
	if err := ns.Do(func() error { return nil }); err == nil {
		t.Error("Do on a destroyed namespace succeeded")
	}
	var nilNS *NS
	if err := nilNS.Destroy(); err != nil {
		t.Errorf("nil Destroy: %v", err)
	}
	if _, _, err := Veth(nilNS, "x", nilNS, "y"); err == nil {
		t.Error("Veth in a nil namespace succeeded")
	}
	if _, err := NewNamedNS("../escape"); err == nil {
		t.Error("NewNamedNS accepted a path")
	}
}

func TestSendUDPTOS(t *testing.T) {
	a, b := pair(t)
	capt, err := NewCapture(b, "v1")
	must(t, err)
	defer capt.Close()
	sink, err := NewUDPSink(b, "10.9.0.2:7000")
	must(t, err)
	defer sink.Close()
	flow, err := SendUDPWith(a, "10.9.0.1:4000", "10.9.0.2:7000", 3, UDPOptions{Size: 100, TOS: 46 << 2})
	must(t, err)
	if got := sink.WaitReceived(flow, 3, 2*time.Second); got != 3 {
		t.Errorf("received %d/3", got)
	}
	p, ok := capt.Wait(2*time.Second, func(p Packet) bool {
		ip, ok := p.Decode().Layer(layers.LayerTypeIPv4).(*layers.IPv4)
		return ok && ip.Protocol == layers.IPProtocolUDP
	})
	if !ok {
		t.Fatalf("no datagram captured: %s", capt)
	}
	if ip := p.Decode().Layer(layers.LayerTypeIPv4).(*layers.IPv4); ip.TOS != 46<<2 {
		t.Errorf("TOS %#x, want %#x", ip.TOS, 46<<2)
	}
}

func TestStartTCP(t *testing.T) {
	a, b := pair(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Paced: progress is visible while it runs, and it completes intact.
	s, err := StartTCP(ctx, a, b, "10.9.0.2:0", 1<<20, TCPOptions{Rate: 4 << 20, LocalAddr: "10.9.0.1:45000"})
	must(t, err)
	if got := s.Local(); got != netip.MustParseAddrPort("10.9.0.1:45000") {
		t.Errorf("local %v", got)
	}
	for s.Received() < 64<<10 {
		select {
		case <-s.Done():
			t.Fatalf("done before 64 KiB arrived: %v", s.Wait())
		case <-time.After(time.Millisecond):
		}
	}
	must(t, s.Wait())
	if s.Sent() != 1<<20 || s.Received() != 1<<20 {
		t.Errorf("sent %d received %d", s.Sent(), s.Received())
	}

	// Aborted: Wait reports it.
	s, err = StartTCP(ctx, a, b, "10.9.0.2:0", 64<<20, TCPOptions{Rate: 1 << 20})
	must(t, err)
	s.Abort()
	if err := s.Wait(); err == nil {
		t.Error("aborted transfer reported success")
	}

	// Cancelled context: the same.
	cctx, ccancel := context.WithCancel(ctx)
	s, err = StartTCP(cctx, a, b, "10.9.0.2:0", 64<<20, TCPOptions{Rate: 1 << 20})
	must(t, err)
	ccancel()
	if err := s.Wait(); err == nil {
		t.Error("cancelled transfer reported success")
	}

	// Nobody listening where the client dials.
	if _, err := StartTCP(ctx, a, b, "10.9.0.2:0", 1, TCPOptions{DialAddr: "10.9.0.2:9"}); err == nil {
		t.Error("dial to a closed port succeeded")
	}
}

func TestAttachXDPPass(t *testing.T) {
	a, b := pair(t)
	if p := XDPProblem(); p != "" {
		t.Skip(p)
	}
	c, err := AttachXDPPass(b, "v1")
	must(t, err)
	// Traffic still flows through the pass program.
	if n, err := Ping(a, netip.MustParseAddr("10.9.0.2"), 2, 3*time.Second); n != 2 {
		t.Errorf("ping through xdp pass: %d/2, %v", n, err)
	}
	must(t, c.Close())
}
