package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// FAR meters (far_meter in bytes, far_packet_meter in packets, both indexed by
// FAR id) and the per-color policy of table far_qos.

// rateUnits are the suffixes a bytes meter's rates take (bits per second,
// converted to bytes per second); bursts take sizeUnits.
var (
	rateUnits = map[string]float64{"bit": 1.0 / 8, "kbit": 1e3 / 8, "mbit": 1e6 / 8, "gbit": 1e9 / 8, "bps": 1, "kbps": 1e3, "mbps": 1e6}
	sizeUnits = map[string]float64{"b": 1, "k": 1e3, "kb": 1e3, "m": 1e6, "mb": 1e6, "ki": 1024, "kib": 1024, "mi": 1 << 20, "mib": 1 << 20}
)

// parseAmount parses a number with an optional unit suffix (packets meters
// take plain numbers).
func parseAmount(s string, units map[string]float64, what string) (int64, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := s, ""
	if i >= 0 {
		num, unit = s[:i], strings.ToLower(s[i:])
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("%s %q: not a number", what, s)
	}
	if unit != "" {
		m, ok := units[unit]
		if !ok {
			return 0, fmt.Errorf("%s %q: unknown unit %q", what, s, unit)
		}
		v *= m
	}
	if v > 1<<62 {
		return 0, fmt.Errorf("%s %q: too large", what, s)
	}
	return int64(v), nil
}

var meterKeys = map[string]string{"cir": "cir", "cburst": "cburst", "pir": "pir", "pburst": "pburst", "eburst": "eburst"}

// parseMeter parses "FAR [bytes|packets] reset|cir=R cburst=B [pir=R pburst=B] [eburst=B]".
// Without pir/pburst the meter is a two-color policer at cir (pir = cir,
// pburst = cburst); with eburst, an RFC 2697 single-rate three-color marker.
func parseMeter(args []string) (*p4v1.MeterEntry, string, error) {
	if len(args) < 2 {
		return nil, "", usageErrorf("meter: want FAR [bytes|packets] reset|cir=RATE cburst=SIZE [pir=RATE pburst=SIZE] [eburst=SIZE]")
	}
	far, err := parseID(args[0], "far")
	if err != nil {
		return nil, "", usageErrorf("meter: %v", err)
	}
	me := &p4v1.MeterEntry{MeterId: p4info.IDMeterFAR, Index: &p4v1.Index{Index: int64(far)}}
	unit := "bytes"
	rest := args[1:]
	switch strings.ToLower(rest[0]) {
	case "bytes":
		rest = rest[1:]
	case "packets", "pkts":
		me.MeterId, unit = p4info.IDMeterFARPacket, "packets"
		rest = rest[1:]
	}
	desc := fmt.Sprintf("meter far %d %s", far, unit)
	if len(rest) == 1 && strings.ToLower(rest[0]) == "reset" {
		return me, desc + " reset", nil
	}
	kv, err := parseKVs(rest, meterKeys)
	if err != nil {
		return nil, "", usageErrorf("meter: %v", err)
	}
	rates, sizes := rateUnits, sizeUnits
	if unit == "packets" {
		rates, sizes = nil, nil
	}
	vals := map[string]int64{}
	for k, v := range kv {
		u := sizes
		if k == "cir" || k == "pir" {
			u = rates
		}
		if vals[k], err = parseAmount(v, u, k); err != nil {
			return nil, "", usageErrorf("meter: %v", err)
		}
	}
	if _, ok := kv["cir"]; !ok {
		return nil, "", usageErrorf("meter: cir= and cburst= are required (or reset)")
	}
	if _, ok := kv["pir"]; !ok {
		vals["pir"] = vals["cir"]
	}
	if _, ok := kv["pburst"]; !ok {
		vals["pburst"] = vals["cburst"]
	}
	me.Config = &p4v1.MeterConfig{Cir: vals["cir"], Cburst: vals["cburst"], Pir: vals["pir"], Pburst: vals["pburst"], Eburst: vals["eburst"]}
	return me, fmt.Sprintf("%s cir=%d cburst=%d pir=%d pburst=%d eburst=%d", desc, vals["cir"], vals["cburst"], vals["pir"], vals["pburst"], vals["eburst"]), nil
}

var setMeter = writeCommand(parseMeterOp)

func parseMeterOp(args []string) (writeOp, error) {
	if len(args) > 0 && strings.ToLower(args[0]) == "pdr" {
		return parseDirectMeter(args[1:])
	}
	me, desc, err := parseMeter(args)
	if err != nil {
		return nil, err
	}
	return single(update{desc: desc, u: &p4v1.Update{Type: p4v1.Update_MODIFY, Entity: &p4v1.Entity{Entity: &p4v1.Entity_MeterEntry{MeterEntry: me}}}}), nil
}

// parseDirectMeter parses "KEY... reset|cir=RATE cburst=SIZE [...]": a pdr
// entry's key (as del pdr takes it) and its direct meter (pdr_meter, bytes).
func parseDirectMeter(args []string) (writeOp, error) {
	var key, cfg []string
	for _, a := range args {
		k, _, _ := strings.Cut(a, "=")
		if _, ok := meterKeys[strings.ToLower(k)]; ok || strings.ToLower(a) == "reset" {
			cfg = append(cfg, a)
		} else {
			key = append(key, a)
		}
	}
	e, err := parsePDR(key, false)
	if err != nil {
		return nil, err
	}
	te, err := translator().EncodeKey(e.Key)
	if err != nil {
		return nil, err
	}
	// The same config grammar as a FAR's bytes meter, on a placeholder index.
	me, desc, err := parseMeter(append([]string{"0", "bytes"}, cfg...))
	if err != nil {
		return nil, err
	}
	desc = "meter pdr " + pdrKeyArgs(e) + strings.TrimPrefix(desc, "meter far 0 bytes")
	return single(update{desc: desc, u: &p4v1.Update{Type: p4v1.Update_MODIFY, Entity: &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{
		DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: te, Config: me.Config}}}}}), nil
}

type meterRow struct {
	FAR    uint32            `json:"far"`
	PDR    string            `json:"pdr,omitempty"` // a pdr entry's direct meter: the entry's key (far is 0)
	Unit   string            `json:"unit"`
	Config *meterConfigJSON  `json:"config,omitempty"` // absent: default (every packet green)
	Green  dataplane.Counter `json:"green"`
	Yellow dataplane.Counter `json:"yellow"`
	Red    dataplane.Counter `json:"red"`
}

type meterConfigJSON struct {
	CIR    int64 `json:"cir"`
	CBurst int64 `json:"cburst"`
	PIR    int64 `json:"pir"`
	PBurst int64 `json:"pburst"`
	EBurst int64 `json:"eburst,omitempty"`
}

func counterOf(d *p4v1.CounterData) dataplane.Counter {
	return dataplane.Counter{Packets: uint64(d.GetPacketCount()), Bytes: uint64(d.GetByteCount())}
}

// meterRowOf is a meter cell as read, FAR and direct meters alike; nil when
// it has neither a config nor a count and all is false.
func meterRowOf(r meterRow, cfg *p4v1.MeterConfig, data *p4v1.MeterCounterData, all bool) *meterRow {
	r.Green, r.Yellow, r.Red = counterOf(data.GetGreen()), counterOf(data.GetYellow()), counterOf(data.GetRed())
	if cfg != nil {
		r.Config = &meterConfigJSON{cfg.Cir, cfg.Cburst, cfg.Pir, cfg.Pburst, cfg.Eburst}
	}
	if !all && r.Config == nil && r.Green.Packets+r.Yellow.Packets+r.Red.Packets == 0 {
		return nil
	}
	return &r
}

// readMeters reads every cell of both FAR meters, then every pdr entry's
// direct meter; rows of cells without a config and without counts are left
// out unless all.
func (c *client) readMeters(ctx context.Context, all bool) ([]meterRow, error) {
	es, err := c.read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_MeterEntry{MeterEntry: &p4v1.MeterEntry{}}})
	if err != nil {
		return nil, err
	}
	rows := []meterRow{}
	for _, e := range es {
		me := e.GetMeterEntry()
		id, ok := translate.MeterOf(me.GetMeterId(), me.GetIndex().GetIndex())
		if !ok {
			continue
		}
		if r := meterRowOf(meterRow{FAR: uint32(id.FAR), Unit: id.Unit.String()}, me.GetConfig(), me.GetCounterData(), all); r != nil {
			rows = append(rows, *r)
		}
	}
	des, err := c.read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_DirectMeterEntry{DirectMeterEntry: &p4v1.DirectMeterEntry{TableEntry: &p4v1.TableEntry{}}}})
	if err != nil {
		return nil, err
	}
	for _, e := range des {
		dme := e.GetDirectMeterEntry()
		k, err := translator().DecodeKey(dme.GetTableEntry())
		if err != nil {
			continue
		}
		if r := meterRowOf(meterRow{PDR: pdrKeyArgs(translate.Entry{Key: k}), Unit: "bytes"}, dme.GetConfig(), dme.GetCounterData(), all); r != nil {
			rows = append(rows, *r)
		}
	}
	return rows, nil
}

var showMeters = showRows("show meters", func(ctx context.Context, c *client, o *options) ([]meterRow, error) {
	return c.readMeters(ctx, o.all)
}, printMeters)

// printMeters prints each meter's config and what it colored, per color in
// packets and bytes.
func printMeters(w io.Writer, rows []meterRow) {
	t := newTable(w, "METER", "UNIT", "CIR", "CBURST", "PIR", "PBURST", "EBURST",
		"GREEN-PKTS", "GREEN-BYTES", "YELLOW-PKTS", "YELLOW-BYTES", "RED-PKTS", "RED-BYTES")
	for _, r := range rows {
		cfg := []any{"-", "-", "-", "-", "-"}
		if c := r.Config; c != nil {
			cfg = []any{c.CIR, c.CBurst, c.PIR, c.PBurst, c.EBurst}
		}
		name := fmt.Sprintf("far %d", r.FAR)
		if r.PDR != "" {
			name = "pdr " + r.PDR
		}
		t.row(append(append([]any{name, r.Unit}, cfg...), human(r.Green.Packets), human(r.Green.Bytes),
			human(r.Yellow.Packets), human(r.Yellow.Bytes), human(r.Red.Packets), human(r.Red.Bytes))...)
	}
	t.flush()
	fmt.Fprintf(w, "%s (rates per second, bursts: in bytes for unit bytes (frames with their Ethernet header), packets for unit packets; '-': default, all green)\n", plural(len(rows), "meter", "meters"))
}

// ---- far_qos ----

var qosKeys = map[string]string{"green": "green", "yellow": "yellow", "red": "red"}

// parseColor parses a color's action: pass, drop, or a DSCP (name or number)
// to remark to.
func parseColor(s string) (dataplane.ColorPolicy, error) {
	switch strings.ToLower(s) {
	case "pass":
		return dataplane.ColorPolicy{Action: dataplane.ColorPass}, nil
	case "drop":
		return dataplane.ColorPolicy{Action: dataplane.ColorDrop}, nil
	}
	d, err := parseNamed(s, dscpNames, p4info.BitsDSCP, "dscp")
	if err != nil {
		return dataplane.ColorPolicy{}, fmt.Errorf("%v; or pass, drop", err)
	}
	return dataplane.ColorPolicy{Action: dataplane.ColorRemark, DSCP: d}, nil
}

func formatColor(c dataplane.ColorPolicy) string {
	switch c.Action {
	case dataplane.ColorPass:
		return "pass"
	case dataplane.ColorDrop:
		return "drop"
	}
	return nameOf(dscpNames, c.DSCP, "be")
}

// parseQoS parses "FAR [green=A] [yellow=A] [red=A]" (defaults: pass, pass,
// drop), the key alone when !needAction.
func parseQoS(args []string, needAction bool) (translate.Entry, error) {
	if len(args) == 0 {
		return translate.Entry{}, usageErrorf("qos: want FAR [green=pass|drop|DSCP] [yellow=...] [red=...]")
	}
	far, err := parseID(args[0], "far")
	if err != nil {
		return translate.Entry{}, usageErrorf("qos: %v", err)
	}
	e := translate.Entry{Key: translate.Key{Table: p4info.IDTableFARQoS, FAR: dataplane.FARID(far)}}
	if !needAction {
		return e, nil
	}
	kv, err := parseKVs(args[1:], qosKeys)
	if err != nil {
		return translate.Entry{}, usageErrorf("qos: %v", err)
	}
	q := dataplane.DefaultQoS
	for k, v := range kv {
		c, err := parseColor(v)
		if err != nil {
			return translate.Entry{}, usageErrorf("qos: %s: %v", k, err)
		}
		switch k {
		case "green":
			q.Green = c
		case "yellow":
			q.Yellow = c
		case "red":
			q.Red = c
		}
	}
	e.Action = translate.SetQoS{Policy: q}
	return e, nil
}

var (
	addQoS = writeCommand(parseQoSOp(p4v1.Update_INSERT))
	modQoS = writeCommand(parseQoSOp(p4v1.Update_MODIFY))
	delQoS = writeCommand(parseQoSOp(p4v1.Update_DELETE))
)

func parseQoSOp(op p4v1.Update_Type) parseFunc {
	return func(args []string) (writeOp, error) {
		e, err := parseQoS(args, op != p4v1.Update_DELETE)
		if err != nil {
			return nil, err
		}
		desc := fmt.Sprintf("%s qos %d", opName(op), e.FAR)
		if a, ok := e.Action.(translate.SetQoS); ok {
			desc += " " + qosArgs(a.Policy)
		}
		return tableOp(op, e, desc)
	}
}

func qosArgs(q dataplane.QoSPolicy) string {
	return fmt.Sprintf("green=%s yellow=%s red=%s", formatColor(q.Green), formatColor(q.Yellow), formatColor(q.Red))
}

type qosRow struct {
	FAR    uint32 `json:"far"`
	Green  string `json:"green"`
	Yellow string `json:"yellow"`
	Red    string `json:"red"`
}

func (c *client) readQoS(ctx context.Context) ([]qosRow, error) {
	es, err := c.readTable(ctx, p4info.IDTableFARQoS)
	if err != nil {
		return nil, err
	}
	rows := []qosRow{}
	for _, e := range es {
		if a, ok := e.Action.(translate.SetQoS); ok {
			rows = append(rows, qosRow{uint32(e.FAR), formatColor(a.Policy.Green), formatColor(a.Policy.Yellow), formatColor(a.Policy.Red)})
		}
	}
	return rows, nil
}

var showQoS = showRows("show qos", func(ctx context.Context, c *client, _ *options) ([]qosRow, error) { return c.readQoS(ctx) }, printQoS)

func printQoS(w io.Writer, rows []qosRow) {
	t := newTable(w, "FAR", "GREEN", "YELLOW", "RED")
	for _, r := range rows {
		t.row(r.FAR, r.Green, r.Yellow, r.Red)
	}
	t.flush()
	fmt.Fprintf(w, "%s; other FARs: green pass, yellow pass, red drop (a DSCP: remark to it)\n", plural(len(rows), "policy", "policies"))
}
