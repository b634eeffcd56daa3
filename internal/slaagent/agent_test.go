package slaagent

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/sla"
)

// peer plays the far gateway for a memdp data path: it answers the probes the
// agent sends (sla.Reflect, the model of linx's reflector) after a per-tunnel
// delay, or not at all for a tunnel it is told to black out.
type peer struct {
	t  *testing.T
	dp *memdp.Dataplane

	mu     sync.Mutex
	black  map[dataplane.TunnelID]bool
	delay  map[dataplane.TunnelID]time.Duration
	probes map[dataplane.TunnelID]int
	stop   chan struct{}
	done   chan struct{}
}

func newPeer(t *testing.T, dp *memdp.Dataplane) *peer {
	p := &peer{t: t, dp: dp, black: map[dataplane.TunnelID]bool{}, delay: map[dataplane.TunnelID]time.Duration{},
		probes: map[dataplane.TunnelID]int{}, stop: make(chan struct{}), done: make(chan struct{})}
	go p.run()
	t.Cleanup(func() { close(p.stop); <-p.done })
	return p
}

func (p *peer) set(id dataplane.TunnelID, black bool, delay time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.black[id], p.delay[id] = black, delay
}

func (p *peer) sent(id dataplane.TunnelID) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.probes[id]
}

func (p *peer) run() {
	defer close(p.done)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-tick.C:
		}
		for _, s := range p.dp.SentProbes() {
			p.mu.Lock()
			p.probes[s.Tunnel]++
			black, delay := p.black[s.Tunnel], p.delay[s.Tunnel]
			p.mu.Unlock()
			if black {
				continue
			}
			rep, err := reflectDatagram(s.Packet, time.Now())
			if err != nil {
				p.t.Errorf("probe through tunnel %d: %v", s.Tunnel, err)
				continue
			}
			id := s.Tunnel
			time.AfterFunc(delay, func() {
				p.dp.InjectProbeReply(dataplane.ProbeReply{Tunnel: id, RxTime: time.Now(), Packet: rep})
			})
		}
	}
}

// reflectDatagram answers a STAMP probe (IPv4/UDP, or IPv6/UDP through a
// tunnel over an IPv6 underlay) as the far reflector would: addresses and
// ports swapped, the STAMP reply from sla.Reflect.
func reflectDatagram(probe []byte, rx time.Time) ([]byte, error) {
	hdr, ttl, dscp := int(probe[0]&0xf)*4, probe[8], probe[1]>>2
	src, dst := netip.AddrFrom4([4]byte(probe[16:20])), netip.AddrFrom4([4]byte(probe[12:16]))
	if probe[0]>>4 == 6 {
		hdr, ttl, dscp = 40, probe[7], uint8(binary.BigEndian.Uint16(probe[0:])>>6)&0x3f
		src, dst = netip.AddrFrom16([16]byte(probe[24:40])), netip.AddrFrom16([16]byte(probe[8:24]))
	}
	r, err := sla.Reflect(probe[hdr+8:], rx, ttl)
	if err != nil {
		return nil, err
	}
	b := buildProbe(src, dst, dscp, dataplane.STAMPPort, r)
	binary.BigEndian.PutUint16(b[hdr+2:], binary.BigEndian.Uint16(probe[hdr:]))
	return b, nil
}

const (
	t1 = dataplane.TunnelID(1)
	t2 = dataplane.TunnelID(2)
)

func tunnel(n byte) dataplane.Tunnel {
	return dataplane.Tunnel{Port: 2, Src: netip.AddrFrom4([4]byte{192, 0, 2, n}), Dst: netip.AddrFrom4([4]byte{198, 51, 100, n})}
}

// rig is a memdp data path with two overlays in LBR 1, behind Steered, with
// an agent probing them every 10 ms and a peer answering.
func rig(t *testing.T, classes []Class) (*memdp.Dataplane, *Steered, *Agent, *peer) {
	t.Helper()
	return rigWith(t, classes, nil)
}

// rigWith is rig with per-tunnel probe intervals.
func rigWith(t *testing.T, classes []Class, intervals map[dataplane.TunnelID]time.Duration) (*memdp.Dataplane, *Steered, *Agent, *peer) {
	t.Helper()
	mem := memdp.New(dataplane.Options{})
	if err := mem.Attach("wan", 2, dataplane.RoleWAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	st := Wrap(mem, dataplane.Options{})
	for _, id := range []dataplane.TunnelID{t1, t2} {
		if err := st.SetTunnel(id, tunnel(byte(id))); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.SetLBR(1, []dataplane.LBRMember{{Tunnel: t1, Weight: 1}, {Tunnel: t2, Weight: 3}}); err != nil {
		t.Fatal(err)
	}
	p := newPeer(t, mem)
	a, err := Start(st, Options{Session: sla.SessionConfig{Interval: 10 * time.Millisecond,
		Thresholds: sla.Thresholds{HoldDown: 200 * time.Millisecond, DownAfter: 25}}, Intervals: intervals, Classes: classes, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Stop)
	return mem, st, a, p
}

// eventually polls cond until it holds or 10 s pass (a correctness bound, not a
// timing claim).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("never: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func state(a *Agent, id dataplane.TunnelID) sla.State { return a.Status()[sla.Path{Tunnel: id}].State }

func TestBlackoutMarksTunnelDownAndBack(t *testing.T) {
	mem, st, a, p := rig(t, nil)
	eventually(t, "both tunnels up", func() bool { return state(a, t1) == sla.StateUp && state(a, t2) == sla.StateUp })
	if mem.Tunnels()[t1].Down {
		t.Fatal("tunnel 1 installed down while up")
	}
	p.set(t1, true, 0)
	eventually(t, "tunnel 1 installed down", func() bool { return mem.Tunnels()[t1].Down })
	if mem.Tunnels()[t2].Down {
		t.Error("tunnel 2 marked down by tunnel 1's blackout")
	}
	if ct, _ := st.ControllerTunnel(t1); ct.Down {
		t.Error("the controller's view of tunnel 1 says down: verdicts must not leak into it")
	}
	// A controller rewriting the tunnel (say, a new GRE key) keeps the verdict.
	nt := tunnel(1)
	nt.Key = 7
	if err := st.SetTunnel(t1, nt); err != nil {
		t.Fatal(err)
	}
	if got := mem.Tunnels()[t1]; !got.Down || got.Key != 7 {
		t.Errorf("after the controller's rewrite tunnel 1 is installed as %+v: want key 7 and still down", got)
	}
	p.set(t1, false, 0)
	eventually(t, "tunnel 1 back up after the hold-down", func() bool { return !mem.Tunnels()[t1].Down })
	if got := mem.Tunnels()[t1]; got.Key != 7 {
		t.Errorf("tunnel 1 back as %+v: the controller's key 7 is lost", got)
	}
}

func TestNeverAnsweredTunnelIsNotMarkedDown(t *testing.T) {
	mem, _, a, p := rig(t, nil)
	p.set(t2, true, 0) // a peer with no reflector on tunnel 2
	eventually(t, "tunnel 1 up", func() bool { return state(a, t1) == sla.StateUp })
	eventually(t, "the prober calls tunnel 2 down", func() bool { return state(a, t2) == sla.StateDown })
	if mem.Tunnels()[t2].Down {
		t.Error("tunnel 2 never answered a probe, yet it is installed down")
	}
}

func voice() []Class {
	return []Class{{Name: "voice", SLA: sla.Limits{RTT: 15 * time.Millisecond}, LBR: 1}}
}

func TestBrownoutRestrictsClassAndRecovers(t *testing.T) {
	mem, st, a, p := rig(t, voice())
	both := []dataplane.LBRMember{{Tunnel: t1, Weight: 1}, {Tunnel: t2, Weight: 3}}
	eventually(t, "voice on both tunnels", func() bool { return slices.Equal(a.Selection()["voice"], both) })
	p.set(t1, false, 25*time.Millisecond) // +25 ms RTT on tunnel 1: over voice's 15 ms, well under the 250 ms of silence that means down (generous: this machine is shared)
	// Tunnel 1 stays in the LBR, excluded: its Maglev slots stay, so no flow
	// of tunnel 2 moves.
	only2 := []dataplane.LBRMember{{Tunnel: t1, Weight: 1, Excluded: true}, {Tunnel: t2, Weight: 3}}
	eventually(t, "LBR 1 installed with tunnel 1 excluded", func() bool { return slices.Equal(mem.LBRs()[1], only2) })
	if mem.Tunnels()[t1].Down {
		t.Error("a brownout took tunnel 1 down; only the class should leave it")
	}
	if m, _ := st.ControllerLBR(1); !slices.Equal(m, both) {
		t.Errorf("the controller's LBR reads %v: want %v", m, both)
	}
	// The controller rewrites the LBR (new weights): the restriction stays on it.
	if err := st.SetLBR(1, []dataplane.LBRMember{{Tunnel: t1, Weight: 2}, {Tunnel: t2, Weight: 2}}); err != nil {
		t.Fatal(err)
	}
	if got := mem.LBRs()[1]; !slices.Equal(got, []dataplane.LBRMember{{Tunnel: t1, Weight: 2, Excluded: true}, {Tunnel: t2, Weight: 2}}) {
		t.Errorf("after the controller's rewrite LBR 1 is %v: want the new weights, tunnel 1 still excluded", got)
	}
	p.set(t1, false, 0)
	eventually(t, "LBR 1 back on both tunnels", func() bool {
		return slices.Equal(mem.LBRs()[1], []dataplane.LBRMember{{Tunnel: t1, Weight: 2}, {Tunnel: t2, Weight: 2}})
	})
}

func TestTunnelsComeAndGo(t *testing.T) {
	mem, st, a, p := rig(t, nil)
	t3 := dataplane.TunnelID(3)
	if err := st.SetTunnel(t3, tunnel(3)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "tunnel 3 probed and up", func() bool { return p.sent(t3) > 0 && state(a, t3) == sla.StateUp })
	if err := st.DeleteTunnel(t3); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Status()[sla.Path{Tunnel: t3}]; ok {
		t.Error("tunnel 3 deleted, its probe session is still there")
	}
	// The peer collects sent probes every 2 ms: let it take those sent before
	// the deletion first, or one of them counts as sent after it.
	time.Sleep(20 * time.Millisecond)
	n := p.sent(t3)
	time.Sleep(50 * time.Millisecond)
	if m := p.sent(t3); m != n {
		t.Errorf("%d probes sent through tunnel 3 after it was deleted", m-n)
	}
	if err := st.Clear(); err != nil {
		t.Fatal(err)
	}
	if len(a.Status()) != 0 {
		t.Errorf("sessions after Clear: %v", a.Status())
	}
	_ = mem
}

func TestRestoreRecordsControllerState(t *testing.T) {
	mem := memdp.New(dataplane.Options{})
	if err := mem.Attach("wan", 2, dataplane.RoleWAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	st := Wrap(mem, dataplane.Options{})
	rs := dataplane.RestoreState{Tunnels: map[dataplane.TunnelID]dataplane.Tunnel{t1: tunnel(1)},
		LBRs: map[dataplane.LBRID][]dataplane.LBRMember{1: {{Tunnel: t1, Weight: 1}}}}
	if err := st.Restore(rs); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.ControllerTunnel(t1); !ok {
		t.Error("restored tunnel 1 is not the controller's")
	}
	if _, ok := mem.Tunnels()[t1]; !ok {
		t.Error("restored tunnel 1 is not installed")
	}
}

func TestProbePacket(t *testing.T) {
	stamp, err := sla.TestPacket{Seq: 9, ErrorEstimate: sla.DefaultErrorEstimate, Len: sla.BaseLen}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	tn := tunnel(1)
	b := buildProbe(tn.Src, tn.Dst, 46, DefaultSourcePort+46, stamp)
	if err := dataplane.ValidateProbe(tn, b, 1476); err != nil {
		t.Fatal(err)
	}
	if b[1]>>2 != 46 {
		t.Errorf("DSCP %d", b[1]>>2)
	}
	if checksum(b[:20], 0) != 0 {
		t.Error("IPv4 header checksum does not verify")
	}
	// The UDP checksum verifies over the pseudo-header.
	var ph uint32
	for i := 12; i < 20; i += 2 {
		ph += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	ph += 17 + uint32(len(b)-20)
	if checksum(b[20:], ph) != 0 {
		t.Error("UDP checksum does not verify")
	}
	if got := binary.BigEndian.Uint16(b[22:]); got != dataplane.STAMPPort {
		t.Errorf("dst port %d", got)
	}
}

func TestNeverAnsweredMemberKeepsItsClasses(t *testing.T) {
	mem, _, a, p := rig(t, voice())
	p.set(t2, true, 0) // a peer with no reflector on tunnel 2
	eventually(t, "voice selected on tunnel 1", func() bool { return len(a.Selection()["voice"]) == 1 })
	time.Sleep(100 * time.Millisecond)
	if got := mem.LBRs()[1]; excluded(got) != nil {
		t.Errorf("LBR 1 installed as %v: tunnel 2 never answered, it must not be judged out of the class", got)
	}
}

func TestRestrictedLBRStillValidatesTheControllersList(t *testing.T) {
	mem, st, a, _ := rig(t, voice())
	eventually(t, "voice on both tunnels", func() bool { return len(a.Selection()["voice"]) == 2 })
	// As a selection of tunnel 2 alone would (the prober's stays on both).
	if err := st.Restrict(1, []dataplane.TunnelID{t2}); err != nil {
		t.Fatal(err)
	}
	if got := mem.LBRs()[1]; !slices.Equal(got, []dataplane.LBRMember{{Tunnel: t1, Weight: 1, Excluded: true}, {Tunnel: t2, Weight: 3}}) {
		t.Fatalf("restricted LBR 1 installed as %v", got)
	}
	// Tunnel 1 is not allowed, yet its weight 0 is the controller's error:
	// the write must still be refused.
	err := st.SetLBR(1, []dataplane.LBRMember{{Tunnel: t1, Weight: 0}, {Tunnel: t2, Weight: 1}})
	if !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("an LBR with a weight-0 member was accepted while restricted: %v", err)
	}
	if m, _ := st.ControllerLBR(1); len(m) != 2 || m[1].Weight != 3 {
		t.Errorf("the refused write changed the controller's LBR: %v", m)
	}
}

func TestControllerClassReplacesConfiguredOne(t *testing.T) {
	mem, _, a, p := rig(t, voice()) // voice: LBR 1, RTT ≤ 15 ms
	eventually(t, "voice on both tunnels", func() bool { return len(a.Selection()["voice"]) == 2 })
	// The controller programs LBR 1's class with RTT ≤ 100 ms.
	if err := a.SetControllerClasses([]Class{{Name: "lbr-1", LBR: 1, SLA: sla.Limits{RTT: 100 * time.Millisecond}}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "class lbr-1 on both tunnels", func() bool { return len(a.Selection()["lbr-1"]) == 2 })
	if _, ok := a.Selection()["voice"]; ok {
		t.Error("the configured class of LBR 1 is still in force next to the controller's")
	}
	p.set(t1, false, 25*time.Millisecond) // beyond the configured 15 ms, within the controller's 100 ms
	eventually(t, "tunnel 1's RTT over 20 ms", func() bool {
		return a.Status()[sla.Path{Tunnel: t1}].Quality.RTT > 20*time.Millisecond
	})
	if got := mem.LBRs()[1]; excluded(got) != nil {
		t.Errorf("LBR 1 installed as %v: the controller's class allows 100 ms", got)
	}
	// The controller's class gone: the configured one is back.
	if err := a.SetControllerClasses(nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, "LBR 1 on tunnel 2 alone under the configured class", func() bool { return slices.Equal(excluded(mem.LBRs()[1]), []dataplane.TunnelID{t1}) })
}

func TestMemberOutOfSLAFromTheStartLeavesOnceJudged(t *testing.T) {
	mem, _, a, p := rig(t, voice())
	p.set(t2, false, 25*time.Millisecond) // before any verdict: tunnel 2 is never within voice's 15 ms
	eventually(t, "both tunnels judged", func() bool { return state(a, t1) == sla.StateUp && state(a, t2) == sla.StateUp })
	eventually(t, "LBR 1 on tunnel 1 alone", func() bool {
		return slices.Equal(mem.LBRs()[1], []dataplane.LBRMember{{Tunnel: t1, Weight: 1}, {Tunnel: t2, Weight: 3, Excluded: true}})
	})
}

func TestEveryOverlaySilentIsNotMarkedDown(t *testing.T) {
	mem, _, a, p := rig(t, nil)
	eventually(t, "both tunnels up", func() bool { return state(a, t1) == sla.StateUp && state(a, t2) == sla.StateUp })
	p.set(t1, true, 0)
	p.set(t2, true, 0) // every overlay silent: as when the gateway itself stalls
	eventually(t, "the prober calls both down", func() bool { return state(a, t1) == sla.StateDown && state(a, t2) == sla.StateDown })
	time.Sleep(50 * time.Millisecond)
	if tn := mem.Tunnels(); tn[t1].Down || tn[t2].Down {
		t.Fatalf("every overlay silent at once, yet installed down: 1 %v, 2 %v", tn[t1].Down, tn[t2].Down)
	}
	// Tunnel 2 answers again, tunnel 1 stays silent: now it is the path.
	p.set(t2, false, 0)
	eventually(t, "tunnel 1 installed down once tunnel 2 answers", func() bool { return mem.Tunnels()[t1].Down })
	if mem.Tunnels()[t2].Down {
		t.Error("tunnel 2 answers, yet it is installed down")
	}
}

// TestSilentTogetherResumeTogether: every overlay silent (a stall of the
// gateway), then every one answers again, tunnel 1 a little after tunnel 2:
// neither is ever installed down, though the prober holds both down until
// their hold-down has passed.
func TestSilentTogetherResumeTogether(t *testing.T) {
	mem, _, a, p := rig(t, nil)
	eventually(t, "both tunnels up", func() bool { return state(a, t1) == sla.StateUp && state(a, t2) == sla.StateUp })
	p.set(t1, true, 0)
	p.set(t2, true, 0)
	eventually(t, "the prober calls both down", func() bool { return state(a, t1) == sla.StateDown && state(a, t2) == sla.StateDown })
	p.set(t2, false, 0)
	p.set(t1, false, 30*time.Millisecond) // well within a down period (25 × 10 ms)
	end := time.Now().Add(10 * time.Second)
	for state(a, t1) != sla.StateUp || state(a, t2) != sla.StateUp {
		if tn := mem.Tunnels(); tn[t1].Down || tn[t2].Down {
			t.Fatalf("every overlay answers again, yet installed down: 1 %v, 2 %v", tn[t1].Down, tn[t2].Down)
		}
		if time.Now().After(end) {
			t.Fatal("the tunnels never came back up")
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestIPv6UnderlayIsProbed: a tunnel over an IPv6 underlay is probed like
// any other, with IPv6 probes between its addresses, and judged from the
// replies.
func TestIPv6UnderlayIsProbed(t *testing.T) {
	_, st, a, p := rig(t, nil)
	t6 := dataplane.TunnelID(6)
	tn := dataplane.Tunnel{Port: 2, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")}
	if err := st.SetTunnel(t6, tn); err != nil {
		t.Fatal(err)
	}
	eventually(t, "tunnel 6 probed and up", func() bool { return p.sent(t6) > 0 && state(a, t6) == sla.StateUp })
	p.set(t6, true, 0)
	eventually(t, "tunnel 6 down when black", func() bool { return state(a, t6) == sla.StateDown })
	if a.ReplyErrors() != 0 {
		t.Errorf("%d replies refused", a.ReplyErrors())
	}
}

// TestProbe6Layout: the IPv6 probe the agent builds is what a receiving stack
// accepts: version 6, traffic class from the DSCP, next header UDP, hop limit
// 64, lengths that agree, a UDP checksum that sums to all ones; and
// parseReply reads it back.
func TestProbe6Layout(t *testing.T) {
	src, dst := netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8::2")
	stamp := make([]byte, 45) // odd: the checksum's last octet
	stamp[0] = 7
	b := buildProbe(src, dst, 46, 50000, stamp)
	if len(b) != 40+8+45 || b[0]>>4 != 6 || uint8(binary.BigEndian.Uint16(b[0:])>>4) != 46<<2 || b[6] != 17 || b[7] != 64 ||
		binary.BigEndian.Uint16(b[4:]) != 8+45 || binary.BigEndian.Uint16(b[44:]) != 8+45 {
		t.Fatalf("IPv6 probe header % x", b[:48])
	}
	// The one's complement sum over pseudo-header and segment, the checksum
	// included, is all ones (RFC 8200 §8.1, RFC 768).
	var sum uint32
	for i := 8; i < 40; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(b[i:]))
	}
	sum += 17 + uint32(len(b)-40)
	u := append(bytes.Clone(b[40:]), 0)
	for i := 0; i+1 < len(u); i += 2 {
		sum += uint32(binary.BigEndian.Uint16(u[i:]))
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	if sum != 0xffff {
		t.Errorf("UDP checksum %#04x does not verify (sum %#04x)", binary.BigEndian.Uint16(b[46:]), sum)
	}
	// Read back as a reply (the reflector's from port 862; here both ports).
	rb := buildProbe(dst, src, 0, dataplane.STAMPPort, stamp)
	r, err := parseReply(rb)
	if err != nil || r.src != dst || r.dst != src || r.dport != dataplane.STAMPPort || !bytes.Equal(r.stamp, stamp) {
		t.Errorf("parseReply(IPv6) = %+v, %v", r, err)
	}
	if _, err := parseReply(rb[:47]); !errors.Is(err, errNotReply) {
		t.Errorf("truncated IPv6 reply: %v, want errNotReply", err)
	}
}

// excluded lists the members of ms an SLA class excludes.
func excluded(ms []dataplane.LBRMember) []dataplane.TunnelID {
	var out []dataplane.TunnelID
	for _, m := range ms {
		if m.Excluded {
			out = append(out, m.Tunnel)
		}
	}
	return out
}

// TestPerTunnelInterval: tunnel 1 is probed every 100 ms, tunnel 2 at the
// common 10 ms. By the time tunnel 1 has sent 5 probes, tunnel 2 has sent
// about ten times as many (at least 4 times, whatever the machine's load: a
// late poll skips the probes of both).
func TestPerTunnelInterval(t *testing.T) {
	_, _, a, p := rigWith(t, nil, map[dataplane.TunnelID]time.Duration{t1: 100 * time.Millisecond})
	eventually(t, "5 probes through tunnel 1", func() bool { return p.sent(t1) >= 5 })
	n1, n2 := p.sent(t1), p.sent(t2)
	if n2 < 4*n1 {
		t.Errorf("%d probes through tunnel 2 (10 ms) for %d through tunnel 1 (100 ms): want about 10 times as many", n2, n1)
	}
	eventually(t, "tunnel 1 judged on its slower probes", func() bool { return state(a, t1) == sla.StateUp })
}

func TestPerTunnelIntervalRefused(t *testing.T) {
	mem := memdp.New(dataplane.Options{})
	st := Wrap(mem, dataplane.Options{})
	_, err := Start(st, Options{Intervals: map[dataplane.TunnelID]time.Duration{3: 5 * time.Millisecond}})
	if err == nil || !strings.Contains(err.Error(), "tunnel 3") || !strings.Contains(err.Error(), "interval 5ms") {
		t.Fatalf("a 5 ms interval for tunnel 3: %v", err)
	}
}
