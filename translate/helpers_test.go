package translate

import (
	"net/netip"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// Helpers that build P4Runtime messages by hand, the way a controller would.

func newTranslator(t testing.TB) *Translator {
	t.Helper()
	return MustNew(p4info.MustNewIndex(p4info.New(p4info.Sizes{})))
}

func b(v ...byte) []byte { return v }

func exact(id uint32, v []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Exact_{Exact: &p4v1.FieldMatch_Exact{Value: v}}}
}

func tern(id uint32, v, m []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Ternary_{Ternary: &p4v1.FieldMatch_Ternary{Value: v, Mask: m}}}
}

func rng(id uint32, lo, hi []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Range_{Range: &p4v1.FieldMatch_Range{Low: lo, High: hi}}}
}

func lpm(id uint32, v []byte, plen int32) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Lpm{Lpm: &p4v1.FieldMatch_LPM{Value: v, PrefixLen: plen}}}
}

func optional(id uint32, v []byte) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Optional_{Optional: &p4v1.FieldMatch_Optional{Value: v}}}
}

func prm(id uint32, v []byte) *p4v1.Action_Param { return &p4v1.Action_Param{ParamId: id, Value: v} }

func act(id uint32, ps ...*p4v1.Action_Param) *p4v1.Action {
	return &p4v1.Action{ActionId: id, Params: ps}
}

func direct(a *p4v1.Action) *p4v1.TableAction {
	return &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: a}}
}

func memberRef(id uint32) *p4v1.TableAction {
	return &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileMemberId{ActionProfileMemberId: id}}
}

func groupRef(id uint32) *p4v1.TableAction {
	return &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: id}}
}

func actionSet(as ...*p4v1.ActionProfileAction) *p4v1.TableAction {
	return &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileActionSet{
		ActionProfileActionSet: &p4v1.ActionProfileActionSet{ActionProfileActions: as}}}
}

func weighted(a *p4v1.Action, w int32) *p4v1.ActionProfileAction {
	return &p4v1.ActionProfileAction{Action: a, Weight: w}
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// wantCode fails unless err is an *Error (directly) with the given code.
func wantCode(t *testing.T, err error, code codes.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	if _, ok := err.(*Error); !ok {
		t.Fatalf("error %v is a %T, want *Error", err, err)
	}
	if got := Code(err); got != code {
		t.Fatalf("error %v: code %s, want %s", err, got, code)
	}
}

func mustMarshal(t testing.TB, m proto.Message) []byte {
	t.Helper()
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// pdrKey is the key of a pdr entry with the given match and priority.
func pdrKey(m dataplane.PDRMatch, prio int32) Key {
	return Key{Table: p4info.IDTablePDR, Priority: prio, Match: m}
}

func farAct(a dataplane.Action) FARAction { return FARAction{FAR: dataplane.FAR{Action: a}} }
