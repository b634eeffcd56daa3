package translate

import (
	"bytes"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// TestUnderlay6 decodes tunnels (set_gre6) and terminations (tunnel_term6) over
// an IPv6 underlay: 128-bit parameters and exact keys with the narrow fields'
// bytestring rules, encoded back canonically; IPv4 overlays still encode to
// set_gre and tunnel_term, byte for byte as before.
func TestUnderlay6(t *testing.T) {
	tr := newTranslator(t)
	src, dst := addr("2001:db8:a::1"), addr("2001:db8:b::2")
	s16, d16 := src.As16(), dst.As16()
	gre6 := func(s, d []byte) *p4v1.TableEntry {
		return &p4v1.TableEntry{TableId: p4info.IDTableTunnels, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldTunnelsTunnelID, b(5))},
			Action: direct(act(p4info.IDActionSetGRE6, prm(p4info.IDParamSetGRE6Port, b(2)), prm(p4info.IDParamSetGRE6SrcAddr, s),
				prm(p4info.IDParamSetGRE6DstAddr, d), prm(p4info.IDParamSetGRE6Key, b(7))))}
	}
	term6 := func(r, l []byte) *p4v1.TableEntry {
		return &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6, Match: []*p4v1.FieldMatch{
			exact(p4info.IDFieldTunnelTerm6SrcAddr, r), exact(p4info.IDFieldTunnelTerm6DstAddr, l), exact(p4info.IDFieldTunnelTerm6GREKey, b(7))},
			Action: direct(act(p4info.IDActionDecap, prm(p4info.IDParamDecapTunnelID, b(5))))}
	}
	wantTunnel := dataplane.Tunnel{Port: 2, Src: src, Dst: dst, Key: 7}
	wantTerm := dataplane.TunnelTerm{Remote: dst, Local: src, Key: 7}
	for _, c := range []struct {
		name string
		s, d []byte
	}{
		{"canonical", s16[:], d16[:]},
		{"padded", append([]byte{0, 0}, s16[:]...), append([]byte{0}, d16[:]...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := tr.DecodeTableEntry(gre6(c.s, c.d), insert)
			if err != nil {
				t.Fatal(err)
			}
			if g, ok := e.Action.(SetGRE); !ok || g.Tunnel != wantTunnel || e.Key.Tunnel != 5 {
				t.Fatalf("decoded %+v, want tunnel 5 %+v", e, wantTunnel)
			}
			back, err := tr.EncodeTableEntry(e)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, gre6(s16[:], d16[:])) {
				t.Fatalf("encoded back as %v, want the canonical set_gre6 entry", back)
			}
			e, err = tr.DecodeTableEntry(term6(c.d, c.s), insert)
			if err != nil {
				t.Fatal(err)
			}
			if e.Key.Term != wantTerm || e.Action != (Decap{Tunnel: 5}) {
				t.Fatalf("decoded %+v, want term %+v → 5", e, wantTerm)
			}
			back, err = tr.EncodeTableEntry(e)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, term6(d16[:], s16[:])) {
				t.Fatalf("encoded back as %v, want the canonical tunnel_term6 entry", back)
			}
		})
	}

	// An IPv4 overlay keeps set_gre with its 32-bit canonical bytestrings.
	te, err := tr.EncodeTableEntry(Entry{Key: Key{Table: p4info.IDTableTunnels, Tunnel: 1},
		Action: SetGRE{Tunnel: dataplane.Tunnel{Port: 2, Src: addr("198.51.100.1"), Dst: addr("203.0.113.9")}}})
	if err != nil {
		t.Fatal(err)
	}
	if a := te.GetAction().GetAction(); a.GetActionId() != p4info.IDActionSetGRE || !bytes.Equal(a.GetParams()[1].GetValue(), b(198, 51, 100, 1)) {
		t.Fatalf("IPv4 overlay encoded as %v, want set_gre with src 0xc6336401", a)
	}
	// Mixed families have no P4 action.
	_, err = tr.EncodeTableEntry(Entry{Key: Key{Table: p4info.IDTableTunnels, Tunnel: 1},
		Action: SetGRE{Tunnel: dataplane.Tunnel{Port: 2, Src: src, Dst: addr("203.0.113.9")}}})
	wantCode(t, err, codes.Internal)

	over := append([]byte{1}, s16[:]...) // 129 bits
	for _, c := range []struct {
		name string
		te   *p4v1.TableEntry
		code codes.Code
	}{
		{"src over 128 bits", gre6(over, d16[:]), codes.OutOfRange},
		{"empty dst", gre6(s16[:], nil), codes.OutOfRange},
		{"dst missing", &p4v1.TableEntry{TableId: p4info.IDTableTunnels, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldTunnelsTunnelID, b(5))},
			Action: direct(act(p4info.IDActionSetGRE6, prm(p4info.IDParamSetGRE6Port, b(2)), prm(p4info.IDParamSetGRE6SrcAddr, s16[:]),
				prm(p4info.IDParamSetGRE6Key, b(7))))}, codes.InvalidArgument},
		{"src given twice", &p4v1.TableEntry{TableId: p4info.IDTableTunnels, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldTunnelsTunnelID, b(5))},
			Action: direct(act(p4info.IDActionSetGRE6, prm(p4info.IDParamSetGRE6Port, b(2)), prm(p4info.IDParamSetGRE6SrcAddr, s16[:]),
				prm(p4info.IDParamSetGRE6SrcAddr, s16[:]), prm(p4info.IDParamSetGRE6DstAddr, d16[:]), prm(p4info.IDParamSetGRE6Key, b(7))))}, codes.InvalidArgument},
		{"term remote over 128 bits", term6(over, s16[:]), codes.OutOfRange},
		{"term local missing", &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6, Match: []*p4v1.FieldMatch{
			exact(p4info.IDFieldTunnelTerm6SrcAddr, d16[:]), exact(p4info.IDFieldTunnelTerm6GREKey, b(7))},
			Action: direct(act(p4info.IDActionDecap, prm(p4info.IDParamDecapTunnelID, b(5))))}, codes.InvalidArgument},
		{"term ternary key", &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm6, Match: []*p4v1.FieldMatch{
			tern(p4info.IDFieldTunnelTerm6SrcAddr, d16[:], bytes.Repeat(b(0xff), 16)), exact(p4info.IDFieldTunnelTerm6DstAddr, s16[:]),
			exact(p4info.IDFieldTunnelTerm6GREKey, b(7))},
			Action: direct(act(p4info.IDActionDecap, prm(p4info.IDParamDecapTunnelID, b(5))))}, codes.InvalidArgument},
	} {
		_, err := tr.DecodeTableEntry(c.te, insert)
		if err == nil {
			t.Errorf("%s: decoded", c.name)
			continue
		}
		wantCode(t, err, c.code)
	}
}
