package p4rtsrv

import (
	"io"
	"testing"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// TestReadWildcards: table_id 0, one table, a named entry, and the spec's
// filters (action_id, priority, controller_metadata, metadata).
func TestReadWildcards(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		far1 := farForward(1, 2)
		far1.ControllerMetadata = 5
		far2, far3 := farEncap(2, 1), farPlain(3, p4info.IDActionDrop)
		pdrA := pdrEntry("10.2.0.0", 10, 1)
		pdrA.ControllerMetadata = 7
		pdrB := pdrEntry("10.3.0.0", 20, 2)
		pdrB.ControllerMetadata, pdrB.Metadata = 8, []byte("m")
		pdrC := pdrEntry("10.4.0.0", 10, 3)
		tun := tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0)
		term := termEntry("172.16.0.2", "172.16.0.1", 0, 1)
		all := []*p4v1.TableEntry{far1, far2, far3, pdrA, pdrB, pdrC, tun, term}
		for _, e := range all {
			h.mustWrite(20, insert(e))
		}

		h.wantEntries(h.readTable(&p4v1.TableEntry{}), all...)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFAR}), far1, far2, far3)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableLBR}))
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: 10}), pdrA, pdrC)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, ControllerMetadata: 8}), pdrB)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, Metadata: []byte("m")}), pdrB)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFAR, Action: action(p4info.IDActionForward)}), far1)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFAR, Action: action(p4info.IDActionDrop)}), far3)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFAR, Action: action(p4info.IDActionPunt)}))

		// A named entry: its match (and priority) select at most one entry.
		h.wantEntries(h.readTable(pdrKey(pdrB)), pdrB)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, Match: pdrB.Match, Priority: 10}))
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(2)}), far2)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(9)}))
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm, Match: term.Match}), term)

		// Several requests in one Read, answered in order.
		got := h.mustRead(tableEntity(pdrKey(pdrA)), tableEntity(&p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(3)}))
		if len(got) != 2 || !proto.Equal(got[0].GetTableEntry(), h.canon(pdrA)) || !proto.Equal(got[1].GetTableEntry(), h.canon(far3)) {
			t.Errorf("batched read: %v", got)
		}

		_, err := h.read(&p4v1.Entity{})
		wantCode(t, err, codes.InvalidArgument, "read of an empty entity")
		_, err = h.read(tableEntity(&p4v1.TableEntry{TableId: 0x0200ffff}))
		wantCode(t, err, codes.NotFound, "read of an unknown table")
		_, err = h.c.Read(t.Context(), &p4v1.ReadRequest{DeviceId: 2, Entities: []*p4v1.Entity{tableEntity(&p4v1.TableEntry{})}})
		if err == nil {
			var rs p4v1.P4Runtime_ReadClient
			rs, err = h.c.Read(t.Context(), &p4v1.ReadRequest{DeviceId: 2, Entities: []*p4v1.Entity{tableEntity(&p4v1.TableEntry{})}})
			if err == nil {
				_, err = rs.Recv()
			}
		}
		wantCode(t, err, codes.NotFound, "read of an unknown device")

		// Reads need no stream and no election id: a client that never arbitrated
		// reads the same.
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableTunnels}), tun)
	})
}

// TestRoundTrip: what Read returns is, byte for byte, the canonical form of what
// Write accepted — priority, controller_metadata, metadata and action parameters
// included — whether the input was canonical or padded and out of order.
func TestRoundTrip(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)

		// A pdr entry using every field, as ONOS ≤ 2.7 writes it: values padded to
		// the field width, fields in no particular order.
		padded := &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: 1 << 24, ControllerMetadata: 1<<64 - 1, Metadata: []byte{0, 1, 2},
			Match: []*p4v1.FieldMatch{
				rangeField(p4info.IDFieldPDRL4Dport, pad(80, 2), pad(443, 2)),
				ternaryField(p4info.IDFieldPDRDSCP, pad(46, 1), pad(0x3f, 1)),
				ternaryField(p4info.IDFieldPDRSrcAddr, ip4("10.1.0.0"), ip4("255.255.0.0")),
				ternaryField(p4info.IDFieldPDRIngressPort, pad(1, 2), pad(0xffff, 2)),
				ternaryField(p4info.IDFieldPDRIPProto, pad(6, 1), pad(0xff, 1)),
				ternaryField(p4info.IDFieldPDRDirection, pad(1, 1), pad(3, 1)),
				ternaryField(p4info.IDFieldPDRDstAddr, ip4("0.0.0.0"), ip4("0.0.0.255")),
				rangeField(p4info.IDFieldPDRL4Sport, pad(0, 2), pad(1023, 2)),
			},
			Action: action(p4info.IDActionSetFAR, param(p4info.IDParamSetFARFarID, pad(7, 4)))}
		// Its canonical form, spelled out: fields by ID, shortest bytestrings.
		canonical := &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: 1 << 24, ControllerMetadata: 1<<64 - 1, Metadata: []byte{0, 1, 2},
			Match: []*p4v1.FieldMatch{
				ternaryField(p4info.IDFieldPDRIngressPort, []byte{1}, []byte{0xff, 0xff}),
				ternaryField(p4info.IDFieldPDRDirection, []byte{1}, []byte{3}),
				ternaryField(p4info.IDFieldPDRSrcAddr, []byte{10, 1, 0, 0}, []byte{0xff, 0xff, 0, 0}),
				ternaryField(p4info.IDFieldPDRDstAddr, []byte{0}, []byte{0xff}),
				ternaryField(p4info.IDFieldPDRIPProto, []byte{6}, []byte{0xff}),
				rangeField(p4info.IDFieldPDRL4Sport, []byte{0}, []byte{0x03, 0xff}),
				rangeField(p4info.IDFieldPDRL4Dport, []byte{80}, []byte{0x01, 0xbb}),
				ternaryField(p4info.IDFieldPDRDSCP, []byte{46}, []byte{0x3f}),
			},
			Action: action(p4info.IDActionSetFAR, param(p4info.IDParamSetFARFarID, []byte{7}))}

		gre := &p4v1.TableEntry{TableId: p4info.IDTableTunnels, ControllerMetadata: 3,
			Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelsTunnelID, pad(5, 4))},
			Action: action(p4info.IDActionSetGRE, param(p4info.IDParamSetGREKey, pad(0x10000, 4)),
				param(p4info.IDParamSetGREDstAddr, ip4("172.16.0.2")), param(p4info.IDParamSetGREPort, pad(2, 2)),
				param(p4info.IDParamSetGRESrcAddr, ip4("172.16.0.1")))}
		term := &p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm, Metadata: []byte("t"),
			Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelTermGREKey, pad(0, 4)),
				exactField(p4info.IDFieldTunnelTermDstAddr, ip4("172.16.0.1")), exactField(p4info.IDFieldTunnelTermSrcAddr, ip4("172.16.0.2"))},
			Action: action(p4info.IDActionDecap, param(p4info.IDParamDecapTunnelID, pad(5, 4)))}
		far := farForward(9, 3)
		far.Match[0].GetExact().Value = pad(9, 4)
		far.Action.GetAction().Params[0].Value = pad(3, 2)
		lbr := lbrSet(4, 5, 2, 1, 1)
		lbr.Match[0].GetExact().Value = pad(4, 4)
		lbr.Action.GetActionProfileActionSet().ActionProfileActions[0].Action.Params[0].Value = pad(5, 4)
		inputs := []*p4v1.TableEntry{padded, gre, term, far, lbr}
		for _, e := range inputs {
			h.mustWrite(20, insert(e))
		}
		got := h.readTable(&p4v1.TableEntry{})
		h.wantEntries(got, inputs...)
		found := false
		for _, g := range got {
			if g.TableId == p4info.IDTablePDR {
				found = true
				if !proto.Equal(g, canonical) {
					t.Errorf("pdr read back as\n  %v\nwant\n  %v", g, canonical)
				}
			}
		}
		if !found {
			t.Fatal("pdr entry not read")
		}

		// Canonical input comes back identical, under deterministic marshalling.
		h.mustWrite(20, del(pdrKey(canonical)))
		h.mustWrite(20, insert(canonical))
		back := h.readTable(pdrKey(canonical))
		if len(back) != 1 {
			t.Fatalf("read %v", back)
		}
		want, _ := proto.MarshalOptions{Deterministic: true}.Marshal(canonical)
		have, _ := proto.MarshalOptions{Deterministic: true}.Marshal(back[0])
		if string(want) != string(have) {
			t.Errorf("canonical entry did not round-trip byte for byte:\n  wrote %x\n  read  %x", want, have)
		}

		// Members and groups too.
		m := member(1, 5)
		m.Action.Params[0].Value = pad(5, 4)
		g := group(2, 1, 7)
		g.MaxSize = 4
		h.mustWrite(20, update(p4v1.Update_INSERT, memberEntity(m)))
		h.mustWrite(20, update(p4v1.Update_INSERT, groupEntity(g)))
		ents := h.mustRead(memberEntity(&p4v1.ActionProfileMember{}), groupEntity(&p4v1.ActionProfileGroup{}))
		if len(ents) != 2 || !proto.Equal(ents[0].GetActionProfileMember(), member(1, 5)) || !proto.Equal(ents[1].GetActionProfileGroup(), g) {
			t.Errorf("members and groups read back as %v", ents)
		}
	})
}

// TestIndirectCounters: CounterEntry reads with and without index and across all
// counters, and MODIFY, on values from the live data path.
func TestIndirectCounters(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.mustWrite(20, insert(tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0)))
		cell := func(id uint32, i int64) *p4v1.Entity {
			return counterEntity(&p4v1.CounterEntry{CounterId: id, Index: &p4v1.Index{Index: i}})
		}
		readCell := func(id uint32, i int64) *p4v1.CounterData {
			t.Helper()
			got := h.mustRead(cell(id, i))
			if len(got) != 1 || got[0].GetCounterEntry().GetCounterId() != id || got[0].GetCounterEntry().GetIndex().GetIndex() != i {
				t.Fatalf("read of counter %x[%d]: %v", id, i, got)
			}
			return got[0].GetCounterEntry().GetData()
		}
		set := func(id uint32, index *p4v1.Index, pkts, bytes int64) *p4v1.Update {
			return update(p4v1.Update_MODIFY, counterEntity(&p4v1.CounterEntry{CounterId: id, Index: index, Data: &p4v1.CounterData{PacketCount: pkts, ByteCount: bytes}}))
		}
		wantData := func(got *p4v1.CounterData, pkts, bytes int64) {
			t.Helper()
			if !proto.Equal(got, &p4v1.CounterData{PacketCount: pkts, ByteCount: bytes}) {
				t.Errorf("counter data %v, want %d packets %d bytes", got, pkts, bytes)
			}
		}

		// Tunnel 1 has seen no traffic on either data path.
		wantData(readCell(p4info.IDCounterTunnelTX, 1), 0, 0)

		// Without index: every cell of the counter, in order.
		got := h.mustRead(counterEntity(&p4v1.CounterEntry{CounterId: p4info.IDCounterTunnelTX}))
		if len(got) != testOptions.MaxTunnels {
			t.Errorf("wildcard read of tunnel_tx_counter: %d cells, want %d", len(got), testOptions.MaxTunnels)
		}
		for i, e := range got {
			if e.GetCounterEntry().GetIndex().GetIndex() != int64(i) || e.GetCounterEntry().GetCounterId() != p4info.IDCounterTunnelTX {
				t.Errorf("cell %d: %v", i, e)
			}
		}
		// counter_id 0: every cell of every counter.
		sizes := sizesFor(testOptions)
		wantCells := 2*sizes.Ports + 2*sizes.Tunnels + sizes.DropReasons
		if got := h.mustRead(counterEntity(&p4v1.CounterEntry{})); len(got) != wantCells {
			t.Errorf("read of all counters: %d cells, want %d", len(got), wantCells)
		}

		// MODIFY sets a cell; counting goes on from there.
		h.mustWrite(20, set(p4info.IDCounterTunnelTX, &p4v1.Index{Index: 1}, 5, 500))
		wantData(readCell(p4info.IDCounterTunnelTX, 1), 5, 500)
		wantData(readCell(p4info.IDCounterTunnelRX, 1), 0, 0)
		if h.mem != nil {
			must(t, h.mem.AddTunnelCount(1, dataplane.TunnelCounters{TX: dataplane.Counter{Packets: 2, Bytes: 200}, RX: dataplane.Counter{Packets: 1, Bytes: 60}}))
			wantData(readCell(p4info.IDCounterTunnelTX, 1), 7, 700)
			wantData(readCell(p4info.IDCounterTunnelRX, 1), 1, 60)

			must(t, h.mem.AddPortCount(2, dataplane.PortCounters{RX: dataplane.Counter{Packets: 3, Bytes: 300}, TX: dataplane.Counter{Packets: 4, Bytes: 400}}))
			wantData(readCell(p4info.IDCounterPortRX, 2), 3, 300)
			wantData(readCell(p4info.IDCounterPortTX, 2), 4, 400)
			wantData(readCell(p4info.IDCounterPortRX, 5), 0, 0) // no such port
			h.mem.AddDrop(dataplane.DropReason(2), dataplane.Counter{Packets: 9, Bytes: 900})
			wantData(readCell(p4info.IDCounterDrop, 2), 9, 900)
		}
		// MODIFY without index sets every cell.
		h.mustWrite(20, set(p4info.IDCounterPortRX, nil, 0, 0))
		for _, e := range h.mustRead(counterEntity(&p4v1.CounterEntry{CounterId: p4info.IDCounterPortRX})) {
			if d := e.GetCounterEntry().GetData(); d.GetPacketCount() != 0 || d.GetByteCount() != 0 {
				t.Errorf("after zeroing every cell: %v", e)
			}
		}

		// Re-creating a tunnel starts its counters afresh: the value set before
		// must not turn into a huge (wrapped) count.
		if h.mem != nil {
			h.mustWrite(20, set(p4info.IDCounterTunnelTX, &p4v1.Index{Index: 1}, 0, 0)) // data path holds 2/200
			wantData(readCell(p4info.IDCounterTunnelTX, 1), 0, 0)
		}
		h.mustWrite(20, del(&p4v1.TableEntry{TableId: p4info.IDTableTunnels, Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldTunnelsTunnelID, u(1))}}))
		h.mustWrite(20, insert(tunnelEntry(1, 2, "172.16.0.1", "172.16.0.2", 0)))
		wantData(readCell(p4info.IDCounterTunnelTX, 1), 0, 0)

		// Errors: the spec's codes for CounterEntry.
		wantUpdates(t, h.write(20,
			set(p4info.IDCounterTunnelTX, &p4v1.Index{Index: int64(testOptions.MaxTunnels)}, 1, 1),
			set(p4info.IDCounterTunnelTX, &p4v1.Index{Index: -1}, 1, 1),
			set(0x12000009, &p4v1.Index{Index: 1}, 1, 1),
			set(p4info.IDCounterTunnelTX, &p4v1.Index{Index: 1}, -1, 1),
			update(p4v1.Update_INSERT, counterEntity(&p4v1.CounterEntry{CounterId: p4info.IDCounterTunnelTX, Index: &p4v1.Index{Index: 1}})),
		), codes.OutOfRange, codes.InvalidArgument, codes.NotFound, codes.InvalidArgument, codes.InvalidArgument)
		_, err := h.read(cell(p4info.IDCounterTunnelTX, int64(testOptions.MaxTunnels)))
		wantCode(t, err, codes.OutOfRange, "read past the counter's size")
	})
}

// TestDirectCounters: pdr_counter through counter_data (only when asked) and
// DirectCounterEntry (one entry, or the whole table), reads and MODIFY.
func TestDirectCounters(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		a, b := pdrEntry("10.2.0.0", 10, 1), pdrEntry("10.3.0.0", 20, 1)
		h.mustWrite(20, insert(a), insert(b), insert(farForward(1, 2)))
		data := func(pkts, bytes int64) *p4v1.CounterData {
			return &p4v1.CounterData{PacketCount: pkts, ByteCount: bytes}
		}
		counters := func() map[int32]*p4v1.CounterData { // by priority
			t.Helper()
			out := map[int32]*p4v1.CounterData{}
			for _, e := range h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR, CounterData: &p4v1.CounterData{}}) {
				if e.CounterData == nil {
					t.Errorf("counter_data asked but missing: %v", e)
				}
				out[e.Priority] = e.CounterData
			}
			return out
		}
		wantCounters := func(want map[int32]*p4v1.CounterData) {
			t.Helper()
			got := counters()
			for p, w := range want {
				if !proto.Equal(got[p], w) {
					t.Errorf("priority %d: counter_data %v, want %v", p, got[p], w)
				}
			}
		}
		direct := func(te *p4v1.TableEntry) *p4v1.Entity {
			return directEntity(&p4v1.DirectCounterEntry{TableEntry: te})
		}

		// Not asked: no counter_data, in any table.
		for _, e := range h.readTable(&p4v1.TableEntry{}) {
			if e.CounterData != nil {
				t.Errorf("counter_data not asked for but returned: %v", e)
			}
		}
		// Asked on a wildcard over all tables: only pdr entries carry it.
		for _, e := range h.readTable(&p4v1.TableEntry{CounterData: &p4v1.CounterData{}}) {
			if (e.TableId == p4info.IDTablePDR) != (e.CounterData != nil) {
				t.Errorf("counter_data on %v", e)
			}
		}
		wantCounters(map[int32]*p4v1.CounterData{10: data(0, 0), 20: data(0, 0)})

		var idA dataplane.PDRID
		if h.mem != nil {
			for id, p := range h.mem.PDRs() {
				if p.Priority == 10 {
					idA = id
				}
			}
			must(t, h.mem.AddPDRCount(idA, dataplane.Counter{Packets: 3, Bytes: 300}))
			wantCounters(map[int32]*p4v1.CounterData{10: data(3, 300), 20: data(0, 0)})
		}

		// DirectCounterEntry for one entry: the entry's key and its counter.
		got := h.mustRead(direct(pdrKey(a)))
		wantA := data(0, 0)
		if h.mem != nil {
			wantA = data(3, 300)
		}
		if len(got) != 1 || !proto.Equal(got[0].GetDirectCounterEntry(), &p4v1.DirectCounterEntry{TableEntry: pdrKey(a), Data: wantA}) {
			t.Errorf("direct counter of a: %v", got)
		}
		// Over the table, with table_id or with table_id 0.
		for _, q := range []*p4v1.TableEntry{{TableId: p4info.IDTablePDR}, {}} {
			if got := h.mustRead(direct(q)); len(got) != 2 {
				t.Errorf("direct counters of %v: %v", q, got)
			}
		}
		if got := h.mustRead(direct(pdrKey(pdrEntry("10.9.0.0", 10, 1)))); len(got) != 0 {
			t.Errorf("direct counter of a missing entry: %v", got)
		}
		_, err := h.read(direct(&p4v1.TableEntry{TableId: p4info.IDTableFAR}))
		wantCode(t, err, codes.InvalidArgument, "direct counter of a table without one")

		// MODIFY sets the value; counting goes on from it.
		h.mustWrite(20, update(p4v1.Update_MODIFY, directEntity(&p4v1.DirectCounterEntry{TableEntry: pdrKey(a), Data: data(10, 1000)})))
		wantCounters(map[int32]*p4v1.CounterData{10: data(10, 1000), 20: data(0, 0)})
		if h.mem != nil {
			must(t, h.mem.AddPDRCount(idA, dataplane.Counter{Packets: 1, Bytes: 100}))
			wantCounters(map[int32]*p4v1.CounterData{10: data(11, 1100)})
		}
		// A MODIFY of the entry keeps its counter; one with counter_data sets it.
		h.mustWrite(20, modify(pdrEntry("10.3.0.0", 20, 2)))
		c := pdrEntry("10.4.0.0", 30, 1)
		c.CounterData = data(50, 5000)
		h.mustWrite(20, insert(c))
		wantCounters(map[int32]*p4v1.CounterData{20: data(0, 0), 30: data(50, 5000)})
		bb := pdrEntry("10.2.0.0", 10, 2)
		bb.CounterData = data(1, 1)
		h.mustWrite(20, modify(bb))
		wantCounters(map[int32]*p4v1.CounterData{10: data(1, 1)})
		// counter_data is volatile: not part of the entry read back.
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTablePDR}), bb, pdrEntry("10.3.0.0", 20, 2), pdrEntry("10.4.0.0", 30, 1))

		farWithCounter := farForward(2, 2)
		farWithCounter.CounterData = data(1, 1)
		wantUpdates(t, h.write(20,
			update(p4v1.Update_MODIFY, directEntity(&p4v1.DirectCounterEntry{TableEntry: pdrKey(pdrEntry("10.9.0.0", 10, 1)), Data: data(1, 1)})),
			update(p4v1.Update_INSERT, directEntity(&p4v1.DirectCounterEntry{TableEntry: pdrKey(a), Data: data(1, 1)})),
			update(p4v1.Update_MODIFY, directEntity(&p4v1.DirectCounterEntry{TableEntry: &p4v1.TableEntry{TableId: p4info.IDTableFAR, Match: farKey(1)}, Data: data(1, 1)})),
			insert(farWithCounter),
		), codes.NotFound, codes.InvalidArgument, codes.InvalidArgument, codes.InvalidArgument)
	})
}

// TestReadChunks: a read larger than one message arrives over several
// ReadResponse messages, complete. memdp only: it needs the default (large)
// capacities, too slow to load for one test on the real data path.
func TestReadChunks(t *testing.T) {
	memOnly(t, dataplane.Options{}, func(t *testing.T, h *harness) {
		h.primary(20)
		rs, err := h.c.Read(t.Context(), &p4v1.ReadRequest{DeviceId: 1, Entities: []*p4v1.Entity{counterEntity(&p4v1.CounterEntry{})}})
		must(t, err)
		msgs, n := 0, 0
		for {
			r, err := rs.Recv()
			if err == io.EOF {
				break
			}
			must(t, err)
			msgs++
			n += len(r.Entities)
		}
		s := p4info.DefaultSizes
		if want := 2*s.Ports + 2*s.Tunnels + dataplane.NumDropReasons; n != want || msgs < 2 {
			t.Errorf("read %d cells in %d messages, want %d in several", n, msgs, want)
		}
	})
}

// TestCapabilities: the API version is reported (p4runtime-shell asks; ONOS does not).
func TestCapabilities(t *testing.T) {
	memOnly(t, testOptions, func(t *testing.T, h *harness) {
		r, err := h.c.Capabilities(t.Context(), &p4v1.CapabilitiesRequest{})
		if err != nil || r.P4RuntimeApiVersion != APIVersion {
			t.Errorf("Capabilities: %v, %v", r, err)
		}
	})
}
