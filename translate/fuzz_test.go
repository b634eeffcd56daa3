package translate

import (
	"bytes"
	"errors"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/p4info"
)

// checkDecodeError fails unless err is an *Error with a code a controller's
// message can cause.
func checkDecodeError(t *testing.T, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v is a %T, want *Error", err, err)
	}
	switch e.Code {
	case codes.OK, codes.Unknown, codes.Internal:
		t.Fatalf("decode error with code %s: %v", e.Code, err)
	}
}

// FuzzDecodeTableEntry feeds arbitrary TableEntry messages to the decoder. Decoding
// never panics and fails only with *Error; what it accepts encodes without error
// to an entry that decodes to the same value (Encode∘Decode is a projection); and
// Canonical is idempotent, byte for byte.
func FuzzDecodeTableEntry(f *testing.F) {
	tr := newTranslator(f)
	for _, e := range sampleEntries() {
		te, err := tr.EncodeTableEntry(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(mustMarshal(f, te))
		f.Add(mustMarshal(f, padEntry(f, tr.idx, te, 1)))
	}
	f.Add(mustMarshal(f, pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRDirection, b(1), b(3)), rng(p4info.IDFieldPDRL4Dport, b(0), b(0x50)))))
	f.Add(mustMarshal(f, lbrEntry(b(1), actionSet(weighted(encap(b(1)), 1)))))
	ops := []p4v1.Update_Type{p4v1.Update_INSERT, p4v1.Update_MODIFY, p4v1.Update_DELETE}
	f.Fuzz(func(t *testing.T, data []byte) {
		te := &p4v1.TableEntry{}
		if proto.Unmarshal(data, te) != nil {
			return
		}
		for _, op := range ops {
			e, err := tr.DecodeTableEntry(te, op)
			if err != nil {
				checkDecodeError(t, err)
				continue
			}
			enc, err := tr.EncodeTableEntry(e)
			if err != nil {
				t.Fatalf("%s of %v decoded to %+v, which does not encode: %v", op, te, e, err)
			}
			again, err := tr.DecodeTableEntry(enc, op)
			if err != nil {
				t.Fatalf("%s: re-encoded entry %v rejected: %v", op, enc, err)
			}
			e.Counter = nil
			if !again.Equal(e) {
				t.Fatalf("%s: %+v re-decodes to %+v", op, e, again)
			}
		}
		c, err := tr.Canonical(te)
		if err != nil {
			checkDecodeError(t, err)
			return
		}
		c2, err := tr.Canonical(c)
		if err != nil {
			t.Fatalf("canonical %v rejected: %v", c, err)
		}
		if !proto.Equal(c, c2) || !bytes.Equal(mustMarshal(t, c), mustMarshal(t, c2)) {
			t.Fatalf("Canonical not idempotent:\n%v\n%v", c, c2)
		}
	})
}

// FuzzDecodeActionProfile does the same for action profile members and groups.
func FuzzDecodeActionProfile(f *testing.F) {
	tr := newTranslator(f)
	f.Add(mustMarshal(f, member(1, encap(b(0, 7)))))
	f.Add(mustMarshal(f, group(7, 8, gm(9, 3), gm(4, 1))))
	f.Add(mustMarshal(f, group(7, 0, &p4v1.ActionProfileGroup_Member{MemberId: 1, Weight: 1,
		WatchKind: &p4v1.ActionProfileGroup_Member_WatchPort{}})))
	ops := []p4v1.Update_Type{p4v1.Update_INSERT, p4v1.Update_MODIFY, p4v1.Update_DELETE}
	f.Fuzz(func(t *testing.T, data []byte) {
		m := &p4v1.ActionProfileMember{}
		if proto.Unmarshal(data, m) == nil {
			for _, op := range ops {
				got, err := tr.DecodeMember(m, op)
				if err != nil {
					checkDecodeError(t, err)
					continue
				}
				enc, err := tr.EncodeMember(got)
				if err != nil {
					t.Fatalf("member %+v does not encode: %v", got, err)
				}
				if again, err := tr.DecodeMember(enc, op); err != nil || again != got {
					t.Fatalf("member %+v re-decodes to %+v, %v", got, again, err)
				}
			}
		}
		g := &p4v1.ActionProfileGroup{}
		if proto.Unmarshal(data, g) == nil {
			for _, op := range ops {
				got, err := tr.DecodeGroup(g, op)
				if err != nil {
					checkDecodeError(t, err)
					continue
				}
				enc, err := tr.EncodeGroup(got)
				if err != nil {
					t.Fatalf("group %+v does not encode: %v", got, err)
				}
				again, err := tr.DecodeGroup(enc, op)
				if err != nil || again.ID != got.ID || again.MaxSize != got.MaxSize || len(again.Members) != len(got.Members) {
					t.Fatalf("group %+v re-decodes to %+v, %v", got, again, err)
				}
				for i := range got.Members {
					if again.Members[i] != got.Members[i] {
						t.Fatalf("group %+v re-decodes to %+v", got, again)
					}
				}
			}
		}
	})
}
