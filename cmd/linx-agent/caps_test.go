package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/internal/testenv"
)

// The unprivileged identity the agent runs as in TestCapabilities, like the
// unit's User=linx: nobody.
const capsUID = 65534

// unitFile is the systemd unit whose capabilities TestCapabilities proves.
const unitFile = "../../deploy/linx-agent.service"

// TestUnitCapabilities checks that the unit grants exactly the capabilities
// the agent needs (the list TestCapabilities proves), as both its bounding set
// and its ambient set.
func TestUnitCapabilities(t *testing.T) {
	var want []string
	for _, c := range requiredCapabilities {
		want = append(want, c.name)
	}
	slices.Sort(want)
	f, err := os.Open(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if ok && (k == "CapabilityBoundingSet" || k == "AmbientCapabilities") {
			caps := strings.Fields(v)
			slices.Sort(caps)
			got[k] = append(got[k], caps...)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"CapabilityBoundingSet", "AmbientCapabilities"} {
		if !slices.Equal(got[k], want) {
			t.Errorf("%s: %s=%s, want %s (the capabilities TestCapabilities proves)", unitFile, k,
				strings.Join(got[k], " "), strings.Join(want, " "))
		}
	}
	for _, l := range []string{"Type=notify", "User=linx", "NoNewPrivileges=yes"} {
		if !strings.Contains(readFile(t, unitFile), "\n"+l+"\n") {
			t.Errorf("%s lacks %s", unitFile, l)
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// capsRig is a network namespace with a veth pair for the agent to attach
// to, a private bpf filesystem for its pins, its state directory and a
// notify socket standing in for systemd's, all accessible to capsUID.
type capsRig struct {
	ns     *testenv.NS
	dir    string // 0755, root's: binary, configuration
	bin    string
	config string
	bpffs  string
	notify *net.UnixConn
}

func newCapsRig(t *testing.T) *capsRig {
	t.Helper()
	testenv.RequireRoot(t)
	r := &capsRig{ns: testenv.NewNS(t)}
	testenv.Veth(t, r.ns, "lan0", r.ns, "wan0")
	testenv.SetSysctl(t, r.ns, "net.ipv4.conf.lan0.accept_local", "0")

	// The test's own temporary directories are root's with mode 0700.
	dir, err := os.MkdirTemp("", "linx-caps-")
	check(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	check(t, os.Chmod(dir, 0o755))
	r.dir = dir
	r.bin = filepath.Join(dir, "linx-agent")
	check(t, copyFile(agentBinary(t), r.bin, 0o755))
	state := filepath.Join(dir, "state")
	check(t, os.Mkdir(state, 0o700))
	check(t, os.Chown(state, capsUID, capsUID))
	// bpffs_dir on a bpf filesystem of the test's own, owned by the agent's
	// user as the unit's ExecStartPre makes /sys/fs/bpf/linx.
	r.bpffs = filepath.Join(dir, "bpffs")
	check(t, os.Mkdir(r.bpffs, 0o755))
	if err := unix.Mount("bpf", r.bpffs, "bpf", 0, "mode=0755"); err != nil {
		testenv.SkipOrFail(t, "mount a bpf filesystem: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(r.bpffs, unix.MNT_DETACH) })
	pins := filepath.Join(r.bpffs, "linx")
	check(t, os.Mkdir(pins, 0o700))
	check(t, os.Chown(pins, capsUID, capsUID))

	r.config = filepath.Join(dir, "linx.yaml")
	check(t, os.WriteFile(r.config, fmt.Appendf(nil, `device: {id: 1, name: caps-test}
interfaces:
  - {name: lan0, role: lan, port: 1}
  - {name: wan0, role: wan, port: 2}
grpc: {listen: "127.0.0.1:9559", insecure: true, shutdown_grace: 1s}
bpffs_dir: %s
state_dir: %s
metrics: {listen: "127.0.0.1:9560"}
log: {level: info, format: json}
`, pins, state), 0o644))

	// systemd's notify socket is writable by every service user.
	sock := filepath.Join(dir, "notify")
	r.notify, err = net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	check(t, err)
	t.Cleanup(func() { r.notify.Close() })
	check(t, os.Chmod(sock, 0o777))
	return r
}

func copyFile(from, to string, mode os.FileMode) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, mode)
}

// capsAgent is linx-agent running in the rig as capsUID with only some
// capabilities.
type capsAgent struct {
	cmd    *exec.Cmd
	log    *syncBuffer
	exited chan error
	err    error // once exited is drained
	done   bool
}

// start runs the agent in the rig's namespace through setpriv, which does
// what the unit's User=, AmbientCapabilities=, CapabilityBoundingSet= and
// NoNewPrivileges= do: switch to capsUID keeping caps (names as setpriv
// spells them: "net_admin") and only them.
func (r *capsRig) start(t *testing.T, caps []string) *capsAgent {
	t.Helper()
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		testenv.SkipOrFail(t, "setpriv (util-linux) drops the capabilities: %v", err)
	}
	set := "-all"
	for _, c := range caps {
		set += ",+" + c
	}
	id := strconv.Itoa(capsUID)
	cmd := exec.Command(setpriv, "--reuid="+id, "--regid="+id, "--clear-groups", "--no-new-privs",
		"--inh-caps="+set, "--ambient-caps="+set, "--bounding-set="+set,
		"--", r.bin, "-c", r.config)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+r.notify.LocalAddr().String())
	a := &capsAgent{cmd: cmd, log: &syncBuffer{}, exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = a.log, a.log
	// The fork happens on Do's thread, inside the namespace; setpriv execs
	// the agent, so cmd.Process is the agent.
	if err := r.ns.Do(cmd.Start); err != nil {
		t.Fatal(err)
	}
	go func() { a.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if !a.done {
			cmd.Process.Kill() // our child only, by pid
			<-a.exited
		}
	})
	return a
}

// wait waits up to d for the agent to exit and returns its exit code, or -1.
func (a *capsAgent) wait(d time.Duration) int {
	if !a.done {
		select {
		case a.err = <-a.exited:
			a.done = true
		case <-time.After(d):
			return -1
		}
	}
	if a.err == nil {
		return 0
	}
	if ee, ok := a.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// notification waits for the next sd_notify datagram.
func (r *capsRig) notification(t *testing.T, a *capsAgent, d time.Duration) string {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		r.notify.SetReadDeadline(time.Now().Add(d))
		buf := make([]byte, 4096)
		n, err := r.notify.Read(buf)
		if err != nil {
			got <- ""
			return
		}
		got <- string(buf[:n])
	}()
	select {
	case s := <-got:
		if s == "" {
			t.Fatalf("no notification within %v\n%s", d, a.log)
		}
		return s
	case err := <-a.exited:
		a.err, a.done = err, true
		t.Fatalf("linx-agent exited (%v) before notifying\n%s", err, a.log)
	}
	return ""
}

// xdpAttached reports whether ifname in the rig has an XDP program.
func (r *capsRig) xdpAttached(t *testing.T, ifname string) bool {
	t.Helper()
	l := testenv.Link(t, r.ns, ifname)
	return l.Attrs().Xdp != nil && l.Attrs().Xdp.Attached
}

// procCaps returns the capability sets and uid of a process from
// /proc/PID/status.
func procCaps(t *testing.T, pid int) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, l := range strings.Split(readFile(t, fmt.Sprintf("/proc/%d/status", pid)), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && (strings.HasPrefix(k, "Cap") || k == "Uid") {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// setprivNames are the required capabilities as setpriv spells them.
func setprivNames() []string {
	var out []string
	for _, c := range requiredCapabilities {
		out = append(out, strings.ToLower(strings.TrimPrefix(c.name, "CAP_")))
	}
	return out
}

// TestCapabilities runs the XDP agent as an unprivileged user with only the
// documented capabilities (requiredCapabilities, which the unit grants): it
// must load the data path, attach XDP to both ports, set accept_local,
// notify readiness, serve gRPC and metrics, and stop cleanly on SIGTERM,
// detaching. Then, without each one of those capabilities in turn, it must
// fail to start, exit 1 and name the missing capability.
func TestCapabilities(t *testing.T) {
	r := newCapsRig(t)
	caps := setprivNames()

	t.Run("documented", func(t *testing.T) {
		a := r.start(t, caps)
		ready := r.notification(t, a, 60*time.Second)
		if want := "READY=1\nSTATUS=serving P4Runtime, gNMI and gNOI on 127.0.0.1:9559"; ready != want {
			t.Errorf("notification %q, want %q", ready, want)
		}
		var mask uint64
		for _, c := range requiredCapabilities {
			mask |= 1 << c.bit
		}
		pc := procCaps(t, a.cmd.Process.Pid)
		want := fmt.Sprintf("%016x", mask)
		for _, k := range []string{"CapEff", "CapPrm", "CapAmb", "CapBnd"} {
			if pc[k] != want {
				t.Errorf("%s %s, want %s (%v only)", k, pc[k], want, caps)
			}
		}
		if uid := strings.Fields(pc["Uid"]); len(uid) == 0 || uid[1] != strconv.Itoa(capsUID) {
			t.Errorf("Uid %q, want %d", pc["Uid"], capsUID)
		}
		for _, ifname := range []string{"lan0", "wan0"} {
			if !r.xdpAttached(t, ifname) {
				t.Errorf("%s: no XDP program attached", ifname)
			}
		}
		if v, err := testenv.Sysctl(r.ns, "net.ipv4.conf.lan0.accept_local"); v != "1" {
			t.Errorf("accept_local on lan0 is %q (%v), want 1", v, err)
		}

		// gRPC and the metrics endpoint, from inside the namespace.
		dial := func(ctx context.Context, addr string) (net.Conn, error) {
			return testenv.DialTCP(r.ns, addr, 5*time.Second)
		}
		conn, err := grpc.NewClient("passthrough:///127.0.0.1:9559",
			grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithContextDialer(dial))
		check(t, err)
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := p4v1.NewP4RuntimeClient(conn).Capabilities(ctx, &p4v1.CapabilitiesRequest{}); err != nil {
			t.Errorf("Capabilities: %v", err)
		}
		hc := http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, addr string) (net.Conn, error) { return dial(ctx, addr) }}}
		get := func(path string) (int, string) {
			resp, err := hc.Get("http://127.0.0.1:9560" + path)
			if err != nil {
				t.Errorf("GET %s: %v", path, err)
				return 0, ""
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		if code, body := get("/readyz"); code != 200 {
			t.Errorf("/readyz: %d %q", code, body)
		}
		code, body := get("/metrics")
		for _, s := range []string{
			`linx_port_rx_packets_total{interface="lan0",port="1",role="lan"} `,
			`linx_drops_total{reason="policy"} 0`,
			`linx_metrics_read_errors_total 0`,
		} {
			if code != 200 || !strings.Contains(body, s) {
				t.Errorf("/metrics (%d) lacks %s", code, s)
			}
		}

		check(t, a.cmd.Process.Signal(syscall.SIGTERM))
		if s := r.notification(t, a, 20*time.Second); !strings.HasPrefix(s, "STOPPING=1") {
			t.Errorf("notification on SIGTERM %q, want STOPPING=1", s)
		}
		if code := a.wait(30 * time.Second); code != 0 {
			t.Fatalf("exit code %d on SIGTERM, want 0\n%s", code, a.log)
		}
		for _, ifname := range []string{"lan0", "wan0"} {
			if r.xdpAttached(t, ifname) {
				t.Errorf("%s: XDP still attached after a clean stop", ifname)
			}
		}
		if t.Failed() {
			t.Logf("log:\n%s", a.log)
		}
	})
	if t.Failed() {
		return // each capability is shown necessary once the set is shown sufficient
	}

	for i, c := range requiredCapabilities {
		t.Run("without "+c.name, func(t *testing.T) {
			a := r.start(t, slices.Delete(slices.Clone(caps), i, i+1))
			code := a.wait(60 * time.Second)
			if code != 1 {
				t.Fatalf("exit code %d without %s, want 1\n%s", code, c.name, a.log)
			}
			log := a.log.String()
			for _, s := range []string{`"msg":"linx-agent stopped"`, `"missing_capabilities":["` + c.name + `"]`} {
				if !strings.Contains(log, s) {
					t.Errorf("log lacks %s:\n%s", s, log)
				}
			}
			for _, ifname := range []string{"lan0", "wan0"} {
				if r.xdpAttached(t, ifname) {
					t.Errorf("%s: XDP attached by an agent that failed to start", ifname)
				}
			}
			t.Logf("without %s: %s", c.name, firstLine(errorOf(log)))
		})
	}
}

// errorOf is the "error" of the agent's "linx-agent stopped" line.
func errorOf(log string) string {
	_, rest, ok := strings.Cut(log, `"error":"`)
	if !ok {
		return ""
	}
	e, _, _ := strings.Cut(rest, `","`)
	return e
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, `\n`)
	return l
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
