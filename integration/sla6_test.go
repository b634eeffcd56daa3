package integration

import (
	"fmt"
	"testing"
	"time"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/internal/lab"
	"github.com/linx-sdwan/linx/internal/slaagent"
	"github.com/linx-sdwan/linx/sla"
)

// TestSLAOverIPv6Underlay: both gateways of the two-site lab, their overlays
// over IPv6, run the SLA agent on their real XDP data paths. Each probes both
// overlays with IPv6 STAMP through the tunnels, the other's XDP reflector
// answers, and the agents report every overlay up with measured round trips.
// When gw-b stops terminating overlay 1 (its reflector no longer sees the
// probes), gw-a marks overlay 1 down and keeps overlay 2 up.
func TestSLAOverIPv6Underlay(t *testing.T) {
	e := newLabWith(t, lab.Config{Underlay6: true})
	e.warmup()
	agents := map[string]*slaagent.Agent{}
	for _, s := range e.Sites() {
		st := slaagent.Wrap(s.DP, lab.LabOptions)
		for _, id := range lab.Tunnels {
			// Through the wrapper, so the agent knows the controller's tunnels.
			if err := st.SetTunnel(id, s.TunnelSpec(id)); err != nil {
				t.Fatal(err)
			}
		}
		a, err := slaagent.Start(st, slaagent.Options{
			Session: sla.SessionConfig{Interval: 20 * time.Millisecond},
			Logf:    func(f string, args ...any) { t.Logf("gw-%s: %s", s.Name, fmt.Sprintf(f, args...)) },
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.Stop) // before the lab closes: cleanups run last-in first-out
		agents[s.Name] = a
	}
	status := func(site string, id dataplane.TunnelID) sla.Status {
		return agents[site].Status()[sla.Path{Tunnel: id}]
	}
	// A correctness bound, not a timing claim: the first probes may leave
	// before the underlay neighbours are resolved.
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		for end := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("never: %s (gw-a %+v, gw-b %+v)\n%s", what, agents["a"].Status(), agents["b"].Status(), e.table())
			}
		}
	}
	for _, s := range e.Sites() {
		for _, id := range lab.Tunnels {
			waitFor(fmt.Sprintf("gw-%s overlay %d up with replies and no loss", s.Name, id), func() bool {
				st := status(s.Name, id)
				return st.State == sla.StateUp && st.Quality.Replies > 0 && st.Quality.Loss == 0 && st.Quality.RTT > 0
			})
			q := status(s.Name, id).Quality
			t.Logf("gw-%s overlay %d over IPv6: rtt %v (min %v), jitter %v, %d replies of %d", s.Name, id, q.RTT, q.MinRTT, q.Jitter, q.Replies, q.Samples)
		}
		// Replies to probes already counted lost (a stall of this shared
		// machine) are refused too: logged, not asserted.
		t.Logf("gw-%s refused %d replies", s.Name, agents[s.Name].ReplyErrors())
	}

	// gw-b no longer terminates overlay 1: gw-a's probes through it are
	// spoofed GRE there, never reflected.
	term := dataplane.TunnelTerm{Remote: e.A.WANAddr6[0], Local: e.B.WANAddr6[0]}
	if err := e.B.DP.DeleteTunnelTerm(term); err != nil {
		t.Fatal(err)
	}
	e.allow[dataplane.DropGRESpoofed] = 1 << 20
	// Both at once: a stall of the whole machine silences every overlay for
	// a moment, which the prober may also read as down.
	waitFor("gw-a holds overlay 1 down and overlay 2 up", func() bool {
		return status("a", lab.Tunnel1).State == sla.StateDown && status("a", lab.Tunnel2).State == sla.StateUp
	})
}
