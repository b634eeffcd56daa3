// Package journal keeps a sequence of records in a directory so that a process
// killed at any instant, or a machine that loses power, leaves them readable:
// a snapshot file, replaced whole (written to a temporary file, synced, renamed,
// directory synced), and an append-only journal of the records since, each
// framed with its length and a CRC-32C. A record cut short by a crash at the end
// of the journal is ignored (it was never acknowledged); damage anywhere else is
// an error, never silently skipped. A lock file keeps a second process out of
// the directory while the first has it open.
//
// The records are opaque bytes; their meaning is the caller's. Replaying the
// snapshot, then the journal, must rebuild the caller's state, and replaying a
// journal over a snapshot that already holds its effect must do no harm: a crash
// between writing a new snapshot and emptying the journal leaves both.
package journal

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// File names inside the directory.
const (
	SnapshotFile = "p4rt.snapshot"
	JournalFile  = "p4rt.journal"
	LockFile     = "lock"
)

const (
	snapshotMagic = "LINXSNP1"
	journalMagic  = "LINXJNL1"
	frameHeader   = 8 // length, CRC-32C
	// MaxRecord bounds one record.
	MaxRecord = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrLocked is returned by Open when another process holds the directory.
var ErrLocked = errors.New("state directory in use by another process")

// Dir is an open state directory. It is not safe for concurrent use.
type Dir struct {
	dir      string
	lock     *os.File
	journal  *os.File
	records  [][]byte // loaded by Open, handed out by Load
	pending  int      // records appended since the last snapshot
	pendingB int64
	// Sync makes Append wait until the record is on disk (fdatasync). Without it
	// a record survives the process dying at once, and the machine losing power
	// after the kernel's writeback (seconds).
	Sync bool
}

// Open opens (creating it if needed) the state directory dir, takes its lock,
// reads the snapshot and the journal, and cuts a torn record off the journal's
// end. The records read are returned by Load.
func Open(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("state directory: %w", err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("lock state directory %s: %w", dir, err)
	}
	d := &Dir{dir: dir, lock: lock, Sync: true}
	if err := d.load(); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Path is the directory.
func (d *Dir) Path() string { return d.dir }

func (d *Dir) load() error {
	snap, err := os.ReadFile(filepath.Join(d.dir, SnapshotFile))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read snapshot: %w", err)
	default:
		recs, _, err := parse(snap, snapshotMagic, false)
		if err != nil {
			return fmt.Errorf("%s: %w", filepath.Join(d.dir, SnapshotFile), err)
		}
		d.records = recs
	}
	path := filepath.Join(d.dir, JournalFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return d.newJournal()
	}
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	recs, good, err := parse(data, journalMagic, true)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if good < len(journalMagic) {
		// Not even the header made it: a crash while creating the journal.
		return d.newJournal()
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	if int64(good) < int64(len(data)) {
		if err := f.Truncate(int64(good)); err != nil {
			f.Close()
			return fmt.Errorf("cut torn record off the journal: %w", err)
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return fmt.Errorf("sync journal: %w", err)
		}
	}
	d.journal = f
	d.records = append(d.records, recs...)
	d.pending = len(recs)
	d.pendingB = int64(good)
	return nil
}

// parse reads the records of a snapshot or journal file. With torn, an invalid
// record that ends the file (it claims to run past the end, or only zeros
// follow it) ends the records instead of being an error; good is where the
// valid records end.
func parse(b []byte, magic string, torn bool) (recs [][]byte, good int, err error) {
	if len(b) < len(magic) {
		if torn {
			return nil, 0, nil
		}
		return nil, 0, errors.New("truncated header")
	}
	if string(b[:len(magic)]) != magic {
		return nil, 0, fmt.Errorf("not a linx state file (header %q)", b[:len(magic)])
	}
	off := len(magic)
	for off < len(b) {
		rest := b[off:]
		bad := ""
		var n int
		switch {
		case len(rest) < frameHeader:
			bad = "truncated record header"
		default:
			n = int(binary.LittleEndian.Uint32(rest))
			sum := binary.LittleEndian.Uint32(rest[4:])
			switch {
			case n == 0 || n > MaxRecord:
				bad = fmt.Sprintf("record length %d", n)
			case frameHeader+n > len(rest):
				bad = "truncated record"
			case crc32.Checksum(rest[frameHeader:frameHeader+n], castagnoli) != sum:
				bad = "record checksum mismatch"
			}
		}
		if bad != "" {
			tail := bad == "truncated record" || bad == "truncated record header" || allZero(rest)
			if torn && tail {
				return recs, off, nil
			}
			return nil, off, fmt.Errorf("offset %d: %s", off, bad)
		}
		recs = append(recs, bytes.Clone(rest[frameHeader:frameHeader+n]))
		off += frameHeader + n
	}
	return recs, off, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// Load returns the records of the snapshot, then those of the journal, as Open
// read them (once: later calls return nothing).
func (d *Dir) Load() [][]byte {
	r := d.records
	d.records = nil
	return r
}

// Pending reports the records and bytes appended to the journal since the last
// snapshot, for the caller's decision to Compact.
func (d *Dir) Pending() (records int, bytes int64) { return d.pending, d.pendingB }

// Append adds a record to the journal, in one write.
func (d *Dir) Append(rec []byte) error {
	if d.journal == nil {
		return errors.New("journal closed")
	}
	if len(rec) == 0 || len(rec) > MaxRecord {
		return fmt.Errorf("record of %d bytes", len(rec))
	}
	buf := frame(nil, rec)
	if _, err := d.journal.Write(buf); err != nil {
		return fmt.Errorf("append to journal: %w", err)
	}
	if d.Sync {
		if err := unix.Fdatasync(int(d.journal.Fd())); err != nil {
			return fmt.Errorf("sync journal: %w", err)
		}
	}
	d.pending++
	d.pendingB += int64(len(buf))
	return nil
}

func frame(dst, rec []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(rec)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(rec, castagnoli))
	return append(dst, rec...)
}

// Compact replaces everything kept with recs: a new snapshot, then an empty
// journal. A crash in between leaves the new snapshot and the old journal,
// whose records the caller replays over it harmlessly.
func (d *Dir) Compact(recs [][]byte) error {
	if d.lock == nil {
		return errors.New("state directory closed")
	}
	err := writeAtomic(d.dir, SnapshotFile, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 1<<20)
		bw.WriteString(snapshotMagic)
		var hdr [frameHeader]byte
		for _, r := range recs {
			if len(r) == 0 || len(r) > MaxRecord {
				return fmt.Errorf("record of %d bytes", len(r))
			}
			binary.LittleEndian.PutUint32(hdr[:], uint32(len(r)))
			binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(r, castagnoli))
			bw.Write(hdr[:])
			bw.Write(r)
		}
		return bw.Flush()
	})
	if err != nil {
		return fmt.Errorf("write snapshot: %w", err)
	}
	if err := d.newJournal(); err != nil {
		return err
	}
	return nil
}

// newJournal replaces the journal with an empty one and opens it for appends.
func (d *Dir) newJournal() error {
	if d.journal != nil {
		d.journal.Close()
		d.journal = nil
	}
	err := writeAtomic(d.dir, JournalFile, func(w io.Writer) error {
		_, err := io.WriteString(w, journalMagic)
		return err
	})
	if err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(d.dir, JournalFile), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	d.journal = f
	d.pending, d.pendingB = 0, int64(len(journalMagic))
	return nil
}

// writeAtomic writes dir/name through a temporary file, synced and renamed over
// it, then syncs the directory: readers see the old file or the new one, whole.
func writeAtomic(dir, name string, fill func(io.Writer) error) error {
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename: no such file
	if err := fill(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Close closes the journal and releases the lock. The directory keeps what was
// written.
func (d *Dir) Close() error {
	var errs []error
	if d.journal != nil {
		errs = append(errs, d.journal.Close())
		d.journal = nil
	}
	if d.lock != nil {
		errs = append(errs, d.lock.Close()) // releases the flock
		d.lock = nil
	}
	return errors.Join(errs...)
}
