package p4info_test

import (
	"errors"
	"strings"
	"testing"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"

	"github.com/linx-sdwan/linx/p4info"
)

// TestLookups checks every exported name/ID pair against the index of New.
func TestLookups(t *testing.T) {
	x := linx(t)

	tables := []struct {
		name string
		id   uint32
	}{
		{p4info.TablePDR, p4info.IDTablePDR},
		{p4info.TableFAR, p4info.IDTableFAR},
		{p4info.TableLBR, p4info.IDTableLBR},
		{p4info.TableTunnels, p4info.IDTableTunnels},
		{p4info.TableTunnelTerm, p4info.IDTableTunnelTerm},
		{p4info.TableNonIP, p4info.IDTableNonIP},
		{p4info.TableTunnelTerm6, p4info.IDTableTunnelTerm6},
		{p4info.TableFARQoS, p4info.IDTableFARQoS},
		{p4info.TableSLAClass, p4info.IDTableSLAClass},
	}
	if got := len(x.Tables()); got != len(tables) {
		t.Errorf("%d tables, want %d", got, len(tables))
	}
	for _, c := range tables {
		byName, ok1 := x.TableByName(c.name)
		byID, ok2 := x.Table(c.id)
		if !ok1 || !ok2 || byName != byID || byID.Name() != c.name || byName.ID() != c.id {
			t.Errorf("table %s / 0x%08x: lookups disagree", c.name, c.id)
		}
		if p4info.Prefix(c.id) != p4configv1.P4Ids_TABLE {
			t.Errorf("table %s: prefix %v", c.name, p4info.Prefix(c.id))
		}
		if want := strings.TrimPrefix(c.name, "LinxIngress."); byName.Alias() != want {
			t.Errorf("table %s: alias %q, want %q", c.name, byName.Alias(), want)
		}
	}

	fields := []struct {
		table, name string
		id          uint32
		bits        int
		mt          p4configv1.MatchField_MatchType
	}{
		{p4info.TablePDR, p4info.FieldPDRIngressPort, p4info.IDFieldPDRIngressPort, 16, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRDirection, p4info.IDFieldPDRDirection, 2, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRSrcAddr, p4info.IDFieldPDRSrcAddr, 32, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRDstAddr, p4info.IDFieldPDRDstAddr, 32, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRIPProto, p4info.IDFieldPDRIPProto, 8, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRL4Sport, p4info.IDFieldPDRL4Sport, 16, p4configv1.MatchField_RANGE},
		{p4info.TablePDR, p4info.FieldPDRL4Dport, p4info.IDFieldPDRL4Dport, 16, p4configv1.MatchField_RANGE},
		{p4info.TablePDR, p4info.FieldPDRDSCP, p4info.IDFieldPDRDSCP, 6, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRIPVersion, p4info.IDFieldPDRIPVersion, 4, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRSrcAddr6, p4info.IDFieldPDRSrcAddr6, 128, p4configv1.MatchField_TERNARY},
		{p4info.TablePDR, p4info.FieldPDRDstAddr6, p4info.IDFieldPDRDstAddr6, 128, p4configv1.MatchField_TERNARY},
		{p4info.TableFAR, p4info.FieldFARFarID, p4info.IDFieldFARFarID, 32, p4configv1.MatchField_EXACT},
		{p4info.TableLBR, p4info.FieldLBRLbrID, p4info.IDFieldLBRLbrID, 32, p4configv1.MatchField_EXACT},
		{p4info.TableTunnels, p4info.FieldTunnelsTunnelID, p4info.IDFieldTunnelsTunnelID, 32, p4configv1.MatchField_EXACT},
		{p4info.TableTunnelTerm, p4info.FieldTunnelTermSrcAddr, p4info.IDFieldTunnelTermSrcAddr, 32, p4configv1.MatchField_EXACT},
		{p4info.TableTunnelTerm, p4info.FieldTunnelTermDstAddr, p4info.IDFieldTunnelTermDstAddr, 32, p4configv1.MatchField_EXACT},
		{p4info.TableTunnelTerm, p4info.FieldTunnelTermGREKey, p4info.IDFieldTunnelTermGREKey, 32, p4configv1.MatchField_EXACT},
		{p4info.TableNonIP, p4info.FieldNonIPEthType, p4info.IDFieldNonIPEthType, 16, p4configv1.MatchField_EXACT},
		{p4info.TableTunnelTerm6, p4info.FieldTunnelTerm6SrcAddr, p4info.IDFieldTunnelTerm6SrcAddr, 128, p4configv1.MatchField_EXACT},
		{p4info.TableTunnelTerm6, p4info.FieldTunnelTerm6DstAddr, p4info.IDFieldTunnelTerm6DstAddr, 128, p4configv1.MatchField_EXACT},
		{p4info.TableTunnelTerm6, p4info.FieldTunnelTerm6GREKey, p4info.IDFieldTunnelTerm6GREKey, 32, p4configv1.MatchField_EXACT},
		{p4info.TableFARQoS, p4info.FieldFARQoSFarID, p4info.IDFieldFARQoSFarID, 32, p4configv1.MatchField_EXACT},
		{p4info.TableSLAClass, p4info.FieldSLAClassLbrID, p4info.IDFieldSLAClassLbrID, 32, p4configv1.MatchField_EXACT},
	}
	nFields := 0
	for _, tab := range x.Tables() {
		nFields += len(tab.MatchFields())
	}
	if nFields != len(fields) {
		t.Errorf("%d match fields, want %d", nFields, len(fields))
	}
	for _, c := range fields {
		tab := tableOf(t, x, c.table)
		byName, ok1 := tab.MatchFieldByName(c.name)
		byID, ok2 := tab.MatchField(c.id)
		if !ok1 || !ok2 || byName != byID {
			t.Errorf("%s.%s / %d: lookups disagree", c.table, c.name, c.id)
			continue
		}
		if byID.Name() != c.name || byID.ID() != c.id || byID.Bitwidth() != c.bits || byID.MatchType() != c.mt {
			t.Errorf("%s.%s: got %d %s %d %s", c.table, c.name, byID.ID(), byID.Name(), byID.Bitwidth(), byID.MatchType())
		}
		if byID.Bytes() != (c.bits+7)/8 {
			t.Errorf("%s.%s: Bytes %d", c.table, c.name, byID.Bytes())
		}
	}

	type param struct {
		name string
		id   uint32
		bits int
	}
	actions := []struct {
		name   string
		id     uint32
		params []param
	}{
		{p4info.ActionSetFAR, p4info.IDActionSetFAR, []param{{p4info.ParamSetFARFarID, p4info.IDParamSetFARFarID, 32}}},
		{p4info.ActionDrop, p4info.IDActionDrop, nil},
		{p4info.ActionPass, p4info.IDActionPass, nil},
		{p4info.ActionForward, p4info.IDActionForward, []param{{p4info.ParamForwardPort, p4info.IDParamForwardPort, 16}}},
		{p4info.ActionEncap, p4info.IDActionEncap, []param{{p4info.ParamEncapTunnelID, p4info.IDParamEncapTunnelID, 32}}},
		{p4info.ActionBalance, p4info.IDActionBalance, []param{{p4info.ParamBalanceLbrID, p4info.IDParamBalanceLbrID, 32}}},
		{p4info.ActionPunt, p4info.IDActionPunt, nil},
		{p4info.ActionSetGRE, p4info.IDActionSetGRE, []param{
			{p4info.ParamSetGREPort, p4info.IDParamSetGREPort, 16},
			{p4info.ParamSetGRESrcAddr, p4info.IDParamSetGRESrcAddr, 32},
			{p4info.ParamSetGREDstAddr, p4info.IDParamSetGREDstAddr, 32},
			{p4info.ParamSetGREKey, p4info.IDParamSetGREKey, 32},
		}},
		{p4info.ActionDecap, p4info.IDActionDecap, []param{{p4info.ParamDecapTunnelID, p4info.IDParamDecapTunnelID, 32}}},
		{p4info.ActionCopyToController, p4info.IDActionCopyToController, nil},
		{p4info.ActionSetGRE6, p4info.IDActionSetGRE6, []param{
			{p4info.ParamSetGRE6Port, p4info.IDParamSetGRE6Port, 16},
			{p4info.ParamSetGRE6SrcAddr, p4info.IDParamSetGRE6SrcAddr, 128},
			{p4info.ParamSetGRE6DstAddr, p4info.IDParamSetGRE6DstAddr, 128},
			{p4info.ParamSetGRE6Key, p4info.IDParamSetGRE6Key, 32},
		}},
		{p4info.ActionSetQoS, p4info.IDActionSetQoS, []param{
			{p4info.ParamSetQoSGreen, p4info.IDParamSetQoSGreen, 2},
			{p4info.ParamSetQoSGreenDSCP, p4info.IDParamSetQoSGreenDSCP, 6},
			{p4info.ParamSetQoSYellow, p4info.IDParamSetQoSYellow, 2},
			{p4info.ParamSetQoSYellowDSCP, p4info.IDParamSetQoSYellowDSCP, 6},
			{p4info.ParamSetQoSRed, p4info.IDParamSetQoSRed, 2},
			{p4info.ParamSetQoSRedDSCP, p4info.IDParamSetQoSRedDSCP, 6},
		}},
		{p4info.ActionPolice, p4info.IDActionPolice, nil},
		{p4info.ActionSetSLA, p4info.IDActionSetSLA, []param{
			{p4info.ParamSetSLADSCP, p4info.IDParamSetSLADSCP, 6},
			{p4info.ParamSetSLARttUs, p4info.IDParamSetSLARttUs, 32},
			{p4info.ParamSetSLALossPpm, p4info.IDParamSetSLALossPpm, 20},
			{p4info.ParamSetSLAJitterUs, p4info.IDParamSetSLAJitterUs, 32},
		}},
		{p4info.ActionNoSLA, p4info.IDActionNoSLA, nil},
	}
	if got := len(x.Actions()); got != len(actions) {
		t.Errorf("%d actions, want %d", got, len(actions))
	}
	for _, c := range actions {
		byName, ok1 := x.ActionByName(c.name)
		byID, ok2 := x.Action(c.id)
		if !ok1 || !ok2 || byName != byID || byID.Name() != c.name || byID.ID() != c.id {
			t.Errorf("action %s / 0x%08x: lookups disagree", c.name, c.id)
			continue
		}
		if got := len(byID.Params()); got != len(c.params) {
			t.Errorf("action %s: %d params, want %d", c.name, got, len(c.params))
		}
		for i, p := range c.params {
			pn, ok1 := byID.ParamByName(p.name)
			pi, ok2 := byID.Param(p.id)
			if !ok1 || !ok2 || pn != pi || pi.Bitwidth() != p.bits || byID.Params()[i] != pi {
				t.Errorf("action %s param %s / %d: lookups disagree", c.name, p.name, p.id)
			}
		}
	}

	counters := []struct {
		name string
		id   uint32
	}{
		{p4info.CounterPortRX, p4info.IDCounterPortRX},
		{p4info.CounterPortTX, p4info.IDCounterPortTX},
		{p4info.CounterTunnelTX, p4info.IDCounterTunnelTX},
		{p4info.CounterTunnelRX, p4info.IDCounterTunnelRX},
		{p4info.CounterDrop, p4info.IDCounterDrop},
	}
	if got := len(x.Counters()); got != len(counters) {
		t.Errorf("%d counters, want %d", got, len(counters))
	}
	for _, c := range counters {
		byName, ok1 := x.CounterByName(c.name)
		byID, ok2 := x.Counter(c.id)
		if !ok1 || !ok2 || byName != byID || byID.Unit() != p4configv1.CounterSpec_BOTH {
			t.Errorf("counter %s / 0x%08x: lookups disagree or unit not BOTH", c.name, c.id)
		}
	}

	dc, ok1 := x.DirectCounterByName(p4info.DirectCounterPDR)
	dc2, ok2 := x.DirectCounter(p4info.IDDirectCounterPDR)
	if !ok1 || !ok2 || dc != dc2 || dc.Table() != tableOf(t, x, p4info.TablePDR) || dc.Unit() != p4configv1.CounterSpec_BOTH {
		t.Error("direct counter pdr_counter: wrong lookups, table or unit")
	}
	dc, ok1 = x.DirectCounterByName(p4info.DirectCounterNonIP)
	dc2, ok2 = x.DirectCounter(p4info.IDDirectCounterNonIP)
	if !ok1 || !ok2 || dc != dc2 || dc.Table() != tableOf(t, x, p4info.TableNonIP) || dc.Unit() != p4configv1.CounterSpec_BOTH {
		t.Error("direct counter non_ip_counter: wrong lookups, table or unit")
	}
	if len(x.DirectCounters()) != 2 {
		t.Errorf("%d direct counters, want 2", len(x.DirectCounters()))
	}

	ap, ok1 := x.ActionProfileByName(p4info.ActionProfileLBRSelector)
	ap2, ok2 := x.ActionProfile(p4info.IDActionProfileLBRSelector)
	if !ok1 || !ok2 || ap != ap2 || !ap.WithSelector() || len(ap.Tables()) != 1 || ap.Tables()[0] != tableOf(t, x, p4info.TableLBR) {
		t.Error("action profile lbr_selector: wrong lookups, selector or tables")
	}
	if ap.MaxGroupSize() != p4info.DefaultSizes.LBRMaxGroupSize {
		t.Errorf("lbr_selector: max_group_size %d", ap.MaxGroupSize())
	}

	headers := []struct {
		name, field string
		id, fieldID uint32
		get         func() *p4info.ControllerHeader
	}{
		{p4info.PacketIn, p4info.MetaIngressPort, p4info.IDPacketIn, p4info.IDMetaIngressPort, x.PacketIn},
		{p4info.PacketOut, p4info.MetaEgressPort, p4info.IDPacketOut, p4info.IDMetaEgressPort, x.PacketOut},
	}
	for _, c := range headers {
		byName, ok1 := x.ControllerHeaderByName(c.name)
		byID, ok2 := x.ControllerHeader(c.id)
		if !ok1 || !ok2 || byName != byID || c.get() != byID {
			t.Errorf("controller header %s: lookups disagree", c.name)
			continue
		}
		f1, ok1 := byID.FieldByName(c.field)
		f2, ok2 := byID.Field(c.fieldID)
		if !ok1 || !ok2 || f1 != f2 || f1.Bitwidth() != 16 || f1.Bytes() != 2 {
			t.Errorf("controller header %s: field %s wrong", c.name, c.field)
		}
		// Stratum-style targets need byte-aligned controller headers.
		bits := 0
		for _, f := range byID.Fields() {
			bits += f.Bitwidth()
		}
		if bits%8 != 0 {
			t.Errorf("controller header %s: %d bits, not byte aligned", c.name, bits)
		}
	}
	if len(x.ControllerHeaders()) != 2 {
		t.Errorf("%d controller headers, want 2", len(x.ControllerHeaders()))
	}

	if n, ok := x.NameOf(p4info.IDActionSetGRE); !ok || n != p4info.ActionSetGRE {
		t.Errorf("NameOf(set_gre) = %q, %t", n, ok)
	}
	if _, ok := x.NameOf(0x02000099); ok {
		t.Error("NameOf(unknown) found something")
	}
	if x.PkgName() != p4info.PkgName {
		t.Errorf("PkgName %q", x.PkgName())
	}
	if _, ok := x.Table(p4info.IDActionDrop); ok {
		t.Error("Table(action id) found a table")
	}
}

func TestTableSemantics(t *testing.T) {
	x := linx(t)
	type ref struct {
		action string
		scope  p4configv1.ActionRef_Scope
	}
	for _, c := range []struct {
		table         string
		priority      bool
		constDefault  string
		profile       string
		directCounter string
		refs          []ref
	}{
		{p4info.TablePDR, true, "", "", p4info.DirectCounterPDR, []ref{
			{p4info.ActionSetFAR, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionPass, p4configv1.ActionRef_DEFAULT_ONLY},
			{p4info.ActionDrop, p4configv1.ActionRef_DEFAULT_ONLY},
		}},
		{p4info.TableFAR, false, p4info.ActionDrop, "", "", []ref{
			{p4info.ActionDrop, p4configv1.ActionRef_TABLE_AND_DEFAULT},
			{p4info.ActionPass, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionForward, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionEncap, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionBalance, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionPunt, p4configv1.ActionRef_TABLE_ONLY},
		}},
		{p4info.TableLBR, false, p4info.ActionDrop, p4info.ActionProfileLBRSelector, "", []ref{
			{p4info.ActionEncap, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionDrop, p4configv1.ActionRef_DEFAULT_ONLY},
		}},
		{p4info.TableTunnels, false, p4info.ActionDrop, "", "", []ref{
			{p4info.ActionSetGRE, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionSetGRE6, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionDrop, p4configv1.ActionRef_DEFAULT_ONLY},
		}},
		{p4info.TableTunnelTerm, false, p4info.ActionDrop, "", "", []ref{
			{p4info.ActionDecap, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionDrop, p4configv1.ActionRef_DEFAULT_ONLY},
		}},
		{p4info.TableTunnelTerm6, false, p4info.ActionDrop, "", "", []ref{
			{p4info.ActionDecap, p4configv1.ActionRef_TABLE_ONLY},
			{p4info.ActionDrop, p4configv1.ActionRef_DEFAULT_ONLY},
		}},
	} {
		tab := tableOf(t, x, c.table)
		if tab.NeedsPriority() != c.priority {
			t.Errorf("%s: NeedsPriority %t", c.table, tab.NeedsPriority())
		}
		if got := nameOf(tab.ConstDefaultAction()); got != c.constDefault {
			t.Errorf("%s: const default %q, want %q", c.table, got, c.constDefault)
		}
		if got := nameOf(tab.ActionProfile()); got != c.profile {
			t.Errorf("%s: profile %q, want %q", c.table, got, c.profile)
		}
		if got := nameOf(tab.DirectCounter()); got != c.directCounter {
			t.Errorf("%s: direct counter %q, want %q", c.table, got, c.directCounter)
		}
		if tab.IsConst() || tab.SupportsIdleTimeout() {
			t.Errorf("%s: const or idle timeout", c.table)
		}
		refs := tab.ActionRefs()
		if len(refs) != len(c.refs) {
			t.Errorf("%s: %d action refs, want %d", c.table, len(refs), len(c.refs))
			continue
		}
		for i, want := range c.refs {
			a, _ := x.ActionByName(want.action)
			r, ok := tab.ActionRef(a.ID())
			if !ok || r != refs[i] || r.Action() != a || r.Scope() != want.scope {
				t.Errorf("%s: action ref %s wrong", c.table, want.action)
			}
			if r.TableOK() != (want.scope != p4configv1.ActionRef_DEFAULT_ONLY) ||
				r.DefaultOK() != (want.scope != p4configv1.ActionRef_TABLE_ONLY) {
				t.Errorf("%s: action ref %s: TableOK/DefaultOK wrong", c.table, want.action)
			}
		}
		if _, ok := tab.ActionRef(p4info.IDActionSetGRE); ok && c.table != p4info.TableTunnels {
			t.Errorf("%s: set_gre allowed", c.table)
		}
	}
}

func nameOf[T interface{ Name() string }](v T) string {
	switch x := any(v).(type) {
	case *p4info.Action:
		if x == nil {
			return ""
		}
	case *p4info.ActionProfile:
		if x == nil {
			return ""
		}
	case *p4info.DirectCounter:
		if x == nil {
			return ""
		}
	}
	return v.Name()
}

// TestImmutable: neither the source message nor returned slices can change an Index.
func TestImmutable(t *testing.T) {
	p := p4info.New(p4info.DefaultSizes)
	x, err := p4info.NewIndex(p)
	if err != nil {
		t.Fatal(err)
	}
	p.Tables[0].Preamble.Name = "changed"
	p.Tables[0].MatchFields[0].Bitwidth = 1
	if _, ok := x.TableByName(p4info.TablePDR); !ok {
		t.Error("renaming a table in the source message changed the index")
	}
	if f, _ := tableOf(t, x, p4info.TablePDR).MatchField(1); f.Bitwidth() != 16 {
		t.Error("changing the source message changed a match field")
	}
	tabs := x.Tables()
	tabs[0] = nil
	if x.Tables()[0] == nil {
		t.Error("Tables returned the internal slice")
	}
	fields := tableOf(t, x, p4info.TablePDR).MatchFields()
	fields[0] = nil
	if tableOf(t, x, p4info.TablePDR).MatchFields()[0] == nil {
		t.Error("MatchFields returned the internal slice")
	}
	c := x.P4Info()
	c.Tables = nil
	if len(x.P4Info().Tables) != 9 {
		t.Error("P4Info returned the internal message")
	}
}

// TestNewIndexRejects: broken P4Infos are rejected with a message that names the
// problem.
func TestNewIndexRejects(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(p *p4configv1.P4Info)
		want   string
	}{
		{"duplicate id", func(p *p4configv1.P4Info) { table(p, p4info.TableFAR).Preamble.Id = p4info.IDTablePDR },
			"table LinxIngress.far (0x02000001): id 0x02000001 already used by table LinxIngress.pdr (0x02000001)"},
		{"duplicate id across kinds", func(p *p4configv1.P4Info) {
			p.Counters[0].Preamble.Id = p4info.IDDirectCounterPDR
		}, "direct counter LinxIngress.pdr_counter (0x13000001): id 0x13000001 already used by counter LinxIngress.port_rx_counter (0x13000001)"},
		{"wrong prefix", func(p *p4configv1.P4Info) {
			p.Counters[0].Preamble.Id = 0x02000077
		}, "counter LinxIngress.port_rx_counter (0x02000077): id 0x02000077 has prefix 0x02 (TABLE), want 0x12 (COUNTER)"},
		{"zero id", func(p *p4configv1.P4Info) { action(p, p4info.ActionPunt).Preamble.Id = 0 },
			"action LinxIngress.punt (0x00000000): id 0 is reserved"},
		{"no preamble", func(p *p4configv1.P4Info) { p.Counters[1].Preamble = nil }, "counter without a preamble"},
		{"empty name", func(p *p4configv1.P4Info) { p.Counters[1].Preamble.Name = "" }, "counter  (0x12000002): empty name"},
		{"duplicate name", func(p *p4configv1.P4Info) {
			action(p, p4info.ActionPunt).Preamble.Name = p4info.ActionPass
		}, `action LinxIngress.pass (0x01000007): duplicate action name "LinxIngress.pass"`},
		{"counter and direct counter with one name", func(p *p4configv1.P4Info) {
			p.DirectCounters[0].Preamble.Name = p4info.CounterDrop
		}, `direct counter LinxIngress.drop_counter (0x13000001): name "LinxIngress.drop_counter" already used by a counter`},
		{"duplicate alias", func(p *p4configv1.P4Info) { table(p, p4info.TableFAR).Preamble.Alias = "pdr" },
			`table LinxIngress.far (0x02000002): duplicate table alias "pdr"`},
		{"dangling action ref", func(p *p4configv1.P4Info) {
			table(p, p4info.TableFAR).ActionRefs[2].Id = 0x01000063
		}, "table LinxIngress.far (0x02000002): action ref 0x01000063 does not name an action"},
		{"action referenced twice", func(p *p4configv1.P4Info) {
			tab := table(p, p4info.TableFAR)
			tab.ActionRefs = append(tab.ActionRefs, tab.ActionRefs[1])
		}, "table LinxIngress.far (0x02000002): action LinxIngress.pass referenced twice"},
		{"no action refs", func(p *p4configv1.P4Info) {
			tab := table(p, p4info.TableTunnels)
			tab.ActionRefs, tab.ConstDefaultActionId = nil, 0
		}, "table LinxIngress.tunnels (0x02000004): no action refs"},
		{"duplicate match field id", func(p *p4configv1.P4Info) { table(p, p4info.TablePDR).MatchFields[3].Id = 1 },
			"table LinxIngress.pdr (0x02000001): match field 1 (dst_addr): duplicate match field id 1"},
		{"duplicate match field name", func(p *p4configv1.P4Info) {
			table(p, p4info.TableTunnelTerm).MatchFields[1].Name = "src_addr"
		}, `table LinxIngress.tunnel_term (0x02000005): match field 2 (src_addr): duplicate match field name "src_addr"`},
		{"match field id 0", func(p *p4configv1.P4Info) { table(p, p4info.TablePDR).MatchFields[0].Id = 0 },
			"table LinxIngress.pdr (0x02000001): match field 0 (ingress_port): id 0 is reserved"},
		{"zero bitwidth", func(p *p4configv1.P4Info) { table(p, p4info.TablePDR).MatchFields[7].Bitwidth = 0 },
			"table LinxIngress.pdr (0x02000001): match field 8 (dscp): bitwidth 0, must be positive"},
		{"unspecified match type", func(p *p4configv1.P4Info) {
			table(p, p4info.TablePDR).MatchFields[2].Match = nil
		}, "table LinxIngress.pdr (0x02000001): match field 3 (src_addr): match type UNSPECIFIED not supported"},
		{"other match type", func(p *p4configv1.P4Info) {
			table(p, p4info.TablePDR).MatchFields[2].Match = &p4configv1.MatchField_OtherMatchType{OtherMatchType: "selector"}
		}, `table LinxIngress.pdr (0x02000001): match field 3 (src_addr): match type "selector" not supported`},
		{"typed match field", func(p *p4configv1.P4Info) {
			table(p, p4info.TablePDR).MatchFields[0].TypeName = &p4configv1.P4NamedType{Name: "port_t"}
		}, "table LinxIngress.pdr (0x02000001): match field 1 (ingress_port): user-defined types (type_name) are not supported"},
		{"duplicate param id", func(p *p4configv1.P4Info) { action(p, p4info.ActionSetGRE).Params[3].Id = 2 },
			"action LinxIngress.set_gre (0x01000008): param 2 (key): duplicate param id 2"},
		{"negative param bitwidth", func(p *p4configv1.P4Info) { action(p, p4info.ActionForward).Params[0].Bitwidth = -1 },
			"action LinxIngress.forward (0x01000004): param 1 (port): bitwidth -1, must be positive"},
		{"const default not an action of the table", func(p *p4configv1.P4Info) {
			table(p, p4info.TableFAR).ConstDefaultActionId = p4info.IDActionSetGRE
		}, "table LinxIngress.far (0x02000002): const default action 0x01000008 is not one of its actions"},
		{"const default TABLE_ONLY", func(p *p4configv1.P4Info) {
			table(p, p4info.TableFAR).ConstDefaultActionId = p4info.IDActionPunt
		}, "table LinxIngress.far (0x02000002): const default action LinxIngress.punt has scope TABLE_ONLY"},
		{"implementation not a profile", func(p *p4configv1.P4Info) {
			table(p, p4info.TableLBR).ImplementationId = 0x11000009
		}, "table LinxIngress.lbr (0x02000003): implementation_id 0x11000009 is not an action profile"},
		{"profile does not list its table", func(p *p4configv1.P4Info) { p.ActionProfiles[0].TableIds = nil },
			"table LinxIngress.lbr (0x02000003): implementation LinxIngress.lbr_selector does not list the table"},
		{"profile lists a table it does not implement", func(p *p4configv1.P4Info) {
			p.ActionProfiles[0].TableIds = append(p.ActionProfiles[0].TableIds, p4info.IDTableFAR)
		}, "action profile LinxIngress.lbr_selector (0x11000001): lists table LinxIngress.far (0x02000002), whose implementation is not this profile"},
		{"profile lists a missing table", func(p *p4configv1.P4Info) {
			p.ActionProfiles[0].TableIds = append(p.ActionProfiles[0].TableIds, 0x02000099)
		}, "action profile LinxIngress.lbr_selector (0x11000001): table 0x02000099 does not exist"},
		{"max_group_size above size", func(p *p4configv1.P4Info) { p.ActionProfiles[0].Size = 8 },
			"action profile LinxIngress.lbr_selector (0x11000001): max_group_size 16 exceeds size 8"},
		{"max_group_size without selector", func(p *p4configv1.P4Info) { p.ActionProfiles[0].WithSelector = false },
			"action profile LinxIngress.lbr_selector (0x11000001): max_group_size 16 without a selector"},
		{"direct counter of a missing table", func(p *p4configv1.P4Info) { p.DirectCounters[0].DirectTableId = 0x02000099 },
			"direct counter LinxIngress.pdr_counter (0x13000001): direct_table_id 0x02000099 is not a table"},
		{"direct counter not listed by its table", func(p *p4configv1.P4Info) {
			table(p, p4info.TablePDR).DirectResourceIds = nil
		}, "direct counter LinxIngress.pdr_counter (0x13000001): table LinxIngress.pdr (0x02000001) does not list it in direct_resource_ids"},
		{"direct counter listed by another table", func(p *p4configv1.P4Info) {
			table(p, p4info.TableFAR).DirectResourceIds = []uint32{p4info.IDDirectCounterPDR}
		}, "table LinxIngress.far (0x02000002): direct counter LinxIngress.pdr_counter belongs to table 0x02000001"},
		{"direct resource not a direct counter", func(p *p4configv1.P4Info) {
			table(p, p4info.TableFAR).DirectResourceIds = []uint32{p4info.IDCounterDrop}
		}, "table LinxIngress.far (0x02000002): direct resource 0x12000005 is not a direct counter"},
		{"counter unit unspecified", func(p *p4configv1.P4Info) { p.Counters[4].Spec = nil },
			"counter LinxIngress.drop_counter (0x12000005): counter unit UNSPECIFIED not supported"},
		{"counter without cells", func(p *p4configv1.P4Info) { p.Counters[4].Size = 0 },
			"counter LinxIngress.drop_counter (0x12000005): size 0, must be positive"},
		{"negative table size", func(p *p4configv1.P4Info) { table(p, p4info.TableFAR).Size = -3 },
			"table LinxIngress.far (0x02000002): negative size -3"},
		{"unknown controller header", func(p *p4configv1.P4Info) { p.ControllerPacketMetadata[1].Preamble.Name = "packet_foo" },
			`controller header packet_foo (0x04000002): name must be "packet_in" or "packet_out"`},
		{"controller header prefix", func(p *p4configv1.P4Info) { p.ControllerPacketMetadata[0].Preamble.Id = 0x01000077 },
			"controller header packet_in (0x01000077): id 0x01000077 has prefix 0x01 (ACTION), want 0x04 (CONTROLLER_HEADER)"},
		{"duplicate metadata id", func(p *p4configv1.P4Info) {
			h := p.ControllerPacketMetadata[0]
			h.Metadata = append(h.Metadata, &p4configv1.ControllerPacketMetadata_Metadata{Id: 1, Name: "pad", Bitwidth: 8})
		}, "controller header packet_in (0x04000001): metadata 1 (pad): duplicate metadata id 1"},
		{"meter without unit", func(p *p4configv1.P4Info) {
			p.Meters = append(p.Meters, &p4configv1.Meter{Preamble: &p4configv1.Preamble{Id: 0x14000009, Name: "m"}, Size: 1})
		}, "meter m (0x14000009): meter unit UNSPECIFIED not supported"},
		{"meter without cells", func(p *p4configv1.P4Info) {
			p.Meters = append(p.Meters, &p4configv1.Meter{Preamble: &p4configv1.Preamble{Id: 0x14000009, Name: "m"},
				Spec: &p4configv1.MeterSpec{Unit: p4configv1.MeterSpec_BYTES}})
		}, "meter m (0x14000009): size 0, must be positive"},
		{"registers", func(p *p4configv1.P4Info) {
			p.Registers = []*p4configv1.Register{{}}
		}, "registers are not supported (1 found)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := p4info.New(p4info.DefaultSizes)
			c.break_(p)
			x, err := p4info.NewIndex(p)
			if err == nil {
				t.Fatalf("accepted; want error containing %q", c.want)
			}
			if x != nil {
				t.Error("returned an index with the error")
			}
			var ve *p4info.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T, want *ValidationError", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n  %v\nwant it to contain:\n  %s", err, c.want)
			}
		})
	}
	if _, err := p4info.NewIndex(nil); err == nil {
		t.Error("nil P4Info accepted")
	}
}

func TestMustNewIndexPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	p4info.MustNewIndex(&p4configv1.P4Info{Tables: []*p4configv1.Table{{}}})
}

func TestPrefix(t *testing.T) {
	for id, want := range map[uint32]p4configv1.P4Ids_Prefix{
		p4info.IDActionSetFAR:             p4configv1.P4Ids_ACTION,
		p4info.IDTableLBR:                 p4configv1.P4Ids_TABLE,
		p4info.IDPacketOut:                p4configv1.P4Ids_CONTROLLER_HEADER,
		p4info.IDActionProfileLBRSelector: p4configv1.P4Ids_ACTION_PROFILE,
		p4info.IDCounterDrop:              p4configv1.P4Ids_COUNTER,
		p4info.IDDirectCounterPDR:         p4configv1.P4Ids_DIRECT_COUNTER,
	} {
		if got := p4info.Prefix(id); got != want {
			t.Errorf("Prefix(0x%08x) = %v, want %v", id, got, want)
		}
	}
}

func table(p *p4configv1.P4Info, name string) *p4configv1.Table {
	for _, t := range p.Tables {
		if t.GetPreamble().GetName() == name {
			return t
		}
	}
	panic("no table " + name)
}

func action(p *p4configv1.P4Info, name string) *p4configv1.Action {
	for _, a := range p.Actions {
		if a.GetPreamble().GetName() == name {
			return a
		}
	}
	panic("no action " + name)
}

func TestMeters(t *testing.T) {
	x := p4info.MustNewIndex(p4info.New(p4info.Sizes{Meters: 100}))
	for _, c := range []struct {
		name string
		id   uint32
		unit p4configv1.MeterSpec_Unit
	}{
		{p4info.MeterFAR, p4info.IDMeterFAR, p4configv1.MeterSpec_BYTES},
		{p4info.MeterFARPacket, p4info.IDMeterFARPacket, p4configv1.MeterSpec_PACKETS},
	} {
		byName, ok1 := x.MeterByName(c.name)
		byID, ok2 := x.Meter(c.id)
		if !ok1 || !ok2 || byName != byID || byID.Unit() != c.unit || byID.Size() != 100 {
			t.Errorf("meter %s: lookups %v %v, unit %v, size %d", c.name, ok1, ok2, byID.Unit(), byID.Size())
		}
	}
	if got := len(x.Meters()); got != 2 {
		t.Errorf("%d meters, want 2", got)
	}
	if tab, _ := x.Table(p4info.IDTableFARQoS); tab.Size() != 100 {
		t.Errorf("far_qos size %d, want the meters' 100", tab.Size())
	}
}
