package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestHelpDoesNotRun: -h, --help and -help print the usage and stop; a stray
// argument or flag is refused; none of them starts the demo.
func TestHelpDoesNotRun(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"-h"}, 0}, {[]string{"--help"}, 0}, {[]string{"-help"}, 0},
		{[]string{"-x"}, 2}, {[]string{"now"}, 2},
	} {
		var stderr bytes.Buffer
		code, done := parseArgs(c.args, &stderr)
		if !done || code != c.code || !strings.Contains(stderr.String(), "usage: linx-demo") {
			t.Errorf("%v: code %d, done %v, want %d and the usage; stderr:\n%s", c.args, code, done, c.code, &stderr)
		}
	}
	if code, done := parseArgs(nil, &bytes.Buffer{}); done || code != 0 {
		t.Errorf("no arguments: code %d, done %v; want the demo to run", code, done)
	}
}
