package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// problemsOf validates the YAML text with o and returns every problem.
func problemsOf(t *testing.T, yaml string, o ValidateOptions) Problems {
	t.Helper()
	c, err := Parse([]byte(yaml))
	if c == nil {
		t.Fatalf("parse: %v", err)
	}
	o.LookupInterface, o.Now = fakeLookup, testNow
	var ps Problems
	if err := c.Validate(o); err != nil && !errors.As(err, &ps) {
		t.Fatalf("error is %T: %v", err, err)
	}
	return ps
}

func wantProblem(t *testing.T, ps Problems, want string) {
	t.Helper()
	for _, p := range ps {
		if strings.Contains(p.Error(), want) {
			return
		}
	}
	t.Errorf("no problem contains %q; got:\n%v", want, ps)
}

// TestHostChecks: with ValidateOptions.Host, validate checks the file systems
// the agent's start needs, naming key and line, as the start would fail.
func TestHostChecks(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	yaml := "grpc:\n  insecure: true\nbpffs_dir: " + dir + "/pins\nstate_dir: " + file + "\n"
	ps := problemsOf(t, yaml, ValidateOptions{Host: true})
	wantProblem(t, ps, "bpffs_dir (line 3): "+dir+"/pins is not on a bpf filesystem")
	wantProblem(t, ps, "state_dir (line 4): "+file+" is a file, not a directory")

	// A state_dir under a file cannot be created.
	ps = problemsOf(t, "grpc:\n  insecure: true\nstate_dir: "+file+"/state\n", ValidateOptions{Host: true})
	wantProblem(t, ps, "state_dir (line 3): it cannot be created: "+file+" is a file, not a directory")

	// Without Host (validating a file for another machine), none of this.
	if ps := problemsOf(t, yaml, ValidateOptions{}); len(ps) != 0 {
		t.Errorf("without Host: %v", ps)
	}

	// Pins: what the agent could not take over is reported under bpffs_dir.
	if _, err := os.Stat("/sys/fs/bpf"); err == nil && CheckBPFFS("/sys/fs/bpf") == nil {
		pins := func(*Config) error { return errors.New("pinned data path is incompatible") }
		ps = problemsOf(t, "grpc:\n  insecure: true\nbpffs_dir: /sys/fs/bpf/linx-validate-test\nstate_dir: "+dir+"\n",
			ValidateOptions{Host: true, Pins: pins})
		wantProblem(t, ps, "bpffs_dir (line 3): pinned data path is incompatible")
	}
}

// TestStateDirNotWritable: a state_dir this user cannot write is reported (root
// writes everywhere: the check is for the agent's unprivileged user).
func TestStateDirNotWritable(t *testing.T) {
	if os.Getuid() == 0 {
		t.Skip("root can write any directory: nothing to refuse")
	}
	dir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	ps := problemsOf(t, "grpc:\n  insecure: true\nstate_dir: "+dir+"\n", ValidateOptions{Host: true})
	wantProblem(t, ps, "state_dir (line 3): it is not writable by uid")
}

// TestSyntaxErrorInLargeFile: the line of a syntax error at the end of a 1 MB
// file is found without reparsing the file once per line (which took minutes).
func TestSyntaxErrorInLargeFile(t *testing.T) {
	var b strings.Builder
	b.WriteString("grpc:\n  insecure: true\ntunnel_addresses:\n")
	var l strings.Builder
	l.WriteString("  - {")
	for i := 0; l.Len() < 215; i++ {
		fmt.Fprintf(&l, "k%d: v, ", i)
	}
	line := l.String() + "end: v}\n"
	lines := 3
	for b.Len() < 1<<20 {
		b.WriteString(line)
		lines++
	}
	b.WriteString("interfaces:\n  - {name: lan, role: lan, port: 1\n")
	done := make(chan error, 1)
	go func() { _, err := Parse([]byte(b.String())); done <- err }()
	select {
	case err := <-done:
		var ps Problems
		if !errors.As(err, &ps) || len(ps) != 1 {
			t.Fatalf("want one syntax problem, got %v", err)
		}
		if ps[0].Origin == "" || !strings.HasPrefix(ps[0].Msg, "YAML syntax") {
			t.Errorf("problem %v has no line", ps[0])
		}
		t.Logf("%v (file of %d lines)", ps[0], lines+2)
	case <-time.After(30 * time.Second):
		t.Fatal("a syntax error at the end of a 1 MB file took more than 30 s to report")
	}
}
