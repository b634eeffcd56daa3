package main

import (
	"fmt"
	"runtime/debug"
)

// revision is the commit the binary was built from when the Go toolchain
// could not stamp it (it reads VCS information only where .git is a
// directory: not in a git worktree). `make build` sets it:
// -ldflags "-X main.revision=…".
var revision string

// versionString is what -version prints: the module version the binary was
// built as ("(devel)" for a build from a checkout), the VCS revision it was
// built from (with "+dirty" when the tree had changes) and its time, and the
// Go release.
func versionString(bi *debug.BuildInfo, ok bool) string {
	if !ok {
		return "linx-agent (no build information)"
	}
	rev, modified, when := revision, false, ""
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		case "vcs.time":
			when = " " + s.Value
		}
	}
	if rev == "" {
		rev = "unknown"
	}
	if modified {
		rev += "+dirty"
	}
	return fmt.Sprintf("linx-agent %s revision %s%s %s", bi.Main.Version, rev, when, bi.GoVersion)
}
