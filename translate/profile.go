package translate

import (
	"fmt"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// Member is a decoded member of action selector lbr_selector: an encap action.
type Member struct {
	ID     uint32             // member_id, non-zero
	Tunnel dataplane.TunnelID // encap(tunnel_id); zero for a DELETE
}

// GroupMember is a member of a group with its weight and watch port.
type GroupMember struct {
	Member uint32 // member_id, non-zero
	Weight uint32 // 1..2^31-1
	// Watch is the member's watch_port: 0 none, else a port number (see
	// decodeWatch); the member leaves the group in the data path while the port
	// is down.
	Watch uint32
}

// Group is a decoded group of lbr_selector.
type Group struct {
	ID      uint32        // group_id, non-zero
	Members []GroupMember // in the order written; distinct member IDs; may be empty
	// MaxSize is max_size as written: 0 (not given; max_group_size applies) or
	// 1..max_group_size. The specification forbids changing it in a MODIFY; the
	// server compares it with the stored group's.
	MaxSize int32
}

func (t *Translator) profile(id uint32) (*p4info.ActionProfile, error) {
	p, ok := t.idx.ActionProfile(id)
	if !ok {
		return nil, Errorf(codes.NotFound, "unknown action profile id 0x%08x", id)
	}
	return p, nil
}

func checkUpdate(op p4v1.Update_Type) error {
	switch op {
	case p4v1.Update_INSERT, p4v1.Update_MODIFY, p4v1.Update_DELETE:
		return nil
	}
	return invalidf("update type %s not valid", op)
}

// DecodeMember decodes an ActionProfileMember of a Write update of type op. For a
// DELETE only action_profile_id and member_id are considered. INSERT and MODIFY
// need an action usable by the tables the profile implements (in linx:
// encap(tunnel_id) of table lbr; drop is DEFAULT_ONLY there: PERMISSION_DENIED).
func (t *Translator) DecodeMember(m *p4v1.ActionProfileMember, op p4v1.Update_Type) (Member, error) {
	if err := checkUpdate(op); err != nil {
		return Member{}, err
	}
	if m == nil {
		return Member{}, invalidf("no action profile member")
	}
	prof, err := t.profile(m.GetActionProfileId())
	if err != nil {
		return Member{}, err
	}
	if m.GetMemberId() == 0 {
		return Member{}, invalidf("%s: member id 0 is invalid", prof.Name())
	}
	out := Member{ID: m.GetMemberId()}
	if op == p4v1.Update_DELETE {
		return out, nil
	}
	ctx := fmt.Sprintf("%s member %d", prof.Name(), out.ID)
	if m.GetAction() == nil {
		return Member{}, invalidf("%s: action not set", ctx)
	}
	a, err := t.decodeProfileAction(prof, m.GetAction())
	if err != nil {
		return Member{}, prefixed(ctx, err)
	}
	if out.Tunnel, err = encapTunnel(a); err != nil {
		return Member{}, prefixed(ctx, err)
	}
	return out, nil
}

// decodeProfileAction decodes a member's action: it must be an action of the
// tables the profile implements, usable in entries.
func (t *Translator) decodeProfileAction(prof *p4info.ActionProfile, a *p4v1.Action) (Action, error) {
	tabs := prof.Tables()
	if len(tabs) == 0 {
		return nil, Errorf(codes.Unimplemented, "%s implements no table", prof.Name())
	}
	// The specification requires the tables sharing a profile to have the same
	// actions; linx's profile implements one table.
	return t.decodeAction(tabs[0], a, false)
}

// EncodeMember returns the canonical ActionProfileMember of m.
func (t *Translator) EncodeMember(m Member) (*p4v1.ActionProfileMember, error) {
	if t.selector == nil || m.ID == 0 {
		return nil, Errorf(internal, "member %d not valid", m.ID)
	}
	tabs := t.selector.Tables()
	act, err := t.encodeAction(tabs[0], FARAction{FAR: dataplane.FAR{Action: dataplane.ActEncap, Tunnel: m.Tunnel}}, false)
	if err != nil {
		return nil, err
	}
	return &p4v1.ActionProfileMember{ActionProfileId: t.selector.ID(), MemberId: m.ID, Action: act}, nil
}

// DecodeGroup decodes an ActionProfileGroup of a Write update of type op. For a
// DELETE only action_profile_id and group_id are considered. Otherwise: member IDs
// non-zero and distinct, weights positive, watch ports empty or port numbers
// (decodeWatch; whether the port exists is the server's business), max_size in
// 0..max_group_size (INVALID_ARGUMENT), at most max_size members — or
// max_group_size when max_size is 0 — (RESOURCE_EXHAUSTED). Whether the members
// exist is the server's business (NOT_FOUND).
func (t *Translator) DecodeGroup(g *p4v1.ActionProfileGroup, op p4v1.Update_Type) (Group, error) {
	if err := checkUpdate(op); err != nil {
		return Group{}, err
	}
	if g == nil {
		return Group{}, invalidf("no action profile group")
	}
	prof, err := t.profile(g.GetActionProfileId())
	if err != nil {
		return Group{}, err
	}
	if !prof.WithSelector() {
		return Group{}, invalidf("%s is not an action selector: it has no groups", prof.Name())
	}
	if g.GetGroupId() == 0 {
		return Group{}, invalidf("%s: group id 0 is invalid", prof.Name())
	}
	out := Group{ID: g.GetGroupId()}
	if op == p4v1.Update_DELETE {
		return out, nil
	}
	ctx := fmt.Sprintf("%s group %d", prof.Name(), out.ID)
	limit := prof.MaxGroupSize()
	switch ms := g.GetMaxSize(); {
	case ms < 0:
		return Group{}, invalidf("%s: max_size %d is negative", ctx, ms)
	case limit > 0 && int(ms) > limit:
		return Group{}, invalidf("%s: max_size %d exceeds max_group_size %d", ctx, ms, limit)
	case ms > 0:
		limit = int(ms)
	}
	out.MaxSize = g.GetMaxSize()
	if limit > 0 && len(g.GetMembers()) > limit {
		return Group{}, Errorf(codes.ResourceExhausted, "%s: %d members, at most %d allowed", ctx, len(g.GetMembers()), limit)
	}
	seen := make(map[uint32]bool, len(g.GetMembers()))
	for i, m := range g.GetMembers() {
		switch {
		case m == nil:
			return Group{}, invalidf("%s: member %d is empty", ctx, i)
		case m.GetMemberId() == 0:
			return Group{}, invalidf("%s: member id 0 is invalid", ctx)
		case seen[m.GetMemberId()]:
			return Group{}, invalidf("%s: member %d listed twice (use the weight to repeat a member)", ctx, m.GetMemberId())
		case m.GetWeight() <= 0:
			return Group{}, invalidf("%s: member %d has weight %d, must be positive", ctx, m.GetMemberId(), m.GetWeight())
		}
		watch, err := decodeWatch(m)
		if err != nil {
			return Group{}, prefixed(fmt.Sprintf("%s: member %d", ctx, m.GetMemberId()), err)
		}
		seen[m.GetMemberId()] = true
		out.Members = append(out.Members, GroupMember{Member: m.GetMemberId(), Weight: uint32(m.GetWeight()), Watch: watch})
	}
	return out, nil
}

// EncodeGroup returns the canonical ActionProfileGroup of g: members in g's order,
// max_size as decoded.
func (t *Translator) EncodeGroup(g Group) (*p4v1.ActionProfileGroup, error) {
	if t.selector == nil || g.ID == 0 || g.MaxSize < 0 {
		return nil, Errorf(internal, "group %d not valid", g.ID)
	}
	out := &p4v1.ActionProfileGroup{ActionProfileId: t.selector.ID(), GroupId: g.ID, MaxSize: g.MaxSize}
	for _, m := range g.Members {
		if m.Member == 0 || m.Weight == 0 || m.Weight > 1<<31-1 || m.Watch >= 1<<p4info.BitsPort {
			return nil, Errorf(internal, "group %d: member %d weight %d or watch port %d not valid", g.ID, m.Member, m.Weight, m.Watch)
		}
		gm := &p4v1.ActionProfileGroup_Member{MemberId: m.Member, Weight: int32(m.Weight)}
		if w := encodeWatch(m.Watch); w != nil {
			gm.WatchKind = &p4v1.ActionProfileGroup_Member_WatchPort{WatchPort: w}
		}
		out.Members = append(out.Members, gm)
	}
	return out, nil
}
