package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// Counter kinds, as named on the command line.
var counterKinds = []string{"ports", "tunnels", "drops", "pdr"}

// counterNames are the JSON names of the counters: the P4 names without the
// control and the _counter suffix.
var counterNames = map[uint32]string{
	p4info.IDCounterPortRX:   "port_rx",
	p4info.IDCounterPortTX:   "port_tx",
	p4info.IDCounterTunnelTX: "tunnel_tx",
	p4info.IDCounterTunnelRX: "tunnel_rx",
	p4info.IDCounterDrop:     "drop",
}

func parseKinds(args []string) ([]string, error) {
	if len(args) == 0 {
		return counterKinds, nil
	}
	var out []string
	for _, a := range args {
		k := strings.ToLower(a)
		switch k {
		case "port":
			k = "ports"
		case "tunnel":
			k = "tunnels"
		case "drop":
			k = "drops"
		case "pdrs":
			k = "pdr"
		}
		if !slices.Contains(counterKinds, k) {
			return nil, usageErrorf("unknown counters %q (ports, tunnels, drops, pdr)", a)
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}

// counterRow is one counter cell; with --json, show counters prints an array of
// them and watch counters one object per sample holding them.
type counterRow struct {
	Counter string   `json:"counter"` // port_rx, port_tx, tunnel_tx, tunnel_rx, drop, pdr, pdr_default
	Index   int64    `json:"index"`   // port number, tunnel id, drop reason code; 0 for pdr
	Name    string   `json:"name"`    // drop reason name; the rule's key for pdr
	Packets uint64   `json:"packets"`
	Bytes   uint64   `json:"bytes"`
	PPS     *float64 `json:"pps,omitempty"` // watch: packets per second since the previous sample
	BPS     *float64 `json:"bps,omitempty"` // watch: bits per second since the previous sample
}

func (r counterRow) id() string {
	return r.Counter + "/" + strconv.FormatInt(r.Index, 10) + "/" + r.Name
}

// sample is one reading of the counters of some kinds.
type sample struct {
	at   time.Time
	rows []counterRow // in display order
}

func (c *client) sampleCounters(ctx context.Context, kinds []string, all bool) (sample, error) {
	var ents []*p4v1.Entity
	var tunnels map[int64]bool
	for _, k := range kinds {
		var ids []uint32
		switch k {
		case "ports":
			ids = []uint32{p4info.IDCounterPortRX, p4info.IDCounterPortTX}
		case "tunnels":
			ids = []uint32{p4info.IDCounterTunnelTX, p4info.IDCounterTunnelRX}
			rows, err := c.readTunnels(ctx)
			if err != nil {
				return sample{}, err
			}
			tunnels = map[int64]bool{}
			for _, r := range rows {
				tunnels[int64(r.ID)] = true
			}
		case "drops":
			ids = []uint32{p4info.IDCounterDrop}
		}
		for _, id := range ids {
			ents = append(ents, &p4v1.Entity{Entity: &p4v1.Entity_CounterEntry{CounterEntry: &p4v1.CounterEntry{CounterId: id}}})
		}
	}
	s := sample{at: time.Now()}
	if len(ents) > 0 {
		got, err := c.read(ctx, ents...)
		if err != nil {
			return sample{}, err
		}
		// Keep the cells worth showing: non-zero ones, configured tunnels, or all
		// (--all; index 0 is no port, tunnel or reason).
		cells := map[uint32]map[int64]counterRow{}
		keep := map[string]map[int64]bool{}
		for _, ent := range got {
			ce := ent.GetCounterEntry()
			if ce == nil || ce.GetIndex() == nil {
				continue
			}
			i := ce.GetIndex().GetIndex()
			kind := kindOf(ce.CounterId)
			if cells[ce.CounterId] == nil {
				cells[ce.CounterId] = map[int64]counterRow{}
			}
			r := counterRow{Counter: counterNames[ce.CounterId], Index: i,
				Packets: uint64(ce.GetData().GetPacketCount()), Bytes: uint64(ce.GetData().GetByteCount())}
			if ce.CounterId == p4info.IDCounterDrop {
				r.Name = dropName(i)
			}
			cells[ce.CounterId][i] = r
			if keep[kind] == nil {
				keep[kind] = map[int64]bool{}
			}
			listed := all && i > 0
			if kind == "drops" {
				listed = all && i > 0 && i < int64(dataplane.NumDropReasons) // codes the data path defines
			}
			if r.Packets != 0 || r.Bytes != 0 || listed || (kind == "tunnels" && tunnels[i]) {
				keep[kind][i] = true
			}
		}
		for _, k := range kinds {
			for _, id := range counterIDsOf(k) {
				idx := make([]int64, 0, len(keep[k]))
				for i := range keep[k] {
					idx = append(idx, i)
				}
				slices.Sort(idx)
				for _, i := range idx {
					r, ok := cells[id][i]
					if !ok {
						continue
					}
					s.rows = append(s.rows, r)
				}
			}
		}
	}
	if slices.Contains(kinds, "pdr") {
		es, err := c.readTable(ctx, p4info.IDTablePDR)
		if err != nil {
			return sample{}, err
		}
		for _, e := range es {
			r := pdrRowOf(e)
			s.rows = append(s.rows, counterRow{Counter: "pdr", Name: pdrKeyArgs(e), Packets: r.Packets, Bytes: r.Bytes})
		}
		d, err := c.readPDRDefault(ctx)
		if err != nil {
			return sample{}, err
		}
		s.rows = append(s.rows, counterRow{Counter: "pdr_default", Name: "default " + d.Action, Packets: d.Packets, Bytes: d.Bytes})
	}
	return s, nil
}

func kindOf(counter uint32) string {
	switch counter {
	case p4info.IDCounterPortRX, p4info.IDCounterPortTX:
		return "ports"
	case p4info.IDCounterTunnelTX, p4info.IDCounterTunnelRX:
		return "tunnels"
	}
	return "drops"
}

func counterIDsOf(kind string) []uint32 {
	switch kind {
	case "ports":
		return []uint32{p4info.IDCounterPortRX, p4info.IDCounterPortTX}
	case "tunnels":
		return []uint32{p4info.IDCounterTunnelTX, p4info.IDCounterTunnelRX}
	case "drops":
		return []uint32{p4info.IDCounterDrop}
	}
	return nil
}

// withRates sets the rates of cur's rows from the previous sample.
func withRates(cur, prev sample) sample {
	dt := cur.at.Sub(prev.at).Seconds()
	old := map[string]counterRow{}
	for _, r := range prev.rows {
		old[r.id()] = r
	}
	out := sample{at: cur.at, rows: make([]counterRow, len(cur.rows))}
	for i, r := range cur.rows {
		var pps, bps float64
		if o, ok := old[r.id()]; ok && dt > 0 && r.Packets >= o.Packets && r.Bytes >= o.Bytes {
			pps = float64(r.Packets-o.Packets) / dt
			bps = float64(r.Bytes-o.Bytes) * 8 / dt
		}
		r.PPS, r.BPS = &pps, &bps
		out.rows[i] = r
	}
	return out
}

func showCounters(ctx context.Context, o *options, args []string) error {
	kinds, err := parseKinds(args)
	if err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		s, err := c.sampleCounters(ctx, kinds, o.all)
		if err != nil {
			return err
		}
		if o.json {
			if s.rows == nil {
				s.rows = []counterRow{}
			}
			return writeJSON(o.stdout, s.rows)
		}
		printCounters(o.stdout, kinds, s, false)
		return nil
	})
}

// printCounters prints a sample as one table per kind (with rate columns when
// rates).
func printCounters(w io.Writer, kinds []string, s sample, rates bool) {
	byCell := map[string]map[int64]counterRow{}
	for _, r := range s.rows {
		if byCell[r.Counter] == nil {
			byCell[r.Counter] = map[int64]counterRow{}
		}
		byCell[r.Counter][r.Index] = r
	}
	rateCells := func(r counterRow) []any {
		if !rates {
			return nil
		}
		if r.PPS == nil {
			return []any{"-", "-"}
		}
		return []any{rate(*r.PPS), rate(*r.BPS)}
	}
	indexes := func(names ...string) []int64 {
		var idx []int64
		for _, n := range names {
			for i := range byCell[n] {
				if !slices.Contains(idx, i) {
					idx = append(idx, i)
				}
			}
		}
		slices.Sort(idx)
		return idx
	}
	pair := func(t *table, a, b string, idx []int64) {
		for _, i := range idx {
			ra, rb := byCell[a][i], byCell[b][i]
			cells := []any{i, human(ra.Packets), human(ra.Bytes)}
			cells = append(cells, rateCells(ra)...)
			cells = append(cells, human(rb.Packets), human(rb.Bytes))
			cells = append(cells, rateCells(rb)...)
			t.row(cells...)
		}
	}
	header := func(first string, dirs ...string) []string {
		h := []string{first}
		for _, d := range dirs {
			h = append(h, d+" PACKETS", d+" BYTES")
			if rates {
				h = append(h, d+" PKT/S", d+" BIT/S")
			}
		}
		return h
	}
	firstSection := true
	for _, k := range kinds {
		switch k {
		case "ports":
			idx := indexes("port_rx", "port_tx")
			section(w, &firstSection, "ports ("+plural(len(idx), "port", "ports")+")")
			t := newTable(w, header("PORT", "RX", "TX")...)
			pair(t, "port_rx", "port_tx", idx)
			t.flush()
		case "tunnels":
			idx := indexes("tunnel_tx", "tunnel_rx")
			section(w, &firstSection, "tunnels ("+plural(len(idx), "tunnel", "tunnels")+")")
			t := newTable(w, header("TUNNEL", "TX", "RX")...)
			pair(t, "tunnel_tx", "tunnel_rx", idx)
			t.flush()
		case "drops":
			idx := indexes("drop")
			section(w, &firstSection, "drops ("+plural(len(idx), "reason", "reasons")+")")
			h := []string{"CODE", "REASON", "PACKETS", "BYTES"}
			if rates {
				h = append(h, "PKT/S", "BIT/S")
			}
			t := newTable(w, h...)
			for _, i := range idx {
				r := byCell["drop"][i]
				t.row(append([]any{i, r.Name, human(r.Packets), human(r.Bytes)}, rateCells(r)...)...)
			}
			t.flush()
		case "pdr":
			var n int
			for _, r := range s.rows {
				if r.Counter == "pdr" {
					n++
				}
			}
			section(w, &firstSection, "pdr ("+plural(n, "rule", "rules")+" and the default)")
			h := []string{"RULE", "PACKETS", "BYTES"}
			if rates {
				h = append(h, "PKT/S", "BIT/S")
			}
			t := newTable(w, h...)
			for _, r := range s.rows {
				if r.Counter == "pdr" || r.Counter == "pdr_default" {
					t.row(append([]any{r.Name, human(r.Packets), human(r.Bytes)}, rateCells(r)...)...)
				}
			}
			t.flush()
		}
	}
}

// isTerminal reports whether w is a terminal (watch then redraws in place).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// watchJSON is one sample of watch counters --json (one line each).
type watchJSON struct {
	Time     time.Time    `json:"time"`
	Counters []counterRow `json:"counters"`
}

func watchCounters(ctx context.Context, o *options, args []string) error {
	kinds, err := parseKinds(args)
	if err != nil {
		return err
	}
	if o.interval <= 0 {
		return usageErrorf("--interval must be positive")
	}
	if o.count < 0 {
		return usageErrorf("--count must not be negative")
	}
	return withClient(o, func(c *client) error {
		tty := isTerminal(o.stdout) && !o.json
		var prev *sample
		tick := time.NewTicker(o.interval)
		defer tick.Stop()
		for n := 1; ; n++ {
			s, err := c.sampleCounters(ctx, kinds, o.all)
			if err != nil {
				if ctx.Err() != nil {
					return nil // interrupted
				}
				return err
			}
			shown := s
			if prev != nil {
				shown = withRates(s, *prev)
			}
			if o.json {
				if shown.rows == nil {
					shown.rows = []counterRow{}
				}
				b, err := json.Marshal(watchJSON{Time: s.at.UTC(), Counters: shown.rows})
				if err != nil {
					return err
				}
				fmt.Fprintf(o.stdout, "%s\n", b)
			} else {
				if tty {
					fmt.Fprint(o.stdout, "\x1b[H\x1b[2J")
				} else if n > 1 {
					fmt.Fprintln(o.stdout)
				}
				fmt.Fprintf(o.stdout, "%s  device %d  sample %d  every %v (rates since the previous sample)\n\n",
					s.at.Format("15:04:05"), o.deviceID, n, o.interval)
				printCounters(o.stdout, kinds, shown, true)
			}
			prev = &s
			if o.count > 0 && n >= o.count {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	})
}
