package lab

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

func TestShareBand(t *testing.T) {
	for _, tc := range []struct {
		n      int
		p      float64
		lo, hi int
	}{
		// 400·0.75 = 300, σ = √(400·0.75·0.25) ≈ 8.66; ±5σ ≈ ±43.3, ± 400·2/1021 ≈ 0.78.
		{400, 0.75, 255, 345},
		{100, 0.25, 3, 47},
		{10, 0.5, 0, 10},
	} {
		if lo, hi := ShareBand(tc.n, tc.p); lo != tc.lo || hi != tc.hi {
			t.Errorf("ShareBand(%d, %v) = %d..%d, want %d..%d", tc.n, tc.p, lo, hi, tc.lo, tc.hi)
		}
	}
	if Tunnel1Weight != 0.75 {
		t.Errorf("Tunnel1Weight = %v", Tunnel1Weight)
	}
}

func TestCounters(t *testing.T) {
	c := func(p, b uint64) dataplane.Counter { return dataplane.Counter{Packets: p, Bytes: b} }
	before := Counters{
		Tunnels: map[dataplane.TunnelID]dataplane.TunnelCounters{Tunnel1: {TX: c(10, 1000)}},
		Ports:   map[dataplane.PortID]dataplane.PortCounters{PortLAN: {RX: c(5, 500)}},
		Drops:   map[dataplane.DropReason]dataplane.Counter{dataplane.DropPolicy: c(1, 60)},
	}
	after := Counters{
		Tunnels: map[dataplane.TunnelID]dataplane.TunnelCounters{Tunnel1: {TX: c(15, 1600)}, Tunnel2: {RX: c(2, 200)}},
		Ports:   map[dataplane.PortID]dataplane.PortCounters{PortLAN: {RX: c(9, 900)}},
		Drops:   map[dataplane.DropReason]dataplane.Counter{dataplane.DropPolicy: c(1, 60), dataplane.DropTunnelDown: c(3, 300)},
	}
	d := after.Sub(before)
	if got := d.Tunnels[Tunnel1].TX; got != c(5, 600) {
		t.Errorf("tunnel 1 tx delta %v", got)
	}
	if got := d.Tunnels[Tunnel2].RX; got != c(2, 200) {
		t.Errorf("tunnel 2 rx delta %v", got)
	}
	if got := d.Ports[PortLAN].RX; got != c(4, 400) {
		t.Errorf("lan rx delta %v", got)
	}
	if _, ok := d.Drops[dataplane.DropPolicy]; ok || d.Drops[dataplane.DropTunnelDown] != c(3, 300) {
		t.Errorf("drop delta %v", d.Drops)
	}
	var buf bytes.Buffer
	if err := WriteTable(&buf, after, before); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"tunnel 1", "tunnel 2", "port 1 lan", "port 3 wan2", "tunnel_down=3", "policy=1"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if FormatDrops(nil) != "none" {
		t.Errorf("FormatDrops(nil) = %q", FormatDrops(nil))
	}
}

// gone reports whether no namespace of names is pinned any more.
func gone(t *testing.T, names []string) {
	t.Helper()
	for _, n := range names {
		if _, err := os.Stat(filepath.Join(netlab.NetnsDir, n)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("namespace %s left behind: %v", n, err)
		}
	}
}

// recorder creates namespaces like testenv (owned by t) and records their
// names; it fails the call numbered failAt (1-based, 0: never).
func recorder(t *testing.T, failAt int) (func(string) (*netlab.NS, error), *[]string) {
	var names []string
	mk := testenv.NSMaker(t)
	return func(hint string) (*netlab.NS, error) {
		if len(names)+1 == failAt {
			return nil, errors.New("injected failure")
		}
		ns, err := mk(hint)
		if err == nil {
			names = append(names, ns.Name())
		}
		return ns, err
	}, &names
}

func TestNewFailsCleanly(t *testing.T) {
	testenv.RequireRoot(t)
	ctx := context.Background()

	// Fails while creating namespaces.
	mk, names := recorder(t, 3)
	if _, err := New(ctx, Config{NewNS: mk}); err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("New with a failing namespace constructor: %v", err)
	}
	if len(*names) != 2 {
		t.Fatalf("%d namespaces created before the failure, want 2", len(*names))
	}
	gone(t, *names)

	// Fails after gw-a's data path is loaded and partly attached: port 3
	// does not fit MaxPorts 3.
	mk, names = recorder(t, 0)
	opts := LabOptions
	opts.MaxPorts = 3
	if _, err := New(ctx, Config{NewNS: mk, Options: opts}); err == nil || !strings.Contains(err.Error(), "port 3") {
		t.Fatalf("New with too few ports: %v", err)
	}
	if len(*names) != 4 {
		t.Fatalf("%d namespaces created, want 4", len(*names))
	}
	gone(t, *names)

	// A cancelled context stops the build.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := New(cctx, Config{NewNS: testenv.NSMaker(t)}); !errors.Is(err, context.Canceled) {
		t.Errorf("New with a cancelled context: %v", err)
	}
}

func TestCloseTwice(t *testing.T) {
	testenv.RequireRoot(t)
	mk, names := recorder(t, 0)
	l, err := New(context.Background(), Config{NewNS: mk})
	if err != nil {
		t.Fatal(err)
	}
	if l.A.DP == nil || l.B.DP == nil || len(l.A.DP.Ports()) != 3 {
		t.Fatalf("data paths not attached")
	}
	if l.A.TunnelSpec(Tunnel2).Key != Tunnel2Key || l.B.TunnelSpec(Tunnel1).Dst != l.A.WANAddr[0] {
		t.Errorf("tunnel specs: %+v %+v", l.A.TunnelSpec(Tunnel2), l.B.TunnelSpec(Tunnel1))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	gone(t, *names)
	if _, err := l.A.Counters(); err == nil {
		t.Error("counters of a closed lab")
	}
}

// TestUnderlay6 builds the lab with its overlays over IPv6 and pings host to
// host through them: the gateways' overlays run between their IPv6 WAN
// addresses, and the echoes cross them (their tunnel counters move).
func TestUnderlay6(t *testing.T) {
	testenv.RequireRoot(t)
	l, err := New(testenv.Context(t, 2*time.Minute), Config{NewNS: testenv.NSMaker(t), Underlay6: true})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, s := range l.Sites() {
		for i, ti := range s.DP.ListTunnels() {
			if ti.Tunnel.Src != s.WANAddr6[i] || ti.Tunnel.Dst != s.Peer().WANAddr6[i] {
				t.Errorf("gw-%s tunnel %d: %s→%s, want %s→%s", s.Name, ti.ID, ti.Tunnel.Src, ti.Tunnel.Dst, s.WANAddr6[i], s.Peer().WANAddr6[i])
			}
		}
	}
	if err := l.Warmup(testenv.Context(t, time.Minute), 10); err != nil {
		t.Fatal(err)
	}
	for _, s := range l.Sites() {
		c, err := s.Counters()
		if err != nil {
			t.Fatal(err)
		}
		var tx, rx uint64
		for _, id := range Tunnels {
			tx += c.Tunnels[id].TX.Packets
			rx += c.Tunnels[id].RX.Packets
		}
		if tx == 0 || rx == 0 {
			t.Errorf("gw-%s: tunnels sent %d and received %d packets, want echoes both ways", s.Name, tx, rx)
		}
	}
}
