package translate

import (
	"fmt"
	"net/netip"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// Action is the decoded action of a table entry: one of SetFAR, FARAction, SetGRE,
// Decap, CopyToController (direct actions), ProfileMember, ProfileGroup and ActionSet (references
// into the action selector of table lbr, or a one-shot set of its actions).
type Action interface{ isAction() }

// SetFAR is action set_far(far_id) of table pdr.
type SetFAR struct{ FAR dataplane.FARID }

// FARAction is one of the actions drop(), pass(), forward(port), encap(tunnel_id),
// balance(lbr_id) and punt(): the entries of table far, and default actions (pass
// or drop for pdr, drop for the tables whose default is const). Only the field of
// FAR its Action uses is set.
type FARAction struct{ FAR dataplane.FAR }

// SetGRE is action set_gre(port, src_addr, dst_addr, key) of table tunnels: the
// overlay's Port, Src, Dst and Key (the other Tunnel fields are not P4-visible and
// stay zero).
type SetGRE struct{ Tunnel dataplane.Tunnel }

// Decap is action decap(tunnel_id) of table tunnel_term.
type Decap struct{ Tunnel dataplane.TunnelID }

// CopyToController is action copy_to_controller of table non_ip: a PacketIn, and
// the frame goes on to the kernel. (non_ip's pass, drop and punt are FARActions.)
type CopyToController struct{}

// ProfileMember is an lbr entry pointing to a member of lbr_selector.
type ProfileMember struct{ ID uint32 }

// ProfileGroup is an lbr entry pointing to a group of lbr_selector.
type ProfileGroup struct{ ID uint32 }

// ActionSet is a one-shot lbr entry: encap actions with weights, in the order
// written. Tunnels may repeat (the server merges them for the data path), and the
// set may be empty (the P4Runtime specification allows empty groups).
type ActionSet struct{ Members []dataplane.LBRMember }

// SetSLA is the action of an sla_class entry: the SLA limits of the LBR's
// traffic (0: not checked) and the DSCP of the probes that measure it.
type SetSLA struct {
	DSCP        uint8
	RTT, Jitter time.Duration // whole microseconds
	LossPPM     uint32        // parts per million, 0..1e6
}

// NoSLA is sla_class's const default action: no limits.
type NoSLA struct{}

func (SetSLA) isAction()           {}
func (NoSLA) isAction()            {}
func (SetFAR) isAction()           {}
func (FARAction) isAction()        {}
func (SetGRE) isAction()           {}
func (Decap) isAction()            {}
func (CopyToController) isAction() {}
func (ProfileMember) isAction()    {}
func (ProfileGroup) isAction()     {}
func (ActionSet) isAction()        {}

func describeAction(a *p4info.Action) string {
	return fmt.Sprintf("action %s (0x%08x)", a.Name(), a.ID())
}

// actionParams are decoded parameter values by parameter ID: a handful at most,
// so a slice (on the decoder's stack) rather than a map allocated per entry.
type actionParams []actionParam

type actionParam struct {
	id uint32
	v  uint64
}

// get returns parameter id's value (0 when absent).
func (ps actionParams) get(id uint32) uint64 {
	v, _ := ps.lookup(id)
	return v
}

func (ps actionParams) lookup(id uint32) (uint64, bool) {
	for _, p := range ps {
		if p.id == id {
			return p.v, true
		}
	}
	return 0, false
}

// wideParams are the values of parameters wider than MaxBitwidth (IPv6
// addresses), big-endian, by parameter ID: only set_gre6 has any, so the
// narrow path neither allocates nor searches them.
type wideParams []wideParam

type wideParam struct {
	id uint32
	v  [16]byte
}

// get returns parameter id's value (zeroes when absent).
func (ws wideParams) get(id uint32) [16]byte {
	for _, w := range ws {
		if w.id == id {
			return w.v
		}
	}
	return [16]byte{}
}

func (ws wideParams) has(id uint32) bool {
	for _, w := range ws {
		if w.id == id {
			return true
		}
	}
	return false
}

// lookupAction finds the action a refers to among the actions of tab and checks
// its scope: the default entry may only use actions whose scope is not
// TABLE_ONLY, entries and members only those whose scope is not DEFAULT_ONLY.
func (t *Translator) lookupAction(tab *p4info.Table, a *p4v1.Action, asDefault bool) (*p4info.Action, error) {
	if a == nil {
		return nil, invalidf("action not set")
	}
	ref, ok := tab.ActionRef(a.GetActionId())
	if !ok {
		if act, known := t.idx.Action(a.GetActionId()); known {
			return nil, invalidf("%s is not an action of table %s", describeAction(act), tab.Name())
		}
		return nil, invalidf("unknown action id 0x%08x", a.GetActionId())
	}
	switch {
	case asDefault && !ref.DefaultOK():
		return nil, Errorf(codes.PermissionDenied, "%s has scope %s in table %s: it cannot be the default action",
			describeAction(ref.Action()), ref.Scope(), tab.Name())
	case !asDefault && !ref.TableOK():
		return nil, Errorf(codes.PermissionDenied, "%s has scope %s in table %s: only the default entry may use it",
			describeAction(ref.Action()), ref.Scope(), tab.Name())
	}
	return ref.Action(), nil
}

// decodeParams checks that every parameter of act is given exactly once, with a
// value that fits its bit width, and decodes them: narrow ones into vals, those
// wider than MaxBitwidth into the second result.
func decodeParams(act *p4info.Action, ps []*p4v1.Action_Param, vals actionParams) (actionParams, wideParams, error) {
	var wide wideParams
	for _, p := range ps {
		if p == nil {
			return nil, nil, invalidf("%s: empty parameter", describeAction(act))
		}
		info, ok := act.Param(p.GetParamId())
		if !ok {
			return nil, nil, invalidf("%s: unknown parameter id %d", describeAction(act), p.GetParamId())
		}
		if _, dup := vals.lookup(info.ID()); dup || (wide != nil && wide.has(info.ID())) {
			return nil, nil, invalidf("%s: parameter %d (%s) given twice", describeAction(act), info.ID(), info.Name())
		}
		if info.Bitwidth() > MaxBitwidth {
			w, err := DecodeWide(p.GetValue(), info.Bitwidth())
			if err != nil {
				return nil, nil, prefixed(fmt.Sprintf("%s: parameter %d (%s)", describeAction(act), info.ID(), info.Name()), err)
			}
			wide = append(wide, wideParam{info.ID(), w})
			continue
		}
		v, err := DecodeUint(p.GetValue(), info.Bitwidth())
		if err != nil {
			return nil, nil, prefixed(fmt.Sprintf("%s: parameter %d (%s)", describeAction(act), info.ID(), info.Name()), err)
		}
		vals = append(vals, actionParam{info.ID(), v})
	}
	if len(vals)+len(wide) < act.NumParams() {
		for _, info := range act.Params() {
			if _, ok := vals.lookup(info.ID()); !ok && !wide.has(info.ID()) {
				return nil, nil, invalidf("%s: parameter %d (%s) missing", describeAction(act), info.ID(), info.Name())
			}
		}
	}
	return vals, wide, nil
}

// decodeAction decodes a direct action of table tab.
func (t *Translator) decodeAction(tab *p4info.Table, a *p4v1.Action, asDefault bool) (Action, error) {
	act, err := t.lookupAction(tab, a, asDefault)
	if err != nil {
		return nil, err
	}
	var buf [8]actionParam
	ps, wide, err := decodeParams(act, a.GetParams(), buf[:0])
	if err != nil {
		return nil, err
	}
	return toAction(act, ps, wide)
}

// toAction maps a validated P4 action to its typed form. Parameter widths were
// checked against the P4Info, which New checked against linx's.
func toAction(act *p4info.Action, ps actionParams, wide wideParams) (Action, error) {
	switch act.ID() {
	case p4info.IDActionSetFAR:
		return SetFAR{FAR: dataplane.FARID(ps.get(p4info.IDParamSetFARFarID))}, nil
	case p4info.IDActionDrop:
		return FARAction{FAR: dataplane.FAR{Action: dataplane.ActDrop}}, nil
	case p4info.IDActionPass:
		return FARAction{FAR: dataplane.FAR{Action: dataplane.ActPass}}, nil
	case p4info.IDActionForward:
		return FARAction{FAR: dataplane.FAR{Action: dataplane.ActForward,
			Port: dataplane.PortID(ps.get(p4info.IDParamForwardPort))}}, nil
	case p4info.IDActionEncap:
		return FARAction{FAR: dataplane.FAR{Action: dataplane.ActEncap,
			Tunnel: dataplane.TunnelID(ps.get(p4info.IDParamEncapTunnelID))}}, nil
	case p4info.IDActionBalance:
		return FARAction{FAR: dataplane.FAR{Action: dataplane.ActBalance,
			LBR: dataplane.LBRID(ps.get(p4info.IDParamBalanceLbrID))}}, nil
	case p4info.IDActionPunt:
		return FARAction{FAR: dataplane.FAR{Action: dataplane.ActPunt}}, nil
	case p4info.IDActionSetGRE:
		return SetGRE{Tunnel: dataplane.Tunnel{
			Port: dataplane.PortID(ps.get(p4info.IDParamSetGREPort)),
			Src:  dataplane.AddrFrom4(uint32(ps.get(p4info.IDParamSetGRESrcAddr))),
			Dst:  dataplane.AddrFrom4(uint32(ps.get(p4info.IDParamSetGREDstAddr))),
			Key:  uint32(ps.get(p4info.IDParamSetGREKey)),
		}}, nil
	case p4info.IDActionSetGRE6:
		// Both addresses IPv6 (an IPv4-mapped one included: Tunnel.Validate refuses
		// it by name); set_gre carries IPv4 overlays.
		return SetGRE{Tunnel: dataplane.Tunnel{
			Port: dataplane.PortID(ps.get(p4info.IDParamSetGRE6Port)),
			Src:  netip.AddrFrom16(wide.get(p4info.IDParamSetGRE6SrcAddr)),
			Dst:  netip.AddrFrom16(wide.get(p4info.IDParamSetGRE6DstAddr)),
			Key:  uint32(ps.get(p4info.IDParamSetGRE6Key)),
		}}, nil
	case p4info.IDActionDecap:
		return Decap{Tunnel: dataplane.TunnelID(ps.get(p4info.IDParamDecapTunnelID))}, nil
	case p4info.IDActionCopyToController:
		return CopyToController{}, nil
	case p4info.IDActionSetQoS:
		return setQoS(ps)
	case p4info.IDActionPolice:
		return Police{}, nil
	case p4info.IDActionSetSLA:
		loss := ps.get(p4info.IDParamSetSLALossPpm)
		if loss > 1_000_000 {
			return nil, invalidf("%s: parameter %d (%s) is %d, more than 1000000 (100 %%)",
				describeAction(act), p4info.IDParamSetSLALossPpm, p4info.ParamSetSLALossPpm, loss)
		}
		return SetSLA{
			DSCP:    uint8(ps.get(p4info.IDParamSetSLADSCP)),
			RTT:     time.Duration(ps.get(p4info.IDParamSetSLARttUs)) * time.Microsecond,
			Jitter:  time.Duration(ps.get(p4info.IDParamSetSLAJitterUs)) * time.Microsecond,
			LossPPM: uint32(loss),
		}, nil
	case p4info.IDActionNoSLA:
		return NoSLA{}, nil
	}
	return nil, Errorf(codes.Unimplemented, "%s has no data-path translation", describeAction(act))
}

type param struct {
	id   uint32
	v    uint64
	wide *[16]byte // set for parameters wider than MaxBitwidth, instead of v
}

// fromAction returns the P4 action ID and parameters (sorted by ID) of a direct
// action.
func fromAction(a Action) (uint32, []param, error) {
	switch a := a.(type) {
	case SetFAR:
		return p4info.IDActionSetFAR, []param{{id: p4info.IDParamSetFARFarID, v: uint64(a.FAR)}}, nil
	case FARAction:
		f := a.FAR
		switch f.Action {
		case dataplane.ActDrop:
			return p4info.IDActionDrop, nil, nil
		case dataplane.ActPass:
			return p4info.IDActionPass, nil, nil
		case dataplane.ActForward:
			return p4info.IDActionForward, []param{{id: p4info.IDParamForwardPort, v: uint64(f.Port)}}, nil
		case dataplane.ActEncap:
			return p4info.IDActionEncap, []param{{id: p4info.IDParamEncapTunnelID, v: uint64(f.Tunnel)}}, nil
		case dataplane.ActBalance:
			return p4info.IDActionBalance, []param{{id: p4info.IDParamBalanceLbrID, v: uint64(f.LBR)}}, nil
		case dataplane.ActPunt:
			return p4info.IDActionPunt, nil, nil
		}
		return 0, nil, Errorf(internal, "far action %s has no P4 action", f.Action)
	case SetGRE:
		g := a.Tunnel
		switch {
		case g.Src.Is6() && g.Dst.Is6():
			src, dst := g.Src.As16(), g.Dst.As16()
			return p4info.IDActionSetGRE6, []param{
				{id: p4info.IDParamSetGRE6Port, v: uint64(g.Port)},
				{id: p4info.IDParamSetGRE6SrcAddr, wide: &src},
				{id: p4info.IDParamSetGRE6DstAddr, wide: &dst},
				{id: p4info.IDParamSetGRE6Key, v: uint64(g.Key)},
			}, nil
		case !g.Src.Is4() || !g.Dst.Is4():
			return 0, nil, Errorf(internal, "set_gre addresses %s, %s are not of one family", g.Src, g.Dst)
		}
		return p4info.IDActionSetGRE, []param{
			{id: p4info.IDParamSetGREPort, v: uint64(g.Port)},
			{id: p4info.IDParamSetGRESrcAddr, v: uint64(dataplane.IPv4(g.Src))},
			{id: p4info.IDParamSetGREDstAddr, v: uint64(dataplane.IPv4(g.Dst))},
			{id: p4info.IDParamSetGREKey, v: uint64(g.Key)},
		}, nil
	case Decap:
		return p4info.IDActionDecap, []param{{id: p4info.IDParamDecapTunnelID, v: uint64(a.Tunnel)}}, nil
	case CopyToController:
		return p4info.IDActionCopyToController, nil, nil
	case SetQoS:
		return p4info.IDActionSetQoS, fromSetQoS(a.Policy), nil
	case Police:
		return p4info.IDActionPolice, nil, nil
	case SetSLA:
		if a.RTT < 0 || a.Jitter < 0 || a.RTT%time.Microsecond != 0 || a.Jitter%time.Microsecond != 0 || a.LossPPM > 1_000_000 {
			return 0, nil, Errorf(internal, "set_sla %+v not valid", a)
		}
		return p4info.IDActionSetSLA, []param{
			{id: p4info.IDParamSetSLADSCP, v: uint64(a.DSCP)},
			{id: p4info.IDParamSetSLARttUs, v: uint64(a.RTT / time.Microsecond)},
			{id: p4info.IDParamSetSLALossPpm, v: uint64(a.LossPPM)},
			{id: p4info.IDParamSetSLAJitterUs, v: uint64(a.Jitter / time.Microsecond)},
		}, nil
	case NoSLA:
		return p4info.IDActionNoSLA, nil, nil
	case nil:
		return 0, nil, Errorf(internal, "no action")
	}
	return 0, nil, Errorf(internal, "%T is not a direct action", a)
}

// encodeAction returns the canonical P4 action of a for table tab, checking that
// the table may use it where it is used.
func (t *Translator) encodeAction(tab *p4info.Table, a Action, asDefault bool) (*p4v1.Action, error) {
	id, ps, err := fromAction(a)
	if err != nil {
		return nil, err
	}
	ref, ok := tab.ActionRef(id)
	if !ok || (asDefault && !ref.DefaultOK()) || (!asDefault && !ref.TableOK()) {
		return nil, Errorf(internal, "action 0x%08x cannot be used here in table %s", id, tab.Name())
	}
	out := &p4v1.Action{ActionId: id}
	for _, p := range ps {
		info, ok := ref.Action().Param(p.id)
		if ok && p.wide != nil && info.Bitwidth() > MaxBitwidth {
			out.Params = append(out.Params, &p4v1.Action_Param{ParamId: p.id, Value: EncodeWide(*p.wide)})
			continue
		}
		if !ok || p.wide != nil || info.Bitwidth() > MaxBitwidth || p.v > mask(info.Bitwidth()) {
			return nil, Errorf(internal, "%s: parameter %d value %#x invalid", describeAction(ref.Action()), p.id, p.v)
		}
		out.Params = append(out.Params, &p4v1.Action_Param{ParamId: p.id, Value: EncodeUint(p.v)})
	}
	return out, nil
}
