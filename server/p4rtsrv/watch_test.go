package p4rtsrv

import (
	"reflect"
	"strings"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// watched sets member i's watch_port (as written: padding allowed) in group g.
func watched(g *p4v1.ActionProfileGroup, i int, port []byte) *p4v1.ActionProfileGroup {
	g.Members[i].WatchKind = &p4v1.ActionProfileGroup_Member_WatchPort{WatchPort: port}
	return g
}

// watchedSet sets action i's watch_port in one-shot lbr entry te.
func watchedSet(te *p4v1.TableEntry, i int, port []byte) *p4v1.TableEntry {
	te.GetAction().GetActionProfileActionSet().ActionProfileActions[i].WatchKind = &p4v1.ActionProfileAction_WatchPort{WatchPort: port}
	return te
}

// TestWatchPort: group members and one-shot actions may watch a physical port or
// an overlay's logical port (dataplane.TunnelPort); the data path's LBR carries
// the watch ports, reads return them canonical, and a watch_port that names no
// port of the device is INVALID_ARGUMENT naming the field.
func TestWatchPort(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		ins := func(e *p4v1.Entity) *p4v1.Update { return update(p4v1.Update_INSERT, e) }
		tunnel1 := dataplane.TunnelPort(testOptions.MaxPorts, 1) // 17
		h.mustWrite(20,
			insert(tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0)),
			insert(tunnelEntry(2, 3, "172.16.1.1", "172.16.1.2", 0)),
			ins(memberEntity(member(1, 1))), ins(memberEntity(member(2, 2))), ins(memberEntity(member(3, 2))))

		// Member 1 watches overlay 2's logical port (padded), member 2 port 3.
		g := watched(watched(group(10, 1, 1, 2, 3), 0, []byte{0, 0, 0, byte(tunnel1 + 1)}), 1, []byte{3})
		h.mustWrite(20, ins(groupEntity(g)), insert(lbrGroup(1, 10)),
			insert(watchedSet(lbrSet(2, 1, 1, 2, 1), 0, []byte{byte(tunnel1)})))
		want := map[dataplane.LBRID][]dataplane.LBRMember{
			1: {{Tunnel: 1, Weight: 1, Watch: tunnel1 + 1}, {Tunnel: 2, Weight: 3, Watch: 3}},
			2: {{Tunnel: 1, Weight: 1, Watch: tunnel1}, {Tunnel: 2, Weight: 1}},
		}
		if h.mem != nil && !reflect.DeepEqual(h.mem.LBRs(), want) {
			t.Errorf("data path LBRs %v, want %v", h.mem.LBRs(), want)
		}
		canon := watched(watched(group(10, 1, 1, 2, 3), 0, []byte{byte(tunnel1 + 1)}), 1, []byte{3})
		if got := h.mustRead(groupEntity(&p4v1.ActionProfileGroup{})); len(got) != 1 || !proto.Equal(got[0], groupEntity(canon)) {
			t.Errorf("read groups %v, want %v", got, canon)
		}
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableLBR}),
			lbrGroup(1, 10), watchedSet(lbrSet(2, 1, 1, 2, 1), 0, []byte{byte(tunnel1)}))

		// Ports that do not exist: not attached, an overlay not installed.
		err := h.write(20,
			ins(groupEntity(watched(group(11, 1, 1), 0, []byte{9}))),
			ins(groupEntity(watched(group(12, 1, 1), 0, []byte{byte(tunnel1 + 4)}))),
			insert(watchedSet(lbrSet(3, 1, 1), 0, []byte{9})),
			ins(groupEntity(watched(group(13, 1, 1), 0, []byte{0}))),
			ins(groupEntity(&p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: 14,
				Members: []*p4v1.ActionProfileGroup_Member{{MemberId: 1, Weight: 1, WatchKind: &p4v1.ActionProfileGroup_Member_Watch{Watch: 3}}}})),
			// Members 2 and 3 both encapsulate onto tunnel 2: one watch port or none.
			ins(groupEntity(watched(group(15, 2, 1, 3, 1), 0, []byte{3}))),
		)
		wantUpdates(t, err, codes.InvalidArgument, codes.InvalidArgument, codes.InvalidArgument, codes.InvalidArgument,
			codes.Unimplemented, codes.OK)
		for i, d := range status.Convert(err).Details()[:4] {
			if msg := d.(*p4v1.Error).Message; !strings.Contains(msg, "watch_port") {
				t.Errorf("update %d: %q does not name watch_port", i, msg)
			}
		}
		wantCode(t, h.write(20, insert(lbrGroup(4, 15))), codes.Unknown, "an lbr onto group 15")
		if got := updateCodes(h.write(20, insert(lbrGroup(4, 15)))); len(got) != 1 || got[0] != codes.Unimplemented {
			t.Errorf("lbr onto two members of one tunnel watching different ports: %v, want UNIMPLEMENTED", got)
		}
		if h.mem != nil && !reflect.DeepEqual(h.mem.LBRs(), want) {
			t.Errorf("data path LBRs after refused writes %v, want %v", h.mem.LBRs(), want)
		}
	})
}
