package p4rtsrv

import (
	"bytes"
	"maps"
	"path/filepath"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

const (
	ethARP  = 0x0806
	ethLLDP = 0x88cc
	ethBDDP = 0x8942
	ethIPv6 = 0x86dd
	ethExp  = 0x88b5 // local experimental: nothing in the test namespace sends it
)

func nonIPKey(ethType uint16) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableNonIP, Match: []*p4v1.FieldMatch{exactField(p4info.IDFieldNonIPEthType, u(uint64(ethType)))}}
}

func nonIPEntry(ethType uint16, act uint32) *p4v1.TableEntry {
	te := nonIPKey(ethType)
	te.Action = action(act)
	return te
}

// lldpFrame is a minimal LLDPDU from a neighbour.
func lldpFrame() []byte {
	f := []byte{0x01, 0x80, 0xc2, 0, 0, 0x0e, 0x02, 0, 0, 0, 0x10, 0x02, 0x88, 0xcc}
	return append(f, 0x02, 0x07, 0x04, 0x02, 0, 0, 0, 0x10, 0x02, 0x04, 0x03, 0x07, 'p', '1', 0x06, 0x02, 0x00, 0x78, 0, 0)
}

// expFrame is a broadcast frame of the local experimental EtherType.
func expFrame(n int) []byte {
	f := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0x01, 0x02, 0x88, 0xb5}
	return append(f, bytes.Repeat([]byte{0xa5}, n)...)
}

// TestNonIPTable writes, reads, modifies and deletes non_ip entries, with the
// errors a controller can get.
func TestNonIPTable(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		wantDP := func(want map[uint16]dataplane.NonIPAction) {
			t.Helper()
			if h.mem != nil && !maps.Equal(h.mem.NonIPRules(), want) {
				t.Errorf("data path non_ip rules %v, want %v", h.mem.NonIPRules(), want)
			}
		}
		// ONOS ≤ 2.7 pads to the field width: eth_type comes back canonical.
		arp := nonIPEntry(ethARP, p4info.IDActionCopyToController)
		arp.Match[0].GetExact().Value = pad(ethARP, 2)
		lldp := nonIPEntry(ethLLDP, p4info.IDActionPunt)
		lldp.ControllerMetadata, lldp.Metadata = 0x88cc, []byte("onos")
		bddp := nonIPEntry(ethBDDP, p4info.IDActionPunt)
		v6 := nonIPEntry(ethIPv6, p4info.IDActionPass)
		h.mustWrite(20, insert(arp), insert(lldp), insert(bddp), insert(v6))
		wantDP(map[uint16]dataplane.NonIPAction{ethARP: dataplane.NonIPCopyToController, ethLLDP: dataplane.NonIPPunt,
			ethBDDP: dataplane.NonIPPunt, ethIPv6: dataplane.NonIPPass})

		// Reads: the table, table_id 0, one entry; verbatim (canonical bytes).
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableNonIP}), arp, lldp, bddp, v6)
		h.wantEntries(h.readTable(&p4v1.TableEntry{}), arp, lldp, bddp, v6)
		got := h.readTable(nonIPKey(ethARP))
		want := &p4v1.TableEntry{TableId: p4info.IDTableNonIP,
			Match:  []*p4v1.FieldMatch{exactField(p4info.IDFieldNonIPEthType, []byte{0x08, 0x06})},
			Action: action(p4info.IDActionCopyToController)}
		if len(got) != 1 || !proto.Equal(got[0], want) {
			t.Errorf("read of the ARP entry: %v, want %v", got, want)
		}
		if got := h.readTable(nonIPKey(0x9000)); len(got) != 0 {
			t.Errorf("read of a missing entry: %v", got)
		}
		// The action filter of wildcard reads.
		q := &p4v1.TableEntry{TableId: p4info.IDTableNonIP, Action: action(p4info.IDActionPunt)}
		h.wantEntries(h.readTable(q), lldp, bddp)

		// MODIFY changes the action and keeps the rest of the data path.
		arpDrop := nonIPEntry(ethARP, p4info.IDActionDrop)
		h.mustWrite(20, modify(arpDrop))
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableNonIP}), arpDrop, lldp, bddp, v6)
		wantDP(map[uint16]dataplane.NonIPAction{ethARP: dataplane.NonIPDrop, ethLLDP: dataplane.NonIPPunt,
			ethBDDP: dataplane.NonIPPunt, ethIPv6: dataplane.NonIPPass})

		// Errors, each leaving no trace.
		wantUpdates(t, h.write(20,
			insert(nonIPEntry(ethLLDP, p4info.IDActionDrop)),   // duplicate
			del(nonIPKey(0x9000)),                              // missing
			modify(nonIPEntry(0x9000, p4info.IDActionPass)),    // missing
			insert(nonIPEntry(0x0800, p4info.IDActionPunt)),    // IPv4 goes to pdr
			insert(nonIPEntry(0x8100, p4info.IDActionPunt)),    // a VLAN tag
			insert(nonIPEntry(0x9000, p4info.IDActionForward)), // not a non_ip action
			insert(nonIPEntry(0x9000, p4info.IDActionSetFAR)),
			modify(&p4v1.TableEntry{TableId: p4info.IDTableNonIP, IsDefaultAction: true, Action: action(p4info.IDActionDrop)}),
		), codes.AlreadyExists, codes.NotFound, codes.NotFound, codes.InvalidArgument, codes.InvalidArgument,
			codes.InvalidArgument, codes.InvalidArgument, codes.PermissionDenied)
		h.wantEntries(h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableNonIP}), arpDrop, lldp, bddp, v6)

		// The table holds 64 entries.
		var ups []*p4v1.Update
		for i := range dataplane.MaxNonIPRules - 4 + 1 {
			ups = append(ups, insert(nonIPEntry(uint16(0x9000+i), p4info.IDActionPass)))
		}
		wantCodes := make([]codes.Code, len(ups))
		wantCodes[len(ups)-1] = codes.ResourceExhausted
		wantUpdates(t, h.write(20, ups...), wantCodes...)
		for _, u := range ups[:len(ups)-1] {
			h.mustWrite(20, del(u.GetEntity().GetTableEntry()))
		}

		// DELETE names the key only.
		h.mustWrite(20, del(nonIPKey(ethARP)), del(nonIPKey(ethLLDP)), del(nonIPKey(ethBDDP)), del(nonIPKey(ethIPv6)))
		if got := h.readTable(&p4v1.TableEntry{}); len(got) != 0 {
			t.Errorf("entries left after delete: %v", got)
		}
		wantDP(map[uint16]dataplane.NonIPAction{})
		h.mustWrite(20, insert(arp)) // and the data path takes it again
	})
}

// TestNonIPCounters: counter_data and DirectCounterEntry of non_ip entries, like
// pdr's: from the live data path, settable by MODIFY.
func TestNonIPCounters(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		data := func(pkts, bytes int64) *p4v1.CounterData {
			return &p4v1.CounterData{PacketCount: pkts, ByteCount: bytes}
		}
		exp, lldp := nonIPEntry(ethExp, p4info.IDActionDrop), nonIPEntry(ethLLDP, p4info.IDActionPunt)
		h.mustWrite(20, insert(exp), insert(lldp), insert(pdrEntry("10.2.0.0", 10, 1)))

		// Frames: injected into memdp, or sent to the real data path on lan0.
		frame := expFrame(100)
		count := func(n int) {
			t.Helper()
			if h.mem != nil {
				must(t, h.mem.AddNonIPCount(ethExp, dataplane.Counter{Packets: uint64(n), Bytes: uint64(n * len(frame))}))
				return
			}
			for range n {
				h.sendFrame(1, frame)
			}
		}
		counterOf := func(te *p4v1.TableEntry) *p4v1.CounterData {
			t.Helper()
			got := h.readTable(&p4v1.TableEntry{TableId: te.TableId, Match: te.Match, CounterData: &p4v1.CounterData{}})
			if len(got) != 1 {
				t.Fatalf("read of %v: %v", te, got)
			}
			return got[0].CounterData
		}
		waitCounter := func(want *p4v1.CounterData) {
			t.Helper()
			deadline := time.Now().Add(2 * time.Second)
			for {
				got := counterOf(exp)
				if proto.Equal(got, want) {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("counter_data of the exp entry: %v, want %v", got, want)
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		waitCounter(data(0, 0))
		count(3)
		waitCounter(data(3, 300+3*14))
		if c := counterOf(lldp); !proto.Equal(c, data(0, 0)) {
			t.Errorf("counter_data of the lldp entry: %v", c)
		}
		// Not asked: no counter_data.
		for _, e := range h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableNonIP}) {
			if e.CounterData != nil {
				t.Errorf("counter_data not asked for but returned: %v", e)
			}
		}
		// Asked on a wildcard over all tables: pdr and non_ip entries carry it.
		for _, e := range h.readTable(&p4v1.TableEntry{CounterData: &p4v1.CounterData{}}) {
			if e.CounterData == nil {
				t.Errorf("no counter_data on %v", e)
			}
		}

		direct := func(te *p4v1.TableEntry) *p4v1.Entity { return directEntity(&p4v1.DirectCounterEntry{TableEntry: te}) }
		got := h.mustRead(direct(nonIPKey(ethExp)))
		if len(got) != 1 || !proto.Equal(got[0].GetDirectCounterEntry(), &p4v1.DirectCounterEntry{TableEntry: nonIPKey(ethExp), Data: data(3, 342)}) {
			t.Errorf("direct counter of the exp entry: %v", got)
		}
		if got := h.mustRead(direct(&p4v1.TableEntry{TableId: p4info.IDTableNonIP})); len(got) != 2 {
			t.Errorf("direct counters of table non_ip: %v", got)
		}
		if got := h.mustRead(direct(&p4v1.TableEntry{})); len(got) != 3 {
			t.Errorf("direct counters of every table: %v, want 2 non_ip and 1 pdr", got)
		}
		if got := h.mustRead(direct(nonIPKey(0x9000))); len(got) != 0 {
			t.Errorf("direct counter of a missing entry: %v", got)
		}
		// The const default entry: frames without a rule are not counted.
		def := &p4v1.TableEntry{TableId: p4info.IDTableNonIP, IsDefaultAction: true}
		got = h.mustRead(direct(def))
		if len(got) != 1 || !proto.Equal(got[0].GetDirectCounterEntry().GetData(), data(0, 0)) {
			t.Errorf("direct counter of the default entry: %v", got)
		}
		d := h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableNonIP, IsDefaultAction: true, CounterData: &p4v1.CounterData{}})
		if len(d) != 1 || !proto.Equal(d[0].CounterData, data(0, 0)) || d[0].GetAction().GetAction().GetActionId() != p4info.IDActionPass {
			t.Errorf("default entry with counter_data: %v", d)
		}

		// MODIFY sets the value; counting goes on from it.
		h.mustWrite(20, update(p4v1.Update_MODIFY, directEntity(&p4v1.DirectCounterEntry{TableEntry: nonIPKey(ethExp), Data: data(10, 1000)})))
		waitCounter(data(10, 1000))
		count(1)
		waitCounter(data(11, 1114))
		// A MODIFY of the entry keeps the counter; one with counter_data sets it.
		h.mustWrite(20, modify(nonIPEntry(ethExp, p4info.IDActionPass)))
		waitCounter(data(11, 1114))
		withData := nonIPEntry(ethExp, p4info.IDActionDrop)
		withData.CounterData = data(1, 1)
		h.mustWrite(20, modify(withData))
		waitCounter(data(1, 1))
		// Delete and insert again: a new entry counts from zero.
		h.mustWrite(20, del(nonIPKey(ethExp)), insert(exp))
		waitCounter(data(0, 0))
		withData = nonIPEntry(0x9000, p4info.IDActionDrop)
		withData.CounterData = data(5, 50)
		h.mustWrite(20, insert(withData))
		if c := counterOf(withData); !proto.Equal(c, data(5, 50)) {
			t.Errorf("counter_data written with the insert: %v", c)
		}
	})
}

// TestNonIPPacketIn: a punt rule and a copy_to_controller rule reach the
// controller as PacketIn with the ingress port, from the real data path.
func TestNonIPPacketIn(t *testing.T) {
	h := newHarness(t, kindEBPF, testOptions)
	a := h.primary(20)
	h.mustWrite(20, insert(nonIPEntry(ethLLDP, p4info.IDActionPunt)), insert(nonIPEntry(ethExp, p4info.IDActionCopyToController)))
	for _, c := range []struct {
		port  dataplane.PortID
		frame []byte
	}{{2, lldpFrame()}, {1, expFrame(60)}} {
		h.sendFrame(c.port, c.frame)
		want := &p4v1.PacketIn{Payload: c.frame, Metadata: []*p4v1.PacketMetadata{{MetadataId: p4info.IDMetaIngressPort, Value: u(uint64(c.port))}}}
		if got := a.recv().GetPacket(); !proto.Equal(got, want) {
			t.Errorf("packet-in %v, want %v", got, want)
		}
	}
}

// TestNonIPCommitAndRestart: VERIFY_AND_COMMIT clears non_ip entries, in the
// data path too; entries survive a restart of the server and reach a fresh
// data path of either kind.
func TestNonIPCommitAndRestart(t *testing.T) {
	forEachDP(t, testOptions, func(t *testing.T, h *harness) {
		h.primary(20)
		h.mustWrite(20, insert(nonIPEntry(ethLLDP, p4info.IDActionPunt)))
		h.commit(20)
		if got := h.readTable(&p4v1.TableEntry{TableId: p4info.IDTableNonIP}); len(got) != 0 {
			t.Errorf("non_ip entries after VERIFY_AND_COMMIT: %v", got)
		}
		if h.mem != nil && len(h.mem.NonIPRules()) != 0 {
			t.Errorf("data path non_ip rules after VERIFY_AND_COMMIT: %v", h.mem.NonIPRules())
		}
		h.mustWrite(20, insert(nonIPEntry(ethLLDP, p4info.IDActionPunt))) // the data path forgot it too
	})

	for _, kind := range []string{kindMem, kindEBPF} {
		t.Run("restart onto "+kind, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			d1, with := openState(t, dir)
			h := newHarness(t, kindMem, testOptions, with)
			h.primary(20)
			h.commit(20)
			lldp := nonIPEntry(ethLLDP, p4info.IDActionPunt)
			lldp.ControllerMetadata, lldp.Metadata = 7, []byte("link")
			h.mustWrite(20, insert(nonIPEntry(ethARP, p4info.IDActionCopyToController)), insert(lldp),
				insert(nonIPEntry(ethBDDP, p4info.IDActionPunt)), insert(nonIPEntry(ethExp, p4info.IDActionPass)),
				insert(farPlain(1, p4info.IDActionPass)), insert(pdrEntry("10.2.0.0", 10, 1)))
			h.mustWrite(20, modify(nonIPEntry(ethExp, p4info.IDActionDrop)), del(nonIPKey(ethBDDP)))
			before := h.everything()
			d1.Close() // a crash: no clean stop

			_, with = openState(t, dir)
			h2 := newHarness(t, kind, testOptions, with)
			sameEntities(t, "after the restart", h2.everything(), before)
			if r := h2.srv.Restored(); r.Entries != 5 {
				t.Errorf("restored %+v, want 5 entries", r)
			}
			if h2.mem != nil {
				want := map[uint16]dataplane.NonIPAction{ethARP: dataplane.NonIPCopyToController, ethLLDP: dataplane.NonIPPunt, ethExp: dataplane.NonIPDrop}
				if got := h2.mem.NonIPRules(); !maps.Equal(got, want) {
					t.Errorf("data path non_ip rules after the restart: %v, want %v", got, want)
				}
				if got := h2.mem.FARs(); len(got) != 1 {
					t.Errorf("non_ip entries taken for FARs: %v", got)
				}
			} else {
				// The restored punt rule is live in the kernel.
				a, _ := h2.controller(21) // primary, without committing (which would clear)
				h2.sendFrame(3, lldpFrame())
				want := &p4v1.PacketIn{Payload: lldpFrame(), Metadata: []*p4v1.PacketMetadata{{MetadataId: p4info.IDMetaIngressPort, Value: u(3)}}}
				if got := a.recv().GetPacket(); !proto.Equal(got, want) {
					t.Errorf("packet-in after the restart %v, want %v", got, want)
				}
			}
			// The restored entries are live for writes too.
			h2.controller(22)
			wantUpdates(t, h2.write(22, insert(nonIPEntry(ethARP, p4info.IDActionDrop)), del(nonIPKey(ethExp))),
				codes.AlreadyExists, codes.OK)
		})
	}
}

// TestNonIPSizeAgrees: the P4Info advertises the data path's non_ip capacity.
func TestNonIPSizeAgrees(t *testing.T) {
	if p4info.DefaultSizes.NonIPRules != dataplane.MaxNonIPRules {
		t.Errorf("P4Info non_ip size %d, data path holds %d", p4info.DefaultSizes.NonIPRules, dataplane.MaxNonIPRules)
	}
}
