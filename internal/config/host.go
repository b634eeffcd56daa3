package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CheckBPFFS makes sure dir is (or would be created) on a bpf filesystem: pins
// anywhere else fail, and a bpffs that is not the one the next start sees
// (e.g. one mounted inside `ip netns exec`) would lose the data path. The
// agent checks it at start, Validate with ValidateOptions.Host.
func CheckBPFFS(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		var st unix.Statfs_t
		err := unix.Statfs(d, &st)
		if errors.Is(err, os.ErrNotExist) && d != "/" {
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", d, err)
		}
		if st.Type != unix.BPF_FS_MAGIC {
			return fmt.Errorf("%s is not on a bpf filesystem (mount one: mount -t bpf bpf /sys/fs/bpf)", dir)
		}
		return nil
	}
}

// CheckStateDir makes sure dir is a directory this process can write, or
// that it can create it: what the agent's start (journal.Open) needs.
func CheckStateDir(dir string) error {
	for d := dir; ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if (errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENOTDIR)) && d != "/" {
			continue
		}
		if err != nil {
			return err
		}
		what := "it"
		if d != dir {
			what = "it cannot be created: " + d
		}
		if !st.IsDir() {
			if d == dir {
				return fmt.Errorf("%s is a file, not a directory", dir)
			}
			return fmt.Errorf("%s is a file, not a directory", what)
		}
		if err := unix.Access(d, unix.W_OK|unix.X_OK); err != nil {
			return fmt.Errorf("%s is not writable by uid %d: %v", what, os.Getuid(), err)
		}
		return nil
	}
}
