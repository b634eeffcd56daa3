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

// TestTunnelIPv6Underlay adds, shows, modifies and deletes an overlay and a
// termination with IPv6 endpoints next to IPv4 ones (set_gre6 and tunnel_term6
// on the wire), and refuses endpoints of different families before sending.
func TestTunnelIPv6Underlay(t *testing.T) {
	a := startAgent(t, 1)
	a.ok(t, "-m", "pipeline", "push")
	for _, cmd := range []string{
		"add tunnel 1 port=2 src=172.16.1.1 dst=172.16.1.2",
		"add tunnel 2 port=2 src=2001:db8:a::1 dst=2001:db8:b::1 key=9",
		"add term src=172.16.1.2 dst=172.16.1.1 tunnel=1",
		"add term src=2001:db8:b::1 dst=2001:db8:a::1 key=9 tunnel=2",
	} {
		a.ok(t, append([]string{"--master"}, strings.Fields(cmd)...)...)
	}
	tunnels := decodeJSON[[]tunnelRow](t, a.ok(t, "show", "tunnels", "--json"))
	for i := range tunnels {
		tunnels[i].Quality = nil // the overlays' gNMI state: TestAddShow checks it
	}
	if want := []tunnelRow{{ID: 1, Port: 2, Src: "172.16.1.1", Dst: "172.16.1.2"}, {ID: 2, Port: 2, Src: "2001:db8:a::1", Dst: "2001:db8:b::1", Key: 9}}; !slices.Equal(tunnels, want) {
		t.Errorf("show tunnels:\n got %+v\nwant %+v", tunnels, want)
	}
	terms := decodeJSON[[]termRow](t, a.ok(t, "show", "terms", "--json"))
	if want := []termRow{{Src: "172.16.1.2", Dst: "172.16.1.1", Tunnel: 1}, {Src: "2001:db8:b::1", Dst: "2001:db8:a::1", Key: 9, Tunnel: 2}}; !slices.Equal(terms, want) {
		t.Errorf("show terms:\n got %+v\nwant %+v", terms, want)
	}
	a.ok(t, "--master", "mod", "tunnel", "2", "dst=2001:db8:c::1")
	a.ok(t, "--master", "mod", "term", "src=2001:db8:b::1", "dst=2001:db8:a::1", "key=9", "tunnel=1")
	tunnels = decodeJSON[[]tunnelRow](t, a.ok(t, "show", "tunnels", "--json"))
	if len(tunnels) != 2 || tunnels[1].Dst != "2001:db8:c::1" || tunnels[1].Src != "2001:db8:a::1" {
		t.Errorf("after mod tunnel 2: %+v", tunnels)
	}
	// Families that differ, after a mod's merge included, are refused by linxctl.
	for _, args := range [][]string{
		{"add", "tunnel", "3", "port=2", "src=172.16.1.1", "dst=2001:db8:b::1"},
		{"mod", "tunnel", "2", "dst=172.16.1.2"},
		{"add", "term", "src=2001:db8:b::1", "dst=172.16.1.1", "tunnel=1"},
	} {
		if r := a.lx(t, append([]string{"--master"}, args...)...); r.code == exitOK || !strings.Contains(r.stderr, "different families") {
			t.Errorf("%v: %+v", args, r)
		}
	}
	// The device refuses what the contract refuses, naming the field.
	if r := a.lx(t, "--master", "add", "tunnel", "3", "port=2", "src=fe80::1", "dst=2001:db8:b::1"); r.code == exitOK || !strings.Contains(r.stderr, "tunnel src address fe80::1 is link-local") {
		t.Errorf("link-local src: %+v", r)
	}
	a.ok(t, "--master", "del", "term", "src=2001:db8:b::1", "dst=2001:db8:a::1", "key=9")
	a.ok(t, "--master", "del", "tunnel", "2")
	if terms := decodeJSON[[]termRow](t, a.ok(t, "show", "terms", "--json")); len(terms) != 1 || terms[0].Src != "172.16.1.2" {
		t.Errorf("after del: %+v", terms)
	}
}

// TestTunnelIPv6Parse: endpoints parse to the right table and action.
func TestTunnelIPv6Parse(t *testing.T) {
	e, err := parseTerm(strings.Fields("src=2001:db8:b::1 dst=2001:db8:a::1 tunnel=4"), true)
	if err != nil || e.Key.Table != p4info.IDTableTunnelTerm6 {
		t.Fatalf("IPv6 term: %+v, %v", e, err)
	}
	e, err = parseTerm(strings.Fields("src=172.16.0.2 dst=172.16.0.1 tunnel=4"), true)
	if err != nil || e.Key.Table != p4info.IDTableTunnelTerm {
		t.Fatalf("IPv4 term: %+v, %v", e, err)
	}
	for _, bad := range []string{"src=::ffff:10.0.0.1 dst=::1", "src=fe80::1%eth0 dst=2001:db8::1", "src=2001:db8::1 dst=10.0.0.1"} {
		if _, err := parseTunnel(strings.Fields("port=1 "+bad), dataplane.Tunnel{}, true); err == nil {
			t.Errorf("parseTunnel(%q) succeeded", bad)
		}
	}
}
