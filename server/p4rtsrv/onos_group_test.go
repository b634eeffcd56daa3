package p4rtsrv

import (
	"reflect"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// TestONOSGroupMemberUpdates: what ONOS 2.7's P4RuntimeActionGroupProgrammable
// writes when the linx app adds or removes overlays of a HASHED next objective
// (ADD_TO_EXISTING / REMOVE_FROM_EXISTING → a group's buckets change): in one
// Write, INSERTs of the new members, then a MODIFY of the group with its whole
// member list; members no longer used are not deleted. The LBR follows each
// change, and reads return the group as ONOS wrote it.
func TestONOSGroupMemberUpdates(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.mustWrite(20, insert(onosTunnel(1, 2, "172.16.0.1", "172.16.0.2", 0)), insert(onosTunnel(2, 3, "172.16.1.1", "172.16.1.2", 0)),
			insert(onosTunnel(3, 3, "172.16.1.1", "172.16.1.3", 0)))
		h.mustWrite(20, update(p4v1.Update_INSERT, memberEntity(onosMember(1, 1))), update(p4v1.Update_INSERT, memberEntity(onosMember(2, 2))),
			update(p4v1.Update_INSERT, groupEntity(group(1, 1, 1, 2, 1))))
		h.mustWrite(20, insert(onosLBR(1, 1)))
		wantLBR := func(what string, want []dataplane.LBRMember) {
			t.Helper()
			if h.mem != nil && !reflect.DeepEqual(h.mem.LBRs()[1], want) {
				t.Errorf("%s: data path LBR 1 %v, want %v", what, h.mem.LBRs()[1], want)
			}
			g := h.mustRead(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: 1}))
			if len(g) != 1 || len(g[0].GetActionProfileGroup().GetMembers()) != len(want) {
				t.Errorf("%s: group read back as %v", what, g)
			}
		}
		wantLBR("installed", []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}})

		// ADD_TO_EXISTING tunnel 3.
		h.mustWrite(20, update(p4v1.Update_INSERT, memberEntity(onosMember(3, 3))),
			update(p4v1.Update_MODIFY, groupEntity(group(1, 1, 1, 2, 1, 3, 1))))
		wantLBR("overlay added", []dataplane.LBRMember{{Tunnel: 1, Weight: 1}, {Tunnel: 2, Weight: 1}, {Tunnel: 3, Weight: 1}})

		// REMOVE_FROM_EXISTING tunnel 1: the group only; member 1 stays.
		h.mustWrite(20, update(p4v1.Update_MODIFY, groupEntity(group(1, 2, 1, 3, 1))))
		wantLBR("overlay removed", []dataplane.LBRMember{{Tunnel: 2, Weight: 1}, {Tunnel: 3, Weight: 1}})
		if m := h.mustRead(memberEntity(&p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector})); len(m) != 3 {
			t.Errorf("members after the removal: %v, want the 3 ONOS wrote", m)
		}
	})
}
