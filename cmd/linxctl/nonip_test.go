package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNonIP(t *testing.T) {
	a := startAgent(t, 1)
	a.ok(t, "-m", "pipeline", "push")
	a.ok(t, "-m", "add", "nonip", "lldp", "punt")
	a.ok(t, "-m", "add", "non_ip", "0x0806", "copy")
	a.ok(t, "-m", "add", "nonip", "0x9000", "pass")
	rows := decodeJSON[[]nonIPRow](t, a.ok(t, "show", "nonip", "--json"))
	want := []nonIPRow{{"arp", "copy_to_controller", 0, 0}, {"lldp", "punt", 0, 0}, {"0x9000", "pass", 0, 0}}
	if !slices.Equal(rows, want) {
		t.Errorf("show nonip --json: %+v, want %+v", rows, want)
	}
	if text := a.ok(t, "show", "tables"); !strings.Contains(text, "nonip (3 entries)") || !strings.Contains(text, "copy_to_controller") {
		t.Errorf("show tables lacks the non_ip rules:\n%s", text)
	}

	a.ok(t, "-m", "mod", "nonip", "arp", "drop")
	a.ok(t, "-m", "del", "nonip", "0x9000")
	rows = decodeJSON[[]nonIPRow](t, a.ok(t, "show", "nonip", "--json"))
	if want := []nonIPRow{{"arp", "drop", 0, 0}, {"lldp", "punt", 0, 0}}; !slices.Equal(rows, want) {
		t.Errorf("after mod and del: %+v, want %+v", rows, want)
	}

	a.fails(t, exitError, []string{"update 1 (insert nonip 0x0800: punt)", "INVALID_ARGUMENT"}, "-m", "add", "nonip", "0x0800", "punt")
	a.fails(t, exitError, []string{"ALREADY_EXISTS"}, "-m", "add", "nonip", "lldp", "drop")
	a.fails(t, exitError, []string{"NOT_FOUND"}, "-m", "del", "nonip", "ipv6")
	a.fails(t, exitUsage, []string{"an action is required"}, "-m", "add", "nonip", "lldp")
	a.fails(t, exitUsage, []string{"explode"}, "-m", "add", "nonip", "lldp", "explode")
	a.fails(t, exitUsage, []string{"eth_type"}, "-m", "add", "nonip", "0x10000", "drop")

	// dump prints them for apply, which restores them.
	dump1 := a.ok(t, "dump")
	for _, w := range []string{"add nonip arp drop", "add nonip lldp punt"} {
		if !strings.Contains(dump1, w) {
			t.Errorf("dump lacks %q:\n%s", w, dump1)
		}
	}
	file := filepath.Join(t.TempDir(), "dump")
	os.WriteFile(file, []byte(dump1), 0o644)
	a.ok(t, "-m", "pipeline", "push", "--force")
	if rows := decodeJSON[[]nonIPRow](t, a.ok(t, "show", "nonip", "--json")); len(rows) != 0 {
		t.Errorf("non_ip rules after a forced push: %+v", rows)
	}
	a.ok(t, "-m", "apply", file)
	if dump2 := a.ok(t, "dump"); dump2 != dump1 {
		t.Errorf("dump after apply differs:\n%s\nwant\n%s", dump2, dump1)
	}
}
