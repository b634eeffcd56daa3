package translate

import (
	"bytes"
	"testing"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/p4info"
)

// The generic match layer handles every PSA match type, although linx's tables
// use only exact, ternary and range: a synthetic table exercises LPM, optional and
// widths that are not whole bytes.
func genericTable(t *testing.T) *p4info.Table {
	t.Helper()
	mf := func(id uint32, name string, bits int32, mt p4configv1.MatchField_MatchType) *p4configv1.MatchField {
		return &p4configv1.MatchField{Id: id, Name: name, Bitwidth: bits, Match: &p4configv1.MatchField_MatchType_{MatchType: mt}}
	}
	idx, err := p4info.NewIndex(&p4configv1.P4Info{
		Tables: []*p4configv1.Table{{
			Preamble: &p4configv1.Preamble{Id: 0x02000001, Name: "t"},
			MatchFields: []*p4configv1.MatchField{
				mf(1, "port", 9, p4configv1.MatchField_EXACT),
				mf(2, "dst", 32, p4configv1.MatchField_LPM),
				mf(3, "vid", 12, p4configv1.MatchField_LPM),
				mf(4, "flag", 1, p4configv1.MatchField_OPTIONAL),
				mf(5, "wide", 64, p4configv1.MatchField_TERNARY),
				mf(6, "len", 12, p4configv1.MatchField_RANGE),
			},
			ActionRefs: []*p4configv1.ActionRef{{Id: 0x01000001}},
		}},
		Actions: []*p4configv1.Action{{Preamble: &p4configv1.Preamble{Id: 0x01000001, Name: "a"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tab, _ := idx.Table(0x02000001)
	return tab
}

func TestGenericMatch(t *testing.T) {
	tab := genericTable(t)
	port := exact(1, b(1, 0xff))
	valid := []struct {
		name string
		ms   []*p4v1.FieldMatch
		want map[uint32]fieldValue
	}{
		{"exact only", []*p4v1.FieldMatch{port}, map[uint32]fieldValue{1: {Type: p4configv1.MatchField_EXACT, Value: 0x1ff}}},
		{"lpm /8", []*p4v1.FieldMatch{port, lpm(2, b(10, 0, 0, 0), 8)}, map[uint32]fieldValue{
			1: {Type: p4configv1.MatchField_EXACT, Value: 0x1ff},
			2: {Type: p4configv1.MatchField_LPM, Value: 0x0a000000, Mask: 0xff000000, PrefixLen: 8}}},
		{"lpm /32 padded", []*p4v1.FieldMatch{port, lpm(2, b(0, 10, 0, 0, 1), 32)}, map[uint32]fieldValue{
			1: {Type: p4configv1.MatchField_EXACT, Value: 0x1ff},
			2: {Type: p4configv1.MatchField_LPM, Value: 0x0a000001, Mask: 0xffffffff, PrefixLen: 32}}},
		{"lpm on 12 bits", []*p4v1.FieldMatch{port, lpm(3, b(0x0a, 0x00), 4)}, map[uint32]fieldValue{
			1: {Type: p4configv1.MatchField_EXACT, Value: 0x1ff},
			3: {Type: p4configv1.MatchField_LPM, Value: 0xa00, Mask: 0xf00, PrefixLen: 4}}},
		{"optional 0", []*p4v1.FieldMatch{optional(4, b(0)), port}, map[uint32]fieldValue{
			1: {Type: p4configv1.MatchField_EXACT, Value: 0x1ff},
			4: {Type: p4configv1.MatchField_OPTIONAL, Value: 0}}},
		{"ternary 64 bits", []*p4v1.FieldMatch{port, tern(5, b(0x80, 0, 0, 0, 0, 0, 0, 1), b(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))}, map[uint32]fieldValue{
			1: {Type: p4configv1.MatchField_EXACT, Value: 0x1ff},
			5: {Type: p4configv1.MatchField_TERNARY, Value: 1<<63 | 1, Mask: 1<<64 - 1}}},
		{"range on 12 bits", []*p4v1.FieldMatch{port, rng(6, b(0), b(0x0f, 0xfe))}, map[uint32]fieldValue{
			1: {Type: p4configv1.MatchField_EXACT, Value: 0x1ff},
			6: {Type: p4configv1.MatchField_RANGE, Low: 0, High: 0xffe}}},
	}
	for _, c := range valid {
		t.Run(c.name, func(t *testing.T) {
			got, err := decodeMatch(tab, c.ms, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
			for id, v := range c.want {
				if gv, _ := got.get(id); gv != v {
					t.Fatalf("field %d: got %+v, want %+v", id, gv, v)
				}
			}
			// Canonical re-encoding decodes to the same values, fields sorted by ID.
			enc, err := encodeMatch(tab, got)
			if err != nil {
				t.Fatal(err)
			}
			for i := 1; i < len(enc); i++ {
				if enc[i-1].FieldId >= enc[i].FieldId {
					t.Fatalf("fields not sorted: %v", enc)
				}
			}
			again, err := decodeMatch(tab, enc, nil)
			if err != nil || len(again) != len(got) {
				t.Fatalf("re-decode: %v, %v", again, err)
			}
			for _, f := range got {
				if av, _ := again.get(f.id); av != f.v {
					t.Fatalf("field %d: %+v after round trip, want %+v", f.id, av, f.v)
				}
			}
		})
	}
	if m := encodeField(tab.MatchFields()[1], fieldValue{Value: 0x0a000000, PrefixLen: 8}); !bytes.Equal(m.GetLpm().GetValue(), b(10, 0, 0, 0)) {
		t.Errorf("lpm canonical value %x", m.GetLpm().GetValue())
	}

	invalid := []struct {
		name string
		ms   []*p4v1.FieldMatch
		code codes.Code
	}{
		{"exact missing", []*p4v1.FieldMatch{lpm(2, b(10, 0, 0, 0), 8)}, codes.InvalidArgument},
		{"exact 10 bits", []*p4v1.FieldMatch{exact(1, b(2, 0))}, codes.OutOfRange},
		{"lpm prefix 0 (don't care must be omitted)", []*p4v1.FieldMatch{port, lpm(2, b(0), 0)}, codes.InvalidArgument},
		{"lpm negative prefix", []*p4v1.FieldMatch{port, lpm(2, b(0), -1)}, codes.InvalidArgument},
		{"lpm prefix beyond width", []*p4v1.FieldMatch{port, lpm(3, b(0), 13)}, codes.InvalidArgument},
		{"lpm host bits set", []*p4v1.FieldMatch{port, lpm(2, b(10, 0, 0, 1), 24)}, codes.InvalidArgument},
		{"lpm host bits set on 12 bits", []*p4v1.FieldMatch{port, lpm(3, b(0x0a, 0x10), 4)}, codes.InvalidArgument},
		{"lpm value empty", []*p4v1.FieldMatch{port, lpm(2, nil, 8)}, codes.OutOfRange},
		{"optional 2 on a 1-bit field", []*p4v1.FieldMatch{port, optional(4, b(2))}, codes.OutOfRange},
		{"ternary 65 bits", []*p4v1.FieldMatch{port, tern(5, b(1, 0, 0, 0, 0, 0, 0, 0, 0), b(1, 0, 0, 0, 0, 0, 0, 0, 0))}, codes.OutOfRange},
		{"range full on 12 bits", []*p4v1.FieldMatch{port, rng(6, b(0, 0), b(0x0f, 0xff))}, codes.InvalidArgument},
		{"range 13 bits", []*p4v1.FieldMatch{port, rng(6, b(0), b(0x1f, 0xff))}, codes.OutOfRange},
		{"other match type", []*p4v1.FieldMatch{port, {FieldId: 5, FieldMatchType: &p4v1.FieldMatch_Other{}}}, codes.InvalidArgument},
	}
	for _, c := range invalid {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeMatch(tab, c.ms, nil)
			wantCode(t, err, c.code)
		})
	}

	// Encoding refuses values decoding would reject, and omits don't-care values.
	for _, c := range []struct {
		id uint32
		v  fieldValue
	}{
		{1, fieldValue{Value: 0x200}},
		{2, fieldValue{Value: 1, PrefixLen: 24}},
		{3, fieldValue{Value: 0, PrefixLen: 13}},
		{4, fieldValue{Value: 2}},
		{6, fieldValue{Low: 5, High: 4}},
		{6, fieldValue{Low: 0, High: 0x1000}},
	} {
		f, _ := tab.MatchField(c.id)
		if err := checkField(f, c.v); Code(err) != codes.Internal {
			t.Errorf("checkField(%d, %+v) = %v", c.id, c.v, err)
		}
	}
	enc, err := encodeMatch(tab, matchKey{{1, fieldValue{Value: 1}}, {2, fieldValue{}}, {3, fieldValue{}}, {5, fieldValue{}}, {6, fieldValue{Low: 0, High: 0xfff}}})
	if err != nil || len(enc) != 1 {
		t.Errorf("don't-care values not omitted: %v, %v", enc, err)
	}
	if _, err := encodeMatch(tab, matchKey{{2, fieldValue{}}}); Code(err) != codes.Internal {
		t.Errorf("encoding without the exact field: %v", err)
	}
}
