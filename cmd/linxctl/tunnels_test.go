package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/dataplane/memdp"
	"github.com/linx-sdwan/linx/p4info"
	"github.com/linx-sdwan/linx/server/gnmisrv"
	"github.com/linx-sdwan/linx/server/p4rtsrv"
)

// proberSource is the agent's prober as gNMI sees it: set by the test.
type proberSource struct {
	mu sync.Mutex
	st []gnmisrv.TunnelStatus
}

func (p *proberSource) TunnelStatus() []gnmisrv.TunnelStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]gnmisrv.TunnelStatus(nil), p.st...)
}

func (p *proberSource) set(st ...gnmisrv.TunnelStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.st = st
}

// qualityAgent serves P4Runtime and gNMI on one loopback port, as linx-agent
// does, with the overlays' quality from src: linx-agent does not run the SLA
// prober yet, so the test stands in for it with the same gNMI source the agent
// will implement.
func qualityAgent(t *testing.T, src *proberSource) (*agent, *gnmisrv.Server) {
	t.Helper()
	dp := memdp.New(dataplane.Options{})
	if err := dp.Attach("wan0", 1, dataplane.RoleWAN, dataplane.XDPNative); err != nil {
		t.Fatal(err)
	}
	p4, err := p4rtsrv.New(p4rtsrv.Options{DeviceID: 1, Dataplane: dp, Pipeline: p4info.MustNewIndex(p4info.New(p4info.Sizes{}))})
	if err != nil {
		t.Fatal(err)
	}
	gn := gnmisrv.New(dp, gnmisrv.Options{Quality: src, ChangeInterval: time.Hour})
	g := grpc.NewServer()
	p4v1.RegisterP4RuntimeServer(g, p4)
	gn.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = g.Serve(lis) }()
	t.Cleanup(func() {
		gn.Close()
		g.Stop()
		<-done
		p4.Close()
	})
	return &agent{target: lis.Addr().String(), deviceID: 1}, gn
}

// syncBuffer is a bytes.Buffer safe for a command writing while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestShowWatchTunnels(t *testing.T) {
	src := &proberSource{}
	a, gn := qualityAgent(t, src)
	a.ok(t, "-m", "pipeline", "push")
	a.ok(t, "-m", "add", "tunnel", "1", "port=1", "src=192.0.2.1", "dst=198.51.100.1")
	a.ok(t, "-m", "add", "tunnel", "2", "port=1", "src=192.0.2.1", "dst=198.51.100.2", "key=5")
	since := time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)
	src.set(gnmisrv.TunnelStatus{Tunnel: 1, State: gnmisrv.TunnelDegraded, LastChange: since, RTT: 123400 * time.Microsecond,
		Jitter: 2 * time.Millisecond, Loss: 0.05, Directional: true, LossForward: 0.04, LossBackward: 0.01})

	out := a.ok(t, "show", "tunnels")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("show tunnels:\n%s", out)
	}
	for _, want := range []string{"OPER", "SLA", "RTT", "LOSS", "JITTER"} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("header %q lacks %s", lines[0], want)
		}
	}
	for _, want := range []string{"degraded", "123.4ms", "5.00% (4.00% → 1.00% ←)", "2.0ms", since.Local().Format(time.DateTime)} {
		if !strings.Contains(lines[1], want) {
			t.Errorf("tunnel 1 row %q lacks %q", lines[1], want)
		}
	}
	if f := strings.Fields(lines[2]); f[0] != "2" || f[6] != "-" || f[7] != "-" {
		t.Errorf("tunnel 2, not measured: %q", lines[2])
	}
	rows := decodeJSON[[]tunnelRow](t, a.ok(t, "show", "tunnels", "--json"))
	if q := rows[0].Quality; q == nil || q.State != "DEGRADED" || q.RTTMs == nil || *q.RTTMs != 123.4 || q.LossFwdPct == nil || *q.LossFwdPct != 4 {
		t.Errorf("show tunnels --json: %+v", q)
	}

	// watch: the initial state, then a blackout of tunnel 1 as it happens.
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	exit := make(chan int, 1)
	go func() {
		exit <- runContext(ctx, []string{"--insecure", "--target", a.target, "watch", "tunnels", "--count", "1"}, &stdout, &stderr)
	}()
	for !strings.Contains(stdout.String(), "sla degraded") {
		select {
		case <-exit:
			t.Fatalf("watch ended early:\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	src.set(gnmisrv.TunnelStatus{Tunnel: 1, State: gnmisrv.TunnelDown, LastChange: since.Add(time.Minute)})
	gn.QualityChanged()
	select {
	case code := <-exit:
		if code != exitOK {
			t.Fatalf("watch tunnels: exit %d\n%s", code, stderr.String())
		}
	case <-ctx.Done():
		t.Fatalf("watch tunnels did not report the change:\n%s", stdout.String())
	}
	last := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if got := last[len(last)-1]; !strings.Contains(got, "tunnel 1") || !strings.Contains(got, "sla down") {
		t.Errorf("last line %q, want tunnel 1 down\n%s", got, stdout.String())
	}
}

// SLA classes with linxctl against the real agent: add, show (text and JSON),
// mod, dump, refused values, del.
func TestSLACommands(t *testing.T) {
	a := startAgent(t, 1)
	a.ok(t, "-m", "pipeline", "push")
	a.ok(t, "-m", "add", "tunnel", "1", "port=2", "src=172.16.1.1", "dst=172.16.1.2")
	a.ok(t, "-m", "add", "lbr", "1", "members=1")
	out := a.ok(t, "-m", "add", "sla", "1", "dscp=ef", "rtt=150ms", "loss=1%", "jitter=30ms")
	if !strings.Contains(out, "insert sla 1: dscp=ef rtt=150ms loss=1% jitter=30ms): OK") {
		t.Errorf("add sla said %q", out)
	}
	if out := a.ok(t, "show", "sla"); !strings.Contains(out, "1    ef    150ms  1%    30ms") {
		t.Errorf("show sla:\n%s", out)
	}
	rows := decodeJSON[[]slaRow](t, a.ok(t, "show", "sla", "--json"))
	if len(rows) != 1 || rows[0] != (slaRow{LBR: 1, DSCP: "ef", RTTMs: 150, LossPct: 1, JitterMs: 30}) {
		t.Errorf("show sla --json: %+v", rows)
	}
	a.ok(t, "-m", "mod", "sla", "1", "rtt=400ms")
	rows = decodeJSON[[]slaRow](t, a.ok(t, "show", "sla", "--json"))
	if len(rows) != 1 || rows[0] != (slaRow{LBR: 1, DSCP: "be", RTTMs: 400}) {
		t.Errorf("after mod sla: %+v", rows)
	}
	if d := a.ok(t, "dump"); !strings.Contains(d, "add sla 1 dscp=be rtt=400ms\n") {
		t.Errorf("dump:\n%s", d)
	}
	a.fails(t, exitUsage, []string{"sla loss=101%: want a percentage from 0 to 100"}, "-m", "add", "sla", "2", "loss=101%")
	a.fails(t, exitUsage, []string{"sla rtt=1.5us: want whole microseconds"}, "-m", "add", "sla", "2", "rtt=1.5us")
	a.ok(t, "-m", "del", "sla", "1")
	if rows := decodeJSON[[]slaRow](t, a.ok(t, "show", "sla", "--json")); len(rows) != 0 {
		t.Errorf("after del sla: %+v", rows)
	}
}
