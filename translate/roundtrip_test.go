package translate

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

func netipPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func protoEqual(a, b proto.Message) bool { return proto.Equal(a, b) }

// pad returns v with leading zero bytes up to n bytes.
func pad(v []byte, n int) []byte {
	if len(v) >= n {
		return v
	}
	return append(make([]byte, n-len(v)), v...)
}

// padEntry returns a copy of te with every bytestring padded to its field's or
// parameter's width plus extra bytes, and match fields and parameters reversed:
// another valid encoding of the same entry.
func padEntry(t testing.TB, idx *p4info.Index, te *p4v1.TableEntry, extra int) *p4v1.TableEntry {
	t.Helper()
	te = proto.Clone(te).(*p4v1.TableEntry)
	tab, ok := idx.Table(te.TableId)
	if !ok {
		t.Fatalf("table 0x%08x", te.TableId)
	}
	for _, m := range te.Match {
		f, _ := tab.MatchField(m.FieldId)
		n := f.Bytes() + extra
		switch k := m.FieldMatchType.(type) {
		case *p4v1.FieldMatch_Exact_:
			k.Exact.Value = pad(k.Exact.Value, n)
		case *p4v1.FieldMatch_Ternary_:
			k.Ternary.Value, k.Ternary.Mask = pad(k.Ternary.Value, n), pad(k.Ternary.Mask, n)
		case *p4v1.FieldMatch_Range_:
			k.Range.Low, k.Range.High = pad(k.Range.Low, n), pad(k.Range.High, n)
		}
	}
	reverse(te.Match)
	padAction := func(a *p4v1.Action) {
		info, _ := idx.Action(a.ActionId)
		for _, p := range a.Params {
			pi, _ := info.Param(p.ParamId)
			p.Value = pad(p.Value, pi.Bytes()+extra)
		}
		reverse(a.Params)
	}
	switch a := te.GetAction().GetType().(type) {
	case *p4v1.TableAction_Action:
		padAction(a.Action)
	case *p4v1.TableAction_ActionProfileActionSet:
		for _, x := range a.ActionProfileActionSet.ActionProfileActions {
			padAction(x.Action)
		}
	}
	return te
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// sampleEntries are valid entries of every table and action kind.
func sampleEntries() []Entry {
	m := dataplane.PDRMatch{
		InPort:    dataplane.Exact[uint16](0xffff),
		Direction: dataplane.Ternary[uint8]{Value: 2, Mask: 2},
		Src:       dataplane.Prefix(netipPrefix("0.0.0.0/1")),
		Dst:       dataplane.Exact[uint32](0),
		Proto:     dataplane.Ternary[uint8]{Value: 0x10, Mask: 0x10},
		SrcPort:   dataplane.PortRange{Lo: 0, Hi: 1023},
		DstPort:   dataplane.PortRange{Lo: 1, Hi: 0xffff},
		DSCP:      dataplane.Exact[uint8](0x3f),
	}
	m.DSCP.Mask = 0x3f
	onlySport := dataplane.MatchAll()
	onlySport.SrcPort = dataplane.OnePort(0xffff)
	return []Entry{
		{Key: pdrKey(m, 1), Action: SetFAR{FAR: 0xffffffff}, ControllerMetadata: 1, Metadata: []byte("cookie")},
		{Key: pdrKey(onlySport, 1<<24), Action: SetFAR{FAR: 0}},
		{Key: pdrKey(dataplane.MatchAll(), 1<<31-1), Action: SetFAR{FAR: 256}, ControllerMetadata: 1<<64 - 1},
		{Key: Key{Table: p4info.IDTablePDR, Default: true}, Action: farAct(dataplane.ActDrop), ControllerMetadata: 3},
		{Key: Key{Table: p4info.IDTablePDR, Default: true}, Action: farAct(dataplane.ActPass)},
		{Key: Key{Table: p4info.IDTableFAR, FAR: 0}, Action: farAct(dataplane.ActDrop)},
		{Key: Key{Table: p4info.IDTableFAR, FAR: 1}, Action: farAct(dataplane.ActPass), Metadata: []byte{0}},
		{Key: Key{Table: p4info.IDTableFAR, FAR: 2}, Action: FARAction{FAR: dataplane.FAR{Action: dataplane.ActForward, Port: 0x1ff}}},
		{Key: Key{Table: p4info.IDTableFAR, FAR: 3}, Action: FARAction{FAR: dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 0}}},
		{Key: Key{Table: p4info.IDTableFAR, FAR: 4}, Action: FARAction{FAR: dataplane.FAR{Action: dataplane.ActBalance, LBR: 0x10000}}},
		{Key: Key{Table: p4info.IDTableFAR, FAR: 0xffffffff}, Action: farAct(dataplane.ActPunt)},
		{Key: Key{Table: p4info.IDTableFAR, Default: true}, Action: farAct(dataplane.ActDrop)},
		{Key: Key{Table: p4info.IDTableLBR, LBR: 1}, Action: ProfileMember{ID: 1}},
		{Key: Key{Table: p4info.IDTableLBR, LBR: 2}, Action: ProfileGroup{ID: 0xffffffff}, ControllerMetadata: 9},
		{Key: Key{Table: p4info.IDTableLBR, LBR: 3}, Action: ActionSet{Members: []dataplane.LBRMember{
			{Tunnel: 5, Weight: 1}, {Tunnel: 1, Weight: 1<<31 - 1, Watch: 513}, {Tunnel: 5, Weight: 2, Watch: 0xffff}}}},
		{Key: Key{Table: p4info.IDTableLBR, LBR: 4}, Action: ActionSet{Members: []dataplane.LBRMember{}}},
		{Key: Key{Table: p4info.IDTableTunnels, Tunnel: 7}, Action: SetGRE{Tunnel: dataplane.Tunnel{
			Port: 1, Src: addr("192.0.2.1"), Dst: addr("198.51.100.2"), Key: 0xffffffff}}},
		{Key: Key{Table: p4info.IDTableTunnels, Tunnel: 8}, Action: SetGRE{Tunnel: dataplane.Tunnel{
			Port: 0, Src: addr("0.0.0.0"), Dst: addr("255.255.255.255")}}},
		{Key: Key{Table: p4info.IDTableTunnelTerm, Term: dataplane.TunnelTerm{Remote: addr("198.51.100.2"), Local: addr("192.0.2.1")}},
			Action: Decap{Tunnel: 7}},
		{Key: Key{Table: p4info.IDTableTunnelTerm, Term: dataplane.TunnelTerm{Remote: addr("0.0.0.1"), Local: addr("0.0.0.0"), Key: 1}},
			Action: Decap{Tunnel: 0xffffffff}},
		{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: CopyToController{}},
		{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x88cc}, Action: farAct(dataplane.ActPunt), ControllerMetadata: 7},
		{Key: Key{Table: p4info.IDTableNonIP, EthType: 0}, Action: farAct(dataplane.ActPass)},
		{Key: Key{Table: p4info.IDTableNonIP, EthType: 0xffff}, Action: farAct(dataplane.ActDrop), Metadata: []byte("m")},
		{Key: Key{Table: p4info.IDTableNonIP, Default: true}, Action: farAct(dataplane.ActPass)},
	}
}

// opFor is the update type that writes e.
func opFor(e Entry) p4v1.Update_Type {
	if e.Default {
		return p4v1.Update_MODIFY
	}
	return p4v1.Update_INSERT
}

// checkRoundTrip checks that e encodes to a canonical entry that decodes back to
// e, that padded and reordered encodings canonicalize to the same bytes, and that
// the canonical form is stable.
func checkRoundTrip(t *testing.T, tr *Translator, e Entry) {
	t.Helper()
	te, err := tr.EncodeTableEntry(e)
	if err != nil {
		t.Fatalf("encode %+v: %v", e, err)
	}
	wire := mustMarshal(t, te)
	got, err := tr.decodeStored(te)
	if err != nil {
		t.Fatalf("decode %v: %v", te, err)
	}
	if !got.Equal(e) {
		t.Fatalf("round trip changed the entry:\n got %+v\nwant %+v", got, e)
	}
	if tab, _ := tr.idx.Table(e.Table); !e.Default || tab.ConstDefaultAction() == nil {
		w, err := tr.DecodeTableEntry(te, opFor(e))
		if err != nil || !w.Equal(e) {
			t.Fatalf("write of %v decodes to %+v, %v", te, w, err)
		}
	}
	canon, err := tr.Canonical(te)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(canon, te) || !bytes.Equal(mustMarshal(t, canon), wire) {
		t.Fatalf("canonical input changed:\n in %v\nout %v", te, canon)
	}
	for extra := range 3 {
		padded := padEntry(t, tr.idx, te, extra)
		c, err := tr.Canonical(padded)
		if err != nil {
			t.Fatalf("padded (+%d) %v: %v", extra, padded, err)
		}
		if !bytes.Equal(mustMarshal(t, c), wire) {
			t.Fatalf("padded (+%d) %v\ncanonicalizes to %v\nwant %v", extra, padded, c, te)
		}
		if e2, err := tr.decodeStored(padded); err != nil || !e2.Equal(e) {
			t.Fatalf("padded (+%d) decodes to %+v, %v", extra, e2, err)
		}
	}
}

func TestRoundTripSamples(t *testing.T) {
	tr := newTranslator(t)
	for _, e := range sampleEntries() {
		checkRoundTrip(t, tr, e)
	}
}

// TestRoundTripWrite is the server's cycle: Write accepts a message, the server
// stores the decoded entry, Read returns its encoding — byte for byte what was
// written when the client writes canonical entries (ONOS master, p4runtime-shell),
// and the same values when it pads (ONOS <= 2.7).
func TestRoundTripWrite(t *testing.T) {
	tr := newTranslator(t)
	written := pdrEntry(1000, setFAR(b(0x12, 0x34)),
		tern(p4info.IDFieldPDRDirection, b(1), b(3)),
		tern(p4info.IDFieldPDRDstAddr, b(10, 0, 0, 0), b(0xff, 0, 0, 0)),
		rng(p4info.IDFieldPDRL4Dport, b(0x50), b(0x1f, 0x90)))
	written.ControllerMetadata = 0x0123456789abcdef
	written.Metadata = []byte("onos")
	e, err := tr.DecodeTableEntry(written, insert)
	if err != nil {
		t.Fatal(err)
	}
	read, err := tr.EncodeTableEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustMarshal(t, read), mustMarshal(t, written)) {
		t.Fatalf("read %v\nwrote %v", read, written)
	}

	onos27 := padEntry(t, tr.idx, written, 0)
	onos27.Match = written.Match // ONOS keeps its order; only the padding differs
	e2, err := tr.DecodeTableEntry(onos27, insert)
	if err != nil {
		t.Fatal(err)
	}
	if e2.Key != e.Key {
		t.Fatal("padded and canonical writes of one entry must have the same key")
	}
	read2, _ := tr.EncodeTableEntry(e2)
	if !proto.Equal(read2, written) {
		t.Fatalf("padded write reads back as %v", read2)
	}
}

// randomEntry returns a random valid entry.
func randomEntry(r *rand.Rand) Entry {
	u16 := func() uint16 { return uint16(r.Uint32()) }
	tern32 := func() dataplane.Ternary[uint32] {
		m := r.Uint32() >> r.IntN(33)
		if r.IntN(3) == 0 {
			m = 0
		}
		return dataplane.Ternary[uint32]{Value: r.Uint32() & m, Mask: m}
	}
	tern8 := func(width uint) dataplane.Ternary[uint8] {
		m := uint8(r.Uint32()) & (1<<width - 1)
		if r.IntN(3) == 0 {
			m = 0
		}
		return dataplane.Ternary[uint8]{Value: uint8(r.Uint32()) & m, Mask: m}
	}
	ports := func() dataplane.PortRange {
		if r.IntN(3) == 0 {
			return dataplane.AnyPort
		}
		a, c := u16(), u16()
		if a > c {
			a, c = c, a
		}
		if a == 0 && c == 0xffff {
			c--
		}
		return dataplane.PortRange{Lo: a, Hi: c}
	}
	small := func() uint32 { return r.Uint32() >> r.IntN(32) }
	e := Entry{ControllerMetadata: r.Uint64() >> r.IntN(65)}
	if r.IntN(3) == 0 {
		e.Metadata = []byte{byte(r.Uint32()), 0, 1}
	}
	farActs := []dataplane.FAR{
		{Action: dataplane.ActDrop}, {Action: dataplane.ActPass}, {Action: dataplane.ActPunt},
		{Action: dataplane.ActForward, Port: dataplane.PortID(u16())},
		{Action: dataplane.ActEncap, Tunnel: dataplane.TunnelID(small())},
		{Action: dataplane.ActBalance, LBR: dataplane.LBRID(small())},
	}
	switch r.IntN(8) {
	case 0:
		m := dataplane.PDRMatch{
			InPort: dataplane.Ternary[uint16]{Value: u16(), Mask: 0xffff}, Direction: tern8(2),
			Src: tern32(), Dst: tern32(), Proto: tern8(8), SrcPort: ports(), DstPort: ports(), DSCP: tern8(6),
		}
		if r.IntN(2) == 0 {
			m.InPort = dataplane.Ternary[uint16]{}
		}
		e.Key = pdrKey(m, int32(r.Uint32()>>(1+r.IntN(31)))|1)
		e.Action = SetFAR{FAR: dataplane.FARID(small())}
	case 1:
		e.Key = Key{Table: p4info.IDTablePDR, Default: true}
		e.Action = farAct([]dataplane.Action{dataplane.ActPass, dataplane.ActDrop}[r.IntN(2)])
	case 2:
		e.Key = Key{Table: p4info.IDTableFAR, FAR: dataplane.FARID(small())}
		e.Action = FARAction{FAR: farActs[r.IntN(len(farActs))]}
	case 3:
		e.Key = Key{Table: p4info.IDTableLBR, LBR: dataplane.LBRID(small())}
		switch r.IntN(3) {
		case 0:
			e.Action = ProfileMember{ID: small() | 1}
		case 1:
			e.Action = ProfileGroup{ID: small() | 1}
		default:
			set := ActionSet{Members: []dataplane.LBRMember{}}
			for range r.IntN(17) {
				set.Members = append(set.Members, dataplane.LBRMember{Tunnel: dataplane.TunnelID(small()), Weight: small()>>1 | 1, Watch: uint32(u16())})
			}
			e.Action = set
		}
	case 4:
		e.Key = Key{Table: p4info.IDTableTunnels, Tunnel: dataplane.TunnelID(small())}
		e.Action = SetGRE{Tunnel: dataplane.Tunnel{Port: dataplane.PortID(u16()),
			Src: dataplane.AddrFrom4(r.Uint32()), Dst: dataplane.AddrFrom4(small()), Key: small()}}
	case 5:
		e.Key = Key{Table: p4info.IDTableTunnelTerm, Term: dataplane.TunnelTerm{
			Remote: dataplane.AddrFrom4(r.Uint32()), Local: dataplane.AddrFrom4(small()), Key: small()}}
		e.Action = Decap{Tunnel: dataplane.TunnelID(small())}
	case 6:
		et := u16()
		for et == dataplane.EtherTypeIPv4 || et == dataplane.EtherTypeDot1Q || et == dataplane.EtherTypeDot1AD {
			et = u16()
		}
		e.Key = Key{Table: p4info.IDTableNonIP, EthType: et}
		e.Action = []Action{farAct(dataplane.ActPass), farAct(dataplane.ActDrop), farAct(dataplane.ActPunt), CopyToController{}}[r.IntN(4)]
	case 7:
		e.Key = Key{Table: p4info.IDTableSLAClass, LBR: dataplane.LBRID(small())}
		e.Action = SetSLA{DSCP: uint8(r.IntN(64)), RTT: time.Duration(small()) * time.Microsecond,
			LossPPM: uint32(r.IntN(1_000_001)), Jitter: time.Duration(small()) * time.Microsecond}
	}
	return e
}

func TestRoundTripRandom(t *testing.T) {
	tr := newTranslator(t)
	r := rand.New(rand.NewPCG(1, 2))
	for range 3000 {
		checkRoundTrip(t, tr, randomEntry(r))
	}
}

func TestEncodeRejectsInvalidEntries(t *testing.T) {
	tr := newTranslator(t)
	bad := []Entry{
		{Key: Key{Table: 99}},
		{Key: pdrKey(dataplane.MatchAll(), 0), Action: SetFAR{}},
		{Key: Key{Table: p4info.IDTableFAR, Priority: 1}, Action: farAct(dataplane.ActDrop)},
		{Key: Key{Table: p4info.IDTablePDR, Default: true, Priority: 1}},
		{Key: pdrKey(dataplane.PDRMatch{Src: dataplane.Ternary[uint32]{Value: 1, Mask: 0}, SrcPort: dataplane.AnyPort, DstPort: dataplane.AnyPort}, 1), Action: SetFAR{}},
		{Key: pdrKey(dataplane.PDRMatch{DSCP: dataplane.Exact[uint8](1), SrcPort: dataplane.AnyPort, DstPort: dataplane.AnyPort}, 1), Action: SetFAR{}},
		{Key: pdrKey(dataplane.PDRMatch{SrcPort: dataplane.PortRange{Lo: 2, Hi: 1}, DstPort: dataplane.AnyPort}, 1), Action: SetFAR{}},
		{Key: pdrKey(dataplane.MatchAll(), 1), Action: farAct(dataplane.ActPass)},
		{Key: Key{Table: p4info.IDTablePDR, Default: true}, Action: SetFAR{}},
		{Key: Key{Table: p4info.IDTableFAR}, Action: SetFAR{}},
		{Key: Key{Table: p4info.IDTableFAR}, Action: farAct(dataplane.Action(99))},
		{Key: Key{Table: p4info.IDTableFAR}, Action: ProfileMember{ID: 1}},
		{Key: Key{Table: p4info.IDTableLBR}, Action: farAct(dataplane.ActDrop)},
		{Key: Key{Table: p4info.IDTableLBR}, Action: ProfileMember{}},
		{Key: Key{Table: p4info.IDTableLBR}, Action: ActionSet{Members: []dataplane.LBRMember{{Tunnel: 1}}}},
		{Key: Key{Table: p4info.IDTableTunnels}, Action: SetGRE{}},
		{Key: Key{Table: p4info.IDTableTunnelTerm}, Action: Decap{}},
		{Key: Key{Table: p4info.IDTableTunnelTerm, Term: dataplane.TunnelTerm{Remote: addr("::1"), Local: addr("10.0.0.1")}}, Action: Decap{}},
		{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: farAct(dataplane.ActForward)},
		{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806, Priority: 1}, Action: farAct(dataplane.ActDrop)},
		{Key: Key{Table: p4info.IDTableNonIP, Default: true}, Action: farAct(dataplane.ActDrop)},
		{Key: Key{Table: p4info.IDTableFAR}, Action: CopyToController{}},
	}
	for _, e := range bad {
		te, err := tr.EncodeTableEntry(e)
		if err == nil {
			t.Errorf("encoded invalid entry %+v as %v", e, te)
			continue
		}
		if Code(err) != internal {
			t.Errorf("%+v: %v, want code Internal", e, err)
		}
	}
}
