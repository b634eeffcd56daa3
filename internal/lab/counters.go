package lab

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/linx-sdwan/linx/dataplane"
)

// Counters is a snapshot of one gateway's counters.
type Counters struct {
	Tunnels map[dataplane.TunnelID]dataplane.TunnelCounters
	Ports   map[dataplane.PortID]dataplane.PortCounters
	Drops   map[dataplane.DropReason]dataplane.Counter
}

// Counters reads the gateway's tunnel, port and drop counters.
func (s *Site) Counters() (Counters, error) {
	s.mu.Lock()
	dp := s.DP
	s.mu.Unlock()
	if dp == nil {
		return Counters{}, fmt.Errorf("gw-%s: no data path", s.Name)
	}
	c := Counters{
		Tunnels: map[dataplane.TunnelID]dataplane.TunnelCounters{},
		Ports:   map[dataplane.PortID]dataplane.PortCounters{},
	}
	for _, id := range Tunnels {
		t, err := dp.TunnelCounter(id)
		if err != nil {
			return Counters{}, fmt.Errorf("gw-%s: %w", s.Name, err)
		}
		c.Tunnels[id] = t
	}
	for _, id := range Ports {
		p, err := dp.PortCounter(id)
		if err != nil {
			return Counters{}, fmt.Errorf("gw-%s: %w", s.Name, err)
		}
		c.Ports[id] = p
	}
	d, err := dp.DropCounters()
	if err != nil {
		return Counters{}, fmt.Errorf("gw-%s: %w", s.Name, err)
	}
	c.Drops = d
	return c, nil
}

// TunnelTX returns the packets gw encapsulated onto tunnel id so far.
func (s *Site) TunnelTX(id dataplane.TunnelID) (uint64, error) {
	s.mu.Lock()
	dp := s.DP
	s.mu.Unlock()
	if dp == nil {
		return 0, fmt.Errorf("gw-%s: no data path", s.Name)
	}
	c, err := dp.TunnelCounter(id)
	if err != nil {
		return 0, fmt.Errorf("gw-%s: %w", s.Name, err)
	}
	return c.TX.Packets, nil
}

func sub(a, b dataplane.Counter) dataplane.Counter {
	return dataplane.Counter{Packets: a.Packets - b.Packets, Bytes: a.Bytes - b.Bytes}
}

// Sub returns c minus an earlier snapshot of the same gateway: what happened
// in between.
func (c Counters) Sub(earlier Counters) Counters {
	d := Counters{
		Tunnels: map[dataplane.TunnelID]dataplane.TunnelCounters{},
		Ports:   map[dataplane.PortID]dataplane.PortCounters{},
		Drops:   map[dataplane.DropReason]dataplane.Counter{},
	}
	for id, t := range c.Tunnels {
		e := earlier.Tunnels[id]
		d.Tunnels[id] = dataplane.TunnelCounters{TX: sub(t.TX, e.TX), RX: sub(t.RX, e.RX)}
	}
	for id, p := range c.Ports {
		e := earlier.Ports[id]
		d.Ports[id] = dataplane.PortCounters{RX: sub(p.RX, e.RX), TX: sub(p.TX, e.TX), Drops: sub(p.Drops, e.Drops)}
	}
	for r, x := range c.Drops {
		if y := sub(x, earlier.Drops[r]); y.Packets > 0 {
			d.Drops[r] = y
		}
	}
	return d
}

// WriteTable prints the counters of both gateways as an aligned table: per
// gateway one row per tunnel and port with packets and bytes each way (a
// tunnel's tx is what it encapsulated, rx what it decapsulated; a port's tx
// is what XDP redirected out of it), then the drops.
func WriteTable(w io.Writer, a, b Counters) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	// Labels are padded by hand: the table aligns numbers right.
	row := func(gw, what string, tx, rx dataplane.Counter) {
		fmt.Fprintf(tw, "%-6s%-12s\t%d\t%d\t%d\t%d\t\n", gw, what, tx.Packets, tx.Bytes, rx.Packets, rx.Bytes)
	}
	fmt.Fprintf(tw, "%-18s\ttx pkts\ttx bytes\trx pkts\trx bytes\t\n", "")
	for _, g := range []struct {
		name string
		c    Counters
	}{{"gw-a", a}, {"gw-b", b}} {
		for _, id := range Tunnels {
			t := g.c.Tunnels[id]
			row(g.name, fmt.Sprintf("tunnel %d", id), t.TX, t.RX)
		}
		for _, id := range Ports {
			p := g.c.Ports[id]
			row(g.name, fmt.Sprintf("port %d %s", id, PortName(id)), p.TX, p.RX)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "drops: gw-a %s; gw-b %s\n", FormatDrops(a.Drops), FormatDrops(b.Drops))
	return err
}

// FormatDrops renders drop counters as "reason=packets ..." ("none" when
// empty), sorted by reason.
func FormatDrops(d map[dataplane.DropReason]dataplane.Counter) string {
	if len(d) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(d)) {
		parts = append(parts, fmt.Sprintf("%s=%d", r, d[r].Packets))
	}
	return strings.Join(parts, " ")
}
