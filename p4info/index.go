package p4info

import (
	"fmt"
	"slices"
	"strings"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	"google.golang.org/protobuf/proto"
)

// Index is a validated, immutable view of a P4Info with O(1) lookups by ID and by
// name. It holds its own copy of the P4Info: later changes to the message passed
// to NewIndex do not affect it, and nothing it returns can change it (the view
// types have no exported fields and list accessors return fresh slices). An Index
// is safe for concurrent use.
//
// Names are the preamble names (ONOS's identifiers); aliases are validated (unique
// per kind) but not indexed.
type Index struct {
	p4info         *p4configv1.P4Info
	tables         set[*Table]
	actions        set[*Action]
	profiles       set[*ActionProfile]
	counters       set[*Counter]
	directCounters set[*DirectCounter]
	meters         set[*Meter]
	directMeters   set[*DirectMeter]
	headers        set[*ControllerHeader]
	names          map[uint32]string // every object ID → its name
}

// set is a list of objects in P4Info order with indexes by ID and by name.
type set[T any] struct {
	list   []T
	byID   map[uint32]T
	byName map[string]T
}

func newSet[T any](n int) set[T] {
	return set[T]{list: make([]T, 0, n), byID: make(map[uint32]T, n), byName: make(map[string]T, n)}
}

func (s *set[T]) add(id uint32, name string, v T) {
	s.list = append(s.list, v)
	s.byID[id] = v
	s.byName[name] = v
}

// Table is a table of the P4Info.
type Table struct {
	id            uint32
	name, alias   string
	size          int64
	fields        set[*MatchField]
	refs          []ActionRef
	refByID       map[uint32]ActionRef
	constDefault  *Action
	profile       *ActionProfile
	directCounter *DirectCounter
	directMeter   *DirectMeter
	needsPriority bool
	isConst       bool
	idleTimeout   bool
}

func (t *Table) ID() uint32    { return t.id }
func (t *Table) Name() string  { return t.name }
func (t *Table) Alias() string { return t.alias }
func (t *Table) Size() int64   { return t.size }

// MatchFields returns the match fields in P4Info order.
func (t *Table) MatchFields() []*MatchField { return slices.Clone(t.fields.list) }

// NumMatchFields and NumExactFields count the table's match fields, and those
// of them that are exact, without copying the list (decoding checks an entry
// gives every exact field by counting).
func (t *Table) NumMatchFields() int { return len(t.fields.list) }

func (t *Table) NumExactFields() int {
	n := 0
	for _, f := range t.fields.list {
		if f.MatchType() == p4configv1.MatchField_EXACT {
			n++
		}
	}
	return n
}

// MatchField returns the match field with the given ID.
func (t *Table) MatchField(id uint32) (*MatchField, bool) {
	f, ok := t.fields.byID[id]
	return f, ok
}

// MatchFieldByName returns the match field with the given name.
func (t *Table) MatchFieldByName(name string) (*MatchField, bool) {
	f, ok := t.fields.byName[name]
	return f, ok
}

// ActionRefs returns the actions the table may use, in P4Info order.
func (t *Table) ActionRefs() []ActionRef { return slices.Clone(t.refs) }

// ActionRef returns the table's reference to the action with the given ID; ok is
// false if the table cannot use that action at all.
func (t *Table) ActionRef(actionID uint32) (ActionRef, bool) {
	r, ok := t.refByID[actionID]
	return r, ok
}

// ConstDefaultAction returns the table's const default action, nil if its default
// action can be changed.
func (t *Table) ConstDefaultAction() *Action { return t.constDefault }

// ActionProfile returns the table's implementation, nil for a direct table.
func (t *Table) ActionProfile() *ActionProfile { return t.profile }

// DirectCounter returns the table's direct counter, nil if it has none.
func (t *Table) DirectCounter() *DirectCounter { return t.directCounter }

// DirectMeter returns the table's direct meter, or nil.
func (t *Table) DirectMeter() *DirectMeter { return t.directMeter }

// NeedsPriority reports whether entries need a non-zero priority: the key has a
// ternary, range or optional field.
func (t *Table) NeedsPriority() bool { return t.needsPriority }

// IsConst reports whether the table's entries are fixed (is_const_table).
func (t *Table) IsConst() bool { return t.isConst }

// SupportsIdleTimeout reports whether idle_timeout_behavior is NOTIFY_CONTROL.
func (t *Table) SupportsIdleTimeout() bool { return t.idleTimeout }

// MatchField is a match field of a table.
type MatchField struct {
	id        uint32
	name      string
	bitwidth  int
	matchType p4configv1.MatchField_MatchType
}

func (f *MatchField) ID() uint32   { return f.id }
func (f *MatchField) Name() string { return f.name }
func (f *MatchField) Bitwidth() int {
	return f.bitwidth
}

// Bytes is the length of the field's values padded to whole bytes.
func (f *MatchField) Bytes() int                                 { return (f.bitwidth + 7) / 8 }
func (f *MatchField) MatchType() p4configv1.MatchField_MatchType { return f.matchType }

// ActionRef is an action a table may use, and where.
type ActionRef struct {
	action *Action
	scope  p4configv1.ActionRef_Scope
}

func (r ActionRef) Action() *Action                   { return r.action }
func (r ActionRef) Scope() p4configv1.ActionRef_Scope { return r.scope }

// TableOK reports whether entries may use the action (scope is not DEFAULT_ONLY).
func (r ActionRef) TableOK() bool { return r.scope != p4configv1.ActionRef_DEFAULT_ONLY }

// DefaultOK reports whether the default entry may use the action (scope is not
// TABLE_ONLY).
func (r ActionRef) DefaultOK() bool { return r.scope != p4configv1.ActionRef_TABLE_ONLY }

// Action is an action of the P4Info.
type Action struct {
	id          uint32
	name, alias string
	params      set[*Param]
}

func (a *Action) ID() uint32    { return a.id }
func (a *Action) Name() string  { return a.name }
func (a *Action) Alias() string { return a.alias }

// Params returns the action's parameters in P4Info order.
func (a *Action) Params() []*Param { return slices.Clone(a.params.list) }

// NumParams counts the action's parameters without copying the list.
func (a *Action) NumParams() int { return len(a.params.list) }

// Param returns the parameter with the given ID.
func (a *Action) Param(id uint32) (*Param, bool) {
	p, ok := a.params.byID[id]
	return p, ok
}

// ParamByName returns the parameter with the given name.
func (a *Action) ParamByName(name string) (*Param, bool) {
	p, ok := a.params.byName[name]
	return p, ok
}

// Param is a parameter of an action.
type Param struct {
	id       uint32
	name     string
	bitwidth int
}

func (p *Param) ID() uint32    { return p.id }
func (p *Param) Name() string  { return p.name }
func (p *Param) Bitwidth() int { return p.bitwidth }

// Bytes is the length of the parameter's values padded to whole bytes.
func (p *Param) Bytes() int { return (p.bitwidth + 7) / 8 }

// ActionProfile is an action profile or, WithSelector, an action selector.
type ActionProfile struct {
	id           uint32
	name, alias  string
	tables       []*Table
	withSelector bool
	size         int64
	maxGroupSize int
}

func (p *ActionProfile) ID() uint32    { return p.id }
func (p *ActionProfile) Name() string  { return p.name }
func (p *ActionProfile) Alias() string { return p.alias }

// Tables returns the tables the profile implements.
func (p *ActionProfile) Tables() []*Table   { return slices.Clone(p.tables) }
func (p *ActionProfile) WithSelector() bool { return p.withSelector }
func (p *ActionProfile) Size() int64        { return p.size }
func (p *ActionProfile) MaxGroupSize() int  { return p.maxGroupSize }

// Counter is an indirect counter.
type Counter struct {
	id          uint32
	name, alias string
	unit        p4configv1.CounterSpec_Unit
	size        int64
}

func (c *Counter) ID() uint32                        { return c.id }
func (c *Counter) Name() string                      { return c.name }
func (c *Counter) Alias() string                     { return c.alias }
func (c *Counter) Unit() p4configv1.CounterSpec_Unit { return c.unit }

// Size is the number of cells: valid indexes are 0..Size()-1.
func (c *Counter) Size() int64 { return c.size }

// DirectMeter is a meter attached to the entries of a table.
type DirectMeter struct {
	id          uint32
	name, alias string
	unit        p4configv1.MeterSpec_Unit
	table       *Table
}

func (m *DirectMeter) ID() uint32                      { return m.id }
func (m *DirectMeter) Name() string                    { return m.name }
func (m *DirectMeter) Alias() string                   { return m.alias }
func (m *DirectMeter) Unit() p4configv1.MeterSpec_Unit { return m.unit }
func (m *DirectMeter) Table() *Table                   { return m.table }

// Meter is an indirect meter of the P4Info.
type Meter struct {
	id          uint32
	name, alias string
	unit        p4configv1.MeterSpec_Unit
	size        int64
}

func (m *Meter) ID() uint32                      { return m.id }
func (m *Meter) Name() string                    { return m.name }
func (m *Meter) Alias() string                   { return m.alias }
func (m *Meter) Unit() p4configv1.MeterSpec_Unit { return m.unit }

// Size is the number of cells; indexes are 0..Size-1.
func (m *Meter) Size() int64 { return m.size }

// DirectCounter is a counter attached to the entries of a table.
type DirectCounter struct {
	id          uint32
	name, alias string
	unit        p4configv1.CounterSpec_Unit
	table       *Table
}

func (c *DirectCounter) ID() uint32                        { return c.id }
func (c *DirectCounter) Name() string                      { return c.name }
func (c *DirectCounter) Alias() string                     { return c.alias }
func (c *DirectCounter) Unit() p4configv1.CounterSpec_Unit { return c.unit }
func (c *DirectCounter) Table() *Table                     { return c.table }

// ControllerHeader is controller packet metadata: the header named packet_in or
// packet_out.
type ControllerHeader struct {
	id     uint32
	name   string
	fields set[*HeaderField]
}

func (h *ControllerHeader) ID() uint32   { return h.id }
func (h *ControllerHeader) Name() string { return h.name }

// Fields returns the metadata fields in header order.
func (h *ControllerHeader) Fields() []*HeaderField { return slices.Clone(h.fields.list) }

// Field returns the metadata field with the given ID.
func (h *ControllerHeader) Field(id uint32) (*HeaderField, bool) {
	f, ok := h.fields.byID[id]
	return f, ok
}

// FieldByName returns the metadata field with the given name.
func (h *ControllerHeader) FieldByName(name string) (*HeaderField, bool) {
	f, ok := h.fields.byName[name]
	return f, ok
}

// HeaderField is a metadata field of a controller header.
type HeaderField struct {
	id       uint32
	name     string
	bitwidth int
}

func (f *HeaderField) ID() uint32    { return f.id }
func (f *HeaderField) Name() string  { return f.name }
func (f *HeaderField) Bitwidth() int { return f.bitwidth }

// Bytes is the length of the field's values padded to whole bytes.
func (f *HeaderField) Bytes() int { return (f.bitwidth + 7) / 8 }

// Table returns the table with the given ID.
func (x *Index) Table(id uint32) (*Table, bool) { v, ok := x.tables.byID[id]; return v, ok }

// TableByName returns the table with the given name.
func (x *Index) TableByName(name string) (*Table, bool) { v, ok := x.tables.byName[name]; return v, ok }

// Tables returns the tables in P4Info order.
func (x *Index) Tables() []*Table { return slices.Clone(x.tables.list) }

// Action returns the action with the given ID.
func (x *Index) Action(id uint32) (*Action, bool) { v, ok := x.actions.byID[id]; return v, ok }

// ActionByName returns the action with the given name.
func (x *Index) ActionByName(name string) (*Action, bool) {
	v, ok := x.actions.byName[name]
	return v, ok
}

// Actions returns the actions in P4Info order.
func (x *Index) Actions() []*Action { return slices.Clone(x.actions.list) }

// ActionProfile returns the action profile with the given ID.
func (x *Index) ActionProfile(id uint32) (*ActionProfile, bool) {
	v, ok := x.profiles.byID[id]
	return v, ok
}

// ActionProfileByName returns the action profile with the given name.
func (x *Index) ActionProfileByName(name string) (*ActionProfile, bool) {
	v, ok := x.profiles.byName[name]
	return v, ok
}

// ActionProfiles returns the action profiles in P4Info order.
func (x *Index) ActionProfiles() []*ActionProfile { return slices.Clone(x.profiles.list) }

// Meter returns the indirect meter with the given ID.
func (x *Index) Meter(id uint32) (*Meter, bool) { v, ok := x.meters.byID[id]; return v, ok }

// MeterByName returns the indirect meter with the given name.
func (x *Index) MeterByName(name string) (*Meter, bool) { v, ok := x.meters.byName[name]; return v, ok }

// Meters returns the indirect meters in P4Info order.
func (x *Index) Meters() []*Meter { return slices.Clone(x.meters.list) }

// DirectMeter returns the direct meter with the given ID.
func (x *Index) DirectMeter(id uint32) (*DirectMeter, bool) {
	v, ok := x.directMeters.byID[id]
	return v, ok
}

// DirectMeters returns the direct meters in P4Info order.
func (x *Index) DirectMeters() []*DirectMeter { return slices.Clone(x.directMeters.list) }

// Counter returns the indirect counter with the given ID.
func (x *Index) Counter(id uint32) (*Counter, bool) { v, ok := x.counters.byID[id]; return v, ok }

// CounterByName returns the indirect counter with the given name.
func (x *Index) CounterByName(name string) (*Counter, bool) {
	v, ok := x.counters.byName[name]
	return v, ok
}

// Counters returns the indirect counters in P4Info order.
func (x *Index) Counters() []*Counter { return slices.Clone(x.counters.list) }

// DirectCounter returns the direct counter with the given ID.
func (x *Index) DirectCounter(id uint32) (*DirectCounter, bool) {
	v, ok := x.directCounters.byID[id]
	return v, ok
}

// DirectCounterByName returns the direct counter with the given name.
func (x *Index) DirectCounterByName(name string) (*DirectCounter, bool) {
	v, ok := x.directCounters.byName[name]
	return v, ok
}

// DirectCounters returns the direct counters in P4Info order.
func (x *Index) DirectCounters() []*DirectCounter { return slices.Clone(x.directCounters.list) }

// ControllerHeader returns the controller packet metadata with the given ID.
func (x *Index) ControllerHeader(id uint32) (*ControllerHeader, bool) {
	v, ok := x.headers.byID[id]
	return v, ok
}

// ControllerHeaderByName returns the controller packet metadata with the given
// name ("packet_in" or "packet_out").
func (x *Index) ControllerHeaderByName(name string) (*ControllerHeader, bool) {
	v, ok := x.headers.byName[name]
	return v, ok
}

// ControllerHeaders returns the controller packet metadata in P4Info order.
func (x *Index) ControllerHeaders() []*ControllerHeader { return slices.Clone(x.headers.list) }

// PacketIn returns the packet_in header, nil if the P4Info has none.
func (x *Index) PacketIn() *ControllerHeader { return x.headers.byName[PacketIn] }

// PacketOut returns the packet_out header, nil if the P4Info has none.
func (x *Index) PacketOut() *ControllerHeader { return x.headers.byName[PacketOut] }

// NameOf returns the name of the object (table, action, action profile, counter,
// direct counter or controller header) with the given ID.
func (x *Index) NameOf(id uint32) (string, bool) {
	n, ok := x.names[id]
	return n, ok
}

// PkgName returns pkg_info.name.
func (x *Index) PkgName() string { return x.p4info.GetPkgInfo().GetName() }

// P4Info returns a copy of the P4Info the index was built from.
func (x *Index) P4Info() *p4configv1.P4Info { return proto.Clone(x.p4info).(*p4configv1.P4Info) }

// Prefix returns the P4Runtime object type encoded in the top byte of an ID.
func Prefix(id uint32) p4configv1.P4Ids_Prefix { return p4configv1.P4Ids_Prefix(id >> 24) }

// ValidationError lists what makes a P4Info unusable.
type ValidationError struct {
	Problems []string
}

func (e *ValidationError) Error() string {
	return "invalid P4Info: " + strings.Join(e.Problems, "; ")
}

// MustNewIndex is NewIndex for P4Infos known to be valid, such as New's: it panics
// on error.
func MustNewIndex(p *p4configv1.P4Info) *Index {
	x, err := NewIndex(p)
	if err != nil {
		panic(err)
	}
	return x
}

// NewIndex validates p and indexes it. A *ValidationError lists every problem
// found:
//
//   - every object has a non-zero ID whose top byte is its kind's P4Ids prefix,
//     IDs are unique across all objects, names are non-empty and unique within a
//     kind (counters and direct counters count as one kind, as in ONOS), and so
//     are non-empty aliases;
//   - match fields, action parameters and packet metadata have non-zero IDs and
//     non-empty names, both unique within their table, action or header, and a
//     positive bit width; user-defined types (type_name) are not supported;
//   - match types are EXACT, LPM, TERNARY, RANGE or OPTIONAL;
//   - a table references each action at most once and at least one action, every
//     reference names an action of the P4Info, its const default action is one
//     of its actions usable as default, its implementation is an action profile
//     that lists it, and its direct resources are direct counters attached to it
//     (at most one); sizes are not negative;
//   - an action profile lists existing tables implemented by it, only action
//     selectors have a max_group_size, and it is at most the size;
//   - counters count packets, bytes or both; indirect counters have a positive size;
//   - controller packet metadata are named packet_in or packet_out;
//   - registers, digests, value sets and externs are not
//     supported by linx and make the P4Info invalid.
func NewIndex(p *p4configv1.P4Info) (*Index, error) {
	if p == nil {
		return nil, &ValidationError{Problems: []string{"no P4Info"}}
	}
	p = proto.Clone(p).(*p4configv1.P4Info)
	b := builder{
		ids:     map[uint32]string{},
		idNames: map[uint32]string{},
		names:   map[p4configv1.P4Ids_Prefix]map[string]string{},
		aliases: map[p4configv1.P4Ids_Prefix]map[string]bool{},
	}
	x := &Index{
		p4info:         p,
		tables:         newSet[*Table](len(p.Tables)),
		actions:        newSet[*Action](len(p.Actions)),
		profiles:       newSet[*ActionProfile](len(p.ActionProfiles)),
		counters:       newSet[*Counter](len(p.Counters)),
		directCounters: newSet[*DirectCounter](len(p.DirectCounters)),
		meters:         newSet[*Meter](len(p.Meters)),
		directMeters:   newSet[*DirectMeter](len(p.DirectMeters)),
		headers:        newSet[*ControllerHeader](len(p.ControllerPacketMetadata)),
	}
	b.unsupported(p)

	// Objects first, so that references can be resolved whatever the order.
	for _, a := range p.Actions {
		id, name, alias, ok := b.preamble(p4configv1.P4Ids_ACTION, "action", a.GetPreamble())
		if !ok {
			continue
		}
		act := &Action{id: id, name: name, alias: alias, params: newSet[*Param](len(a.Params))}
		what := describe("action", name, id)
		for _, pm := range a.Params {
			if member(&b, what, "param", &act.params, pm.Id, pm.Name, pm.Bitwidth, pm.GetTypeName() != nil) {
				act.params.add(pm.Id, pm.Name, &Param{id: pm.Id, name: pm.Name, bitwidth: int(pm.Bitwidth)})
			}
		}
		x.actions.add(id, name, act)
	}
	tableMsgs := map[*Table]*p4configv1.Table{}
	profileMsgs := map[*ActionProfile]*p4configv1.ActionProfile{}
	directCounterMsgs := map[*DirectCounter]*p4configv1.DirectCounter{}
	directMeterMsgs := map[*DirectMeter]*p4configv1.DirectMeter{}
	for _, t := range p.Tables {
		id, name, alias, ok := b.preamble(p4configv1.P4Ids_TABLE, "table", t.GetPreamble())
		if !ok {
			continue
		}
		if t.Size < 0 {
			b.addf("%s: negative size %d", describe("table", name, id), t.Size)
		}
		tab := &Table{
			id: id, name: name, alias: alias, size: t.Size,
			fields:      newSet[*MatchField](len(t.MatchFields)),
			isConst:     t.IsConstTable,
			idleTimeout: t.IdleTimeoutBehavior == p4configv1.Table_NOTIFY_CONTROL,
		}
		tableMsgs[tab] = t
		x.tables.add(id, name, tab)
	}
	for _, ap := range p.ActionProfiles {
		id, name, alias, ok := b.preamble(p4configv1.P4Ids_ACTION_PROFILE, "action profile", ap.GetPreamble())
		if !ok {
			continue
		}
		what := describe("action profile", name, id)
		switch {
		case ap.Size < 0:
			b.addf("%s: negative size %d", what, ap.Size)
		case ap.MaxGroupSize < 0:
			b.addf("%s: negative max_group_size %d", what, ap.MaxGroupSize)
		case !ap.WithSelector && ap.MaxGroupSize != 0:
			b.addf("%s: max_group_size %d without a selector", what, ap.MaxGroupSize)
		case ap.Size > 0 && int64(ap.MaxGroupSize) > ap.Size:
			b.addf("%s: max_group_size %d exceeds size %d", what, ap.MaxGroupSize, ap.Size)
		}
		prof := &ActionProfile{
			id: id, name: name, alias: alias,
			withSelector: ap.WithSelector, size: ap.Size, maxGroupSize: int(ap.MaxGroupSize),
		}
		profileMsgs[prof] = ap
		x.profiles.add(id, name, prof)
	}
	for _, c := range p.Counters {
		id, name, alias, ok := b.preamble(p4configv1.P4Ids_COUNTER, "counter", c.GetPreamble())
		if !ok {
			continue
		}
		what := describe("counter", name, id)
		b.unit(what, c.GetSpec().GetUnit())
		if c.Size <= 0 {
			b.addf("%s: size %d, must be positive", what, c.Size)
		}
		x.counters.add(id, name, &Counter{id: id, name: name, alias: alias, unit: c.GetSpec().GetUnit(), size: c.Size})
	}
	for _, c := range p.DirectCounters {
		id, name, alias, ok := b.preamble(p4configv1.P4Ids_DIRECT_COUNTER, "direct counter", c.GetPreamble())
		if !ok {
			continue
		}
		b.unit(describe("direct counter", name, id), c.GetSpec().GetUnit())
		dc := &DirectCounter{id: id, name: name, alias: alias, unit: c.GetSpec().GetUnit()}
		directCounterMsgs[dc] = c
		x.directCounters.add(id, name, dc)
	}
	for _, m := range p.Meters {
		id, name, alias, ok := b.preamble(p4configv1.P4Ids_METER, "meter", m.GetPreamble())
		if !ok {
			continue
		}
		what := describe("meter", name, id)
		switch u := m.GetSpec().GetUnit(); u {
		case p4configv1.MeterSpec_BYTES, p4configv1.MeterSpec_PACKETS:
		default:
			b.addf("%s: meter unit %s not supported", what, u)
		}
		if m.Size <= 0 {
			b.addf("%s: size %d, must be positive", what, m.Size)
		}
		x.meters.add(id, name, &Meter{id: id, name: name, alias: alias, unit: m.GetSpec().GetUnit(), size: m.Size})
	}
	for _, m := range p.DirectMeters {
		id, name, alias, ok := b.preamble(p4configv1.P4Ids_DIRECT_METER, "direct meter", m.GetPreamble())
		if !ok {
			continue
		}
		switch u := m.GetSpec().GetUnit(); u {
		case p4configv1.MeterSpec_BYTES, p4configv1.MeterSpec_PACKETS:
		default:
			b.addf("%s: meter unit %s not supported", describe("direct meter", name, id), u)
		}
		dm := &DirectMeter{id: id, name: name, alias: alias, unit: m.GetSpec().GetUnit()}
		directMeterMsgs[dm] = m
		x.directMeters.add(id, name, dm)
	}
	for _, h := range p.ControllerPacketMetadata {
		id, name, _, ok := b.preamble(p4configv1.P4Ids_CONTROLLER_HEADER, "controller header", h.GetPreamble())
		if !ok {
			continue
		}
		what := describe("controller header", name, id)
		if name != PacketIn && name != PacketOut {
			b.addf("%s: name must be %q or %q", what, PacketIn, PacketOut)
		}
		hdr := &ControllerHeader{id: id, name: name, fields: newSet[*HeaderField](len(h.Metadata))}
		for _, m := range h.Metadata {
			if member(&b, what, "metadata", &hdr.fields, m.Id, m.Name, m.Bitwidth, m.GetTypeName() != nil) {
				hdr.fields.add(m.Id, m.Name, &HeaderField{id: m.Id, name: m.Name, bitwidth: int(m.Bitwidth)})
			}
		}
		x.headers.add(id, name, hdr)
	}

	// Table contents and references.
	for _, tab := range x.tables.list {
		b.table(x, tab, tableMsgs[tab])
	}
	for _, prof := range x.profiles.list {
		ap := profileMsgs[prof]
		what := describe("action profile", prof.name, prof.id)
		seen := map[uint32]bool{}
		for _, tid := range ap.TableIds {
			if seen[tid] {
				b.addf("%s: table 0x%08x listed twice", what, tid)
				continue
			}
			seen[tid] = true
			tab, ok := x.tables.byID[tid]
			switch {
			case !ok:
				b.addf("%s: table 0x%08x does not exist", what, tid)
			case tab.profile != prof:
				b.addf("%s: lists %s, whose implementation is not this profile", what, describe("table", tab.name, tab.id))
			default:
				prof.tables = append(prof.tables, tab)
			}
		}
	}
	for _, tab := range x.tables.list {
		if tab.profile != nil && !slices.Contains(tab.profile.tables, tab) {
			b.addf("%s: implementation %s does not list the table", describe("table", tab.name, tab.id), tab.profile.name)
		}
	}
	for _, dc := range x.directCounters.list {
		c := directCounterMsgs[dc]
		what := describe("direct counter", dc.name, dc.id)
		tab, ok := x.tables.byID[c.DirectTableId]
		switch {
		case !ok:
			b.addf("%s: direct_table_id 0x%08x is not a table", what, c.DirectTableId)
		case tab.directCounter != dc:
			b.addf("%s: %s does not list it in direct_resource_ids", what, describe("table", tab.name, tab.id))
		default:
			dc.table = tab
		}
	}
	for _, dm := range x.directMeters.list {
		m := directMeterMsgs[dm]
		what := describe("direct meter", dm.name, dm.id)
		tab, ok := x.tables.byID[m.DirectTableId]
		switch {
		case !ok:
			b.addf("%s: direct_table_id 0x%08x is not a table", what, m.DirectTableId)
		case tab.directMeter != dm:
			b.addf("%s: %s does not list it in direct_resource_ids", what, describe("table", tab.name, tab.id))
		default:
			dm.table = tab
		}
	}
	for _, tab := range x.tables.list {
		if dc := tab.directCounter; dc != nil && dc.table != tab && directCounterMsgs[dc].DirectTableId != tab.id {
			b.addf("%s: direct counter %s belongs to table 0x%08x", describe("table", tab.name, tab.id),
				dc.name, directCounterMsgs[dc].DirectTableId)
		}
	}
	if len(b.problems) > 0 {
		return nil, &ValidationError{Problems: b.problems}
	}
	x.names = b.idNames
	return x, nil
}

// builder accumulates validation problems while NewIndex builds an Index.
type builder struct {
	problems []string
	ids      map[uint32]string                             // object ID → its description, for duplicate reports
	idNames  map[uint32]string                             // object ID → its name
	names    map[p4configv1.P4Ids_Prefix]map[string]string // namespace → name → kind that took it
	aliases  map[p4configv1.P4Ids_Prefix]map[string]bool
}

// namespace returns the kind whose names a kind shares: ONOS keeps counters and
// direct counters in one map keyed by name.
func namespace(prefix p4configv1.P4Ids_Prefix) p4configv1.P4Ids_Prefix {
	if prefix == p4configv1.P4Ids_DIRECT_COUNTER {
		return p4configv1.P4Ids_COUNTER
	}
	return prefix
}

func (b *builder) addf(format string, args ...any) {
	b.problems = append(b.problems, fmt.Sprintf(format, args...))
}

func describe(kind, name string, id uint32) string {
	return fmt.Sprintf("%s %s (0x%08x)", kind, name, id)
}

// preamble checks an object's preamble; ok is false if the object cannot be
// indexed (missing preamble, zero ID, empty or duplicate name or ID).
func (b *builder) preamble(prefix p4configv1.P4Ids_Prefix, kind string, pre *p4configv1.Preamble) (id uint32, name, alias string, ok bool) {
	if pre == nil {
		b.addf("%s without a preamble", kind)
		return 0, "", "", false
	}
	id, name, alias = pre.Id, pre.Name, pre.Alias
	what := describe(kind, name, id)
	ok = true
	if name == "" {
		b.addf("%s: empty name", what)
		ok = false
	} else if other := b.names[namespace(prefix)][name]; other == kind {
		b.addf("%s: duplicate %s name %q", what, kind, name)
		ok = false
	} else if other != "" {
		b.addf("%s: name %q already used by a %s", what, name, other)
		ok = false
	}
	switch {
	case id == 0:
		b.addf("%s: id 0 is reserved", what)
		ok = false
	case b.ids[id] != "":
		b.addf("%s: id 0x%08x already used by %s", what, id, b.ids[id])
		ok = false
	case Prefix(id) != prefix:
		b.addf("%s: id 0x%08x has prefix 0x%02x (%s), want 0x%02x (%s)",
			what, id, uint32(Prefix(id)), prefixName(Prefix(id)), uint32(prefix), prefix)
	}
	if alias != "" {
		if b.aliases[prefix][alias] {
			b.addf("%s: duplicate %s alias %q", what, kind, alias)
		}
		mark(b.aliases, prefix, alias)
	}
	if ok {
		b.ids[id] = what
		b.idNames[id] = name
		if b.names[namespace(prefix)] == nil {
			b.names[namespace(prefix)] = map[string]string{}
		}
		b.names[namespace(prefix)][name] = kind
	}
	return id, name, alias, ok
}

func prefixName(p p4configv1.P4Ids_Prefix) string {
	if n, ok := p4configv1.P4Ids_Prefix_name[int32(p)]; ok {
		return n
	}
	return "unknown"
}

func mark(m map[p4configv1.P4Ids_Prefix]map[string]bool, prefix p4configv1.P4Ids_Prefix, s string) {
	if m[prefix] == nil {
		m[prefix] = map[string]bool{}
	}
	m[prefix][s] = true
}

// member checks a match field, action parameter or packet metadata field of
// owner; ok is false if it cannot be indexed.
func member[T any](b *builder, owner, kind string, s *set[T], id uint32, name string, bitwidth int32, typed bool) bool {
	what := fmt.Sprintf("%s: %s %d (%s)", owner, kind, id, name)
	ok := true
	if id == 0 {
		b.addf("%s: id 0 is reserved", what)
		ok = false
	} else if _, dup := s.byID[id]; dup {
		b.addf("%s: duplicate %s id %d", what, kind, id)
		ok = false
	}
	if name == "" {
		b.addf("%s: empty name", what)
		ok = false
	} else if _, dup := s.byName[name]; dup {
		b.addf("%s: duplicate %s name %q", what, kind, name)
		ok = false
	}
	if bitwidth <= 0 {
		b.addf("%s: bitwidth %d, must be positive", what, bitwidth)
	}
	if typed {
		b.addf("%s: user-defined types (type_name) are not supported", what)
	}
	return ok
}

func (b *builder) unit(what string, u p4configv1.CounterSpec_Unit) {
	switch u {
	case p4configv1.CounterSpec_BYTES, p4configv1.CounterSpec_PACKETS, p4configv1.CounterSpec_BOTH:
	default:
		b.addf("%s: counter unit %s not supported", what, u)
	}
}

func (b *builder) unsupported(p *p4configv1.P4Info) {
	for _, u := range []struct {
		kind string
		n    int
	}{
		{"value sets", len(p.ValueSets)},
		{"registers", len(p.Registers)},
		{"digests", len(p.Digests)},
		{"externs", len(p.Externs)},
	} {
		if u.n > 0 {
			b.addf("%s are not supported (%d found)", u.kind, u.n)
		}
	}
}

func (b *builder) table(x *Index, tab *Table, t *p4configv1.Table) {
	what := describe("table", tab.name, tab.id)
	for _, f := range t.MatchFields {
		if !member(b, what, "match field", &tab.fields, f.Id, f.Name, f.Bitwidth, f.GetTypeName() != nil) {
			continue
		}
		mt := f.GetMatchType()
		switch mt {
		case p4configv1.MatchField_EXACT, p4configv1.MatchField_LPM:
		case p4configv1.MatchField_TERNARY, p4configv1.MatchField_RANGE, p4configv1.MatchField_OPTIONAL:
			tab.needsPriority = true
		default:
			if o := f.GetOtherMatchType(); o != "" {
				b.addf("%s: match field %d (%s): match type %q not supported", what, f.Id, f.Name, o)
			} else {
				b.addf("%s: match field %d (%s): match type %s not supported", what, f.Id, f.Name, mt)
			}
		}
		tab.fields.add(f.Id, f.Name, &MatchField{id: f.Id, name: f.Name, bitwidth: int(f.Bitwidth), matchType: mt})
	}

	if len(t.ActionRefs) == 0 {
		b.addf("%s: no action refs", what)
	}
	tab.refByID = make(map[uint32]ActionRef, len(t.ActionRefs))
	for _, r := range t.ActionRefs {
		act, ok := x.actions.byID[r.Id]
		switch {
		case !ok:
			b.addf("%s: action ref 0x%08x does not name an action", what, r.Id)
			continue
		case tab.refByID[r.Id].action != nil:
			b.addf("%s: action %s referenced twice", what, act.name)
			continue
		}
		if _, known := p4configv1.ActionRef_Scope_name[int32(r.Scope)]; !known {
			b.addf("%s: action %s: unknown scope %d", what, act.name, r.Scope)
		}
		ref := ActionRef{action: act, scope: r.Scope}
		tab.refs = append(tab.refs, ref)
		tab.refByID[r.Id] = ref
	}
	if id := t.ConstDefaultActionId; id != 0 {
		ref, ok := tab.refByID[id]
		switch {
		case !ok:
			b.addf("%s: const default action 0x%08x is not one of its actions", what, id)
		case !ref.DefaultOK():
			b.addf("%s: const default action %s has scope TABLE_ONLY", what, ref.action.name)
		default:
			tab.constDefault = ref.action
		}
	}
	if id := t.ImplementationId; id != 0 {
		prof, ok := x.profiles.byID[id]
		if !ok {
			b.addf("%s: implementation_id 0x%08x is not an action profile", what, id)
		} else {
			tab.profile = prof
		}
	}
	for _, id := range t.DirectResourceIds {
		if dm, ok := x.directMeters.byID[id]; ok {
			if tab.directMeter != nil {
				b.addf("%s: more than one direct meter (%s, %s)", what, tab.directMeter.name, dm.name)
			}
			tab.directMeter = dm
			continue
		}
		dc, ok := x.directCounters.byID[id]
		switch {
		case !ok:
			b.addf("%s: direct resource 0x%08x is not a direct counter or meter", what, id)
		case tab.directCounter != nil:
			b.addf("%s: more than one direct counter (%s, %s)", what, tab.directCounter.name, dc.name)
		default:
			tab.directCounter = dc
		}
	}
}
