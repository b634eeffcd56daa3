package demo

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cilium/ebpf"

	"github.com/linx-sdwan/linx/internal/lab"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// Rules programmed on both gateways (ids and priorities).
const (
	farToLAN   = 1 // forward out of the LAN port
	farTunnel1 = 2 // encapsulate onto overlay 1
	farBalance = 3 // balance with LBR 1
	lbrID      = 1

	weight1, weight2 = 3, 1

	prioUplinkEF = 30 // uplink to the remote site, DSCP EF: overlay 1
	prioUplink   = 20 // uplink to the remote site: balanced
	prioDownlink = 10 // downlink to the own site: the LAN

	tosEF = 46 << 2 // DSCP EF in the TOS byte, as a sender sets it (IP_TOS)
	mib   = 1 << 20
)

// rules returns the linxctl commands that program s's gateway.
func (s *site) rules() string {
	p := s.peer
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: overlays to %s, one per WAN link\n", s.gwName(), p.gwName())
	fmt.Fprintf(&b, "add tunnel %d port=%d src=%s dst=%s\n", tunnel1, portWAN1, s.wan[0], p.wan[0])
	fmt.Fprintf(&b, "add tunnel %d port=%d src=%s dst=%s key=%d\n", tunnel2, portWAN2, s.wan[1], p.wan[1], tunnel2Key)
	fmt.Fprintf(&b, "# decapsulate what %s sends over each\n", p.gwName())
	fmt.Fprintf(&b, "add term src=%s dst=%s tunnel=%d\n", p.wan[0], s.wan[0], tunnel1)
	fmt.Fprintf(&b, "add term src=%s dst=%s key=%d tunnel=%d\n", p.wan[1], s.wan[1], tunnel2Key, tunnel2)
	fmt.Fprintf(&b, "# bulk: overlays 1 and 2 weighted %d:%d, flow by flow\n", weight1, weight2)
	fmt.Fprintf(&b, "add lbr %d members=%d:%d,%d:%d\n", lbrID, tunnel1, weight1, tunnel2, weight2)
	fmt.Fprintf(&b, "add far %d forward port=%d\n", farToLAN, portLAN)
	fmt.Fprintf(&b, "add far %d encap tunnel=%d\n", farTunnel1, tunnel1)
	fmt.Fprintf(&b, "add far %d balance lbr=%d\n", farBalance, lbrID)
	fmt.Fprintf(&b, "# voice (DSCP EF) to %s: overlay 1; the rest balanced; from the overlays to the LAN\n", p.hostName())
	fmt.Fprintf(&b, "add pdr prio=%d dir=uplink dst=%s dscp=ef far=%d\n", prioUplinkEF, p.prefix, farTunnel1)
	fmt.Fprintf(&b, "add pdr prio=%d dir=uplink dst=%s far=%d\n", prioUplink, p.prefix, farBalance)
	fmt.Fprintf(&b, "add pdr prio=%d dir=downlink dst=%s far=%d\n", prioDownlink, s.prefix, farToLAN)
	return b.String()
}

// program pushes the pipeline to both gateways and writes their rules, with
// linxctl only.
func (d *demo) program(ctx context.Context) error {
	for i, a := range d.agents {
		out, err := d.ctl(ctx, a, "--master", "pipeline", "push")
		if err != nil {
			return err
		}
		d.say("  %s$ linxctl --master pipeline push", a.name)
		d.indent(out)
		rules := a.site.rules()
		path := filepath.Join(d.tmp, a.name+".linx")
		if err := os.WriteFile(path, []byte(rules), 0o644); err != nil {
			return err
		}
		if i == 0 {
			d.say("  %s$ cat %s.linx", a.name, a.name)
			d.indent(rules)
		}
		out, err = d.ctl(ctx, a, "--master", "apply", path)
		if err != nil {
			return err
		}
		n := strings.Count(out, "): OK")
		d.say("  %s$ linxctl --master apply %s.linx  ->  %d P4Runtime updates, all OK", a.name, a.name, n)
	}
	out, err := d.ctl(ctx, d.agents[0], "show", "pdr")
	if err != nil {
		return err
	}
	d.say("  %s$ linxctl show pdr", d.agents[0].name)
	d.indent(out)
	return d.firstVerdicts(ctx)
}

// firstVerdicts waits until both agents hold both overlays up: each probes
// them (docs/sla.md) and judges them once its first probes have settled,
// after half a second, or after the hold-down when the very first probes
// found the underlay unresolved. Before that the overlays carry traffic as
// configured; waiting keeps the counts that follow free of the moment a
// verdict arrives.
func (d *demo) firstVerdicts(ctx context.Context) error {
	t0 := time.Now()
	for _, g := range d.agents {
		for _, id := range []int{tunnel1, tunnel2} {
			prefix := fmt.Sprintf("sla: tunnel %d dscp 0 ", id)
			for !strings.Contains(last(g.logLines(prefix)), "→ up") {
				if time.Since(t0) > slaWait {
					return fmt.Errorf("%s: overlay %d not up after %v: %q", g.name, id, slaWait, g.logLines(prefix))
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(20 * time.Millisecond):
				}
			}
		}
	}
	d.say("  both agents probe both overlays with STAMP and hold them up (%v after programming)", time.Since(t0).Round(10*time.Millisecond))
	return nil
}

func (d *demo) ping(ctx context.Context) error {
	// The first echoes find neighbours unresolved: the gateways' kernels
	// forward them while resolving (ARP), so loss is tolerated only here.
	for _, s := range d.topo.sites() {
		got := 0
		for i := 0; i < 10 && got == 0; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := netlab.Ping(s.host, s.peer.hostAddr, 1, time.Second)
			if err != nil {
				return err
			}
			got = n
		}
		if got == 0 {
			return fmt.Errorf("warm-up: no echo reply from %s to %s after 10 tries", s.peer.hostAddr, s.hostName())
		}
	}
	const n = 10
	for _, s := range d.topo.sites() {
		got, err := netlab.Ping(s.host, s.peer.hostAddr, n, 10*time.Second)
		if err != nil {
			return err
		}
		d.check(got == n, "ping %s -> %s (%s): %d/%d replies", s.hostName(), s.peer.hostName(), s.peer.hostAddr, got, n)
	}
	return nil
}

func (d *demo) tcp(ctx context.Context) error {
	const size = 16 * mib
	for _, s := range d.topo.sites() {
		tctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		t0 := time.Now()
		err := netlab.TransferTCP(tctx, s.host, s.peer.host, netip.AddrPortFrom(s.peer.hostAddr, 0).String(), size, netlab.TCPOptions{})
		cancel()
		el := time.Since(t0)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.check(err == nil, "tcp %s -> %s: %d MiB arrived intact (sha256), %v, %.0f MiB/s", s.hostName(), s.peer.hostName(), size/mib, el.Round(time.Millisecond), float64(size)/mib/el.Seconds()) {
			continue
		}
		d.say("        %v", err)
	}
	return nil
}

// flowSize is the UDP payload of the demo's flows; perFlow datagrams each.
const flowSize, perFlow = 200, 5

// burst sends flows UDP flows of perFlow datagrams from s's host (source
// ports base, base+1, ...) to dst, marked with tos, and returns what s's
// gateway encapsulated meanwhile, per overlay.
func (d *demo) burst(ctx context.Context, s *site, a *agent, dst netip.AddrPort, base uint16, flows int, tos uint8) (counters, []netlab.FlowID, error) {
	before, err := d.quiet(ctx, a)
	if err != nil {
		return counters{}, nil, err
	}
	var ids []netlab.FlowID
	for i := range flows {
		if err := ctx.Err(); err != nil {
			return counters{}, nil, err
		}
		src := netip.AddrPortFrom(s.hostAddr, base+uint16(i))
		id, err := netlab.SendUDPWith(s.host, src.String(), dst.String(), perFlow, netlab.UDPOptions{Size: flowSize, Gap: 20 * time.Microsecond, TOS: tos})
		if err != nil {
			return counters{}, nil, err
		}
		ids = append(ids, id)
	}
	delta, err := d.waitTX(ctx, a, before, uint64(flows*perFlow))
	return delta, ids, err
}

// checkSpread checks that bulk flows went whole onto the overlays, split
// about weight1:weight2 (a binomial band of ±5σ around 3/4).
func (d *demo) checkSpread(who string, delta counters, flows int) {
	t1, t2 := delta.flows(tunnel1), delta.flows(tunnel2)
	want := uint64(flows * perFlow)
	if !d.check(t1+t2 == want && t1%perFlow == 0 && t2%perFlow == 0,
		"%s: %d bulk flows x %d datagrams all encapsulated (overlay 1 %d, overlay 2 %d datagrams: multiples of %d, as when no flow is split)",
		who, flows, perFlow, t1, t2, perFlow) {
		return
	}
	n1, n2 := int(t1/perFlow), int(t2/perFlow)
	lo, hi := lab.ShareBand(flows, float64(weight1)/float64(weight1+weight2))
	d.check(n1 >= lo && n1 <= hi && n2 > 0, "%s: flows balanced %d:%d: overlay 1 %d (%.0f%%), overlay 2 %d (%.0f%%); overlay 1 expected in %d..%d (±5σ)",
		who, weight1, weight2, n1, 100*float64(n1)/float64(flows), n2, 100*float64(n2)/float64(flows), lo, hi)
}

// delivered checks that every datagram of ids arrived at sink intact.
func (d *demo) delivered(sink *netlab.UDPSink, ids []netlab.FlowID, what string) {
	want := len(ids) * perFlow
	got := sink.WaitReceivedAll(ids, want, 5*time.Second)
	d.check(got == want && sink.Corrupt() == 0, "%s: %d/%d datagrams arrived, %d corrupt", what, got, want, sink.Corrupt())
}

func (d *demo) udp(ctx context.Context) error {
	a, b := d.topo.a, d.topo.b
	ga, gb := d.agents[0], d.agents[1]
	sinkB, err := netlab.NewUDPSink(b.host, netip.AddrPortFrom(b.hostAddr, 7000).String())
	if err != nil {
		return err
	}
	defer sinkB.Close()
	sinkA, err := netlab.NewUDPSink(a.host, netip.AddrPortFrom(a.hostAddr, 7000).String())
	if err != nil {
		return err
	}
	defer sinkA.Close()

	const efFlows, bulkFlows, backFlows = 50, 400, 200
	delta, ef, err := d.burst(ctx, a, ga, sinkB.Addr(), 30000, efFlows, tosEF)
	if err != nil {
		return err
	}
	d.check(delta.flows(tunnel1) == efFlows*perFlow && delta.flows(tunnel2) == 0,
		"gw-a: %d voice flows (DSCP EF) x %d datagrams all on overlay 1: overlay 1 %d, overlay 2 %d datagrams",
		efFlows, perFlow, delta.flows(tunnel1), delta.flows(tunnel2))
	delta, bulk, err := d.burst(ctx, a, ga, sinkB.Addr(), 20000, bulkFlows, 0)
	if err != nil {
		return err
	}
	d.checkSpread("gw-a", delta, bulkFlows)
	d.delivered(sinkB, append(ef, bulk...), fmt.Sprintf("udp host-a -> host-b, %d flows", efFlows+bulkFlows))

	delta, back, err := d.burst(ctx, b, gb, sinkA.Addr(), 20000, backFlows, 0)
	if err != nil {
		return err
	}
	d.checkSpread("gw-b", delta, backFlows)
	d.delivered(sinkA, back, fmt.Sprintf("udp host-b -> host-a, %d flows", backFlows))
	return nil
}

func (d *demo) showCounters(ctx context.Context) error {
	for _, a := range d.agents {
		out, err := d.ctl(ctx, a, "show", "counters", "tunnels")
		if err != nil {
			return err
		}
		d.say("  %s$ linxctl show counters tunnels", a.name)
		d.indent(out)
	}
	return nil
}

// inflight is how many packets may still take an overlay after the data
// path was told its link is down: one per CPU that read the port as up just
// before.
var inflight = uint64(ebpf.MustPossibleCPU())

// Failover transfer: paced so the failure lands in the middle of it.
const (
	foSize, foRate     = 16 * mib, 4 * mib
	probeFrom, probeTo = 256 << 10, 1 * mib
	foDownAt           = 4 * mib
	foAttempts         = 40 // connections dialled to land one on overlay 2: 0.75^40 ≈ 1e-5 to miss
)

// waitReceived waits until the transfer has delivered n bytes.
func waitReceived(ctx context.Context, st *netlab.TCPStream, n int64) error {
	for st.Received() < n {
		select {
		case <-st.Done():
			if err := st.Wait(); err != nil {
				return err
			}
			return fmt.Errorf("the transfer ended after %d bytes, before %d had arrived", st.Received(), n)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
	}
	return nil
}

func (d *demo) failover(ctx context.Context) error {
	a, b := d.topo.a, d.topo.b
	ga, gb := d.agents[0], d.agents[1]
	if _, err := d.quiet(ctx, ga); err != nil {
		return err
	}
	tctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()

	// Dial until the balancer puts a connection on overlay 2 (gw-a's
	// counters over a stretch of it tell which overlay carries it).
	var (
		st      *netlab.TCPStream
		attempt int
	)
	for attempt = 1; attempt <= foAttempts && st == nil; attempt++ {
		s, err := netlab.StartTCP(tctx, a.host, b.host, netip.AddrPortFrom(b.hostAddr, 0).String(), foSize, netlab.TCPOptions{Rate: foRate})
		if err != nil {
			return err
		}
		carrier, err := d.probeCarrier(tctx, ga, s)
		if err == nil && carrier == tunnel2 {
			st = s
			break
		}
		s.Abort()
		<-s.Done()
		if err != nil {
			return err
		}
	}
	if st == nil {
		return fmt.Errorf("no connection landed on overlay 2 in %d attempts", foAttempts)
	}
	defer func() {
		st.Abort()
		<-st.Done()
	}()
	d.say("  tcp %s -> %s, %d MiB at %d MiB/s, rides overlay 2 (connection %d; gw-a's counters over 768 KiB of it)",
		st.Local(), st.Remote(), foSize/mib, foRate/mib, attempt)
	if err := waitReceived(tctx, st, foDownAt); err != nil {
		return fmt.Errorf("before the failure: %w", err)
	}

	const downMsg = "port 3 (wan2) link down"
	skip := map[*agent]int{}
	for _, g := range d.agents {
		skip[g] = len(g.logLines(downMsg))
	}
	t0 := time.Now()
	if err := d.setWAN2(false); err != nil {
		return err
	}
	sentAtDown := st.Sent()
	d.say("  router: %s and %s set down after %.1f MiB: gw-a's and gw-b's wan2 lose carrier", a.routerIf[1], b.routerIf[1], float64(st.Received())/mib)
	for _, g := range d.agents {
		line, err := g.waitLogAfter(tctx, downMsg, skip[g], 5*time.Second)
		d.check(err == nil, "%s's agent took wan2 out of load balancing %v after the failure: %q", g.name, time.Since(t0).Round(time.Millisecond), line)
		if err != nil {
			return err
		}
	}
	atDownA, err := d.read(tctx, ga)
	if err != nil {
		return err
	}
	atDownB, err := d.read(tctx, gb)
	if err != nil {
		return err
	}

	tcpErr := st.Wait()
	afterA, err := d.read(ctx, ga)
	if err != nil {
		return err
	}
	afterB, err := d.read(ctx, gb)
	if err != nil {
		return err
	}
	if d.check(tcpErr == nil, "the TCP transfer survived the failure: %d MiB arrived intact (sha256)", foSize/mib) {
		d.say("        (%.1f MiB sent before the failure, %.1f MiB after)", float64(sentAtDown)/mib, float64(foSize-sentAtDown)/mib)
	} else {
		d.say("        %v", tcpErr)
	}
	d.say("  overlay tx packets   at failure   after transfer   delta")
	for _, r := range []struct {
		name          string
		atDown, after counters
	}{{"gw-a", atDownA, afterA}, {"gw-b", atDownB, afterB}} {
		for _, id := range []int64{tunnel1, tunnel2} {
			x, y := r.atDown.TX[id].Packets, r.after.TX[id].Packets
			d.say("  %s overlay %d  %12d  %15d  %6d", r.name, id, x, y, y-x)
		}
	}
	da, db := afterA.sub(atDownA), afterB.sub(atDownB)
	d.check(da.TX[tunnel2].Packets <= inflight && db.TX[tunnel2].Packets <= inflight,
		"overlay 2 stopped: %d packets from gw-a and %d from gw-b after the agents marked wan2 down (≤ %d in flight allowed)",
		da.TX[tunnel2].Packets, db.TX[tunnel2].Packets, inflight)
	d.check(da.TX[tunnel1].Bytes >= uint64(foSize-sentAtDown),
		"overlay 1 took over: %d packets, %.1f MiB from gw-a (≥ the %.1f MiB sent after the failure)",
		da.TX[tunnel1].Packets, float64(da.TX[tunnel1].Bytes)/mib, float64(foSize-sentAtDown)/mib)

	return d.bulkFlows(ctx, 7001, "during the failure", func(s *site, t1, t2 uint64) {
		d.check(t1 == flows*perFlow && t2 == 0,
			"with wan2 down, %d new bulk flows from %s all take overlay 1 (overlay 1 %d, overlay 2 %d datagrams)",
			flows, s.hostName(), t1, t2)
	})
}

// flows is how many new bulk flows each host opens after the failure and after the repair.
const flows = 100

// bulkFlows sends flows new bulk UDP flows from each site's host to the other's
// (sink on port), lets check judge where gw's counters say they went, and checks
// that every datagram arrived.
func (d *demo) bulkFlows(ctx context.Context, port uint16, phase string, check func(s *site, t1, t2 uint64)) error {
	for i, s := range d.topo.sites() {
		sink, err := netlab.NewUDPSink(s.peer.host, netip.AddrPortFrom(s.peer.hostAddr, port).String())
		if err != nil {
			return err
		}
		delta, ids, err := d.burst(ctx, s, d.agents[i], sink.Addr(), 20000, flows, 0)
		if err != nil {
			sink.Close()
			return err
		}
		check(s, delta.flows(tunnel1), delta.flows(tunnel2))
		d.delivered(sink, ids, fmt.Sprintf("udp %s -> %s %s", s.hostName(), s.peer.hostName(), phase))
		sink.Close()
	}
	return nil
}

// probeCarrier finds the overlay carrying transfer st from gw-a's tunnel
// counters while the transfer's bytes probeFrom..probeTo arrive.
func (d *demo) probeCarrier(ctx context.Context, ga *agent, st *netlab.TCPStream) (int64, error) {
	if err := waitReceived(ctx, st, probeFrom); err != nil {
		return 0, err
	}
	c0, err := d.read(ctx, ga)
	if err != nil {
		return 0, err
	}
	if err := waitReceived(ctx, st, probeTo); err != nil {
		return 0, err
	}
	c1, err := d.read(ctx, ga)
	if err != nil {
		return 0, err
	}
	dd := c1.sub(c0)
	switch {
	case dd.TX[tunnel2].Bytes > dd.TX[tunnel1].Bytes:
		return tunnel2, nil
	case dd.TX[tunnel1].Bytes > 0:
		return tunnel1, nil
	}
	return 0, errors.New("the transfer crossed neither overlay")
}

func (d *demo) restore(ctx context.Context) error {
	a, b := d.topo.a, d.topo.b
	const upMsg = "port 3 (wan2) link up"
	// While wan2 was down its overlay answered no probe, so the SLA prober
	// holds it down too; it returns after the hold-down (docs/sla.md).
	const slaDown, slaUp = "sla: tunnel 2 dscp 0 ", "→ up"
	skip, slaSkip := map[*agent]int{}, map[*agent]int{}
	for _, g := range d.agents {
		skip[g] = len(g.logLines(upMsg))
		slaSkip[g] = countWith(g.logLines(slaDown), slaUp)
	}
	t0 := time.Now()
	if err := d.setWAN2(true); err != nil {
		return err
	}
	d.say("  router: %s and %s set up again", a.routerIf[1], b.routerIf[1])
	for _, g := range d.agents {
		line, err := g.waitLogAfter(ctx, upMsg, skip[g], 5*time.Second)
		d.check(err == nil, "%s's agent put wan2 back into load balancing %v after the repair: %q", g.name, time.Since(t0).Round(time.Millisecond), line)
		if err != nil {
			return err
		}
	}
	for _, g := range d.agents {
		if !strings.Contains(last(g.logLines(slaDown)), "→ down") {
			continue
		}
		line, err := waitCount(ctx, g, slaDown, slaUp, slaSkip[g], 15*time.Second)
		d.check(err == nil, "%s's SLA prober put overlay 2 back %v after the repair, once its probes had been answered for the hold-down: %q", g.name, time.Since(t0).Round(time.Millisecond), line)
		if err != nil {
			return err
		}
	}
	return d.bulkFlows(ctx, 7002, "after the repair", func(s *site, t1, t2 uint64) {
		d.check(t1+t2 == flows*perFlow && t1 > 0 && t2 > 0,
			"%d new bulk flows from %s spread over both overlays again (overlay 1 %d, overlay 2 %d datagrams)", flows, s.hostName(), t1, t2)
	})
}

func (d *demo) final(ctx context.Context) error {
	var bad []string
	for _, g := range d.agents {
		out, err := d.ctl(ctx, g, "show", "counters", "tunnels", "drops")
		if err != nil {
			return err
		}
		d.say("  %s$ linxctl show counters tunnels drops", g.name)
		d.indent(out)
		c, err := d.read(ctx, g)
		if err != nil {
			return err
		}
		for r, x := range c.Drops {
			switch {
			// tunnel_down: a packet the balancer or an encap FAR chose just
			// before its port was marked down.
			case r == "tunnel_down" && x.Packets <= inflight:
			// meter: exactly what the policed class's meter colored red.
			case r == "meter" && g == d.agents[0] && x.Packets == d.policedRed:
			default:
				bad = append(bad, fmt.Sprintf("%s %s=%d", g.name, r, x.Packets))
			}
		}
		if len(c.Drops) > 0 {
			d.say("  %s drops: %s", g.name, formatDrops(c.Drops))
		}
	}
	d.check(len(bad) == 0, "no unexpected drops in the data paths%s", map[bool]string{true: "", false: ": " + strings.Join(bad, ", ")}[len(bad) == 0])
	return nil
}

// countWith counts the lines that contain substr.
func countWith(lines []string, substr string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func last(lines []string) string {
	if len(lines) == 0 {
		return ""
	}
	return lines[len(lines)-1]
}

// waitCount waits until a's log has more than skip messages containing both
// prefix and substr, and returns the newest.
func waitCount(ctx context.Context, a *agent, prefix, substr string, skip int, timeout time.Duration) (string, error) {
	end := time.Now().Add(timeout)
	for {
		ls := a.logLines(prefix)
		if countWith(ls, substr) > skip {
			var hit []string
			for _, l := range ls {
				if strings.Contains(l, substr) {
					hit = append(hit, l)
				}
			}
			return last(hit), nil
		}
		if a.exited() {
			return "", fmt.Errorf("%s: %w (%v); its log:\n%s", a.name, errAgentExited, a.waited, a.logTail(20))
		}
		if time.Now().After(end) {
			return "", fmt.Errorf("%s: no log message %q…%q within %v; its log:\n%s", a.name, prefix, substr, timeout, a.logTail(20))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}
