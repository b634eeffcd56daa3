// Command mkinitramfs packs an initramfs for a kernel-matrix run: the static
// init (as /init), the test binaries (under /tests), the kernel modules they need
// with their dependencies (under /lib/modules, load order in /modules.load) and
// the device nodes init needs before it mounts devtmpfs.
//
//	mkinitramfs -o initrd.cpio -init vminit -moddir root/lib/modules/6.1.0-57-cloud-amd64 \
//	    -modules veth,xfrm_user,nfnetlink dataplane.test
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/linx-sdwan/linx/internal/vmtest"
)

func main() {
	out := flag.String("o", "", "output `file` (newc cpio, uncompressed)")
	initBin := flag.String("init", "", "static init `binary`")
	modDir := flag.String("moddir", "", "the kernel's lib/modules/<release> `directory`")
	mods := flag.String("modules", "", "comma-separated `modules` to load at boot (dependencies are added)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: mkinitramfs -o FILE -init BIN [-moddir DIR -modules LIST] TEST-BINARY...\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if *out == "" || *initBin == "" || flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, *initBin, *modDir, *mods, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "mkinitramfs:", err)
		os.Exit(1)
	}
}

func run(out, initBin, modDir, mods string, tests []string) error {
	var load []string
	if mods != "" {
		if modDir == "" {
			return fmt.Errorf("-modules needs -moddir")
		}
		var err error
		if load, err = vmtest.ModuleClosure(modDir, strings.Split(mods, ",")); err != nil {
			return err
		}
	}

	f, err := os.Create(out)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	a := vmtest.NewArchive(w)
	for _, d := range []string{"dev", "proc", "sys", "tmp", "run", "tests"} {
		if err := a.Dir(d); err != nil {
			return err
		}
	}
	// The kernel opens /dev/console for init's stdio before init runs.
	if err := a.CharDev("dev/console", 0o600, 5, 1); err != nil {
		return err
	}
	if err := a.CharDev("dev/null", 0o666, 1, 3); err != nil {
		return err
	}
	if err := a.Symlink("var/run", "../run"); err != nil {
		return err
	}
	if err := addFile(a, "init", initBin, 0o755); err != nil {
		return err
	}
	var order strings.Builder
	for _, p := range load {
		rel, err := filepath.Rel(modDir, p)
		if err != nil {
			return err
		}
		dst := filepath.ToSlash(filepath.Join("lib/modules", rel))
		if err := addFile(a, dst, p, 0o644); err != nil {
			return err
		}
		fmt.Fprintf(&order, "/%s\n", dst)
	}
	if err := a.File("modules.load", 0o644, []byte(order.String())); err != nil {
		return err
	}
	for _, t := range tests {
		if err := addFile(a, "tests/"+filepath.Base(t), t, 0o755); err != nil {
			return err
		}
	}
	if err := a.Close(); err != nil {
		return err
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}

func addFile(a *vmtest.Archive, dst, src string, perm uint32) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return a.File(dst, perm, b)
}
