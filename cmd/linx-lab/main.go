// Command linx-lab builds linx's two-site lab in network namespaces and shows
// the data path working:
//
//	host-a ── gw-a ══ wan1, wan2 ══ gw-b ── host-b
//
// Both gateways run the XDP pipeline natively on veth and join the sites with
// two GRE overlays load-balanced 3:1. The command pings, moves TCP and UDP
// traffic both ways, checks how flows spread over the overlays, takes the
// overlay carrying a TCP transfer down in the middle of it, prints the
// counters, and tears everything down (also on SIGINT/SIGTERM). Every claim
// it prints is checked; the exit status is 1 if any check failed.
//
// It needs root (namespaces, BPF). Usage:
//
//	go run ./cmd/linx-lab [-hold]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/cilium/ebpf"
	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/lab"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// runTimeout bounds the whole demonstration.
const runTimeout = 2 * time.Minute

func main() {
	hold := flag.Bool("hold", false, "after the run, keep the lab up until interrupted (explore it with `ip netns exec`)")
	flag.Parse()
	os.Exit(run(*hold))
}

func run(hold bool) int {
	if p := netlab.PrivProblem(); p != "" {
		fmt.Fprintf(os.Stderr, "linx-lab needs root with CAP_NET_ADMIN, CAP_SYS_ADMIN and CAP_NET_RAW: %s\n", p)
		return 2
	}
	if p := netlab.XDPProblem(); p != "" {
		fmt.Fprintf(os.Stderr, "linx-lab needs BPF: %s\n", p)
		return 2
	}
	sigctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop() // after the lab's Close: a second signal during teardown is ignored too
	ctx, cancel := context.WithTimeout(sigctx, runTimeout)
	defer cancel()

	start := time.Now()
	fmt.Println("linx-lab: host-a ── gw-a ══ wan1, wan2 ══ gw-b ── host-b, XDP native on veth")
	l, err := lab.New(ctx, lab.Config{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "linx-lab: %v\n", err)
		return 1
	}
	d := &demo{lab: l, ctx: ctx}
	defer func() {
		if err := l.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "linx-lab: teardown: %v\n", err)
		} else {
			fmt.Println("lab torn down")
		}
	}()
	fmt.Printf("built in %v: namespaces", time.Since(start).Round(time.Millisecond))
	for _, s := range l.Sites() {
		fmt.Printf(" %s %s", s.Host, s.GW)
	}
	fmt.Println()

	err = d.all()
	switch {
	case sigctx.Err() != nil:
		err = errors.New("interrupted")
		fmt.Println("\ninterrupted")
	case ctx.Err() != nil:
		err = ctx.Err()
		fmt.Printf("\nstopped: no result within %v\n", runTimeout)
	case err != nil:
		fmt.Printf("\nstopped: %v\n", err)
	}
	fmt.Printf("\nsummary: %d/%d checks passed in %v\n", d.passed, d.passed+len(d.failed), time.Since(start).Round(100*time.Millisecond))
	for _, f := range d.failed {
		fmt.Printf("  FAILED: %s\n", f)
	}
	if hold && ctx.Err() == nil {
		fmt.Println("holding the lab; interrupt (Ctrl-C) to tear it down")
		<-sigctx.Done()
	}
	if err != nil || len(d.failed) > 0 {
		return 1
	}
	return 0
}

// demo runs the steps and keeps score.
type demo struct {
	lab    *lab.Lab
	ctx    context.Context
	passed int
	failed []string
}

// check records and prints one claim.
func (d *demo) check(ok bool, format string, args ...any) bool {
	msg := fmt.Sprintf(format, args...)
	if ok {
		d.passed++
		fmt.Printf("  ok    %s\n", msg)
	} else {
		d.failed = append(d.failed, msg)
		fmt.Printf("  FAIL  %s\n", msg)
	}
	return ok
}

func (d *demo) all() error {
	for _, step := range []struct {
		title string
		fn    func() error
	}{
		{"ping", d.ping},
		{"tcp", d.tcp},
		{"udp", d.udp},
		{"load balancing over the overlays (gw-a's tunnel counters, flow by flow)", d.balance},
		{"counters", d.counters},
		{"failover", d.failover},
	} {
		if err := d.ctx.Err(); err != nil {
			return err
		}
		fmt.Printf("\n%s\n", step.title)
		if err := step.fn(); err != nil {
			return fmt.Errorf("%s: %w", step.title, err)
		}
	}
	return nil
}

func (d *demo) ping() error {
	// The first echoes find neighbours unresolved: the gateways' kernels
	// forward them while resolving (ARP). Loss is tolerated only there.
	if err := d.lab.Warmup(d.ctx, 10); err != nil {
		return err
	}
	const n = 10
	for _, s := range d.lab.Sites() {
		got, err := netlab.Ping(s.Host, s.Peer().HostAddr, n, 10*time.Second)
		if err != nil {
			return err
		}
		d.check(got == n, "ping host-%s -> %s: %d/%d replies", s.Name, s.Peer().HostAddr, got, n)
	}
	return nil
}

const mib = 1 << 20

func (d *demo) tcp() error {
	const size = 8 * mib
	for _, s := range d.lab.Sites() {
		t0 := time.Now()
		err := netlab.TransferTCP(d.ctx, s.Host, s.Peer().Host, netip.AddrPortFrom(s.Peer().HostAddr, 0).String(), size, netlab.TCPOptions{})
		el := time.Since(t0)
		if d.ctx.Err() != nil {
			return d.ctx.Err()
		}
		if d.check(err == nil, "tcp host-%s -> host-%s: %d MiB arrived intact (sha256)", s.Name, s.Peer().Name, size/mib) {
			fmt.Printf("        %v, %.0f MiB/s\n", el.Round(time.Millisecond), float64(size)/mib/el.Seconds())
		} else {
			fmt.Printf("        %v\n", err)
		}
	}
	return nil
}

func (d *demo) udp() error {
	const flows, perFlow = 8, 64
	for _, s := range d.lab.Sites() {
		dst := netip.AddrPortFrom(s.Peer().HostAddr, 7000)
		sink, err := netlab.NewUDPSink(s.Peer().Host, dst.String())
		if err != nil {
			return err
		}
		var ids []netlab.FlowID
		for i := range flows {
			src := netip.AddrPortFrom(s.HostAddr, uint16(41000+i))
			id, err := netlab.SendUDPWith(s.Host, src.String(), dst.String(), perFlow, netlab.UDPOptions{Size: 512, Gap: 50 * time.Microsecond})
			if err != nil {
				sink.Close()
				return err
			}
			ids = append(ids, id)
		}
		got := sink.WaitReceivedAll(ids, flows*perFlow, 5*time.Second)
		bad := sink.Corrupt()
		sink.Close()
		d.check(got == flows*perFlow && bad == 0, "udp host-%s -> host-%s: %d flows, %d/%d datagrams arrived, %d corrupt",
			s.Name, s.Peer().Name, flows, got, flows*perFlow, bad)
	}
	return nil
}

// sink is a UDP sink on host-b for the flow-by-flow steps.
func (d *demo) sink() (*netlab.UDPSink, netip.AddrPort, error) {
	dst := netip.AddrPortFrom(d.lab.B.HostAddr, 7001)
	s, err := netlab.NewUDPSink(d.lab.B.Host, dst.String())
	return s, dst, err
}

func (d *demo) balance() error {
	sink, dst, err := d.sink()
	if err != nil {
		return err
	}
	defer sink.Close()
	a := d.lab.A
	const flows, perFlow = 400, 4
	sp, err := a.SpreadUDP(d.ctx, dst, 20000, flows, perFlow, 0)
	if err != nil {
		return err
	}
	n1, n2 := sp.ByTunnel[lab.Tunnel1], sp.ByTunnel[lab.Tunnel2]
	lo, hi := lab.ShareBand(flows, lab.Tunnel1Weight)
	d.check(n1 >= lo && n1 <= hi && n2 > 0,
		"%d udp flows: tunnel 1 %d (%.1f%%), tunnel 2 %d (%.1f%%); weights %d:%d, tunnel 1 expected in %d..%d (±5σ)",
		flows, n1, 100*sp.Share(lab.Tunnel1), n2, 100*sp.Share(lab.Tunnel2), lab.Weight1, lab.Weight2, lo, hi)
	ef, err := a.SpreadUDP(d.ctx, dst, 30000, 50, perFlow, lab.TOSEF)
	if err != nil {
		return err
	}
	d.check(ef.ByTunnel[lab.Tunnel1] == 50, "DSCP EF (TOS %#x): %d/50 flows on tunnel 1", lab.TOSEF, ef.ByTunnel[lab.Tunnel1])
	want := sp.Datagrams + ef.Datagrams
	got := sink.WaitReceivedAll(append(sp.Flows, ef.Flows...), want, 5*time.Second)
	d.check(got == want, "every flow stayed on one overlay; %d/%d datagrams arrived at host-b", got, want)
	return nil
}

func (d *demo) snapshot() (a, b lab.Counters, err error) {
	if a, err = d.lab.A.Counters(); err != nil {
		return a, b, err
	}
	b, err = d.lab.B.Counters()
	return a, b, err
}

func (d *demo) counters() error {
	a, b, err := d.snapshot()
	if err != nil {
		return err
	}
	lab.WriteTable(os.Stdout, a, b)
	d.checkDrops(a, b)
	return nil
}

// checkDrops checks that the gateways dropped nothing but for the expected
// reasons:
//   - tunnel_down, at most one per CPU: a packet the balancer chose just
//     before its overlay was marked down.
func (d *demo) checkDrops(a, b lab.Counters) {
	allow := map[dataplane.DropReason]uint64{
		dataplane.DropTunnelDown: uint64(ebpf.MustPossibleCPU()),
	}
	var bad []string
	for _, g := range []struct {
		name string
		c    lab.Counters
	}{{"gw-a", a}, {"gw-b", b}} {
		for r, c := range g.c.Drops {
			if n, ok := allow[r]; !ok || c.Packets > n {
				bad = append(bad, fmt.Sprintf("%s %s=%d", g.name, r, c.Packets))
			}
		}
	}
	if len(bad) == 0 {
		d.check(true, "no unexpected drops")
		return
	}
	d.check(false, "unexpected drops: %s", strings.Join(bad, ", "))
}

func (d *demo) failover() error {
	const size, rate = 8 * mib, 4 * mib
	fmt.Printf("  tcp host-a -> host-b, %d MiB at %d MiB/s; the overlay carrying it goes down on both gateways after 2 MiB\n", size/mib, rate/mib)
	r, err := d.lab.Failover(d.ctx, d.lab.A, lab.FailoverOptions{Size: size, Rate: rate, DownAfter: 2 * mib, Carrier: lab.Tunnel1})
	if err != nil {
		return err
	}
	fmt.Printf("  %s rides tunnel %d; tunnel %d marked down at %.1f MiB sent\n", r.Conn, r.Carrier, r.Carrier, float64(r.SentAtDown)/mib)

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-18s\tat down\tafter\tdelta\t\n", "  tunnel tx pkts")
	for _, g := range []struct {
		name          string
		atDown, after lab.Counters
	}{{"gw-a", r.AtDown, r.After}, {"gw-b", r.PeerAtDown, r.PeerAfter}} {
		for _, id := range lab.Tunnels {
			x, y := g.atDown.Tunnels[id].TX.Packets, g.after.Tunnels[id].TX.Packets
			fmt.Fprintf(tw, "%-18s\t%d\t%d\t%d\t\n", fmt.Sprintf("  %s tunnel %d", g.name, id), x, y, y-x)
		}
	}
	tw.Flush()

	d.check(r.Err == nil, "the TCP connection survived: %d MiB arrived intact", size/mib)
	if r.Err != nil {
		fmt.Printf("        %v\n", r.Err)
	}
	// A packet per CPU may have read the overlay as up just before the write.
	inflight := uint64(ebpf.MustPossibleCPU())
	da, db := r.After.Sub(r.AtDown), r.PeerAfter.Sub(r.PeerAtDown)
	d.check(da.Tunnels[r.Carrier].TX.Packets <= inflight && db.Tunnels[r.Carrier].TX.Packets <= inflight,
		"after the failure tunnel %d carried %d packets from gw-a, %d from gw-b (≤ %d in flight allowed)",
		r.Carrier, da.Tunnels[r.Carrier].TX.Packets, db.Tunnels[r.Carrier].TX.Packets, inflight)
	d.check(da.Tunnels[r.Other].TX.Bytes >= uint64(size-r.SentAtDown),
		"tunnel %d took over: %d packets, %.1f MiB from gw-a (≥ the %.1f MiB sent after the failure)",
		r.Other, da.Tunnels[r.Other].TX.Packets, float64(da.Tunnels[r.Other].TX.Bytes)/mib, float64(size-r.SentAtDown)/mib)

	sink, dst, err := d.sink()
	if err != nil {
		return err
	}
	defer sink.Close()
	sp, err := d.lab.A.SpreadUDP(d.ctx, dst, 20000, 100, 4, 0)
	if err != nil {
		return err
	}
	d.check(sp.ByTunnel[r.Other] == 100, "with tunnel %d down, %d/100 new udp flows take tunnel %d", r.Carrier, sp.ByTunnel[r.Other], r.Other)
	if err := d.lab.RestoreTunnels(); err != nil {
		return err
	}
	back, err := d.lab.A.SpreadUDP(d.ctx, dst, 20000, 100, 4, 0)
	if err != nil {
		return err
	}
	d.check(back.ByTunnel[lab.Tunnel1] > 0 && back.ByTunnel[lab.Tunnel2] > 0,
		"tunnel %d back up: the same 100 flows spread again (tunnel 1 %d, tunnel 2 %d)", r.Carrier, back.ByTunnel[lab.Tunnel1], back.ByTunnel[lab.Tunnel2])

	fmt.Println("\nfinal counters")
	a, b, err := d.snapshot()
	if err != nil {
		return err
	}
	lab.WriteTable(os.Stdout, a, b)
	d.checkDrops(a, b)
	return nil
}
