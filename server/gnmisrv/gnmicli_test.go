package gnmisrv

import (
	"bufio"
	"context"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openconfig/gnmi/proto/gnmi"
	"google.golang.org/protobuf/encoding/prototext"

	"github.com/linx-sdwan/linx/dataplane"
)

// gnmiCLI builds gnmi_cli (github.com/openconfig/gnmi/cmd/gnmi_cli, a tool
// requirement of this module, so pinned to the go.mod version) into a temporary
// directory.
func gnmiCLI(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: not building gnmi_cli")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			t.Skip("no go command to build gnmi_cli with")
		}
	}
	bin := filepath.Join(t.TempDir(), "gnmi_cli")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/openconfig/gnmi/cmd/gnmi_cli").CombinedOutput()
	if err != nil {
		t.Fatalf("go build gnmi_cli: %v\n%s", err, out)
	}
	return bin
}

// cliEnv keeps gnmi_cli's glog files out of the shared temporary directory.
func cliEnv(t *testing.T) []string {
	return append(os.Environ(), "TMPDIR="+t.TempDir())
}

// runCLI runs gnmi_cli to completion and returns its standard output.
func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cliEnv(t)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gnmi_cli %q: %v\nstdout:\n%s\nstderr:\n%s", args, err, out, stderr.String())
	}
	return string(out)
}

// The gNMI requests of ONOS, replayed with the reference client.
func TestGnmiCLI(t *testing.T) {
	bin := gnmiCLI(t)
	opts := fastOptions()
	opts.DefaultSampleInterval = 50 * time.Millisecond
	r := newRig(t, opts)
	r.addCount(t, 1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 10, Bytes: 1500}, TX: dataplane.Counter{Packets: 4, Bytes: 400}})
	addr := []string{"-address", r.addr, "-insecure", "-timeout", "10s"}

	t.Run("capabilities", func(t *testing.T) {
		out := runCLI(t, bin, append(addr, "-capabilities")...)
		var resp gnmi.CapabilityResponse
		if err := prototext.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if resp.GetGNMIVersion() != "0.10.0" || len(resp.GetSupportedEncodings()) != 3 || resp.GetSupportedModels()[0].GetName() != "openconfig-interfaces" {
			t.Errorf("capabilities %s", out)
		}
	})

	getReq := func(t *testing.T, req string) map[string]string {
		t.Helper()
		out := runCLI(t, bin, append(addr, "-get", "-proto", req)...)
		var resp gnmi.GetResponse
		if err := prototext.Unmarshal([]byte(out), &resp); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return updates(t, resp.GetNotification()...)
	}

	t.Run("get port discovery", func(t *testing.T) {
		got := getReq(t, `path: <elem: <name: "interfaces"> elem: <name: "interface" key: <key: "name" value: "...">> elem: <name: "state">> type: ALL encoding: PROTO`)
		for k, v := range map[string]string{
			"/interfaces/interface[name=wan0]/state/ifindex":     "u1",
			"/interfaces/interface[name=lan1]/state/ifindex":     "u7",
			"/interfaces/interface[name=wan0]/state/oper-status": "UP",
			"/interfaces/interface[name=lan1]/state/oper-status": "DOWN",
		} {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		if len(got) != 3*(7+14) {
			t.Errorf("%d leaves", len(got))
		}
	})

	t.Run("get port statistics", func(t *testing.T) {
		got := getReq(t, `path: <elem: <name: "interfaces"> elem: <name: "interface" key: <key: "name" value: "wan0">> elem: <name: "state"> elem: <name: "counters">> `+
			`path: <elem: <name: "interfaces"> elem: <name: "interface" key: <key: "name" value: "lan0">> elem: <name: "state"> elem: <name: "counters">> encoding: PROTO`)
		const w = "/interfaces/interface[name=wan0]/state/counters/"
		want := map[string]string{w + "in-octets": "u1500", w + "in-unicast-pkts": "u10", w + "out-octets": "u400", w + "out-unicast-pkts": "u4", w + "in-discards": "u0"}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s = %q, want %q", k, got[k], v)
			}
		}
		if len(got) != 2*14 {
			t.Errorf("%d leaves", len(got))
		}
	})

	t.Run("get json_ietf", func(t *testing.T) {
		out := runCLI(t, bin, append(addr, "-get", "-proto", `path: <elem: <name: "interfaces"> elem: <name: "interface" key: <key: "name" value: "wan0">> elem: <name: "state">> encoding: JSON_IETF`)...)
		for _, want := range []string{`openconfig-interfaces:oper-status`, `openconfig-p4rt:id`, `in-octets`, `1500`} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})

	t.Run("get error", func(t *testing.T) {
		cmd := exec.Command(bin, append(addr, "-get", "-proto", `path: <elem: <name: "onos-gnmi-test">>`)...)
		cmd.Env = cliEnv(t)
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "InvalidArgument") {
			t.Errorf("err %v, output:\n%s", err, out)
		}
	})

	t.Run("subscribe once", func(t *testing.T) {
		out := runCLI(t, bin, append(addr, "-query", "/interfaces/interface[name=*]/state/oper-status", "-qt", "o", "-dt", "s")...)
		got := map[string]bool{}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			got[l] = true
		}
		want := map[string]bool{
			"interfaces/interface/wan0/state/oper-status, UP":   true,
			"interfaces/interface/lan0/state/oper-status, UP":   true,
			"interfaces/interface/lan1/state/oper-status, DOWN": true,
		}
		if !maps.Equal(got, want) {
			t.Errorf("got %q", out)
		}
	})

	t.Run("subscribe poll", func(t *testing.T) {
		out := runCLI(t, bin, append(addr, "-query", "/interfaces/interface[name=wan0]/state/counters/in-octets", "-qt", "p", "-pi", "50ms", "-c", "2")...)
		if strings.Count(out, "1500") != 2 {
			t.Errorf("want two polls of in-octets 1500, got:\n%s", out)
		}
	})

	t.Run("subscribe stream", func(t *testing.T) {
		// TARGET_DEFINED (gnmi_cli sets no mode): oper-status on change, counters
		// sampled. Read lines until the change made after the sync shows up.
		waitLine := streamCLI(t, bin, append(addr, "-query", "/interfaces/interface[name=wan0]/state/oper-status,/interfaces/interface[name=wan0]/state/counters/in-octets", "-qt", "s", "-dt", "s")...)
		waitLine("interfaces/interface/wan0/state/oper-status, UP")
		waitLine("interfaces/interface/wan0/state/counters/in-octets, 1500")
		r.links.set("wan0", LinkState{AdminUp: true, Oper: OperDown, LastChange: t1})
		waitLine("interfaces/interface/wan0/state/oper-status, DOWN")
		r.addCount(t, 1, dataplane.PortCounters{RX: dataplane.Counter{Packets: 1, Bytes: 500}})
		waitLine("interfaces/interface/wan0/state/counters/in-octets, 2000")
	})
}

// streamCLI starts a streaming gnmi_cli subscription and returns a function
// that waits (up to 10 s) for a given line of its single-line display: path
// elements with key values as elements of their own, then the value. The
// client is killed when the test ends.
func streamCLI(t *testing.T, bin string, args ...string) (waitLine func(want string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = cliEnv(t)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	stderr := &lockedBuilder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel() // kills our gnmi_cli (exec.CommandContext: this process only)
		_ = cmd.Wait()
	})
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	return func(want string) {
		t.Helper()
		var last []string // the latest lines, for the failure message
		timeout := time.After(10 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("gnmi_cli exited before %q; last lines %q; stderr:\n%s", want, last, stderr.String())
				}
				if last = append(last, l); len(last) > 5 {
					last = last[1:]
				}
				if l == want {
					return
				}
			case <-timeout:
				t.Fatalf("no %q within 10s; last lines %q; stderr:\n%s", want, last, stderr.String())
			}
		}
	}
}

// lockedBuilder is a strings.Builder safe for the writer goroutine of
// exec.Cmd and the test reading it.
type lockedBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// The overlays as ONOS sees them over gNMI, through the reference client:
// listed by port discovery as logical ports, their oper-status pushed when
// one goes down, their counters moving with traffic.
func TestGnmiCLITunnels(t *testing.T) {
	bin := gnmiCLI(t)
	opts := fastOptions()
	opts.DefaultSampleInterval = 50 * time.Millisecond
	r := newRig(t, opts)
	r.setTunnel(t, 1, tun1)
	r.setTunnel(t, 2, tun3)
	addr := []string{"-address", r.addr, "-insecure", "-timeout", "10s"}

	out := runCLI(t, bin, append(addr, "-get", "-proto", `path: <elem: <name: "interfaces"> elem: <name: "interface" key: <key: "name" value: "...">> elem: <name: "state">> type: ALL encoding: PROTO`)...)
	var resp gnmi.GetResponse
	if err := prototext.Unmarshal([]byte(out), &resp); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	got := updates(t, resp.GetNotification()...)
	for k, v := range map[string]string{
		"/interfaces/interface[name=tunnel-1]/state/ifindex":     tunnelPort(1),
		"/interfaces/interface[name=tunnel-1]/state/type":        "iana-if-type:tunnel",
		"/interfaces/interface[name=tunnel-1]/state/oper-status": "UP",
		"/interfaces/interface[name=tunnel-2]/state/ifindex":     tunnelPort(2),
		"/interfaces/interface[name=tunnel-2]/state/oper-status": "DOWN",
		"/interfaces/interface[name=wan0]/state/ifindex":         "u1",
	} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}

	waitLine := streamCLI(t, bin, append(addr, "-query", "/interfaces/interface[name=tunnel-1]/state/oper-status,/interfaces/interface[name=tunnel-1]/state/counters/out-octets", "-qt", "s", "-dt", "s")...)
	waitLine("interfaces/interface/tunnel-1/state/oper-status, UP")
	waitLine("interfaces/interface/tunnel-1/state/counters/out-octets, 0")
	down := tun1
	down.Down = true
	r.setTunnel(t, 1, down)
	waitLine("interfaces/interface/tunnel-1/state/oper-status, DOWN")
	r.addTunnelCount(t, 1, dataplane.TunnelCounters{TX: dataplane.Counter{Packets: 2, Bytes: 1400}})
	waitLine("interfaces/interface/tunnel-1/state/counters/out-octets, 1400")
}
