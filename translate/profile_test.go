package translate

import (
	"bytes"
	"reflect"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/p4info"
)

func member(id uint32, a *p4v1.Action) *p4v1.ActionProfileMember {
	return &p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector, MemberId: id, Action: a}
}

func group(id uint32, maxSize int32, ms ...*p4v1.ActionProfileGroup_Member) *p4v1.ActionProfileGroup {
	return &p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: id, MaxSize: maxSize, Members: ms}
}

func gm(id uint32, w int32) *p4v1.ActionProfileGroup_Member {
	return &p4v1.ActionProfileGroup_Member{MemberId: id, Weight: w}
}

func TestMembers(t *testing.T) {
	tr := newTranslator(t)
	for _, c := range []struct {
		name string
		m    *p4v1.ActionProfileMember
		op   p4v1.Update_Type
		want Member
	}{
		{"insert", member(1, encap(b(7))), insert, Member{ID: 1, Tunnel: 7}},
		{"modify padded", member(0xffffffff, encap(b(0, 0, 0, 0, 9))), modify, Member{ID: 0xffffffff, Tunnel: 9}},
		{"delete ignores the action", member(3, act(12345)), del, Member{ID: 3}},
	} {
		got, err := tr.DecodeMember(c.m, c.op)
		if err != nil || got != c.want {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	// Canonical round trip.
	m := Member{ID: 5, Tunnel: 0x1234}
	enc, err := tr.EncodeMember(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := member(5, encap(b(0x12, 0x34))); !proto.Equal(enc, want) {
		t.Fatalf("encoded %v, want %v", enc, want)
	}
	if got, err := tr.DecodeMember(enc, insert); err != nil || got != m {
		t.Fatalf("round trip %+v, %v", got, err)
	}

	for _, c := range []struct {
		name string
		m    *p4v1.ActionProfileMember
		op   p4v1.Update_Type
		code codes.Code
	}{
		{"nil", nil, insert, codes.InvalidArgument},
		{"unspecified update", member(1, encap(b(1))), p4v1.Update_UNSPECIFIED, codes.InvalidArgument},
		{"unknown profile", &p4v1.ActionProfileMember{ActionProfileId: 0x11000009, MemberId: 1, Action: encap(b(1))}, insert, codes.NotFound},
		{"member id 0", member(0, encap(b(1))), insert, codes.InvalidArgument},
		{"member id 0 on delete", member(0, nil), del, codes.InvalidArgument},
		{"no action", member(1, nil), insert, codes.InvalidArgument},
		{"no action on modify", member(1, nil), modify, codes.InvalidArgument},
		{"drop (DEFAULT_ONLY in lbr)", member(1, act(p4info.IDActionDrop)), insert, codes.PermissionDenied},
		{"forward (not an lbr action)", member(1, act(p4info.IDActionForward, prm(1, b(1)))), insert, codes.InvalidArgument},
		{"encap without tunnel", member(1, act(p4info.IDActionEncap)), insert, codes.InvalidArgument},
		{"encap tunnel 33 bits", member(1, encap(b(1, 0, 0, 0, 0))), insert, codes.OutOfRange},
	} {
		_, err := tr.DecodeMember(c.m, c.op)
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code) })
	}
}

func TestGroups(t *testing.T) {
	tr := newTranslator(t)
	sixteen := func(n int) []*p4v1.ActionProfileGroup_Member {
		var ms []*p4v1.ActionProfileGroup_Member
		for i := range n {
			ms = append(ms, gm(uint32(i+1), 1))
		}
		return ms
	}
	for _, c := range []struct {
		name string
		g    *p4v1.ActionProfileGroup
		op   p4v1.Update_Type
		want Group
	}{
		{"insert keeps member order", group(1, 16, gm(3, 2), gm(1, 1), gm(2, 1<<31-1)), insert,
			Group{ID: 1, MaxSize: 16, Members: []GroupMember{{Member: 3, Weight: 2}, {Member: 1, Weight: 1}, {Member: 2, Weight: 1<<31 - 1}}}},
		{"max_size 0 (older ONOS)", group(2, 0, gm(1, 1)), insert, Group{ID: 2, Members: []GroupMember{{Member: 1, Weight: 1}}}},
		{"empty group", group(3, 4), modify, Group{ID: 3, MaxSize: 4}},
		{"max_group_size members", group(4, 0, sixteen(16)...), insert, Group{ID: 4, Members: func() []GroupMember {
			var ms []GroupMember
			for i := range 16 {
				ms = append(ms, GroupMember{Member: uint32(i + 1), Weight: 1})
			}
			return ms
		}()}},
		{"empty watch_port means none", group(5, 0, &p4v1.ActionProfileGroup_Member{MemberId: 1, Weight: 1,
			WatchKind: &p4v1.ActionProfileGroup_Member_WatchPort{}}), insert, Group{ID: 5, Members: []GroupMember{{Member: 1, Weight: 1}}}},
		{"watch_port padded", group(8, 0, &p4v1.ActionProfileGroup_Member{MemberId: 1, Weight: 2,
			WatchKind: &p4v1.ActionProfileGroup_Member_WatchPort{WatchPort: b(0, 0, 2, 1)}}), insert,
			Group{ID: 8, Members: []GroupMember{{Member: 1, Weight: 2, Watch: 513}}}},
		{"delete ignores members", group(6, -5, gm(0, 0)), del, Group{ID: 6}},
	} {
		got, err := tr.DecodeGroup(c.g, c.op)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %+v, %v; want %+v", c.name, got, err, c.want)
		}
	}
	// Canonical round trip, byte for byte, watch ports included.
	g := group(7, 8, gm(9, 3), gm(4, 1), &p4v1.ActionProfileGroup_Member{MemberId: 5, Weight: 1,
		WatchKind: &p4v1.ActionProfileGroup_Member_WatchPort{WatchPort: b(2, 1)}})
	dec, err := tr.DecodeGroup(g, insert)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := tr.EncodeGroup(dec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustMarshal(t, enc), mustMarshal(t, g)) {
		t.Fatalf("read %v, wrote %v", enc, g)
	}

	for _, c := range []struct {
		name string
		g    *p4v1.ActionProfileGroup
		code codes.Code
	}{
		{"nil", nil, codes.InvalidArgument},
		{"unknown profile", &p4v1.ActionProfileGroup{ActionProfileId: 1, GroupId: 1}, codes.NotFound},
		{"group id 0", group(0, 0, gm(1, 1)), codes.InvalidArgument},
		{"member id 0", group(1, 0, gm(0, 1)), codes.InvalidArgument},
		{"nil member", group(1, 0, nil), codes.InvalidArgument},
		{"member twice", group(1, 0, gm(1, 1), gm(1, 2)), codes.InvalidArgument},
		{"weight 0", group(1, 0, gm(1, 0)), codes.InvalidArgument},
		{"negative weight", group(1, 0, gm(1, -1)), codes.InvalidArgument},
		{"negative max_size", group(1, -1, gm(1, 1)), codes.InvalidArgument},
		{"max_size above max_group_size", group(1, 17, gm(1, 1)), codes.InvalidArgument},
		{"more members than max_size", group(1, 2, gm(1, 1), gm(2, 1), gm(3, 1)), codes.ResourceExhausted},
		{"more members than max_group_size", group(1, 0, sixteen(17)...), codes.ResourceExhausted},
		{"watch_port 0", group(1, 0, &p4v1.ActionProfileGroup_Member{MemberId: 1, Weight: 1,
			WatchKind: &p4v1.ActionProfileGroup_Member_WatchPort{WatchPort: b(0)}}), codes.InvalidArgument},
		{"watch_port wider than a port", group(1, 0, &p4v1.ActionProfileGroup_Member{MemberId: 1, Weight: 1,
			WatchKind: &p4v1.ActionProfileGroup_Member_WatchPort{WatchPort: b(1, 0, 0)}}), codes.InvalidArgument},
		{"deprecated watch", group(1, 0, &p4v1.ActionProfileGroup_Member{MemberId: 1, Weight: 1,
			WatchKind: &p4v1.ActionProfileGroup_Member_Watch{Watch: 1}}), codes.Unimplemented},
	} {
		_, err := tr.DecodeGroup(c.g, modify)
		t.Run(c.name, func(t *testing.T) { wantCode(t, err, c.code) })
	}

	for _, bad := range []Group{{ID: 0}, {ID: 1, MaxSize: -1}, {ID: 1, Members: []GroupMember{{Member: 0, Weight: 1}}}, {ID: 1, Members: []GroupMember{{Member: 1, Weight: 0}}},
		{ID: 1, Members: []GroupMember{{Member: 1, Weight: 1 << 31}}}, {ID: 1, Members: []GroupMember{{Member: 1, Weight: 1, Watch: 1 << 16}}}} {
		if _, err := tr.EncodeGroup(bad); Code(err) != codes.Internal {
			t.Errorf("EncodeGroup(%+v): %v", bad, err)
		}
	}
	if _, err := tr.EncodeMember(Member{}); Code(err) != codes.Internal {
		t.Errorf("EncodeMember(zero): %v", err)
	}
}

// The selector's max_group_size comes from the P4Info the controller pushed.
func TestGroupSizeFromP4Info(t *testing.T) {
	tr := MustNew(p4info.MustNewIndex(p4info.New(p4info.Sizes{LBRMaxGroupSize: 2})))
	if _, err := tr.DecodeGroup(group(1, 0, gm(1, 1), gm(2, 1)), insert); err != nil {
		t.Fatal(err)
	}
	_, err := tr.DecodeGroup(group(1, 0, gm(1, 1), gm(2, 1), gm(3, 1)), insert)
	wantCode(t, err, codes.ResourceExhausted)
	_, err = tr.DecodeGroup(group(1, 3), insert)
	wantCode(t, err, codes.InvalidArgument)
	_, err = tr.DecodeTableEntry(lbrEntry(b(1), actionSet(weighted(encap(b(1)), 1), weighted(encap(b(2)), 1), weighted(encap(b(3)), 1))), insert)
	wantCode(t, err, codes.InvalidArgument)
}
