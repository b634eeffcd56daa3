package dataplane

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// TestDropReasonDocs: the documentation lists every drop reason of the data
// path (dropreason_gen.go, generated from bpf/linx.h), no more: datapath.md's
// table by code and name, operations.md's linx_drops_total labels, and the
// number linxctl.md shows for `show counters drops --all`.
func TestDropReasonDocs(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile("../docs/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	datapath, operations, linxctl := read("datapath.md"), read("operations.md"), read("linxctl.md")
	rows := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([a-z_0-9]+)` \\|").FindAllStringSubmatch(datapath, -1)
	if len(rows) != NumDropReasons-1 {
		t.Errorf("datapath.md's drop reason table has %d rows, the data path %d reasons", len(rows), NumDropReasons-1)
	}
	_, labels, _ := strings.Cut(operations, "| `linx_drops_total` |")
	labels, _, _ = strings.Cut(labels, "\n")
	for r := DropReason(1); r < NumDropReasons; r++ {
		row := fmt.Sprintf("| %d | `%s` |", r, r)
		if !strings.Contains(datapath, row) {
			t.Errorf("datapath.md lacks the row %s", row)
		}
		if !strings.Contains(labels, "`"+r.String()+"`") {
			t.Errorf("operations.md's linx_drops_total lacks reason %s", r)
		}
	}
	if want := fmt.Sprintf("drops (%d reasons)", NumDropReasons-1); !strings.Contains(linxctl, want) {
		t.Errorf("linxctl.md does not show %q", want)
	}
}
