package main

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/translate"
)

// An lbr entry points to a group of action selector lbr_selector whose members
// are encap(tunnel) actions. linxctl names what it creates for LBR id L:
//
//   - group id L;
//   - member ids L<<8 | i, i = 1..n in the order of members= (at most 255).
//
// So L must be in 1..2^24-1. del lbr removes the group and those members; mod lbr
// reuses, changes, adds and removes members of that range.
const (
	maxLBRForIDs   = 1<<24 - 1
	maxLBRMembers  = 255
	memberIDPerLBR = 8 // bits
)

// memberID is the id linxctl gives to member i (1-based) of LBR lbr.
func memberID(lbr uint32, i int) uint32 { return lbr<<memberIDPerLBR | uint32(i) }

// ownsMember reports whether member id belongs to LBR lbr by linxctl's scheme.
func ownsMember(lbr, id uint32) bool { return id>>memberIDPerLBR == lbr && id&0xff != 0 }

// parseMembers parses TUNNEL[:WEIGHT],... (weight 1 when omitted).
func parseMembers(s string) ([]lbrMember, error) {
	var out []lbrMember
	seen := map[uint32]bool{}
	for part := range strings.SplitSeq(s, ",") {
		ts, ws, weighted := strings.Cut(strings.TrimSpace(part), ":")
		t, err := parseID(ts, "tunnel")
		if err != nil {
			return nil, fmt.Errorf("member %q: %v", part, err)
		}
		w := uint64(1)
		if weighted {
			if w, err = strconv.ParseUint(ws, 10, 31); err != nil || w == 0 {
				return nil, fmt.Errorf("member %q: weight must be in 1..%d", part, 1<<31-1)
			}
		}
		if seen[t] {
			return nil, fmt.Errorf("tunnel %d listed twice: give it one member with the sum of the weights", t)
		}
		seen[t] = true
		out = append(out, lbrMember{Tunnel: t, Weight: uint32(w)})
	}
	if len(out) > maxLBRMembers {
		return nil, fmt.Errorf("%d members: linxctl numbers at most %d per lbr (the device allows fewer: see lbr_selector's max_group_size)", len(out), maxLBRMembers)
	}
	return out, nil
}

// parseLBRArgs parses ID [members=...].
func parseLBRArgs(cmd string, args []string, needMembers bool) (uint32, []lbrMember, error) {
	if len(args) == 0 {
		return 0, nil, usageErrorf("%s: the lbr id is required", cmd)
	}
	id, err := parseID(args[0], "lbr")
	if err != nil {
		return 0, nil, usageErrorf("%s: %v", cmd, err)
	}
	if id == 0 || id > maxLBRForIDs {
		return 0, nil, usageErrorf("%s: lbr id %d: linxctl manages lbr ids 1..%d (its group has the lbr's id, members lbr<<8|i)", cmd, id, maxLBRForIDs)
	}
	if !needMembers {
		return id, nil, noArgs(cmd+" ID", args[1:])
	}
	kvs, err := parseKVs(args[1:], map[string]string{"members": "members", "tunnels": "members"})
	if err != nil {
		return 0, nil, usageErrorf("%s: %v", cmd, err)
	}
	v, ok := kvs["members"]
	if !ok {
		return 0, nil, usageErrorf("%s: members=TUNNEL[:WEIGHT],... is required", cmd)
	}
	ms, err := parseMembers(v)
	if err != nil {
		return 0, nil, usageErrorf("%s: members=%s: %v", cmd, v, err)
	}
	return id, ms, nil
}

func memberUpdate(op p4v1.Update_Type, id uint32, tunnel uint32) (update, error) {
	desc := fmt.Sprintf("%s lbr_selector member %d", opName(op), id)
	m := &p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: id}
	if op != p4v1.Update_DELETE {
		enc, err := translator().EncodeMember(translate.Member{ID: id, Tunnel: dataplane.TunnelID(tunnel)})
		if err != nil {
			return update{}, err
		}
		m = enc
		desc += fmt.Sprintf(": encap tunnel=%d", tunnel)
	}
	u := update{desc: desc, u: &p4v1.Update{Type: op, Entity: &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: m}}}}
	if op != p4v1.Update_DELETE {
		u.refs = []ref{{"tunnel", tunnel}}
	}
	return u, nil
}

func groupUpdate(op p4v1.Update_Type, lbr uint32, ms []lbrMember) (update, error) {
	desc := fmt.Sprintf("%s lbr_selector group %d", opName(op), lbr)
	g := &p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: lbr}
	if op != p4v1.Update_DELETE {
		tg := translate.Group{ID: lbr}
		var parts []string
		for i, m := range ms {
			tg.Members = append(tg.Members, translate.GroupMember{Member: memberID(lbr, i+1), Weight: m.Weight})
			parts = append(parts, fmt.Sprintf("%d:%d", memberID(lbr, i+1), m.Weight))
		}
		enc, err := translator().EncodeGroup(tg)
		if err != nil {
			return update{}, err
		}
		g = enc
		desc += ": members " + orNone(strings.Join(parts, ","))
	}
	return update{desc: desc, u: &p4v1.Update{Type: op, Entity: &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: g}}}}, nil
}

func lbrEntryUpdate(op p4v1.Update_Type, lbr uint32) (update, error) {
	e := translate.Entry{Key: translate.Key{Table: p4info.IDTableLBR, LBR: dataplane.LBRID(lbr)}}
	desc := fmt.Sprintf("%s lbr %d", opName(op), lbr)
	if op != p4v1.Update_DELETE {
		e.Action = translate.ProfileGroup{ID: lbr}
		desc += fmt.Sprintf(": group %d", lbr)
	}
	return tableUpdate(op, e, desc)
}

var addLBR = writeCommand(parseAddLBR)

// parseAddLBR: add lbr L members=... inserts the members, then the group, then
// the entry, each stage in its own request; when a stage fails, what the earlier
// stages inserted is deleted again.
func parseAddLBR(args []string) (writeOp, error) {
	lbr, ms, err := parseLBRArgs("add lbr", args, true)
	if err != nil {
		return nil, err
	}
	var members []update
	for i, m := range ms {
		u, err := memberUpdate(p4v1.Update_INSERT, memberID(lbr, i+1), m.Tunnel)
		if err != nil {
			return nil, err
		}
		members = append(members, u)
	}
	group, err := groupUpdate(p4v1.Update_INSERT, lbr, ms)
	if err != nil {
		return nil, err
	}
	entry, err := lbrEntryUpdate(p4v1.Update_INSERT, lbr)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		var undo []update // deletes of what was inserted, in reverse order
		rollback := func() error {
			if len(undo) == 0 {
				return nil
			}
			fmt.Fprintf(s.o.stderr, "linxctl: add lbr %d failed: deleting what it inserted\n", lbr)
			_, err := s.send(ctx, undo)
			return err
		}
		ok, err := s.send(ctx, members)
		if err != nil {
			return err
		}
		for i := len(ok) - 1; i >= 0; i-- {
			if ok[i] {
				u, _ := memberUpdate(p4v1.Update_DELETE, memberID(lbr, i+1), 0)
				undo = append(undo, u)
			}
		}
		if !allOK(ok) {
			return rollback()
		}
		if ok, err = s.send(ctx, []update{group}); err != nil {
			return err
		}
		if !ok[0] {
			return rollback()
		}
		gdel, _ := groupUpdate(p4v1.Update_DELETE, lbr, nil)
		undo = append([]update{gdel}, undo...)
		if ok, err = s.send(ctx, []update{entry}); err != nil {
			return err
		}
		if !ok[0] {
			return rollback()
		}
		return nil
	}, nil
}

var modLBR = writeCommand(parseModLBR)

// parseModLBR: mod lbr L members=... makes members L<<8|1..n encapsulate onto the
// new tunnels (insert or modify), sets group L to them with the new weights
// (inserting the group if the entry pointed elsewhere), points the entry to the
// group, then deletes the members of L's range that are no longer used. It stops
// at the first stage that fails (no rollback).
func parseModLBR(args []string) (writeOp, error) {
	lbr, ms, err := parseLBRArgs("mod lbr", args, true)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		cur, err := s.c.readEntry(ctx, translate.Entry{Key: translate.Key{Table: p4info.IDTableLBR, LBR: dataplane.LBRID(lbr)}})
		if err != nil {
			return err
		}
		if cur == nil {
			return fmt.Errorf("mod lbr: lbr %d does not exist (use add lbr)", lbr)
		}
		v, err := s.c.readSelector(ctx)
		if err != nil {
			return err
		}
		var members []update
		for i, m := range ms {
			id := memberID(lbr, i+1)
			old, exists := v.members[id]
			op := p4v1.Update_INSERT
			if exists {
				if uint32(old.Tunnel) == m.Tunnel {
					continue
				}
				op = p4v1.Update_MODIFY
			}
			u, err := memberUpdate(op, id, m.Tunnel)
			if err != nil {
				return err
			}
			members = append(members, u)
		}
		op := p4v1.Update_INSERT
		if _, exists := v.groups[lbr]; exists {
			op = p4v1.Update_MODIFY
		}
		group, err := groupUpdate(op, lbr, ms)
		if err != nil {
			return err
		}
		stages := [][]update{members, {group}}
		if g, ok := cur.Action.(translate.ProfileGroup); !ok || g.ID != lbr {
			entry, err := lbrEntryUpdate(p4v1.Update_MODIFY, lbr)
			if err != nil {
				return err
			}
			stages = append(stages, []update{entry})
		}
		// Members of L's range beyond the new count, unless another group uses them.
		var stale []update
		for _, id := range sortedMemberIDs(v) {
			if ownsMember(lbr, id) && int(id&0xff) > len(ms) && !usedElsewhere(v, id, lbr) {
				u, _ := memberUpdate(p4v1.Update_DELETE, id, 0)
				stale = append(stale, u)
			}
		}
		stages = append(stages, stale)
		for _, st := range stages {
			ok, err := s.send(ctx, st)
			if err != nil {
				return err
			}
			if !allOK(ok) {
				fmt.Fprintf(s.o.stderr, "linxctl: mod lbr %d stopped: the updates above were applied, the rest were not sent\n", lbr)
				return nil
			}
		}
		return nil
	}, nil
}

// usedElsewhere reports whether member id is in a group other than lbr's.
func usedElsewhere(v lbrView, id, lbr uint32) bool {
	for gid, g := range v.groups {
		if gid == lbr {
			continue
		}
		for _, gm := range g.Members {
			if gm.Member == id {
				return true
			}
		}
	}
	return false
}

func sortedMemberIDs(v lbrView) []uint32 {
	return slices.Sorted(maps.Keys(v.members))
}

var delLBR = writeCommand(parseDelLBR)

// parseDelLBR: del lbr L deletes the entry, then group L if the entry pointed to
// it, then the members of L's range that no other group uses. Groups and members
// linxctl did not name (ONOS's) are left alone.
func parseDelLBR(args []string) (writeOp, error) {
	lbr, _, err := parseLBRArgs("del lbr", args, false)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, s *session) error {
		key := translate.Key{Table: p4info.IDTableLBR, LBR: dataplane.LBRID(lbr)}
		cur, err := s.c.readEntry(ctx, translate.Entry{Key: key})
		if err != nil {
			return err
		}
		entry, err := lbrEntryUpdate(p4v1.Update_DELETE, lbr)
		if err != nil {
			return err
		}
		if cur == nil {
			// Let the device say so, per update.
			_, err := s.send(ctx, []update{entry})
			return err
		}
		v, err := s.c.readSelector(ctx)
		if err != nil {
			return err
		}
		stages := [][]update{{entry}}
		if g, ok := cur.Action.(translate.ProfileGroup); ok {
			if g.ID == lbr {
				u, _ := groupUpdate(p4v1.Update_DELETE, lbr, nil)
				stages = append(stages, []update{u})
			} else {
				fmt.Fprintf(s.o.stderr, "linxctl: lbr %d used group %d, which linxctl did not name: left in place\n", lbr, g.ID)
			}
		}
		var members []update
		for _, id := range sortedMemberIDs(v) {
			if ownsMember(lbr, id) && !usedElsewhere(v, id, lbr) {
				u, _ := memberUpdate(p4v1.Update_DELETE, id, 0)
				members = append(members, u)
			}
		}
		stages = append(stages, members)
		for _, st := range stages {
			ok, err := s.send(ctx, st)
			if err != nil {
				return err
			}
			if !allOK(ok) {
				return nil
			}
		}
		return nil
	}, nil
}
