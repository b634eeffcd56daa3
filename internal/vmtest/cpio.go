package vmtest

import (
	"fmt"
	"io"
	"path"
	"strings"
)

// Archive writes a newc ("070701") cpio archive, the format the kernel unpacks
// into its initramfs. Parent directories are created on demand.
type Archive struct {
	w    io.Writer
	ino  uint32
	dirs map[string]bool
	err  error
}

// NewArchive starts an archive on w; Close writes the trailer.
func NewArchive(w io.Writer) *Archive {
	return &Archive{w: w, ino: 1, dirs: map[string]bool{".": true, "": true, "/": true}}
}

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeChr  = 0o020000
	modeLink = 0o120000
)

// Dir adds directory name (and its parents).
func (a *Archive) Dir(name string) error {
	name = clean(name)
	if a.dirs[name] {
		return a.err
	}
	if err := a.Dir(path.Dir(name)); err != nil {
		return err
	}
	a.dirs[name] = true
	return a.entry(name, modeDir|0o755, 0, 0, nil)
}

// File adds a regular file with the given permission bits.
func (a *Archive) File(name string, perm uint32, data []byte) error {
	name = clean(name)
	if err := a.Dir(path.Dir(name)); err != nil {
		return err
	}
	return a.entry(name, modeFile|perm&0o7777, 0, 0, data)
}

// CharDev adds a character device node.
func (a *Archive) CharDev(name string, perm, major, minor uint32) error {
	name = clean(name)
	if err := a.Dir(path.Dir(name)); err != nil {
		return err
	}
	return a.entry(name, modeChr|perm&0o7777, major, minor, nil)
}

// Symlink adds name pointing at target.
func (a *Archive) Symlink(name, target string) error {
	name = clean(name)
	if err := a.Dir(path.Dir(name)); err != nil {
		return err
	}
	return a.entry(name, modeLink|0o777, 0, 0, []byte(target))
}

// Close writes the trailer. It does not close the underlying writer.
func (a *Archive) Close() error {
	return a.entry("TRAILER!!!", 0, 0, 0, nil)
}

func clean(name string) string {
	return strings.TrimPrefix(path.Clean("/"+name), "/")
}

func (a *Archive) entry(name string, mode, rmajor, rminor uint32, data []byte) error {
	if a.err != nil {
		return a.err
	}
	ino := a.ino
	a.ino++
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	// magic, ino, mode, uid, gid, nlink, mtime, filesize, devmajor, devminor,
	// rdevmajor, rdevminor, namesize (with NUL), check: 8 hex digits each.
	hdr := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmajor, rminor, len(name)+1, 0)
	buf := append([]byte(hdr), name...)
	buf = append(buf, 0)
	buf = pad4(buf)
	buf = append(buf, data...)
	buf = pad4(buf)
	_, a.err = a.w.Write(buf)
	return a.err
}

func pad4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
