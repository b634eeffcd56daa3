package lab

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// Warmup pings host to host in both directions until one echo comes back
// each way (at most tries echoes, a second each). The first packets towards
// an unresolved neighbour go through the gateways' kernels, which resolve it
// (ARP); afterwards the XDP path forwards on its own.
func (l *Lab) Warmup(ctx context.Context, tries int) error {
	for _, s := range l.Sites() {
		got := 0
		for i := 0; i < tries && got == 0; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			n, err := netlab.Ping(s.Host, s.peer.HostAddr, 1, time.Second)
			if err != nil {
				return fmt.Errorf("warm-up: %w", err)
			}
			got = n
		}
		if got == 0 {
			return fmt.Errorf("warm-up: no echo reply from %s to host-%s after %d tries", s.peer.HostAddr, s.Name, tries)
		}
	}
	return nil
}

// flowWait bounds how long TraceUDPFlow waits for the gateway to count a
// flow's datagrams.
const flowWait = 5 * time.Second

// TraceUDPFlow sends count datagrams of one UDP flow from s's host (source
// port srcPort) to dst and reports which overlay s's gateway put it on, from
// the gateway's tunnel TX counters. Nothing else may cross the gateway's
// overlays meanwhile. It fails if the counters do not add up to exactly
// count, or if the flow was split over both overlays.
func (s *Site) TraceUDPFlow(dst netip.AddrPort, srcPort uint16, count int, tos uint8) (dataplane.TunnelID, netlab.FlowID, error) {
	if count < 1 {
		return 0, 0, fmt.Errorf("trace udp flow: count %d < 1", count)
	}
	before := map[dataplane.TunnelID]uint64{}
	for _, id := range Tunnels {
		n, err := s.TunnelTX(id)
		if err != nil {
			return 0, 0, err
		}
		before[id] = n
	}
	src := netip.AddrPortFrom(s.HostAddr, srcPort)
	flow, err := netlab.SendUDPWith(s.Host, src.String(), dst.String(), count, netlab.UDPOptions{Size: 64, TOS: tos})
	if err != nil {
		return 0, flow, err
	}
	// The gateway counts asynchronously (in NAPI context): wait until the
	// datagrams have all been counted somewhere.
	delta := map[dataplane.TunnelID]uint64{}
	end := time.Now().Add(flowWait)
	for {
		var sum uint64
		for _, id := range Tunnels {
			n, err := s.TunnelTX(id)
			if err != nil {
				return 0, flow, err
			}
			delta[id] = n - before[id]
			sum += delta[id]
		}
		if sum >= uint64(count) || time.Now().After(end) {
			if sum != uint64(count) {
				return 0, flow, fmt.Errorf("udp flow %s -> %s: gw-%s encapsulated %d datagrams of %d (tunnel deltas %v)",
					src, dst, s.Name, sum, count, delta)
			}
			break
		}
		time.Sleep(100 * time.Microsecond)
	}
	for _, id := range Tunnels {
		if delta[id] == uint64(count) {
			return id, flow, nil
		}
	}
	return 0, flow, fmt.Errorf("udp flow %s -> %s split over overlays on gw-%s: tunnel deltas %v", src, dst, s.Name, delta)
}

// Quiet period: WaitQuiet returns once the overlays' TX counters have not
// moved for quietFor, and gives up after quietMax.
const quietFor, quietMax = 20 * time.Millisecond, 5 * time.Second

// WaitQuiet waits until s's gateway has encapsulated nothing for a while, so
// that stragglers of earlier traffic (the last ACK of a closed TCP
// connection, say) cannot be mistaken for a traced flow's packets.
func (s *Site) WaitQuiet(ctx context.Context) error {
	read := func() (uint64, error) {
		var sum uint64
		for _, id := range Tunnels {
			n, err := s.TunnelTX(id)
			if err != nil {
				return 0, err
			}
			sum += n
		}
		return sum, nil
	}
	last, err := read()
	if err != nil {
		return err
	}
	end := time.Now().Add(quietMax)
	since := time.Now()
	for time.Since(since) < quietFor {
		if time.Now().After(end) {
			return fmt.Errorf("gw-%s: overlays still busy after %v", s.Name, quietMax)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Millisecond):
		}
		n, err := read()
		if err != nil {
			return err
		}
		if n != last {
			last, since = n, time.Now()
		}
	}
	return nil
}

// Spread is how SpreadUDP's flows were distributed.
type Spread struct {
	ByTunnel  map[dataplane.TunnelID]int // flows per overlay
	Flows     []netlab.FlowID            // for UDPSink.ReceivedAll
	Datagrams int                        // sent in total
}

// Share returns the fraction of flows carried by overlay id.
func (sp Spread) Share(id dataplane.TunnelID) float64 {
	if len(sp.Flows) == 0 {
		return 0
	}
	return float64(sp.ByTunnel[id]) / float64(len(sp.Flows))
}

// SpreadUDP sends flows distinct UDP flows (source ports basePort,
// basePort+1, ...) of perFlow datagrams each from s's host to dst, one
// after the other, and counts the flows per overlay with TraceUDPFlow.
func (s *Site) SpreadUDP(ctx context.Context, dst netip.AddrPort, basePort uint16, flows, perFlow int, tos uint8) (Spread, error) {
	sp := Spread{ByTunnel: map[dataplane.TunnelID]int{}}
	if int(basePort)+flows > 1<<16 {
		return sp, fmt.Errorf("spread udp: %d flows from port %d overflow", flows, basePort)
	}
	if err := s.WaitQuiet(ctx); err != nil {
		return sp, err
	}
	for i := range flows {
		if err := ctx.Err(); err != nil {
			return sp, err
		}
		id, flow, err := s.TraceUDPFlow(dst, basePort+uint16(i), perFlow, tos)
		if err != nil {
			return sp, err
		}
		sp.ByTunnel[id]++
		sp.Flows = append(sp.Flows, flow)
		sp.Datagrams += perFlow
	}
	return sp, nil
}

// FailoverOptions shape Lab.Failover.
type FailoverOptions struct {
	Size int64 // bytes the TCP transfer carries
	Rate int64 // its pace, bytes per second
	// DownAfter is how many bytes must have arrived before the overlay
	// carrying the transfer is marked down.
	DownAfter int64
	// Carrier, if set, is the overlay the transfer must ride: connections
	// the load balancer puts on the other one are abandoned and redialled
	// (from another ephemeral port) until one lands on Carrier.
	Carrier dataplane.TunnelID
}

// FailoverReport is what Lab.Failover saw. Counters are from's gateway unless
// named Peer.
type FailoverReport struct {
	Carrier, Other dataplane.TunnelID // the transfer's overlay (marked down), the other one
	Conn           string             // the connection, client -> server
	Attempts       int                // connections dialled to land on Carrier
	// Probe is the gateway's counter change over a stretch of the transfer
	// before the failure, which found the carrier.
	Probe Counters
	// AtDown and After are snapshots right after the carrier was marked down
	// and after the transfer ended; PeerAtDown and PeerAfter the same on the
	// other gateway.
	AtDown, After         Counters
	PeerAtDown, PeerAfter Counters
	// SentAtDown is how much the client had written when the carrier was
	// down on both gateways: the rest of the stream, Size-SentAtDown bytes,
	// was sent afterwards and can only have taken the other overlay.
	SentAtDown, ReceivedAtDown, Size int64
	// Err is the transfer's outcome: nil when every byte arrived intact.
	Err error
}

// maxFailoverAttempts bounds the connections Failover dials to land one on
// the wanted overlay: with weights 3:1, the chance that 40 connections all
// miss tunnel 2 is 0.75^40 ≈ 1e-5.
const maxFailoverAttempts = 40

// Probe window: the carrier is the overlay whose TX counter moves while the
// transfer's bytes probeFrom..probeTo arrive.
const probeFrom, probeTo = 64 << 10, 256 << 10

// Failover runs a paced TCP transfer from s's host to the peer's host, finds
// the overlay that carries it (tunnel TX counters of s's gateway), marks
// that overlay down on both gateways (a WAN link failure seen by both ends)
// once DownAfter bytes have arrived, and waits for the transfer to end.
// Nothing else may cross the overlays meanwhile. The overlay stays down:
// call RestoreTunnels to bring it back.
func (l *Lab) Failover(ctx context.Context, s *Site, o FailoverOptions) (*FailoverReport, error) {
	if o.DownAfter < probeTo || o.Size <= o.DownAfter {
		return nil, fmt.Errorf("failover: need %d <= DownAfter < Size", probeTo)
	}
	for attempt := 1; ; attempt++ {
		r, err := l.failover(ctx, s, o)
		if errors.Is(err, errWrongCarrier) && attempt < maxFailoverAttempts {
			continue
		}
		if r != nil {
			r.Attempts = attempt
		}
		return r, err
	}
}

var errWrongCarrier = errors.New("the connection rides the other overlay")

func (l *Lab) failover(ctx context.Context, s *Site, o FailoverOptions) (*FailoverReport, error) {
	peer := s.peer
	st, err := netlab.StartTCP(ctx, s.Host, peer.Host, netip.AddrPortFrom(peer.HostAddr, 0).String(), o.Size,
		netlab.TCPOptions{Rate: o.Rate})
	if err != nil {
		return nil, err
	}
	defer func() {
		st.Abort()
		<-st.Done()
	}()
	r := &FailoverReport{Size: o.Size, Conn: fmt.Sprintf("tcp %s -> %s", st.Local(), st.Remote())}
	waitFor := func(n int64) error {
		for st.Received() < n {
			select {
			case <-st.Done():
				if err := st.Wait(); err != nil {
					return fmt.Errorf("failover: %w", err)
				}
				return fmt.Errorf("failover: the transfer ended after %d bytes, before %d had arrived", st.Received(), n)
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Millisecond):
			}
		}
		return nil
	}
	if err := waitFor(probeFrom); err != nil {
		return nil, err
	}
	c0, err := s.Counters()
	if err != nil {
		return nil, err
	}
	if err := waitFor(probeTo); err != nil {
		return nil, err
	}
	c1, err := s.Counters()
	if err != nil {
		return nil, err
	}
	r.Probe = c1.Sub(c0)
	r.Carrier, r.Other = Tunnel1, Tunnel2
	if r.Probe.Tunnels[Tunnel2].TX.Packets > r.Probe.Tunnels[Tunnel1].TX.Packets {
		r.Carrier, r.Other = Tunnel2, Tunnel1
	}
	if r.Probe.Tunnels[r.Carrier].TX.Packets == 0 {
		return nil, errors.New("failover: the transfer crossed neither overlay")
	}
	if o.Carrier != 0 && r.Carrier != o.Carrier {
		return nil, errWrongCarrier
	}
	if err := waitFor(o.DownAfter); err != nil {
		return nil, err
	}

	if err := s.SetTunnelDown(r.Carrier, true); err != nil {
		return nil, err
	}
	if r.AtDown, err = s.Counters(); err != nil {
		return nil, err
	}
	if err := peer.SetTunnelDown(r.Carrier, true); err != nil {
		return nil, err
	}
	if r.PeerAtDown, err = peer.Counters(); err != nil {
		return nil, err
	}
	r.SentAtDown, r.ReceivedAtDown = st.Sent(), st.Received()
	r.Err = st.Wait()
	if r.After, err = s.Counters(); err != nil {
		return nil, err
	}
	if r.PeerAfter, err = peer.Counters(); err != nil {
		return nil, err
	}
	return r, nil
}

// RestoreTunnels marks every overlay up again on both gateways.
func (l *Lab) RestoreTunnels() error {
	var errs []error
	for _, s := range l.Sites() {
		for _, id := range Tunnels {
			if s.TunnelDown(id) {
				errs = append(errs, s.SetTunnelDown(id, false))
			}
		}
	}
	return errors.Join(errs...)
}
