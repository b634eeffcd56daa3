package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/linx-sdwan/linx/internal/testenv"
)

const testdata = "../../internal/config/testdata"

// agentBinary is the linx-agent built from this tree.
func agentBinary(t *testing.T) string {
	t.Helper()
	return testenv.LinxAgent(t)
}

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.RemoveBinaries()
	os.Exit(code)
}

// agent runs the binary to completion and returns its exit code and output.
func agent(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(agentBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatal(err)
	}
	return code, o.String(), e.String()
}

func TestValidateCommand(t *testing.T) {
	for _, c := range []struct {
		name         string
		args         []string
		code         int
		stdout       string
		stderrHas    []string
		stderrNumber int // lines on stderr, when > 0
	}{
		{
			name: "example", args: []string{"validate", "-skip-interfaces", "-c", "../../examples/gateway-a.yaml"},
			stdout: "../../examples/gateway-a.yaml: ok\n",
		},
		{
			name: "example-b", args: []string{"validate", "-c", "../../examples/gateway-b.yaml", "-skip-interfaces"},
			stdout: "../../examples/gateway-b.yaml: ok\n",
		},
		{
			name: "no interfaces to check", args: []string{"validate", "-c", testdata + "/good/minimal.yaml"},
			stdout: testdata + "/good/minimal.yaml: ok\n",
		},
		{
			// This host has no interface wan1 (the lab's are in namespaces).
			name: "interfaces checked", args: []string{"validate", "-c", testdata + "/good/nulls-and-anchors.yaml"},
			code:      1,
			stderrHas: []string{testdata + `/good/nulls-and-anchors.yaml: interfaces[0].name (line 5): no interface "wan1" in this network namespace`},
		},
		{
			name: "bad", args: []string{"validate", "-skip-interfaces", "-c", testdata + "/bad/bad-port.yaml"},
			code: 1,
			stderrHas: []string{
				testdata + "/bad/bad-port.yaml: interfaces[0].port (line 8): 64 is outside 1..63 (tables.ports is 64)\n" +
					testdata + "/bad/bad-port.yaml: interfaces[1].port (line 11): 0 is outside 1..63 (tables.ports is 64)\n",
			},
			stderrNumber: 4,
		},
		{
			name: "syntax", args: []string{"validate", "-c", testdata + "/bad/syntax.yaml"},
			code:      1,
			stderrHas: []string{testdata + "/bad/syntax.yaml: line 4: YAML syntax: did not find expected key\n"},
		},
		{
			name: "no file", args: []string{"validate", "-c", testdata + "/nope.yaml"},
			code:      1,
			stderrHas: []string{"nope.yaml: open " + testdata + "/nope.yaml: no such file or directory"},
		},
		{name: "no -c", args: []string{"validate"}, code: 2, stderrHas: []string{"usage: linx-agent validate -c FILE"}},
		{name: "extra argument", args: []string{"validate", "-c", "x.yaml", "y.yaml"}, code: 2, stderrHas: []string{"usage:"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := agent(t, c.args...)
			if code != c.code {
				t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, c.code, stdout, stderr)
			}
			if stdout != c.stdout {
				t.Errorf("stdout %q, want %q", stdout, c.stdout)
			}
			for _, s := range c.stderrHas {
				if !strings.Contains(stderr, s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr)
				}
			}
			if n := strings.Count(stderr, "\n"); c.stderrNumber > 0 && n != c.stderrNumber {
				t.Errorf("stderr has %d lines, want %d:\n%s", n, c.stderrNumber, stderr)
			}
		})
	}
}

// TestRunRejects checks that the agent refuses to start on a bad configuration,
// naming the key and where its value came from.
func TestRunRejects(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"no transport", []string{"-memory-dataplane"},
			"linx-agent: grpc: set tls (cert and key) to serve gRPC over TLS, or insecure: true (flag -insecure) to serve plaintext explicitly\n"},
		{"bad flag value", []string{"-insecure", "-memory-dataplane", "-log-level", "verbose", "-listen", "here"},
			"linx-agent: grpc.listen (flag -listen): \"here\" is not host:port (write IPv6 hosts in brackets: [::1]:9559)\n" +
				"linx-agent: log.level (flag -log-level): \"verbose\" is not debug, info, warn or error\n"},
		{"ports", []string{"-insecure", "-memory-dataplane", "-port", "lan=1:lan", "-port", "wan1=1:wan"},
			"linx-agent: interfaces[1].port (flag -port): 1 is already used by interfaces[0].port (flag -port)\n"},
		{"file", []string{"-c", testdata + "/bad/duplicate-port.yaml", "-memory-dataplane"},
			testdata + "/bad/duplicate-port.yaml: interfaces[1].port (line 12): 2 is already used by interfaces[0].port (line 8)\n"},
		{"missing interface", []string{"-insecure", "-port", "linxnope0=1:lan"},
			"linx-agent: interfaces[0].name (flag -port): no interface \"linxnope0\" in this network namespace\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := agent(t, c.args...)
			if code != 1 || stdout != "" || stderr != c.want {
				t.Errorf("exit %d, stdout %q, stderr\n%s\nwant exit 1, stderr\n%s", code, stdout, stderr, c.want)
			}
		})
	}
	if code, _, stderr := agent(t, "-port", "lan"); code != 2 || !strings.Contains(stderr, `invalid value "lan" for flag -port: want name=port:role[:generic], got "lan"`) {
		t.Errorf("bad -port: exit %d, stderr %s", code, stderr)
	}
	// The range of -port is the configuration's (tables.ports), not 16 bits.
	if code, _, stderr := agent(t, "-insecure", "-memory-dataplane", "-port", "lan=600:lan"); code != 1 ||
		stderr != "linx-agent: interfaces[0].port (flag -port): 600 is outside 1..511 (tables.ports is 512)\n" {
		t.Errorf("-port lan=600: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := agent(t, "-port", "lan=x:lan"); code != 2 || !strings.Contains(stderr, `invalid value "lan=x:lan" for flag -port: lan: port "x" is not a number`) {
		t.Errorf("-port lan=x: exit %d, stderr %s", code, stderr)
	}
}

func freeAddr(t *testing.T) string { return testenv.FreeLoopbackAddr(t) }

// start runs the agent in the background until the test ends (then SIGTERM,
// which must stop it cleanly), and returns its address and its log.
func start(t *testing.T, args ...string) (addr string, log *syncBuffer) {
	t.Helper()
	addr = freeAddr(t)
	cmd := exec.Command(agentBinary(t), append(args, "-listen", addr)...)
	log = &syncBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// exited is closed once the agent is gone, waitErr then says how: both the
	// start-up loop and the cleanup may wait for it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
			if waitErr != nil && !t.Failed() { // an agent that never started has nothing to say about SIGTERM
				t.Errorf("linx-agent exited with %v on SIGTERM\n%s", waitErr, log)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("linx-agent (pid %d) did not stop on SIGTERM; killing it", cmd.Process.Pid)
			cmd.Process.Kill()
			<-exited
		}
	})
	end := time.Now().Add(20 * time.Second)
	for !strings.Contains(log.String(), "serving P4Runtime") {
		select {
		case <-exited:
			t.Fatalf("linx-agent exited: %v\n%s", waitErr, log)
		default:
		}
		if time.Now().After(end) {
			t.Fatalf("linx-agent is not serving after 20s\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr, log
}

func capabilities(addr string, creds credentials.TransportCredentials) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = p4v1.NewP4RuntimeClient(conn).Capabilities(ctx, &p4v1.CapabilitiesRequest{})
	return err
}

// TestRunExample runs the agent on an example file with the in-memory data
// path and the flags overriding the file.
func TestRunExample(t *testing.T) {
	addr, log := start(t, "-c", "../../examples/gateway-b.yaml", "-memory-dataplane", "-log-format", "console", "-device-id", "9")
	if err := capabilities(addr, insecure.NewCredentials()); err != nil {
		t.Fatalf("Capabilities: %v\n%s", err, log)
	}
	for _, s := range []string{`"interface": "wan2", "port": 3, "role": "wan"`, `"device_id": 9`, `"device_name": "gw-b"`, `"tunnel_addresses": "172.16.3.1,172.16.4.1"`} {
		if !strings.Contains(log.String(), s) {
			t.Errorf("log lacks %s:\n%s", s, log)
		}
	}
}

// TestRunTLS runs the agent with TLS and client certificates: a client with a
// certificate of the client CA gets in, one without does not.
func TestRunTLS(t *testing.T) {
	// The file's metrics.listen is a fixed port: the flag moves it to a free one.
	addr, log := start(t, "-c", testdata+"/good/full.yaml", "-memory-dataplane", "-metrics-listen", freeAddr(t))
	ca, err := os.ReadFile(testdata + "/tls/ca.pem")
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	cert, err := tls.LoadX509KeyPair(testdata+"/tls/client.pem", testdata+"/tls/client.key")
	if err != nil {
		t.Fatal(err)
	}
	with := credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}})
	if err := capabilities(addr, with); err != nil {
		t.Errorf("with a client certificate: %v\n%s", err, log)
	}
	without := credentials.NewTLS(&tls.Config{RootCAs: pool})
	if err := capabilities(addr, without); err == nil {
		t.Errorf("without a client certificate: served")
	}
	if err := capabilities(addr, insecure.NewCredentials()); err == nil {
		t.Errorf("plaintext: served")
	}
	if !strings.Contains(log.String(), `"per_pdr": false`) || !strings.Contains(log.String(), "serving metrics") {
		t.Errorf("metrics endpoint not started:\n%s", log)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestValidateIsTheStartPath: what the agent's start refuses (bpffs_dir not on
// a bpf filesystem, state_dir a file, metrics on the gRPC address once
// resolved), validate refuses too, with the same key and line; -skip-host
// checks the file alone.
func TestValidateIsTheStartPath(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "state")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "agent.yaml")
	yaml := "grpc:\n  insecure: true\n  listen: 127.0.0.1:19559\n" +
		"bpffs_dir: " + dir + "/pins\nstate_dir: " + file + "\nmetrics:\n  listen: localhost:019559\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{
		cfg + ": bpffs_dir (line 4): " + dir + "/pins is not on a bpf filesystem",
		cfg + ": state_dir (line 5): " + file + " is a file, not a directory",
		cfg + `: metrics.listen (line 7): "localhost:019559" overlaps grpc.listen (line 3) "127.0.0.1:19559"`,
	}
	for _, args := range [][]string{{"validate", "-c", cfg}, {"-c", cfg}} {
		code, _, stderr := agent(t, args...)
		if code != 1 {
			t.Errorf("%v: exit code %d, want 1\n%s", args, code, stderr)
		}
		for _, w := range want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", args, w, stderr)
			}
		}
	}
	code, _, stderr := agent(t, "validate", "-skip-host", "-c", cfg)
	if code != 1 || strings.Contains(stderr, "bpffs_dir") || strings.Contains(stderr, "state_dir") || !strings.Contains(stderr, want[2]) {
		t.Errorf("-skip-host: exit %d, want 1 with the metrics problem only:\n%s", code, stderr)
	}
}

// TestVersion: -version (and --version) prints the build's version and exits
// 0; the revision comes from Go's VCS stamp, or from `make build`'s -X where
// Go cannot stamp (a git worktree).
func TestVersion(t *testing.T) {
	want := regexp.MustCompile(`^linx-agent \S+ revision \S+.* go1\.\d+`)
	for _, arg := range []string{"-version", "--version"} {
		code, stdout, stderr := agent(t, arg)
		if code != 0 || !want.MatchString(stdout) || stderr != "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 0 and %s", arg, code, stdout, stderr, want)
		}
	}
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-03T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, w := versionString(bi, true), "linx-agent v1.2.3 revision 0123abcd+dirty 2026-12-03T10:00:00Z go1.26.8"; got != w {
		t.Errorf("stamped: %q, want %q", got, w)
	}

	// What make build does.
	git, err := exec.LookPath("git")
	if err != nil {
		testenv.SkipOrFail(t, "no git to compare the revision with: %v", err)
	}
	head, err := exec.Command(git, "rev-parse", "HEAD").Output()
	if err != nil {
		testenv.SkipOrFail(t, "not a git checkout: %v", err)
	}
	rev := strings.TrimSpace(string(head))
	bin := filepath.Join(t.TempDir(), "linx-agent")
	if out, err := exec.Command("go", "build", "-ldflags", "-X main.revision="+rev, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.Contains(string(out), " revision "+rev) {
		t.Errorf("--version of a build like make's: %q (%v), want revision %s", out, err, rev)
	}
}

// TestHelp: the usage names every subcommand.
func TestHelp(t *testing.T) {
	code, _, stderr := agent(t, "--help")
	for _, s := range []string{"linx-agent validate -c FILE", "linx-agent takeover-check -c FILE", "-version"} {
		if code != 0 || !strings.Contains(stderr, s) {
			t.Errorf("--help: exit %d, usage lacks %q:\n%s", code, s, stderr)
		}
	}
}

// TestDocsStayInRepo: the documentation links only to what the repository
// holds: no path out of it (../shared/… was a workspace of its authors), and
// every relative Markdown link names a file that exists.
func TestDocsStayInRepo(t *testing.T) {
	files, err := filepath.Glob("../../docs/*.md")
	check(t, err)
	files = append(files, "../../README.md")
	link := regexp.MustCompile(`\]\(([^)#:]+)(#[^)]*)?\)`)
	for _, f := range files {
		text := readFile(t, f)
		if i := strings.Index(text, "../shared"); i >= 0 {
			t.Errorf("%s refers to ../shared, outside the repository: %q", f, text[i:min(len(text), i+60)])
		}
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := filepath.Join(filepath.Dir(f), m[1])
			if rel, err := filepath.Rel("../..", target); err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links to %s, outside the repository", f, m[1])
			} else if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links to %s, which does not exist", f, m[1])
			}
		}
	}
}
