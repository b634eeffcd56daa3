// Package bpfsrc checks rules of the XDP pipeline's C sources (bpf/) that the
// compiler cannot. It has only tests, which need no privileges and no kernel, so
// they run with `make test` and stay out of the data-path test binary that
// .ci/kernel-matrix boots.
package bpfsrc

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var (
	// The one tail call: anything after a missed tail call drops with its reason.
	tailHelper = regexp.MustCompile(`static __always_inline int tail\(struct xdp_md \*ctx, __u32 stage\)\s*\{\s*` +
		`bpf_tail_call\(ctx, &stages, stage\);\s*return drop\(ctx, DROP_TAIL_CALL\);\s*\}`)
	tailCall = regexp.MustCompile(`(^|[^_a-z])tail\(ctx`)
	comment  = regexp.MustCompile(`(?s)/\*.*?\*/|//[^\n]*`)
)

// stripComments blanks C comments, keeping their newlines so line numbers hold.
func stripComments(src string) string {
	return comment.ReplaceAllStringFunc(src, func(c string) string {
		return strings.Repeat("\n", strings.Count(c, "\n"))
	})
}

// TestBPFTailCallsOnlyThroughTail enforces, on the C sources, that bpf_tail_call
// appears only inside tail() (which drops with DROP_TAIL_CALL when the call
// misses) and that every use of tail() is returned at once, so no code path can
// fall through a missed tail call and let the packet go on unclassified.
func TestBPFTailCallsOnlyThroughTail(t *testing.T) {
	files, err := filepath.Glob("../../bpf/*.[ch]")
	if err != nil || len(files) == 0 {
		t.Fatalf("no BPF sources: %v", err)
	}
	helpers, calls := 0, 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src := stripComments(string(b))
		name := filepath.Base(f)
		rest := src
		if loc := tailHelper.FindStringIndex(src); loc != nil {
			helpers++
			rest = src[:loc[0]] + src[loc[1]:]
		}
		if strings.Contains(rest, "bpf_tail_call") {
			t.Errorf("%s: bpf_tail_call outside tail(): use tail(), which drops a missed call with DROP_TAIL_CALL", name)
		}
		for i, line := range strings.Split(rest, "\n") {
			if !tailCall.MatchString(line) {
				continue
			}
			calls++
			if !strings.HasPrefix(strings.TrimSpace(line), "return tail(ctx, ") {
				t.Errorf("%s:%d: %q: return tail()'s verdict directly", name, i+1, strings.TrimSpace(line))
			}
		}
	}
	if helpers != 1 {
		t.Errorf("found tail() %d times, want exactly once as bpf_tail_call + DROP_TAIL_CALL", helpers)
	}
	if calls == 0 {
		t.Error("no tail() call sites found: the check matches nothing")
	}
}
