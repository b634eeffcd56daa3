package journal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func open(t *testing.T, dir string) *Dir {
	t.Helper()
	d, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	d.Sync = false // the tests read back through the page cache
	return d
}

func recs(n int) [][]byte {
	var out [][]byte
	for i := range n {
		out = append(out, bytes.Repeat([]byte{byte('a' + i)}, 10+i*7))
	}
	return out
}

func equal(a, b [][]byte) bool { return slices.EqualFunc(a, b, bytes.Equal) }

func TestAppendCompactReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	d := open(t, dir)
	if got := d.Load(); len(got) != 0 {
		t.Fatalf("new directory loads %d records", len(got))
	}
	rs := recs(5)
	for _, r := range rs[:3] {
		if err := d.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := d.Pending(); n != 3 {
		t.Errorf("pending %d, want 3", n)
	}
	d.Close()
	d = open(t, dir)
	if got := d.Load(); !equal(got, rs[:3]) {
		t.Fatalf("reopened: %q", got)
	}
	if err := d.Compact(rs[:2]); err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Pending(); n != 0 {
		t.Errorf("pending %d after compaction", n)
	}
	for _, r := range rs[3:] {
		if err := d.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	d = open(t, dir)
	defer d.Close()
	if got, want := d.Load(), append(slices.Clone(rs[:2]), rs[3:]...); !equal(got, want) {
		t.Fatalf("after compaction and appends: %q, want %q", got, want)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(tmp) > 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestTornTail cuts the journal at every byte, as a crash during an append
// could: the directory always opens with the records that were whole, and takes
// new appends after them.
func TestTornTail(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	d := open(t, src)
	rs := recs(4)
	for _, r := range rs {
		if err := d.Append(r); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	full, err := os.ReadFile(filepath.Join(src, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	ends := []int{len(journalMagic)}
	for _, r := range rs {
		ends = append(ends, ends[len(ends)-1]+frameHeader+len(r))
	}
	for cut := 0; cut <= len(full); cut++ {
		dir := filepath.Join(t.TempDir(), fmt.Sprint(cut))
		os.MkdirAll(dir, 0o700)
		if err := os.WriteFile(filepath.Join(dir, JournalFile), full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		d, err := Open(dir)
		if err != nil {
			t.Fatalf("journal cut at %d: %v", cut, err)
		}
		whole := 0
		for whole < len(rs) && ends[whole+1] <= cut {
			whole++
		}
		if got := d.Load(); !equal(got, rs[:whole]) {
			t.Fatalf("journal cut at %d: %d records, want %d", cut, len(got), whole)
		}
		if err := d.Append([]byte("after")); err != nil {
			t.Fatal(err)
		}
		d.Close()
		d = open(t, dir)
		if got := d.Load(); !equal(got, append(slices.Clone(rs[:whole]), []byte("after"))) {
			t.Fatalf("journal cut at %d, then appended: %q", cut, got)
		}
		d.Close()
	}
}

func TestZeroTail(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	d.Append([]byte("one"))
	d.Close()
	f, _ := os.OpenFile(filepath.Join(dir, JournalFile), os.O_WRONLY|os.O_APPEND, 0)
	f.Write(make([]byte, 100)) // a file extended by a crash before its data landed
	f.Close()
	d = open(t, dir)
	defer d.Close()
	if got := d.Load(); !equal(got, [][]byte{[]byte("one")}) {
		t.Fatalf("%q", got)
	}
}

// TestCorruption: damage that is not a torn end is an error, never skipped.
func TestCorruption(t *testing.T) {
	for _, c := range []struct {
		name string
		file string
		at   func(size int) int
	}{
		{"journal, first record", JournalFile, func(int) int { return len(journalMagic) + frameHeader + 2 }},
		{"journal, header", JournalFile, func(int) int { return 1 }},
		{"snapshot, last record", SnapshotFile, func(n int) int { return n - 1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			d := open(t, dir)
			rs := recs(3)
			if err := d.Compact(rs); err != nil {
				t.Fatal(err)
			}
			for _, r := range rs {
				d.Append(r)
			}
			d.Close()
			path := filepath.Join(dir, c.file)
			b, _ := os.ReadFile(path)
			b[c.at(len(b))] ^= 0x40
			os.WriteFile(path, b, 0o600)
			if d, err := Open(dir); err == nil {
				d.Close()
				t.Fatalf("opened a damaged %s", c.file)
			}
		})
	}
}

// TestCrashDuringCompaction: a new snapshot with the old journal still there
// loads both, for the caller to replay.
func TestCrashDuringCompaction(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	rs := recs(3)
	for _, r := range rs {
		d.Append(r)
	}
	old, _ := os.ReadFile(filepath.Join(dir, JournalFile))
	if err := d.Compact(rs); err != nil {
		t.Fatal(err)
	}
	d.Close()
	os.WriteFile(filepath.Join(dir, JournalFile), old, 0o600)
	d = open(t, dir)
	defer d.Close()
	if got := d.Load(); !equal(got, append(slices.Clone(rs), rs...)) {
		t.Fatalf("%q", got)
	}
}

func TestLock(t *testing.T) {
	dir := t.TempDir()
	d := open(t, dir)
	if _, err := Open(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	d.Close()
	d = open(t, dir)
	d.Close()
}
