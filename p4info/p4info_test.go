package p4info_test

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/linx-sdwan/linx/p4info"
)

const staleHint = "p4info/p4info.txt is stale: run `make generate` (or `go generate ./p4info`) and commit the result"

// TestGolden checks that the committed p4info.txt is what the generator writes
// and that it parses back into New(DefaultSizes).
func TestGolden(t *testing.T) {
	have, err := os.ReadFile("p4info.txt")
	if err != nil {
		t.Fatalf("%v\n%s", err, staleHint)
	}
	want := p4info.FileText()
	if !bytes.Equal(have, want) {
		hl, wl := strings.Split(string(have), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < len(hl) || i < len(wl); i++ {
			var h, w string
			if i < len(hl) {
				h = hl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if h != w {
				t.Fatalf("%s\nfirst difference at line %d:\n  committed: %q\n  generated: %q", staleHint, i+1, h, w)
			}
		}
		t.Fatal(staleHint)
	}
	var parsed p4configv1.P4Info
	if err := prototext.Unmarshal(have, &parsed); err != nil {
		t.Fatalf("p4info.txt does not parse: %v", err)
	}
	if !proto.Equal(&parsed, p4info.New(p4info.DefaultSizes)) {
		t.Fatal("p4info.txt parses into a P4Info different from New(DefaultSizes)")
	}
}

// TestOnlyOldFields: ONOS parses the pipeconf's p4info.txt with P4Runtime v1.0/1.2
// protos and its text parser rejects unknown fields, so New must not set fields
// added later.
func TestOnlyOldFields(t *testing.T) {
	newer := map[protoreflect.Name]bool{
		"initial_default_action": true, // v1.4
		"has_initial_entries":    true, // v1.4
		"platform_properties":    true, // v1.4
		"sum_of_members":         true, // v1.4
		"sum_of_weights":         true, // v1.4
		"structured_annotations": true, // v1.2
		"annotation_locations":   true, // v1.2
	}
	var walk func(path string, m protoreflect.Message)
	walk = func(path string, m protoreflect.Message) {
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			p := path + "." + string(fd.Name())
			if newer[fd.Name()] {
				t.Errorf("%s is set; ONOS cannot parse it", p)
			}
			switch {
			case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
				for i := 0; i < v.List().Len(); i++ {
					walk(fmt.Sprintf("%s[%d]", p, i), v.List().Get(i).Message())
				}
			case fd.IsMap():
				t.Errorf("%s: maps (type_info) are not expected", p)
			case fd.Kind() == protoreflect.MessageKind:
				walk(p, v.Message())
			}
			return true
		})
	}
	walk("P4Info", p4info.New(p4info.DefaultSizes).ProtoReflect())
}

func TestMarshalTextDeterministic(t *testing.T) {
	a := p4info.MarshalText(p4info.New(p4info.DefaultSizes))
	for range 3 {
		if b := p4info.MarshalText(p4info.New(p4info.DefaultSizes)); !bytes.Equal(a, b) {
			t.Fatal("MarshalText output varies between calls")
		}
	}
}

// TestMarshalTextRoundTrip covers what the linx P4Info does not use: escapes,
// non-ASCII text, bytes, maps, Any, unknown enum numbers, nested oneofs.
func TestMarshalTextRoundTrip(t *testing.T) {
	var all []byte
	for i := range 256 {
		all = append(all, byte(i))
	}
	m := &p4configv1.P4Info{
		PkgInfo: &p4configv1.PkgInfo{
			Name:        "quote \" backslash \\ newline \n tab \t cr \r nul \x00 del \x7f",
			Doc:         &p4configv1.Documentation{Brief: "UTF-8: é — 日本 🚀", Description: "'single'"},
			Annotations: []string{"@a", "@b(1)", ""},
		},
		Tables: []*p4configv1.Table{{
			Preamble: &p4configv1.Preamble{Id: 1, Name: "t"},
			MatchFields: []*p4configv1.MatchField{
				{Id: 1, Match: &p4configv1.MatchField_MatchType_{MatchType: 42}},
				{Id: 2, Match: &p4configv1.MatchField_OtherMatchType{OtherMatchType: "x"}},
				{Id: 3, Bitwidth: -5},
			},
			InitialDefaultAction: &p4configv1.TableActionCall{
				ActionId:  7,
				Arguments: []*p4configv1.TableActionCall_Argument{{ParamId: 1, Value: all}, {ParamId: 2, Value: []byte{}}},
			},
			Size:                -1 << 62,
			IdleTimeoutBehavior: p4configv1.Table_NOTIFY_CONTROL,
			IsConstTable:        true,
		}},
		ActionProfiles: []*p4configv1.ActionProfile{{
			SelectorSizeSemantics: &p4configv1.ActionProfile_SumOfMembers_{
				SumOfMembers: &p4configv1.ActionProfile_SumOfMembers{MaxMemberWeight: 3},
			},
		}, {
			SelectorSizeSemantics: &p4configv1.ActionProfile_SumOfWeights_{SumOfWeights: &p4configv1.ActionProfile_SumOfWeights{}},
		}},
		TypeInfo: &p4configv1.P4TypeInfo{
			NewTypes: map[string]*p4configv1.P4NewTypeSpec{
				"b": {Representation: &p4configv1.P4NewTypeSpec_TranslatedType{
					TranslatedType: &p4configv1.P4NewTypeTranslation{Uri: "u", SdnType: &p4configv1.P4NewTypeTranslation_SdnString_{}},
				}},
				"a": {},
				"é": {},
			},
		},
	}
	text := p4info.MarshalText(m)
	for _, c := range text {
		if c != '\n' && (c < 0x20 || c >= 0x7f) {
			t.Fatalf("output has byte 0x%02x; want printable ASCII only:\n%s", c, text)
		}
	}
	var back p4configv1.P4Info
	if err := prototext.Unmarshal(text, &back); err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, text)
	}
	if !proto.Equal(m, &back) {
		t.Fatalf("round trip changed the message:\n%s\nparsed back as\n%s", text, prototext.Format(&back))
	}
	// Map entries are sorted by key.
	s := string(text)
	ia, ib, ie := strings.Index(s, `key: "a"`), strings.Index(s, `key: "b"`), strings.Index(s, `key: "\303\251"`)
	if ia < 0 || ib < 0 || ie < 0 || ia > ib || ib > ie {
		t.Errorf("map keys not sorted:\n%s", s)
	}
}

func TestSizes(t *testing.T) {
	if !proto.Equal(p4info.New(p4info.Sizes{}), p4info.New(p4info.DefaultSizes)) {
		t.Error("New(Sizes{}) differs from New(DefaultSizes)")
	}
	s := p4info.Sizes{PDRs: 7, FARs: 8, LBRs: 9, Tunnels: 10, TunnelTerms: 11, Ports: 12, DropReasons: 13, LBRMembers: 14, LBRMaxGroupSize: 2, NonIPRules: 15}
	x := p4info.MustNewIndex(p4info.New(s))
	for _, c := range []struct {
		name string
		got  int64
		want int
	}{
		{p4info.TablePDR, tableOf(t, x, p4info.TablePDR).Size(), s.PDRs},
		{p4info.TableFAR, tableOf(t, x, p4info.TableFAR).Size(), s.FARs},
		{p4info.TableLBR, tableOf(t, x, p4info.TableLBR).Size(), s.LBRs},
		{p4info.TableTunnels, tableOf(t, x, p4info.TableTunnels).Size(), s.Tunnels},
		{p4info.TableTunnelTerm, tableOf(t, x, p4info.TableTunnelTerm).Size(), s.TunnelTerms},
		{p4info.TableTunnelTerm6, tableOf(t, x, p4info.TableTunnelTerm6).Size(), s.TunnelTerms},
		{p4info.TableNonIP, tableOf(t, x, p4info.TableNonIP).Size(), s.NonIPRules},
		{p4info.CounterPortRX, counterOf(t, x, p4info.CounterPortRX).Size(), s.Ports},
		{p4info.CounterPortTX, counterOf(t, x, p4info.CounterPortTX).Size(), s.Ports},
		{p4info.CounterTunnelTX, counterOf(t, x, p4info.CounterTunnelTX).Size(), s.Tunnels},
		{p4info.CounterTunnelRX, counterOf(t, x, p4info.CounterTunnelRX).Size(), s.Tunnels},
		{p4info.CounterDrop, counterOf(t, x, p4info.CounterDrop).Size(), s.DropReasons},
	} {
		if c.got != int64(c.want) {
			t.Errorf("%s: size %d, want %d", c.name, c.got, c.want)
		}
	}
	ap, _ := x.ActionProfileByName(p4info.ActionProfileLBRSelector)
	if ap.Size() != int64(s.LBRMembers) || ap.MaxGroupSize() != s.LBRMaxGroupSize {
		t.Errorf("lbr_selector: size %d max_group_size %d, want %d %d", ap.Size(), ap.MaxGroupSize(), s.LBRMembers, s.LBRMaxGroupSize)
	}
	// Sizes are not part of the contract.
	if d := linx(t).Diff(x); d != nil {
		t.Errorf("Diff reports size differences: %q", d)
	}
	if _, err := p4info.NewIndex(p4info.New(p4info.Sizes{PDRs: -1})); err == nil {
		t.Error("negative size accepted")
	}
}

func TestDefaultSizesConsistent(t *testing.T) {
	d := p4info.DefaultSizes
	if d.LBRMembers != d.LBRs*d.LBRMaxGroupSize {
		t.Errorf("LBRMembers %d, want LBRs*LBRMaxGroupSize = %d", d.LBRMembers, d.LBRs*d.LBRMaxGroupSize)
	}
	// Port numbers index the port counters; every index must fit in a port field.
	if d.Ports > 1<<p4info.BitsPort {
		t.Errorf("Ports %d exceeds what %d-bit port numbers can address", d.Ports, p4info.BitsPort)
	}
}

func linx(t *testing.T) *p4info.Index {
	t.Helper()
	x, err := p4info.NewIndex(p4info.New(p4info.DefaultSizes))
	if err != nil {
		t.Fatalf("linx's own P4Info is invalid: %v", err)
	}
	return x
}

func tableOf(t *testing.T, x *p4info.Index, name string) *p4info.Table {
	t.Helper()
	tab, ok := x.TableByName(name)
	if !ok {
		t.Fatalf("no table %s", name)
	}
	return tab
}

func counterOf(t *testing.T, x *p4info.Index, name string) *p4info.Counter {
	t.Helper()
	c, ok := x.CounterByName(name)
	if !ok {
		t.Fatalf("no counter %s", name)
	}
	return c
}

// TestNonIPContract pins what the ONOS app is written against: the non_ip table,
// its actions and their scopes, its const default and its direct counter.
func TestNonIPContract(t *testing.T) {
	x := linx(t)
	tab := tableOf(t, x, "LinxIngress.non_ip")
	if tab.ID() != 33554438 || tab.Alias() != "non_ip" || tab.Size() != 64 || tab.NeedsPriority() {
		t.Errorf("non_ip: id %d alias %q size %d priority %v", tab.ID(), tab.Alias(), tab.Size(), tab.NeedsPriority())
	}
	f, ok := tab.MatchFieldByName("eth_type")
	if !ok || f.ID() != 1 || f.Bitwidth() != 16 || f.MatchType() != p4configv1.MatchField_EXACT || len(tab.MatchFields()) != 1 {
		t.Errorf("non_ip match: %v", tab.MatchFields())
	}
	refs := map[uint32]p4configv1.ActionRef_Scope{}
	for _, r := range tab.ActionRefs() {
		refs[r.Action().ID()] = r.Scope()
	}
	want := map[uint32]p4configv1.ActionRef_Scope{
		16777219: p4configv1.ActionRef_TABLE_AND_DEFAULT, // pass
		16777218: p4configv1.ActionRef_TABLE_ONLY,        // drop
		16777223: p4configv1.ActionRef_TABLE_ONLY,        // punt
		16777226: p4configv1.ActionRef_TABLE_ONLY,        // copy_to_controller
	}
	if len(refs) != len(want) {
		t.Errorf("non_ip actions %v, want %v", refs, want)
	}
	for id, scope := range want {
		if got, ok := refs[id]; !ok || got != scope {
			t.Errorf("non_ip action %d: scope %v (present %v), want %v", id, got, ok, scope)
		}
	}
	if a := tab.ConstDefaultAction(); a == nil || a.ID() != 16777219 {
		t.Errorf("non_ip const default %v, want pass", a)
	}
	if a, ok := x.Action(16777226); !ok || a.Name() != "LinxIngress.copy_to_controller" || len(a.Params()) != 0 {
		t.Errorf("copy_to_controller: %v %v", a, ok)
	}
	dc := tab.DirectCounter()
	if dc == nil || dc.ID() != 318767106 || dc.Name() != "LinxIngress.non_ip_counter" || dc.Unit() != p4configv1.CounterSpec_BOTH {
		t.Errorf("non_ip direct counter %v", dc)
	}
}
