package p4rtclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	p4_v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// agentDeviceID is the P4Runtime device id the agents under test serve.
const agentDeviceID = 7

// repoRoot is the main module's directory, two levels up.
func repoRoot() (string, error) { return filepath.Abs(filepath.Join("..", "..")) }

// buildAgent builds cmd/linx-agent once per test binary (go build, run in the
// main module). Without a go tool on PATH it returns an errNoGo, and the tests
// skip: that is a missing tool, not a privilege problem.
var buildAgent = sync.OnceValues(func() (bin string, err error) {
	goTool, lerr := exec.LookPath("go")
	if lerr != nil {
		return "", errNoGo{lerr}
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "linx-agent-")
	if err != nil {
		return "", err
	}
	buildDir = dir
	bin = filepath.Join(dir, "linx-agent")
	cmd := exec.Command(goTool, "build", "-o", bin, "github.com/linx-sdwan/linx/cmd/linx-agent")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build linx-agent in %s: %v\n%s", root, err, out)
	}
	return bin, nil
})

// buildDir holds the agent binary; TestMain removes it.
var buildDir string

type errNoGo struct{ err error }

func (e errNoGo) Error() string {
	return "the go tool is not on PATH, so linx-agent cannot be built: " + e.err.Error()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// syncBuffer collects the agent's log.
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

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startAgent runs linx-agent with the in-memory data path and ports 1 (lan),
// 2 and 3 (wan) on a free loopback port, waits until it answers Capabilities,
// and returns a P4Runtime client connection to it. The agent (only that child
// process) is stopped when the test ends.
func startAgent(t *testing.T) *grpc.ClientConn {
	t.Helper()
	bin, err := buildAgent()
	if err != nil {
		var noGo errNoGo
		if errors.As(err, &noGo) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(bin, "-insecure", "-listen", addr, "-device-id", fmt.Sprint(agentDeviceID),
		"-memory-dataplane", "-log-level", "warn",
		"-port", "lan=1:lan", "-port", "wan1=2:wan", "-port", "wan2=3:wan")
	var logs syncBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start linx-agent: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		// Only this child, by its PID.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			t.Errorf("linx-agent (pid %d) did not stop on SIGTERM; killing it", cmd.Process.Pid)
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("linx-agent log:\n%s", logs.String())
		}
	})
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := p4_v1.NewP4RuntimeClient(conn)
	end := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		_, err := c.Capabilities(ctx, &p4_v1.CapabilitiesRequest{})
		cancel()
		if err == nil {
			return conn
		}
		select {
		case werr := <-exited:
			t.Fatalf("linx-agent exited before serving: %v\n%s", werr, logs.String())
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("linx-agent does not answer on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
