package wire

import (
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"
)

func tableUpdate(op p4v1.Update_Type, te *p4v1.TableEntry) *p4v1.Update {
	return &p4v1.Update{Type: op, Entity: &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}}
}

func action(id uint32, params ...[]byte) *p4v1.TableAction {
	a := &p4v1.Action{ActionId: id}
	for i, v := range params {
		a.Params = append(a.Params, &p4v1.Action_Param{ParamId: uint32(i + 1), Value: v})
	}
	return &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: a}}
}

// corpus holds updates of every shape a Write carries: those the fast decoder
// takes and those it leaves to proto.Unmarshal.
func corpus() []*p4v1.Update {
	ternary := func(id uint32, v, m []byte) *p4v1.FieldMatch {
		return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{Value: v, Mask: m}}}
	}
	rng := func(id uint32, lo, hi []byte) *p4v1.FieldMatch {
		return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Range_{Range: &p4v1.FieldMatch_Range{Low: lo, High: hi}}}
	}
	exact := func(id uint32, v []byte) *p4v1.FieldMatch {
		return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: v}}}
	}
	return []*p4v1.Update{
		tableUpdate(p4v1.Update_INSERT, &p4v1.TableEntry{TableId: 7, Priority: 12,
			Match:  []*p4v1.FieldMatch{ternary(1, []byte{1}, []byte{3}), ternary(4, []byte{10, 0, 0, 1}, []byte{255, 255, 255, 255}), rng(7, []byte{0x13, 0x88}, []byte{0x13, 0x88})},
			Action: action(3, []byte{1})}),
		tableUpdate(p4v1.Update_MODIFY, &p4v1.TableEntry{TableId: 7, Priority: -5, ControllerMetadata: 1 << 40, Metadata: []byte("cookie"),
			Match: []*p4v1.FieldMatch{{FieldId: 2, FieldMatchType: &p4v1.FieldMatch_Lpm{Lpm: &p4v1.FieldMatch_LPM{Value: []byte{10}, PrefixLen: 8}}},
				{FieldId: 3, FieldMatchType: &p4v1.FieldMatch_Optional_{Optional: &p4v1.FieldMatch_Optional{Value: []byte{6}}}}}}),
		tableUpdate(p4v1.Update_DELETE, &p4v1.TableEntry{TableId: 9, Match: []*p4v1.FieldMatch{exact(1, []byte{0, 1})}}),
		tableUpdate(p4v1.Update_MODIFY, &p4v1.TableEntry{TableId: 7, IsDefaultAction: true, Action: action(2)}),
		tableUpdate(p4v1.Update_INSERT, &p4v1.TableEntry{TableId: 8, Match: []*p4v1.FieldMatch{exact(1, []byte{5})},
			Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileMemberId{ActionProfileMemberId: 4}}}),
		tableUpdate(p4v1.Update_INSERT, &p4v1.TableEntry{TableId: 8, Match: []*p4v1.FieldMatch{exact(1, []byte{6})},
			Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: 9}}}),
		tableUpdate(p4v1.Update_INSERT, &p4v1.TableEntry{TableId: 1, Match: []*p4v1.FieldMatch{exact(1, []byte{1})}, Action: action(5, []byte{0, 2}, []byte{10, 0, 0, 1}, []byte{10, 0, 0, 2}, []byte{0, 0, 0, 7})}),
		tableUpdate(p4v1.Update_INSERT, &p4v1.TableEntry{TableId: 7, Match: []*p4v1.FieldMatch{{FieldId: 1}}, Action: &p4v1.TableAction{}}),
		// Left to proto.Unmarshal:
		tableUpdate(p4v1.Update_MODIFY, &p4v1.TableEntry{TableId: 7, Priority: 1, CounterData: &p4v1.CounterData{PacketCount: 3}}),
		tableUpdate(p4v1.Update_INSERT, &p4v1.TableEntry{TableId: 8, IsConst: true}),
		tableUpdate(p4v1.Update_INSERT, &p4v1.TableEntry{TableId: 8, Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileActionSet{
			ActionProfileActionSet: &p4v1.ActionProfileActionSet{ActionProfileActions: []*p4v1.ActionProfileAction{{Action: &p4v1.Action{ActionId: 3}, Weight: 2}}}}}}),
		{Type: p4v1.Update_INSERT, Entity: &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{ActionProfileMember: &p4v1.ActionProfileMember{ActionProfileId: 1, MemberId: 2}}}},
		{Type: p4v1.Update_MODIFY, Entity: &p4v1.Entity{Entity: &p4v1.Entity_CounterEntry{CounterEntry: &p4v1.CounterEntry{CounterId: 3}}}},
		{Type: p4v1.Update_INSERT},
		{},
	}
}

// TestLazyWriteDecodesAsProto: a WriteRequest through Codec, then Of and At,
// yields exactly the updates proto.Unmarshal would (same order, same fields),
// and still marshals to the same request.
func TestLazyWriteDecodesAsProto(t *testing.T) {
	ups := corpus()
	want := &p4v1.WriteRequest{DeviceId: 1, ElectionId: &p4v1.Uint128{High: 1, Low: 2}, Updates: ups, Atomicity: p4v1.WriteRequest_CONTINUE_ON_ERROR, Role: "r"}
	b, err := proto.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	got := &p4v1.WriteRequest{}
	if err := Codec().Unmarshal(mem.BufferSlice{mem.SliceBuffer(b)}, got); err != nil {
		t.Fatal(err)
	}
	if len(got.Updates) != 0 || got.DeviceId != 1 || got.ElectionId.GetLow() != 2 || got.Role != "r" || got.Atomicity != want.Atomicity {
		t.Fatalf("request fields: %v", got)
	}
	u, err := Of(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Len() != len(ups) || Count(got) != len(ups) {
		t.Fatalf("%d updates, want %d", u.Len(), len(ups))
	}
	for i := range ups {
		up, err := u.At(i)
		if err != nil {
			t.Fatalf("update %d: %v", i, err)
		}
		if !proto.Equal(ups[i], up) {
			t.Errorf("update %d: got %v, want %v", i, up, ups[i])
		}
	}
	// The request re-marshals to the same message.
	again, err := proto.Marshal(got)
	if err != nil {
		t.Fatal(err)
	}
	back := &p4v1.WriteRequest{}
	if err := proto.Unmarshal(again, back); err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(back, want) {
		t.Errorf("re-marshalled request differs: %v", back)
	}
}

// TestFastDecoderCoversTableEntries: the shapes a controller writes most go
// through the reused messages, not proto.Unmarshal.
func TestFastDecoderCoversTableEntries(t *testing.T) {
	s := new(scratch)
	for i, up := range corpus()[:8] {
		b, err := proto.Marshal(up)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := s.update(b); !ok {
			t.Errorf("update %d left to proto.Unmarshal: %v", i, up)
		}
	}
}

// TestNonContiguousUpdates: updates interleaved with other fields (legal, if
// unusual) are kept in order.
func TestNonContiguousUpdates(t *testing.T) {
	ups := corpus()[:3]
	var b []byte
	for i, up := range ups {
		part, _ := proto.Marshal(&p4v1.WriteRequest{Updates: []*p4v1.Update{up}, DeviceId: uint64(i + 1)})
		b = append(b, part...)
	}
	got := &p4v1.WriteRequest{}
	if err := unmarshalWrite(b, got); err != nil {
		t.Fatal(err)
	}
	u, err := Of(got)
	if err != nil {
		t.Fatal(err)
	}
	if got.DeviceId != 3 || u.Len() != 3 {
		t.Fatalf("device %d, %d updates", got.DeviceId, u.Len())
	}
	for i := range ups {
		up, err := u.At(i)
		if err != nil || !proto.Equal(up, ups[i]) {
			t.Errorf("update %d: %v, %v", i, up, err)
		}
	}
}

// TestMalformedWrite: a truncated request is refused as proto.Unmarshal
// refuses it.
func TestMalformedWrite(t *testing.T) {
	b, _ := proto.Marshal(&p4v1.WriteRequest{Updates: corpus()[:2]})
	if err := unmarshalWrite(b[:len(b)-3], &p4v1.WriteRequest{}); err == nil {
		t.Error("truncated request accepted")
	}
}

// FuzzFastDecoder: whatever the fast decoder accepts, proto.Unmarshal accepts
// and decodes to the same update.
func FuzzFastDecoder(f *testing.F) {
	for _, up := range corpus() {
		b, _ := proto.Marshal(up)
		f.Add(b)
	}
	s := new(scratch)
	f.Fuzz(func(t *testing.T, b []byte) {
		up, ok := s.update(b)
		if !ok {
			return
		}
		want := &p4v1.Update{}
		if err := proto.Unmarshal(b, want); err != nil {
			t.Fatalf("fast decoder accepted what proto refuses: %v", err)
		}
		if !proto.Equal(up, want) {
			t.Fatalf("fast %v, proto %v", up, want)
		}
	})
}
