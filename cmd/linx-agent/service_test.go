package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/credentials/insecure"
)

// httpGet returns the status and body of an HTTP GET.
func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestRunMetrics runs the agent on the memory data path with a metrics
// endpoint and reads it as Prometheus and a readiness probe would.
func TestRunMetrics(t *testing.T) {
	m := freeAddr(t)
	addr, log := start(t, "-insecure", "-memory-dataplane", "-metrics-listen", m,
		"-port", "lan=1:lan", "-port", "wan1=2:wan")
	if code, body := httpGet(t, "http://"+m+"/readyz"); code != 200 || body != "ready\n" {
		t.Errorf("/readyz: %d %q, want 200 ready", code, body)
	}
	if code, body := httpGet(t, "http://"+m+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz: %d %q, want 200 ok", code, body)
	}
	if err := capabilities(addr, insecure.NewCredentials()); err != nil {
		t.Fatalf("Capabilities: %v\n%s", err, log)
	}
	code, body := httpGet(t, "http://"+m+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics: %d\n%s", code, body)
	}
	for _, s := range []string{
		`linx_port_rx_packets_total{interface="lan",port="1",role="lan"} 0`,
		`linx_port_tx_bytes_total{interface="wan1",port="2",role="wan"} 0`,
		`linx_tunnels 0`,
		`linx_pdr_default_packets_total 0`,
		`linx_drops_total{reason="policy"} 0`,
		`linx_drops_total{reason="gre_spoofed"} 0`,
		`linx_p4rt_controllers{role=""} 0`,
		`linx_p4rt_primary{role=""} 0`,
		`linx_grpc_requests_total{code="OK",method="/p4.v1.P4Runtime/Capabilities"} 1`,
		`linx_grpc_requests_total{code="OK",method="/p4.v1.P4Runtime/Write"} 0`,
		`linx_grpc_request_duration_seconds_count{method="/p4.v1.P4Runtime/Capabilities"} 1`,
		`linx_grpc_streams_open{method="/p4.v1.P4Runtime/StreamChannel"} 0`,
		`linx_metrics_read_errors_total 0`,
		`go_goroutines `,
		`process_open_fds `,
	} {
		if !strings.Contains(body, s) {
			t.Errorf("/metrics lacks %s", s)
		}
	}
	for _, s := range []string{"linx_pdr_packets_total", "linx_pdr_rules"} {
		if strings.Contains(body, s) {
			t.Errorf("/metrics has %s with per_pdr off", s)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", body)
	}
}

// TestRunMetricsListenBusy checks that an agent asked for metrics on an
// address it cannot listen on refuses to start.
func TestRunMetricsListenBusy(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	code, _, stderr := agent(t, "-insecure", "-memory-dataplane", "-listen", freeAddr(t), "-metrics-listen", l.Addr().String())
	if code != 1 || !strings.Contains(stderr, `"error":"metrics: listen tcp `+l.Addr().String()) {
		t.Errorf("exit %d, stderr %s; want 1 and the metrics listen error", code, stderr)
	}
}

// TestRunNotify runs the agent as systemd would with Type=notify: READY=1
// once serving, STOPPING=1 on SIGTERM, then exit 0.
func TestRunNotify(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	addr := freeAddr(t)
	cmd := exec.Command(agentBinary(t), "-insecure", "-memory-dataplane", "-listen", addr)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+sock)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	defer func() {
		if !stopped {
			cmd.Process.Kill()
			<-exited
		}
	}()
	receive := func() string {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("no notification: %v\n%s", err, log)
		}
		return string(buf[:n])
	}
	if got, want := receive(), "READY=1\nSTATUS=serving P4Runtime, gNMI and gNOI on "+addr; got != want {
		t.Errorf("first notification %q, want %q", got, want)
	}
	// Ready means serving: the gRPC port answers now, not eventually.
	if err := capabilities(addr, insecure.NewCredentials()); err != nil {
		t.Errorf("Capabilities right after READY=1: %v", err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got, want := receive(), "STOPPING=1\nSTATUS=stopping"; got != want {
		t.Errorf("second notification %q, want %q", got, want)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("exit on SIGTERM: %v\n%s", err, log)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit 10s after SIGTERM\n%s", log)
	}
}
