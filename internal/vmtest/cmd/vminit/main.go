// Command vminit is the init (PID 1) of a kernel-matrix guest: it mounts the
// pseudo file systems, loads the modules listed in /modules.load (the test rigs'
// netlink library needs veth, xfrm_user and nfnetlink, which nothing autoloads in
// a bare initramfs), brings up lo, runs every /tests/*.test binary with
// LINX_REQUIRE_PRIV=1 and -test.v, and powers the machine off. A binary passes
// when it exits 0 having run at least one test and skipped none.
//
// For each binary it prints "vmtest: NAME: N passed, N failed, N skipped" and at
// the end one verdict line, "vmtest: RESULT PASS ..." or "vmtest: RESULT FAIL ...",
// which .ci/kernel-matrix reads from the serial console.
//
// Kernel command-line words of the form KEY=VALUE reach init as environment
// variables: VMTEST_RUN becomes -test.run, VMTEST_TIMEOUT -test.timeout.
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

const prefix = "vmtest: "

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "vminit: runs only as a guest's init (PID 1)")
		os.Exit(2)
	}
	ok := run()
	verdict := "FAIL"
	if ok {
		verdict = "PASS"
	}
	var u unix.Utsname
	_ = unix.Uname(&u)
	fmt.Printf("%sRESULT %s kernel=%s\n", prefix, verdict, unix.ByteSliceToString(u.Release[:]))
	unix.Sync()
	// Powering off ends qemu; if that fails, init exits and the kernel panics,
	// which ends qemu too (-no-reboot, panic=-1).
	if err := unix.Reboot(unix.LINUX_REBOOT_CMD_POWER_OFF); err != nil {
		fmt.Println(prefix+"power off:", err)
	}
	os.Exit(1)
}

func run() bool {
	if err := setup(); err != nil {
		fmt.Println(prefix+"setup:", err)
		return false
	}
	tests, err := filepath.Glob("/tests/*.test")
	if err != nil || len(tests) == 0 {
		fmt.Println(prefix+"no test binaries under /tests", err)
		return false
	}
	ok := true
	for _, t := range tests {
		if !runTest(t) {
			ok = false
		}
	}
	return ok
}

func setup() error {
	mounts := []struct{ src, dst, fstype string }{
		{"proc", "/proc", "proc"},
		{"sysfs", "/sys", "sysfs"},
		{"devtmpfs", "/dev", "devtmpfs"},
		{"tmpfs", "/tmp", "tmpfs"},
		{"tmpfs", "/run", "tmpfs"},
		{"bpffs", "/sys/fs/bpf", "bpf"},
	}
	for _, m := range mounts {
		if err := os.MkdirAll(m.dst, 0o755); err != nil {
			return err
		}
		if err := unix.Mount(m.src, m.dst, m.fstype, 0, ""); err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.fstype, m.dst, err)
		}
	}
	if err := loadModules("/modules.load"); err != nil {
		return err
	}
	return linkUp("lo")
}

func loadModules(list string) error {
	b, err := os.ReadFile(list)
	if err != nil {
		return err
	}
	for _, p := range strings.Fields(string(b)) {
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		err = unix.FinitModule(int(f.Fd()), "", 0)
		f.Close()
		if err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("load module %s: %w", p, err)
		}
	}
	return nil
}

func linkUp(name string) error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq(name)
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s flags: %w", name, err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

// runTest runs one test binary, echoing its output, and counts its top-level
// tests from the -test.v lines.
func runTest(bin string) bool {
	name := filepath.Base(bin)
	args := []string{"-test.v", "-test.count=1"}
	if r := os.Getenv("VMTEST_RUN"); r != "" {
		args = append(args, "-test.run="+r)
	}
	timeout := os.Getenv("VMTEST_TIMEOUT")
	if timeout == "" {
		timeout = "20m"
	}
	args = append(args, "-test.timeout="+timeout)
	cmd := exec.Command(bin, args...)
	cmd.Dir = "/tmp"
	cmd.Env = []string{"PATH=/tests", "HOME=/tmp", "TMPDIR=/tmp", "LINX_REQUIRE_PRIV=1"}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	fmt.Printf("%sstart %s %s\n", prefix, name, strings.Join(args, " "))
	if err := cmd.Start(); err != nil {
		fmt.Printf("%s%s: %v\n", prefix, name, err)
		return false
	}
	done := make(chan [3]int)
	go func() {
		var n [3]int // passed, failed, skipped
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Println(line)
			switch {
			case strings.HasPrefix(line, "--- PASS: "):
				n[0]++
			case strings.HasPrefix(line, "--- FAIL: "):
				n[1]++
			case strings.HasPrefix(line, "--- SKIP: "):
				n[2]++
			}
		}
		io.Copy(io.Discard, pr)
		done <- n
	}()
	err := cmd.Wait()
	pw.Close()
	n := <-done
	fmt.Printf("%s%s: %d passed, %d failed, %d skipped (%v)\n", prefix, name, n[0], n[1], n[2], exitText(err))
	// A skipped test proves nothing about this kernel: CI's rule (LINX_REQUIRE_PRIV=1)
	// holds here too.
	return err == nil && n[0] > 0 && n[1] == 0 && n[2] == 0
}

func exitText(err error) string {
	if err == nil {
		return "exit 0"
	}
	return err.Error()
}
