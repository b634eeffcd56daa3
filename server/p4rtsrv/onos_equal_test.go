package p4rtsrv

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/p4info"
)

// ONOS 2.7 keeps a flow rule ADDED only while the entry it reads back every
// 30 s is equal to the one it translated; otherwise it deletes the entry and
// writes it again, for ever (the "PENDING_ADD loop"). This file mirrors the
// rules of that comparison (ONOS 2.7.0 source):
//
//   - P4RuntimeFlowRuleProgrammable.getFlowEntries decodes each entry read
//     (TableEntryCodec.decode), looks the translated entry up by its handle
//     (PiTableEntryHandle: table, match key, priority) and requires
//     translated.equals(decoded) (forgeFlowEntry); an entry whose handle ONOS
//     does not know is deleted, unless it is a default entry equal to the
//     table's original default (isOriginalDefaultEntry), and a default entry
//     that differs is reset with a MODIFY without action.
//   - PiTableEntry.equals: priority, cookie (controller_metadata), timeout,
//     table id, match key, isDefaultAction, table action. Counter data is not
//     part of it.
//   - decode: priority only if > 0 (otherwise "no priority", as the translator
//     leaves exact-only tables); cookie = controller_metadata; timeout never
//     (so a flow rule with a timeout never matches its read-back: only
//     permanent rules stay ADDED); every bytestring fitted to its P4Info
//     bitwidth (copyAndFit, ONOS ≥ 2.6), so canonical and padded read-backs
//     compare equal; the match key is a map by field id and action
//     parameters a map by parameter id (order does not matter);
//     isDefaultAction = empty match key.

// onosEntry is a table entry as ONOS holds it (a PiTableEntry), rendered so
// that Go equality is ONOS's equality.
type onosEntry struct {
	table     uint32
	match     string // field matches by field id, values fitted
	priority  int32  // -1: none
	cookie    uint64
	timeout   float64 // -1: none (decode never sets one)
	isDefault bool
	action    string // "" when the entry has none (a default-entry reset)
}

// handle is PiTableEntryHandle's identity (the device id is implied).
func (e onosEntry) handle() string { return fmt.Sprintf("%d/%s/%d", e.table, e.match, e.priority) }

func (e onosEntry) String() string {
	return fmt.Sprintf("{table %#x match [%s] priority %d cookie %d default %v action %s}", e.table, e.match, e.priority, e.cookie, e.isDefault, e.action)
}

// onosDecode is TableEntryCodec.decode followed by PiTableEntry's equality
// view: what ONOS compares an entry read from the device by. Translated
// entries are decoded the same way from what ONOS wrote (ONOS 2.7 writes the
// translation with every value padded to its bitwidth, which decode keeps).
func onosDecode(t *testing.T, info *p4info.Index, te *p4v1.TableEntry) onosEntry {
	t.Helper()
	tab, ok := info.Table(te.TableId)
	if !ok {
		t.Fatalf("ONOS cannot decode an entry of unknown table %#x: %v", te.TableId, te)
	}
	fit := func(b []byte, n int) string {
		if len(b) > n && strings.Trim(string(b[:len(b)-n]), "\x00") != "" {
			t.Fatalf("value %x does not fit %d bytes: ONOS cannot decode %v", b, n, te)
		}
		if len(b) > n {
			b = b[len(b)-n:]
		}
		return fmt.Sprintf("%x", append(make([]byte, n-len(b)), b...))
	}
	e := onosEntry{table: te.TableId, priority: -1, cookie: te.ControllerMetadata, timeout: -1}
	if te.Priority > 0 {
		e.priority = te.Priority
	}
	var ms []string
	for _, m := range te.Match {
		f, ok := tab.MatchField(m.FieldId)
		if !ok {
			t.Fatalf("ONOS cannot decode field %d of %v", m.FieldId, te)
		}
		n := f.Bytes()
		var s string
		switch {
		case m.GetExact() != nil:
			s = "exact:" + fit(m.GetExact().Value, n)
		case m.GetTernary() != nil:
			s = "ternary:" + fit(m.GetTernary().Value, n) + "&" + fit(m.GetTernary().Mask, n)
		case m.GetRange() != nil:
			s = "range:" + fit(m.GetRange().Low, n) + ".." + fit(m.GetRange().High, n)
		case m.GetLpm() != nil:
			s = fmt.Sprintf("lpm:%s/%d", fit(m.GetLpm().Value, n), m.GetLpm().PrefixLen)
		case m.GetOptional() != nil:
			s = "optional:" + fit(m.GetOptional().Value, n)
		default:
			t.Fatalf("ONOS cannot decode match %v", m)
		}
		ms = append(ms, fmt.Sprintf("%d=%s", m.FieldId, s))
	}
	slices.Sort(ms)
	e.match = strings.Join(ms, " ")
	e.isDefault = len(ms) == 0
	switch a := te.GetAction(); {
	case a == nil:
	case a.GetAction() != nil:
		act, ok := info.Action(a.GetAction().ActionId)
		if !ok {
			t.Fatalf("ONOS cannot decode action %d of %v", a.GetAction().ActionId, te)
		}
		var ps []string
		for _, p := range a.GetAction().Params {
			pi, ok := act.Param(p.ParamId)
			if !ok {
				t.Fatalf("ONOS cannot decode parameter %d of %v", p.ParamId, te)
			}
			ps = append(ps, fmt.Sprintf("%d=%s", p.ParamId, fit(p.Value, pi.Bytes())))
		}
		slices.Sort(ps)
		e.action = fmt.Sprintf("action %d(%s)", act.ID(), strings.Join(ps, ","))
	case a.GetActionProfileGroupId() != 0:
		e.action = fmt.Sprintf("group %d", a.GetActionProfileGroupId())
	case a.GetActionProfileMemberId() != 0:
		e.action = fmt.Sprintf("member %d", a.GetActionProfileMemberId())
	default:
		t.Fatalf("ONOS 2.7 decodes no table action like %v", a)
	}
	return e
}

// onosStore is what ONOS's translation store and default-entry mirror hold
// for one device.
type onosStore struct {
	translated map[string]onosEntry // by handle: the flow rules ONOS installed
	originals  map[uint32]onosEntry // per table: the default entry read after the pipeline push
}

func newONOSStore() *onosStore {
	return &onosStore{translated: map[string]onosEntry{}, originals: map[uint32]onosEntry{}}
}

// installed records an entry ONOS wrote (INSERT, or MODIFY of a default entry).
func (s *onosStore) installed(t *testing.T, info *p4info.Index, te *p4v1.TableEntry) {
	t.Helper()
	e := onosDecode(t, info, te)
	s.translated[e.handle()] = e
}

// removed forgets a flow rule ONOS removed.
func (s *onosStore) removed(t *testing.T, info *p4info.Index, te *p4v1.TableEntry) {
	t.Helper()
	delete(s.translated, onosDecode(t, info, te).handle())
}

// reconcile is the 30 s flow poll: it returns, for each entry read, what ONOS
// would do about it other than keeping it ADDED, and for each flow rule not
// read back that ONOS would write it again.
func (s *onosStore) reconcile(t *testing.T, info *p4info.Index, read []*p4v1.TableEntry) []string {
	t.Helper()
	var problems []string
	seen := map[string]bool{}
	for _, te := range read {
		got := onosDecode(t, info, te)
		want, ok := s.translated[got.handle()]
		switch {
		case ok && want == got:
			seen[got.handle()] = true
		case ok:
			seen[got.handle()] = true
			problems = append(problems, fmt.Sprintf("read back %v, ONOS translated %v: it would delete and rewrite it every 30 s", got, want))
		case got.isDefault && s.originals[got.table] == got:
			// The table's original default entry: left alone.
		case got.isDefault:
			problems = append(problems, fmt.Sprintf("default entry %v is neither installed by ONOS nor the original %v: ONOS would reset it", got, s.originals[got.table]))
		default:
			problems = append(problems, fmt.Sprintf("entry %v is unknown to ONOS (no translated entry with that table, match and priority): ONOS would delete it", got))
		}
	}
	for h, e := range s.translated {
		if !seen[h] {
			problems = append(problems, fmt.Sprintf("flow rule %v not read back: ONOS would write it again", e))
		}
	}
	slices.Sort(problems)
	return problems
}

// The comparison itself, on hand-made read-backs: what must compare equal
// (canonical or padded values, parameter and field order, priority 0 on an
// exact table, counter data) and what must not (a different priority, value,
// cookie, action, an unknown entry, a changed default).
func TestONOSEquality(t *testing.T) {
	info := p4info.MustNewIndex(p4info.New(p4info.DefaultSizes))
	parse := func(s string) *p4v1.TableEntry {
		t.Helper()
		te := &p4v1.TableEntry{}
		if err := prototext.Unmarshal([]byte(s), te); err != nil {
			t.Fatal(err)
		}
		return te
	}
	// As ONOS 2.7 writes them: padded.
	pdr := parse(`table_id: 0x02000001 priority: 11 match { field_id: 3 ternary { value: "\x0a\x02\x00\x00" mask: "\xff\xff\x00\x00" } } match { field_id: 5 ternary { value: "\x11" mask: "\xff" } } action { action { action_id: 0x01000001 params { param_id: 1 value: "\x00\x00\x00\x07" } } }`)
	tunnel := parse(`table_id: 0x02000004 match { field_id: 1 exact { value: "\x00\x00\x00\x01" } } action { action { action_id: 0x01000008 params { param_id: 1 value: "\x00\x02" } params { param_id: 2 value: "\xac\x10\x01\x01" } params { param_id: 3 value: "\xac\x10\x03\x01" } params { param_id: 4 value: "\x00\x00\x00\x00" } } }`)
	def := parse(`table_id: 0x02000001 is_default_action: true action { action { action_id: 0x01000003 } }`)
	origDef := parse(`table_id: 0x02000001 is_default_action: true action { action { action_id: 0x01000003 } }`)

	newStore := func() *onosStore {
		s := newONOSStore()
		s.installed(t, info, pdr)
		s.installed(t, info, tunnel)
		s.originals[p4info.IDTablePDR] = onosDecode(t, info, origDef)
		return s
	}
	edit := func(te *p4v1.TableEntry, f func(*p4v1.TableEntry)) *p4v1.TableEntry {
		te = proto.Clone(te).(*p4v1.TableEntry)
		f(te)
		return te
	}
	for _, tc := range []struct {
		name string
		read []*p4v1.TableEntry
		want int // problems
	}{
		{"as written", []*p4v1.TableEntry{pdr, tunnel, def}, 0},
		{"canonical values, fields and params reordered, counters", []*p4v1.TableEntry{
			parse(`table_id: 0x02000001 priority: 11 match { field_id: 5 ternary { value: "\x11" mask: "\xff" } } match { field_id: 3 ternary { value: "\x0a\x02\x00\x00" mask: "\xff\xff\x00\x00" } } action { action { action_id: 0x01000001 params { param_id: 1 value: "\x07" } } } counter_data { packet_count: 9 byte_count: 900 }`),
			parse(`table_id: 0x02000004 match { field_id: 1 exact { value: "\x01" } } action { action { action_id: 0x01000008 params { param_id: 4 value: "\x00" } params { param_id: 3 value: "\xac\x10\x03\x01" } params { param_id: 2 value: "\xac\x10\x01\x01" } params { param_id: 1 value: "\x02" } } }`),
			def}, 0},
		{"priority changed", []*p4v1.TableEntry{edit(pdr, func(te *p4v1.TableEntry) { te.Priority = 10 }), tunnel, def}, 2},
		{"parameter changed", []*p4v1.TableEntry{edit(pdr, func(te *p4v1.TableEntry) {
			te.Action.GetAction().Params[0].Value = []byte{8}
		}), tunnel, def}, 1},
		{"cookie not echoed", []*p4v1.TableEntry{pdr, edit(tunnel, func(te *p4v1.TableEntry) { te.ControllerMetadata = 5 }), def}, 1},
		{"priority on an exact table", []*p4v1.TableEntry{pdr, edit(tunnel, func(te *p4v1.TableEntry) { te.Priority = 1 }), def}, 2},
		{"mask widened", []*p4v1.TableEntry{edit(pdr, func(te *p4v1.TableEntry) {
			te.Match[0].GetTernary().Mask = []byte{0xff, 0xff, 0xff, 0}
		}), tunnel, def}, 2},
		{"entry missing", []*p4v1.TableEntry{pdr, def}, 1},
		{"entry ONOS did not write", []*p4v1.TableEntry{pdr, tunnel, def, edit(tunnel, func(te *p4v1.TableEntry) {
			te.Match[0].GetExact().Value = []byte{2}
		})}, 1},
		{"default entry changed", []*p4v1.TableEntry{pdr, tunnel, edit(def, func(te *p4v1.TableEntry) {
			te.Action.GetAction().ActionId = p4info.IDActionDrop
		})}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newStore().reconcile(t, info, tc.read); len(got) != tc.want {
				t.Errorf("%d problems, want %d:\n%s", len(got), tc.want, strings.Join(got, "\n"))
			}
		})
	}

	// A default entry ONOS installed (a flow rule with an empty selector) is
	// compared like any other; its removal is a reset to the original.
	s := newStore()
	drop := edit(def, func(te *p4v1.TableEntry) { te.Action.GetAction().ActionId = p4info.IDActionDrop })
	s.installed(t, info, drop)
	if got := s.reconcile(t, info, []*p4v1.TableEntry{pdr, tunnel, drop}); len(got) != 0 {
		t.Errorf("installed default entry: %v", got)
	}
	if got := s.reconcile(t, info, []*p4v1.TableEntry{pdr, tunnel, def}); len(got) != 1 {
		t.Errorf("installed default entry read back as the original: %v", got)
	}
}
