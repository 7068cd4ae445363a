package initramfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/unixmode"
)

// Archive collects the entries of a cpio archive and writes them in the
// "newc" format the kernel unpacks into its initial root (see the kernel's
// Documentation/driver-api/early-userspace/buffer-format.rst), in one
// canonical form: entries sorted by path (so every directory comes before
// its contents), inode numbers counted from 1 in that order, every time
// the archive's MTime, no device numbers for the archive itself, and
// missing parent directories added with mode 0755. The same entries
// always give the same bytes, whatever order they were added in.
type Archive struct {
	// MTime is every entry's modification time; the Unix epoch when zero.
	MTime   time.Time
	entries map[string]*entry
}

type entry struct {
	mode   uint32 // unix st_mode: type and permission bits
	uid    int
	gid    int
	data   []byte
	src    string // a file whose content is read when writing
	size   int64  // of src
	target string // symbolic links
	major  uint32 // device nodes
	minor  uint32
}

// The unix file type bits of st_mode.
const (
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeCharDev = 0o020000
	modeBlkDev  = 0o060000
	modeFIFO    = 0o010000
	modeType    = 0o170000
)

// NewArchive returns an empty archive whose entries carry mtime.
func NewArchive(mtime time.Time) *Archive {
	return &Archive{MTime: mtime, entries: map[string]*entry{}}
}

// cleanPath turns p into the form the archive stores: relative, slash
// separated, clean. The root itself is "".
func cleanPath(p string) (string, error) {
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%q: NUL in path", p)
	}
	c := strings.TrimPrefix(path.Clean("/"+p), "/")
	if c == "" {
		return "", fmt.Errorf("%q: the archive's root is implied", p)
	}
	return c, nil
}

func (a *Archive) add(p string, e *entry) error {
	c, err := cleanPath(p)
	if err != nil {
		return err
	}
	if a.entries == nil {
		a.entries = map[string]*entry{}
	}
	if old, ok := a.entries[c]; ok {
		// Adding the same directory twice is harmless; anything else
		// would silently drop one of the two.
		if old.mode == e.mode && old.mode&modeType == modeDir && old.uid == e.uid && old.gid == e.gid {
			return nil
		}
		return fmt.Errorf("%s: added twice", c)
	}
	a.entries[c] = e
	return nil
}

// AddDir adds a directory.
func (a *Archive) AddDir(p string, perm fs.FileMode) error {
	return a.add(p, &entry{mode: modeDir | unixmode.Perm(perm)})
}

// AddFile adds a regular file holding data.
func (a *Archive) AddFile(p string, perm fs.FileMode, data []byte) error {
	return a.add(p, &entry{mode: modeRegular | unixmode.Perm(perm), data: data})
}

// AddFileFrom adds a regular file with the content of the file src, read
// when the archive is written (which fails if src's size changed).
func (a *Archive) AddFileFrom(p string, perm fs.FileMode, src string) error {
	fi, err := os.Stat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", src)
	}
	return a.add(p, &entry{mode: modeRegular | unixmode.Perm(perm), src: src, size: fi.Size()})
}

// AddSymlink adds a symbolic link to target.
func (a *Archive) AddSymlink(p, target string) error {
	if target == "" {
		return fmt.Errorf("%s: empty link target", p)
	}
	return a.add(p, &entry{mode: modeSymlink | 0o777, target: target})
}

// AddCharDevice adds a character device node, such as dev/console (5, 1).
func (a *Archive) AddCharDevice(p string, perm fs.FileMode, major, minor uint32) error {
	return a.add(p, &entry{mode: modeCharDev | unixmode.Perm(perm), major: major, minor: minor})
}

// SetOwner sets the owner of an entry already added; entries belong to
// root (0:0) otherwise.
func (a *Archive) SetOwner(p string, uid, gid int) error {
	c, err := cleanPath(p)
	if err != nil {
		return err
	}
	e, ok := a.entries[c]
	if !ok {
		return fmt.Errorf("%s: not in the archive", c)
	}
	if uid < 0 || gid < 0 {
		return fmt.Errorf("%s: invalid owner %d:%d", c, uid, gid)
	}
	e.uid, e.gid = uid, gid
	return nil
}

// Paths returns the paths of the entries added, sorted, without the
// implied parent directories.
func (a *Archive) Paths() []string {
	paths := make([]string, 0, len(a.entries))
	for p := range a.entries {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// complete returns every entry, the implied parent directories included,
// sorted by path. A parent that is not a directory is an error.
func (a *Archive) complete() ([]string, map[string]*entry, error) {
	all := make(map[string]*entry, len(a.entries))
	for p, e := range a.entries {
		all[p] = e
	}
	for p := range a.entries {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			e, ok := all[d]
			if !ok {
				all[d] = &entry{mode: modeDir | 0o755}
				continue
			}
			if e.mode&modeType != modeDir {
				return nil, nil, fmt.Errorf("%s: parent %s is not a directory", p, d)
			}
		}
	}
	paths := make([]string, 0, len(all))
	for p := range all {
		paths = append(paths, p)
	}
	// Byte order puts a directory before everything in it: "a" < "a/b",
	// and any name sorting between them ("a-b", "a.b") is not inside.
	sort.Strings(paths)
	return paths, all, nil
}

// newcMagic starts every newc header; the "070702" variant with checksums
// is not written.
const newcMagic = "070701"

// trailerName ends the archive.
const trailerName = "TRAILER!!!"

// blockSize is what the archive is padded to at its end, as GNU cpio does.
const blockSize = 512

// WriteTo writes the archive to w and returns the number of bytes written.
func (a *Archive) WriteTo(w io.Writer) (int64, error) {
	paths, all, err := a.complete()
	if err != nil {
		return 0, err
	}
	mtime := a.MTime.Unix()
	if a.MTime.IsZero() || mtime < 0 {
		mtime = 0
	}
	cw := &countWriter{w: w}
	for i, p := range paths {
		e := all[p]
		if err := writeEntry(cw, uint32(i+1), p, e, mtime); err != nil {
			return cw.n, fmt.Errorf("cpio %s: %w", p, err)
		}
	}
	if err := writeHeader(cw, header{nlink: 1}, trailerName); err != nil {
		return cw.n, err
	}
	if pad := (blockSize - cw.n%blockSize) % blockSize; pad > 0 {
		if _, err := cw.Write(make([]byte, pad)); err != nil {
			return cw.n, err
		}
	}
	return cw.n, nil
}

// Bytes returns the archive's bytes.
func (a *Archive) Bytes() ([]byte, error) {
	var buf bytes.Buffer
	if _, err := a.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type header struct {
	ino, mode, uid, gid, nlink, mtime, size, rdevMajor, rdevMinor uint32
}

func writeEntry(w *countWriter, ino uint32, p string, e *entry, mtime int64) error {
	h := header{
		ino:   ino,
		mode:  e.mode,
		uid:   uint32(e.uid),
		gid:   uint32(e.gid),
		nlink: 1,
		mtime: uint32(mtime),
	}
	var data []byte
	switch e.mode & modeType {
	case modeDir:
		h.nlink = 2
	case modeSymlink:
		data = []byte(e.target)
	case modeCharDev, modeBlkDev:
		h.rdevMajor, h.rdevMinor = e.major, e.minor
	case modeRegular:
		data = e.data
	}
	size := int64(len(data))
	if e.src != "" {
		size = e.size
	}
	if size > 0xffffffff {
		return errors.New("larger than the 4 GiB newc allows")
	}
	h.size = uint32(size)
	if err := writeHeader(w, h, p); err != nil {
		return err
	}
	if e.src != "" {
		if err := copyExactly(w, e.src, e.size); err != nil {
			return err
		}
	} else if _, err := w.Write(data); err != nil {
		return err
	}
	return w.pad4()
}

// copyExactly copies the file src, which must still be size bytes long.
func copyExactly(w io.Writer, src string, size int64) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("%s: shrank from %d to %d bytes while being archived", src, size, n)
	}
	var one [1]byte
	if m, _ := f.Read(one[:]); m > 0 {
		return fmt.Errorf("%s: grew beyond %d bytes while being archived", src, size)
	}
	return nil
}

func writeHeader(w *countWriter, h header, name string) error {
	var b strings.Builder
	b.Grow(110 + len(name) + 4)
	b.WriteString(newcMagic)
	for _, v := range []uint32{
		h.ino, h.mode, h.uid, h.gid, h.nlink, h.mtime, h.size,
		0, 0, // the archive's own device
		h.rdevMajor, h.rdevMinor,
		uint32(len(name) + 1),
		0, // check, unused by newc
	} {
		fmt.Fprintf(&b, "%08x", v)
	}
	b.WriteString(name)
	b.WriteByte(0)
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return w.pad4()
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

var zeros [4]byte

// pad4 pads to the next multiple of four bytes, as newc aligns both the
// end of a header (with its name) and the end of a file's data.
func (c *countWriter) pad4() error {
	if pad := (4 - c.n%4) % 4; pad > 0 {
		_, err := c.Write(zeros[:pad])
		return err
	}
	return nil
}
