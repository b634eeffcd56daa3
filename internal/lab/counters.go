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
		d.Ports[id] = dataplane.PortCounters{RX: sub(p.RX, e.RX), TX: sub(p.TX, e.TX)}
	}
	for r, x := range c.Drops {
		if y := sub(x, earlier.Drops[r]); y.Packets > 0 {
			d.Drops[r] = y
		}
	}
	return d
}

// WriteTable prints the counters of both gateways as an aligned table: one
// row per tunnel and port, packets and bytes each way, then the drops.
func WriteTable(w io.Writer, a, b Counters) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tgw-a tx pkts\ttx bytes\trx pkts\trx bytes\tgw-b tx pkts\ttx bytes\trx pkts\trx bytes\t")
	for _, id := range Tunnels {
		x, y := a.Tunnels[id], b.Tunnels[id]
		fmt.Fprintf(tw, "tunnel %d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", id,
			x.TX.Packets, x.TX.Bytes, x.RX.Packets, x.RX.Bytes, y.TX.Packets, y.TX.Bytes, y.RX.Packets, y.RX.Bytes)
	}
	for _, id := range Ports {
		x, y := a.Ports[id], b.Ports[id]
		fmt.Fprintf(tw, "port %d %s\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", id, PortName(id),
			x.TX.Packets, x.TX.Bytes, x.RX.Packets, x.RX.Bytes, y.TX.Packets, y.TX.Bytes, y.RX.Packets, y.RX.Bytes)
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
