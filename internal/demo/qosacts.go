package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/linx-sdwan/linx/internal/netlab"
)

// The IPv6 act: each site gets an IPv6 prefix on its LAN, carried inside the
// GRE overlays of the IPv4 underlay (docs/datapath.md, "IPv6").
const (
	prioUplink6   = 21 // uplink to the remote site's IPv6 prefix: balanced
	prioDownlink6 = 11 // downlink to the own IPv6 prefix: the LAN
	v6Flows       = 100
	v6TCPSize     = 4 * mib
)

// site6 is s's IPv6 prefix 2001:db8:N::/64, its host ::2 and its gateway's
// LAN address ::1 (N 1 for site a, 2 for b, as in 10.N.0.0/16).
func site6(s *site) (prefix netip.Prefix, host, gw netip.Addr) {
	n := s.prefix.Addr().As4()[1]
	prefix = netip.MustParsePrefix(fmt.Sprintf("2001:db8:%d::/64", n))
	return prefix, netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::2", n)), netip.MustParseAddr(fmt.Sprintf("2001:db8:%d::1", n))
}

// enableIPv6 turns IPv6 on between s's host and its gateway (the topology
// starts with IPv6 off, so that the earlier acts' counters hold no router
// solicitations or MLD reports): addresses without duplicate address
// detection, the host's default route via the gateway, IPv6 forwarding on the
// gateway's ports (bpf_fib_lookup answers for a packet decapsulated on a WAN
// port only when that port forwards IPv6).
func enableIPv6(s *site) error {
	prefix, host, gw := site6(s)
	for _, x := range []struct {
		ns  *netlab.NS
		ifn string
	}{{s.host, ifHost}, {s.gw, ifLAN}, {s.gw, ifWAN1}, {s.gw, ifWAN2}} {
		for _, kv := range [][2]string{{"accept_dad", "0"}, {"disable_ipv6", "0"}} {
			if err := netlab.SetSysctl(x.ns, "net/ipv6/conf/"+x.ifn+"/"+kv[0], kv[1]); err != nil {
				return err
			}
		}
	}
	if err := netlab.SetSysctl(s.gw, "net/ipv6/conf/all/forwarding", "1"); err != nil {
		return err
	}
	if err := netlab.AddAddr(s.host, ifHost, netip.PrefixFrom(host, prefix.Bits()).String()); err != nil {
		return err
	}
	if err := netlab.AddAddr(s.gw, ifLAN, netip.PrefixFrom(gw, prefix.Bits()).String()); err != nil {
		return err
	}
	return netlab.AddDefaultRoute(s.host, gw.String())
}

// applyRules writes rules to a file named after a and the act, and applies
// them with linxctl; it prints them for the first gateway.
func (d *demo) applyRules(ctx context.Context, a *agent, act, rules string, show bool) error {
	path := filepath.Join(d.tmp, a.name+"-"+act+".linx")
	if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
		return err
	}
	if show {
		d.say("  %s$ cat %s-%s.linx", a.name, a.name, act)
		d.indent(rules)
	}
	out, err := d.ctl(ctx, a, "--master", "apply", path)
	if err != nil {
		return err
	}
	d.say("  %s$ linxctl --master apply %s-%s.linx  ->  %d P4Runtime updates, all OK", a.name, a.name, act, strings.Count(out, "): OK"))
	return nil
}

// pdrPackets reads, with linxctl, the packets rule prio of a's pdr table
// matched.
func (d *demo) pdrPackets(ctx context.Context, a *agent, prio int) (uint64, error) {
	out, err := d.ctl(ctx, a, "show", "pdr", "--json")
	if err != nil {
		return 0, err
	}
	var rows []struct {
		Prio    int    `json:"prio"`
		Packets uint64 `json:"packets"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return 0, fmt.Errorf("%s: linxctl show pdr --json: %w", a.name, err)
	}
	for _, r := range rows {
		if r.Prio == prio {
			return r.Packets, nil
		}
	}
	return 0, fmt.Errorf("%s: no pdr entry with priority %d", a.name, prio)
}

// rules6 returns the linxctl commands that carry IPv6 between s's LAN and
// its peer's.
func (s *site) rules6() string {
	prefix, _, _ := site6(s)
	peer, _, _ := site6(s.peer)
	return fmt.Sprintf("# IPv6 to %s: over both overlays, balanced (GRE protocol type 0x86dd); from the overlays to the LAN\n", s.peer.hostName()) +
		fmt.Sprintf("add pdr prio=%d dir=uplink dst=%s far=%d\n", prioUplink6, peer, farBalance) +
		fmt.Sprintf("add pdr prio=%d dir=downlink dst=%s far=%d\n", prioDownlink6, prefix, farToLAN)
}

func (d *demo) ipv6(ctx context.Context) error {
	for i, a := range d.agents {
		s := a.site
		if err := enableIPv6(s); err != nil {
			return err
		}
		if err := d.applyRules(ctx, a, "ipv6", s.rules6(), i == 0); err != nil {
			return err
		}
	}
	a, b := d.topo.a, d.topo.b
	_, hostA, _ := site6(a)
	_, hostB, _ := site6(b)
	d.say("  host-a %s, host-b %s; the underlay stays IPv4", hostA, hostB)
	upBefore, err := d.pdrPackets(ctx, d.agents[0], prioUplink6)
	if err != nil {
		return err
	}
	downBefore, err := d.pdrPackets(ctx, d.agents[1], prioDownlink6)
	if err != nil {
		return err
	}

	// Warm-up: neighbour discovery between hosts and gateways passes through
	// the pipeline to the kernels; the first echoes may go while it runs.
	for _, s := range d.topo.sites() {
		_, peer, _ := site6(s.peer)
		got := 0
		for i := 0; i < 10 && got == 0; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			if got, err = netlab.Ping(s.host, peer, 1, time.Second); err != nil {
				return err
			}
		}
		if got == 0 {
			return fmt.Errorf("warm-up: no IPv6 echo reply from %s to %s after 10 tries", peer, s.hostName())
		}
	}
	const n = 10
	for _, s := range d.topo.sites() {
		_, peer, _ := site6(s.peer)
		got, err := netlab.Ping(s.host, peer, n, 10*time.Second)
		if err != nil {
			return err
		}
		d.check(got == n, "ping6 %s -> %s (%s): %d/%d replies", s.hostName(), s.peer.hostName(), peer, got, n)
	}

	sink, err := netlab.NewUDPSink(b.host, netip.AddrPortFrom(hostB, 7006).String())
	if err != nil {
		return err
	}
	defer sink.Close()
	var ids []netlab.FlowID
	for i := range v6Flows {
		if err := ctx.Err(); err != nil {
			return err
		}
		src := netip.AddrPortFrom(hostA, 20000+uint16(i))
		id, err := netlab.SendUDPWith(a.host, src.String(), sink.Addr().String(), perFlow, netlab.UDPOptions{Size: flowSize, Gap: 20 * time.Microsecond})
		if err != nil {
			return err
		}
		ids = append(ids, id)
	}
	d.delivered(sink, ids, fmt.Sprintf("udp over IPv6 host-a -> host-b, %d flows", v6Flows))

	tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	t0 := time.Now()
	err = netlab.TransferTCP(tctx, a.host, b.host, netip.AddrPortFrom(hostB, 0).String(), v6TCPSize, netlab.TCPOptions{})
	cancel()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	el := time.Since(t0)
	if !d.check(err == nil, "tcp over IPv6 host-a -> host-b: %d MiB arrived intact (sha256), %v", v6TCPSize/mib, el.Round(time.Millisecond)) {
		d.say("        %v", err)
	}

	up, err := d.pdrPackets(ctx, d.agents[0], prioUplink6)
	if err != nil {
		return err
	}
	down, err := d.pdrPackets(ctx, d.agents[1], prioDownlink6)
	if err != nil {
		return err
	}
	want := uint64(v6Flows * perFlow)
	d.check(up-upBefore >= want && down-downBefore >= want,
		"the IPv6 rules carried it: gw-a's uplink rule (prio %d) matched %d packets, gw-b's downlink rule (prio %d) %d (each ≥ the %d datagrams, with the echoes and the TCP segments)",
		prioUplink6, up-upBefore, prioDownlink6, down-downBefore, want)
	return nil
}

// The policed class: UDP to port policedPort from site a, on overlay 1
// through its own FAR, whose bytes meter polices it at policedCIR (a
// two-color policer: pir = cir; red drops by default).
const (
	farPoliced     = 10 // clear of the SLA acts' FAR 4 and priority 40
	prioPoliced    = 50
	policedPort    = 9000
	policedCIR     = 1_000_000 // bytes per second: 8 Mbit/s
	policedBurst   = 100_000   // bytes: 100 ms at the CIR
	policedPayload = 1000
	// policedFrame is what the meter counts of one datagram: the frame as XDP
	// sees it on the LAN port (Ethernet, IPv4, UDP, payload).
	policedFrame = 14 + 20 + 8 + policedPayload
	// policedTolerance is how far the delivered rate may be from the CIR: the
	// data path's accuracy contract (docs/benchmarks.md, "Meters").
	policedTolerance = 0.05
)

// udpCounter counts what arrives on a UDP socket.
type udpCounter struct {
	conn    *net.UDPConn
	packets atomic.Uint64
	done    chan struct{}
}

func newUDPCounter(ns *netlab.NS, addr string) (*udpCounter, error) {
	conn, err := netlab.ListenUDP(ns, addr)
	if err != nil {
		return nil, err
	}
	u := &udpCounter{conn: conn, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		buf := make([]byte, 2048)
		for {
			if _, err := conn.Read(buf); err != nil {
				return
			}
			u.packets.Add(1)
		}
	}()
	return u, nil
}

// wait waits until n datagrams have arrived in all or timeout has passed,
// then returns the count.
func (u *udpCounter) wait(n uint64, timeout time.Duration) uint64 {
	end := time.Now().Add(timeout)
	for u.packets.Load() < n && time.Now().Before(end) {
		time.Sleep(10 * time.Millisecond)
	}
	return u.packets.Load()
}

func (u *udpCounter) close() {
	u.conn.Close()
	<-u.done
}

// maxBehind is how far a paced sender may fall behind its schedule before it
// gives the lost time up instead of catching up: a stalled sender (the
// machine is shared) then never sends a burst above maxBehind's worth of
// datagrams, so a stream paced below the CIR stays within the meter's burst.
const maxBehind = 20 * time.Millisecond

// pace sends n datagrams of size octets from ns to dst, one every interval,
// and returns when it sent each. A sender late by less than maxBehind catches
// up, as a constant bit rate source does; later than that, its schedule
// starts again from now.
func pace(ctx context.Context, ns *netlab.NS, dst string, n, size int, interval time.Duration) ([]time.Time, error) {
	conn, err := netlab.DialUDPFrom(ns, "", dst)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	buf := make([]byte, size)
	sent := make([]time.Time, 0, n)
	next := time.Now()
	for i := range n {
		if i%256 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		switch w := time.Until(next); {
		case w > 0:
			time.Sleep(w)
		case w < -maxBehind:
			next = time.Now()
		}
		if _, err := conn.Write(buf); err != nil {
			return nil, fmt.Errorf("send datagram %d of %d to %s: %w", i+1, n, dst, err)
		}
		sent = append(sent, time.Now())
		next = next.Add(interval)
	}
	return sent, nil
}

// longestGap is the longest time between two consecutive sends.
func longestGap(sent []time.Time) time.Duration {
	var g time.Duration
	for i := 1; i < len(sent); i++ {
		g = max(g, sent[i].Sub(sent[i-1]))
	}
	return g
}

// idealGreen is how many of frames of size bytes, arriving at the times
// sent, an ideal policer at rate bytes/s with a bucket of burst bytes
// (starting full) passes: the reference the data path's meter is held to
// whatever the sender's timing was.
func idealGreen(sent []time.Time, size, rate, burst float64) int {
	tokens, green := burst, 0
	for i, t := range sent {
		if i > 0 {
			tokens = min(burst, tokens+rate*t.Sub(sent[i-1]).Seconds())
		}
		if tokens >= size {
			tokens -= size
			green++
		}
	}
	return green
}

// meterCount is one FAR meter's per-color counts, from `linxctl show meters
// --json`.
type meterCount struct{ Green, Yellow, Red count }

func (m meterCount) sub(e meterCount) meterCount {
	return meterCount{m.Green.sub(e.Green), m.Yellow.sub(e.Yellow), m.Red.sub(e.Red)}
}

// readMeter reads FAR far's bytes meter on a with linxctl.
func (d *demo) readMeter(ctx context.Context, a *agent, far int) (meterCount, error) {
	out, err := d.ctl(ctx, a, "show", "meters", "--json")
	if err != nil {
		return meterCount{}, err
	}
	var rows []struct {
		FAR    int    `json:"far"`
		PDR    string `json:"pdr"`
		Unit   string `json:"unit"`
		Green  count  `json:"green"`
		Yellow count  `json:"yellow"`
		Red    count  `json:"red"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		return meterCount{}, fmt.Errorf("%s: linxctl show meters --json: %w", a.name, err)
	}
	for _, r := range rows {
		if r.PDR == "" && r.FAR == far && r.Unit == "bytes" {
			return meterCount{r.Green, r.Yellow, r.Red}, nil
		}
	}
	return meterCount{}, fmt.Errorf("%s: no bytes meter for far %d in %s", a.name, far, out)
}

// mbit renders bytes per second in Mbit/s.
func mbit(bps float64) string { return fmt.Sprintf("%.2f Mbit/s", bps*8/1e6) }

// policedRules returns the linxctl commands of s's policed class.
func (s *site) policedRules() string {
	return fmt.Sprintf("# UDP to port %d from %s: its own FAR onto overlay 1, policed at %s (cburst %d bytes; red drops)\n",
		policedPort, s.hostName(), mbit(policedCIR), policedBurst) +
		fmt.Sprintf("add far %d encap tunnel=%d\n", farPoliced, tunnel1) +
		fmt.Sprintf("meter %d cir=%dmbit cburst=%d\n", farPoliced, policedCIR*8/1_000_000, policedBurst) +
		fmt.Sprintf("add pdr prio=%d dir=uplink dst=%s proto=udp dport=%d far=%d\n", prioPoliced, s.peer.prefix, policedPort, farPoliced)
}

func (d *demo) policed(ctx context.Context) error {
	ga := d.agents[0]
	b := d.topo.b
	if err := d.applyRules(ctx, ga, "policed", ga.site.policedRules(), true); err != nil {
		return err
	}
	dst := netip.AddrPortFrom(b.hostAddr, policedPort).String()
	sink, err := newUDPCounter(b.host, dst)
	if err != nil {
		return err
	}
	defer sink.close()
	m0, err := d.readMeter(ctx, ga, farPoliced)
	if err != nil {
		return err
	}

	// Below the CIR: nothing is dropped.
	interval := func(rate float64) time.Duration {
		return time.Duration(float64(policedFrame) / rate * float64(time.Second))
	}
	const lowRate, lowFor = policedCIR / 2, time.Second
	nLow := int(lowFor / interval(lowRate))
	if _, err := pace(ctx, ga.site.host, dst, nLow, policedPayload, interval(lowRate)); err != nil {
		return err
	}
	gotLow := sink.wait(uint64(nLow), 2*time.Second)
	m1, err := d.readMeter(ctx, ga, farPoliced)
	if err != nil {
		return err
	}
	low := m1.sub(m0)
	d.check(gotLow == uint64(nLow) && low.Red.Packets == 0 && low.Green.Packets == uint64(nLow),
		"at half the CIR (%s) nothing is policed: %d/%d datagrams arrived; the meter colored %d green, %d red",
		mbit(lowRate), gotLow, nLow, low.Green.Packets, low.Red.Packets)

	// Twice the CIR: the policer delivers the CIR.
	const highRate, highFor = policedCIR * 2, 2 * time.Second
	nHigh := int(highFor / interval(highRate))
	sent, err := pace(ctx, ga.site.host, dst, nHigh, policedPayload, interval(highRate))
	if err != nil {
		return err
	}
	time.Sleep(200 * time.Millisecond) // the last datagrams' way to host-b
	gotHigh := sink.wait(uint64(nLow+nHigh), 0) - gotLow
	m2, err := d.readMeter(ctx, ga, farPoliced)
	if err != nil {
		return err
	}
	high := m2.sub(m1)
	// What passes in a window T is at most cburst (the bucket starts full) +
	// CIR × T: the rate is what arrived beyond the first cburst.
	el := sent[len(sent)-1].Sub(sent[0])
	offered := float64(nHigh*policedFrame) / el.Seconds()
	arrived := float64(gotHigh * policedFrame)
	delivered := (arrived - policedBurst) / el.Seconds()
	dev := delivered/policedCIR - 1
	gap := longestGap(sent)
	d.say("  offered %s for %v (%d datagrams of %d bytes on the wire, longest gap between two %v); host-b received %d (%.0f bytes: the cburst of %d, then the rate)",
		mbit(offered), el.Round(time.Millisecond), nHigh, policedFrame, gap.Round(time.Millisecond), gotHigh, arrived, policedBurst)
	// A sender stalled for longer than the bucket takes to fill offers less
	// than the CIR meanwhile, and no policer can deliver it: the rate is
	// then not judged (the comparison with the ideal policer below still is).
	burstTime := time.Duration(float64(policedBurst) / policedCIR * float64(time.Second))
	steady := gap < burstTime
	verdict := fmt.Sprintf("the configured CIR %s %+.1f%% (contract ±%.0f%%)", mbit(policedCIR), 100*dev, 100*policedTolerance)
	if !steady {
		verdict = fmt.Sprintf("not judged against the CIR %s: the sender stalled %v, longer than the burst's %v", mbit(policedCIR), gap.Round(time.Millisecond), burstTime)
	}
	d.check(!steady || dev >= -policedTolerance && dev <= policedTolerance,
		"at twice the CIR, host-b received %s after the burst: %s", mbit(delivered), verdict)
	ideal := idealGreen(sent, policedFrame, policedCIR, policedBurst)
	diff := float64(int(gotHigh)-ideal) / float64(ideal)
	d.check(diff >= -policedTolerance && diff <= policedTolerance,
		"the meter passed %d datagrams, an ideal policer fed the same sends %d (%+.1f%%, contract ±%.0f%%)", gotHigh, ideal, 100*diff, 100*policedTolerance)
	d.check(high.Green.Packets == gotHigh && high.Green.Packets+high.Yellow.Packets+high.Red.Packets == uint64(nHigh) && high.Yellow.Packets == 0,
		"the meter's per-color counts match: green %d packets (%d bytes) = received, yellow %d, red %d = dropped (%d sent)",
		high.Green.Packets, high.Green.Bytes, high.Yellow.Packets, high.Red.Packets, nHigh)
	d.policedRed = m2.Red.Packets - m0.Red.Packets

	out, err := d.ctl(ctx, ga, "show", "meters")
	if err != nil {
		return err
	}
	d.say("  %s$ linxctl show meters", ga.name)
	d.indent(out)
	return nil
}
