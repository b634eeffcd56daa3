package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

func mustFAR(id uint32) translate.Entry {
	return translate.Entry{Key: translate.Key{Table: p4info.IDTableFAR, FAR: dataplane.FARID(id)},
		Action: translate.FARAction{FAR: dataplane.FAR{Action: dataplane.ActDrop}}}
}

func decodeJSON[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("output is not the expected JSON: %v\n%s", err, s)
	}
	return v
}

// rawPDRs reads table pdr over P4Runtime directly, to check what linxctl wrote
// on the wire.
func rawPDRs(t *testing.T, a *agent) []*p4v1.TableEntry {
	t.Helper()
	conn, err := grpc.NewClient(a.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := p4v1.NewP4RuntimeClient(conn).Read(ctx, &p4v1.ReadRequest{DeviceId: a.deviceID, Entities: []*p4v1.Entity{
		{Entity: &p4v1.Entity_TableEntry{TableEntry: &p4v1.TableEntry{TableId: p4info.IDTablePDR}}}}})
	if err != nil {
		t.Fatal(err)
	}
	var out []*p4v1.TableEntry
	for {
		r, err := s.Recv()
		if err != nil {
			break
		}
		for _, e := range r.Entities {
			out = append(out, e.GetTableEntry())
		}
	}
	return out
}

func TestPipeline(t *testing.T) {
	a := startAgent(t, 1)
	a.fails(t, exitError, []string{"no forwarding pipeline config", "linxctl --master pipeline push"}, "show", "pdr")
	a.fails(t, exitUsage, []string{"writes need mastership: pass --master"}, "pipeline", "push")
	if p := decodeJSON[pipelineJSON](t, a.ok(t, "pipeline", "show", "--json")); p.Committed || p.Cookie != nil {
		t.Errorf("before push: %+v", p)
	}
	out := a.ok(t, "--master", "pipeline", "push")
	want := defaultCookie(p4info.New(p4info.DefaultSizes))
	if !strings.Contains(out, "pipeline committed") {
		t.Errorf("push said %q", out)
	}
	p := decodeJSON[pipelineJSON](t, a.ok(t, "pipeline", "show", "--json"))
	if !p.Committed || p.Cookie == nil || *p.Cookie != want || p.Name != "linx" || p.Tables != 9 {
		t.Errorf("after push: %+v (cookie want %#x)", p, want)
	}
	if out := a.ok(t, "show", "pipeline"); !strings.Contains(out, "committed") || !strings.Contains(out, "linx version 5") {
		t.Errorf("show pipeline:\n%s", out)
	}
	// The same P4Info again: nothing to do. Another cookie: refused without --force.
	if push := decodeJSON[pushJSON](t, a.ok(t, "-m", "pipeline", "push", "--json")); push.Pushed || push.Cookie != want {
		t.Errorf("second push: %+v", push)
	}
	a.ok(t, "-m", "add", "far", "1", "drop")
	a.fails(t, exitError, []string{"pass --force"}, "-m", "pipeline", "push", "--cookie", "7")
	if out := a.ok(t, "show", "far"); !strings.Contains(out, "drop") {
		t.Errorf("a refused push cleared the tables:\n%s", out)
	}
	// A push from a file, forced: clears every entry.
	f := filepath.Join(t.TempDir(), "p4info.txt")
	if err := os.WriteFile(f, p4info.FileText(), 0o644); err != nil {
		t.Fatal(err)
	}
	r := a.lx(t, "-m", "pipeline", "push", "--p4info", f, "--cookie", "7", "--force")
	if r.code != exitOK || !strings.Contains(r.stderr, "clears every table entry") {
		t.Fatalf("forced push: %+v", r)
	}
	if p := decodeJSON[pipelineJSON](t, a.ok(t, "pipeline", "show", "--json")); *p.Cookie != 7 {
		t.Errorf("cookie after forced push: %d", *p.Cookie)
	}
	if fars := decodeJSON[[]farRow](t, a.ok(t, "show", "far", "--json")); len(fars) != 0 {
		t.Errorf("entries survived VERIFY_AND_COMMIT: %+v", fars)
	}
}

// setup pushes the pipeline and writes the example configuration.
func setup(t *testing.T, a *agent) {
	t.Helper()
	a.ok(t, "-m", "pipeline", "push")
	for _, cmd := range []string{
		"add tunnel 1 port=2 src=172.16.1.1 dst=172.16.1.2 key=0",
		"add tunnel 2 port=3 src=172.16.2.1 dst=172.16.2.2 key=42",
		"add term src=172.16.1.2 dst=172.16.1.1 key=0 tunnel=1",
		"add far 10 encap tunnel=1",
		"add far 11 balance lbr=1",
		"add far 12 forward port=1",
		"add far 13 drop",
		"add far 14 punt",
		"add lbr 1 members=1:3,2:1",
		"add pdr prio=100 dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef dir=uplink in=1 far=10",
		"add pdr prio=50 src=192.168.0.0/24 proto=tcp sport=1024-65535 far=11",
		"add pdr prio=1 far=13",
	} {
		a.ok(t, append([]string{"--master"}, strings.Fields(cmd)...)...)
	}
}

func TestAddShow(t *testing.T) {
	a := startAgent(t, 1)
	setup(t, a)

	pdrs := decodeJSON[[]pdrRow](t, a.ok(t, "show", "pdr", "--json"))
	want := []pdrRow{
		{Prio: 100, In: "1", Dir: "uplink", Src: "*", Dst: "10.2.0.0/16", Proto: "udp", Sport: "*", Dport: "5060-5061", DSCP: "ef", FAR: 10},
		{Prio: 50, In: "*", Dir: "*", Src: "192.168.0.0/24", Dst: "*", Proto: "tcp", Sport: "1024-65535", Dport: "*", DSCP: "*", FAR: 11},
		{Prio: 1, In: "*", Dir: "*", Src: "*", Dst: "*", Proto: "*", Sport: "*", Dport: "*", DSCP: "*", FAR: 13},
	}
	if !slices.Equal(pdrs, want) {
		t.Errorf("show pdr --json:\n got %+v\nwant %+v", pdrs, want)
	}
	// On the wire: the ternaries and ranges P4Runtime expects.
	raw := rawPDRs(t, a)
	var top *p4v1.TableEntry
	for _, te := range raw {
		if te.Priority == 100 {
			top = te
		}
	}
	if top == nil {
		t.Fatalf("no priority 100 entry in %v", raw)
	}
	fields := map[uint32]*p4v1.FieldMatch{}
	for _, m := range top.Match {
		fields[m.FieldId] = m
	}
	check := func(id uint32, value, mask []byte) {
		t.Helper()
		tm := fields[id].GetTernary()
		if tm == nil || !bytes.Equal(tm.Value, value) || !bytes.Equal(tm.Mask, mask) {
			t.Errorf("field %d: %v, want %x/%x", id, fields[id], value, mask)
		}
	}
	check(p4info.IDFieldPDRDstAddr, []byte{10, 2, 0, 0}, []byte{0xff, 0xff, 0, 0})
	check(p4info.IDFieldPDRIPProto, []byte{17}, []byte{0xff})
	check(p4info.IDFieldPDRDSCP, []byte{46}, []byte{0x3f})
	check(p4info.IDFieldPDRDirection, []byte{1}, []byte{3})
	check(p4info.IDFieldPDRIngressPort, []byte{1}, []byte{0xff, 0xff})
	if r := fields[p4info.IDFieldPDRL4Dport].GetRange(); r == nil || !bytes.Equal(r.Low, []byte{0x13, 0xc4}) || !bytes.Equal(r.High, []byte{0x13, 0xc5}) {
		t.Errorf("dport: %v", fields[p4info.IDFieldPDRL4Dport])
	}
	if _, ok := fields[p4info.IDFieldPDRSrcAddr]; ok {
		t.Error("a wildcard src was sent as a match field")
	}

	one := func(v uint32) *uint32 { return &v }
	port := uint16(1)
	fars := decodeJSON[[]farRow](t, a.ok(t, "show", "far", "--json"))
	wantFARs := []farRow{{ID: 10, Action: "encap", Tunnel: one(1)}, {ID: 11, Action: "balance", LBR: one(1)},
		{ID: 12, Action: "forward", Port: &port}, {ID: 13, Action: "drop"}, {ID: 14, Action: "punt"}}
	if len(fars) != len(wantFARs) {
		t.Fatalf("show far --json: %+v", fars)
	}
	for i := range fars {
		g, w := fars[i], wantFARs[i]
		if g.ID != w.ID || g.Action != w.Action || (g.Tunnel == nil) != (w.Tunnel == nil) || (g.LBR == nil) != (w.LBR == nil) || (g.Port == nil) != (w.Port == nil) ||
			(g.Tunnel != nil && *g.Tunnel != *w.Tunnel) || (g.LBR != nil && *g.LBR != *w.LBR) || (g.Port != nil && *g.Port != *w.Port) {
			t.Errorf("far %d: %+v, want %+v", w.ID, g, w)
		}
	}
	// Stable keys: every key present, null when it does not apply.
	var generic []map[string]any
	if err := json.Unmarshal([]byte(a.ok(t, "show", "far", "--json")), &generic); err != nil {
		t.Fatal(err)
	}
	for _, m := range generic {
		for _, k := range []string{"id", "action", "port", "tunnel", "lbr"} {
			if _, ok := m[k]; !ok {
				t.Errorf("far row %v lacks key %q", m, k)
			}
		}
	}

	tunnels := decodeJSON[[]tunnelRow](t, a.ok(t, "show", "tunnels", "--json"))
	// Each overlay's liveness and SLA state come over gNMI. This agent probes
	// its overlays (sla is on by default) but no peer answers: no verdict
	// yet, and no round-trip measures (absent, not 0).
	for i := range tunnels {
		if q := tunnels[i].Quality; q == nil || q.Oper == "" || q.State != "UNKNOWN" || q.RTTMs != nil || q.JitterMs != nil {
			t.Errorf("show tunnels --json: tunnel %d state %+v, want an oper-status, sla state UNKNOWN and no rtt or jitter", tunnels[i].ID, q)
		}
		tunnels[i].Quality = nil
	}
	if !slices.Equal(tunnels, []tunnelRow{{ID: 1, Port: 2, Src: "172.16.1.1", Dst: "172.16.1.2"}, {ID: 2, Port: 3, Src: "172.16.2.1", Dst: "172.16.2.2", Key: 42}}) {
		t.Errorf("show tunnels --json: %+v", tunnels)
	}
	terms := decodeJSON[[]termRow](t, a.ok(t, "show", "terms", "--json"))
	if !slices.Equal(terms, []termRow{{"172.16.1.2", "172.16.1.1", 0, 1}}) {
		t.Errorf("show terms --json: %+v", terms)
	}
	lbrs := decodeJSON[[]lbrRow](t, a.ok(t, "show", "lbr", "--json"))
	if len(lbrs) != 1 || lbrs[0].ID != 1 || lbrs[0].Group == nil || *lbrs[0].Group != 1 || !slices.Equal(lbrs[0].Members, []lbrMember{{1, 3}, {2, 1}}) {
		t.Errorf("show lbr --json: %+v", lbrs)
	}
	groups := decodeJSON[[]groupRow](t, a.ok(t, "show", "groups", "--json"))
	if len(groups) != 1 || !slices.Equal(groups[0].Members, []groupMemberRow{{257, 1, 3}, {258, 2, 1}}) {
		t.Errorf("show groups --json: %+v", groups)
	}
	members := decodeJSON[[]memberRow](t, a.ok(t, "show", "members", "--json"))
	if len(members) != 2 || members[0].ID != 257 || members[1].Tunnel != 2 || !slices.Equal(members[1].Groups, []uint32{1}) {
		t.Errorf("show members --json: %+v", members)
	}

	// Text: aligned columns, human values.
	text := a.ok(t, "show", "tables")
	for _, w := range []string{
		"pdr (3 entries)", "far (5 entries)", "lbr (1 entry)", "tunnels (2 entries)", "terms (1 entry)",
		"default action pass",
		"1   group 1  1:3,2:1",
	} {
		if !strings.Contains(text, w) {
			t.Errorf("show tables lacks %q:\n%s", w, text)
		}
	}
	lines := strings.Split(a.ok(t, "show", "pdr"), "\n")
	if !strings.HasPrefix(lines[0], "PRIO") || len(lines) < 4 {
		t.Fatalf("show pdr:\n%s", strings.Join(lines, "\n"))
	}
	// Columns line up: DST starts at the same offset in the header and the rows.
	col := strings.Index(lines[0], "DST")
	if got := strings.Index(lines[1], "10.2.0.0/16"); got != col {
		t.Errorf("DST column at %d in the header, value at %d:\n%s", col, got, strings.Join(lines, "\n"))
	}
	all := decodeJSON[tablesJSON](t, a.ok(t, "show", "tables", "--json"))
	if len(all.PDR) != 3 || len(all.FAR) != 5 || len(all.LBR) != 1 || len(all.Tunnels) != 2 || len(all.Terms) != 1 || all.PDRDefault.Action != "pass" {
		t.Errorf("show tables --json: %+v", all)
	}
}

func TestModifyDelete(t *testing.T) {
	a := startAgent(t, 1)
	setup(t, a)
	key := "prio=100 dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef dir=uplink in=1"
	a.ok(t, append([]string{"-m", "mod", "pdr"}, strings.Fields(key+" far=12")...)...)
	if pdrs := decodeJSON[[]pdrRow](t, a.ok(t, "show", "pdr", "--json")); pdrs[0].FAR != 12 {
		t.Errorf("after mod pdr: %+v", pdrs[0])
	}
	a.ok(t, "-m", "default", "pdr", "drop")
	if out := a.ok(t, "show", "pdr"); !strings.Contains(out, "default action drop") {
		t.Errorf("after default pdr drop:\n%s", out)
	}
	a.ok(t, "-m", "mod", "far", "10", "forward", "port=3")
	a.ok(t, "-m", "mod", "tunnel", "2", "key=7") // the other parameters stay
	if tu := decodeJSON[[]tunnelRow](t, a.ok(t, "show", "tunnels", "--json")); func() tunnelRow { r := tu[1]; r.Quality = nil; return r }() !=
		(tunnelRow{ID: 2, Port: 3, Src: "172.16.2.1", Dst: "172.16.2.2", Key: 7}) {
		t.Errorf("after mod tunnel: %+v", tu)
	}
	a.ok(t, "-m", "mod", "term", "src=172.16.1.2", "dst=172.16.1.1", "tunnel=2")
	if te := decodeJSON[[]termRow](t, a.ok(t, "show", "terms", "--json")); te[0].Tunnel != 2 {
		t.Errorf("after mod term: %+v", te)
	}

	// mod lbr: fewer members (the extra one goes), then more.
	a.ok(t, "-m", "mod", "lbr", "1", "members=2:5")
	if l := decodeJSON[[]lbrRow](t, a.ok(t, "show", "lbr", "--json")); !slices.Equal(l[0].Members, []lbrMember{{2, 5}}) {
		t.Errorf("after mod lbr: %+v", l)
	}
	if m := decodeJSON[[]memberRow](t, a.ok(t, "show", "members", "--json")); len(m) != 1 || m[0].ID != 257 || m[0].Tunnel != 2 {
		t.Errorf("members after mod lbr: %+v", m)
	}
	a.ok(t, "-m", "mod", "lbr", "1", "members=1:1,2:2,3:4")
	if l := decodeJSON[[]lbrRow](t, a.ok(t, "show", "lbr", "--json")); !slices.Equal(l[0].Members, []lbrMember{{1, 1}, {2, 2}, {3, 4}}) {
		t.Errorf("after second mod lbr: %+v", l)
	}
	a.fails(t, exitError, []string{"lbr 9 does not exist"}, "-m", "mod", "lbr", "9", "members=1")

	// del lbr removes the entry, the group and the members it made.
	a.ok(t, "-m", "del", "lbr", "1")
	if l := decodeJSON[[]lbrRow](t, a.ok(t, "show", "lbr", "--json")); len(l) != 0 {
		t.Errorf("lbr after del: %+v", l)
	}
	if g := decodeJSON[[]groupRow](t, a.ok(t, "show", "groups", "--json")); len(g) != 0 {
		t.Errorf("groups after del lbr: %+v", g)
	}
	if m := decodeJSON[[]memberRow](t, a.ok(t, "show", "members", "--json")); len(m) != 0 {
		t.Errorf("members after del lbr: %+v", m)
	}

	a.ok(t, append([]string{"-m", "del", "pdr"}, strings.Fields(key+" far=12")...)...) // far= is ignored
	a.ok(t, "-m", "del", "far", "10")
	a.ok(t, "-m", "del", "term", "src=172.16.1.2", "dst=172.16.1.1")
	a.ok(t, "-m", "del", "tunnel", "2")
	all := decodeJSON[tablesJSON](t, a.ok(t, "show", "tables", "--json"))
	if len(all.PDR) != 2 || len(all.FAR) != 4 || len(all.Terms) != 0 || len(all.Tunnels) != 1 {
		t.Errorf("after deletes: %+v", all)
	}
}

func TestPerUpdateErrors(t *testing.T) {
	a := startAgent(t, 1)
	setup(t, a)
	a.fails(t, exitError, []string{
		"update 1 (insert far 10: encap tunnel=1): ALREADY_EXISTS: entry already exists",
		"1 of 1 updates failed",
	}, "-m", "add", "far", "10", "encap", "tunnel=1")
	a.fails(t, exitError, []string{"update 1 (delete far 99): NOT_FOUND"}, "-m", "del", "far", "99")
	// A data-path check: tunnel ids must be below the tunnel counters' size.
	a.fails(t, exitError, []string{"update 1 (insert tunnel 5000", "INVALID_ARGUMENT"},
		"-m", "add", "tunnel", "5000", "port=2", "src=172.16.1.1", "dst=172.16.1.2")

	// --json: every update's outcome on stdout.
	r := a.fails(t, exitError, nil, "-m", "--json", "add", "far", "10", "drop")
	res := decodeJSON[[]writeResult](t, r.stdout)
	if len(res) != 1 || res[0].Code != "ALREADY_EXISTS" || res[0].Update != 1 {
		t.Errorf("--json result: %+v", res)
	}

	// add lbr: a member that already exists makes the first stage fail; what it
	// inserted is deleted again.
	a.ok(t, "-m", "add", "lbr", "5", "members=1")
	r = a.fails(t, exitError, []string{"(insert lbr_selector member 1281: encap tunnel=1): ALREADY_EXISTS", "deleting what it inserted"},
		"-m", "add", "lbr", "5", "members=1,2")
	if !strings.Contains(r.stdout, "update 2 (insert lbr_selector member 1282: encap tunnel=2): OK") ||
		!strings.Contains(r.stdout, "update 3 (delete lbr_selector member 1282): OK") {
		t.Errorf("add lbr rollback:\n%s", r.stdout)
	}
	if m := decodeJSON[[]memberRow](t, a.ok(t, "show", "members", "--json")); len(m) != 3 {
		t.Errorf("members after a failed add lbr: %+v", m)
	}

	// apply: one session, one line per command, each update reported.
	file := filepath.Join(t.TempDir(), "cfg")
	os.WriteFile(file, []byte(`# a comment
add far 20 drop
add far 10 drop        # exists
add pdr prio=7 dscp=af41 far=20
add lbr 2 members=1:1
del far 404
`), 0o644)
	r = a.fails(t, exitError, []string{
		"update 2 (line 3: insert far 10: drop): ALREADY_EXISTS: entry already exists",
		"(line 6: delete far 404): NOT_FOUND",
		"2 of 7 updates failed",
	}, "-m", "apply", file)
	if !strings.Contains(r.stdout, "update 1 (line 2: insert far 20: drop): OK") {
		t.Errorf("apply stdout:\n%s", r.stdout)
	}
	all := decodeJSON[tablesJSON](t, a.ok(t, "show", "tables", "--json"))
	if len(all.FAR) != 6 || len(all.PDR) != 4 || len(all.LBR) != 3 {
		t.Errorf("after apply: %d far, %d pdr, %d lbr", len(all.FAR), len(all.PDR), len(all.LBR))
	}
	// A syntax error anywhere: nothing is written.
	os.WriteFile(file, []byte("add far 30 drop\nadd far 31 explode\n"), 0o644)
	a.fails(t, exitUsage, []string{"line 2"}, "-m", "apply", file)
	if f := decodeJSON[[]farRow](t, a.ok(t, "show", "far", "--json")); len(f) != 6 {
		t.Errorf("a rejected file wrote something: %+v", f)
	}
}

func TestDumpApply(t *testing.T) {
	a := startAgent(t, 1)
	setup(t, a)
	a.ok(t, "-m", "default", "pdr", "drop")
	dump1 := a.ok(t, "dump")
	for _, w := range []string{"add lbr 1 members=1:3,2:1", "add far 11 balance lbr=1", "default pdr drop",
		"add pdr prio=100 in=1 dir=uplink dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef far=10"} {
		if !strings.Contains(dump1, w) {
			t.Errorf("dump lacks %q:\n%s", w, dump1)
		}
	}
	file := filepath.Join(t.TempDir(), "dump")
	os.WriteFile(file, []byte(dump1), 0o644)
	a.ok(t, "-m", "pipeline", "push", "--force") // clears everything
	a.ok(t, "-m", "apply", file)
	if dump2 := a.ok(t, "dump"); dump2 != dump1 {
		t.Errorf("dump after apply differs:\n%s\nwant\n%s", dump2, dump1)
	}
}

func TestCounters(t *testing.T) {
	a := startAgent(t, 1)
	setup(t, a)
	rows := decodeJSON[[]counterRow](t, a.ok(t, "show", "counters", "tunnels", "--json"))
	var cells []string
	for _, r := range rows {
		cells = append(cells, r.id())
	}
	if !slices.Equal(cells, []string{"tunnel_tx/1/", "tunnel_tx/2/", "tunnel_rx/1/", "tunnel_rx/2/"}) {
		t.Errorf("tunnel counters: %v", cells)
	}
	if rows := decodeJSON[[]counterRow](t, a.ok(t, "show", "counters", "drops", "--json")); len(rows) != 0 {
		t.Errorf("drops on an idle data path: %+v", rows)
	}
	rows = decodeJSON[[]counterRow](t, a.ok(t, "show", "counters", "drops", "--all", "--json"))
	if len(rows) != dataplane.NumDropReasons-1 || rows[0].Index != 1 || rows[0].Name != "policy" {
		t.Errorf("show counters drops --all: %+v", rows)
	}
	rows = decodeJSON[[]counterRow](t, a.ok(t, "show", "counters", "pdr", "--json"))
	if len(rows) != 4 || rows[0].Counter != "pdr" || rows[3].Counter != "pdr_default" ||
		rows[0].Name != "prio=100 in=1 dir=uplink dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef" {
		t.Errorf("pdr counters: %+v", rows)
	}
	text := a.ok(t, "show", "counters")
	for _, w := range []string{"ports (0 ports)", "tunnels (2 tunnels)", "TUNNEL  TX PACKETS", "drops (0 reasons)", "pdr (3 rules and the default)", "default pass"} {
		if !strings.Contains(text, w) {
			t.Errorf("show counters lacks %q:\n%s", w, text)
		}
	}
	a.fails(t, exitUsage, []string{"unknown counters"}, "show", "counters", "bogus")

	out := a.ok(t, "watch", "counters", "tunnels", "--count", "2", "--interval", "20ms")
	if !strings.Contains(out, "sample 1") || !strings.Contains(out, "sample 2") || strings.Contains(out, "sample 3") ||
		!strings.Contains(out, "TX PKT/S") {
		t.Errorf("watch counters:\n%s", out)
	}
	out = a.ok(t, "watch", "counters", "--count", "2", "--interval", "20ms", "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("watch --json printed %d lines:\n%s", len(lines), out)
	}
	first, second := decodeJSON[watchJSON](t, lines[0]), decodeJSON[watchJSON](t, lines[1])
	if !second.Time.After(first.Time) || len(second.Counters) == 0 || second.Counters[0].PPS == nil || first.Counters[0].PPS != nil {
		t.Errorf("watch --json samples: %+v / %+v", first, second)
	}
}

func TestArbitration(t *testing.T) {
	a := startAgent(t, 3)
	arb := decodeJSON[arbitrationJSON](t, a.ok(t, "show", "arbitration", "--json"))
	if arb.Primary || arb.Highest != nil || arb.DeviceID != 3 || arb.Status != "NOT_FOUND" {
		t.Errorf("fresh device: %+v", arb)
	}
	a.ok(t, "-m", "pipeline", "push") // election id 1, then gone
	arb = decodeJSON[arbitrationJSON](t, a.ok(t, "show", "arbitration", "--json"))
	if arb.Primary || arb.Highest == nil || *arb.Highest != (electionID{0, 1}) {
		t.Errorf("after a master command: %+v", arb)
	}

	// "ONOS" connects with election id 10 and is primary.
	onos := connectController(t, a, 10)
	if err := onos.writeFAR(1); err != nil {
		t.Fatalf("the primary cannot write: %v", err)
	}
	out := a.ok(t, "show", "arbitration")
	for _, w := range []string{"primary              connected", "highest election id  10", "backup"} {
		if !strings.Contains(out, w) {
			t.Errorf("show arbitration lacks %q:\n%s", w, out)
		}
	}
	// Reads and show arbitration leave ONOS primary.
	a.ok(t, "show", "tables")
	if err := onos.writeFAR(2); err != nil {
		t.Fatalf("ONOS lost mastership to a read: %v", err)
	}

	// An explicit election id below ONOS's cannot win.
	a.fails(t, exitError, []string{"below the highest election id the device has seen (10)"}, "-m", "--election-id", "5", "add", "far", "3", "drop")
	a.fails(t, exitUsage, []string{"--election-id is used only with --master"}, "--election-id", "5", "show", "far")

	// --master takes over with 11, warning about it; ONOS hears it is a backup.
	r := a.lx(t, "-m", "add", "far", "3", "drop")
	if r.code != exitOK || !strings.Contains(r.stderr, "taking mastership of device 3 (role default) from the connected primary (election id 10) with election id 11") {
		t.Fatalf("takeover: %+v", r)
	}
	if u := onos.next(t); codes.Code(u.GetStatus().GetCode()) != codes.AlreadyExists || u.GetElectionId().GetLow() != 11 {
		t.Errorf("ONOS was told %v", u)
	}
	if u := onos.next(t); codes.Code(u.GetStatus().GetCode()) != codes.NotFound {
		t.Errorf("after linxctl left, ONOS was told %v", u)
	}
	err := onos.writeFAR(4)
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("ONOS's write after the takeover: %v", err)
	}
	arb = decodeJSON[arbitrationJSON](t, a.ok(t, "show", "arbitration", "--json"))
	if arb.Primary || *arb.Highest != (electionID{0, 11}) {
		t.Errorf("after takeover: %+v", arb)
	}
	// An explicit election id at or above the highest works.
	a.ok(t, "-m", "--election-id", "0:20", "add", "far", "5", "drop")
	if f := decodeJSON[[]farRow](t, a.ok(t, "show", "far", "--json")); len(f) != 4 {
		t.Errorf("fars: %+v", f)
	}
	// A wrong device id.
	r = a.lx(t, "--device-id", "1", "show", "far")
	if r.code != exitError || !strings.Contains(r.stderr, "pass the agent's --device-id") {
		t.Errorf("wrong device id: %+v", r)
	}
}

// TestDocs: docs/linxctl.md covers every command.
func TestDocs(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "linxctl.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range commands {
		w := "linxctl " + strings.Join(c.words, " ")
		if !strings.Contains(string(doc), w) {
			t.Errorf("docs/linxctl.md has no example of %q", w)
		}
	}
}
