package main

import (
	"fmt"
	"net/netip"
	"strings"
	"sync"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// translator encodes and decodes entries of linx's pipeline. The sizes of the
// P4Info do not matter for encoding; the device checks them.
var translator = sync.OnceValue(func() *translate.Translator {
	return translate.MustNew(p4info.MustNewIndex(p4info.New(p4info.Sizes{})))
})

// tableNames are the short names linxctl uses for the tables.
var tableNames = map[uint32]string{
	p4info.IDTablePDR:        "pdr",
	p4info.IDTableFAR:        "far",
	p4info.IDTableLBR:        "lbr",
	p4info.IDTableTunnels:    "tunnels",
	p4info.IDTableTunnelTerm: "terms",
	// IPv6 terminations live in a table of their own; linxctl shows them with
	// the others.
	p4info.IDTableTunnelTerm6: "terms",
}

// ---- pdr ----

var pdrKeys = map[string]string{
	"prio": "prio", "priority": "prio",
	"in": "in", "in_port": "in", "ingress_port": "in",
	"dir": "dir", "direction": "dir",
	"src": "src", "src_addr": "src", "src_addr6": "src",
	"dst": "dst", "dst_addr": "dst", "dst_addr6": "dst",
	"ip": "ip", "ip_version": "ip",
	"proto": "proto", "ip_proto": "proto", "protocol": "proto",
	"sport": "sport", "l4_sport": "sport",
	"dport": "dport", "l4_dport": "dport",
	"dscp": "dscp",
	"far":  "far", "far_id": "far",
}

// parsePDR parses a pdr entry: its key (prio and the match fields) and, when
// needFAR, far=. Without needFAR a far= is accepted and ignored (del takes the
// same arguments as add).
func parsePDR(args []string, needFAR bool) (translate.Entry, error) {
	kvs, err := parseKVs(args, pdrKeys)
	if err != nil {
		return translate.Entry{}, usageErrorf("pdr: %v", err)
	}
	e := translate.Entry{Key: translate.Key{Table: p4info.IDTablePDR, Match: dataplane.MatchAll()}}
	m := &e.Match
	fail := func(err error) (translate.Entry, error) { return translate.Entry{}, usageErrorf("pdr: %v", err) }
	p, ok := kvs["prio"]
	if !ok {
		return fail(fmt.Errorf("prio= is required: it is part of the rule's key (1..2147483647, higher wins)"))
	}
	if e.Priority, err = parsePriority(p); err != nil {
		return fail(err)
	}
	for _, k := range []string{"in", "dir", "ip", "src", "dst", "proto", "sport", "dport", "dscp"} {
		v, ok := kvs[k]
		if !ok {
			continue
		}
		switch k {
		case "in":
			m.InPort, err = parseInPort(v)
		case "dir":
			m.Direction, err = parseDirection(v)
		case "ip":
			m.Family, err = parseIPVersion(v)
		case "src":
			if isIPv6Match(v) {
				m.Src6, err = parsePrefix6Match(v)
			} else {
				m.Src, err = parsePrefixMatch(v)
			}
		case "dst":
			if isIPv6Match(v) {
				m.Dst6, err = parsePrefix6Match(v)
			} else {
				m.Dst, err = parsePrefixMatch(v)
			}
		case "proto":
			m.Proto, err = parseProto(v)
		case "sport":
			m.SrcPort, err = parsePortRange(v)
		case "dport":
			m.DstPort, err = parsePortRange(v)
		case "dscp":
			m.DSCP, err = parseDSCP(v)
		}
		if err != nil {
			return fail(fmt.Errorf("%s=%s: %v", k, v, err))
		}
	}
	if f, ok := kvs["far"]; ok {
		id, err := parseID(f, "far")
		if err != nil {
			return fail(err)
		}
		if needFAR {
			e.Action = translate.SetFAR{FAR: dataplane.FARID(id)}
		}
	} else if needFAR {
		return fail(fmt.Errorf("far= is required: the FAR the rule selects"))
	}
	return e, nil
}

// pdrRow is a pdr entry for output; keys are the ones add pdr takes.
type pdrRow struct {
	Prio    int32  `json:"prio"`
	In      string `json:"in"`
	Dir     string `json:"dir"`
	IP      string `json:"ip,omitempty"` // 4 or 6; empty: both
	Src     string `json:"src"`
	Dst     string `json:"dst"`
	Proto   string `json:"proto"`
	Sport   string `json:"sport"`
	Dport   string `json:"dport"`
	DSCP    string `json:"dscp"`
	FAR     uint32 `json:"far"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func pdrRowOf(e translate.Entry) pdrRow {
	m := e.Match
	r := pdrRow{Prio: e.Priority, In: formatInPort(m.InPort), Dir: formatDirection(m.Direction),
		Src: formatPrefixMatch(m.Src), Dst: formatPrefixMatch(m.Dst), Proto: formatProto(m.Proto),
		Sport: formatPortRange(m.SrcPort), Dport: formatPortRange(m.DstPort), DSCP: formatDSCP(m.DSCP)}
	if m.Family != dataplane.FamilyAny {
		r.IP = fmt.Sprint(m.Family)
	}
	if !m.Src6.IsZero() {
		r.Src = formatPrefix6Match(m.Src6)
	}
	if !m.Dst6.IsZero() {
		r.Dst = formatPrefix6Match(m.Dst6)
	}
	if a, ok := e.Action.(translate.SetFAR); ok {
		r.FAR = uint32(a.FAR)
	}
	if e.Counter != nil {
		r.Packets, r.Bytes = e.Counter.Packets, e.Counter.Bytes
	}
	return r
}

// pdrKeyArgs prints a pdr key as add/del arguments: prio and the fields that are
// not wildcards.
func pdrKeyArgs(e translate.Entry) string { return pdrRowArgs(pdrRowOf(e)) }

// ---- far ----

// farParamKeys are the parameter keys of FAR actions.
var farParamKeys = map[dataplane.Action]map[string]string{
	dataplane.ActForward: {"port": "port"},
	dataplane.ActEncap:   {"tunnel": "tunnel", "tunnel_id": "tunnel"},
	dataplane.ActBalance: {"lbr": "lbr", "lbr_id": "lbr"},
	dataplane.ActDrop:    {}, dataplane.ActPass: {}, dataplane.ActPunt: {},
}

var farActions = map[string]dataplane.Action{
	"drop": dataplane.ActDrop, "pass": dataplane.ActPass, "forward": dataplane.ActForward,
	"encap": dataplane.ActEncap, "balance": dataplane.ActBalance, "punt": dataplane.ActPunt,
}

// parseFARAction parses ACTION [PARAM=V | V].
func parseFARAction(args []string) (dataplane.FAR, error) {
	if len(args) == 0 {
		return dataplane.FAR{}, usageErrorf("far: an action is required: drop, pass, punt, forward port=P, encap tunnel=T or balance lbr=L")
	}
	act, ok := farActions[strings.ToLower(strings.TrimPrefix(args[0], "LinxIngress."))]
	if !ok {
		return dataplane.FAR{}, usageErrorf("far: unknown action %q (drop, pass, punt, forward, encap, balance)", args[0])
	}
	f := dataplane.FAR{Action: act}
	keys := farParamKeys[act]
	params := args[1:]
	if len(keys) == 0 {
		if len(params) > 0 {
			return dataplane.FAR{}, usageErrorf("far: %s takes no parameter, got %q", act, strings.Join(params, " "))
		}
		return f, nil
	}
	want := keyList(keys)
	if len(params) == 1 && !strings.Contains(params[0], "=") {
		params = []string{want + "=" + params[0]} // encap 1 = encap tunnel=1
	}
	kvs, err := parseKVs(params, keys)
	if err != nil {
		return dataplane.FAR{}, usageErrorf("far %s: %v", act, err)
	}
	v, ok := kvs[want]
	if !ok {
		return dataplane.FAR{}, usageErrorf("far: %s needs %s=", act, want)
	}
	switch act {
	case dataplane.ActForward:
		f.Port, err = parsePort(v)
	case dataplane.ActEncap:
		var id uint32
		id, err = parseID(v, "tunnel")
		f.Tunnel = dataplane.TunnelID(id)
	case dataplane.ActBalance:
		var id uint32
		id, err = parseID(v, "lbr")
		f.LBR = dataplane.LBRID(id)
	}
	if err != nil {
		return dataplane.FAR{}, usageErrorf("far %s: %v", act, err)
	}
	return f, nil
}

// farRow is a far entry for output.
type farRow struct {
	ID     uint32  `json:"id"`
	Action string  `json:"action"`
	Port   *uint16 `json:"port"`
	Tunnel *uint32 `json:"tunnel"`
	LBR    *uint32 `json:"lbr"`
}

func farRowOf(id dataplane.FARID, f dataplane.FAR) farRow {
	r := farRow{ID: uint32(id), Action: f.Action.String()}
	switch f.Action {
	case dataplane.ActForward:
		p := uint16(f.Port)
		r.Port = &p
	case dataplane.ActEncap:
		t := uint32(f.Tunnel)
		r.Tunnel = &t
	case dataplane.ActBalance:
		l := uint32(f.LBR)
		r.LBR = &l
	}
	return r
}

// farActionArgs prints a FAR's action as add far arguments: "encap tunnel=1".
func farActionArgs(f dataplane.FAR) string {
	switch f.Action {
	case dataplane.ActForward:
		return fmt.Sprintf("forward port=%d", f.Port)
	case dataplane.ActEncap:
		return fmt.Sprintf("encap tunnel=%d", f.Tunnel)
	case dataplane.ActBalance:
		return fmt.Sprintf("balance lbr=%d", f.LBR)
	}
	return f.Action.String()
}

// ---- tunnels ----

var tunnelKeys = map[string]string{
	"port": "port", "src": "src", "src_addr": "src", "dst": "dst", "dst_addr": "dst",
	"key": "key", "gre_key": "key",
}

// parseTunnel parses set_gre or set_gre6 parameters over base (mod keeps what
// is not named); with full, port, src and dst are required. src and dst are
// IPv4 or IPv6 (an IPv6 underlay), both of one family.
func parseTunnel(args []string, base dataplane.Tunnel, full bool) (dataplane.Tunnel, error) {
	kvs, err := parseKVs(args, tunnelKeys)
	if err != nil {
		return dataplane.Tunnel{}, usageErrorf("tunnel: %v", err)
	}
	t := base
	for _, k := range []string{"port", "src", "dst", "key"} {
		v, ok := kvs[k]
		if !ok {
			if full && k != "key" {
				return dataplane.Tunnel{}, usageErrorf("tunnel: %s= is required (port=P src=LOCAL dst=REMOTE [key=K])", k)
			}
			continue
		}
		switch k {
		case "port":
			t.Port, err = parsePort(v)
		case "src":
			t.Src, err = parseUnderlayAddr(v)
		case "dst":
			t.Dst, err = parseUnderlayAddr(v)
		case "key":
			var key uint64
			key, err = parseUint(v, p4info.BitsGREKey)
			t.Key = uint32(key)
		}
		if err != nil {
			return dataplane.Tunnel{}, usageErrorf("tunnel %s=%s: %v", k, v, err)
		}
	}
	if t.Src.IsValid() && t.Dst.IsValid() && t.Src.Is4() != t.Dst.Is4() {
		return dataplane.Tunnel{}, usageErrorf("tunnel: src=%s and dst=%s are of different families: both IPv4 or both IPv6", t.Src, t.Dst)
	}
	return t, nil
}

// parseUnderlayAddr parses a tunnel endpoint: an IPv4 or IPv6 address without
// a zone. IPv4-mapped IPv6 is refused: an IPv4 endpoint is written as IPv4.
func parseUnderlayAddr(s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	switch {
	case err != nil || a.Zone() != "":
		return netip.Addr{}, fmt.Errorf("%q is not an IPv4 or IPv6 address", s)
	case a.Is4In6():
		return netip.Addr{}, fmt.Errorf("%q is IPv4-mapped IPv6: write the IPv4 address %s", s, a.Unmap())
	}
	return a, nil
}

type tunnelRow struct {
	ID   uint32 `json:"id"`
	Port uint16 `json:"port"`
	Src  string `json:"src"`
	Dst  string `json:"dst"`
	Key  uint32 `json:"key"`
	// Quality is the overlay's state and measured quality (gNMI), nil when
	// the device reports none.
	Quality *tunnelQuality `json:"state,omitempty"`
}

func tunnelRowOf(id dataplane.TunnelID, t dataplane.Tunnel) tunnelRow {
	return tunnelRow{ID: uint32(id), Port: uint16(t.Port), Src: addrString(t.Src), Dst: addrString(t.Dst), Key: t.Key}
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return "-"
	}
	return a.String()
}

// ---- tunnel_term ----

var termKeys = map[string]string{
	"src": "src", "src_addr": "src", "remote": "src",
	"dst": "dst", "dst_addr": "dst", "local": "dst",
	"key": "key", "gre_key": "key",
	"tunnel": "tunnel", "tunnel_id": "tunnel",
}

// parseTerm parses a tunnel termination: its key (src, dst, key) and, when
// needTunnel, tunnel= (accepted and ignored otherwise).
func parseTerm(args []string, needTunnel bool) (translate.Entry, error) {
	kvs, err := parseKVs(args, termKeys)
	if err != nil {
		return translate.Entry{}, usageErrorf("term: %v", err)
	}
	e := translate.Entry{Key: translate.Key{Table: p4info.IDTableTunnelTerm}}
	for _, k := range []string{"src", "dst"} {
		v, ok := kvs[k]
		if !ok {
			return translate.Entry{}, usageErrorf("term: %s= is required (src=REMOTE dst=LOCAL [key=K] tunnel=T)", k)
		}
		a, err := parseUnderlayAddr(v)
		if err != nil {
			return translate.Entry{}, usageErrorf("term %s=: %v", k, err)
		}
		if k == "src" {
			e.Term.Remote = a
		} else {
			e.Term.Local = a
		}
	}
	switch {
	case e.Term.Remote.Is4() != e.Term.Local.Is4():
		return translate.Entry{}, usageErrorf("term: src=%s and dst=%s are of different families: both IPv4 or both IPv6", e.Term.Remote, e.Term.Local)
	case e.Term.Local.Is6():
		e.Key.Table = p4info.IDTableTunnelTerm6 // an IPv6 underlay's terminations
	}
	if v, ok := kvs["key"]; ok {
		key, err := parseUint(v, p4info.BitsGREKey)
		if err != nil {
			return translate.Entry{}, usageErrorf("term key=: %v", err)
		}
		e.Term.Key = uint32(key)
	}
	v, ok := kvs["tunnel"]
	switch {
	case ok && needTunnel:
		id, err := parseID(v, "tunnel")
		if err != nil {
			return translate.Entry{}, usageErrorf("term: %v", err)
		}
		e.Action = translate.Decap{Tunnel: dataplane.TunnelID(id)}
	case needTunnel:
		return translate.Entry{}, usageErrorf("term: tunnel= is required: the tunnel decapsulated packets are accounted to")
	}
	return e, nil
}

type termRow struct {
	Src    string `json:"src"`
	Dst    string `json:"dst"`
	Key    uint32 `json:"key"`
	Tunnel uint32 `json:"tunnel"`
}

func termRowOf(e translate.Entry) termRow {
	r := termRow{Src: addrString(e.Term.Remote), Dst: addrString(e.Term.Local), Key: e.Term.Key}
	if d, ok := e.Action.(translate.Decap); ok {
		r.Tunnel = uint32(d.Tunnel)
	}
	return r
}

func termKeyArgs(e translate.Entry) string {
	return fmt.Sprintf("src=%s dst=%s key=%d", addrString(e.Term.Remote), addrString(e.Term.Local), e.Term.Key)
}

// ---- encoding ----

// tableUpdate encodes an entry as a Write update.
func tableUpdate(op p4v1.Update_Type, e translate.Entry, desc string) (update, error) {
	var te *p4v1.TableEntry
	var err error
	if op == p4v1.Update_DELETE {
		te, err = translator().EncodeKey(e.Key)
	} else {
		te, err = translator().EncodeTableEntry(e)
	}
	if err != nil {
		return update{}, fmt.Errorf("%s: %v", desc, err)
	}
	u := update{desc: desc, u: &p4v1.Update{Type: op, Entity: &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}}}
	if op != p4v1.Update_DELETE {
		u.refs = refsOf(e.Action)
	}
	return u, nil
}

// Update types, short.
const (
	insertOp = p4v1.Update_INSERT
	modifyOp = p4v1.Update_MODIFY
	deleteOp = p4v1.Update_DELETE
)

// opName is how updates are described: insert, modify, delete.
func opName(op p4v1.Update_Type) string { return strings.ToLower(op.String()) }

// decodeEntry decodes a table entry returned by a read.
func decodeEntry(te *p4v1.TableEntry) (translate.Entry, error) {
	op := p4v1.Update_INSERT
	if te.GetIsDefaultAction() {
		op = p4v1.Update_MODIFY
	}
	e, err := translator().DecodeTableEntry(te, op)
	if err != nil {
		return translate.Entry{}, fmt.Errorf("the device returned an entry linxctl cannot decode: %v", err)
	}
	return e, nil
}
