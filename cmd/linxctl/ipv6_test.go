package main

import (
	"bytes"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

// TestPDRIPv6RoundTrip parses IPv6 rules, sends them through the translator and
// back, and prints them as the arguments that parse to them again.
func TestPDRIPv6RoundTrip(t *testing.T) {
	for _, c := range []struct{ args, key string }{
		{"prio=10 src=2001:db8:1::/48 dst=2001:db8:2::7 proto=tcp dport=80-443 far=3",
			"prio=10 src=2001:db8:1::/48 dst=2001:db8:2::7 proto=tcp dport=80-443"},
		{"prio=11 ip=6 dscp=ef far=3", "prio=11 ip=6 dscp=ef"},
		{"prio=12 ip_version=4 proto=udp far=3", "prio=12 ip=4 proto=udp"},
		{"prio=13 dst_addr6=::7&&&::ff far=3", "prio=13 dst=::7&&&::ff"},
	} {
		e, err := parsePDR(strings.Fields(c.args), true)
		if err != nil {
			t.Fatalf("%s: %v", c.args, err)
		}
		te, err := translator().EncodeTableEntry(e)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := translator().DecodeTableEntry(te, insertOp)
		if err != nil || !dec.Equal(e) {
			t.Fatalf("%s: decode(encode(e)) = %+v, %v; want %+v", c.args, dec, err, e)
		}
		if got := pdrKeyArgs(e); got != c.key {
			t.Errorf("pdrKeyArgs = %q, want %q", got, c.key)
		}
		again, err := parsePDR(append(strings.Fields(pdrKeyArgs(e)), "far=3"), true)
		if err != nil || !again.Equal(e) {
			t.Errorf("reparsing %q: %+v, %v", pdrKeyArgs(e), again, err)
		}
	}
	e, err := parsePDR(strings.Fields("prio=1 src=2001:db8::/32 far=1"), true)
	if err != nil {
		t.Fatal(err)
	}
	if e.Match.Src6 != dataplane.Prefix6(mustPrefix("2001:db8::/32")) || e.Match.Src.Mask != 0 {
		t.Errorf("src=2001:db8::/32 parsed as %+v", e.Match)
	}
	te, err := translator().EncodeTableEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	if m := te.GetMatch(); len(m) != 1 || m[0].FieldId != p4info.IDFieldPDRSrcAddr6 ||
		!bytes.Equal(m[0].GetTernary().GetValue(), []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}) ||
		!bytes.Equal(m[0].GetTernary().GetMask(), append([]byte{0xff, 0xff, 0xff, 0xff}, make([]byte, 12)...)) {
		t.Errorf("on the wire: %v", m)
	}

	for _, bad := range []string{
		"prio=1 far=1 src=2001:db8::1/32", // host bits
		"prio=1 far=1 src=2001:db8::/129",
		"prio=1 far=1 dst=::ffff:10.0.0.1", // IPv4-mapped
		"prio=1 far=1 dst=fe80::1%eth0",
		"prio=1 far=1 ip=5",
		"prio=1 far=1 dst=::1&&&::", // value outside mask
		"prio=1 far=1 src=2001:db8::/32 src=10.0.0.0/8",
	} {
		if _, err := parsePDR(strings.Fields(bad), true); err == nil {
			t.Errorf("parsePDR(%q) succeeded", bad)
		}
	}
}

// TestAddShowIPv6 adds IPv6 rules to a running agent and reads them back.
func TestAddShowIPv6(t *testing.T) {
	a := startAgent(t, 1)
	a.ok(t, "-m", "pipeline", "push")
	for _, cmd := range []string{
		"add far 10 drop",
		"add pdr prio=20 src=2001:db8:1::/48 proto=udp dport=5060 far=10",
		"add pdr prio=10 ip=6 dscp=ef far=10",
	} {
		a.ok(t, append([]string{"--master"}, strings.Fields(cmd)...)...)
	}
	// An IPv4 address with ip=6 is refused by the device, naming the fields.
	r := a.lx(t, "--master", "add", "pdr", "prio=5", "ip=6", "src=10.0.0.0/8", "far=10")
	if r.code == exitOK || !strings.Contains(r.stderr, "ip_version") {
		t.Errorf("ip=6 with an IPv4 prefix: %+v", r)
	}
	pdrs := decodeJSON[[]pdrRow](t, a.ok(t, "show", "pdr", "--json"))
	want := []pdrRow{
		{Prio: 20, In: "*", Dir: "*", Src: "2001:db8:1::/48", Dst: "*", Proto: "udp", Sport: "*", Dport: "5060", DSCP: "*", FAR: 10},
		{Prio: 10, In: "*", Dir: "*", IP: "6", Src: "*", Dst: "*", Proto: "*", Sport: "*", Dport: "*", DSCP: "ef", FAR: 10},
	}
	if !slices.Equal(pdrs, want) {
		t.Errorf("show pdr --json:\n got %+v\nwant %+v", pdrs, want)
	}
	a.ok(t, "--master", "del", "pdr", "prio=10", "ip=6", "dscp=ef")
	if pdrs := decodeJSON[[]pdrRow](t, a.ok(t, "show", "pdr", "--json")); len(pdrs) != 1 {
		t.Errorf("after del: %+v", pdrs)
	}
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }
