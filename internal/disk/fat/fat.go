// Package fat writes a FAT32 file system holding a directory tree, as an
// EFI system partition needs it, and checks and repairs FAT file systems
// (Check, in check.go) that a power cut left damaged.
//
// Write works without mounting anything: the whole
// file system is laid out in memory (boot sector, FSInfo, both FATs,
// directories) and written through an io.WriterAt, files contiguously
// in path order.
//
// The output is a function of the tree and the Options alone: every
// entry gets Options.Time, the volume ID is given, names are laid out in
// sorted order, slack is zeroed. Nothing reads the clock or the
// environment.
//
// Layout as Microsoft's FAT specification (fatgen103) and dosfstools'
// mkfs.fat make it: 512-byte sectors, 32 reserved sectors (boot sector,
// FSInfo at 1, their copies at 6 and 7), two FATs, the root directory
// at cluster 2, the data area aligned to the cluster size. Names that
// are not upper-case 8.3 get long-name (VFAT) entries and a numbered
// short alias (NAME~1.EXT).
package fat

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

const (
	sectorSize = 512
	reserved   = 32
	numFATs    = 2
	// minClusters is the fewest clusters a FAT32 file system may have:
	// with fewer, every reader takes it for FAT16.
	minClusters = 65525
	entryBytes  = 32
	eoc         = 0x0fffffff
)

// Options shape the file system.
type Options struct {
	// Size is the file system's size in bytes (the partition's).
	Size int64
	// HiddenSectors is the partition's first sector on its disk, which
	// the boot sector records (syslinux's boot code reads it).
	HiddenSectors uint32
	// Label is the volume label: up to 11 characters, upper-case
	// letters, digits and - _; "NO NAME" when empty.
	Label string
	// VolumeID is the volume serial number.
	VolumeID uint32
	// Time is every file's and directory's time (creation, modification,
	// access). FAT keeps local time without a zone: it is written as UTC.
	// Times before 1980 become 1980-01-01.
	Time time.Time
}

// TooSmallError says the tree does not fit.
type TooSmallError struct {
	// Size is the file system's size; Need is the size that would hold
	// the tree (at the same cluster size).
	Size, Need int64
}

func (e *TooSmallError) Error() string {
	return fmt.Sprintf("the files need a FAT file system of at least %.1f MiB; this one has %.1f MiB", float64(e.Need)/(1<<20), float64(e.Size)/(1<<20))
}

// Stats describe a written file system.
type Stats struct {
	ClusterSize int64
	Clusters    uint32
	// Used is the number of clusters the tree takes.
	Used  uint32
	Files int
}

// MinSize is the smallest size Write accepts (rounded up to a MiB):
// FAT32 needs 65,525 clusters of at least one sector.
const MinSize = 34 << 20

type node struct {
	name     string
	short    [11]byte
	long     bool // has long-name entries
	dir      bool
	size     int64
	path     string // in the source file system
	children []*node
	first    uint32
	clusters uint32
}

// layout is the geometry.
type layout struct {
	spc       uint32 // sectors per cluster
	fatSecs   uint32
	clusters  uint32
	total     uint32
	dataStart uint32 // first data sector
}

func (l layout) clusterSize() int64 { return int64(l.spc) * sectorSize }

func (l layout) clusterOffset(c uint32) int64 {
	return (int64(l.dataStart) + int64(c-2)*int64(l.spc)) * sectorSize
}

// geometry picks the cluster size (the largest of 512 B to 4 KiB that
// leaves FAT32 enough clusters, up to 8 GiB; then Microsoft's table) and
// sizes the FATs.
func geometry(size int64) (layout, error) {
	if size < MinSize {
		return layout{}, fmt.Errorf("%d bytes: a FAT32 file system needs at least %d (%.1f MiB)", size, int64(MinSize), float64(MinSize)/(1<<20))
	}
	if size/sectorSize > 0xffffffff {
		return layout{}, fmt.Errorf("%d bytes: larger than FAT32's 2 TiB", size)
	}
	total := uint32(size / sectorSize)
	var candidates []uint32
	switch {
	case size > 32<<30:
		candidates = []uint32{64}
	case size > 16<<30:
		candidates = []uint32{32}
	case size > 8<<30:
		candidates = []uint32{16}
	default:
		candidates = []uint32{8, 4, 2, 1}
	}
	for _, spc := range candidates {
		l := layout{spc: spc, total: total}
		l.fatSecs = ((total-reserved)/spc + 2 + sectorSize/4 - 1) / (sectorSize / 4)
		align := max(8, spc)
		for (reserved+numFATs*l.fatSecs)%align != 0 {
			l.fatSecs++
		}
		l.dataStart = reserved + numFATs*l.fatSecs
		l.clusters = (total - l.dataStart) / spc
		if l.clusters >= minClusters+16 {
			return l, nil
		}
	}
	return layout{}, fmt.Errorf("%d bytes: too small for FAT32", size)
}

// Write makes a FAT32 file system of o.Size bytes at offset off of w
// holding the tree of fsys: its directories and regular files (anything
// else is an error). The region is written completely except for the
// free clusters.
func Write(w io.WriterAt, off int64, o Options, fsys fs.FS) (Stats, error) {
	l, err := geometry(o.Size)
	if err != nil {
		return Stats{}, err
	}
	label, err := volumeLabel(o.Label)
	if err != nil {
		return Stats{}, err
	}
	root := &node{dir: true, path: "."}
	files := 0
	if err := readTree(fsys, root, &files); err != nil {
		return Stats{}, err
	}
	// Clusters, depth first in name order; the root directory first, at 2.
	next := uint32(2)
	var order []*node
	var assign func(n *node, isRoot bool)
	assign = func(n *node, isRoot bool) {
		n.clusters = uint32((n.bytes(isRoot, l) + l.clusterSize() - 1) / l.clusterSize())
		if n.dir && n.clusters == 0 {
			n.clusters = 1
		}
		if n.clusters > 0 {
			n.first = next
			next += n.clusters
		}
		order = append(order, n)
		for _, c := range n.children {
			assign(c, false)
		}
	}
	assign(root, true)
	used := next - 2
	if used > l.clusters {
		need := int64(reserved)*sectorSize + 2*int64(used+2)*4 + int64(used)*l.clusterSize()
		return Stats{}, &TooSmallError{Size: o.Size, Need: (need + 2<<20) &^ (1<<20 - 1)}
	}

	stamp := newStamp(o.Time)
	ww := &offsetWriter{w: w, off: off}
	if err := ww.writeAt(bootArea(l, o, label, used), 0); err != nil {
		return Stats{}, err
	}
	fat := make([]byte, int64(l.fatSecs)*sectorSize)
	le := binary.LittleEndian
	le.PutUint32(fat[0:], 0x0ffffff8)
	le.PutUint32(fat[4:], 0x0fffffff)
	for _, n := range order {
		for i := uint32(0); i < n.clusters; i++ {
			v := uint32(eoc)
			if i+1 < n.clusters {
				v = n.first + i + 1
			}
			le.PutUint32(fat[4*(n.first+i):], v)
		}
	}
	for i := int64(0); i < numFATs; i++ {
		if err := ww.writeAt(fat, (reserved+i*int64(l.fatSecs))*sectorSize); err != nil {
			return Stats{}, err
		}
	}
	parents := map[*node]*node{}
	for _, n := range order {
		for _, c := range n.children {
			parents[c] = n
		}
	}
	for _, n := range order {
		var err error
		if n.dir {
			parent := uint32(0)
			if p := parents[n]; p != nil && p != root {
				parent = p.first
			}
			err = ww.writeAt(n.directory(n == root, label, parent, stamp, l), l.clusterOffset(n.first))
		} else if n.clusters > 0 {
			err = writeFile(fsys, n, ww, l)
		}
		if err != nil {
			return Stats{}, err
		}
	}
	return Stats{ClusterSize: l.clusterSize(), Clusters: l.clusters, Used: used, Files: files}, nil
}

type offsetWriter struct {
	w   io.WriterAt
	off int64
}

func (o *offsetWriter) writeAt(b []byte, at int64) error {
	if _, err := o.w.WriteAt(b, o.off+at); err != nil {
		return fmt.Errorf("write the FAT file system: %w", err)
	}
	return nil
}

func writeFile(fsys fs.FS, n *node, w *offsetWriter, l layout) error {
	f, err := fsys.Open(n.path)
	if err != nil {
		return err
	}
	defer f.Close()
	at := l.clusterOffset(n.first)
	dst := io.NewOffsetWriter(w.w, w.off+at)
	copied, err := io.CopyBuffer(dst, io.LimitReader(f, n.size), make([]byte, 1<<20))
	if err != nil {
		return fmt.Errorf("copy %s into the FAT file system: %w", n.path, err)
	}
	if copied != n.size {
		return fmt.Errorf("read %s: %d bytes, expected %d: it changed while being copied", n.path, copied, n.size)
	}
	if extra, _ := f.Read(make([]byte, 1)); extra > 0 {
		return fmt.Errorf("read %s: it grew while being copied", n.path)
	}
	// Zeros to the end of the last cluster: no old data shows through.
	if slack := int64(n.clusters)*l.clusterSize() - n.size; slack > 0 {
		return w.writeAt(make([]byte, slack), at+n.size)
	}
	return nil
}

// readTree reads fsys's tree under n, sorted by name.
func readTree(fsys fs.FS, n *node, files *int) error {
	entries, err := fs.ReadDir(fsys, n.path)
	if err != nil {
		return err
	}
	taken := map[[11]byte]bool{}
	folded := map[string]string{}
	// Names that are already 8.3 keep their short names; the others get
	// aliases after them.
	for _, e := range entries {
		if err := checkName(e.Name()); err != nil {
			return fmt.Errorf("%s: %w", path.Join(n.path, e.Name()), err)
		}
		if other, ok := folded[strings.ToUpper(e.Name())]; ok {
			return fmt.Errorf("%s and %s: FAT names ignore case", path.Join(n.path, other), e.Name())
		}
		folded[strings.ToUpper(e.Name())] = e.Name()
		if s, ok := shortName(e.Name()); ok {
			taken[s] = true
		}
	}
	for _, e := range entries {
		c := &node{name: e.Name(), path: path.Join(n.path, e.Name())}
		if s, ok := shortName(c.name); ok {
			c.short = s
		} else {
			c.long = true
			c.short = alias(c.name, taken)
			taken[c.short] = true
		}
		switch {
		case e.IsDir():
			c.dir = true
			if err := readTree(fsys, c, files); err != nil {
				return err
			}
		case e.Type().IsRegular():
			fi, err := e.Info()
			if err != nil {
				return err
			}
			if fi.Size() > 0xffffffff {
				return fmt.Errorf("%s: %d bytes, more than a FAT file can hold", c.path, fi.Size())
			}
			c.size = fi.Size()
			*files++
		default:
			kind := "a special file"
			if e.Type()&fs.ModeSymlink != 0 {
				kind = "a symbolic link"
			}
			return fmt.Errorf("%s: %s; a FAT file system holds only files and directories", c.path, kind)
		}
		n.children = append(n.children, c)
	}
	slices.SortFunc(n.children, func(a, b *node) int { return strings.Compare(a.name, b.name) })
	return nil
}

// bytes is the space the node takes: a file's size, a directory's
// entries.
func (n *node) bytes(isRoot bool, l layout) int64 {
	if !n.dir {
		return n.size
	}
	count := 2 // "." and "..", or the volume label (and one to spare)
	if isRoot {
		count = 1
	}
	for _, c := range n.children {
		count += 1 + c.longEntries()
	}
	return int64(count) * entryBytes
}

func (n *node) longEntries() int {
	if !n.long {
		return 0
	}
	return (len(utf16.Encode([]rune(n.name))) + 12) / 13
}

// stamp is a time in FAT's encoding.
type stamp struct {
	date, time uint16
	tenth      byte
}

func newStamp(t time.Time) stamp {
	t = t.UTC()
	switch {
	case t.Year() < 1980:
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	case t.Year() > 2107:
		t = time.Date(2107, 12, 31, 23, 59, 58, 0, time.UTC)
	}
	return stamp{
		date:  uint16((t.Year()-1980)<<9 | int(t.Month())<<5 | t.Day()),
		time:  uint16(t.Hour()<<11 | t.Minute()<<5 | t.Second()/2),
		tenth: byte(t.Second()%2) * 100,
	}
}

// shortEntry encodes a directory entry.
func shortEntry(name [11]byte, attr byte, first uint32, size uint32, s stamp) []byte {
	e := make([]byte, entryBytes)
	copy(e, name[:])
	e[11] = attr
	e[13] = s.tenth
	le := binary.LittleEndian
	le.PutUint16(e[14:], s.time)
	le.PutUint16(e[16:], s.date)
	le.PutUint16(e[18:], s.date)
	le.PutUint16(e[20:], uint16(first>>16))
	le.PutUint16(e[22:], s.time)
	le.PutUint16(e[24:], s.date)
	le.PutUint16(e[26:], uint16(first))
	le.PutUint32(e[28:], size)
	return e
}

const (
	attrVolumeID  = 0x08
	attrDirectory = 0x10
	attrArchive   = 0x20
	attrLongName  = 0x0f
)

// directory returns the directory's clusters.
func (n *node) directory(isRoot bool, label [11]byte, parent uint32, s stamp, l layout) []byte {
	buf := make([]byte, 0, int64(n.clusters)*l.clusterSize())
	if isRoot {
		buf = append(buf, shortEntry(label, attrVolumeID, 0, 0, s)...)
	} else {
		buf = append(buf, shortEntry([11]byte{'.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}, attrDirectory, n.first, 0, s)...)
		buf = append(buf, shortEntry([11]byte{'.', '.', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '}, attrDirectory, parent, 0, s)...)
	}
	for _, c := range n.children {
		if c.long {
			buf = append(buf, longEntries(c.name, c.short)...)
		}
		attr, size := byte(attrArchive), uint32(c.size)
		if c.dir {
			attr, size = attrDirectory, 0
		}
		buf = append(buf, shortEntry(c.short, attr, c.first, size, s)...)
	}
	return buf[:cap(buf)]
}

// longEntries encodes a long name, last part first, as VFAT stores it.
func longEntries(name string, short [11]byte) []byte {
	var sum byte
	for _, c := range short {
		sum = (sum&1)<<7 + sum>>1 + c
	}
	units := utf16.Encode([]rune(name))
	count := (len(units) + 12) / 13
	padded := make([]uint16, count*13)
	for i := range padded {
		switch {
		case i < len(units):
			padded[i] = units[i]
		case i == len(units):
			padded[i] = 0
		default:
			padded[i] = 0xffff
		}
	}
	out := make([]byte, 0, count*entryBytes)
	le := binary.LittleEndian
	for seq := count; seq >= 1; seq-- {
		e := make([]byte, entryBytes)
		e[0] = byte(seq)
		if seq == count {
			e[0] |= 0x40
		}
		e[11] = attrLongName
		e[13] = sum
		part := padded[(seq-1)*13 : seq*13]
		for i := 0; i < 5; i++ {
			le.PutUint16(e[1+2*i:], part[i])
		}
		for i := 0; i < 6; i++ {
			le.PutUint16(e[14+2*i:], part[5+i])
		}
		for i := 0; i < 2; i++ {
			le.PutUint16(e[28+2*i:], part[11+i])
		}
		out = append(out, e...)
	}
	return out
}

// shortChar reports whether c may stand in a short name.
func shortChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'()-@^_`{}~", c) >= 0
}

// shortName returns name as an 8.3 entry when it is one already (upper
// case, at most 8 + 3 characters of the short-name set).
func shortName(name string) ([11]byte, bool) {
	var s [11]byte
	base, ext, hasDot := strings.Cut(name, ".")
	if base == "" || len(base) > 8 || len(ext) > 3 || (hasDot && ext == "") || strings.Contains(ext, ".") {
		return s, false
	}
	for i := 0; i < len(base); i++ {
		if !shortChar(base[i]) {
			return s, false
		}
	}
	for i := 0; i < len(ext); i++ {
		if !shortChar(ext[i]) {
			return s, false
		}
	}
	copy(s[:], fmt.Sprintf("%-8s%-3s", base, ext))
	return s, true
}

// alias makes the short name of a long name: its characters upper-cased
// (others become '_'), the base cut to leave room for "~N", N the first
// number not taken in the directory.
func alias(name string, taken map[[11]byte]bool) [11]byte {
	clean := func(s string, n int) string {
		var b strings.Builder
		for _, r := range strings.ToUpper(s) {
			if b.Len() == n {
				break
			}
			switch {
			case r == ' ' || r == '.':
			case r < 0x80 && shortChar(byte(r)):
				b.WriteRune(r)
			default:
				b.WriteByte('_')
			}
		}
		return b.String()
	}
	trimmed := strings.TrimLeft(name, ". ")
	base, ext := trimmed, ""
	if i := strings.LastIndexByte(trimmed, '.'); i > 0 {
		base, ext = trimmed[:i], trimmed[i+1:]
	}
	b, e := clean(base, 8), clean(ext, 3)
	if b == "" {
		b = "_"
	}
	for n := 1; ; n++ {
		tail := fmt.Sprintf("~%d", n)
		var s [11]byte
		copy(s[:], fmt.Sprintf("%-8s%-3s", b[:min(len(b), 8-len(tail))]+tail, e))
		if !taken[s] {
			return s
		}
	}
}

// checkName refuses names no FAT file system can hold.
func checkName(name string) error {
	if len(utf16.Encode([]rune(name))) > 255 {
		return errors.New("a name longer than 255 characters")
	}
	if strings.TrimRight(name, ". ") != name {
		return errors.New("a name ending in a dot or a space")
	}
	for _, r := range name {
		if r < 0x20 || strings.ContainsRune(`"*/:<>?\|`, r) {
			return fmt.Errorf("the character %q is not allowed in FAT names", r)
		}
	}
	return nil
}

func volumeLabel(s string) ([11]byte, error) {
	var l [11]byte
	if s == "" {
		s = "NO NAME"
	}
	if len(s) > 11 {
		return l, fmt.Errorf("volume label %q: at most 11 characters", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !shortChar(c) && c != ' ' {
			return l, fmt.Errorf("volume label %q: use upper-case letters, digits, - and _", s)
		}
	}
	copy(l[:], fmt.Sprintf("%-11s", s))
	return l, nil
}

// bootArea returns the reserved sectors: the boot sector (with a boot
// code that halts: a loader's installer replaces it), FSInfo and their
// copies.
func bootArea(l layout, o Options, label [11]byte, used uint32) []byte {
	area := make([]byte, reserved*sectorSize)
	b := area[:sectorSize]
	copy(b, []byte{0xeb, 0x58, 0x90})
	copy(b[3:], "MSWIN4.1")
	le := binary.LittleEndian
	le.PutUint16(b[11:], sectorSize)
	b[13] = byte(l.spc)
	le.PutUint16(b[14:], reserved)
	b[16] = numFATs
	b[21] = 0xf8 // fixed disk
	le.PutUint16(b[24:], 63)
	le.PutUint16(b[26:], 255)
	le.PutUint32(b[28:], o.HiddenSectors)
	le.PutUint32(b[32:], l.total)
	le.PutUint32(b[36:], l.fatSecs)
	le.PutUint32(b[44:], 2) // root directory cluster
	le.PutUint16(b[48:], 1) // FSInfo sector
	le.PutUint16(b[50:], 6) // backup boot sector
	b[64] = 0x80
	b[66] = 0x29
	le.PutUint32(b[67:], o.VolumeID)
	copy(b[71:82], label[:])
	copy(b[82:90], "FAT32   ")
	copy(b[90:], []byte{0xf4, 0xeb, 0xfd}) // hlt; jmp back
	b[510], b[511] = 0x55, 0xaa

	info := area[sectorSize : 2*sectorSize]
	le.PutUint32(info[0:], 0x41615252)
	le.PutUint32(info[484:], 0x61417272)
	le.PutUint32(info[488:], l.clusters-used)
	le.PutUint32(info[492:], 2+used)
	le.PutUint32(info[508:], 0xaa550000)

	copy(area[6*sectorSize:], b)
	copy(area[7*sectorSize:], info)
	return area
}
