package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// Table non_ip: what frames that are not IPv4 get, by EtherType.

// etherTypes are the EtherType names linxctl accepts and prints.
var etherTypes = map[string]uint16{
	"arp":   0x0806,
	"rarp":  0x8035,
	"ipv6":  0x86dd,
	"lldp":  0x88cc,
	"bddp":  0x8942,
	"eapol": 0x888e,
}

func parseEthType(s string) (uint16, error) {
	if v, ok := etherTypes[strings.ToLower(s)]; ok {
		return v, nil
	}
	v, err := parseUint(s, p4info.BitsEthType)
	if err != nil {
		return 0, fmt.Errorf("eth_type: %v (or one of %s)", err, strings.Join(slices.Sorted(maps.Keys(etherTypes)), ", "))
	}
	return uint16(v), nil
}

func ethTypeString(v uint16) string {
	for name, t := range etherTypes {
		if t == v {
			return name
		}
	}
	return fmt.Sprintf("0x%04x", v)
}

// nonIPActions are the actions of a non_ip entry by the name linxctl uses.
var nonIPActions = map[string]translate.Action{
	"pass":               translate.FARAction{FAR: dataplane.FAR{Action: dataplane.ActPass}},
	"drop":               translate.FARAction{FAR: dataplane.FAR{Action: dataplane.ActDrop}},
	"punt":               translate.FARAction{FAR: dataplane.FAR{Action: dataplane.ActPunt}},
	"copy_to_controller": translate.CopyToController{},
	"copy":               translate.CopyToController{},
}

// parseNonIP parses "ETHTYPE [ACTION]": the action is required when needAction
// (add, mod) and ignored otherwise (del takes the same arguments as add).
func parseNonIP(args []string, needAction bool) (translate.Entry, error) {
	if len(args) == 0 || len(args) > 2 {
		return translate.Entry{}, usageErrorf("nonip: want ETHTYPE pass|drop|punt|copy_to_controller, got %q", strings.Join(args, " "))
	}
	et, err := parseEthType(args[0])
	if err != nil {
		return translate.Entry{}, usageErrorf("nonip: %v", err)
	}
	e := translate.Entry{Key: translate.Key{Table: p4info.IDTableNonIP, EthType: et}}
	switch {
	case len(args) == 2 && needAction:
		a, ok := nonIPActions[strings.ToLower(args[1])]
		if !ok {
			return translate.Entry{}, usageErrorf("nonip: action %q: want pass, drop, punt or copy_to_controller", args[1])
		}
		e.Action = a
	case needAction:
		return translate.Entry{}, usageErrorf("nonip: an action is required: pass, drop, punt or copy_to_controller")
	}
	return e, nil
}

type nonIPRow struct {
	EthType string `json:"eth_type"`
	Action  string `json:"action"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func nonIPRowOf(e translate.Entry) nonIPRow {
	r := nonIPRow{EthType: ethTypeString(e.EthType)}
	if _, a, ok := e.NonIPRule(); ok {
		r.Action = a.String()
	}
	if e.Counter != nil {
		r.Packets, r.Bytes = e.Counter.Packets, e.Counter.Bytes
	}
	return r
}

func (c *client) readNonIP(ctx context.Context) ([]nonIPRow, error) {
	es, err := c.readTable(ctx, p4info.IDTableNonIP)
	if err != nil {
		return nil, err
	}
	rows := make([]nonIPRow, 0, len(es))
	for _, e := range es {
		rows = append(rows, nonIPRowOf(e))
	}
	return rows, nil
}

func showNonIP(ctx context.Context, o *options, args []string) error {
	if err := noArgs("show nonip", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		rows, err := c.readNonIP(ctx)
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(o.stdout, rows)
		}
		printNonIP(o.stdout, rows)
		return nil
	})
}

func printNonIP(w io.Writer, rows []nonIPRow) {
	t := newTable(w, "ETH_TYPE", "ACTION", "PACKETS", "BYTES")
	for _, r := range rows {
		t.row(r.EthType, r.Action, human(r.Packets), human(r.Bytes))
	}
	t.flush()
	fmt.Fprintf(w, "%s; other EtherTypes but IPv4: pass to the kernel\n", plural(len(rows), "rule", "rules"))
}

var (
	addNonIP = writeCommand(parseNonIPOp(p4v1.Update_INSERT))
	modNonIP = writeCommand(parseNonIPOp(p4v1.Update_MODIFY))
	delNonIP = writeCommand(parseNonIPOp(p4v1.Update_DELETE))
)

func parseNonIPOp(op p4v1.Update_Type) parseFunc {
	return func(args []string) (writeOp, error) {
		e, err := parseNonIP(args, op != p4v1.Update_DELETE)
		if err != nil {
			return nil, err
		}
		desc := opName(op) + " nonip " + ethTypeString(e.EthType)
		if _, a, ok := e.NonIPRule(); ok {
			desc += ": " + a.String()
		}
		return tableOp(op, e, desc)
	}
}
