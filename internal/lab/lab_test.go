package lab

import (
	"bytes"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
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
