package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Overlays, as programmed on both gateways.
const (
	tunnel1    = 1 // over WAN link 1, no GRE key
	tunnel2    = 2 // over WAN link 2, GRE key tunnel2Key
	tunnel2Key = 2
)

// cell is one counter cell of `linxctl show counters --json`.
type cell struct {
	Counter string `json:"counter"`
	Index   int64  `json:"index"`
	Name    string `json:"name"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

// count is packets and bytes.
type count struct{ Packets, Bytes uint64 }

func (c count) sub(e count) count { return count{c.Packets - e.Packets, c.Bytes - e.Bytes} }

// counters is a gateway's tunnel counters and drops, read with linxctl.
type counters struct {
	TX, RX map[int64]count  // by tunnel
	Drops  map[string]count // by reason
}

// sub returns c minus an earlier reading: what happened in between.
func (c counters) sub(e counters) counters {
	d := counters{TX: map[int64]count{}, RX: map[int64]count{}, Drops: map[string]count{}}
	for id, x := range c.TX {
		d.TX[id] = x.sub(e.TX[id])
	}
	for id, x := range c.RX {
		d.RX[id] = x.sub(e.RX[id])
	}
	for r, x := range c.Drops {
		if y := x.sub(e.Drops[r]); y.Packets > 0 {
			d.Drops[r] = y
		}
	}
	return d
}

// Probe replies share the overlays with the demo's traffic: each gateway's
// reflector answers the other's STAMP probes (docs/sla.md) through the same
// tunnels, and the tunnel counters count those replies. The demo tells them
// apart by size: a reply is a 44-octet STAMP packet in UDP and IPv4, the
// demo's datagrams carry flowSize octets, and the counters count frames
// (Ethernet, outer IPv4, GRE, inner packet).
const replyInner = 20 + 8 + 44

// frameLen is the counted length of an inner packet of n octets on overlay id.
func frameLen(id int64, n int) uint64 {
	gre := 4
	if id == tunnel2 {
		gre = 8 // with the key
	}
	return uint64(14 + 20 + gre + n)
}

// flowPackets is how many of the packets in c (overlay id) are the demo's
// datagrams: those of flowSize octets, with the probe replies taken out. It
// assumes c holds nothing else; when its bytes do not add up that way it
// returns all of c's packets, so that a check built on it fails visibly.
func flowPackets(id int64, c count) uint64 {
	d, r := frameLen(id, 20+8+flowSize), frameLen(id, replyInner)
	if c.Packets*d < c.Bytes || (c.Packets*d-c.Bytes)%(d-r) != 0 {
		return c.Packets
	}
	replies := (c.Packets*d - c.Bytes) / (d - r)
	if replies > c.Packets {
		return c.Packets
	}
	return c.Packets - replies
}

// flows is flowPackets of overlay id's TX.
func (c counters) flows(id int64) uint64 { return flowPackets(id, c.TX[id]) }

// txSum is the demo's datagrams encapsulated onto every overlay.
func (c counters) txSum() uint64 {
	var n uint64
	for id, x := range c.TX {
		n += flowPackets(id, x)
	}
	return n
}

// onlyReplies reports whether everything c counts on the overlays is probe
// replies.
func (c counters) onlyReplies() bool {
	for id, x := range c.TX {
		if x.Bytes != x.Packets*frameLen(id, replyInner) {
			return false
		}
	}
	return true
}

// read reads a's tunnel counters and drops: `linxctl show counters tunnels
// drops --json`.
func (d *demo) read(ctx context.Context, a *agent) (counters, error) {
	out, err := d.ctl(ctx, a, "show", "counters", "tunnels", "drops", "--json")
	if err != nil {
		return counters{}, err
	}
	var cells []cell
	if err := json.Unmarshal([]byte(out), &cells); err != nil {
		return counters{}, fmt.Errorf("%s: linxctl show counters --json: %w", a.name, err)
	}
	c := counters{TX: map[int64]count{}, RX: map[int64]count{}, Drops: map[string]count{}}
	for _, x := range cells {
		v := count{x.Packets, x.Bytes}
		switch x.Counter {
		case "tunnel_tx":
			c.TX[x.Index] = v
		case "tunnel_rx":
			c.RX[x.Index] = v
		case "drop":
			if v.Packets > 0 {
				c.Drops[x.Name] = v
			}
		}
	}
	return c, nil
}

// waitTX waits until a's gateway has encapsulated at least want packets
// since before, then a little longer for stragglers, and returns the
// difference.
func (d *demo) waitTX(ctx context.Context, a *agent, before counters, want uint64) (counters, error) {
	end := time.Now().Add(5 * time.Second)
	for {
		now, err := d.read(ctx, a)
		if err != nil {
			return counters{}, err
		}
		delta := now.sub(before)
		if delta.txSum() >= want || time.Now().After(end) {
			time.Sleep(100 * time.Millisecond)
			if now, err = d.read(ctx, a); err != nil {
				return counters{}, err
			}
			return now.sub(before), nil
		}
		select {
		case <-ctx.Done():
			return counters{}, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// quiet waits until a's gateway has encapsulated nothing for a moment (the
// last ACKs of earlier TCP connections, say), and returns its counters then.
func (d *demo) quiet(ctx context.Context, a *agent) (counters, error) {
	last, err := d.read(ctx, a)
	if err != nil {
		return counters{}, err
	}
	end := time.Now().Add(5 * time.Second)
	for {
		select {
		case <-ctx.Done():
			return counters{}, ctx.Err()
		case <-time.After(150 * time.Millisecond):
		}
		now, err := d.read(ctx, a)
		if err != nil {
			return counters{}, err
		}
		if now.sub(last).onlyReplies() {
			return now, nil
		}
		if time.Now().After(end) {
			return counters{}, fmt.Errorf("%s: overlays still busy after 5s", a.name)
		}
		last = now
	}
}

// formatDrops renders drops as "reason=packets ..." ("none" when empty).
func formatDrops(m map[string]count) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s=%d", r, m[r].Packets))
	}
	return strings.Join(parts, " ")
}
