package demo

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netns"

	"github.com/linx-sdwan/linx/internal/config"
	"github.com/linx-sdwan/linx/internal/netlab"
)

// build finds the repository, builds linx-agent and linxctl into a temporary
// directory and prepares the agents' configurations there.
func (d *demo) build(ctx context.Context) error {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("the demo builds linx-agent and linxctl: %w", err)
	}
	if d.root == "" {
		out, err := exec.CommandContext(ctx, goTool, "env", "GOMOD").Output()
		if err != nil {
			return fmt.Errorf("go env GOMOD: %w", err)
		}
		mod := strings.TrimSpace(string(out))
		if mod == "" || mod == os.DevNull {
			return errors.New("run the demo inside the linx repository (no go.mod here)")
		}
		d.root = filepath.Dir(mod)
	}
	// The pid in the name lets a later run remove it if this one is killed.
	if d.tmp, err = os.MkdirTemp("", fmt.Sprintf("%s%d-", tmpPrefix, os.Getpid())); err != nil {
		return err
	}
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, goTool, "build", "-o", d.tmp+string(filepath.Separator), "./cmd/linx-agent", "./cmd/linxctl")
	cmd.Dir = d.root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	d.agentBin, d.ctlBin = filepath.Join(d.tmp, "linx-agent"), filepath.Join(d.tmp, "linxctl")
	d.say("  go build ./cmd/linx-agent ./cmd/linxctl into %s (%v)", d.tmp, time.Since(t0).Round(100*time.Millisecond))
	return nil
}

// agent is one linx-agent process, running in a gateway's namespace.
type agent struct {
	site     *site
	name     string // gw-a
	cfgPath  string
	logPath  string
	target   string // gRPC address inside the namespace
	deviceID uint64

	cmd    *exec.Cmd
	pid    int
	done   chan struct{} // closed when the process has exited and was reaped
	waited error         // its exit status, once done is closed
}

// stateDirLine is the example configurations' state_dir line.
var stateDirLine = regexp.MustCompile(`(?m)^state_dir:.*$`)

// prepareConfig copies examples/gateway-<site>.yaml into the temporary
// directory with state_dir pointed there (so nothing the agent might keep
// outlives the demo), and reads what the demo needs from it.
func (d *demo) prepareConfig(s *site) (*agent, error) {
	src := filepath.Join(d.root, "examples", "gateway-"+s.name+".yaml")
	data, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	if !stateDirLine.Match(data) {
		return nil, fmt.Errorf("%s: no state_dir line to point at the demo's directory", src)
	}
	state := filepath.Join(d.tmp, "state-"+s.gwName())
	data = stateDirLine.ReplaceAll(data, []byte("state_dir: "+state))
	if d.sla != "" {
		data = withSLA(data, d.sla)
	}
	a := &agent{site: s, name: s.gwName(), cfgPath: filepath.Join(d.tmp, "gateway-"+s.name+".yaml"),
		logPath: filepath.Join(d.tmp, s.gwName()+".log"), done: make(chan struct{})}
	if err := os.WriteFile(a.cfgPath, data, 0o644); err != nil {
		return nil, err
	}
	c, err := config.Load(a.cfgPath)
	if err == nil {
		err = c.Validate(config.ValidateOptions{})
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	switch {
	case c.BPFFSDir != "":
		return nil, fmt.Errorf("%s: bpffs_dir is %q: the demo runs agents that pin nothing", src, c.BPFFSDir)
	case !c.GRPC.Insecure:
		return nil, fmt.Errorf("%s: the demo's linxctl speaks plaintext gRPC: set grpc.insecure", src)
	case c.Device.Name != s.gwName():
		return nil, fmt.Errorf("%s: device.name is %q, want %q", src, c.Device.Name, s.gwName())
	}
	ap, err := netip.ParseAddrPort(c.GRPC.Listen)
	if err != nil || !ap.Addr().IsLoopback() {
		return nil, fmt.Errorf("%s: grpc.listen %q: the demo reaches the agent on the loopback of its namespace", src, c.GRPC.Listen)
	}
	a.target, a.deviceID = ap.String(), c.Device.ID
	return a, nil
}

// startAgents validates the configurations in the gateways' namespaces and
// starts an agent in each, waiting until both serve.
func (d *demo) startAgents(ctx context.Context) error {
	for _, s := range d.topo.sites() {
		a, err := d.prepareConfig(s)
		if err != nil {
			return err
		}
		out, err := d.run1(ctx, s.gw, d.agentBin, "validate", "-c", a.cfgPath)
		if err != nil {
			return fmt.Errorf("linx-agent validate in %s: %w\n%s", s.gw, err, out)
		}
		d.say("  %s$ linx-agent validate -c examples/gateway-%s.yaml  ->  %s", a.name, s.name, strings.TrimSpace(strings.TrimPrefix(string(out), d.tmp+"/")))
		if err := a.start(s.gw, d.agentBin); err != nil {
			return err
		}
		d.agents = append(d.agents, a)
	}
	for _, a := range d.agents {
		t0 := time.Now()
		if err := a.waitReady(ctx); err != nil {
			return err
		}
		d.say("  %s: linx-agent pid %d in %s serves P4Runtime on %s (device %d), up in %v",
			a.name, a.pid, a.site.gw, a.target, a.deviceID, time.Since(t0).Round(10*time.Millisecond))
	}
	for _, a := range d.agents {
		line, err := a.waitLog(ctx, "linkwatch: following ports", 5*time.Second)
		if err != nil {
			return err
		}
		d.say("  %s log: %s", a.name, line)
	}
	return nil
}

// run1 runs a short command inside ns and returns its combined output.
func (d *demo) run1(ctx context.Context, ns *netlab.NS, bin string, args ...string) ([]byte, error) {
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.Env = agentEnv()
	// The child inherits the namespace of the thread that forks it.
	if err := ns.Do(cmd.Start); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	return out.Bytes(), err
}

// agentEnv is the environment of the demo's processes: the demo's, without a
// systemd notification socket (the agents are not services of anyone's).
func agentEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "NOTIFY_SOCKET=") {
			env = append(env, kv)
		}
	}
	return env
}

// start runs the agent in ns. The process is forked from a goroutine whose
// thread is switched into ns and stays there, locked, until the process has
// been reaped; the thread is then discarded. The agent gets SIGKILL if that
// thread ends first (the demo itself killed), and its own process group, so
// a Ctrl-C on the terminal reaches only the demo, which stops the agents in
// order.
func (a *agent) start(ns *netlab.NS, bin string) error {
	logf, err := os.OpenFile(a.logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close() // the child has its own descriptor
	cmd := exec.Command(bin, "-c", a.cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = agentEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	a.cmd = cmd
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread leaves ns only by ending
		if err := netns.Set(ns.Handle()); err != nil {
			started <- fmt.Errorf("enter %s: %w", ns, err)
			return
		}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("start linx-agent in %s: %w", ns, err)
			return
		}
		started <- nil
		a.waited = cmd.Wait()
		close(a.done)
	}()
	if err := <-started; err != nil {
		return err
	}
	a.pid = cmd.Process.Pid
	return nil
}

// exited reports whether the process has ended.
func (a *agent) exited() bool {
	select {
	case <-a.done:
		return true
	default:
		return false
	}
}

// waitReady waits until the agent accepts connections on its gRPC port.
func (a *agent) waitReady(ctx context.Context) error {
	end := time.Now().Add(30 * time.Second)
	for {
		if a.exited() {
			return fmt.Errorf("%s: %w (%v) before serving; its log:\n%s", a.name, errAgentExited, a.waited, a.logTail(20))
		}
		c, err := netlab.DialTCP(a.site.gw, a.target, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("%s: not serving on %s after 30s: %v; its log:\n%s", a.name, a.target, err, a.logTail(20))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logLines returns the messages of the agent's log (JSON lines: their
// "msg"; other lines as they are) that contain substr.
func (a *agent) logLines(substr string) []string {
	f, err := os.Open(a.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		var m struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg != "" {
			line = m.Msg
		}
		if strings.Contains(line, substr) {
			out = append(out, line)
		}
	}
	return out
}

// logTail returns the last n lines of the agent's log, for error messages.
func (a *agent) logTail(n int) string {
	b, _ := os.ReadFile(a.logPath)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitLog waits until the log has a message containing substr beyond the
// first skip such messages, and returns it.
func (a *agent) waitLogAfter(ctx context.Context, substr string, skip int, timeout time.Duration) (string, error) {
	end := time.Now().Add(timeout)
	for {
		if ls := a.logLines(substr); len(ls) > skip {
			return ls[skip], nil
		}
		if a.exited() {
			return "", fmt.Errorf("%s: %w (%v); its log:\n%s", a.name, errAgentExited, a.waited, a.logTail(20))
		}
		if time.Now().After(end) {
			return "", fmt.Errorf("%s: no log message %q within %v; its log:\n%s", a.name, substr, timeout, a.logTail(20))
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// waitLog waits for the first message containing substr.
func (a *agent) waitLog(ctx context.Context, substr string, timeout time.Duration) (string, error) {
	return a.waitLogAfter(ctx, substr, 0, timeout)
}

// stop sends SIGTERM to the agent and waits for it to exit (it detaches its
// XDP programs); after grace it is killed. It reports what happened.
func (a *agent) stop(grace time.Duration) string {
	if a.cmd == nil || a.cmd.Process == nil {
		return "never started"
	}
	if a.exited() {
		return fmt.Sprintf("had already exited (%v)", a.waited)
	}
	t0 := time.Now()
	if err := a.cmd.Process.Signal(syscall.SIGTERM); err != nil && !a.exited() {
		return fmt.Sprintf("SIGTERM failed: %v", err)
	}
	select {
	case <-a.done:
		status := "exit status 0"
		if a.waited != nil {
			status = a.waited.Error()
		}
		return fmt.Sprintf("stopped on SIGTERM in %v (%s)", time.Since(t0).Round(time.Millisecond), status)
	case <-time.After(grace):
	}
	a.cmd.Process.Kill()
	select {
	case <-a.done:
		return fmt.Sprintf("did not stop within %v of SIGTERM: killed", grace)
	case <-time.After(5 * time.Second):
		return "did not die on SIGKILL"
	}
}

// ctl runs linxctl against agent a, inside a's namespace (the agent serves on
// the namespace's loopback), and returns its standard output.
func (d *demo) ctl(ctx context.Context, a *agent, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	full := append([]string{"--insecure", "--target", a.target, "--device-id", strconv.FormatUint(a.deviceID, 10)}, args...)
	cmd := exec.CommandContext(cctx, d.ctlBin, full...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = agentEnv()
	if err := a.site.gw.Do(cmd.Start); err != nil {
		return "", err
	}
	if err := cmd.Wait(); err != nil {
		return out.String(), fmt.Errorf("%s$ linxctl %s: %w\n%s%s", a.name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String(), nil
}
