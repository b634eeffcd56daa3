package wire

import (
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/protobuf/encoding/protowire"
)

// scratch is the fast decoder's reused messages: one update of one table
// entry, its match fields and action parameters. Nothing is allocated per
// update once the pools have grown to the largest entry seen.
type scratch struct {
	u  p4v1.Update
	e  p4v1.Entity
	et p4v1.Entity_TableEntry
	te p4v1.TableEntry

	ta  p4v1.TableAction
	taA p4v1.TableAction_Action
	taM p4v1.TableAction_ActionProfileMemberId
	taG p4v1.TableAction_ActionProfileGroupId
	a   p4v1.Action

	fms    []*fieldMatch // pool
	match  []*p4v1.FieldMatch
	params []*p4v1.Action_Param // pool
	ps     []*p4v1.Action_Param
}

// clear drops every reference into the last request decoded (its bytes), so
// that a pooled scratch does not keep a request's buffer alive.
func (s *scratch) clear() {
	s.u, s.e, s.et, s.te = p4v1.Update{}, p4v1.Entity{}, p4v1.Entity_TableEntry{}, p4v1.TableEntry{}
	s.ta, s.taA, s.a = p4v1.TableAction{}, p4v1.TableAction_Action{}, p4v1.Action{}
	zeroAll(s.fms)
	zeroAll(s.params)
	clear(s.match[:cap(s.match)])
	clear(s.ps[:cap(s.ps)])
	s.match, s.ps = s.match[:0], s.ps[:0]
}

// fieldMatch is one match field with every match kind's messages at hand.
type fieldMatch struct {
	fm  p4v1.FieldMatch
	ex  p4v1.FieldMatch_Exact_
	exV p4v1.FieldMatch_Exact
	tn  p4v1.FieldMatch_Ternary_
	tnV p4v1.FieldMatch_Ternary
	lp  p4v1.FieldMatch_Lpm
	lpV p4v1.FieldMatch_LPM
	rg  p4v1.FieldMatch_Range_
	rgV p4v1.FieldMatch_Range
	op  p4v1.FieldMatch_Optional_
	opV p4v1.FieldMatch_Optional
}

// take returns the pool's i-th message zeroed, growing the pool when i is its
// length (messages are taken in order: i is at most len(*pool)).
func take[T any](pool *[]*T, i int) *T {
	if i == len(*pool) {
		*pool = append(*pool, new(T))
	}
	p := (*pool)[i]
	var zero T
	*p = zero
	return p
}

// zeroAll zeroes every message of a pool (dropping what they point to).
func zeroAll[T any](pool []*T) {
	var zero T
	for _, p := range pool {
		*p = zero
	}
}

// field is one record of a message: its number, wire type and value (v for
// varints, b for bytes).
type field struct {
	num protowire.Number
	typ protowire.Type
	v   uint64
	b   []byte
}

// next reads the record at the start of b; n < 0: malformed, or a wire type
// the fast decoder does not take (groups, fixed widths).
func next(b []byte) (f field, n int) {
	num, typ, n := protowire.ConsumeTag(b)
	if n < 0 {
		return f, -1
	}
	f.num, f.typ = num, typ
	var m int
	switch typ {
	case protowire.VarintType:
		f.v, m = protowire.ConsumeVarint(b[n:])
	case protowire.BytesType:
		f.b, m = protowire.ConsumeBytes(b[n:])
	default:
		return f, -1
	}
	if m < 0 {
		return f, -1
	}
	return f, n + m
}

// update decodes an Update holding a table entry; ok is false for anything
// else, which proto.Unmarshal then decodes.
func (s *scratch) update(b []byte) (*p4v1.Update, bool) {
	s.u = p4v1.Update{}
	entity := false
	for len(b) > 0 {
		f, n := next(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			s.u.Type = p4v1.Update_Type(int32(f.v))
		case f.num == 2 && f.typ == protowire.BytesType && !entity:
			entity = true
			if !s.entity(f.b) {
				return nil, false
			}
			s.u.Entity = &s.e
		default:
			return nil, false
		}
	}
	return &s.u, true
}

func (s *scratch) entity(b []byte) bool {
	s.e = p4v1.Entity{}
	te := false
	for len(b) > 0 {
		f, n := next(b)
		if n < 0 || f.num != 2 || f.typ != protowire.BytesType || te {
			return false
		}
		b = b[n:]
		te = true
		if !s.tableEntry(f.b) {
			return false
		}
		s.et = p4v1.Entity_TableEntry{TableEntry: &s.te}
		s.e.Entity = &s.et
	}
	return te
}

func (s *scratch) tableEntry(b []byte) bool {
	s.te = p4v1.TableEntry{}
	s.match = s.match[:0]
	action := false
	for len(b) > 0 {
		f, n := next(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			s.te.TableId = uint32(f.v)
		case f.num == 2 && f.typ == protowire.BytesType:
			fm, ok := s.fieldMatch(f.b)
			if !ok {
				return false
			}
			s.match = append(s.match, fm)
		case f.num == 3 && f.typ == protowire.BytesType && !action:
			action = true
			if !s.tableAction(f.b) {
				return false
			}
			s.te.Action = &s.ta
		case f.num == 4 && f.typ == protowire.VarintType:
			s.te.Priority = int32(f.v)
		case f.num == 5 && f.typ == protowire.VarintType:
			s.te.ControllerMetadata = f.v
		case f.num == 8 && f.typ == protowire.VarintType:
			s.te.IsDefaultAction = f.v != 0
		case f.num == 11 && f.typ == protowire.BytesType:
			s.te.Metadata = f.b
		default:
			return false
		}
	}
	if len(s.match) > 0 {
		s.te.Match = s.match
	}
	return true
}

func (s *scratch) fieldMatch(b []byte) (*p4v1.FieldMatch, bool) {
	m := take(&s.fms, len(s.match))
	kind := false
	for len(b) > 0 {
		f, n := next(b)
		if n < 0 {
			return nil, false
		}
		b = b[n:]
		if f.num == 1 && f.typ == protowire.VarintType {
			m.fm.FieldId = uint32(f.v)
			continue
		}
		// One match kind, once: proto merges a repeated one, and the last of
		// two kinds wins; both are left to proto.Unmarshal.
		if f.typ != protowire.BytesType || kind {
			return nil, false
		}
		kind = true
		var ok bool
		switch f.num {
		case 2:
			m.exV = p4v1.FieldMatch_Exact{}
			ok = values(f.b, &m.exV.Value, nil, nil)
			m.ex = p4v1.FieldMatch_Exact_{Exact: &m.exV}
			m.fm.FieldMatchType = &m.ex
		case 3:
			m.tnV = p4v1.FieldMatch_Ternary{}
			ok = values(f.b, &m.tnV.Value, &m.tnV.Mask, nil)
			m.tn = p4v1.FieldMatch_Ternary_{Ternary: &m.tnV}
			m.fm.FieldMatchType = &m.tn
		case 4:
			m.lpV = p4v1.FieldMatch_LPM{}
			var plen uint64
			ok = values(f.b, &m.lpV.Value, nil, &plen)
			m.lpV.PrefixLen = int32(plen)
			m.lp = p4v1.FieldMatch_Lpm{Lpm: &m.lpV}
			m.fm.FieldMatchType = &m.lp
		case 6:
			m.rgV = p4v1.FieldMatch_Range{}
			ok = values(f.b, &m.rgV.Low, &m.rgV.High, nil)
			m.rg = p4v1.FieldMatch_Range_{Range: &m.rgV}
			m.fm.FieldMatchType = &m.rg
		case 7:
			m.opV = p4v1.FieldMatch_Optional{}
			ok = values(f.b, &m.opV.Value, nil, nil)
			m.op = p4v1.FieldMatch_Optional_{Optional: &m.opV}
			m.fm.FieldMatchType = &m.op
		}
		if !ok {
			return nil, false
		}
	}
	return &m.fm, true
}

// values decodes the small messages of match kinds: bytes field 1 into one,
// field 2 into two (bytes) or n (varint). A nil destination refuses its field.
func values(b []byte, one, two *[]byte, n *uint64) bool {
	for len(b) > 0 {
		f, k := next(b)
		if k < 0 {
			return false
		}
		b = b[k:]
		switch {
		case f.num == 1 && f.typ == protowire.BytesType && one != nil:
			*one = f.b
		case f.num == 2 && f.typ == protowire.BytesType && two != nil:
			*two = f.b
		case f.num == 2 && f.typ == protowire.VarintType && n != nil:
			*n = f.v
		default:
			return false
		}
	}
	return true
}

func (s *scratch) tableAction(b []byte) bool {
	s.ta = p4v1.TableAction{}
	set := false
	for len(b) > 0 {
		f, n := next(b)
		if n < 0 || set {
			return false
		}
		b = b[n:]
		set = true
		switch {
		case f.num == 1 && f.typ == protowire.BytesType:
			if !s.action(f.b) {
				return false
			}
			s.taA = p4v1.TableAction_Action{Action: &s.a}
			s.ta.Type = &s.taA
		case f.num == 2 && f.typ == protowire.VarintType:
			s.taM = p4v1.TableAction_ActionProfileMemberId{ActionProfileMemberId: uint32(f.v)}
			s.ta.Type = &s.taM
		case f.num == 3 && f.typ == protowire.VarintType:
			s.taG = p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: uint32(f.v)}
			s.ta.Type = &s.taG
		default:
			return false
		}
	}
	return true
}

func (s *scratch) action(b []byte) bool {
	s.a = p4v1.Action{}
	s.ps = s.ps[:0]
	for len(b) > 0 {
		f, n := next(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case f.num == 1 && f.typ == protowire.VarintType:
			s.a.ActionId = uint32(f.v)
		case f.num == 4 && f.typ == protowire.BytesType:
			p := take(&s.params, len(s.ps))
			if !param(f.b, p) {
				return false
			}
			s.ps = append(s.ps, p)
		default:
			return false
		}
	}
	if len(s.ps) > 0 {
		s.a.Params = s.ps
	}
	return true
}

func param(b []byte, p *p4v1.Action_Param) bool {
	for len(b) > 0 {
		f, n := next(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case f.num == 2 && f.typ == protowire.VarintType:
			p.ParamId = uint32(f.v)
		case f.num == 3 && f.typ == protowire.BytesType:
			p.Value = f.b
		default:
			return false
		}
	}
	return true
}
