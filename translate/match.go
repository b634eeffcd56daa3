package translate

import (
	"cmp"
	"fmt"
	"slices"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/p4info"
)

// fieldValue is one decoded, validated match field. Which members are meaningful
// depends on the match type: Value (EXACT, OPTIONAL), Value and Mask (TERNARY, and
// LPM with Mask made of the PrefixLen leading bits), Low and High (RANGE).
type fieldValue struct {
	Type        p4configv1.MatchField_MatchType
	Value, Mask uint64
	PrefixLen   int
	Low, High   uint64
	// Wide fields (over 64 bits: IPv6 addresses) are ternary or exact and carry
	// their value (and mask) here, big-endian, instead of Value and Mask.
	WideValue, WideMask [16]byte
}

// matchKey holds the values of the fields present in an entry, by match field
// ID: a handful at most, so a slice (on the decoder's stack) rather than a map
// allocated per entry.
type matchKey []matchField

type matchField struct {
	id uint32
	v  fieldValue
}

// value is field id's Value (0 when absent).
func (k matchKey) value(id uint32) uint64 {
	v, _ := k.get(id)
	return v.Value
}

// wide is field id's WideValue (zeroes when absent).
func (k matchKey) wide(id uint32) [16]byte {
	v, _ := k.get(id)
	return v.WideValue
}

// get returns the value of field id.
func (k matchKey) get(id uint32) (fieldValue, bool) {
	for i := range k {
		if k[i].id == id {
			return k[i].v, true
		}
	}
	return fieldValue{}, false
}

func describeField(f *p4info.MatchField) string {
	return fmt.Sprintf("match field %d (%s)", f.ID(), f.Name())
}

// decodeMatch checks the repeated match of a table entry against the table as the
// specification's Match Format section requires, for every PSA match type, and
// decodes it, appending to key. Fields absent from the result are don't-care
// matches.
func decodeMatch(tab *p4info.Table, ms []*p4v1.FieldMatch, key matchKey) (matchKey, error) {
	exact := 0
	for _, m := range ms {
		if m == nil {
			return nil, invalidf("empty match field")
		}
		f, ok := tab.MatchField(m.GetFieldId())
		if !ok {
			return nil, invalidf("unknown match field id %d", m.GetFieldId())
		}
		if _, dup := key.get(f.ID()); dup {
			return nil, invalidf("%s given twice", describeField(f))
		}
		v, err := decodeField(f, m)
		if err != nil {
			return nil, prefixed(describeField(f), err)
		}
		if f.MatchType() == p4configv1.MatchField_EXACT {
			exact++
		}
		key = append(key, matchField{f.ID(), v})
	}
	if exact < tab.NumExactFields() {
		for _, f := range tab.MatchFields() {
			if _, ok := key.get(f.ID()); !ok && f.MatchType() == p4configv1.MatchField_EXACT {
				return nil, invalidf("%s: exact match field missing (exact fields have no don't-care value)", describeField(f))
			}
		}
	}
	return key, nil
}

func matchTypeOf(m *p4v1.FieldMatch) (p4configv1.MatchField_MatchType, string) {
	switch m.GetFieldMatchType().(type) {
	case *p4v1.FieldMatch_Exact_:
		return p4configv1.MatchField_EXACT, "exact"
	case *p4v1.FieldMatch_Ternary_:
		return p4configv1.MatchField_TERNARY, "ternary"
	case *p4v1.FieldMatch_Lpm:
		return p4configv1.MatchField_LPM, "lpm"
	case *p4v1.FieldMatch_Range_:
		return p4configv1.MatchField_RANGE, "range"
	case *p4v1.FieldMatch_Optional_:
		return p4configv1.MatchField_OPTIONAL, "optional"
	case *p4v1.FieldMatch_Other:
		return p4configv1.MatchField_UNSPECIFIED, "other"
	}
	return p4configv1.MatchField_UNSPECIFIED, ""
}

func decodeField(f *p4info.MatchField, m *p4v1.FieldMatch) (fieldValue, error) {
	got, name := matchTypeOf(m)
	switch {
	case name == "":
		return fieldValue{}, invalidf("no match type set")
	case got != f.MatchType():
		return fieldValue{}, invalidf("%s match given for a %s field", name, f.MatchType())
	}
	w := f.Bitwidth()
	v := fieldValue{Type: got}
	var err error
	if w > MaxBitwidth {
		return decodeWideField(f, m)
	}
	switch got {
	case p4configv1.MatchField_EXACT:
		if v.Value, err = DecodeUint(m.GetExact().GetValue(), w); err != nil {
			return v, prefixed("value", err)
		}
	case p4configv1.MatchField_OPTIONAL:
		if v.Value, err = DecodeUint(m.GetOptional().GetValue(), w); err != nil {
			return v, prefixed("value", err)
		}
	case p4configv1.MatchField_TERNARY:
		t := m.GetTernary()
		if v.Value, err = DecodeUint(t.GetValue(), w); err != nil {
			return v, prefixed("ternary value", err)
		}
		if v.Mask, err = DecodeUint(t.GetMask(), w); err != nil {
			return v, prefixed("ternary mask", err)
		}
		if v.Mask == 0 {
			return v, invalidf("ternary mask is zero: omit the field for a don't-care match")
		}
		if v.Value&^v.Mask != 0 {
			return v, invalidf("ternary value %#x has bits outside mask %#x", v.Value, v.Mask)
		}
	case p4configv1.MatchField_LPM:
		l := m.GetLpm()
		if v.Value, err = DecodeUint(l.GetValue(), w); err != nil {
			return v, prefixed("lpm value", err)
		}
		v.PrefixLen = int(l.GetPrefixLen())
		switch {
		case l.GetPrefixLen() <= 0:
			return v, invalidf("lpm prefix length %d: must be positive (omit the field for a don't-care match)", l.GetPrefixLen())
		case l.GetPrefixLen() > int32(w):
			return v, invalidf("lpm prefix length %d exceeds the field's %d bits", l.GetPrefixLen(), w)
		}
		v.Mask = prefixMask(w, v.PrefixLen)
		if v.Value&^v.Mask != 0 {
			return v, invalidf("lpm value %#x has bits set beyond prefix length %d", v.Value, v.PrefixLen)
		}
	case p4configv1.MatchField_RANGE:
		r := m.GetRange()
		if v.Low, err = DecodeUint(r.GetLow(), w); err != nil {
			return v, prefixed("range low", err)
		}
		if v.High, err = DecodeUint(r.GetHigh(), w); err != nil {
			return v, prefixed("range high", err)
		}
		if v.Low > v.High {
			return v, invalidf("range low %d exceeds high %d", v.Low, v.High)
		}
		if v.Low == 0 && v.High == mask(w) {
			return v, invalidf("range %d..%d covers every value: omit the field for a don't-care match", v.Low, v.High)
		}
	default:
		return v, invalidf("match type %s not supported", f.MatchType())
	}
	return v, nil
}

// decodeWideField decodes a ternary or exact match of a field wider than 64 bits
// (up to MaxWideBitwidth) with the same rules as a narrow one: canonical or padded
// bytestrings that fit the width, a non-zero mask, no value bits outside it.
func decodeWideField(f *p4info.MatchField, m *p4v1.FieldMatch) (fieldValue, error) {
	w := f.Bitwidth()
	v := fieldValue{Type: f.MatchType()}
	if !wideType(f.MatchType()) || w > MaxWideBitwidth {
		return v, Errorf(codes.Unimplemented, "%s match of %d bits not supported (fields over %d bits are ternary or exact, up to %d)",
			f.MatchType(), w, MaxBitwidth, MaxWideBitwidth)
	}
	var err error
	if f.MatchType() == p4configv1.MatchField_EXACT {
		if v.WideValue, err = DecodeWide(m.GetExact().GetValue(), w); err != nil {
			return v, prefixed("value", err)
		}
		return v, nil
	}
	t := m.GetTernary()
	if v.WideValue, err = DecodeWide(t.GetValue(), w); err != nil {
		return v, prefixed("ternary value", err)
	}
	if v.WideMask, err = DecodeWide(t.GetMask(), w); err != nil {
		return v, prefixed("ternary mask", err)
	}
	if v.WideMask == ([16]byte{}) {
		return v, invalidf("ternary mask is zero: omit the field for a don't-care match")
	}
	for i := range v.WideValue {
		if v.WideValue[i]&^v.WideMask[i] != 0 {
			return v, invalidf("ternary value 0x%x has bits outside mask 0x%x", v.WideValue, v.WideMask)
		}
	}
	return v, nil
}

// wideType says whether fields wider than MaxBitwidth may have match type t.
func wideType(t p4configv1.MatchField_MatchType) bool {
	return t == p4configv1.MatchField_TERNARY || t == p4configv1.MatchField_EXACT
}

// encodeField returns the canonical FieldMatch of v, nil for a don't-care value
// (ternary mask 0, LPM prefix length 0, range covering the field).
func encodeField(f *p4info.MatchField, v fieldValue) *p4v1.FieldMatch {
	m := &p4v1.FieldMatch{FieldId: f.ID()}
	switch f.MatchType() {
	case p4configv1.MatchField_EXACT:
		if f.Bitwidth() > MaxBitwidth {
			m.FieldMatchType = &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: EncodeWide(v.WideValue)}}
			return m
		}
		m.FieldMatchType = &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: EncodeUint(v.Value)}}
	case p4configv1.MatchField_OPTIONAL:
		m.FieldMatchType = &p4v1.FieldMatch_Optional_{Optional: &p4v1.FieldMatch_Optional{Value: EncodeUint(v.Value)}}
	case p4configv1.MatchField_TERNARY:
		if f.Bitwidth() > MaxBitwidth {
			if v.WideMask == ([16]byte{}) {
				return nil
			}
			m.FieldMatchType = &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{
				Value: EncodeWide(v.WideValue), Mask: EncodeWide(v.WideMask)}}
			return m
		}
		if v.Mask == 0 {
			return nil
		}
		m.FieldMatchType = &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{
			Value: EncodeUint(v.Value), Mask: EncodeUint(v.Mask)}}
	case p4configv1.MatchField_LPM:
		if v.PrefixLen == 0 {
			return nil
		}
		m.FieldMatchType = &p4v1.FieldMatch_Lpm{Lpm: &p4v1.FieldMatch_LPM{
			Value: EncodeUint(v.Value), PrefixLen: int32(v.PrefixLen)}}
	case p4configv1.MatchField_RANGE:
		if v.Low == 0 && v.High == mask(f.Bitwidth()) {
			return nil
		}
		m.FieldMatchType = &p4v1.FieldMatch_Range_{Range: &p4v1.FieldMatch_Range{
			Low: EncodeUint(v.Low), High: EncodeUint(v.High)}}
	default:
		return nil
	}
	return m
}

// checkField verifies that v is a valid value of field f before encoding it, so
// that encoding never produces what decoding would reject. A zero mask (ternary),
// zero prefix length (LPM) or full range is a valid don't-care value.
func checkField(f *p4info.MatchField, v fieldValue) error {
	w := f.Bitwidth()
	if w > MaxBitwidth {
		if w > MaxWideBitwidth || !wideType(f.MatchType()) {
			return Errorf(internal, "%s: bit width %d not supported", describeField(f), w)
		}
		if f.MatchType() == p4configv1.MatchField_EXACT {
			return nil
		}
		for i := range v.WideValue {
			if v.WideValue[i]&^v.WideMask[i] != 0 {
				return Errorf(internal, "%s: ternary 0x%x/0x%x invalid", describeField(f), v.WideValue, v.WideMask)
			}
		}
		return nil
	}
	m := mask(w)
	switch f.MatchType() {
	case p4configv1.MatchField_EXACT, p4configv1.MatchField_OPTIONAL:
		if v.Value > m {
			return Errorf(internal, "%s: value %#x exceeds %d bits", describeField(f), v.Value, w)
		}
	case p4configv1.MatchField_TERNARY:
		if v.Mask > m || v.Value&^v.Mask != 0 {
			return Errorf(internal, "%s: ternary %#x/%#x invalid for %d bits", describeField(f), v.Value, v.Mask, w)
		}
	case p4configv1.MatchField_LPM:
		if v.PrefixLen < 0 || v.PrefixLen > w || v.Value&^prefixMask(w, v.PrefixLen) != 0 {
			return Errorf(internal, "%s: lpm %#x/%d invalid for %d bits", describeField(f), v.Value, v.PrefixLen, w)
		}
	case p4configv1.MatchField_RANGE:
		if v.Low > v.High || v.High > m {
			return Errorf(internal, "%s: range %d..%d invalid for %d bits", describeField(f), v.Low, v.High, w)
		}
	default:
		return Errorf(internal, "%s: match type %s not supported", describeField(f), f.MatchType())
	}
	return nil
}

// encodeMatch returns the canonical repeated match of key: fields sorted by ID,
// don't-care values omitted. Fields of tab missing from key are don't care (and
// must not be exact).
func encodeMatch(tab *p4info.Table, key matchKey) ([]*p4v1.FieldMatch, error) {
	fields := tab.MatchFields()
	slices.SortFunc(fields, func(a, b *p4info.MatchField) int { return cmp.Compare(a.ID(), b.ID()) })
	var out []*p4v1.FieldMatch
	for _, f := range fields {
		v, ok := key.get(f.ID())
		switch {
		case !ok && f.MatchType() == p4configv1.MatchField_EXACT:
			return nil, Errorf(internal, "%s: exact field without a value", describeField(f))
		case !ok:
			continue // don't care
		}
		if err := checkField(f, v); err != nil {
			return nil, err
		}
		if m := encodeField(f, v); m != nil {
			out = append(out, m)
		}
	}
	return out, nil
}

// prefixMask returns the mask of the prefixLen leading bits of a bitwidth-bit value.
func prefixMask(bitwidth, prefixLen int) uint64 {
	return mask(bitwidth) &^ (mask(bitwidth) >> prefixLen)
}
