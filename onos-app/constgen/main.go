// Command constgen writes LinxConstants.java, the ONOS identifiers (PiTableId,
// PiMatchFieldId, PiActionId, …) of every entity in linx's P4Info, so that the
// Java app names tables, fields and actions by constants the compiler checks
// instead of strings that drift. It reads the committed p4info.txt — the same file
// the app ships — so the constants always describe the pipeline ONOS is given.
//
//	go run ./onos-app/constgen -p4info p4info/p4info.txt -o onos-app/src/main/java/org/linx/onos/LinxConstants.java
//
// `make generate` runs it; `make check` fails when the committed output is stale.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode"

	p4configv1 "github.com/p4lang/p4runtime/go/p4/config/v1"
	"google.golang.org/protobuf/encoding/prototext"
)

func main() {
	in := flag.String("p4info", "p4info/p4info.txt", "P4Info text `file` to read")
	out := flag.String("o", "", "Java `file` to write (stdout when empty)")
	pkg := flag.String("package", "org.linx.onos", "Java package of the generated class")
	class := flag.String("class", "LinxConstants", "Java class name")
	flag.Parse()
	if err := run(*in, *out, *pkg, *class); err != nil {
		fmt.Fprintln(os.Stderr, "constgen:", err)
		os.Exit(1)
	}
}

func run(in, out, pkg, class string) error {
	text, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var info p4configv1.P4Info
	if err := prototext.Unmarshal(text, &info); err != nil {
		return fmt.Errorf("parse %s: %w", in, err)
	}
	src, err := Generate(&info, pkg, class)
	if err != nil {
		return err
	}
	if out == "" {
		_, err = os.Stdout.Write(src)
		return err
	}
	if have, err := os.ReadFile(out); err == nil && bytes.Equal(have, src) {
		return nil // unchanged: keep the file's timestamp
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".constgen-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(src); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), out)
}

// group is a commented block of constants of one kind.
type group struct {
	title  string
	consts []constant
}

// constant is one generated Java field.
type constant struct {
	name, typ, value, doc string
}

// Generate returns the Java source of the constants class. Names follow the
// convention of ONOS's own generated pipeconf constants: match fields HDR_<NAME>,
// tables/actions/counters/profiles by their full P4 name, action parameters and
// packet metadata by their own name, each bit width as <NAME>_BITWIDTH. A name
// used twice with different meanings (or widths) is an error, not a silent pick.
func Generate(info *p4configv1.P4Info, pkg, class string) ([]byte, error) {
	seen := map[string]constant{}
	var errs []string
	add := func(group *[]constant, c constant) {
		if prev, ok := seen[c.name]; ok {
			if prev.typ == c.typ && prev.value == c.value {
				return // same field name in two tables: one constant
			}
			errs = append(errs, fmt.Sprintf("%s: %s %s vs %s %s", c.name, prev.typ, prev.value, c.typ, c.value))
			return
		}
		seen[c.name] = c
		*group = append(*group, c)
	}
	str := func(s string) string { return fmt.Sprintf("%q", s) }
	width := func(w int32) string { return fmt.Sprint(w) }

	var fields, tables, actions, params, profiles, counters, dcounters, meters, meta []constant
	for _, t := range info.Tables {
		add(&tables, constant{javaName(t.Preamble.Name), "PiTableId", "PiTableId.of(" + str(t.Preamble.Name) + ")", t.Preamble.GetDoc().GetBrief()})
		for _, f := range t.MatchFields {
			n := "HDR_" + javaName(f.Name)
			add(&fields, constant{n, "PiMatchFieldId", "PiMatchFieldId.of(" + str(f.Name) + ")", f.GetDoc().GetBrief()})
			add(&fields, constant{n + "_BITWIDTH", "int", width(f.GetBitwidth()), ""})
		}
	}
	for _, a := range info.Actions {
		add(&actions, constant{javaName(a.Preamble.Name), "PiActionId", "PiActionId.of(" + str(a.Preamble.Name) + ")", a.Preamble.GetDoc().GetBrief()})
		for _, p := range a.Params {
			n := javaName(p.Name)
			add(&params, constant{n, "PiActionParamId", "PiActionParamId.of(" + str(p.Name) + ")", ""})
			add(&params, constant{n + "_BITWIDTH", "int", width(p.Bitwidth), ""})
		}
	}
	for _, p := range info.ActionProfiles {
		add(&profiles, constant{javaName(p.Preamble.Name), "PiActionProfileId", "PiActionProfileId.of(" + str(p.Preamble.Name) + ")", p.Preamble.GetDoc().GetBrief()})
	}
	for _, c := range info.Counters {
		add(&counters, constant{javaName(c.Preamble.Name), "PiCounterId", "PiCounterId.of(" + str(c.Preamble.Name) + ")", c.Preamble.GetDoc().GetBrief()})
	}
	for _, c := range info.DirectCounters {
		add(&dcounters, constant{javaName(c.Preamble.Name), "PiCounterId", "PiCounterId.of(" + str(c.Preamble.Name) + ")", c.Preamble.GetDoc().GetBrief()})
	}
	for _, m := range info.Meters {
		add(&meters, constant{javaName(m.Preamble.Name), "PiMeterId", "PiMeterId.of(" + str(m.Preamble.Name) + ")", m.Preamble.GetDoc().GetBrief()})
	}
	for _, m := range info.DirectMeters {
		add(&meters, constant{javaName(m.Preamble.Name), "PiMeterId", "PiMeterId.of(" + str(m.Preamble.Name) + ")", m.Preamble.GetDoc().GetBrief()})
	}
	for _, h := range info.ControllerPacketMetadata {
		for _, m := range h.Metadata {
			n := javaName(m.Name)
			add(&meta, constant{n, "PiPacketMetadataId", "PiPacketMetadataId.of(" + str(m.Name) + ")", h.Preamble.Name + " metadata"})
			add(&meta, constant{n + "_BITWIDTH", "int", width(m.Bitwidth), ""})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("conflicting constant names: %s", strings.Join(errs, "; "))
	}
	groups := []group{
		{"Match fields", fields},
		{"Tables", tables},
		{"Actions", actions},
		{"Action parameters", params},
		{"Action profiles", profiles},
		{"Indirect counters", counters},
		{"Direct counters", dcounters},
		{"Meters", meters},
		{"Packet-in / packet-out metadata", meta},
	}

	imports := map[string]bool{}
	for _, g := range groups {
		for _, c := range g.consts {
			if c.typ != "int" {
				imports["org.onosproject.net.pi.model."+c.typ] = true
			}
		}
	}
	var imp []string
	for i := range imports {
		imp = append(imp, i)
	}
	sort.Strings(imp)

	var b bytes.Buffer
	fmt.Fprintf(&b, "// Code generated by onos-app/constgen from p4info/p4info.txt; DO NOT EDIT.\n")
	fmt.Fprintf(&b, "// Regenerate with `make generate`.\n\n")
	fmt.Fprintf(&b, "package %s;\n\n", pkg)
	for _, i := range imp {
		fmt.Fprintf(&b, "import %s;\n", i)
	}
	fmt.Fprintf(&b, "\n/**\n * Identifiers of the linx pipeline (P4Info %q version %q).\n */\n",
		info.GetPkgInfo().GetName(), info.GetPkgInfo().GetVersion())
	fmt.Fprintf(&b, "public final class %s {\n\n", class)
	fmt.Fprintf(&b, "    /** P4Info package name and version the constants were generated from. */\n")
	fmt.Fprintf(&b, "    public static final String P4INFO_NAME = %q;\n", info.GetPkgInfo().GetName())
	fmt.Fprintf(&b, "    public static final String P4INFO_VERSION = %q;\n", info.GetPkgInfo().GetVersion())
	for _, g := range groups {
		if len(g.consts) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n    // %s\n", g.title)
		for _, c := range g.consts {
			writeDoc(&b, c.doc)
			fmt.Fprintf(&b, "    public static final %s %s = %s;\n", c.typ, c.name, c.value)
		}
	}
	fmt.Fprintf(&b, "\n    private %s() {\n        // constants only\n    }\n}\n", class)
	return b.Bytes(), nil
}

// javaName turns a P4 name (LinxIngress.port_rx_counter) into a Java constant
// name (LINX_INGRESS_PORT_RX_COUNTER): camel-case humps and dots become underscores.
func javaName(p4 string) string {
	var b strings.Builder
	var prev rune
	for i, r := range p4 {
		switch {
		case r == '.' || r == '_' || r == '-':
			if b.Len() > 0 && prev != '_' {
				b.WriteRune('_')
			}
			prev = '_'
			continue
		case unicode.IsUpper(r) && i > 0 && (unicode.IsLower(prev) || unicode.IsDigit(prev)):
			b.WriteRune('_')
		}
		b.WriteRune(unicode.ToUpper(r))
		prev = r
	}
	return b.String()
}

// writeDoc writes a doc string as a Javadoc comment wrapped to fit ONOS's 120-column
// checkstyle limit.
func writeDoc(b *bytes.Buffer, doc string) {
	doc = javadoc(doc)
	if doc == "" {
		return
	}
	if !strings.HasSuffix(doc, ".") {
		doc += "." // checkstyle: a Javadoc's first sentence ends with a period
	}
	const indent, width = "    ", 100
	if len(doc) <= width {
		fmt.Fprintf(b, "%s/** %s */\n", indent, doc)
		return
	}
	fmt.Fprintf(b, "%s/**\n", indent)
	line := ""
	for _, w := range strings.Fields(doc) {
		if line != "" && len(line)+1+len(w) > width {
			fmt.Fprintf(b, "%s * %s\n", indent, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	fmt.Fprintf(b, "%s * %s\n%s */\n", indent, line, indent)
}

// javadoc keeps a P4Info doc string from closing the comment early.
func javadoc(s string) string {
	return strings.ReplaceAll(strings.TrimSpace(s), "*/", "*&#47;")
}
