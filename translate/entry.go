package translate

import (
	"bytes"
	"fmt"
	"net/netip"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// Key identifies a table entry: its table and either the default entry or the
// match and priority. Keys are comparable, and two keys are equal exactly when they
// name the same entry (decoding normalizes every encoding of a match), so the
// server can index stored entries by Key. Only the fields of Table's kind are set;
// the others stay zero.
type Key struct {
	Table    uint32 // table ID (p4info.IDTable*)
	Default  bool   // the table's default entry (no match, priority 0)
	Priority int32  // pdr: > 0 (higher wins); 0 in the other tables

	Match  dataplane.PDRMatch   // pdr; omitted fields are wildcards (zero mask, AnyPort)
	FAR    dataplane.FARID      // far, far_qos: far_id
	LBR    dataplane.LBRID      // lbr: lbr_id
	Tunnel dataplane.TunnelID   // tunnels: tunnel_id
	Term   dataplane.TunnelTerm // tunnel_term: src_addr (Remote), dst_addr (Local), gre_key (Key)
	// EthType is non_ip's eth_type.
	EthType uint16
}

// Table sla_class is keyed by the LBR whose traffic the class is: Key.LBR.

// Entry is a decoded table entry.
type Entry struct {
	Key
	// Action is nil when the entry carries none: a MODIFY that keeps the action, a
	// MODIFY resetting a default entry, a DELETE. Otherwise it is SetFAR (pdr),
	// FARAction (far; pdr's default: pass or drop; non_ip: pass, drop or punt),
	// CopyToController (non_ip), ProfileMember, ProfileGroup or ActionSet (lbr),
	// SetGRE (tunnels), Decap (tunnel_term), SetSLA or NoSLA (sla_class).
	Action Action
	// ControllerMetadata and Metadata are opaque to the device and returned on
	// reads as written. Metadata is nil when empty.
	ControllerMetadata uint64
	Metadata           []byte
	// Counter is counter_data as written (pdr and non_ip have a direct counter),
	// nil when unset. It is data-plane volatile, not part of the canonical entry: reads fill
	// counter_data from the data path when asked.
	Counter *dataplane.Counter
}

// PDR returns the data-path rule of a pdr entry that selects a FAR; ok is false
// for other entries (other tables, the default entry, no action).
func (e Entry) PDR() (p dataplane.PDR, ok bool) {
	a, isSet := e.Action.(SetFAR)
	if e.Table != p4info.IDTablePDR || e.Default || !isSet || e.Priority <= 0 {
		return dataplane.PDR{}, false
	}
	return dataplane.PDR{Match: e.Match, Priority: uint32(e.Priority), FAR: a.FAR}, true
}

// NonIPRule returns the data-path rule of a non_ip entry; ok is false for other
// entries (other tables, the default entry, no action).
func (e Entry) NonIPRule() (ethType uint16, a dataplane.NonIPAction, ok bool) {
	if e.Table != p4info.IDTableNonIP || e.Default {
		return 0, 0, false
	}
	switch act := e.Action.(type) {
	case CopyToController:
		return e.EthType, dataplane.NonIPCopyToController, true
	case FARAction:
		switch act.FAR.Action {
		case dataplane.ActPass:
			return e.EthType, dataplane.NonIPPass, true
		case dataplane.ActDrop:
			return e.EthType, dataplane.NonIPDrop, true
		case dataplane.ActPunt:
			return e.EthType, dataplane.NonIPPunt, true
		}
	}
	return 0, 0, false
}

// Equal reports whether e and o are the same entry with the same contents.
// Counter is compared by value.
func (e Entry) Equal(o Entry) bool {
	if e.Key != o.Key || e.ControllerMetadata != o.ControllerMetadata || !bytes.Equal(e.Metadata, o.Metadata) {
		return false
	}
	if (e.Counter == nil) != (o.Counter == nil) || (e.Counter != nil && *e.Counter != *o.Counter) {
		return false
	}
	return actionsEqual(e.Action, o.Action)
}

func actionsEqual(a, b Action) bool {
	as, aok := a.(ActionSet)
	bs, bok := b.(ActionSet)
	if aok || bok {
		if aok != bok || len(as.Members) != len(bs.Members) {
			return false
		}
		for i := range as.Members {
			if as.Members[i] != bs.Members[i] {
				return false
			}
		}
		return true
	}
	return a == b
}

func (t *Translator) table(id uint32) (*p4info.Table, error) {
	tab, ok := t.idx.Table(id)
	if !ok {
		return nil, Errorf(codes.NotFound, "unknown table id 0x%08x", id)
	}
	return tab, nil
}

// DecodeKey decodes the key of a table entry: table_id, is_default_action, match
// and priority, checked as the specification's TableEntry and Match Format
// sections require. Every other field is ignored. The server uses it for reads
// that name an entry (for wildcard reads — table_id 0, no match — it filters
// itself).
func (t *Translator) DecodeKey(te *p4v1.TableEntry) (Key, error) {
	k, _, err := t.decodeKey(te)
	return k, err
}

func (t *Translator) decodeKey(te *p4v1.TableEntry) (Key, *p4info.Table, error) {
	if te == nil {
		return Key{}, nil, invalidf("no table entry")
	}
	tab, err := t.table(te.GetTableId())
	if err != nil {
		return Key{}, nil, err
	}
	k := Key{Table: tab.ID()}
	if te.GetIsDefaultAction() {
		switch {
		case len(te.GetMatch()) > 0:
			return Key{}, nil, invalidf("table %s: the default entry has no match", tab.Name())
		case te.GetPriority() != 0:
			return Key{}, nil, invalidf("table %s: the default entry has priority 0, got %d", tab.Name(), te.GetPriority())
		}
		k.Default = true
		return k, tab, nil
	}
	if tab.NumMatchFields() == 0 {
		return Key{}, nil, invalidf("table %s has no match key: only its default entry can be written", tab.Name())
	}
	switch p := te.GetPriority(); {
	case tab.NeedsPriority() && p <= 0:
		// The specification asks for a non-zero priority; linx (like the data path,
		// whose priorities are unsigned, and ONOS, which sends 1..2^24) also
		// rejects negative ones.
		return Key{}, nil, invalidf("table %s has ternary/range fields: priority must be positive, got %d", tab.Name(), p)
	case !tab.NeedsPriority() && p != 0:
		return Key{}, nil, invalidf("table %s has only exact fields: priority must be 0, got %d", tab.Name(), p)
	}
	k.Priority = te.GetPriority()
	var buf [12]matchField // room for every field of pdr
	mk, err := decodeMatch(tab, te.GetMatch(), buf[:0])
	if err != nil {
		return Key{}, nil, prefixed("table "+tab.Name(), err)
	}
	switch tab.ID() {
	case p4info.IDTablePDR:
		if k.Match, err = pdrMatch(mk); err != nil {
			return Key{}, nil, prefixed("table "+tab.Name(), err)
		}
	case p4info.IDTableFAR:
		k.FAR = dataplane.FARID(mk.value(p4info.IDFieldFARFarID))
	case p4info.IDTableLBR:
		k.LBR = dataplane.LBRID(mk.value(p4info.IDFieldLBRLbrID))
	case p4info.IDTableTunnels:
		k.Tunnel = dataplane.TunnelID(mk.value(p4info.IDFieldTunnelsTunnelID))
	case p4info.IDTableTunnelTerm:
		k.Term = dataplane.TunnelTerm{
			Remote: dataplane.AddrFrom4(uint32(mk.value(p4info.IDFieldTunnelTermSrcAddr))),
			Local:  dataplane.AddrFrom4(uint32(mk.value(p4info.IDFieldTunnelTermDstAddr))),
			Key:    uint32(mk.value(p4info.IDFieldTunnelTermGREKey)),
		}
	case p4info.IDTableTunnelTerm6:
		k.Term = dataplane.TunnelTerm{
			Remote: netip.AddrFrom16(mk.wide(p4info.IDFieldTunnelTerm6SrcAddr)),
			Local:  netip.AddrFrom16(mk.wide(p4info.IDFieldTunnelTerm6DstAddr)),
			Key:    uint32(mk.value(p4info.IDFieldTunnelTerm6GREKey)),
		}
	case p4info.IDTableNonIP:
		k.EthType = uint16(mk.value(p4info.IDFieldNonIPEthType))
	case p4info.IDTableFARQoS:
		// The policy acts on the FAR's meter cells: its id must index them.
		v := mk.value(p4info.IDFieldFARQoSFarID)
		if int64(v) >= tab.Size() {
			return Key{}, nil, Errorf(codes.OutOfRange, "table %s: far_id %d out of range 0..%d (the meters' size)", tab.Name(), v, tab.Size()-1)
		}
		k.FAR = dataplane.FARID(v)
	case p4info.IDTableSLAClass:
		k.LBR = dataplane.LBRID(mk.value(p4info.IDFieldSLAClassLbrID))
	default:
		return Key{}, nil, Errorf(codes.Unimplemented, "table %s has no data-path translation", tab.Name())
	}
	return k, tab, nil
}

func pdrMatch(mk matchKey) (dataplane.PDRMatch, error) {
	m := dataplane.MatchAll()
	if v, ok := mk.get(p4info.IDFieldPDRIPVersion); ok {
		if v.Mask != 0xf || (v.Value != 4 && v.Value != 6) {
			return m, invalidf("match field %d (%s): ternary %#x/%#x: the IP version is 4 or 6 with mask 0xf (omit the field for both)",
				p4info.IDFieldPDRIPVersion, p4info.FieldPDRIPVersion, v.Value, v.Mask)
		}
		m.Family = uint8(v.Value)
	}
	if v, ok := mk.get(p4info.IDFieldPDRSrcAddr6); ok {
		m.Src6 = dataplane.Addr6{Value: v.WideValue, Mask: v.WideMask}
	}
	if v, ok := mk.get(p4info.IDFieldPDRDstAddr6); ok {
		m.Dst6 = dataplane.Addr6{Value: v.WideValue, Mask: v.WideMask}
	}
	if v, ok := mk.get(p4info.IDFieldPDRIngressPort); ok {
		m.InPort = dataplane.Ternary[uint16]{Value: uint16(v.Value), Mask: uint16(v.Mask)}
	}
	if v, ok := mk.get(p4info.IDFieldPDRDirection); ok {
		m.Direction = dataplane.Ternary[uint8]{Value: uint8(v.Value), Mask: uint8(v.Mask)}
	}
	if v, ok := mk.get(p4info.IDFieldPDRSrcAddr); ok {
		m.Src = dataplane.Ternary[uint32]{Value: uint32(v.Value), Mask: uint32(v.Mask)}
	}
	if v, ok := mk.get(p4info.IDFieldPDRDstAddr); ok {
		m.Dst = dataplane.Ternary[uint32]{Value: uint32(v.Value), Mask: uint32(v.Mask)}
	}
	if v, ok := mk.get(p4info.IDFieldPDRIPProto); ok {
		m.Proto = dataplane.Ternary[uint8]{Value: uint8(v.Value), Mask: uint8(v.Mask)}
	}
	if v, ok := mk.get(p4info.IDFieldPDRL4Sport); ok {
		m.SrcPort = dataplane.PortRange{Lo: uint16(v.Low), Hi: uint16(v.High)}
	}
	if v, ok := mk.get(p4info.IDFieldPDRL4Dport); ok {
		m.DstPort = dataplane.PortRange{Lo: uint16(v.Low), Hi: uint16(v.High)}
	}
	if v, ok := mk.get(p4info.IDFieldPDRDSCP); ok {
		m.DSCP = dataplane.Ternary[uint8]{Value: uint8(v.Value), Mask: uint8(v.Mask)}
	}
	return m, nil
}

func ternary[T ~uint8 | ~uint16 | ~uint32](t dataplane.Ternary[T]) fieldValue {
	return fieldValue{Value: uint64(t.Value), Mask: uint64(t.Mask)}
}

// ipVersion is the ip_version field of a family: don't care for both.
func ipVersion(family uint8) fieldValue {
	if family == dataplane.FamilyAny {
		return fieldValue{}
	}
	return fieldValue{Value: uint64(family), Mask: 0xf}
}

func portRange(r dataplane.PortRange) fieldValue {
	return fieldValue{Low: uint64(r.Lo), High: uint64(r.Hi)}
}

// matchOf returns the match fields of k (all of them: encodeMatch drops the
// don't-care values).
func matchOf(k Key) (matchKey, error) {
	switch k.Table {
	case p4info.IDTablePDR:
		m := k.Match
		return matchKey{
			{p4info.IDFieldPDRIngressPort, ternary(m.InPort)},
			{p4info.IDFieldPDRDirection, ternary(m.Direction)},
			{p4info.IDFieldPDRSrcAddr, ternary(m.Src)},
			{p4info.IDFieldPDRDstAddr, ternary(m.Dst)},
			{p4info.IDFieldPDRIPProto, ternary(m.Proto)},
			{p4info.IDFieldPDRL4Sport, portRange(m.SrcPort)},
			{p4info.IDFieldPDRL4Dport, portRange(m.DstPort)},
			{p4info.IDFieldPDRDSCP, ternary(m.DSCP)},
			{p4info.IDFieldPDRIPVersion, ipVersion(m.Family)},
			{p4info.IDFieldPDRSrcAddr6, fieldValue{WideValue: m.Src6.Value, WideMask: m.Src6.Mask}},
			{p4info.IDFieldPDRDstAddr6, fieldValue{WideValue: m.Dst6.Value, WideMask: m.Dst6.Mask}},
		}, nil
	case p4info.IDTableFAR:
		return matchKey{{p4info.IDFieldFARFarID, fieldValue{Value: uint64(k.FAR)}}}, nil
	case p4info.IDTableLBR:
		return matchKey{{p4info.IDFieldLBRLbrID, fieldValue{Value: uint64(k.LBR)}}}, nil
	case p4info.IDTableTunnels:
		return matchKey{{p4info.IDFieldTunnelsTunnelID, fieldValue{Value: uint64(k.Tunnel)}}}, nil
	case p4info.IDTableTunnelTerm:
		tt := k.Term
		if !tt.Remote.Is4() || !tt.Local.Is4() {
			return nil, Errorf(internal, "tunnel_term addresses %s, %s are not IPv4", tt.Remote, tt.Local)
		}
		return matchKey{
			{p4info.IDFieldTunnelTermSrcAddr, fieldValue{Value: uint64(dataplane.IPv4(tt.Remote))}},
			{p4info.IDFieldTunnelTermDstAddr, fieldValue{Value: uint64(dataplane.IPv4(tt.Local))}},
			{p4info.IDFieldTunnelTermGREKey, fieldValue{Value: uint64(tt.Key)}},
		}, nil
	case p4info.IDTableTunnelTerm6:
		tt := k.Term
		if !tt.Remote.Is6() || !tt.Local.Is6() {
			return nil, Errorf(internal, "tunnel_term6 addresses %s, %s are not IPv6", tt.Remote, tt.Local)
		}
		return matchKey{
			{p4info.IDFieldTunnelTerm6SrcAddr, fieldValue{WideValue: tt.Remote.As16()}},
			{p4info.IDFieldTunnelTerm6DstAddr, fieldValue{WideValue: tt.Local.As16()}},
			{p4info.IDFieldTunnelTerm6GREKey, fieldValue{Value: uint64(tt.Key)}},
		}, nil
	case p4info.IDTableNonIP:
		return matchKey{{p4info.IDFieldNonIPEthType, fieldValue{Value: uint64(k.EthType)}}}, nil
	case p4info.IDTableFARQoS:
		return matchKey{{p4info.IDFieldFARQoSFarID, fieldValue{Value: uint64(k.FAR)}}}, nil
	case p4info.IDTableSLAClass:
		return matchKey{{p4info.IDFieldSLAClassLbrID, fieldValue{Value: uint64(k.LBR)}}}, nil
	}
	return nil, Errorf(internal, "table 0x%08x has no data-path translation", k.Table)
}

// DecodeTableEntry decodes a table entry of a Write update of type op (INSERT,
// MODIFY or DELETE), applying the specification's rules for that update type:
//
//   - DELETE: only the key (table_id, match, priority, is_default_action) and
//     is_const are considered; the returned Entry holds the key only.
//   - INSERT: an action is required.
//   - MODIFY: the action may be left unset (Entry.Action nil: keep the current
//     action; for the default entry: reset it, see InitialDefault).
//   - The default entry can only be modified (INSERT or DELETE of it is
//     INVALID_ARGUMENT), and only in tables without a const default action
//     (PERMISSION_DENIED): in linx, only pdr's default entry, to pass or drop.
//
// Errors are *Error values with the code the specification requires (see the
// package documentation).
func (t *Translator) DecodeTableEntry(te *p4v1.TableEntry, op p4v1.Update_Type) (Entry, error) {
	switch op {
	case p4v1.Update_INSERT, p4v1.Update_MODIFY, p4v1.Update_DELETE:
	default:
		return Entry{}, invalidf("update type %s not valid", op)
	}
	if te.GetIsConst() {
		return Entry{}, invalidf("is_const must be false in writes")
	}
	k, tab, err := t.decodeKey(te)
	if err != nil {
		return Entry{}, err
	}
	if k.Default && op != p4v1.Update_MODIFY {
		return Entry{}, invalidf("table %s: the default entry can only be modified, not %s", tab.Name(), op)
	}
	e := Entry{Key: k}
	if op == p4v1.Update_DELETE {
		return e, nil
	}
	if k.Default {
		if c := tab.ConstDefaultAction(); c != nil {
			return Entry{}, Errorf(codes.PermissionDenied, "table %s: default action %s is const", tab.Name(), c.Name())
		}
	}
	if err := t.decodeContents(tab, te, &e, op == p4v1.Update_INSERT); err != nil {
		return Entry{}, prefixed("table "+tab.Name(), err)
	}
	if err := checkNonIP(e); err != nil {
		return Entry{}, prefixed("table "+tab.Name(), err)
	}
	return e, nil
}

// checkNonIP refuses non_ip entries that could never match: IPv4 goes to table
// pdr, and the match is on the EtherType after the VLAN tag.
func checkNonIP(e Entry) error {
	if e.Table != p4info.IDTableNonIP || e.Default {
		return nil
	}
	switch e.EthType {
	case dataplane.EtherTypeIPv4:
		return invalidf("eth_type 0x0800 is IPv4, which table %s classifies: it never reaches this table", p4info.TablePDR)
	case dataplane.EtherTypeDot1Q, dataplane.EtherTypeDot1AD:
		return invalidf("eth_type 0x%04x is a VLAN tag: the match is on the EtherType after the tag", e.EthType)
	}
	return nil
}

// decodeContents decodes what is not the key: action, metadata, direct resources.
func (t *Translator) decodeContents(tab *p4info.Table, te *p4v1.TableEntry, e *Entry, needAction bool) error {
	switch {
	case (te.GetMeterConfig() != nil || te.GetMeterCounterData() != nil) && tab.DirectMeter() == nil:
		return invalidf("no direct meter: meter_config and meter_counter_data must be unset")
	case te.GetMeterConfig() != nil || te.GetMeterCounterData() != nil:
		// linx sets direct meters apart from the entry, so that an entry's
		// canonical form (and a MODIFY of its action) never touches them.
		return invalidf("meter_config and meter_counter_data must be unset: configure and read %s with DirectMeterEntry", tab.DirectMeter().Name())
	case te.GetIdleTimeoutNs() != 0 || te.GetTimeSinceLastHit() != nil:
		return invalidf("idle timeout not supported: idle_timeout_ns and time_since_last_hit must be unset")
	}
	if d := te.GetCounterData(); d != nil {
		if tab.DirectCounter() == nil {
			return invalidf("no direct counter: counter_data must be unset")
		}
		c, err := DecodeCounterData(d)
		if err != nil {
			return err
		}
		e.Counter = &c
	}
	if te.GetAction() == nil {
		if needAction {
			return invalidf("an INSERT needs an action")
		}
	} else {
		a, err := t.decodeTableAction(tab, te.GetAction(), e.Default)
		if err != nil {
			return err
		}
		e.Action = a
	}
	e.ControllerMetadata = te.GetControllerMetadata()
	if len(te.GetMetadata()) > 0 {
		e.Metadata = bytes.Clone(te.GetMetadata())
	}
	return nil
}

func (t *Translator) decodeTableAction(tab *p4info.Table, ta *p4v1.TableAction, asDefault bool) (Action, error) {
	prof := tab.ActionProfile()
	if _, direct := ta.GetType().(*p4v1.TableAction_Action); !direct && ta.GetType() != nil {
		switch {
		case asDefault:
			return nil, invalidf("the default entry takes an action, not an action profile reference")
		case prof == nil:
			return nil, invalidf("direct table: entries take an action, not an action profile reference")
		}
	}
	switch a := ta.GetType().(type) {
	case *p4v1.TableAction_Action:
		if prof != nil && !asDefault {
			return nil, invalidf("entries of a table implemented by %s take a member, a group or an action set, not an action", prof.Name())
		}
		return t.decodeAction(tab, a.Action, asDefault)
	case *p4v1.TableAction_ActionProfileMemberId:
		if a.ActionProfileMemberId == 0 {
			return nil, invalidf("member id 0 is invalid")
		}
		return ProfileMember{ID: a.ActionProfileMemberId}, nil
	case *p4v1.TableAction_ActionProfileGroupId:
		if !prof.WithSelector() {
			return nil, invalidf("%s has no selector: entries cannot point to groups", prof.Name())
		}
		if a.ActionProfileGroupId == 0 {
			return nil, invalidf("group id 0 is invalid")
		}
		return ProfileGroup{ID: a.ActionProfileGroupId}, nil
	case *p4v1.TableAction_ActionProfileActionSet:
		if !prof.WithSelector() {
			return nil, invalidf("%s has no selector: entries cannot take an action set", prof.Name())
		}
		return t.decodeActionSet(tab, prof, a.ActionProfileActionSet)
	}
	return nil, invalidf("table action has nothing set")
}

// decodeActionSet decodes a one-shot action set of table lbr: encap actions with
// positive weights, at most max_group_size of them.
func (t *Translator) decodeActionSet(tab *p4info.Table, prof *p4info.ActionProfile, set *p4v1.ActionProfileActionSet) (Action, error) {
	acts := set.GetActionProfileActions()
	if n := prof.MaxGroupSize(); n > 0 && len(acts) > n {
		return nil, invalidf("action set has %d actions, %s allows at most %d", len(acts), prof.Name(), n)
	}
	out := ActionSet{Members: make([]dataplane.LBRMember, 0, len(acts))}
	for i, pa := range acts {
		ctx := fmt.Sprintf("action set entry %d", i)
		if pa == nil {
			return nil, invalidf("%s is empty", ctx)
		}
		if pa.GetWeight() <= 0 {
			return nil, invalidf("%s: weight %d, must be positive", ctx, pa.GetWeight())
		}
		watch, err := decodeWatch(pa)
		if err != nil {
			return nil, prefixed(ctx, err)
		}
		a, err := t.decodeAction(tab, pa.GetAction(), false)
		if err != nil {
			return nil, prefixed(ctx, err)
		}
		tunnel, err := encapTunnel(a)
		if err != nil {
			return nil, prefixed(ctx, err)
		}
		out.Members = append(out.Members, dataplane.LBRMember{Tunnel: tunnel, Weight: uint32(pa.GetWeight()), Watch: watch})
	}
	return out, nil
}

// encapTunnel returns the tunnel of an encap action, the only action lbr_selector
// members can hold.
func encapTunnel(a Action) (dataplane.TunnelID, error) {
	if f, ok := a.(FARAction); ok && f.FAR.Action == dataplane.ActEncap {
		return f.FAR.Tunnel, nil
	}
	return 0, Errorf(codes.Unimplemented, "only encap actions can be load-balanced")
}

// watcher is a group member or a one-shot action.
type watcher interface {
	GetWatch() int32
	GetWatchPort() []byte
}

// decodeWatch returns the watch port of a group member or one-shot action: 0
// for none (watch_port empty), else a port number of p4info.BitsPort bits. The
// port must exist on the device (a physical port or an overlay's logical port:
// dataplane.TunnelPort); the server checks that, since it knows the ports
// (INVALID_ARGUMENT, as the specification's "ActionProfileGroup" section
// requires). A value that cannot be a port number (0, or wider than the port
// bit width) is INVALID_ARGUMENT here; the deprecated int32 field watch is
// UNIMPLEMENTED (P4Runtime 1.4 replaced it by watch_port).
func decodeWatch(w watcher) (uint32, error) {
	if w.GetWatch() != 0 {
		return 0, Errorf(codes.Unimplemented, "the deprecated int32 field watch is not supported: use watch_port")
	}
	b := w.GetWatchPort()
	if len(b) == 0 {
		return 0, nil
	}
	v, err := DecodeUint(b, p4info.BitsPort)
	if err != nil {
		return 0, invalidf("watch_port 0x%x is not a port number of %d bits", b, p4info.BitsPort)
	}
	if v == 0 {
		return 0, invalidf("watch_port 0 names no port (an empty watch_port means none)")
	}
	return uint32(v), nil
}

// encodeWatch returns the canonical watch_port of port (nil for 0: none).
func encodeWatch(port uint32) []byte {
	if port == 0 {
		return nil
	}
	return EncodeUint(uint64(port))
}

// EncodeKey returns the canonical key of an entry: table_id, match (sorted by field
// ID, don't-care fields omitted, canonical bytestrings), priority and
// is_default_action.
func (t *Translator) EncodeKey(k Key) (*p4v1.TableEntry, error) {
	tab, ok := t.idx.Table(k.Table)
	if !ok {
		return nil, Errorf(internal, "unknown table id 0x%08x", k.Table)
	}
	if k.Default {
		if k != (Key{Table: k.Table, Default: true}) {
			return nil, Errorf(internal, "table %s: default entry key with a match or priority", tab.Name())
		}
		return &p4v1.TableEntry{TableId: k.Table, IsDefaultAction: true}, nil
	}
	if tab.NeedsPriority() != (k.Priority > 0) || k.Priority < 0 {
		return nil, Errorf(internal, "table %s: priority %d invalid", tab.Name(), k.Priority)
	}
	mk, err := matchOf(k)
	if err != nil {
		return nil, err
	}
	ms, err := encodeMatch(tab, mk)
	if err != nil {
		return nil, prefixed("table "+tab.Name(), err)
	}
	return &p4v1.TableEntry{TableId: k.Table, Match: ms, Priority: k.Priority}, nil
}

// EncodeTableEntry returns the canonical table entry of e, as a Read returns it:
// its key (see EncodeKey), action (parameters sorted by ID, canonical
// bytestrings), controller_metadata and metadata. Counter is not encoded (reads
// set counter_data from the data path). An Entry that DecodeTableEntry could not
// have produced — a value out of its field's range, an action the table cannot
// use — is an INTERNAL error.
func (t *Translator) EncodeTableEntry(e Entry) (*p4v1.TableEntry, error) {
	te, err := t.EncodeKey(e.Key)
	if err != nil {
		return nil, err
	}
	tab, _ := t.idx.Table(e.Table)
	if e.Action != nil {
		ta, err := t.encodeTableAction(tab, e.Action, e.Default)
		if err != nil {
			return nil, prefixed("table "+tab.Name(), err)
		}
		te.Action = ta
	}
	te.ControllerMetadata = e.ControllerMetadata
	if len(e.Metadata) > 0 {
		te.Metadata = bytes.Clone(e.Metadata)
	}
	return te, nil
}

func (t *Translator) encodeTableAction(tab *p4info.Table, a Action, asDefault bool) (*p4v1.TableAction, error) {
	prof := tab.ActionProfile()
	switch a := a.(type) {
	case ProfileMember:
		if prof == nil || asDefault || a.ID == 0 {
			return nil, Errorf(internal, "member reference %d not valid here", a.ID)
		}
		return &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileMemberId{ActionProfileMemberId: a.ID}}, nil
	case ProfileGroup:
		if prof == nil || !prof.WithSelector() || asDefault || a.ID == 0 {
			return nil, Errorf(internal, "group reference %d not valid here", a.ID)
		}
		return &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: a.ID}}, nil
	case ActionSet:
		if prof == nil || !prof.WithSelector() || asDefault {
			return nil, Errorf(internal, "action set not valid here")
		}
		if n := prof.MaxGroupSize(); n > 0 && len(a.Members) > n {
			return nil, Errorf(internal, "action set of %d actions exceeds %d", len(a.Members), n)
		}
		set := &p4v1.ActionProfileActionSet{}
		for _, m := range a.Members {
			if m.Weight == 0 || m.Weight > 1<<31-1 {
				return nil, Errorf(internal, "action set weight %d invalid", m.Weight)
			}
			act, err := t.encodeAction(tab, FARAction{FAR: dataplane.FAR{Action: dataplane.ActEncap, Tunnel: m.Tunnel}}, false)
			if err != nil {
				return nil, err
			}
			if m.Watch >= 1<<p4info.BitsPort {
				return nil, Errorf(internal, "action set watch port %d invalid", m.Watch)
			}
			pa := &p4v1.ActionProfileAction{Action: act, Weight: int32(m.Weight)}
			if w := encodeWatch(m.Watch); w != nil {
				pa.WatchKind = &p4v1.ActionProfileAction_WatchPort{WatchPort: w}
			}
			set.ActionProfileActions = append(set.ActionProfileActions, pa)
		}
		return &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileActionSet{ActionProfileActionSet: set}}, nil
	}
	if prof != nil && !asDefault {
		return nil, Errorf(internal, "entries of table %s take a member, a group or an action set", tab.Name())
	}
	act, err := t.encodeAction(tab, a, asDefault)
	if err != nil {
		return nil, err
	}
	return &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: act}}, nil
}

// Canonical returns the canonical form of a table entry as written by an INSERT
// (or, for a default entry, a MODIFY): what the server stores and a Read returns.
// It validates like DecodeTableEntry except that it accepts the default entry of
// tables with a const default action (reads return those too). counter_data is
// dropped. Canonical(Canonical(x)) equals Canonical(x), and a canonical x is
// returned unchanged.
func (t *Translator) Canonical(te *p4v1.TableEntry) (*p4v1.TableEntry, error) {
	e, err := t.decodeStored(te)
	if err != nil {
		return nil, err
	}
	return t.EncodeTableEntry(e)
}

// decodeStored decodes an entry as a server stores it: like an INSERT, or a MODIFY
// for default entries, const or not.
func (t *Translator) decodeStored(te *p4v1.TableEntry) (Entry, error) {
	if te.GetIsConst() {
		return Entry{}, invalidf("is_const must be false")
	}
	k, tab, err := t.decodeKey(te)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Key: k}
	if err := t.decodeContents(tab, te, &e, !k.Default); err != nil {
		return Entry{}, prefixed("table "+tab.Name(), err)
	}
	if err := checkNonIP(e); err != nil {
		return Entry{}, prefixed("table "+tab.Name(), err)
	}
	e.Counter = nil
	return e, nil
}

// InitialDefault returns the default entry a table starts with, which a MODIFY of
// the default entry without an action restores: pass for pdr (the data path's
// initial default, dataplane.Dataplane.SetPDRDefault), the const default action
// (drop) for the other tables.
func (t *Translator) InitialDefault(table uint32) (Entry, error) {
	tab, err := t.table(table)
	if err != nil {
		return Entry{}, err
	}
	e := Entry{Key: Key{Table: tab.ID(), Default: true}}
	switch {
	case tab.ID() == p4info.IDTablePDR:
		e.Action = FARAction{FAR: dataplane.FAR{Action: dataplane.ActPass}}
	case tab.ConstDefaultAction() != nil:
		a, err := toAction(tab.ConstDefaultAction(), nil, nil)
		if err != nil {
			return Entry{}, err
		}
		e.Action = a
	default:
		return Entry{}, Errorf(codes.Unimplemented, "table %s has no known initial default action", tab.Name())
	}
	return e, nil
}
