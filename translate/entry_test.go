package translate

import (
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

const (
	insert = p4v1.Update_INSERT
	modify = p4v1.Update_MODIFY
	del    = p4v1.Update_DELETE
)

func pdrEntry(prio int32, action *p4v1.TableAction, ms ...*p4v1.FieldMatch) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Match: ms, Priority: prio, Action: action}
}

func setFAR(id []byte) *p4v1.TableAction {
	return direct(act(p4info.IDActionSetFAR, prm(p4info.IDParamSetFARFarID, id)))
}

func farEntry(id []byte, a *p4v1.Action) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldFARFarID, id)}, Action: direct(a)}
}

func lbrEntry(id []byte, a *p4v1.TableAction) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableLBR, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldLBRLbrID, id)}, Action: a}
}

func encap(tunnel []byte) *p4v1.Action {
	return act(p4info.IDActionEncap, prm(p4info.IDParamEncapTunnelID, tunnel))
}

func setGRE(port, src, dst, key []byte) *p4v1.Action {
	return act(p4info.IDActionSetGRE, prm(p4info.IDParamSetGREPort, port), prm(p4info.IDParamSetGRESrcAddr, src),
		prm(p4info.IDParamSetGREDstAddr, dst), prm(p4info.IDParamSetGREKey, key))
}

func termEntry(src, dst, key []byte, tunnel []byte) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm,
		Match: []*p4v1.FieldMatch{
			exact(p4info.IDFieldTunnelTermSrcAddr, src),
			exact(p4info.IDFieldTunnelTermDstAddr, dst),
			exact(p4info.IDFieldTunnelTermGREKey, key),
		},
		Action: direct(act(p4info.IDActionDecap, prm(p4info.IDParamDecapTunnelID, tunnel)))}
}

func nonIPEntry(ethType []byte, a *p4v1.Action) *p4v1.TableEntry {
	te := &p4v1.TableEntry{TableId: p4info.IDTableNonIP, Match: []*p4v1.FieldMatch{exact(p4info.IDFieldNonIPEthType, ethType)}}
	if a != nil {
		te.Action = direct(a)
	}
	return te
}

func defaultEntry(table uint32, a *p4v1.TableAction) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: table, IsDefaultAction: true, Action: a}
}

func TestDecodeTableEntry(t *testing.T) {
	tr := newTranslator(t)
	full := dataplane.PDRMatch{
		InPort:    dataplane.Exact[uint16](3),
		Direction: dataplane.Ternary[uint8]{Value: uint8(dataplane.DirUplink), Mask: 3},
		Src:       dataplane.Prefix(netipPrefix("10.1.0.0/16")),
		Dst:       dataplane.Ternary[uint32]{Value: 0x0a020003, Mask: 0xffff00ff},
		Proto:     dataplane.Exact[uint8](6),
		SrcPort:   dataplane.PortRange{Lo: 1024, Hi: 65535},
		DstPort:   dataplane.OnePort(443),
		DSCP:      dataplane.Ternary[uint8]{Value: 0x28, Mask: 0x38},
	}
	dstOnly := dataplane.MatchAll()
	dstOnly.Dst = dataplane.Exact[uint32](0xc0a80001)
	zeroes := dataplane.MatchAll()
	zeroes.Proto = dataplane.Ternary[uint8]{Value: 0, Mask: 0xff}
	zeroes.DstPort = dataplane.OnePort(0)

	pdrFull := func(p func(canonical []byte, width int) []byte) *p4v1.TableEntry {
		return pdrEntry(10, setFAR(p(b(7), 32)),
			tern(p4info.IDFieldPDRIngressPort, p(b(3), 16), p(b(0xff, 0xff), 16)),
			tern(p4info.IDFieldPDRDirection, p(b(1), 2), p(b(3), 2)),
			tern(p4info.IDFieldPDRSrcAddr, p(b(10, 1, 0, 0), 32), p(b(0xff, 0xff, 0, 0), 32)),
			tern(p4info.IDFieldPDRDstAddr, p(b(10, 2, 0, 3), 32), p(b(0xff, 0xff, 0, 0xff), 32)),
			tern(p4info.IDFieldPDRIPProto, p(b(6), 8), p(b(0xff), 8)),
			rng(p4info.IDFieldPDRL4Sport, p(b(4, 0), 16), p(b(0xff, 0xff), 16)),
			rng(p4info.IDFieldPDRL4Dport, p(b(1, 0xbb), 16), p(b(1, 0xbb), 16)),
			tern(p4info.IDFieldPDRDSCP, p(b(0x28), 6), p(b(0x38), 6)),
		)
	}
	asIs := func(v []byte, _ int) []byte { return v }
	padded := func(v []byte, width int) []byte { return pad(v, (width+7)/8) }
	overPadded := func(v []byte, width int) []byte { return pad(v, (width+7)/8+3) }

	cases := []struct {
		name string
		te   *p4v1.TableEntry
		op   p4v1.Update_Type
		want Entry
	}{
		{"pdr every field canonical", pdrFull(asIs), insert,
			Entry{Key: pdrKey(full, 10), Action: SetFAR{FAR: 7}}},
		{"pdr every field padded to width (ONOS <= 2.7)", pdrFull(padded), insert,
			Entry{Key: pdrKey(full, 10), Action: SetFAR{FAR: 7}}},
		{"pdr every field with extra leading zero bytes", pdrFull(overPadded), insert,
			Entry{Key: pdrKey(full, 10), Action: SetFAR{FAR: 7}}},
		{"pdr one field, others wildcard", pdrEntry(1, setFAR(b(0)),
			tern(p4info.IDFieldPDRDstAddr, b(192, 168, 0, 1), b(0xff, 0xff, 0xff, 0xff))), insert,
			Entry{Key: pdrKey(dstOnly, 1), Action: SetFAR{FAR: 0}}},
		{"pdr zero values are not wildcards", pdrEntry(1, setFAR(b(0)),
			tern(p4info.IDFieldPDRIPProto, b(0), b(0xff)), rng(p4info.IDFieldPDRL4Dport, b(0), b(0))), insert,
			Entry{Key: pdrKey(zeroes, 1), Action: SetFAR{FAR: 0}}},
		{"pdr no match at all (lowest-priority catch-all)", pdrEntry(1, setFAR(b(9))), insert,
			Entry{Key: pdrKey(dataplane.MatchAll(), 1), Action: SetFAR{FAR: 9}}},
		{"pdr max priority and metadata", func() *p4v1.TableEntry {
			te := pdrEntry(1<<31-1, setFAR(b(1)))
			te.ControllerMetadata = 0xdeadbeefcafe
			te.Metadata = b(1, 2, 3)
			return te
		}(), insert, Entry{Key: pdrKey(dataplane.MatchAll(), 1<<31-1), Action: SetFAR{FAR: 1},
			ControllerMetadata: 0xdeadbeefcafe, Metadata: b(1, 2, 3)}},
		{"pdr counter_data on insert", func() *p4v1.TableEntry {
			te := pdrEntry(5, setFAR(b(1)))
			te.CounterData = &p4v1.CounterData{ByteCount: 100, PacketCount: 2}
			return te
		}(), insert, Entry{Key: pdrKey(dataplane.MatchAll(), 5), Action: SetFAR{FAR: 1},
			Counter: &dataplane.Counter{Packets: 2, Bytes: 100}}},
		{"pdr modify without action", pdrEntry(5, nil), modify,
			Entry{Key: pdrKey(dataplane.MatchAll(), 5)}},
		{"pdr delete ignores everything but the key", func() *p4v1.TableEntry {
			te := pdrEntry(5, direct(act(0x01ffffff)), tern(p4info.IDFieldPDRIPProto, b(17), b(0xff)))
			te.MeterConfig = &p4v1.MeterConfig{Cir: 1}
			te.IdleTimeoutNs = 5
			te.CounterData = &p4v1.CounterData{ByteCount: -1}
			return te
		}(), del, Entry{Key: pdrKey(func() dataplane.PDRMatch {
			m := dataplane.MatchAll()
			m.Proto = dataplane.Exact[uint8](17)
			return m
		}(), 5)}},
		{"pdr default pass", defaultEntry(p4info.IDTablePDR, direct(act(p4info.IDActionPass))), modify,
			Entry{Key: Key{Table: p4info.IDTablePDR, Default: true}, Action: farAct(dataplane.ActPass)}},
		{"pdr default drop", defaultEntry(p4info.IDTablePDR, direct(act(p4info.IDActionDrop))), modify,
			Entry{Key: Key{Table: p4info.IDTablePDR, Default: true}, Action: farAct(dataplane.ActDrop)}},
		{"pdr default reset", defaultEntry(p4info.IDTablePDR, nil), modify,
			Entry{Key: Key{Table: p4info.IDTablePDR, Default: true}}},
		{"far drop", farEntry(b(1), act(p4info.IDActionDrop)), insert,
			Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 1}, Action: farAct(dataplane.ActDrop)}},
		{"far pass", farEntry(b(0, 0, 0, 2), act(p4info.IDActionPass)), insert,
			Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 2}, Action: farAct(dataplane.ActPass)}},
		{"far forward", farEntry(b(0xff, 0xff, 0xff, 0xff), act(p4info.IDActionForward, prm(p4info.IDParamForwardPort, b(0, 2)))), insert,
			Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 0xffffffff},
				Action: FARAction{FAR: dataplane.FAR{Action: dataplane.ActForward, Port: 2}}}},
		{"far encap", farEntry(b(3), encap(b(0x0f, 0xff))), insert,
			Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 3},
				Action: FARAction{FAR: dataplane.FAR{Action: dataplane.ActEncap, Tunnel: 4095}}}},
		{"far balance", farEntry(b(4), act(p4info.IDActionBalance, prm(p4info.IDParamBalanceLbrID, b(7)))), insert,
			Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 4},
				Action: FARAction{FAR: dataplane.FAR{Action: dataplane.ActBalance, LBR: 7}}}},
		{"far punt", farEntry(b(5), act(p4info.IDActionPunt)), insert,
			Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 5}, Action: farAct(dataplane.ActPunt)}},
		{"lbr member", lbrEntry(b(1), memberRef(10)), insert,
			Entry{Key: Key{Table: p4info.IDTableLBR, LBR: 1}, Action: ProfileMember{ID: 10}}},
		{"lbr group", lbrEntry(b(2), groupRef(20)), insert,
			Entry{Key: Key{Table: p4info.IDTableLBR, LBR: 2}, Action: ProfileGroup{ID: 20}}},
		{"lbr one-shot action set", lbrEntry(b(3), actionSet(weighted(encap(b(1)), 3), weighted(encap(b(0, 2)), 1))), insert,
			Entry{Key: Key{Table: p4info.IDTableLBR, LBR: 3},
				Action: ActionSet{Members: []dataplane.LBRMember{{Tunnel: 1, Weight: 3}, {Tunnel: 2, Weight: 1}}}}},
		{"lbr empty action set", lbrEntry(b(3), actionSet()), insert,
			Entry{Key: Key{Table: p4info.IDTableLBR, LBR: 3}, Action: ActionSet{Members: []dataplane.LBRMember{}}}},
		{"tunnels set_gre", &p4v1.TableEntry{TableId: p4info.IDTableTunnels,
			Match:  []*p4v1.FieldMatch{exact(p4info.IDFieldTunnelsTunnelID, b(1))},
			Action: direct(setGRE(b(2), b(192, 0, 2, 1), b(0, 198, 51, 100, 7), b(0)))}, insert,
			Entry{Key: Key{Table: p4info.IDTableTunnels, Tunnel: 1},
				Action: SetGRE{Tunnel: dataplane.Tunnel{Port: 2, Src: addr("192.0.2.1"), Dst: addr("198.51.100.7")}}}},
		{"tunnel_term decap", termEntry(b(198, 51, 100, 7), b(192, 0, 2, 1), b(0, 0, 0x12, 0x34), b(1)), insert,
			Entry{Key: Key{Table: p4info.IDTableTunnelTerm,
				Term: dataplane.TunnelTerm{Remote: addr("198.51.100.7"), Local: addr("192.0.2.1"), Key: 0x1234}},
				Action: Decap{Tunnel: 1}}},
		{"match fields in any order", &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm,
			Match: []*p4v1.FieldMatch{
				exact(p4info.IDFieldTunnelTermGREKey, b(0)),
				exact(p4info.IDFieldTunnelTermDstAddr, b(192, 0, 2, 1)),
				exact(p4info.IDFieldTunnelTermSrcAddr, b(198, 51, 100, 7)),
			}, Action: direct(act(p4info.IDActionDecap, prm(p4info.IDParamDecapTunnelID, b(1))))}, insert,
			Entry{Key: Key{Table: p4info.IDTableTunnelTerm,
				Term: dataplane.TunnelTerm{Remote: addr("198.51.100.7"), Local: addr("192.0.2.1")}},
				Action: Decap{Tunnel: 1}}},
		{"params in any order", &p4v1.TableEntry{TableId: p4info.IDTableTunnels,
			Match: []*p4v1.FieldMatch{exact(p4info.IDFieldTunnelsTunnelID, b(1))},
			Action: direct(act(p4info.IDActionSetGRE, prm(p4info.IDParamSetGREKey, b(9)), prm(p4info.IDParamSetGREDstAddr, b(10, 0, 0, 2)),
				prm(p4info.IDParamSetGRESrcAddr, b(10, 0, 0, 1)), prm(p4info.IDParamSetGREPort, b(1))))}, insert,
			Entry{Key: Key{Table: p4info.IDTableTunnels, Tunnel: 1},
				Action: SetGRE{Tunnel: dataplane.Tunnel{Port: 1, Src: addr("10.0.0.1"), Dst: addr("10.0.0.2"), Key: 9}}}},
		{"far delete", &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: []*p4v1.FieldMatch{exact(1, b(0, 0, 0, 0, 9))}}, del,
			Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 9}}},
		{"non_ip copy_to_controller", nonIPEntry(b(0x08, 0x06), act(p4info.IDActionCopyToController)), insert,
			Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: CopyToController{}}},
		{"non_ip punt, padded", nonIPEntry(b(0, 0x88, 0xcc), act(p4info.IDActionPunt)), insert,
			Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x88cc}, Action: farAct(dataplane.ActPunt)}},
		{"non_ip pass", nonIPEntry(b(0x86, 0xdd), act(p4info.IDActionPass)), modify,
			Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x86dd}, Action: farAct(dataplane.ActPass)}},
		{"non_ip drop with counter_data", &p4v1.TableEntry{TableId: p4info.IDTableNonIP,
			Match:  []*p4v1.FieldMatch{exact(p4info.IDFieldNonIPEthType, b(0x89, 0x42))},
			Action: direct(act(p4info.IDActionDrop)), CounterData: &p4v1.CounterData{PacketCount: 3, ByteCount: 200}}, insert,
			Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x8942}, Action: farAct(dataplane.ActDrop), Counter: &dataplane.Counter{Packets: 3, Bytes: 200}}},
		{"non_ip delete of IPv4 (nothing to refuse: it does not exist)", nonIPEntry(b(0x08, 0x00), nil), del,
			Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0800}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := tr.DecodeTableEntry(c.te, c.op)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(c.want) {
				t.Fatalf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestDecodeTableEntryErrors(t *testing.T) {
	tr := newTranslator(t)
	okPDR := func() *p4v1.TableEntry { return pdrEntry(1, setFAR(b(1))) }
	with := func(te *p4v1.TableEntry, f func(*p4v1.TableEntry)) *p4v1.TableEntry { f(te); return te }
	far := func(a *p4v1.Action) *p4v1.TableEntry { return farEntry(b(1), a) }
	cases := []struct {
		name string
		te   *p4v1.TableEntry
		op   p4v1.Update_Type
		code codes.Code
	}{
		// Update and entity.
		{"unspecified update type", okPDR(), p4v1.Update_UNSPECIFIED, codes.InvalidArgument},
		{"nil entry", nil, insert, codes.InvalidArgument},
		{"unknown table", &p4v1.TableEntry{TableId: 0x02000099}, insert, codes.NotFound},
		{"table id 0", &p4v1.TableEntry{}, insert, codes.NotFound},
		{"is_const", with(okPDR(), func(te *p4v1.TableEntry) { te.IsConst = true }), insert, codes.InvalidArgument},
		{"is_const on delete", with(okPDR(), func(te *p4v1.TableEntry) { te.IsConst = true }), del, codes.InvalidArgument},

		// Match fields.
		{"unknown match field", pdrEntry(1, setFAR(b(1)), tern(9, b(1), b(1))), insert, codes.InvalidArgument},
		{"match field twice", pdrEntry(1, setFAR(b(1)), tern(5, b(6), b(0xff)), tern(5, b(17), b(0xff))), insert, codes.InvalidArgument},
		{"nil match field", pdrEntry(1, setFAR(b(1)), nil), insert, codes.InvalidArgument},
		{"no match type", pdrEntry(1, setFAR(b(1)), &p4v1.FieldMatch{FieldId: 5}), insert, codes.InvalidArgument},
		{"exact on ternary field", pdrEntry(1, setFAR(b(1)), exact(5, b(6))), insert, codes.InvalidArgument},
		{"range on ternary field", pdrEntry(1, setFAR(b(1)), rng(5, b(6), b(7))), insert, codes.InvalidArgument},
		{"ternary on range field", pdrEntry(1, setFAR(b(1)), tern(6, b(6), b(7))), insert, codes.InvalidArgument},
		{"lpm on ternary field", pdrEntry(1, setFAR(b(1)), lpm(3, b(10, 0, 0, 0), 8)), insert, codes.InvalidArgument},
		{"optional on ternary field", pdrEntry(1, setFAR(b(1)), optional(3, b(10))), insert, codes.InvalidArgument},
		{"ternary on exact field", &p4v1.TableEntry{TableId: p4info.IDTableFAR,
			Match: []*p4v1.FieldMatch{tern(1, b(1), b(0xff))}, Action: direct(act(p4info.IDActionDrop))}, insert, codes.InvalidArgument},
		{"exact field missing", &p4v1.TableEntry{TableId: p4info.IDTableFAR, Action: direct(act(p4info.IDActionDrop))}, insert, codes.InvalidArgument},
		{"exact field missing on delete", &p4v1.TableEntry{TableId: p4info.IDTableFAR}, del, codes.InvalidArgument},
		{"one of three exact fields missing", with(termEntry(b(1, 1, 1, 1), b(2, 2, 2, 2), b(0), b(1)),
			func(te *p4v1.TableEntry) { te.Match = te.Match[:2] }), insert, codes.InvalidArgument},
		{"ternary mask zero (don't care must be omitted)", pdrEntry(1, setFAR(b(1)), tern(5, b(0), b(0))), insert, codes.InvalidArgument},
		{"ternary padded mask zero", pdrEntry(1, setFAR(b(1)), tern(3, b(0, 0, 0, 0), b(0, 0, 0, 0))), insert, codes.InvalidArgument},
		{"ternary value outside mask", pdrEntry(1, setFAR(b(1)), tern(3, b(10, 1, 0, 1), b(0xff, 0xff, 0, 0))), insert, codes.InvalidArgument},
		{"range low > high", pdrEntry(1, setFAR(b(1)), rng(7, b(1, 0xbb), b(0x50))), insert, codes.InvalidArgument},
		{"range full (don't care must be omitted)", pdrEntry(1, setFAR(b(1)), rng(7, b(0), b(0xff, 0xff))), insert, codes.InvalidArgument},
		{"range full padded", pdrEntry(1, setFAR(b(1)), rng(6, b(0, 0), b(0, 0xff, 0xff))), insert, codes.InvalidArgument},

		// Bytestrings.
		{"direction value wider than 2 bits", pdrEntry(1, setFAR(b(1)), tern(2, b(4), b(4))), insert, codes.OutOfRange},
		{"direction mask wider than 2 bits", pdrEntry(1, setFAR(b(1)), tern(2, b(1), b(0xff))), insert, codes.OutOfRange},
		{"dscp mask wider than 6 bits", pdrEntry(1, setFAR(b(1)), tern(8, b(0), b(0xfc))), insert, codes.OutOfRange},
		{"ingress_port 17 bits", pdrEntry(1, setFAR(b(1)), tern(1, b(1, 0, 0), b(1, 0, 0))), insert, codes.OutOfRange},
		{"empty ternary value", pdrEntry(1, setFAR(b(1)), tern(5, nil, b(0xff))), insert, codes.OutOfRange},
		{"empty ternary mask", pdrEntry(1, setFAR(b(1)), tern(5, b(1), nil)), insert, codes.OutOfRange},
		{"empty range bound", pdrEntry(1, setFAR(b(1)), rng(6, nil, b(1))), insert, codes.OutOfRange},
		{"empty exact value", &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: []*p4v1.FieldMatch{exact(1, nil)},
			Action: direct(act(p4info.IDActionDrop))}, insert, codes.OutOfRange},
		{"exact value 33 bits", &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: []*p4v1.FieldMatch{exact(1, b(1, 0, 0, 0, 0))},
			Action: direct(act(p4info.IDActionDrop))}, insert, codes.OutOfRange},
		{"range bound 17 bits", pdrEntry(1, setFAR(b(1)), rng(6, b(1), b(1, 0, 0))), insert, codes.OutOfRange},
		{"param value 33 bits", pdrEntry(1, setFAR(b(1, 0, 0, 0, 0))), insert, codes.OutOfRange},
		{"param value empty", pdrEntry(1, setFAR(nil)), insert, codes.OutOfRange},
		{"port param 17 bits", far(act(p4info.IDActionForward, prm(1, b(1, 0, 0)))), insert, codes.OutOfRange},

		// Priority.
		{"pdr priority 0", pdrEntry(0, setFAR(b(1))), insert, codes.InvalidArgument},
		{"pdr negative priority", pdrEntry(-1, setFAR(b(1))), insert, codes.InvalidArgument},
		{"pdr priority 0 on delete", pdrEntry(0, nil), del, codes.InvalidArgument},
		{"far priority 1", with(far(act(p4info.IDActionDrop)), func(te *p4v1.TableEntry) { te.Priority = 1 }), insert, codes.InvalidArgument},

		// Default entries.
		{"default with match", with(defaultEntry(p4info.IDTablePDR, direct(act(p4info.IDActionPass))),
			func(te *p4v1.TableEntry) { te.Match = []*p4v1.FieldMatch{tern(5, b(6), b(0xff))} }), modify, codes.InvalidArgument},
		{"default with priority", with(defaultEntry(p4info.IDTablePDR, direct(act(p4info.IDActionPass))),
			func(te *p4v1.TableEntry) { te.Priority = 1 }), modify, codes.InvalidArgument},
		{"default insert", defaultEntry(p4info.IDTablePDR, direct(act(p4info.IDActionPass))), insert, codes.InvalidArgument},
		{"default delete", defaultEntry(p4info.IDTablePDR, nil), del, codes.InvalidArgument},
		{"default set_far (TABLE_ONLY)", defaultEntry(p4info.IDTablePDR, setFAR(b(1))), modify, codes.PermissionDenied},
		{"default forward (not a pdr action)", defaultEntry(p4info.IDTablePDR,
			direct(act(p4info.IDActionForward, prm(1, b(1))))), modify, codes.InvalidArgument},
		{"default of far is const", defaultEntry(p4info.IDTableFAR, direct(act(p4info.IDActionDrop))), modify, codes.PermissionDenied},
		{"default reset of far is const", defaultEntry(p4info.IDTableFAR, nil), modify, codes.PermissionDenied},
		{"default of lbr is const", defaultEntry(p4info.IDTableLBR, direct(act(p4info.IDActionDrop))), modify, codes.PermissionDenied},
		{"default of tunnels is const", defaultEntry(p4info.IDTableTunnels, nil), modify, codes.PermissionDenied},
		{"default of tunnel_term is const", defaultEntry(p4info.IDTableTunnelTerm, nil), modify, codes.PermissionDenied},
		{"default of non_ip is const", defaultEntry(p4info.IDTableNonIP, direct(act(p4info.IDActionPass))), modify, codes.PermissionDenied},

		// non_ip.
		{"non_ip for IPv4", nonIPEntry(b(0x08, 0x00), act(p4info.IDActionPunt)), insert, codes.InvalidArgument},
		{"non_ip for IPv4, modify", nonIPEntry(b(0x08, 0x00), act(p4info.IDActionPass)), modify, codes.InvalidArgument},
		{"non_ip for a VLAN tag", nonIPEntry(b(0x81, 0x00), act(p4info.IDActionDrop)), insert, codes.InvalidArgument},
		{"non_ip for a QinQ tag", nonIPEntry(b(0x88, 0xa8), act(p4info.IDActionDrop)), insert, codes.InvalidArgument},
		{"non_ip eth_type wider than 16 bits", nonIPEntry(b(1, 0x08, 0x06), act(p4info.IDActionDrop)), insert, codes.OutOfRange},
		{"non_ip with priority", with(nonIPEntry(b(0x08, 0x06), act(p4info.IDActionDrop)), func(te *p4v1.TableEntry) { te.Priority = 1 }), insert, codes.InvalidArgument},
		{"non_ip forward (not a non_ip action)", nonIPEntry(b(0x08, 0x06), act(p4info.IDActionForward, prm(1, b(1)))), insert, codes.InvalidArgument},
		{"non_ip without match", &p4v1.TableEntry{TableId: p4info.IDTableNonIP, Action: direct(act(p4info.IDActionDrop))}, insert, codes.InvalidArgument},
		{"copy_to_controller in a far entry", far(act(p4info.IDActionCopyToController)), insert, codes.InvalidArgument},
		{"default with member ref", defaultEntry(p4info.IDTablePDR, memberRef(1)), modify, codes.InvalidArgument},

		// Actions.
		{"insert without action", pdrEntry(1, nil), insert, codes.InvalidArgument},
		{"empty table action", pdrEntry(1, &p4v1.TableAction{}), insert, codes.InvalidArgument},
		{"direct action message unset", pdrEntry(1, &p4v1.TableAction{Type: &p4v1.TableAction_Action{}}), insert, codes.InvalidArgument},
		{"pass in a pdr entry (DEFAULT_ONLY)", pdrEntry(1, direct(act(p4info.IDActionPass))), insert, codes.PermissionDenied},
		{"drop in a pdr entry (DEFAULT_ONLY)", pdrEntry(1, direct(act(p4info.IDActionDrop))), modify, codes.PermissionDenied},
		{"set_far in far table", far(act(p4info.IDActionSetFAR, prm(1, b(1)))), insert, codes.InvalidArgument},
		{"unknown action id", far(act(0x01000099)), insert, codes.InvalidArgument},
		{"param missing", far(act(p4info.IDActionForward)), insert, codes.InvalidArgument},
		{"param twice", far(act(p4info.IDActionForward, prm(1, b(1)), prm(1, b(2)))), insert, codes.InvalidArgument},
		{"unknown param", far(act(p4info.IDActionForward, prm(1, b(1)), prm(2, b(2)))), insert, codes.InvalidArgument},
		{"param to a parameterless action", far(act(p4info.IDActionDrop, prm(1, b(1)))), insert, codes.InvalidArgument},
		{"nil param", far(act(p4info.IDActionForward, nil)), insert, codes.InvalidArgument},
		{"set_gre with three params", &p4v1.TableEntry{TableId: p4info.IDTableTunnels,
			Match: []*p4v1.FieldMatch{exact(1, b(1))}, Action: direct(act(p4info.IDActionSetGRE,
				prm(1, b(1)), prm(2, b(1, 1, 1, 1)), prm(3, b(2, 2, 2, 2))))}, insert, codes.InvalidArgument},
		{"member ref in direct table", with(far(act(p4info.IDActionDrop)), func(te *p4v1.TableEntry) { te.Action = memberRef(1) }), insert, codes.InvalidArgument},
		{"group ref in direct table", with(far(act(p4info.IDActionDrop)), func(te *p4v1.TableEntry) { te.Action = groupRef(1) }), insert, codes.InvalidArgument},
		{"action set in direct table", with(far(act(p4info.IDActionDrop)), func(te *p4v1.TableEntry) { te.Action = actionSet() }), insert, codes.InvalidArgument},
		{"direct action in lbr", lbrEntry(b(1), direct(encap(b(1)))), insert, codes.InvalidArgument},
		{"member id 0", lbrEntry(b(1), memberRef(0)), insert, codes.InvalidArgument},
		{"group id 0", lbrEntry(b(1), groupRef(0)), insert, codes.InvalidArgument},
		{"action set weight 0", lbrEntry(b(1), actionSet(weighted(encap(b(1)), 0))), insert, codes.InvalidArgument},
		{"action set negative weight", lbrEntry(b(1), actionSet(weighted(encap(b(1)), -3))), insert, codes.InvalidArgument},
		{"action set nil action", lbrEntry(b(1), actionSet(nil)), insert, codes.InvalidArgument},
		{"action set without action", lbrEntry(b(1), actionSet(weighted(nil, 1))), insert, codes.InvalidArgument},
		{"action set drop (DEFAULT_ONLY)", lbrEntry(b(1), actionSet(weighted(act(p4info.IDActionDrop), 1))), insert, codes.PermissionDenied},
		{"action set forward (not an lbr action)", lbrEntry(b(1), actionSet(weighted(act(p4info.IDActionForward, prm(1, b(1))), 1))), insert, codes.InvalidArgument},
		{"action set bad param", lbrEntry(b(1), actionSet(weighted(encap(nil), 1))), insert, codes.OutOfRange},
		{"action set watch_port 0", lbrEntry(b(1), actionSet(&p4v1.ActionProfileAction{Action: encap(b(1)), Weight: 1,
			WatchKind: &p4v1.ActionProfileAction_WatchPort{WatchPort: b(0)}})), insert, codes.InvalidArgument},
		{"action set watch_port of 17 bits", lbrEntry(b(1), actionSet(&p4v1.ActionProfileAction{Action: encap(b(1)), Weight: 1,
			WatchKind: &p4v1.ActionProfileAction_WatchPort{WatchPort: b(1, 0, 0)}})), insert, codes.InvalidArgument},
		{"action set watch", lbrEntry(b(1), actionSet(&p4v1.ActionProfileAction{Action: encap(b(1)), Weight: 1,
			WatchKind: &p4v1.ActionProfileAction_Watch{Watch: 3}})), insert, codes.Unimplemented},
		{"action set above max_group_size", lbrEntry(b(1), actionSet(func() []*p4v1.ActionProfileAction {
			var as []*p4v1.ActionProfileAction
			for i := range 17 {
				as = append(as, weighted(encap(b(byte(i))), 1))
			}
			return as
		}()...)), insert, codes.InvalidArgument},

		// Direct resources, idle timeout.
		{"meter_config", with(okPDR(), func(te *p4v1.TableEntry) { te.MeterConfig = &p4v1.MeterConfig{} }), insert, codes.InvalidArgument},
		{"meter_counter_data", with(okPDR(), func(te *p4v1.TableEntry) { te.MeterCounterData = &p4v1.MeterCounterData{} }), insert, codes.InvalidArgument},
		{"idle_timeout_ns", with(okPDR(), func(te *p4v1.TableEntry) { te.IdleTimeoutNs = 1e9 }), insert, codes.InvalidArgument},
		{"time_since_last_hit", with(okPDR(), func(te *p4v1.TableEntry) { te.TimeSinceLastHit = &p4v1.TableEntry_IdleTimeout{} }), modify, codes.InvalidArgument},
		{"counter_data on a table without direct counter", with(far(act(p4info.IDActionDrop)),
			func(te *p4v1.TableEntry) { te.CounterData = &p4v1.CounterData{} }), insert, codes.InvalidArgument},
		{"negative counter_data", with(okPDR(), func(te *p4v1.TableEntry) { te.CounterData = &p4v1.CounterData{PacketCount: -1} }), modify, codes.InvalidArgument},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := tr.DecodeTableEntry(c.te, c.op)
			wantCode(t, err, c.code)
			if c.op != p4v1.Update_UNSPECIFIED {
				// Canonical validates the same way (as an INSERT, or a MODIFY of a default entry).
				if _, cerr := tr.Canonical(c.te); cerr == nil && c.op == insert && !c.te.GetIsDefaultAction() {
					t.Errorf("Canonical accepted what an INSERT rejects (%v)", err)
				}
			}
		})
	}
}

func TestDecodeKey(t *testing.T) {
	tr := newTranslator(t)
	// Keys ignore the action and contents; equal matches give equal keys whatever
	// the encoding.
	k1, err := tr.DecodeKey(pdrEntry(3, setFAR(b(1)), tern(3, b(10, 0, 0, 0), b(0xff, 0, 0, 0))))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := tr.DecodeKey(&p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: 3, ControllerMetadata: 4,
		Match: []*p4v1.FieldMatch{tern(3, b(0, 10, 0, 0, 0), b(0xff, 0, 0, 0))}, Action: direct(act(12345))})
	if err != nil {
		t.Fatal(err)
	}
	if k1 != k2 {
		t.Fatalf("keys differ: %+v, %+v", k1, k2)
	}
	if k3, _ := tr.DecodeKey(pdrEntry(4, nil, tern(3, b(10, 0, 0, 0), b(0xff, 0, 0, 0)))); k3 == k1 {
		t.Fatal("priority is part of the key")
	}
	k, err := tr.DecodeKey(defaultEntry(p4info.IDTableLBR, nil))
	if err != nil || k != (Key{Table: p4info.IDTableLBR, Default: true}) {
		t.Fatalf("default key %+v, %v", k, err)
	}
	_, err = tr.DecodeKey(&p4v1.TableEntry{TableId: 7})
	wantCode(t, err, codes.NotFound)
}

func TestEntryPDR(t *testing.T) {
	tr := newTranslator(t)
	e, err := tr.DecodeTableEntry(pdrEntry(42, setFAR(b(7)), tern(5, b(17), b(0xff))), insert)
	if err != nil {
		t.Fatal(err)
	}
	p, ok := e.PDR()
	want := dataplane.MatchAll()
	want.Proto = dataplane.Exact[uint8](17)
	if !ok || p != (dataplane.PDR{Match: want, Priority: 42, FAR: 7}) {
		t.Fatalf("PDR() = %+v, %t", p, ok)
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("decoded rule fails data-path validation: %v", err)
	}
	if _, ok := (Entry{Key: Key{Table: p4info.IDTablePDR, Default: true}, Action: farAct(dataplane.ActPass)}).PDR(); ok {
		t.Fatal("default entry has no PDR")
	}
}

func TestInitialDefault(t *testing.T) {
	tr := newTranslator(t)
	for _, c := range []struct {
		table uint32
		want  dataplane.Action
	}{
		{p4info.IDTablePDR, dataplane.ActPass},
		{p4info.IDTableFAR, dataplane.ActDrop},
		{p4info.IDTableLBR, dataplane.ActDrop},
		{p4info.IDTableTunnels, dataplane.ActDrop},
		{p4info.IDTableTunnelTerm, dataplane.ActDrop},
		{p4info.IDTableNonIP, dataplane.ActPass},
	} {
		e, err := tr.InitialDefault(c.table)
		if err != nil {
			t.Fatal(err)
		}
		if !e.Equal(Entry{Key: Key{Table: c.table, Default: true}, Action: farAct(c.want)}) {
			t.Errorf("table 0x%08x: %+v", c.table, e)
		}
		// Reads of default entries encode, and what they return is canonical.
		te, err := tr.EncodeTableEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		if c, err := tr.Canonical(te); err != nil || !protoEqual(c, te) {
			t.Errorf("default entry %v: canonical %v, %v", te, c, err)
		}
	}
	_, err := tr.InitialDefault(1)
	wantCode(t, err, codes.NotFound)
}

func TestEntryNonIPRule(t *testing.T) {
	for _, c := range []struct {
		e    Entry
		want dataplane.NonIPAction
		ok   bool
	}{
		{Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: CopyToController{}}, dataplane.NonIPCopyToController, true},
		{Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: farAct(dataplane.ActPass)}, dataplane.NonIPPass, true},
		{Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: farAct(dataplane.ActDrop)}, dataplane.NonIPDrop, true},
		{Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: farAct(dataplane.ActPunt)}, dataplane.NonIPPunt, true},
		{Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}, Action: farAct(dataplane.ActForward)}, 0, false},
		{Entry{Key: Key{Table: p4info.IDTableNonIP, EthType: 0x0806}}, 0, false},
		{Entry{Key: Key{Table: p4info.IDTableNonIP, Default: true}, Action: farAct(dataplane.ActPass)}, 0, false},
		{Entry{Key: Key{Table: p4info.IDTableFAR, FAR: 1}, Action: farAct(dataplane.ActPunt)}, 0, false},
	} {
		et, a, ok := c.e.NonIPRule()
		if ok != c.ok || a != c.want || (ok && et != 0x0806) {
			t.Errorf("%+v: %#04x %v %v, want %v %v", c.e, et, a, ok, c.want, c.ok)
		}
	}
}
