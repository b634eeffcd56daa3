package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// withClient dials the device, runs f and closes the connection.
func withClient(o *options, f func(c *client) error) error {
	c, err := dial(o)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(c)
}

func noArgs(what string, args []string) error {
	if len(args) > 0 {
		return usageErrorf("%s takes no arguments, got %q", what, strings.Join(args, " "))
	}
	return nil
}

// showRows makes a show command that takes no arguments: it reads its rows
// and prints them as JSON (--json) or as a table with print. Every such
// command of linxctl is one, so they parse, dial and print alike.
func showRows[T any](what string, read func(ctx context.Context, c *client, o *options) (T, error), print func(w io.Writer, rows T)) func(context.Context, *options, []string) error {
	return func(ctx context.Context, o *options, args []string) error {
		if err := noArgs(what, args); err != nil {
			return err
		}
		return withClient(o, func(c *client) error {
			rows, err := read(ctx, c, o)
			if err != nil {
				return err
			}
			if o.json {
				return writeJSON(o.stdout, rows)
			}
			print(o.stdout, rows)
			return nil
		})
	}
}

// readTable reads every entry of a table (pdr and non_ip with their counters).
func (c *client) readTable(ctx context.Context, table uint32) ([]translate.Entry, error) {
	te := &p4v1.TableEntry{TableId: table}
	if table == p4info.IDTablePDR || table == p4info.IDTableNonIP {
		te.CounterData = &p4v1.CounterData{}
	}
	ents, err := c.read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}})
	if err != nil {
		return nil, err
	}
	var out []translate.Entry
	for _, ent := range ents {
		te := ent.GetTableEntry()
		if te == nil || te.TableId != table || te.IsDefaultAction {
			continue
		}
		e, err := decodeEntry(te)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// pdrDefault is pdr's default entry: its action and the packets that matched no
// rule.
type pdrDefault struct {
	Action  string `json:"action"`
	Packets uint64 `json:"packets"`
	Bytes   uint64 `json:"bytes"`
}

func (c *client) readPDRDefault(ctx context.Context) (pdrDefault, error) {
	ents, err := c.read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: &p4v1.TableEntry{
		TableId: p4info.IDTablePDR, IsDefaultAction: true, CounterData: &p4v1.CounterData{}}}})
	if err != nil {
		return pdrDefault{}, err
	}
	for _, ent := range ents {
		if te := ent.GetTableEntry(); te != nil && te.IsDefaultAction {
			e, err := decodeEntry(te)
			if err != nil {
				return pdrDefault{}, err
			}
			d := pdrDefault{Action: "pass"}
			if a, ok := e.Action.(translate.FARAction); ok {
				d.Action = a.FAR.Action.String()
			}
			if e.Counter != nil {
				d.Packets, d.Bytes = e.Counter.Packets, e.Counter.Bytes
			}
			return d, nil
		}
	}
	return pdrDefault{Action: "pass"}, nil
}

// lbrView is what linxctl shows of the selector: members, groups, lbr entries.
type lbrView struct {
	members map[uint32]translate.Member
	groups  map[uint32]translate.Group
}

func (c *client) readSelector(ctx context.Context) (lbrView, error) {
	v := lbrView{members: map[uint32]translate.Member{}, groups: map[uint32]translate.Group{}}
	ents, err := c.read(ctx,
		&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: &p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector}}},
		&p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: &p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector}}})
	if err != nil {
		return v, err
	}
	for _, ent := range ents {
		switch e := ent.GetEntity().(type) {
		case *p4v1.Entity_ActionProfileMember:
			m, err := translator().DecodeMember(e.ActionProfileMember, p4v1.Update_INSERT)
			if err != nil {
				return v, fmt.Errorf("the device returned a member linxctl cannot decode: %v", err)
			}
			v.members[m.ID] = m
		case *p4v1.Entity_ActionProfileGroup:
			g, err := translator().DecodeGroup(e.ActionProfileGroup, p4v1.Update_INSERT)
			if err != nil {
				return v, fmt.Errorf("the device returned a group linxctl cannot decode: %v", err)
			}
			v.groups[g.ID] = g
		}
	}
	return v, nil
}

// lbrMember is a tunnel with its weight.
type lbrMember struct {
	Tunnel uint32 `json:"tunnel"`
	Weight uint32 `json:"weight"`
}

// lbrRow is an lbr entry for output: what it points to and the tunnels it
// balances over.
type lbrRow struct {
	ID      uint32      `json:"id"`
	Group   *uint32     `json:"group"`  // the entry points to this group
	Member  *uint32     `json:"member"` // the entry points to this member
	Members []lbrMember `json:"members"`
}

func (v lbrView) row(e translate.Entry) lbrRow {
	r := lbrRow{ID: uint32(e.LBR), Members: []lbrMember{}}
	switch a := e.Action.(type) {
	case translate.ProfileGroup:
		id := a.ID
		r.Group = &id
		for _, gm := range v.groups[a.ID].Members {
			r.Members = append(r.Members, lbrMember{Tunnel: uint32(v.members[gm.Member].Tunnel), Weight: gm.Weight})
		}
	case translate.ProfileMember:
		id := a.ID
		r.Member = &id
		r.Members = append(r.Members, lbrMember{Tunnel: uint32(v.members[a.ID].Tunnel), Weight: 1})
	case translate.ActionSet:
		for _, m := range a.Members {
			r.Members = append(r.Members, lbrMember{Tunnel: uint32(m.Tunnel), Weight: m.Weight})
		}
	}
	return r
}

func (r lbrRow) ref() string {
	switch {
	case r.Group != nil:
		return fmt.Sprintf("group %d", *r.Group)
	case r.Member != nil:
		return fmt.Sprintf("member %d", *r.Member)
	}
	return "action set"
}

// membersArg prints members as add lbr's members= value: 1:3,2:1.
func membersArg(ms []lbrMember) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%d:%d", m.Tunnel, m.Weight)
	}
	return strings.Join(parts, ",")
}

// ---- show commands ----

func showPDR(ctx context.Context, o *options, args []string) error {
	if err := noArgs("show pdr", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		es, err := c.readTable(ctx, p4info.IDTablePDR)
		if err != nil {
			return err
		}
		def, err := c.readPDRDefault(ctx)
		if err != nil {
			return err
		}
		rows := pdrRows(es)
		if o.json {
			return writeJSON(o.stdout, rows)
		}
		printPDR(o.stdout, rows, def)
		return nil
	})
}

func pdrRows(es []translate.Entry) []pdrRow {
	rows := make([]pdrRow, 0, len(es))
	for _, e := range es {
		rows = append(rows, pdrRowOf(e))
	}
	return rows
}

func printPDR(w io.Writer, rows []pdrRow, def pdrDefault) {
	t := newTable(w, "PRIO", "IN", "DIR", "IP", "SRC", "DST", "PROTO", "SPORT", "DPORT", "DSCP", "FAR", "PACKETS", "BYTES")
	for _, r := range rows {
		t.row(r.Prio, r.In, r.Dir, cmp.Or(r.IP, wildcard), r.Src, r.Dst, r.Proto, r.Sport, r.Dport, r.DSCP, r.FAR, human(r.Packets), human(r.Bytes))
	}
	t.flush()
	fmt.Fprintf(w, "%s; default action %s (%s packets, %s bytes matched no rule)\n",
		plural(len(rows), "rule", "rules"), def.Action, human(def.Packets), human(def.Bytes))
}

func (c *client) readFARs(ctx context.Context) ([]farRow, error) {
	es, err := c.readTable(ctx, p4info.IDTableFAR)
	if err != nil {
		return nil, err
	}
	rows := make([]farRow, 0, len(es))
	for _, e := range es {
		if a, ok := e.Action.(translate.FARAction); ok {
			rows = append(rows, farRowOf(e.FAR, a.FAR))
		}
	}
	return rows, nil
}

var showFAR = showRows("show far", func(ctx context.Context, c *client, _ *options) ([]farRow, error) { return c.readFARs(ctx) }, printFAR)

func printFAR(w io.Writer, rows []farRow) {
	t := newTable(w, "ID", "ACTION", "PORT", "TUNNEL", "LBR")
	opt := func(p any) string {
		switch v := p.(type) {
		case *uint16:
			if v != nil {
				return strconv.Itoa(int(*v))
			}
		case *uint32:
			if v != nil {
				return strconv.FormatUint(uint64(*v), 10)
			}
		}
		return "-"
	}
	for _, r := range rows {
		t.row(r.ID, r.Action, opt(r.Port), opt(r.Tunnel), opt(r.LBR))
	}
	t.flush()
}

func (c *client) readTunnels(ctx context.Context) ([]tunnelRow, error) {
	es, err := c.readTable(ctx, p4info.IDTableTunnels)
	if err != nil {
		return nil, err
	}
	rows := make([]tunnelRow, 0, len(es))
	for _, e := range es {
		if a, ok := e.Action.(translate.SetGRE); ok {
			rows = append(rows, tunnelRowOf(e.Tunnel, a.Tunnel))
		}
	}
	return rows, nil
}

var showTunnels = showRows("show tunnels", func(ctx context.Context, c *client, o *options) ([]tunnelRow, error) {
	rows, err := c.readTunnels(ctx)
	if err != nil {
		return nil, err
	}
	// State and quality come over gNMI; a device without it still shows its tunnels.
	qs, err := c.readQuality(ctx)
	if err != nil {
		fmt.Fprintf(o.stderr, "linxctl: warning: no tunnel state: %v\n", err)
	}
	for i := range rows {
		rows[i].Quality = qs[rows[i].ID]
	}
	return rows, nil
}, printTunnels)

func printTunnels(w io.Writer, rows []tunnelRow) {
	t := newTable(w, "ID", "PORT", "SRC", "DST", "KEY", "OPER", "SLA", "RTT", "LOSS", "JITTER", "SINCE")
	for _, r := range rows {
		q := r.Quality
		if q == nil {
			q = &tunnelQuality{}
		}
		t.row(r.ID, r.Port, r.Src, r.Dst, r.Key, lowerOr(q.Oper), lowerOr(q.State), fmtMs(q.RTTMs), fmtLoss(q), fmtMs(q.JitterMs), fmtSince(q.LastChange))
	}
	t.flush()
}

// readTerms reads the terminations of both underlay families (tunnel_term,
// then tunnel_term6).
func (c *client) readTerms(ctx context.Context) ([]termRow, error) {
	es, err := c.readTable(ctx, p4info.IDTableTunnelTerm)
	if err != nil {
		return nil, err
	}
	es6, err := c.readTable(ctx, p4info.IDTableTunnelTerm6)
	if err != nil {
		return nil, err
	}
	es = append(es, es6...)
	rows := make([]termRow, 0, len(es))
	for _, e := range es {
		rows = append(rows, termRowOf(e))
	}
	return rows, nil
}

var showTerms = showRows("show terms", func(ctx context.Context, c *client, _ *options) ([]termRow, error) { return c.readTerms(ctx) }, printTerms)

func printTerms(w io.Writer, rows []termRow) {
	t := newTable(w, "SRC", "DST", "KEY", "TUNNEL")
	for _, r := range rows {
		t.row(r.Src, r.Dst, r.Key, r.Tunnel)
	}
	t.flush()
}

func (c *client) readLBRs(ctx context.Context) ([]lbrRow, lbrView, error) {
	es, err := c.readTable(ctx, p4info.IDTableLBR)
	if err != nil {
		return nil, lbrView{}, err
	}
	v, err := c.readSelector(ctx)
	if err != nil {
		return nil, lbrView{}, err
	}
	rows := make([]lbrRow, 0, len(es))
	for _, e := range es {
		rows = append(rows, v.row(e))
	}
	return rows, v, nil
}

var showLBR = showRows("show lbr", func(ctx context.Context, c *client, _ *options) ([]lbrRow, error) {
	rows, _, err := c.readLBRs(ctx)
	return rows, err
}, printLBR)

func printLBR(w io.Writer, rows []lbrRow) {
	t := newTable(w, "ID", "REF", "MEMBERS (TUNNEL:WEIGHT)")
	for _, r := range rows {
		t.row(r.ID, r.ref(), orNone(membersArg(r.Members)))
	}
	t.flush()
}

// groupRow is an lbr_selector group for output.
type groupRow struct {
	ID      uint32           `json:"id"`
	MaxSize int32            `json:"max_size"`
	Members []groupMemberRow `json:"members"`
}

type groupMemberRow struct {
	Member uint32 `json:"member"`
	Tunnel uint32 `json:"tunnel"`
	Weight uint32 `json:"weight"`
}

func (v lbrView) groupRows() []groupRow {
	ids := make([]uint32, 0, len(v.groups))
	for id := range v.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rows := make([]groupRow, 0, len(ids))
	for _, id := range ids {
		g := v.groups[id]
		r := groupRow{ID: id, MaxSize: g.MaxSize, Members: []groupMemberRow{}}
		for _, gm := range g.Members {
			r.Members = append(r.Members, groupMemberRow{Member: gm.Member, Tunnel: uint32(v.members[gm.Member].Tunnel), Weight: gm.Weight})
		}
		rows = append(rows, r)
	}
	return rows
}

func showGroups(ctx context.Context, o *options, args []string) error {
	if err := noArgs("show groups", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		v, err := c.readSelector(ctx)
		if err != nil {
			return err
		}
		rows := v.groupRows()
		if o.json {
			return writeJSON(o.stdout, rows)
		}
		t := newTable(o.stdout, "GROUP", "MEMBER", "TUNNEL", "WEIGHT")
		for _, r := range rows {
			if len(r.Members) == 0 {
				t.row(r.ID, "-", "-", "-")
			}
			for _, m := range r.Members {
				t.row(r.ID, m.Member, m.Tunnel, m.Weight)
			}
		}
		return t.flush()
	})
}

// memberRow is an lbr_selector member for output.
type memberRow struct {
	ID     uint32   `json:"id"`
	Tunnel uint32   `json:"tunnel"`
	Groups []uint32 `json:"groups"`
}

func showMembers(ctx context.Context, o *options, args []string) error {
	if err := noArgs("show members", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		v, err := c.readSelector(ctx)
		if err != nil {
			return err
		}
		ids := make([]uint32, 0, len(v.members))
		for id := range v.members {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		rows := make([]memberRow, 0, len(ids))
		for _, id := range ids {
			r := memberRow{ID: id, Tunnel: uint32(v.members[id].Tunnel), Groups: []uint32{}}
			for _, g := range v.groupRows() {
				for _, m := range g.Members {
					if m.Member == id {
						r.Groups = append(r.Groups, g.ID)
					}
				}
			}
			rows = append(rows, r)
		}
		if o.json {
			return writeJSON(o.stdout, rows)
		}
		t := newTable(o.stdout, "MEMBER", "TUNNEL", "GROUPS")
		for _, r := range rows {
			gs := make([]string, len(r.Groups))
			for i, g := range r.Groups {
				gs[i] = strconv.FormatUint(uint64(g), 10)
			}
			t.row(r.ID, r.Tunnel, orNone(strings.Join(gs, ",")))
		}
		return t.flush()
	})
}

// tablesJSON is show tables --json.
type tablesJSON struct {
	PDR        []pdrRow    `json:"pdr"`
	PDRDefault pdrDefault  `json:"pdr_default"`
	FAR        []farRow    `json:"far"`
	LBR        []lbrRow    `json:"lbr"`
	Tunnels    []tunnelRow `json:"tunnels"`
	Terms      []termRow   `json:"terms"`
	NonIP      []nonIPRow  `json:"nonip"`
	SLA        []slaRow    `json:"sla"`
}

func (c *client) readAll(ctx context.Context) (tablesJSON, error) {
	var out tablesJSON
	es, err := c.readTable(ctx, p4info.IDTablePDR)
	if err != nil {
		return out, err
	}
	out.PDR = pdrRows(es)
	if out.PDRDefault, err = c.readPDRDefault(ctx); err != nil {
		return out, err
	}
	if out.FAR, err = c.readFARs(ctx); err != nil {
		return out, err
	}
	if out.LBR, _, err = c.readLBRs(ctx); err != nil {
		return out, err
	}
	if out.Tunnels, err = c.readTunnels(ctx); err != nil {
		return out, err
	}
	// The overlays' state is a gNMI read: without it the tunnels still show.
	if qs, err := c.readQuality(ctx); err == nil {
		for i := range out.Tunnels {
			out.Tunnels[i].Quality = qs[out.Tunnels[i].ID]
		}
	}
	if out.Terms, err = c.readTerms(ctx); err != nil {
		return out, err
	}
	if out.NonIP, err = c.readNonIP(ctx); err != nil {
		return out, err
	}
	if out.SLA, err = c.readSLA(ctx); err != nil {
		return out, err
	}
	return out, nil
}

func showTables(ctx context.Context, o *options, args []string) error {
	if err := noArgs("show tables", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		all, err := c.readAll(ctx)
		if err != nil {
			return err
		}
		if o.json {
			return writeJSON(o.stdout, all)
		}
		w, first := o.stdout, true
		section(w, &first, "pdr ("+plural(len(all.PDR), "entry", "entries")+")")
		printPDR(w, all.PDR, all.PDRDefault)
		section(w, &first, "far ("+plural(len(all.FAR), "entry", "entries")+")")
		printFAR(w, all.FAR)
		section(w, &first, "lbr ("+plural(len(all.LBR), "entry", "entries")+")")
		printLBR(w, all.LBR)
		section(w, &first, "tunnels ("+plural(len(all.Tunnels), "entry", "entries")+")")
		printTunnels(w, all.Tunnels)
		section(w, &first, "terms ("+plural(len(all.Terms), "entry", "entries")+")")
		printTerms(w, all.Terms)
		section(w, &first, "nonip ("+plural(len(all.NonIP), "entry", "entries")+")")
		printNonIP(w, all.NonIP)
		section(w, &first, "sla ("+plural(len(all.SLA), "entry", "entries")+")")
		printSLA(w, all.SLA)
		return nil
	})
}

// ---- arbitration ----

type arbitrationJSON struct {
	DeviceID uint64      `json:"device_id"`
	Role     string      `json:"role"`
	Primary  bool        `json:"primary"`
	Highest  *electionID `json:"highest_election_id"`
	Status   string      `json:"status"`
	Message  string      `json:"message"`
}

func showArbitration(ctx context.Context, o *options, args []string) error {
	if err := noArgs("show arbitration", args); err != nil {
		return err
	}
	return withClient(o, func(c *client) error {
		st, a, err := c.openStream(ctx, nil)
		if err != nil {
			return err
		}
		st.close()
		out := arbitrationJSON{DeviceID: o.deviceID, Role: o.role, Primary: a.Primary, Highest: a.Highest,
			Status: codeName(a.Status), Message: a.Message}
		if o.json {
			return writeJSON(o.stdout, out)
		}
		primary := "none connected"
		if a.Primary {
			primary = "connected"
		}
		highest := "none (no controller has arbitrated with an election id)"
		if a.Highest != nil {
			highest = a.Highest.String()
			if a.Highest.High != 0 {
				highest += " (high:low)"
			}
		}
		t := newTable(o.stdout, "FIELD", "VALUE")
		t.row("device", o.deviceID)
		t.row("role", roleName(o.role))
		t.row("primary", primary)
		t.row("highest election id", highest)
		t.row("device says", fmt.Sprintf("%s: %s", codeName(a.Status), a.Message))
		t.row("linxctl", "connected as a backup (no election id): it never takes mastership for reads")
		return t.flush()
	})
}

// dropName is the name of a drop reason code, from the data path's BTF.
func dropName(code int64) string {
	return dataplane.DropReason(code).String()
}
