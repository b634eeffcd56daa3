package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"

	"github.com/linx-sdwan/linx/internal/testenv"
)

// portsRig is a namespace with two ports for the agent: lan0, whose veth peer
// h0 is in another namespace with neither XDP nor GRO (redirected frames into
// lan0 would be dropped), and wan0, whose peer wanp (same namespace) has GRO
// on. Forwarding is off everywhere, as in any new namespace.
type portsRig struct {
	ns, peerNS *testenv.NS
	dir        string
	config     string
}

func newPortsRig(t *testing.T) *portsRig {
	t.Helper()
	testenv.RequireRoot(t)
	r := &portsRig{ns: testenv.NewNS(t), peerNS: testenv.NewNS(t), dir: t.TempDir()}
	testenv.Veth(t, r.ns, "lan0", r.peerNS, "h0")
	testenv.Veth(t, r.ns, "wan0", r.ns, "wanp")
	testenv.SetGRO(t, r.peerNS, "h0", false)
	testenv.SetGRO(t, r.ns, "wanp", true)
	for _, k := range []string{"net.ipv4.ip_forward", "net.ipv4.conf.lan0.forwarding", "net.ipv4.conf.wan0.forwarding"} {
		if v, err := testenv.Sysctl(r.ns, k); v != "0" {
			t.Fatalf("%s is %q (%v) in a new namespace, want 0", k, v, err)
		}
	}
	r.config = r.writeConfig(t, "a")
	return r
}

// writeConfig writes a configuration of the rig's two ports with its own
// state directory and gRPC port (the namespace's loopback).
func (r *portsRig) writeConfig(t *testing.T, name string) string {
	t.Helper()
	state := filepath.Join(r.dir, "state-"+name)
	port := map[string]int{"a": 9559, "b": 9569}[name]
	cfg := filepath.Join(r.dir, name+".yaml")
	check(t, os.WriteFile(cfg, fmt.Appendf(nil, `interfaces:
  - {name: lan0, role: lan, port: 1}
  - {name: wan0, role: wan, port: 2}
grpc: {listen: "127.0.0.1:%d", insecure: true, shutdown_grace: 1s}
state_dir: %s
log: {level: info, format: json}
`, port, state), 0o644))
	return cfg
}

// run runs the agent binary in the rig's namespace to completion.
func (r *portsRig) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(agentBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := r.ns.Do(cmd.Start); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

// startAgent runs the agent in the rig's namespace until the test ends
// (SIGTERM then, which must stop it cleanly), once it serves.
func (r *portsRig) startAgent(t *testing.T, cfg string) *syncBuffer {
	t.Helper()
	cmd := exec.Command(agentBinary(t), "-c", cfg)
	log := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := r.ns.Do(cmd.Start); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM) // our child, by pid
		select {
		case err := <-exited:
			if err != nil && !t.Failed() {
				t.Errorf("linx-agent exited with %v on SIGTERM\n%s", err, log)
			}
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("linx-agent did not stop on SIGTERM")
		}
	})
	for end := time.Now().Add(60 * time.Second); !strings.Contains(log.String(), "serving P4Runtime"); {
		select {
		case err := <-exited:
			t.Fatalf("linx-agent exited: %v\n%s", err, log)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("linx-agent is not serving after 60s\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return log
}

func (r *portsRig) sysctl(t *testing.T, key string) string {
	t.Helper()
	v, err := testenv.Sysctl(r.ns, key)
	check(t, err)
	return v
}

// TestPortTraps: with forwarding off (the kernel's default in a new
// namespace), validate warns that the agent will turn it on and changes
// nothing; the agent turns it on per port, logging each change, leaves the
// global ip_forward alone, and warns about lan0, whose veth peer in another
// namespace drops redirected frames; a second agent on the same ports is
// refused with the holder named.
func TestPortTraps(t *testing.T) {
	r := newPortsRig(t)

	code, stdout, stderr := r.run(t, "validate", "-c", r.config)
	if code != 0 || stdout != r.config+": ok\n" {
		t.Fatalf("validate: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	peerWarning := "veth peer h0 (ifindex "
	for _, w := range []string{
		r.config + ": warning: interfaces[0].name (line 2): net.ipv4.conf.lan0.forwarding is 0: the agent sets it to 1 when it starts",
		r.config + ": warning: interfaces[1].name (line 3): net.ipv4.conf.wan0.forwarding is 0: the agent sets it to 1 when it starts",
		r.config + ": warning: interfaces[0].name (line 2): " + peerWarning,
		"in network namespace " + r.peerNS.Name() + " has neither an XDP program nor GRO on: frames the pipeline redirects out of lan0 are dropped silently",
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("validate's stderr lacks %q:\n%s", w, stderr)
		}
	}
	if strings.Contains(stderr, "wanp") {
		t.Errorf("validate warns about wan0's peer, which has GRO on:\n%s", stderr)
	}
	if v := r.sysctl(t, "net.ipv4.conf.lan0.forwarding"); v != "0" {
		t.Errorf("validate changed net.ipv4.conf.lan0.forwarding to %s", v)
	}

	log := r.startAgent(t, r.config)
	for _, ifname := range []string{"lan0", "wan0"} {
		if v := r.sysctl(t, "net.ipv4.conf."+ifname+".forwarding"); v != "1" {
			t.Errorf("net.ipv4.conf.%s.forwarding is %s after the agent started, want 1", ifname, v)
		}
		want := `"msg":"enabled IPv4 forwarding on a port","interface":"` + ifname + `","sysctl":"net.ipv4.conf.` + ifname + `.forwarding","was":"0","now":"1"`
		if !strings.Contains(log.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, log)
		}
	}
	if v := r.sysctl(t, "net.ipv4.ip_forward"); v != "0" {
		t.Errorf("the agent changed net.ipv4.ip_forward to %s", v)
	}
	if !regexp.MustCompile(`"msg":"port may lose redirected frames","interface":"lan0","problem":"veth peer h0 \(ifindex \d+\) in network namespace ` +
		regexp.QuoteMeta(r.peerNS.Name())).MatchString(log.String()) {
		t.Errorf("log lacks the warning about lan0's peer:\n%s", log)
	}
	if strings.Count(log.String(), "port may lose redirected frames") != 1 {
		t.Errorf("want one veth warning (lan0's), got:\n%s", log)
	}

	// A second agent on the same ports: refused, naming the holder, before
	// it changes anything.
	second := r.writeConfig(t, "b")
	code, _, stderr = r.run(t, "-c", second)
	want := regexp.MustCompile(`interfaces\[0\]\.name \(line 2\): lan0 is held by XDP program id \d+ "linx_xdp" \(native\): linx's pipeline, attached by another linx-agent`)
	if code != 1 || !want.MatchString(stderr) {
		t.Errorf("second agent: exit %d, stderr\n%s\nwant exit 1 and %s", code, stderr, want)
	}
	code, _, stderr = r.run(t, "validate", "-c", second)
	if code != 1 || !want.MatchString(stderr) {
		t.Errorf("validate with the ports held: exit %d, stderr\n%s\nwant exit 1 and %s", code, stderr, want)
	}
}

// TestAttachBusyNamesHolder: when attaching XDP fails because another program
// holds the port (a race validate cannot see), the error names that program.
func TestAttachBusyNamesHolder(t *testing.T) {
	testenv.RequireRoot(t)
	ns := testenv.NewNS(t)
	testenv.Veth(t, ns, "x0", ns, "x1")
	prog := func(name string) *ebpf.Program {
		p, err := ebpf.NewProgram(&ebpf.ProgramSpec{Name: name, Type: ebpf.XDP, License: "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 2), asm.Return()}})
		check(t, err)
		t.Cleanup(func() { p.Close() })
		return p
	}
	holder, other := prog("someone_else"), prog("linx_xdp_test")
	var got error
	check(t, ns.Do(func() error {
		l := testenv.Link(t, ns, "x0")
		xl, err := link.AttachXDP(link.XDPOptions{Program: holder, Interface: l.Attrs().Index, Flags: link.XDPDriverMode})
		if err != nil {
			return err
		}
		defer xl.Close()
		_, err = link.AttachXDP(link.XDPOptions{Program: other, Interface: l.Attrs().Index, Flags: link.XDPDriverMode})
		if err == nil {
			return errors.New("a second XDP link on x0 was accepted")
		}
		got = attachError("x0", err)
		return nil
	}))
	want := regexp.MustCompile(`^attach x0: .*device or resource busy: held by XDP program id \d+ "someone_else" \(native\), not linx's; detach it \(ip link set dev x0 xdp off`)
	if !want.MatchString(got.Error()) {
		t.Errorf("error %q, want %s", got, want)
	}
}
