package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/linx-sdwan/linx/dataplane"
	"github.com/linx-sdwan/linx/p4info"
)

func TestParsePrefixMatch(t *testing.T) {
	for _, c := range []struct {
		in   string
		want dataplane.Ternary[uint32]
		out  string
	}{
		{"10.1.0.0/16", dataplane.Ternary[uint32]{Value: 0x0a010000, Mask: 0xffff0000}, "10.1.0.0/16"},
		{"10.1.2.3", dataplane.Ternary[uint32]{Value: 0x0a010203, Mask: 0xffffffff}, "10.1.2.3"},
		{"10.1.2.3/32", dataplane.Ternary[uint32]{Value: 0x0a010203, Mask: 0xffffffff}, "10.1.2.3"},
		{"0.0.0.0/0", dataplane.Ternary[uint32]{}, "*"},
		{"*", dataplane.Ternary[uint32]{}, "*"},
		{"10.0.0.1&&&255.0.0.255", dataplane.Ternary[uint32]{Value: 0x0a000001, Mask: 0xff0000ff}, "10.0.0.1&&&255.0.0.255"},
	} {
		got, err := parsePrefixMatch(c.in)
		if err != nil || got != c.want {
			t.Errorf("parsePrefixMatch(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if s := formatPrefixMatch(got); s != c.out {
			t.Errorf("formatPrefixMatch(%+v) = %q, want %q", got, s, c.out)
		}
	}
	for _, bad := range []string{"10.1.0.1/16", "10.1.0.0/33", "fe80::/10", "10.1", "10.0.0.1&&&255.0.0.0", ""} {
		if _, err := parsePrefixMatch(bad); err == nil {
			t.Errorf("parsePrefixMatch(%q) succeeded", bad)
		}
	}
}

func TestNamedValues(t *testing.T) {
	for _, c := range []struct {
		parse  func(string) (dataplane.Ternary[uint8], error)
		format func(dataplane.Ternary[uint8]) string
		in     string
		want   dataplane.Ternary[uint8]
		out    string
	}{
		{parseProto, formatProto, "udp", dataplane.Exact[uint8](17), "udp"},
		{parseProto, formatProto, "TCP", dataplane.Exact[uint8](6), "tcp"},
		{parseProto, formatProto, "47", dataplane.Exact[uint8](47), "gre"},
		{parseProto, formatProto, "253", dataplane.Exact[uint8](253), "253"},
		{parseProto, formatProto, "6&&&0xfe", dataplane.Ternary[uint8]{Value: 6, Mask: 0xfe}, "tcp&&&0xfe"},
		{parseDSCP, formatDSCP, "ef", dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f}, "ef"},
		{parseDSCP, formatDSCP, "af11", dataplane.Ternary[uint8]{Value: 10, Mask: 0x3f}, "af11"},
		{parseDSCP, formatDSCP, "af43", dataplane.Ternary[uint8]{Value: 38, Mask: 0x3f}, "af43"},
		{parseDSCP, formatDSCP, "cs7", dataplane.Ternary[uint8]{Value: 56, Mask: 0x3f}, "cs7"},
		{parseDSCP, formatDSCP, "default", dataplane.Ternary[uint8]{Value: 0, Mask: 0x3f}, "be"},
		{parseDSCP, formatDSCP, "46", dataplane.Ternary[uint8]{Value: 46, Mask: 0x3f}, "ef"},
		{parseDSCP, formatDSCP, "7", dataplane.Ternary[uint8]{Value: 7, Mask: 0x3f}, "7"},
		{parseDirection, formatDirection, "uplink", dataplane.Ternary[uint8]{Value: 1, Mask: 3}, "uplink"},
		{parseDirection, formatDirection, "downlink", dataplane.Ternary[uint8]{Value: 2, Mask: 3}, "downlink"},
		{parseDirection, formatDirection, "underlay", dataplane.Ternary[uint8]{Value: 3, Mask: 3}, "underlay"},
		{parseDirection, formatDirection, "*", dataplane.Ternary[uint8]{}, "*"},
	} {
		got, err := c.parse(c.in)
		if err != nil || got != c.want {
			t.Errorf("parse(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
			continue
		}
		if s := c.format(got); s != c.out {
			t.Errorf("format(%+v) = %q, want %q", got, s, c.out)
		}
	}
	for _, bad := range []string{"64", "foo", "ef&&&0x40"} {
		if _, err := parseDSCP(bad); err == nil {
			t.Errorf("parseDSCP(%q) succeeded", bad)
		}
	}
	if _, err := parseDirection("4"); err == nil {
		t.Error("direction 4 accepted (2 bits)")
	}
	if _, err := parseProto("256"); err == nil {
		t.Error("protocol 256 accepted")
	}
}

func TestPortRanges(t *testing.T) {
	for in, want := range map[string]dataplane.PortRange{
		"5060": {Lo: 5060, Hi: 5060}, "5060-5061": {Lo: 5060, Hi: 5061}, "*": dataplane.AnyPort, "0-65535": dataplane.AnyPort, "0": {Lo: 0, Hi: 0},
	} {
		got, err := parsePortRange(in)
		if err != nil || got != want {
			t.Errorf("parsePortRange(%q) = %+v, %v", in, got, err)
		}
	}
	if s := formatPortRange(dataplane.PortRange{Lo: 5060, Hi: 5061}); s != "5060-5061" {
		t.Errorf("format = %q", s)
	}
	for _, bad := range []string{"5061-5060", "65536", "a-b", "1-"} {
		if _, err := parsePortRange(bad); err == nil {
			t.Errorf("parsePortRange(%q) succeeded", bad)
		}
	}
}

// TestPDRRoundTrip: the printed form of a rule parses back to the same entry,
// and the entry encodes to what the P4Info requires.
func TestPDRRoundTrip(t *testing.T) {
	args := strings.Fields("prio=100 dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef dir=uplink in=1 far=10")
	e, err := parsePDR(args, true)
	if err != nil {
		t.Fatal(err)
	}
	te, err := translator().EncodeTableEntry(e)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := translator().DecodeTableEntry(te, insertOp)
	if err != nil {
		t.Fatal(err)
	}
	if !dec.Equal(e) {
		t.Fatalf("decode(encode(e)) = %+v, want %+v", dec, e)
	}
	again, err := parsePDR(append(strings.Fields(pdrKeyArgs(e)), "far=10"), true)
	if err != nil || !again.Equal(e) {
		t.Fatalf("reparsing %q: %+v, %v", pdrKeyArgs(e), again, err)
	}
	if got, want := pdrKeyArgs(e), "prio=100 in=1 dir=uplink dst=10.2.0.0/16 proto=udp dport=5060-5061 dscp=ef"; got != want {
		t.Errorf("pdrKeyArgs = %q, want %q", got, want)
	}
	// Field widths on the wire: dscp is 6 bits, direction 2.
	for _, m := range te.Match {
		switch m.FieldId {
		case p4info.IDFieldPDRDSCP:
			if v := m.GetTernary(); !bytes.Equal(v.Value, []byte{46}) || !bytes.Equal(v.Mask, []byte{0x3f}) {
				t.Errorf("dscp on the wire: %x/%x", v.Value, v.Mask)
			}
		case p4info.IDFieldPDRDirection:
			if v := m.GetTernary(); !bytes.Equal(v.Mask, []byte{3}) {
				t.Errorf("direction mask on the wire: %x", v.Mask)
			}
		}
	}
	del, err := parsePDR(args, false)
	if err != nil || del.Action != nil || del.Key != e.Key {
		t.Errorf("del key = %+v, %v", del, err)
	}
}

func TestParsePDRErrors(t *testing.T) {
	for _, args := range []string{
		"dst=10.0.0.0/8 far=1",                       // no prio
		"prio=1 dst=10.0.0.0/8",                      // no far
		"prio=0 far=1",                               // prio 0
		"prio=1 far=1 dst=10.0.0.0/8 dst=10.0.0.0/9", // twice
		"prio=1 far=1 color=red",                     // unknown key
		"prio=1 far=1 dscp",                          // no value
	} {
		if _, err := parsePDR(strings.Fields(args), true); err == nil {
			t.Errorf("parsePDR(%q) succeeded", args)
		}
	}
}

func TestParseFARAction(t *testing.T) {
	for in, want := range map[string]dataplane.FAR{
		"drop":             {Action: dataplane.ActDrop},
		"pass":             {Action: dataplane.ActPass},
		"punt":             {Action: dataplane.ActPunt},
		"forward port=1":   {Action: dataplane.ActForward, Port: 1},
		"encap tunnel=7":   {Action: dataplane.ActEncap, Tunnel: 7},
		"encap 7":          {Action: dataplane.ActEncap, Tunnel: 7},
		"balance lbr_id=3": {Action: dataplane.ActBalance, LBR: 3},
	} {
		got, err := parseFARAction(strings.Fields(in))
		if err != nil || got != want {
			t.Errorf("parseFARAction(%q) = %+v, %v", in, got, err)
		}
		if s := farActionArgs(got); !strings.HasPrefix(in, got.Action.String()) || (s != in && in != "encap 7" && in != "balance lbr_id=3") {
			t.Errorf("farActionArgs(%+v) = %q", got, s)
		}
	}
	for _, bad := range []string{"", "drop port=1", "forward", "forward port=0", "encap lbr=1", "explode"} {
		if _, err := parseFARAction(strings.Fields(bad)); err == nil {
			t.Errorf("parseFARAction(%q) succeeded", bad)
		}
	}
}

func TestParseMembers(t *testing.T) {
	got, err := parseMembers("1:3,2:1,5")
	if err != nil || !slices.Equal(got, []lbrMember{{1, 3}, {2, 1}, {5, 1}}) {
		t.Fatalf("parseMembers = %v, %v", got, err)
	}
	if s := membersArg(got); s != "1:3,2:1,5:1" {
		t.Errorf("membersArg = %q", s)
	}
	for _, bad := range []string{"1:0", "1:x", "1,1", "a", "1:2147483648"} {
		if _, err := parseMembers(bad); err == nil {
			t.Errorf("parseMembers(%q) succeeded", bad)
		}
	}
	if memberID(1, 1) != 257 || memberID(2, 3) != 515 || !ownsMember(1, 257) || ownsMember(1, 256) || ownsMember(2, 257) {
		t.Error("member id scheme")
	}
}

func TestParseTermAndTunnel(t *testing.T) {
	e, err := parseTerm(strings.Fields("src=172.16.1.2 dst=172.16.1.1 key=5 tunnel=1"), true)
	if err != nil {
		t.Fatal(err)
	}
	if r := termRowOf(e); r != (termRow{Src: "172.16.1.2", Dst: "172.16.1.1", Key: 5, Tunnel: 1}) {
		t.Errorf("term = %+v", r)
	}
	if _, err := parseTerm(strings.Fields("src=172.16.1.2 tunnel=1"), true); err == nil {
		t.Error("term without dst accepted")
	}
	tu, err := parseTunnel(strings.Fields("port=2 src=172.16.1.1 dst=172.16.1.2"), dataplane.Tunnel{}, true)
	if err != nil || tunnelRowOf(1, tu) != (tunnelRow{ID: 1, Port: 2, Src: "172.16.1.1", Dst: "172.16.1.2"}) {
		t.Errorf("tunnel = %+v, %v", tu, err)
	}
	mod, err := parseTunnel([]string{"key=9"}, tu, false)
	if err != nil || mod.Key != 9 || mod.Port != 2 || mod.Src != tu.Src {
		t.Errorf("mod tunnel = %+v, %v", mod, err)
	}
	if _, err := parseTunnel([]string{"port=2"}, dataplane.Tunnel{}, true); err == nil {
		t.Error("tunnel without addresses accepted")
	}
}

func TestParseArgs(t *testing.T) {
	var o options
	words, err := parseArgs(strings.Fields("--target 10.0.0.1:9559 show pdr --json -m --election-id 7 -- -x"), &o)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(words, []string{"show", "pdr", "-x"}) || o.target != "10.0.0.1:9559" || !o.json || !o.master || o.electionID != "7" {
		t.Errorf("words %q, options %+v", words, o)
	}
	if _, err := parseArgs([]string{"--bogus"}, &options{}); err == nil {
		t.Error("unknown flag accepted")
	}
	for in, want := range map[string]electionID{"5": {0, 5}, "1:2": {1, 2}, "0x10": {0, 16}} {
		if got, err := parseElectionID(in); err != nil || got != want {
			t.Errorf("parseElectionID(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1", "a:b", "1:2:3"} {
		if _, err := parseElectionID(bad); err == nil {
			t.Errorf("parseElectionID(%q) succeeded", bad)
		}
	}
	if n, _ := (electionID{0, ^uint64(0)}).next(); n != (electionID{1, 0}) {
		t.Errorf("next carries: %v", n)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range []string{
		"add far 1 drop",           // no --master
		"show bogus",               // unknown
		"--election-id 3 show pdr", // election id without master
		"-m add pdr far=1",         // parse error before connecting
		"show pdr extra",
	} {
		var out, errb bytes.Buffer
		if code := run(strings.Fields(args), &out, &errb); code != exitUsage {
			t.Errorf("%q: exit %d, want %d (stderr %q)", args, code, exitUsage, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run([]string{"add", "far", "1", "drop"}, &out, &errb); !strings.Contains(errb.String(), "writes need mastership: pass --master") || code != exitUsage {
		t.Errorf("no master: %d %q", code, errb.String())
	}
	out.Reset()
	if code := run([]string{"help"}, &out, &errb); code != exitOK || !strings.Contains(out.String(), "watch counters") {
		t.Errorf("help: %d %q", code, out.String())
	}
}

func TestDropNames(t *testing.T) {
	// Names come from the BPF object's BTF: no privilege needed.
	if n := dropName(int64(dataplane.DropPolicy)); n != "policy" {
		t.Errorf("drop reason %d = %q, want policy", dataplane.DropPolicy, n)
	}
	if n := dropName(int64(dataplane.DropGRESpoofed)); n != "gre_spoofed" {
		t.Errorf("drop reason %d = %q", dataplane.DropGRESpoofed, n)
	}
}
