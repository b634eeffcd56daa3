package vmtest

import (
	"bytes"
	"reflect"
	"strconv"
	"testing"
)

type entry struct {
	name string
	mode uint32
	rdev [2]uint32
	data string
}

// readNewc decodes what Archive wrote, checking the format's alignment rules.
func readNewc(t *testing.T, b []byte) []entry {
	t.Helper()
	var out []entry
	off := 0
	field := func(i int) uint32 {
		v, err := strconv.ParseUint(string(b[off+6+8*i:off+6+8*i+8]), 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(v)
	}
	for {
		if string(b[off:off+6]) != "070701" {
			t.Fatalf("bad magic at %d: %q", off, b[off:off+6])
		}
		mode, size, namesize := field(1), field(6), field(11)
		rdev := [2]uint32{field(9), field(10)}
		name := string(b[off+110 : off+110+int(namesize)-1])
		if b[off+110+int(namesize)-1] != 0 {
			t.Fatalf("%s: name not NUL-terminated", name)
		}
		d := (off + 110 + int(namesize) + 3) &^ 3
		data := string(b[d : d+int(size)])
		off = (d + int(size) + 3) &^ 3
		if name == "TRAILER!!!" {
			if off != len(b) {
				t.Fatalf("%d bytes after the trailer", len(b)-off)
			}
			return out
		}
		out = append(out, entry{name, mode, rdev, data})
	}
}

func TestArchive(t *testing.T) {
	var buf bytes.Buffer
	a := NewArchive(&buf)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.File("/tests/x.test", 0o755, []byte("hello")))
	must(a.CharDev("dev/console", 0o600, 5, 1))
	must(a.Symlink("var/run", "../run"))
	must(a.Dir("tests")) // already there: not repeated
	must(a.Close())

	got := readNewc(t, buf.Bytes())
	want := []entry{
		{"tests", 0o040755, [2]uint32{}, ""},
		{"tests/x.test", 0o100755, [2]uint32{}, "hello"},
		{"dev", 0o040755, [2]uint32{}, ""},
		{"dev/console", 0o020600, [2]uint32{5, 1}, ""},
		{"var", 0o040755, [2]uint32{}, ""},
		{"var/run", 0o120777, [2]uint32{}, "../run"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("archive holds\n%v\nwant\n%v", got, want)
	}
}

func TestParseDepends(t *testing.T) {
	modinfo := []byte("license=GPL\x00depends=nfnetlink,xfrm-algo\x00retpoline=Y\x00name=xfrm_user\x00")
	if got, want := ParseDepends(modinfo), []string{"nfnetlink", "xfrm_algo"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ParseDepends = %v, want %v", got, want)
	}
	if got := ParseDepends([]byte("depends=\x00name=veth\x00")); len(got) != 0 {
		t.Errorf("ParseDepends of no dependencies = %v", got)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/net/xfrm/xfrm_user.ko": "xfrm_user",
		"nf-conntrack":                 "nf_conntrack",
		"veth.ko.xz":                   "veth",
	} {
		if got := ModuleName(in); got != want {
			t.Errorf("ModuleName(%q) = %q, want %q", in, got, want)
		}
	}
}
