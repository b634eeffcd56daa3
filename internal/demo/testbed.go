package demo

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/linx-sdwan/linx/internal/impair"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// Testbed is the demo's network with both agents running and programmed
// (the demo's first four steps), for tests that act on it: the SLA
// integration tests break its WAN paths and watch the agents steer.
// Close tears it down.
type Testbed struct {
	d *demo
}

// TestbedConfig tunes StartTestbed.
type TestbedConfig struct {
	// Out receives the readable log (nil: discarded).
	Out io.Writer
	// Root is the linx repository; "" asks `go env GOMOD`.
	Root string
	// SLA, when set, replaces the sla section of both agents' configuration
	// (the examples'): a YAML mapping that starts with "sla:".
	SLA string
}

// Sites.
const (
	SiteA = 0
	SiteB = 1
)

// StartTestbed builds the binaries, the namespaces and the links, starts both
// agents and programs them as the demo does. On error everything is torn
// down again.
func StartTestbed(ctx context.Context, cfg TestbedConfig) (*Testbed, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	d := &demo{out: cfg.Out, root: cfg.Root, report: &Report{}, sla: cfg.SLA}
	for _, s := range []struct {
		title string
		fn    func(context.Context) error
	}{
		{"build", d.build},
		{"topology", d.buildTopology},
		{"agents", d.startAgents},
		{"program the gateways with linxctl", d.program},
	} {
		d.section(s.title)
		if err := s.fn(ctx); err != nil {
			d.teardown()
			return nil, fmt.Errorf("%s: %w", s.title, err)
		}
	}
	return &Testbed{d: d}, nil
}

// Close stops the agents and removes everything; it returns what it could not
// remove (nothing, normally).
func (tb *Testbed) Close() []string {
	tb.d.teardown()
	tb.d.verifyClean()
	return tb.d.report.Leftovers
}

func (tb *Testbed) site(i int) *site { return tb.d.topo.sites()[i] }

// Host is site i's host namespace and address.
func (tb *Testbed) Host(i int) (*netlab.NS, netip.Addr) {
	s := tb.site(i)
	return s.host, s.hostAddr
}

// Gateway is site i's gateway namespace.
func (tb *Testbed) Gateway(i int) *netlab.NS { return tb.site(i).gw }

// Impair is the impairment element on the router's end of site i's WAN link
// (0 or 1): it acts on what that gateway sends over the link.
func (tb *Testbed) Impair(i, link int) *impair.Element { return tb.site(i).impair[link] }

// BreakOverlay sets c on both router ends of WAN link link (0: overlay 1,
// 1: overlay 2), so the overlay over it breaks in both directions.
func (tb *Testbed) BreakOverlay(link int, c impair.Config) error {
	for _, s := range tb.d.topo.sites() {
		if err := s.impair[link].Set(c); err != nil {
			return err
		}
	}
	return nil
}

// Ctl runs linxctl against site i's agent and returns its output.
func (tb *Testbed) Ctl(ctx context.Context, i int, args ...string) (string, error) {
	return tb.d.ctl(ctx, tb.d.agents[i], args...)
}

// TunnelTX reads site i's gateway's per-overlay TX counters (packets, bytes).
func (tb *Testbed) TunnelTX(ctx context.Context, i int) (map[int64][2]uint64, error) {
	c, err := tb.d.read(ctx, tb.d.agents[i])
	if err != nil {
		return nil, err
	}
	out := map[int64][2]uint64{}
	for id, x := range c.TX {
		out[id] = [2]uint64{x.Packets, x.Bytes}
	}
	return out, nil
}

// LogLines returns the messages of site i's agent log that contain substr.
func (tb *Testbed) LogLines(i int, substr string) []string {
	return tb.d.agents[i].logLines(substr)
}

// WaitLog waits until site i's agent has logged more than skip messages
// containing substr, and returns the next one.
func (tb *Testbed) WaitLog(ctx context.Context, i int, substr string, skip int, timeout time.Duration) (string, error) {
	return tb.d.agents[i].waitLogAfter(ctx, substr, skip, timeout)
}

// StartTCPOn starts a paced TCP transfer from site A's host to site B's that
// the balancer put on overlay tunnel (1 or 2), dialling again until one lands
// there (gw-a's counters over a stretch of it tell).
func (tb *Testbed) StartTCPOn(ctx context.Context, tunnel int64, size, rate int64) (*netlab.TCPStream, error) {
	a, b := tb.d.topo.a, tb.d.topo.b
	for attempt := 1; attempt <= foAttempts; attempt++ {
		s, err := netlab.StartTCP(ctx, a.host, b.host, netip.AddrPortFrom(b.hostAddr, 0).String(), size, netlab.TCPOptions{Rate: rate})
		if err != nil {
			return nil, err
		}
		carrier, err := tb.d.probeCarrier(ctx, tb.d.agents[0], s)
		if err == nil && carrier == tunnel {
			return s, nil
		}
		s.Abort()
		<-s.Done()
		if err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("no connection landed on overlay %d in %d attempts", tunnel, foAttempts)
}

// withSLA replaces the sla section at the end of an example configuration.
func withSLA(data []byte, sla string) []byte {
	s := string(data)
	if i := strings.Index(s, "\nsla:"); i >= 0 {
		s = s[:i+1]
	}
	return []byte(s + sla + "\n")
}

// Router is the underlay router's namespace.
func (tb *Testbed) Router() *netlab.NS { return tb.d.topo.router }

// RouterIf is the name of the router's end of site i's WAN link (0 or 1).
func (tb *Testbed) RouterIf(i, link int) string { return tb.site(i).routerIf[link] }

// WAN is site i's gateway address on its WAN link (0 or 1): its end of the
// overlay over that link.
func (tb *Testbed) WAN(i, link int) netip.Addr { return tb.site(i).wan[link] }

// Burst sends flows new UDP flows (5 datagrams each, TOS tos) from site i's
// host to the other site's and returns how many of the datagrams site i's
// gateway put on overlay 1 and on overlay 2 (probe replies taken out), after
// checking that every datagram arrived.
func (tb *Testbed) Burst(ctx context.Context, i int, tos uint8, flows int) (t1, t2 uint64, err error) {
	s := tb.site(i)
	sink, err := netlab.NewUDPSink(s.peer.host, netip.AddrPortFrom(s.peer.hostAddr, 7300).String())
	if err != nil {
		return 0, 0, err
	}
	defer sink.Close()
	delta, ids, err := tb.d.burst(ctx, s, tb.d.agents[i], sink.Addr(), 25000, flows, tos)
	if err != nil {
		return 0, 0, err
	}
	if got, want := sink.WaitReceivedAll(ids, flows*perFlow, 5*time.Second), flows*perFlow; got != want {
		return 0, 0, fmt.Errorf("%d of %d datagrams arrived", got, want)
	}
	return delta.flows(tunnel1), delta.flows(tunnel2), nil
}
