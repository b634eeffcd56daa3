package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/internal/testenv"
)

// The end-to-end tests run the real linx-agent with the in-memory data path on a
// loopback port (unprivileged) and run linxctl's commands in-process against it.

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinaries()
	os.Exit(code)
}

// agent is a running linx-agent.
type agent struct {
	target   string
	deviceID uint64
	log      *bytes.Buffer
}

// startAgent starts linx-agent -insecure -memory-dataplane on a free loopback
// port and stops that process (by its PID) when the test ends.
func startAgent(t *testing.T, deviceID uint64, extra ...string) *agent {
	t.Helper()
	bin := testenv.LinxAgent(t)
	for attempt := 0; ; attempt++ {
		a := &agent{target: testenv.FreeLoopbackAddr(t), deviceID: deviceID, log: &bytes.Buffer{}}
		cmd := exec.Command(bin, append([]string{"-insecure", "-memory-dataplane", "-listen", a.target,
			"-device-id", fmt.Sprint(deviceID), "-log-level", "warn"}, extra...)...)
		cmd.Stdout, cmd.Stderr = a.log, a.log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		stop := func() {
			select {
			case <-exited:
				return
			default:
			}
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				_ = cmd.Process.Kill()
				<-exited
			}
		}
		if err := waitReady(a.target, exited); err != nil {
			stop()
			if attempt < 2 { // the port may have been taken meanwhile
				continue
			}
			t.Fatalf("linx-agent did not start: %v\n%s", err, a.log)
		}
		t.Cleanup(stop)
		return a
	}
}

func waitReady(target string, exited <-chan error) error {
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	c := p4v1.NewP4RuntimeClient(conn)
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Capabilities(ctx, &p4v1.CapabilitiesRequest{})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// result is one linxctl run.
type runResult struct {
	code           int
	stdout, stderr string
}

// lx runs linxctl in-process against the agent.
func (a *agent) lx(t *testing.T, args ...string) runResult {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--insecure", "--target", a.target, "--device-id", fmt.Sprint(a.deviceID), "--timeout", "10s"}, args...)
	code := run(full, &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

// ok runs linxctl and fails the test unless it exits 0.
func (a *agent) ok(t *testing.T, args ...string) string {
	t.Helper()
	r := a.lx(t, args...)
	if r.code != exitOK {
		t.Fatalf("linxctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// fails runs linxctl and fails the test unless it exits with code and stderr
// holds every want.
func (a *agent) fails(t *testing.T, code int, want []string, args ...string) runResult {
	t.Helper()
	r := a.lx(t, args...)
	if r.code != code {
		t.Fatalf("linxctl %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.code, code, r.stdout, r.stderr)
	}
	for _, w := range want {
		if !strings.Contains(r.stderr, w) {
			t.Errorf("linxctl %s: stderr lacks %q:\n%s", strings.Join(args, " "), w, r.stderr)
		}
	}
	return r
}

// controller is a raw P4Runtime controller (standing in for ONOS).
type controller struct {
	conn   *grpc.ClientConn
	c      p4v1.P4RuntimeClient
	stream p4v1.P4Runtime_StreamChannelClient
	cancel context.CancelFunc
	arb    chan *p4v1.MasterArbitrationUpdate
	eid    *p4v1.Uint128
	device uint64
}

func connectController(t *testing.T, a *agent, eid uint64) *controller {
	t.Helper()
	conn, err := grpc.NewClient(a.target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &controller{conn: conn, c: p4v1.NewP4RuntimeClient(conn), cancel: cancel,
		arb: make(chan *p4v1.MasterArbitrationUpdate, 64), eid: &p4v1.Uint128{Low: eid}, device: a.deviceID}
	t.Cleanup(func() { cancel(); conn.Close() })
	if c.stream, err = c.c.StreamChannel(ctx); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			m, err := c.stream.Recv()
			if err != nil {
				close(c.arb)
				return
			}
			if u := m.GetArbitration(); u != nil {
				c.arb <- u
			}
		}
	}()
	if err := c.stream.Send(&p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{
		Arbitration: &p4v1.MasterArbitrationUpdate{DeviceId: a.deviceID, ElectionId: c.eid}}}); err != nil {
		t.Fatal(err)
	}
	if u := c.next(t); u.GetStatus().GetCode() != 0 {
		t.Fatalf("controller with election id %d is not primary: %v", eid, u)
	}
	return c
}

// next returns the next arbitration update the controller receives.
func (c *controller) next(t *testing.T) *p4v1.MasterArbitrationUpdate {
	t.Helper()
	select {
	case u, ok := <-c.arb:
		if !ok {
			t.Fatal("controller stream ended")
		}
		return u
	case <-time.After(10 * time.Second):
		t.Fatal("no arbitration update")
	}
	return nil
}

// write writes one far entry as the controller.
func (c *controller) writeFAR(id uint32) error {
	u, err := tableUpdate(insertOp, mustFAR(id), "")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = c.c.Write(ctx, &p4v1.WriteRequest{DeviceId: c.device, ElectionId: c.eid, Updates: []*p4v1.Update{u.u}})
	return err
}
