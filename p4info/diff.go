package p4info

import (
	"fmt"
	"slices"
	"strings"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
)

// MismatchError is returned by Compatible: the P4Info is valid but describes
// another pipeline.
type MismatchError struct {
	Pipeline    string   // pkg_info.name of the expected pipeline
	Differences []string // as returned by Diff
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("P4Info does not match the %s pipeline: %s", e.Pipeline, strings.Join(e.Differences, "; "))
}

// Compatible reports whether p describes the same pipeline as x: it returns a
// *ValidationError if p is not a valid P4Info, a *MismatchError if Diff finds
// differences, nil otherwise. The P4Runtime server uses it to refuse a
// SetForwardingPipelineConfig whose P4Info is not linx's.
func (x *Index) Compatible(p *p4configv1.P4Info) error {
	got, err := NewIndex(p)
	if err != nil {
		return err
	}
	if d := x.Diff(got); len(d) > 0 {
		return &MismatchError{Pipeline: x.PkgName(), Differences: d}
	}
	return nil
}

// Diff describes, one difference per string, how got differs from x (the
// expected pipeline); it returns nil when the two describe the same pipeline.
// Objects are paired by name (ONOS's identifiers), and the comparison covers
// everything a controller and the data path must agree on: every ID (linx binds
// the IDs declared in this package), match fields and their match types and bit
// widths, the actions each table may use and their scopes, const default actions,
// table implementations, direct counters, action parameters, action selectors,
// counter units, packet metadata, is_const_table and idle timeout support.
//
// Diff ignores what does not change behaviour: pkg_info, aliases, documentation,
// annotations, the order of objects and fields, and capacities (table, counter and
// action profile sizes and max_group_size), which the agent sets from its own
// configuration and enforces with RESOURCE_EXHAUSTED / OUT_OF_RANGE at run time;
// Exceeds tells when got declares more of them than x.
//
// Messages read like "table LinxIngress.pdr: match field 3 (src_addr): bitwidth 32,
// got 16": the expected value first, then what got has.
func (x *Index) Diff(got *Index) []string {
	var d differ
	diffSets(&d, "table", &x.tables, &got.tables, func(w, g *Table) { d.table(w, g) })
	diffSets(&d, "action", &x.actions, &got.actions, func(w, g *Action) { d.action(w, g) })
	diffSets(&d, "action profile", &x.profiles, &got.profiles, func(w, g *ActionProfile) {
		p := "action profile " + w.name
		d.id(p, w.id, g.id)
		if w.withSelector != g.withSelector {
			d.addf("%s: with_selector %t, got %t", p, w.withSelector, g.withSelector)
		}
		if wt, gt := tableNames(w.tables), tableNames(g.tables); !slices.Equal(wt, gt) {
			d.addf("%s: tables [%s], got [%s]", p, strings.Join(wt, " "), strings.Join(gt, " "))
		}
	})
	diffSets(&d, "counter", &x.counters, &got.counters, func(w, g *Counter) {
		p := "counter " + w.name
		d.id(p, w.id, g.id)
		d.unit(p, w.unit, g.unit)
	})
	diffSets(&d, "direct counter", &x.directCounters, &got.directCounters, func(w, g *DirectCounter) {
		p := "direct counter " + w.name
		d.id(p, w.id, g.id)
		d.unit(p, w.unit, g.unit)
		if w.table.name != g.table.name {
			d.addf("%s: table %s, got %s", p, w.table.name, g.table.name)
		}
	})
	diffSets(&d, "meter", &x.meters, &got.meters, func(w, g *Meter) {
		p := "meter " + w.name
		d.id(p, w.id, g.id)
		if w.unit != g.unit {
			d.addf("%s: unit %s, got %s", p, w.unit, g.unit)
		}
	})
	diffSets(&d, "direct meter", &x.directMeters, &got.directMeters, func(w, g *DirectMeter) {
		p := "direct meter " + w.name
		d.id(p, w.id, g.id)
		if w.unit != g.unit {
			d.addf("%s: unit %s, got %s", p, w.unit, g.unit)
		}
		if w.table.name != g.table.name {
			d.addf("%s: table %s, got %s", p, w.table.name, g.table.name)
		}
	})
	diffSets(&d, "controller header", &x.headers, &got.headers, func(w, g *ControllerHeader) {
		p := "controller header " + w.name
		d.id(p, w.id, g.id)
		diffMembers(&d, p, "metadata", &w.fields, &g.fields,
			func(f *HeaderField) (uint32, string, int) { return f.id, f.name, f.bitwidth }, nil)
	})
	return d.out
}

type differ struct{ out []string }

func (d *differ) addf(format string, args ...any) {
	d.out = append(d.out, fmt.Sprintf(format, args...))
}

func (d *differ) id(p string, want, got uint32) {
	if want != got {
		d.addf("%s: id 0x%08x, got 0x%08x", p, want, got)
	}
}

func (d *differ) unit(p string, want, got p4configv1.CounterSpec_Unit) {
	if want != got {
		d.addf("%s: unit %s, got %s", p, want, got)
	}
}

// diffSets pairs objects by name: missing ones in want order, then unexpected
// ones in got order.
func diffSets[T interface{ Name() string }](d *differ, kind string, want, got *set[T], same func(w, g T)) {
	for _, w := range want.list {
		if g, ok := got.byName[w.Name()]; ok {
			same(w, g)
		} else {
			d.addf("missing %s %s", kind, w.Name())
		}
	}
	for _, g := range got.list {
		if _, ok := want.byName[g.Name()]; !ok {
			d.addf("unexpected %s %s", kind, g.Name())
		}
	}
}

// diffMembers compares match fields, parameters or metadata fields by name.
func diffMembers[T any](d *differ, p, kind string, want, got *set[T], key func(T) (uint32, string, int), extra func(w, g T, p string)) {
	for _, w := range want.list {
		wid, name, wbits := key(w)
		g, ok := got.byName[name]
		if !ok {
			d.addf("%s: missing %s %d (%s)", p, kind, wid, name)
			continue
		}
		gid, _, gbits := key(g)
		if wid != gid {
			d.addf("%s: %s %s: id %d, got %d", p, kind, name, wid, gid)
		}
		mp := fmt.Sprintf("%s: %s %d (%s)", p, kind, wid, name)
		if wbits != gbits {
			d.addf("%s: bitwidth %d, got %d", mp, wbits, gbits)
		}
		if extra != nil {
			extra(w, g, mp)
		}
	}
	for _, g := range got.list {
		gid, name, _ := key(g)
		if _, ok := want.byName[name]; !ok {
			d.addf("%s: unexpected %s %d (%s)", p, kind, gid, name)
		}
	}
}

func (d *differ) table(w, g *Table) {
	p := "table " + w.name
	d.id(p, w.id, g.id)
	diffMembers(d, p, "match field", &w.fields, &g.fields,
		func(f *MatchField) (uint32, string, int) { return f.id, f.name, f.bitwidth },
		func(wf, gf *MatchField, mp string) {
			if wf.matchType != gf.matchType {
				d.addf("%s: match type %s, got %s", mp, wf.matchType, gf.matchType)
			}
		})

	gotRefs := map[string]ActionRef{}
	for _, r := range g.refs {
		gotRefs[r.action.name] = r
	}
	wantRefs := map[string]bool{}
	for _, wr := range w.refs {
		wantRefs[wr.action.name] = true
		gr, ok := gotRefs[wr.action.name]
		switch {
		case !ok:
			d.addf("%s: missing action %s", p, wr.action.name)
		case wr.scope != gr.scope:
			d.addf("%s: action %s: scope %s, got %s", p, wr.action.name, wr.scope, gr.scope)
		}
	}
	for _, gr := range g.refs {
		if !wantRefs[gr.action.name] {
			d.addf("%s: unexpected action %s", p, gr.action.name)
		}
	}

	if wn, gn := actionName(w.constDefault), actionName(g.constDefault); wn != gn {
		d.addf("%s: const default action %s, got %s", p, wn, gn)
	}
	if wn, gn := profileName(w.profile), profileName(g.profile); wn != gn {
		d.addf("%s: implementation %s, got %s", p, wn, gn)
	}
	if wn, gn := directCounterName(w.directCounter), directCounterName(g.directCounter); wn != gn {
		d.addf("%s: direct counter %s, got %s", p, wn, gn)
	}
	if wn, gn := directMeterName(w.directMeter), directMeterName(g.directMeter); wn != gn {
		d.addf("%s: direct meter %s, got %s", p, wn, gn)
	}
	if w.isConst != g.isConst {
		d.addf("%s: is_const_table %t, got %t", p, w.isConst, g.isConst)
	}
	if w.idleTimeout != g.idleTimeout {
		d.addf("%s: idle timeout supported %t, got %t", p, w.idleTimeout, g.idleTimeout)
	}
}

func (d *differ) action(w, g *Action) {
	p := "action " + w.name
	d.id(p, w.id, g.id)
	diffMembers(d, p, "param", &w.params, &g.params,
		func(pm *Param) (uint32, string, int) { return pm.id, pm.name, pm.bitwidth }, nil)
}

func actionName(a *Action) string {
	if a == nil {
		return "none"
	}
	return a.name
}

func profileName(p *ActionProfile) string {
	if p == nil {
		return "none"
	}
	return p.name
}

func directMeterName(m *DirectMeter) string {
	if m == nil {
		return "none"
	}
	return m.name
}

func directCounterName(c *DirectCounter) string {
	if c == nil {
		return "none"
	}
	return c.name
}

func tableNames(ts []*Table) []string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	slices.Sort(names)
	return names
}

// Exceeds lists, one string per capacity, where got declares more than x (the
// pipeline as the data path was sized): table, counter and action profile
// sizes and max_group_size, as "table LinxIngress.pdr: size 100000, the data
// path holds 1000". Objects are paired by name; those Diff reports as missing
// are left to it. A P4Runtime server refuses such a P4Info: it would promise
// entries and counter cells the data path does not have.
func (x *Index) Exceeds(got *Index) []string {
	var out []string
	over := func(kind, name, what string, want, have int64) {
		if have > want {
			out = append(out, fmt.Sprintf("%s %s: %s %d, the data path holds %d", kind, name, what, have, want))
		}
	}
	for _, w := range x.tables.list {
		if g, ok := got.tables.byName[w.name]; ok {
			over("table", w.name, "size", w.size, g.size)
		}
	}
	for _, w := range x.counters.list {
		if g, ok := got.counters.byName[w.name]; ok {
			over("counter", w.name, "size", w.size, g.size)
		}
	}
	for _, w := range x.meters.list {
		if g, ok := got.meters.byName[w.name]; ok {
			over("meter", w.name, "size", w.size, g.size)
		}
	}
	for _, w := range x.profiles.list {
		if g, ok := got.profiles.byName[w.name]; ok {
			over("action profile", w.name, "size", w.size, g.size)
			over("action profile", w.name, "max_group_size", int64(w.maxGroupSize), int64(g.maxGroupSize))
		}
	}
	return out
}
