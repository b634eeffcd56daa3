package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// Table sla_class: the SLA limits of an LBR's traffic (docs/sla.md), which the
// agent's prober enforces by choosing the LBR's members that meet them.

var slaKeys = map[string]string{"dscp": "dscp", "rtt": "rtt", "loss": "loss", "jitter": "jitter"}

// parseSLA parses "LBR [dscp=D] [rtt=DUR] [loss=PCT] [jitter=DUR]" for add and
// mod (an absent limit is 0: not checked), "LBR" for del.
func parseSLA(args []string, withAction bool) (translate.Entry, error) {
	if len(args) == 0 {
		return translate.Entry{}, usageErrorf("sla: want LBR [dscp=D] [rtt=DURATION] [loss=PERCENT] [jitter=DURATION]")
	}
	id, err := parseID(args[0], "lbr")
	if err != nil {
		return translate.Entry{}, usageErrorf("sla: %v", err)
	}
	e := translate.Entry{Key: translate.Key{Table: p4info.IDTableSLAClass, LBR: dataplane.LBRID(id)}}
	if !withAction {
		if len(args) > 1 {
			return translate.Entry{}, usageErrorf("sla: del takes the LBR id only")
		}
		return e, nil
	}
	kvs, err := parseKVs(args[1:], slaKeys)
	if err != nil {
		return translate.Entry{}, usageErrorf("sla: %v", err)
	}
	var a translate.SetSLA
	for k, v := range kvs {
		switch k {
		case "dscp":
			a.DSCP, err = parseNamed(v, dscpNames, p4info.BitsDSCP, "dscp")
		case "rtt":
			a.RTT, err = parseLimitDuration(v)
		case "jitter":
			a.Jitter, err = parseLimitDuration(v)
		case "loss":
			a.LossPPM, err = parseLossPercent(v)
		}
		if err != nil {
			return translate.Entry{}, usageErrorf("sla %s=%s: %v", k, v, err)
		}
	}
	e.Action = a
	return e, nil
}

// parseLimitDuration parses a limit like 150ms: whole microseconds, 32 bits.
func parseLimitDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, fmt.Errorf("want a duration such as 150ms")
	case d < 0 || d%time.Microsecond != 0 || d/time.Microsecond > 1<<p4info.BitsMicros-1:
		return 0, fmt.Errorf("want whole microseconds from 0 to %v", time.Duration(1<<p4info.BitsMicros-1)*time.Microsecond)
	}
	return d, nil
}

// parseLossPercent parses a loss limit in percent (1 or 1%) into parts per million.
func parseLossPercent(s string) (uint32, error) {
	f, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || f < 0 || f > 100 || math.IsNaN(f) {
		return 0, fmt.Errorf("want a percentage from 0 to 100")
	}
	return uint32(math.Round(f * 1e4)), nil
}

type slaRow struct {
	LBR      uint32  `json:"lbr"`
	DSCP     string  `json:"dscp"`
	RTTMs    float64 `json:"rtt_ms"`
	LossPct  float64 `json:"loss_pct"`
	JitterMs float64 `json:"jitter_ms"`
}

func slaRowOf(e translate.Entry) (slaRow, bool) {
	a, ok := e.Action.(translate.SetSLA)
	if !ok {
		return slaRow{}, false
	}
	return slaRow{LBR: uint32(e.LBR), DSCP: nameOf(dscpNames, a.DSCP, "be"), RTTMs: ms(a.RTT),
		LossPct: float64(a.LossPPM) / 1e4, JitterMs: ms(a.Jitter)}, true
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// slaArgs is a row's values as add sla arguments after the LBR id (dump); 0
// limits are left out.
func slaArgs(r slaRow) string {
	parts := []string{"dscp=" + r.DSCP}
	if r.RTTMs > 0 {
		parts = append(parts, "rtt="+time.Duration(r.RTTMs*float64(time.Millisecond)).String())
	}
	if r.LossPct > 0 {
		parts = append(parts, "loss="+strconv.FormatFloat(r.LossPct, 'f', -1, 64)+"%")
	}
	if r.JitterMs > 0 {
		parts = append(parts, "jitter="+time.Duration(r.JitterMs*float64(time.Millisecond)).String())
	}
	return strings.Join(parts, " ")
}

func (c *client) readSLA(ctx context.Context) ([]slaRow, error) {
	es, err := c.readTable(ctx, p4info.IDTableSLAClass)
	if err != nil {
		return nil, err
	}
	rows := make([]slaRow, 0, len(es))
	for _, e := range es {
		if r, ok := slaRowOf(e); ok {
			rows = append(rows, r)
		}
	}
	return rows, nil
}

func showSLA(ctx context.Context, o *options, args []string) error {
	if err := noArgs("show sla", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		rows, err := c.readSLA(ctx)
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(o.stdout, rows)
		}
		printSLA(o.stdout, rows)
		return nil
	})
}

func printSLA(w io.Writer, rows []slaRow) {
	t := newTable(w, "LBR", "DSCP", "RTT", "LOSS", "JITTER")
	limit := func(v float64, unit string) string {
		if v == 0 {
			return "-"
		}
		return strconv.FormatFloat(v, 'f', -1, 64) + unit
	}
	for _, r := range rows {
		t.row(r.LBR, r.DSCP, limit(r.RTTMs, "ms"), limit(r.LossPct, "%"), limit(r.JitterMs, "ms"))
	}
	t.flush()
}

var (
	addSLA = writeCommand(parseSLAOp(p4v1.Update_INSERT))
	modSLA = writeCommand(parseSLAOp(p4v1.Update_MODIFY))
	delSLA = writeCommand(parseSLAOp(p4v1.Update_DELETE))
)

func parseSLAOp(op p4v1.Update_Type) parseFunc {
	return func(args []string) (writeOp, error) {
		e, err := parseSLA(args, op != p4v1.Update_DELETE)
		if err != nil {
			return nil, err
		}
		desc := opName(op) + " sla " + strconv.FormatUint(uint64(e.LBR), 10)
		if r, ok := slaRowOf(e); ok {
			desc += ": " + slaArgs(r)
		}
		return tableOp(op, e, desc)
	}
}
