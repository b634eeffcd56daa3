// Command gen writes p4info.txt, the committed text form of linx's P4Info
// (p4info.FileText). It is run by go generate in the p4info directory:
//
//	go generate ./p4info
//
// The file is rewritten only when its contents change. With -check, gen writes
// nothing and exits with status 1 if the file is missing or stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/linx-sdwan/linx/p4info"
)

func main() {
	out := flag.String("o", "", "output `file` (default p4info.txt, when run in the p4info directory)")
	check := flag.Bool("check", false, "only report whether the file is up to date")
	flag.Parse()
	if *out == "" {
		// go generate runs gen in the package directory; anywhere else, a default
		// would write a stray p4info.txt.
		if _, err := os.Stat("p4info.go"); err != nil {
			fmt.Fprintln(os.Stderr, "p4info/gen: run it with go generate ./p4info, or pass -o")
			os.Exit(2)
		}
		*out = "p4info.txt"
	}
	if err := run(*out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "p4info/gen:", err)
		os.Exit(1)
	}
}

func run(out string, check bool) error {
	// Refuse to publish a P4Info that the agent itself would reject.
	if _, err := p4info.NewIndex(p4info.New(p4info.DefaultSizes)); err != nil {
		return err
	}
	want := p4info.FileText()
	have, err := os.ReadFile(out)
	if err == nil && bytes.Equal(have, want) {
		return nil
	}
	if check {
		return fmt.Errorf("%s is stale: run make generate (or go generate ./p4info)", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".p4info-*.txt")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(want); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}
