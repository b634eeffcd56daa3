package translate

import (
	"bytes"
	"net/netip"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// TestIPv6PDR decodes PDR entries with the IPv6 fields (128-bit ternaries and
// ip_version) under the rules of the narrow fields, and encodes them back to
// the canonical form.
func TestIPv6PDR(t *testing.T) {
	tr := newTranslator(t)
	src := netip.MustParsePrefix("2001:db8:1::/48")
	want := dataplane.MatchAll()
	want.Src6 = dataplane.Prefix6(src)
	want.Family = dataplane.FamilyIPv6
	want.Proto = dataplane.Exact[uint8](17)
	want.DstPort = dataplane.PortRange{Lo: 5060, Hi: 5061}
	v := src.Addr().As16()
	canonVal := v[:6] // 2001:0db8:0001 and ten zero bytes: the value is not short
	canonVal = append(append([]byte(nil), canonVal...), make([]byte, 10)...)
	mask := bytes.Repeat([]byte{0xff}, 6)
	mask = append(mask, make([]byte, 10)...)
	entry := func(val, msk []byte) *p4v1.TableEntry {
		return pdrEntry(7, setFAR(b(3)),
			tern(p4info.IDFieldPDRIPProto, b(17), b(0xff)),
			rng(p4info.IDFieldPDRL4Dport, b(0x13, 0xc4), b(0x13, 0xc5)),
			tern(p4info.IDFieldPDRIPVersion, b(6), b(0xf)),
			tern(p4info.IDFieldPDRSrcAddr6, val, msk))
	}
	for _, c := range []struct {
		name     string
		val, msk []byte
	}{
		{"canonical", canonVal, mask},
		{"padded with leading zero bytes", append(make([]byte, 3), canonVal...), append([]byte{0}, mask...)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e, err := tr.DecodeTableEntry(entry(c.val, c.msk), insert)
			if err != nil {
				t.Fatal(err)
			}
			if e.Key.Match != want {
				t.Fatalf("match %+v, want %+v", e.Key.Match, want)
			}
			back, err := tr.EncodeTableEntry(e)
			if err != nil {
				t.Fatal(err)
			}
			if !proto.Equal(back, entry(canonVal, mask)) {
				t.Fatalf("encoded back as %v, want the canonical entry", back)
			}
		})
	}

	// A host address's low bits: the shortest bytestring drops leading zeros.
	var low dataplane.Addr6
	low.Mask[15], low.Value[15] = 0xff, 7
	m := dataplane.MatchAll()
	m.Dst6 = low
	te, err := tr.EncodeTableEntry(Entry{Key: pdrKey(m, 1), Action: SetFAR{FAR: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if got := te.GetMatch()[0].GetTernary(); len(te.GetMatch()) != 1 || !bytes.Equal(got.GetValue(), b(7)) || !bytes.Equal(got.GetMask(), b(0xff)) {
		t.Fatalf("low-bits match encoded as %v, want value 0x07 mask 0xff", te.GetMatch())
	}

	bad := []struct {
		name string
		te   *p4v1.TableEntry
		code codes.Code
	}{
		{"value over 128 bits", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRDstAddr6, append([]byte{1}, make([]byte, 16)...), bytes.Repeat([]byte{0xff}, 16))), codes.OutOfRange},
		{"mask over 128 bits", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRDstAddr6, b(1), append([]byte{1}, make([]byte, 16)...))), codes.OutOfRange},
		{"empty value", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRDstAddr6, nil, b(1))), codes.OutOfRange},
		{"zero mask", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRDstAddr6, b(0), b(0))), codes.InvalidArgument},
		{"value bits outside the mask", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRSrcAddr6, b(3), b(1))), codes.InvalidArgument},
		{"exact match on a ternary IPv6 field", pdrEntry(1, setFAR(b(1)), exact(p4info.IDFieldPDRSrcAddr6, b(3))), codes.InvalidArgument},
		{"ip_version 5", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRIPVersion, b(5), b(0xf))), codes.InvalidArgument},
		{"ip_version partial mask", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRIPVersion, b(4), b(0xc))), codes.InvalidArgument},
		{"ip_version over 4 bits", pdrEntry(1, setFAR(b(1)), tern(p4info.IDFieldPDRIPVersion, b(0x16), b(0x1f))), codes.OutOfRange},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := tr.DecodeTableEntry(c.te, insert)
			wantCode(t, err, c.code)
		})
	}
}

func TestDecodeWide(t *testing.T) {
	for _, c := range []struct {
		in    []byte
		width int
		ok    bool
	}{
		{b(0), 128, true}, {b(0xff), 8, true}, {b(1, 0), 8, false}, {bytes.Repeat([]byte{0xff}, 16), 128, true},
		{bytes.Repeat([]byte{0xff}, 17), 128, false}, {append(make([]byte, 20), 1), 128, true}, {b(0x10), 4, false},
	} {
		_, err := DecodeWide(c.in, c.width)
		if (err == nil) != c.ok {
			t.Errorf("DecodeWide(%x, %d): %v, want ok=%v", c.in, c.width, err, c.ok)
		}
	}
	if got := EncodeWide([16]byte{}); !bytes.Equal(got, b(0)) {
		t.Errorf("EncodeWide(0) = %x, want 00", got)
	}
}
