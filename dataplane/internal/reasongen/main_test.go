package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoName(t *testing.T) {
	for c, want := range map[string]string{
		"GRE_SPOOFED": "GRESpoofed", "MALFORMED_VLAN": "MalformedVLAN", "NON_IP_RULE": "NonIPRule",
		"NO_FAR": "NoFAR", "IPV6_EXT": "IPv6Ext", "TAIL_CALL": "TailCall",
	} {
		if got := goName(c); got != want {
			t.Errorf("goName(%s) = %s, want %s", c, got, want)
		}
	}
}

func header(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "x.h")
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParse(t *testing.T) {
	rs, max, err := parse(header(t, "enum other {\n\tX,\n};\nenum drop_reason {\n\tDROP_UNSPEC = 0,\n\tDROP_POLICY, /* a FAR said drop */\n\tDROP_GRE_SPOOFED,\n\tDROP_REASON_MAX,\n};\n"))
	if err != nil {
		t.Fatal(err)
	}
	if max != 3 || len(rs) != 3 || rs[1].goName != "DropPolicy" || rs[1].doc != "a FAR said drop" || rs[2].code != 2 || rs[2].name != "gre_spoofed" {
		t.Fatalf("parse: %d %+v", max, rs)
	}
	for name, body := range map[string]string{
		"no max":       "enum drop_reason {\n\tDROP_UNSPEC = 0,\n};\n",
		"two per line": "enum drop_reason {\n\tDROP_UNSPEC = 0, DROP_X,\n\tDROP_REASON_MAX,\n};\n",
		"no enum":      "enum role {\n\tROLE_LAN = 1,\n};\n",
	} {
		if _, _, err := parse(header(t, body)); err == nil || !strings.Contains(err.Error(), "drop_reason") && !strings.Contains(err.Error(), "member") {
			t.Errorf("%s: %v, want an error", name, err)
		}
	}
}
