package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/lab"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server"
	"github.com/linx-sdwan/linx/translate"
)

// These tests drive gw-a of the two-site lab the way a controller does: a
// server.New in front of gw-a's real XDP data path, a primary controller over
// StreamChannel, the pipeline pushed with VERIFY_AND_COMMIT (which wipes what
// the lab programmed), and then every rule written through P4Runtime only.
// Traffic between the hosts shows that the writes took effect, and counters
// read back through P4Runtime show what the data path did with it.

const (
	p4rtDevice   = 1
	p4rtElection = 10 // the primary's election id (low word)
	p4rtBackup   = 5  // a backup controller's

	// FARs and PDR priorities the tests add to the lab's.
	farDrop  dataplane.FARID = 4
	farPunt  dataplane.FARID = 5
	prioDrop                 = 100
	prioPunt                 = 110

	udpPort   = 7000 // host-to-host traffic
	puntPort  = 9999 // the traffic class punted to the controller
	p4rtCount = 100  // datagrams per burst
)

// p4controller is one P4Runtime client session: its StreamChannel and what
// arrived on it.
type p4controller struct {
	t        *testing.T
	c        p4v1.P4RuntimeClient
	election uint64
	stream   p4v1.P4Runtime_StreamChannelClient

	arb     chan *p4v1.MasterArbitrationUpdate
	packets chan *p4v1.PacketIn
	errs    chan *p4v1.StreamError
}

// p4rtLab is the lab with a P4Runtime server in front of gw-a.
type p4rtLab struct {
	*env
	c       p4v1.P4RuntimeClient
	primary *p4controller
}

// newP4RTLab builds the lab, serves gw-a's data path over P4Runtime on
// loopback, becomes primary, pushes the pipeline (clearing what the lab
// installed on gw-a) and programs gw-a like the lab does, through Writes.
func newP4RTLab(t *testing.T) *p4rtLab {
	t.Helper()
	e := newLab(t)
	o := lab.LabOptions
	pipeline := p4info.New(p4info.Sizes{PDRs: o.MaxPDRs, FARs: o.MaxFARs, LBRs: o.MaxLBRs,
		Tunnels: o.MaxTunnels, TunnelTerms: o.MaxTerms, Ports: o.MaxPorts})
	idx, err := p4info.NewIndex(pipeline)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{DeviceID: p4rtDevice, Dataplane: e.A.DP, Pipeline: idx})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run in reverse: the server stops before the lab (registered
	// earlier) closes the data path it drives.
	t.Cleanup(func() {
		conn.Close()
		srv.Stop(time.Second)
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})
	l := &p4rtLab{env: e, c: p4v1.NewP4RuntimeClient(conn)}
	l.primary = l.connect(p4rtElection)
	if st := l.primary.arbitration(); st.GetStatus().GetCode() != int32(code.Code_OK) {
		t.Fatalf("controller with election id %d is not primary: %v", p4rtElection, st)
	}
	ctx := testenv.Context(t, labTimeout)
	if _, err := l.c.SetForwardingPipelineConfig(ctx, &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: p4rtDevice, ElectionId: &p4v1.Uint128{Low: p4rtElection},
		Action: p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: pipeline, Cookie: &p4v1.ForwardingPipelineConfig_Cookie{Cookie: 1}},
	}); err != nil {
		t.Fatalf("push pipeline: %v", err)
	}
	l.program()
	return l
}

// connect opens a StreamChannel and arbitrates with the given election id.
func (l *p4rtLab) connect(election uint64) *p4controller {
	t := l.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s, err := l.c.StreamChannel(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := &p4controller{t: t, c: l.c, election: election, stream: s,
		arb: make(chan *p4v1.MasterArbitrationUpdate, 16), packets: make(chan *p4v1.PacketIn, 1024),
		errs: make(chan *p4v1.StreamError, 16)}
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for {
			m, err := s.Recv()
			if err != nil {
				return
			}
			switch u := m.Update.(type) {
			case *p4v1.StreamMessageResponse_Arbitration:
				c.arb <- u.Arbitration
			case *p4v1.StreamMessageResponse_Packet:
				select {
				case c.packets <- u.Packet:
				default:
				}
			case *p4v1.StreamMessageResponse_Error:
				select {
				case c.errs <- u.Error:
				default:
				}
			}
		}
	}()
	if err := s.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{
		Arbitration: &p4v1.MasterArbitrationUpdate{DeviceId: p4rtDevice, ElectionId: &p4v1.Uint128{Low: election}}}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// arbitration waits for the next arbitration update on c's stream.
func (c *p4controller) arbitration() *p4v1.MasterArbitrationUpdate {
	c.t.Helper()
	select {
	case u := <-c.arb:
		return u
	case <-time.After(5 * time.Second):
		c.t.Fatalf("controller %d: no arbitration update", c.election)
	}
	return nil
}

// Entities and their parts, by P4Info id.

func p4Exact(id uint32, v uint64) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Exact_{
		Exact: &p4v1.FieldMatch_Exact{Value: translate.EncodeUint(v)}}}
}

func p4Ternary(id uint32, v, mask uint64) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Ternary_{
		Ternary: &p4v1.FieldMatch_Ternary{Value: translate.EncodeUint(v), Mask: translate.EncodeUint(mask)}}}
}

func p4Range(id uint32, lo, hi uint64) *p4v1.FieldMatch {
	return &p4v1.FieldMatch{FieldId: id, FieldMatchType: &p4v1.FieldMatch_Range_{
		Range: &p4v1.FieldMatch_Range{Low: translate.EncodeUint(lo), High: translate.EncodeUint(hi)}}}
}

func p4Prefix(id uint32, p netip.Prefix) *p4v1.FieldMatch {
	t := dataplane.Prefix(p)
	return p4Ternary(id, uint64(t.Value), uint64(t.Mask))
}

func p4Addr(a netip.Addr) uint64 { return uint64(dataplane.IPv4(a)) }

// p4action is a direct action; params are given in parameter id order 1, 2, ...
func p4action(id uint32, params ...uint64) *p4v1.TableAction {
	a := &p4v1.Action{ActionId: id}
	for i, v := range params {
		a.Params = append(a.Params, &p4v1.Action_Param{ParamId: uint32(i + 1), Value: translate.EncodeUint(v)})
	}
	return &p4v1.TableAction{Type: &p4v1.TableAction_Action{Action: a}}
}

func p4Table(te *p4v1.TableEntry) *p4v1.Entity {
	return &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: te}}
}

func p4update(op p4v1.Update_Type, e *p4v1.Entity) *p4v1.Update {
	return &p4v1.Update{Type: op, Entity: e}
}

func p4FAR(id dataplane.FARID, a *p4v1.TableAction) *p4v1.TableEntry {
	return &p4v1.TableEntry{TableId: p4info.IDTableFAR,
		Match: []*p4v1.FieldMatch{p4Exact(p4info.IDFieldFARFarID, uint64(id))}, Action: a}
}

// p4PDR selects FAR far for packets of direction dir matching the extra
// fields.
func p4PDR(prio int32, dir dataplane.Direction, far dataplane.FARID, fields ...*p4v1.FieldMatch) *p4v1.TableEntry {
	m := append([]*p4v1.FieldMatch{p4Ternary(p4info.IDFieldPDRDirection, uint64(dir), 3)}, fields...)
	return &p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: prio, Match: m,
		Action: p4action(p4info.IDActionSetFAR, uint64(far))}
}

// write sends one WriteRequest as the primary.
func (l *p4rtLab) write(ups ...*p4v1.Update) {
	l.t.Helper()
	_, err := l.c.Write(testenv.Context(l.t, 10*time.Second), &p4v1.WriteRequest{
		DeviceId: p4rtDevice, ElectionId: &p4v1.Uint128{Low: p4rtElection}, Updates: ups})
	if err != nil {
		l.t.Fatalf("write: %v", err)
	}
}

// read returns every entity a Read of ents yields.
func (l *p4rtLab) read(ents ...*p4v1.Entity) []*p4v1.Entity {
	l.t.Helper()
	s, err := l.c.Read(testenv.Context(l.t, 10*time.Second), &p4v1.ReadRequest{DeviceId: p4rtDevice, Entities: ents})
	if err != nil {
		l.t.Fatalf("read: %v", err)
	}
	var out []*p4v1.Entity
	for {
		r, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			l.t.Fatalf("read: %v", err)
		}
		out = append(out, r.Entities...)
	}
}

// program installs on gw-a, through P4Runtime, what the lab installs through
// the dataplane API (internal/lab program): both overlays and their
// terminations, the three FARs, LBR 1 as an action-selector group of two
// members weighted 3:1, and the downlink, uplink and uplink-EF PDRs.
func (l *p4rtLab) program() {
	t, s := l.t, l.A
	var ups []*p4v1.Update
	for _, id := range lab.Tunnels {
		tun := s.TunnelSpec(id)
		ups = append(ups,
			p4update(p4v1.Update_INSERT, p4Table(&p4v1.TableEntry{TableId: p4info.IDTableTunnels,
				Match:  []*p4v1.FieldMatch{p4Exact(p4info.IDFieldTunnelsTunnelID, uint64(id))},
				Action: p4action(p4info.IDActionSetGRE, uint64(tun.Port), p4Addr(tun.Src), p4Addr(tun.Dst), uint64(tun.Key))})),
			p4update(p4v1.Update_INSERT, p4Table(&p4v1.TableEntry{TableId: p4info.IDTableTunnelTerm,
				Match: []*p4v1.FieldMatch{
					p4Exact(p4info.IDFieldTunnelTermSrcAddr, p4Addr(tun.Dst)),
					p4Exact(p4info.IDFieldTunnelTermDstAddr, p4Addr(tun.Src)),
					p4Exact(p4info.IDFieldTunnelTermGREKey, uint64(tun.Key)),
				},
				Action: p4action(p4info.IDActionDecap, uint64(id))})),
		)
	}
	ups = append(ups,
		p4update(p4v1.Update_INSERT, p4Table(p4FAR(lab.FARToLAN, p4action(p4info.IDActionForward, uint64(lab.PortLAN))))),
		p4update(p4v1.Update_INSERT, p4Table(p4FAR(lab.FARTunnel1, p4action(p4info.IDActionEncap, uint64(lab.Tunnel1))))),
		p4update(p4v1.Update_INSERT, p4Table(p4FAR(lab.FARBalance, p4action(p4info.IDActionBalance, uint64(lab.LBR))))),
	)
	weights := map[dataplane.TunnelID]int32{lab.Tunnel1: lab.Weight1, lab.Tunnel2: lab.Weight2}
	group := &p4v1.ActionProfileGroup{ActionProfileId: p4info.IDActionProfileLBRSelector, GroupId: 1}
	for _, id := range lab.Tunnels {
		ups = append(ups, p4update(p4v1.Update_INSERT, &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileMember{
			ActionProfileMember: &p4v1.ActionProfileMember{ActionProfileId: p4info.IDActionProfileLBRSelector,
				MemberId: uint32(id), Action: p4action(p4info.IDActionEncap, uint64(id)).GetAction()}}}))
		group.Members = append(group.Members, &p4v1.ActionProfileGroup_Member{MemberId: uint32(id), Weight: weights[id]})
	}
	ups = append(ups,
		p4update(p4v1.Update_INSERT, &p4v1.Entity{Entity: &p4v1.Entity_ActionProfileGroup{ActionProfileGroup: group}}),
		p4update(p4v1.Update_INSERT, p4Table(&p4v1.TableEntry{TableId: p4info.IDTableLBR,
			Match:  []*p4v1.FieldMatch{p4Exact(p4info.IDFieldLBRLbrID, uint64(lab.LBR))},
			Action: &p4v1.TableAction{Type: &p4v1.TableAction_ActionProfileGroupId{ActionProfileGroupId: 1}}})),
		p4update(p4v1.Update_INSERT, p4Table(p4PDR(lab.PrioDownlink, dataplane.DirDownlink, lab.FARToLAN,
			p4Prefix(p4info.IDFieldPDRDstAddr, s.Prefix)))),
		p4update(p4v1.Update_INSERT, p4Table(p4PDR(lab.PrioUplinkEF, dataplane.DirUplink, lab.FARTunnel1,
			p4Prefix(p4info.IDFieldPDRDstAddr, s.Peer().Prefix), p4Ternary(p4info.IDFieldPDRDSCP, lab.DSCPEF, 0x3f)))),
		p4update(p4v1.Update_INSERT, p4Table(p4PDR(lab.PrioUplink, dataplane.DirUplink, lab.FARBalance,
			p4Prefix(p4info.IDFieldPDRDstAddr, s.Peer().Prefix)))),
	)
	l.write(ups...)

	// Read back: every table holds what was written.
	want := map[uint32]int{p4info.IDTablePDR: 3, p4info.IDTableFAR: 3, p4info.IDTableLBR: 1,
		p4info.IDTableTunnels: 2, p4info.IDTableTunnelTerm: 2}
	got := map[uint32]int{}
	for _, e := range l.read(p4Table(&p4v1.TableEntry{})) {
		got[e.GetTableEntry().GetTableId()]++
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("after programming, table 0x%08x holds %d entries, want %d (all: %v)", id, got[id], n, got)
		}
	}
}

// pdrCounters reads every pdr entry with its direct counter, by priority.
func (l *p4rtLab) pdrCounters() map[int32]dataplane.Counter {
	l.t.Helper()
	out := map[int32]dataplane.Counter{}
	for _, e := range l.read(p4Table(&p4v1.TableEntry{TableId: p4info.IDTablePDR, CounterData: &p4v1.CounterData{}})) {
		te := e.GetTableEntry()
		if te.CounterData == nil {
			l.t.Fatalf("pdr entry read with counter_data requested came back without it: %v", te)
		}
		out[te.Priority] = dataplane.Counter{Packets: uint64(te.CounterData.PacketCount), Bytes: uint64(te.CounterData.ByteCount)}
	}
	return out
}

// counter reads one cell of an indirect counter through P4Runtime.
func (l *p4rtLab) counter(id uint32, index int64) dataplane.Counter {
	l.t.Helper()
	got := l.read(&p4v1.Entity{Entity: &p4v1.Entity_CounterEntry{CounterEntry: &p4v1.CounterEntry{
		CounterId: id, Index: &p4v1.Index{Index: index}}}})
	if len(got) != 1 {
		l.t.Fatalf("read counter 0x%08x[%d]: %d entities, want 1", id, index, len(got))
	}
	d := got[0].GetCounterEntry().GetData()
	return dataplane.Counter{Packets: uint64(d.GetPacketCount()), Bytes: uint64(d.GetByteCount())}
}

// tunnelTX reads the tunnel TX packet counters of gw-a, read through P4Runtime.
func (l *p4rtLab) tunnelTX() map[dataplane.TunnelID]uint64 {
	out := map[dataplane.TunnelID]uint64{}
	for _, id := range lab.Tunnels {
		out[id] = l.counter(p4info.IDCounterTunnelTX, int64(id)).Packets
	}
	return out
}

// waitCounters polls cond (which reads counters) until it holds or 5 s pass.
func waitCounters(cond func() bool) bool {
	end := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}

// udpBurst sends p4rtCount datagrams of one UDP flow from site s's host to the
// peer's host on port, received by sink.
func udpBurst(t *testing.T, s *lab.Site, port uint16) netlab.FlowID {
	t.Helper()
	dst := netip.AddrPortFrom(s.Peer().HostAddr, port)
	id, err := netlab.SendUDPWith(s.Host, "", dst.String(), p4rtCount, netlab.UDPOptions{Size: 256, Gap: 50 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestP4RTWriteForwards: after the pipeline push wiped gw-a, the rules written
// through P4Runtime carry traffic both ways and the pdr direct counters read
// back count it; a higher-priority drop PDR written on top stops the traffic
// and drop_counter[policy] counts it; modified to encapsulate onto tunnel 1 it
// carries the traffic over that overlay only; deleted, the traffic is balanced
// again.
func TestP4RTWriteForwards(t *testing.T) {
	l := newP4RTLab(t)
	l.allow[dataplane.DropPolicy] = p4rtCount
	l.warmup()
	a, b := l.A, l.B

	// Uplink from host-a: PDR "uplink" (balance) on gw-a.
	sinkB := testenv.NewUDPSink(t, b.Host, netip.AddrPortFrom(b.HostAddr, udpPort).String())
	before := l.pdrCounters()
	tx0 := l.tunnelTX()
	flow := udpBurst(t, a, udpPort)
	if got := sinkB.WaitReceived(flow, p4rtCount, 5*time.Second); got != p4rtCount {
		t.Fatalf("host-a -> host-b through P4Runtime-programmed gw-a: %d/%d datagrams arrived\n%s", got, p4rtCount, l.table())
	}
	var after map[int32]dataplane.Counter
	waitCounters(func() bool {
		after = l.pdrCounters()
		return after[lab.PrioUplink].Packets-before[lab.PrioUplink].Packets >= p4rtCount
	})
	checkPDRGrowth(t, "uplink burst", before, after, map[int32]uint64{lab.PrioUplink: p4rtCount})
	tx1 := l.tunnelTX()
	if d := tx1[lab.Tunnel1] + tx1[lab.Tunnel2] - tx0[lab.Tunnel1] - tx0[lab.Tunnel2]; d != p4rtCount {
		t.Errorf("uplink burst: tunnel_tx_counter grew by %d packets over both overlays, want %d", d, p4rtCount)
	}

	// Downlink to host-a: PDR "downlink" (forward to the LAN) on gw-a.
	sinkA := testenv.NewUDPSink(t, a.Host, netip.AddrPortFrom(a.HostAddr, udpPort).String())
	before = l.pdrCounters()
	flow = udpBurst(t, b, udpPort)
	if got := sinkA.WaitReceived(flow, p4rtCount, 5*time.Second); got != p4rtCount {
		t.Fatalf("host-b -> host-a through P4Runtime-programmed gw-a: %d/%d datagrams arrived\n%s", got, p4rtCount, l.table())
	}
	waitCounters(func() bool {
		after = l.pdrCounters()
		return after[lab.PrioDownlink].Packets-before[lab.PrioDownlink].Packets >= p4rtCount
	})
	checkPDRGrowth(t, "downlink burst", before, after, map[int32]uint64{lab.PrioDownlink: p4rtCount})

	// A drop PDR above the uplink one, for UDP to host-b:udpPort only.
	drop := p4PDR(prioDrop, dataplane.DirUplink, farDrop,
		p4Ternary(p4info.IDFieldPDRDstAddr, p4Addr(b.HostAddr), 0xffffffff),
		p4Ternary(p4info.IDFieldPDRIPProto, 17, 0xff),
		p4Range(p4info.IDFieldPDRL4Dport, udpPort, udpPort))
	l.write(
		p4update(p4v1.Update_INSERT, p4Table(p4FAR(farDrop, p4action(p4info.IDActionDrop)))),
		p4update(p4v1.Update_INSERT, p4Table(drop)),
	)
	drops0 := l.counter(p4info.IDCounterDrop, int64(dataplane.DropPolicy))
	before = l.pdrCounters()
	if before[prioDrop] != (dataplane.Counter{}) {
		t.Errorf("a fresh drop PDR reads counter %+v, want zero", before[prioDrop])
	}
	flow = udpBurst(t, a, udpPort)
	var drops dataplane.Counter
	if !waitCounters(func() bool {
		drops = l.counter(p4info.IDCounterDrop, int64(dataplane.DropPolicy))
		return drops.Packets-drops0.Packets >= p4rtCount
	}) {
		t.Errorf("drop_counter[%d] (policy) grew by %d packets, want %d\n%s", dataplane.DropPolicy, drops.Packets-drops0.Packets, p4rtCount, l.table())
	}
	if d := drops.Packets - drops0.Packets; d != p4rtCount {
		t.Errorf("drop_counter[policy] grew by %d packets, want exactly %d", d, p4rtCount)
	}
	time.Sleep(100 * time.Millisecond) // nothing should be in flight, but give it a chance
	if got := sinkB.Received(flow); got != 0 {
		t.Errorf("with the drop PDR installed, %d/%d datagrams still reached host-b", got, p4rtCount)
	}
	after = l.pdrCounters()
	checkPDRGrowth(t, "dropped burst", before, after, map[int32]uint64{prioDrop: p4rtCount})

	// MODIFY: the same PDR now encapsulates onto tunnel 1; its counter keeps counting.
	mod := p4PDR(prioDrop, dataplane.DirUplink, lab.FARTunnel1, drop.Match[1:]...)
	l.write(p4update(p4v1.Update_MODIFY, p4Table(mod)))
	before, tx0 = l.pdrCounters(), l.tunnelTX()
	flow = udpBurst(t, a, udpPort)
	if got := sinkB.WaitReceived(flow, p4rtCount, 5*time.Second); got != p4rtCount {
		t.Errorf("after MODIFY to encap onto tunnel 1: %d/%d datagrams arrived\n%s", got, p4rtCount, l.table())
	}
	waitCounters(func() bool {
		after = l.pdrCounters()
		return after[prioDrop].Packets-before[prioDrop].Packets >= p4rtCount
	})
	checkPDRGrowth(t, "burst after MODIFY", before, after, map[int32]uint64{prioDrop: p4rtCount})
	tx1 = l.tunnelTX()
	if d1, d2 := tx1[lab.Tunnel1]-tx0[lab.Tunnel1], tx1[lab.Tunnel2]-tx0[lab.Tunnel2]; d1 != p4rtCount || d2 != 0 {
		t.Errorf("after MODIFY to encap onto tunnel 1: tunnel 1 carried %d, tunnel 2 %d packets; want %d and 0", d1, d2, p4rtCount)
	}

	// DELETE: the uplink PDR takes the traffic again; nothing more is dropped.
	l.write(p4update(p4v1.Update_DELETE, p4Table(&p4v1.TableEntry{TableId: p4info.IDTablePDR, Priority: prioDrop, Match: drop.Match})),
		p4update(p4v1.Update_DELETE, p4Table(p4FAR(farDrop, nil))))
	for _, e := range l.read(p4Table(&p4v1.TableEntry{TableId: p4info.IDTablePDR})) {
		if e.GetTableEntry().Priority == prioDrop {
			t.Errorf("the deleted PDR is still read back: %v", e.GetTableEntry())
		}
	}
	drops0 = l.counter(p4info.IDCounterDrop, int64(dataplane.DropPolicy))
	before = l.pdrCounters()
	flow = udpBurst(t, a, udpPort)
	if got := sinkB.WaitReceived(flow, p4rtCount, 5*time.Second); got != p4rtCount {
		t.Errorf("after deleting the drop PDR: %d/%d datagrams arrived\n%s", got, p4rtCount, l.table())
	}
	waitCounters(func() bool {
		after = l.pdrCounters()
		return after[lab.PrioUplink].Packets-before[lab.PrioUplink].Packets >= p4rtCount
	})
	checkPDRGrowth(t, "burst after DELETE", before, after, map[int32]uint64{lab.PrioUplink: p4rtCount})
	if d := l.counter(p4info.IDCounterDrop, int64(dataplane.DropPolicy)).Packets - drops0.Packets; d != 0 {
		t.Errorf("after deleting the drop PDR, drop_counter[policy] still grew by %d", d)
	}
	if sinkB.Corrupt()+sinkA.Corrupt() != 0 {
		t.Errorf("%d corrupt datagrams", sinkB.Corrupt()+sinkA.Corrupt())
	}
}

// checkPDRGrowth compares the growth of pdr counters (by priority) with want;
// priorities not in want must not have grown.
func checkPDRGrowth(t *testing.T, what string, before, after map[int32]dataplane.Counter, want map[int32]uint64) {
	t.Helper()
	var bad []string
	for prio, c := range after {
		d := c.Packets - before[prio].Packets
		if d != want[prio] {
			bad = append(bad, fmt.Sprintf("priority %d grew by %d packets, want %d", prio, d, want[prio]))
		}
		if want[prio] > 0 && c.Bytes-before[prio].Bytes < want[prio]*256 {
			bad = append(bad, fmt.Sprintf("priority %d grew by %d bytes, want at least %d", prio, c.Bytes-before[prio].Bytes, want[prio]*256))
		}
	}
	for prio := range want {
		if _, ok := after[prio]; !ok {
			bad = append(bad, fmt.Sprintf("no pdr entry of priority %d read back", prio))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Errorf("%s: pdr counters read through P4Runtime: %s", what, strings.Join(bad, "; "))
	}
}

// TestP4RTPacketIO: a punt FAR sends a traffic class to the primary controller
// as PacketIns carrying gw-a's LAN port as ingress_port (and nothing to a
// backup controller); a PacketOut from the primary leaves by the port it
// names and reaches the host, one from the backup is refused.
func TestP4RTPacketIO(t *testing.T) {
	l := newP4RTLab(t)
	l.warmup()
	a, b := l.A, l.B
	backup := l.connect(p4rtBackup)
	if st := backup.arbitration(); st.GetStatus().GetCode() == int32(code.Code_OK) {
		t.Fatalf("controller with election id %d (below %d) became primary: %v", p4rtBackup, p4rtElection, st)
	}

	// PacketIn: UDP to host-b:puntPort is punted.
	l.write(
		p4update(p4v1.Update_INSERT, p4Table(p4FAR(farPunt, p4action(p4info.IDActionPunt)))),
		p4update(p4v1.Update_INSERT, p4Table(p4PDR(prioPunt, dataplane.DirUplink, farPunt,
			p4Ternary(p4info.IDFieldPDRIPProto, 17, 0xff), p4Range(p4info.IDFieldPDRL4Dport, puntPort, puntPort)))),
	)
	const punts = 3
	sinkB := testenv.NewUDPSink(t, b.Host, netip.AddrPortFrom(b.HostAddr, puntPort).String())
	flow, err := netlab.SendUDPWith(a.Host, netip.AddrPortFrom(a.HostAddr, 40000).String(),
		netip.AddrPortFrom(b.HostAddr, puntPort).String(), punts, netlab.UDPOptions{Size: 64, Gap: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range punts {
		var p *p4v1.PacketIn
		select {
		case p = <-l.primary.packets:
		case <-time.After(5 * time.Second):
			t.Fatalf("PacketIn %d of %d did not arrive on the primary's stream\n%s", i+1, punts, l.table())
		}
		checkPacketIn(t, p, a, b)
	}
	select {
	case p := <-backup.packets:
		t.Errorf("the backup controller received a PacketIn: %v", p)
	case <-time.After(200 * time.Millisecond):
	}
	if got := sinkB.Received(flow); got != 0 {
		t.Errorf("%d punted datagrams also reached host-b", got)
	}
	if c := l.pdrCounters()[prioPunt]; c.Packets != punts {
		t.Errorf("punt PDR counted %d packets, want %d", c.Packets, punts)
	}

	// PacketOut: a frame built here leaves gw-a by its LAN port and reaches host-a.
	capt := testenv.NewCapture(t, a.Host, lab.IfHost)
	frame, marker := packetOutFrame(t, l)
	out := func(c *p4controller) {
		t.Helper()
		if err := c.stream.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Packet{Packet: &p4v1.PacketOut{
			Payload:  frame,
			Metadata: []*p4v1.PacketMetadata{{MetadataId: p4info.IDMetaEgressPort, Value: translate.EncodeUint(uint64(lab.PortLAN))}},
		}}}); err != nil {
			t.Fatal(err)
		}
	}
	arrived := func(timeout time.Duration) bool {
		_, ok := capt.Wait(timeout, func(p testenv.Packet) bool { return !p.Outgoing && bytes.Contains(p.Data, marker) })
		return ok
	}
	out(backup)
	select {
	case e := <-backup.errs:
		if e.CanonicalCode != int32(code.Code_PERMISSION_DENIED) {
			t.Errorf("PacketOut from the backup: stream error code %d (%s), want PERMISSION_DENIED", e.CanonicalCode, e.Message)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("PacketOut from the backup: no stream error")
	}
	if arrived(200 * time.Millisecond) {
		t.Fatalf("a PacketOut from the backup controller was transmitted")
	}
	out(l.primary)
	if !arrived(5 * time.Second) {
		t.Fatalf("the primary's PacketOut on port %d did not reach host-a\ncapture: %s", lab.PortLAN, capt)
	}
	select {
	case e := <-l.primary.errs:
		t.Errorf("the primary's PacketOut got a stream error: %v", e)
	default:
	}
}

// checkPacketIn verifies a PacketIn of the punted flow from site a to b.
func checkPacketIn(t *testing.T, p *p4v1.PacketIn, a, b *lab.Site) {
	t.Helper()
	if len(p.Metadata) != 1 || p.Metadata[0].MetadataId != p4info.IDMetaIngressPort {
		t.Fatalf("PacketIn metadata %v, want exactly ingress_port (id %d)", p.Metadata, p4info.IDMetaIngressPort)
	}
	port, err := translate.DecodeUint(p.Metadata[0].Value, p4info.BitsPort)
	if err != nil || dataplane.PortID(port) != lab.PortLAN {
		t.Errorf("PacketIn ingress_port %x (%d, %v), want %d (gw-a's LAN port)", p.Metadata[0].Value, port, err, lab.PortLAN)
	}
	pkt := gopacket.NewPacket(p.Payload, layers.LayerTypeEthernet, gopacket.Default)
	ip, _ := pkt.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	udp, _ := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP)
	if ip == nil || udp == nil {
		t.Fatalf("PacketIn payload is not an Ethernet/IPv4/UDP frame: %v", pkt)
	}
	if !ip.SrcIP.Equal(a.HostAddr.AsSlice()) || !ip.DstIP.Equal(b.HostAddr.AsSlice()) || udp.DstPort != puntPort {
		t.Errorf("PacketIn carries %s -> %s:%d, want %s -> %s:%d", ip.SrcIP, ip.DstIP, udp.DstPort, a.HostAddr, b.HostAddr, puntPort)
	}
}

// packetOutFrame builds an Ethernet/IPv4/UDP frame from gw-a's LAN interface
// to host-a with a unique payload marker.
func packetOutFrame(t *testing.T, l *p4rtLab) (frame, marker []byte) {
	t.Helper()
	hostMAC, err := netlab.HardwareAddr(l.A.Host, lab.IfHost)
	if err != nil {
		t.Fatal(err)
	}
	gwMAC, err := netlab.HardwareAddr(l.A.GW, lab.IfLAN)
	if err != nil {
		t.Fatal(err)
	}
	marker = fmt.Appendf(nil, "linx-packet-out-%d", time.Now().UnixNano())
	eth := &layers.Ethernet{SrcMAC: gwMAC, DstMAC: hostMAC, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP,
		SrcIP: l.A.LANAddr.AsSlice(), DstIP: l.A.HostAddr.AsSlice()}
	udp := &layers.UDP{SrcPort: 7100, DstPort: 7100}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, udp, gopacket.Payload(marker)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), marker
}
