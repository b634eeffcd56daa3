package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	"google.golang.org/protobuf/encoding/prototext"
)

const (
	p4infoFile    = "../../p4info/p4info.txt"
	appP4Info     = "../src/main/resources/p4info.txt"
	constantsFile = "../src/main/java/org/linx/onos/LinxConstants.java"
)

func committedP4Info(t *testing.T) *p4configv1.P4Info {
	t.Helper()
	text, err := os.ReadFile(p4infoFile)
	if err != nil {
		t.Fatal(err)
	}
	var info p4configv1.P4Info
	if err := prototext.Unmarshal(text, &info); err != nil {
		t.Fatal(err)
	}
	return &info
}

// The app must ship exactly the P4Info the agent serves: ONOS pushes the app's copy
// and the agent refuses any P4Info but its own.
func TestAppShipsCommittedP4Info(t *testing.T) {
	want, err := os.ReadFile(p4infoFile)
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(appP4Info)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, have) {
		t.Fatalf("%s differs from %s: run make generate", appP4Info, p4infoFile)
	}
}

func TestCommittedConstantsAreFresh(t *testing.T) {
	want, err := Generate(committedP4Info(t), "org.linx.onos", "LinxConstants")
	if err != nil {
		t.Fatal(err)
	}
	have, err := os.ReadFile(constantsFile)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(want, have) {
		t.Fatalf("%s is stale: run make generate", constantsFile)
	}
}

// Every entity of the P4Info gets a constant carrying its exact P4 name.
func TestEveryEntityHasAConstant(t *testing.T) {
	info := committedP4Info(t)
	src, err := Generate(info, "p", "C")
	if err != nil {
		t.Fatal(err)
	}
	java := string(src)
	var names []string
	for _, x := range info.Tables {
		names = append(names, x.Preamble.Name)
		for _, f := range x.MatchFields {
			names = append(names, f.Name)
		}
	}
	for _, x := range info.Actions {
		names = append(names, x.Preamble.Name)
		for _, p := range x.Params {
			names = append(names, p.Name)
		}
	}
	for _, x := range info.ActionProfiles {
		names = append(names, x.Preamble.Name)
	}
	for _, x := range info.Counters {
		names = append(names, x.Preamble.Name)
	}
	for _, x := range info.DirectCounters {
		names = append(names, x.Preamble.Name)
	}
	for _, x := range info.Meters {
		names = append(names, x.Preamble.Name)
	}
	for _, x := range info.DirectMeters {
		names = append(names, x.Preamble.Name)
	}
	for _, h := range info.ControllerPacketMetadata {
		for _, m := range h.Metadata {
			names = append(names, m.Name)
		}
	}
	for _, n := range names {
		if !strings.Contains(java, ".of(\""+n+"\")") {
			t.Errorf("no constant for %q", n)
		}
	}
	if !strings.Contains(java, "public static final PiTableId LINX_INGRESS_PDR = PiTableId.of(\"LinxIngress.pdr\");") {
		t.Error("table constant not in the expected form")
	}
}

// A field name reused with another width would make one constant lie about the
// other: the generator must refuse.
func TestConflictingWidthsAreRefused(t *testing.T) {
	info := committedP4Info(t)
	info.Tables[1].MatchFields = append(info.Tables[1].MatchFields,
		&p4configv1.MatchField{Id: 99, Name: "src_addr", Bitwidth: 16})
	if _, err := Generate(info, "p", "C"); err == nil || !strings.Contains(err.Error(), "HDR_SRC_ADDR_BITWIDTH") {
		t.Fatalf("Generate = %v, want a conflict on HDR_SRC_ADDR_BITWIDTH", err)
	}
}

func TestJavaName(t *testing.T) {
	for in, want := range map[string]string{
		"LinxIngress.port_rx_counter": "LINX_INGRESS_PORT_RX_COUNTER",
		"far_id":                      "FAR_ID",
		"l4_sport":                    "L4_SPORT",
		"LinxIngress.lbr":             "LINX_INGRESS_LBR",
	} {
		if got := javaName(in); got != want {
			t.Errorf("javaName(%q) = %q, want %q", in, got, want)
		}
	}
}
