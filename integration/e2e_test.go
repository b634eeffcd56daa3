package integration

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/google/gopacket/layers"
	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/lab"
	"github.com/linx-sdwan/linx/internal/netlab"
	"github.com/linx-sdwan/linx/internal/testenv"
)

// labTimeout bounds each test's traffic.
const labTimeout = 2 * time.Minute

// env is one test's lab plus what the final drop check tolerates.
type env struct {
	*lab.Lab
	t *testing.T
	// allow is how many drops per reason (per gateway) the test expects at
	// most; reasons not listed must not occur.
	allow map[dataplane.DropReason]uint64
}

// newLab builds the standard two-site lab (see newLabWith).
func newLab(t *testing.T) *env {
	t.Helper()
	return newLabWith(t, lab.Config{})
}

// newLabWith builds the two-site lab in namespaces owned by t (removed even
// if the test fails) and, when the test ends, checks both gateways' drop
// counters, then tears the lab down.
func newLabWith(t *testing.T, cfg lab.Config) *env {
	t.Helper()
	testenv.RequireRoot(t)
	cfg.NewNS = testenv.NSMaker(t)
	l, err := lab.New(testenv.Context(t, labTimeout), cfg)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{Lab: l, t: t, allow: map[dataplane.DropReason]uint64{}}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close lab: %v", err)
		}
	})
	t.Cleanup(e.checkDrops) // runs before Close
	return e
}

// counters reads both gateways' counters.
func (e *env) counters() (a, b lab.Counters) {
	e.t.Helper()
	a, err := e.A.Counters()
	if err != nil {
		e.t.Fatal(err)
	}
	if b, err = e.B.Counters(); err != nil {
		e.t.Fatal(err)
	}
	return a, b
}

// table renders both gateways' counters, for failure messages and -v logs.
func (e *env) table() string {
	a, errA := e.A.Counters()
	b, errB := e.B.Counters()
	if errA != nil || errB != nil {
		return fmt.Sprintf("(counters unavailable: %v %v)", errA, errB)
	}
	var sb strings.Builder
	lab.WriteTable(&sb, a, b)
	return sb.String()
}

// checkDrops fails the test if a gateway dropped packets for a reason the
// test does not expect, printing every counter.
func (e *env) checkDrops() {
	t := e.t
	a, errA := e.A.Counters()
	b, errB := e.B.Counters()
	if errA != nil || errB != nil {
		t.Errorf("read counters: %v %v", errA, errB)
		return
	}
	var bad []string
	for _, g := range []struct {
		name  string
		drops map[dataplane.DropReason]dataplane.Counter
	}{{"gw-a", a.Drops}, {"gw-b", b.Drops}} {
		for r, c := range g.drops {
			if c.Packets > e.allow[r] {
				bad = append(bad, fmt.Sprintf("%s: %d %s drops (at most %d expected)", g.name, c.Packets, r, e.allow[r]))
			}
		}
	}
	var sb strings.Builder
	lab.WriteTable(&sb, a, b)
	if len(bad) > 0 {
		t.Errorf("unexpected drops: %s\ncounters:\n%s", strings.Join(bad, "; "), sb.String())
		return
	}
	t.Logf("counters:\n%s", sb.String())
}

// warmup resolves the neighbours on the path (the gateways' kernels ARP for
// the first packets); loss is tolerated only here.
func (e *env) warmup() {
	e.t.Helper()
	if err := e.Warmup(testenv.Context(e.t, labTimeout), 10); err != nil {
		e.t.Fatalf("%v\n%s", err, e.table())
	}
}

func TestE2EPing(t *testing.T) {
	e := newLab(t)
	e.warmup()
	const n = 10
	for _, s := range e.Sites() {
		got, err := netlab.Ping(s.Host, s.Peer().HostAddr, n, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		// After the warm-up the path is fully resolved: nothing may be lost.
		if got != n {
			t.Errorf("ping host-%s -> %s: %d/%d replies\n%s", s.Name, s.Peer().HostAddr, got, n, e.table())
		}
	}
}

func TestE2ETCP(t *testing.T) {
	e := newLab(t)
	e.warmup()
	const size = 4 << 20
	for _, s := range e.Sites() {
		dst := netip.AddrPortFrom(s.Peer().HostAddr, 0).String()
		if err := testenv.TransferTCP(t, s.Host, s.Peer().Host, dst, size); err != nil {
			t.Errorf("host-%s -> host-%s: %v\n%s", s.Name, s.Peer().Name, err, e.table())
		}
	}
}

func TestE2EUDP(t *testing.T) {
	e := newLab(t)
	e.warmup()
	const flows, perFlow = 8, 64
	for _, s := range e.Sites() {
		dst := netip.AddrPortFrom(s.Peer().HostAddr, 7000)
		sink := testenv.NewUDPSink(t, s.Peer().Host, dst.String())
		var ids []netlab.FlowID
		for i := range flows {
			src := netip.AddrPortFrom(s.HostAddr, uint16(41000+i))
			id, err := netlab.SendUDPWith(s.Host, src.String(), dst.String(), perFlow,
				netlab.UDPOptions{Size: 512, Gap: 50 * time.Microsecond})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if got := sink.WaitReceivedAll(ids, flows*perFlow, 5*time.Second); got != flows*perFlow {
			t.Errorf("udp host-%s -> %s: %d/%d datagrams arrived\n%s", s.Name, dst, got, flows*perFlow, e.table())
		}
		if sink.Corrupt() != 0 {
			t.Errorf("udp host-%s -> %s: %d corrupt datagrams", s.Name, dst, sink.Corrupt())
		}
		for _, id := range ids {
			if d := sink.Duplicates(id); d != 0 {
				t.Errorf("udp host-%s -> %s: flow %x duplicated %d datagrams", s.Name, dst, id, d)
			}
		}
	}
}

// TestE2ELoadBalance sends many distinct UDP flows from host-a and checks,
// flow by flow from gw-a's tunnel counters, that each flow stays on one
// overlay, that the overlays share the flows as LBR 1's weights say, and that
// DSCP EF flows all take tunnel 1.
func TestE2ELoadBalance(t *testing.T) {
	e := newLab(t)
	e.warmup()
	ctx := testenv.Context(t, labTimeout)
	a := e.A
	dst := netip.AddrPortFrom(e.B.HostAddr, 7000)
	sink := testenv.NewUDPSink(t, e.B.Host, dst.String())

	const flows, perFlow = 400, 4
	sp, err := a.SpreadUDP(ctx, dst, 20000, flows, perFlow, 0)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.table())
	}
	n1, n2 := sp.ByTunnel[lab.Tunnel1], sp.ByTunnel[lab.Tunnel2]
	// Each flow picks its overlay by a hash of its 5-tuple: the count on
	// tunnel 1 is binomial around the weight share (lab.ShareBand).
	p := lab.Tunnel1Weight
	lo, hi := lab.ShareBand(flows, p)
	t.Logf("%d flows: tunnel 1 %d (%.1f%%), tunnel 2 %d; tunnel 1 must carry %d..%d", flows, n1, 100*sp.Share(lab.Tunnel1), n2, lo, hi)
	if n1 == 0 || n2 == 0 || n1 < lo || n1 > hi {
		t.Errorf("load balancing: tunnel 1 carried %d of %d flows, tunnel 2 %d; want tunnel 1 within %d..%d (%.0f%% by weight)",
			n1, flows, n2, lo, hi, 100*p)
	}
	if got := sink.WaitReceivedAll(sp.Flows, sp.Datagrams, 5*time.Second); got != sp.Datagrams {
		t.Errorf("load balancing: %d/%d datagrams arrived at host-b", got, sp.Datagrams)
	}

	const efFlows = 50
	ef, err := a.SpreadUDP(ctx, dst, 30000, efFlows, perFlow, lab.TOSEF)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.table())
	}
	if ef.ByTunnel[lab.Tunnel1] != efFlows {
		t.Errorf("DSCP EF: %d of %d flows took tunnel 1, want all (by tunnel: %v)", ef.ByTunnel[lab.Tunnel1], efFlows, ef.ByTunnel)
	}
	if got := sink.WaitReceivedAll(ef.Flows, ef.Datagrams, 5*time.Second); got != ef.Datagrams {
		t.Errorf("DSCP EF: %d/%d datagrams arrived at host-b", got, ef.Datagrams)
	}
	if sink.Corrupt() != 0 {
		t.Errorf("%d corrupt datagrams", sink.Corrupt())
	}
}

// TestE2EFailover marks the overlay carrying a TCP transfer down on both
// gateways in the middle of the transfer: the connection must survive,
// intact, on the other overlay, and new flows must avoid the downed overlay
// until it is back up. It runs once from each overlay: tunnel 1 → tunnel 2
// also grows the encapsulation by the GRE key (4 bytes), so full-size
// segments stop fitting and TCP has to go through path MTU discovery with
// the data path's ICMP fragmentation-needed.
func TestE2EFailover(t *testing.T) {
	e := newLab(t)
	// In-flight packets: after SetTunnel returns, each CPU may still finish
	// one packet that read the overlay as up (encap counts it) or that the
	// balancer chose before the write (encap then drops it as tunnel_down).
	inflight := uint64(ebpf.MustPossibleCPU())
	e.allow[dataplane.DropTunnelDown] = 2 * inflight // two failovers
	e.warmup()
	for _, carrier := range lab.Tunnels {
		t.Run(fmt.Sprintf("from-tunnel-%d", carrier), func(t *testing.T) {
			testFailover(t, e, carrier, inflight)
		})
	}
}

func testFailover(t *testing.T, e *env, carrier dataplane.TunnelID, inflight uint64) {
	ctx := testenv.Context(t, labTimeout)
	const size, rate = 8 << 20, 4 << 20
	r, err := e.Failover(ctx, e.A, lab.FailoverOptions{Size: size, Rate: rate, DownAfter: 2 << 20, Carrier: carrier})
	if err != nil {
		t.Fatalf("%v\n%s", err, e.table())
	}
	t.Logf("%s rode tunnel %d (connection %d); marked down after %d bytes sent, %d received",
		r.Conn, r.Carrier, r.Attempts, r.SentAtDown, r.ReceivedAtDown)
	if r.Err != nil {
		t.Errorf("the TCP connection did not survive the failover: %v\n%s", r.Err, e.table())
	}
	if n := r.Probe.Tunnels[r.Other].TX.Packets; n != 0 {
		t.Errorf("before the failure the connection was split: tunnel %d carried %d packets too", r.Other, n)
	}
	if r.SentAtDown >= size {
		t.Fatalf("the transfer was fully sent before the overlay went down; nothing was tested")
	}
	for _, g := range []struct {
		name          string
		atDown, after lab.Counters
		payload       int64 // payload bytes that must have crossed after the failure
	}{
		{"gw-a", r.AtDown, r.After, size - r.SentAtDown},
		{"gw-b", r.PeerAtDown, r.PeerAfter, 0},
	} {
		d := g.after.Sub(g.atDown)
		if n := d.Tunnels[r.Carrier].TX.Packets; n > inflight {
			t.Errorf("%s: the downed tunnel %d still carried %d packets (at most %d in flight)", g.name, r.Carrier, n, inflight)
		}
		other := d.Tunnels[r.Other].TX
		if other.Packets == 0 || other.Bytes < uint64(g.payload) {
			t.Errorf("%s: tunnel %d carried %d packets, %d bytes after the failure; want > 0 packets, ≥ %d bytes",
				g.name, r.Other, other.Packets, other.Bytes, g.payload)
		}
	}

	// New flows avoid the downed overlay...
	dst := netip.AddrPortFrom(e.B.HostAddr, 7000)
	sink := testenv.NewUDPSink(t, e.B.Host, dst.String())
	const flows, perFlow = 100, 4
	sp, err := e.A.SpreadUDP(ctx, dst, 20000, flows, perFlow, 0)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.table())
	}
	if sp.ByTunnel[r.Other] != flows {
		t.Errorf("with tunnel %d down, %d of %d new flows took tunnel %d, want all (by tunnel: %v)",
			r.Carrier, sp.ByTunnel[r.Other], flows, r.Other, sp.ByTunnel)
	}
	// ...and use it again once it is back up (the same 100 flows: with
	// weights 3:1, the chance that none of them maps to either overlay is
	// below 1e-12).
	if err := e.RestoreTunnels(); err != nil {
		t.Fatal(err)
	}
	back, err := e.A.SpreadUDP(ctx, dst, 20000, flows, perFlow, 0)
	if err != nil {
		t.Fatalf("%v\n%s", err, e.table())
	}
	if back.ByTunnel[lab.Tunnel1] == 0 || back.ByTunnel[lab.Tunnel2] == 0 {
		t.Errorf("after restoring tunnel %d, flows by tunnel: %v; want both used", r.Carrier, back.ByTunnel)
	}
	want := sp.Datagrams + back.Datagrams
	if got := sink.WaitReceivedAll(append(sp.Flows, back.Flows...), want, 5*time.Second); got != want {
		t.Errorf("%d/%d datagrams arrived at host-b", got, want)
	}
}

// TestE2EPathMTU: a packet that no longer fits the WAN MTU once encapsulated
// is answered with ICMP fragmentation-needed, which must reach the host (a
// veth with GRO but no XDP program: the data path once sent it with XDP_TX,
// which veth does not flush to such a peer), and TCP must get through by path
// MTU discovery. Uplinks are pinned to tunnel 2 from gw-a (24+4 bytes of
// encapsulation) and to tunnel 1 from gw-b (24 bytes), so host-b's SYN-ACK
// advertises an MSS that host-a's segments, on tunnel 2, cannot use.
func TestE2EPathMTU(t *testing.T) {
	e := newLab(t)
	e.allow[dataplane.DropICMPTooBig] = math.MaxUint64 // path MTU discovery is what this test is about
	e.warmup()
	if err := e.A.SetTunnelDown(lab.Tunnel1, true); err != nil {
		t.Fatal(err)
	}
	if err := e.B.SetTunnelDown(lab.Tunnel2, true); err != nil {
		t.Fatal(err)
	}
	capt := testenv.NewCapture(t, e.A.Host, lab.IfHost)
	dst := netip.AddrPortFrom(e.B.HostAddr, 7000)
	// 1472 bytes of payload make a 1500-byte packet, with DF set (Linux UDP
	// sockets default to path MTU discovery): 1528 bytes on tunnel 2.
	if _, err := netlab.SendUDPWith(e.A.Host, "", dst.String(), 1, netlab.UDPOptions{Size: 1472}); err != nil {
		t.Fatal(err)
	}
	fragNeeded := layers.CreateICMPv4TypeCode(layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4CodeFragmentationNeeded)
	p, ok := capt.Wait(5*time.Second, func(p netlab.Packet) bool {
		ic, ok := p.Decode().Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
		return ok && !p.Outgoing && ic.TypeCode == fragNeeded
	})
	if !ok {
		t.Fatalf("host-a received no ICMP fragmentation-needed\ncapture: %s\n%s", capt, e.table())
	}
	// RFC 1191: the next-hop MTU is the low 16 bits of the second word.
	ic := p.Decode().Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4)
	if want := uint16(1500 - 20 - 8); ic.Seq != want {
		t.Errorf("ICMP fragmentation-needed announces MTU %d, want %d", ic.Seq, want)
	}
	if err := testenv.TransferTCP(t, e.A.Host, e.B.Host, netip.AddrPortFrom(e.B.HostAddr, 0).String(), 1<<20); err != nil {
		t.Errorf("tcp over tunnel 2 needing path MTU discovery: %v\n%s", err, e.table())
	}
}

// TestE2EMSSClampAcrossOverlays: a SYN's MSS limits the segments the other end
// sends, which the other gateway may put on an overlay with a larger
// encapsulation (tunnel 2's GRE key). The clamp assumes the largest overhead, so
// no segment is bounced: here the SYN-ACK takes tunnel 1 (tunnel 2 down on gw-b)
// and host-a's data tunnel 2 (tunnel 1 down on gw-a), and checkDrops fails the
// test on any icmp_too_big.
func TestE2EMSSClampAcrossOverlays(t *testing.T) {
	e := newLab(t)
	e.warmup()
	if err := e.A.SetTunnelDown(lab.Tunnel1, true); err != nil {
		t.Fatal(err)
	}
	if err := e.B.SetTunnelDown(lab.Tunnel2, true); err != nil {
		t.Fatal(err)
	}
	dstAddr := netip.AddrPortFrom(e.B.HostAddr, 0).String()
	if err := testenv.TransferTCP(t, e.A.Host, e.B.Host, dstAddr, 1<<20); err != nil {
		t.Fatal(err)
	}
	// checkDrops fails the test if icmp_too_big was counted.
}
