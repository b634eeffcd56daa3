package config

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path: defaults, then the file's keys.
// Relative TLS file names are made relative to the file's directory. See Parse
// for the results; Load does not Validate.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := Parse(data)
	if c != nil {
		dir := filepath.Dir(path)
		for _, p := range []*string{&c.GRPC.TLS.Cert, &c.GRPC.TLS.Key, &c.GRPC.TLS.ClientCA} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
	}
	return c, err
}

// Parse returns Default() overridden by the keys of one YAML document. It
// rejects what the YAML says but Config cannot hold: unknown and repeated keys,
// values of the wrong type or shape. The error is Problems, every one found,
// each with its key path and line.
//
// The Config is nil only when the YAML itself is broken (a syntax error, more
// than one document). Otherwise it holds everything that could be decoded and
// remembers the problems, so that Validate reports them together with its own
// (and not again what follows from a value that could not be decoded).
func Parse(data []byte) (*Config, error) {
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return c, nil // an empty file: all defaults
		}
		return nil, Problems{syntaxProblem(data, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
	case err != nil:
		return nil, Problems{syntaxProblem(data, err)}
	default:
		return nil, Problems{{Origin: line(&extra), Msg: "a second YAML document: the configuration is one document"}}
	}
	w := walker{origin: c.origin, failed: map[string]bool{}}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	w.value("", root, reflect.ValueOf(c).Elem())
	c.decodeProblems, c.failed = w.problems, w.failed
	return c, w.problems.err()
}

// syntaxProblem turns "yaml: line 5: did not find expected key" into a Problem
// with Origin "line 5". yaml.v3 reports the line where the enclosing construct
// starts, counted from 0, rather than the line of the problem; the line
// reported here is the first line at which the document's beginning fails to
// parse with the same message, which is where the problem is. It is found by
// bisection (a prefix that fails goes on failing as lines are added), so the
// cost is O(n log n) in the size of the file, not quadratic. A tab in the
// indentation, which YAML forbids, is named as such.
func syntaxProblem(data []byte, err error) Problem {
	msg := yamlMessage(err)
	lines := bytes.SplitAfter(data, []byte("\n"))
	ends := make([]int, len(lines)) // ends[i]: the length of lines 0..i
	for i, l := range lines {
		ends[i] = len(l)
		if i > 0 {
			ends[i] += ends[i-1]
		}
	}
	fails := func(i int) bool {
		var n yaml.Node
		err := yaml.Unmarshal(data[:ends[i]], &n)
		return err != nil && yamlMessage(err) == msg
	}
	at := sort.Search(len(lines), fails) // the first failing prefix
	if strings.Contains(msg, "cannot start any token") {
		// The tab nearest before the failure (or anywhere) is the culprit.
		tab := -1
		for i, l := range lines {
			if indent := l[:len(l)-len(bytes.TrimLeft(l, " \t"))]; bytes.IndexByte(indent, '\t') >= 0 && (tab < 0 || i <= at) {
				tab = i
			}
		}
		if tab >= 0 {
			n := strconv.Itoa(tab + 1)
			return Problem{Origin: "line " + n, Msg: "YAML syntax: line " + n + " is indented with a tab: YAML indents with spaces only (" + msg + ")"}
		}
	}
	if at < len(lines) {
		return Problem{Origin: "line " + strconv.Itoa(at+1), Msg: "YAML syntax: " + msg}
	}
	return Problem{Msg: "YAML syntax: " + msg}
}

// yamlMessage strips "yaml: " and "line N: " from a yaml.v3 error.
func yamlMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, after, ok := strings.Cut(rest, ": "); ok {
			if _, err := strconv.Atoi(n); err == nil {
				return after
			}
		}
	}
	return msg
}

func line(n *yaml.Node) string { return "line " + strconv.Itoa(n.Line) }

// walker decodes a node tree into a value, recording the line of every key and
// a Problem for everything that does not fit, then carrying on.
type walker struct {
	origin   map[string]string
	failed   map[string]bool // key paths whose value could not be decoded
	problems Problems
}

func (w *walker) fail(path string, n *yaml.Node, format string, args ...any) {
	w.failed[path] = true
	w.problems = append(w.problems, Problem{Path: path, Origin: line(n), Msg: fmt.Sprintf(format, args...)})
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	addrType     = reflect.TypeFor[netip.Addr]()
	textType     = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// defaulter is implemented by list elements that have defaults of their own.
type defaulter interface{ setDefaults() }

func (it *Interface) setDefaults() { it.XDPMode = XDPNative }

// value decodes n into v; path names v ("" for the root).
func (w *walker) value(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // "key:" or "key: ~" keeps the default
	}
	switch {
	case v.Type() == durationType:
		if s, ok := w.scalar(path, n, "a duration such as 5s or 500ms"); ok {
			d, err := time.ParseDuration(s)
			if err != nil {
				w.fail(path, n, "%q is not a duration such as 5s or 500ms", s)
				return
			}
			v.SetInt(int64(d))
		}
		return
	case v.Type() == addrType:
		if s, ok := w.scalar(path, n, "an IP address"); ok {
			a, err := netip.ParseAddr(s)
			if err != nil {
				w.fail(path, n, "%q is not an IP address", s)
				return
			}
			v.Set(reflect.ValueOf(a))
		}
		return
	case reflect.PointerTo(v.Type()).Implements(textType):
		if s, ok := w.scalar(path, n, "a string"); ok {
			if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
				w.fail(path, n, "%q: %v", s, err)
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		w.mapping(path, n, v)
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.fail(path, n, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, e := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			w.origin[p] = line(e)
			if d, ok := s.Index(i).Addr().Interface().(defaulter); ok {
				d.setDefaults()
			}
			w.value(p, e, s.Index(i))
		}
		v.Set(s)
	case reflect.String:
		if s, ok := w.scalar(path, n, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Bool:
		if _, ok := w.scalar(path, n, "true or false"); ok {
			var b bool
			if n.Tag != "!!bool" || n.Decode(&b) != nil {
				w.fail(path, n, "%s is not true or false", describe(n))
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if _, ok := w.scalar(path, n, "an integer"); ok {
			if w.leadingZero(path, n) {
				return
			}
			var i int64
			if n.Tag != "!!int" || n.Decode(&i) != nil || v.OverflowInt(i) {
				w.fail(path, n, "%s is not an integer", describe(n))
				return
			}
			v.SetInt(i)
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if _, ok := w.scalar(path, n, "a non-negative integer"); ok {
			if w.leadingZero(path, n) {
				return
			}
			var u uint64
			if n.Tag != "!!int" || n.Decode(&u) != nil || v.OverflowUint(u) {
				w.fail(path, n, "%s is not a non-negative integer", describe(n))
				return
			}
			v.SetUint(u)
		}
	case reflect.Float32, reflect.Float64:
		if _, ok := w.scalar(path, n, "a number"); ok {
			var f float64
			if (n.Tag != "!!float" && n.Tag != "!!int") || n.Decode(&f) != nil || v.OverflowFloat(f) || f != f {
				w.fail(path, n, "%s is not a number", describe(n))
				return
			}
			v.SetFloat(f)
		}
	default:
		panic(fmt.Sprintf("config: no decoding for %s (%s)", v.Type(), path))
	}
}

// leadingZeroRE matches decimal-looking integers with a leading zero, which
// YAML 1.1 (and yaml.v3) reads as octal: 010 is 8.
var leadingZeroRE = regexp.MustCompile(`^[-+]?0[0-9_]+$`)

// leadingZero refuses a plain integer with a leading zero, saying how YAML
// reads it, rather than letting "port: 010" become 8.
func (w *walker) leadingZero(path string, n *yaml.Node) bool {
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 || !leadingZeroRE.MatchString(n.Value) {
		return false
	}
	digits := strings.TrimLeft(strings.TrimLeft(strings.ReplaceAll(n.Value, "_", ""), "+-"), "0")
	if digits == "" {
		digits = "0"
	}
	sign := ""
	if strings.HasPrefix(n.Value, "-") {
		sign = "-"
	}
	if oct, err := strconv.ParseInt(digits, 8, 64); err == nil {
		w.fail(path, n, "%s has a leading zero, which YAML reads as octal %s%d: write %s%s (or %s0o%s if octal is meant)", n.Value, sign, oct, sign, digits, sign, digits)
	} else {
		w.fail(path, n, "%s has a leading zero (YAML reads such numbers as octal): write %s%s", n.Value, sign, digits)
	}
	return true
}

// scalar returns the text of a scalar node, or records that want was wanted.
func (w *walker) scalar(path string, n *yaml.Node, want string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		w.fail(path, n, "want %s, got %s", want, describe(n))
		return "", false
	}
	return n.Value, true
}

// mapping decodes a YAML mapping into struct v, by the fields' yaml tags.
func (w *walker) mapping(path string, n *yaml.Node, v reflect.Value) {
	if n.Kind != yaml.MappingNode {
		w.fail(path, n, "want a mapping (key: value), got %s", describe(n))
		return
	}
	fields := map[string]int{}
	var known []string
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		fields[name] = i
		known = append(known, name)
	}
	seen := map[string]*yaml.Node{}
	for _, kv := range w.pairs(path, n) {
		k, val := kv[0], kv[1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			continue // merged: its keys are among the pairs
		}
		if kv[2] != nil && seen[k.Value] != nil {
			continue // a merged key the mapping sets itself (or an earlier merge set)
		}
		key := k.Value
		p := key
		if path != "" {
			p = path + "." + key
		}
		if k.Kind != yaml.ScalarNode {
			w.fail(path, k, "a key must be a plain word, got %s", describe(k))
			continue
		}
		fi, ok := fields[key]
		if !ok {
			where := "at the top level"
			if path != "" {
				where = "in " + path
			}
			if near := nearest(key, known); near != "" {
				w.fail(p, k, "unknown key %s (did you mean %s?); known keys: %s", where, near, strings.Join(known, ", "))
			} else {
				w.fail(p, k, "unknown key %s; known keys: %s", where, strings.Join(known, ", "))
			}
			continue
		}
		if first, dup := seen[key]; dup {
			w.fail(p, k, "repeated key (first at line %d)", first.Line)
			continue
		}
		seen[key] = k
		w.origin[p] = line(k)
		w.value(p, val, v.Field(fi))
	}
}

// pairs returns the key/value pairs of mapping n: its own, then those its
// merge keys (<<: *anchor, <<: [*a, *b]) bring in, which the mapping's own keys
// and earlier merges override (the third element is non-nil for merged
// pairs). Keys of a merged mapping are checked like the mapping's own, at the
// lines where the anchor's mapping has them.
func (w *walker) pairs(path string, n *yaml.Node) [][3]*yaml.Node {
	var own, merged [][3]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		own = append(own, [3]*yaml.Node{k, val, nil})
		if k.Kind != yaml.ScalarNode || k.Tag != "!!merge" {
			continue
		}
		sources := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			sources = val.Content
		}
		for _, src := range sources {
			if src.Kind == yaml.AliasNode {
				src = src.Alias
			}
			if src.Kind != yaml.MappingNode {
				p := "<<"
				if path != "" {
					p = path + ".<<"
				}
				w.fail(p, k, "a merge key takes a mapping or a list of mappings, got %s", describe(src))
				continue
			}
			for _, kv := range w.pairs(path, src) {
				merged = append(merged, [3]*yaml.Node{kv[0], kv[1], k})
			}
		}
	}
	return append(own, merged...)
}

// describe names a node's kind and value for messages: `"abc"`, "a list".
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
			return strconv.Quote(n.Value) + " (quoted)"
		}
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// sortProblems orders problems by line; those from flags or defaults go last.
func sortProblems(ps Problems) {
	slices.SortStableFunc(ps, func(a, b Problem) int { return lineOf(a.Origin) - lineOf(b.Origin) })
}

// lineOf returns the line of an origin "line N", or a large number for others.
func lineOf(origin string) int {
	if s, ok := strings.CutPrefix(origin, "line "); ok {
		if n, err := strconv.Atoi(s); err == nil {
			return n
		}
	}
	return 1 << 30
}

// nearest returns the known key key likely stands for: one it is a word of
// ("mode" for xdp_mode), else the closest typo (at most two edits away, fewer
// than its length); or "".
func nearest(key string, known []string) string {
	for _, k := range known {
		if strings.HasSuffix(k, "_"+key) || strings.HasPrefix(k, key+"_") {
			return k
		}
	}
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestD && d < len(key) {
			best, bestD = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
