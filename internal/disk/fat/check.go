package fat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"path"
	"strings"
	"unicode/utf16"
)

// FAT is not crash-safe: a rename or a new file is several writes (a
// directory entry, FAT entries in two copies, FSInfo) that a power cut
// can keep in part. Linux then finds a cluster chain that runs into a
// free cluster, or two files sharing clusters, and remounts the file
// system read-only on the first write that meets it. Check finds what
// such a cut leaves, and repairs it as dosfstools' fsck.fat -a would,
// so that a boot partition no Alpine base system can fsck (dosfstools is
// not in it) stays writable.
//
// Unlike fsck.fat, a file whose clusters are damaged is removed, not
// truncated: the files cairn keeps on a boot partition are named by their
// content, and a missing one is written again by the next boot sync,
// while a truncated one would be taken as whole.

// Device is what Check reads and, repairing, writes: the file system's
// bytes from offset 0 (a partition's block device, or an image).
type Device interface {
	io.ReaderAt
	io.WriterAt
}

// Problem is an inconsistency Check found.
type Problem struct {
	// Path is the file or directory ("/"-separated from the root), or ""
	// for the file system as a whole.
	Path string `json:"path"`
	// What is wrong; Repair is what repairing does.
	What   string `json:"what"`
	Repair string `json:"repair"`
}

func (p Problem) String() string {
	where := p.Path
	if where == "" {
		where = "the file system"
	}
	return fmt.Sprintf("%s: %s; %s", where, p.What, p.Repair)
}

// Report is what Check found.
type Report struct {
	// Bits is the FAT's entry width: 12, 16 or 32.
	Bits int `json:"bits"`
	// Problems found; with repair they are all repaired once Check
	// returns without an error.
	Problems []Problem `json:"problems"`
}

// UncheckedError says Check could not take the device's bytes for a FAT
// file system it can check (no boot sector signature, a geometry that
// does not add up): it changed nothing.
type UncheckedError struct{ Err error }

func (e *UncheckedError) Error() string { return e.Err.Error() }
func (e *UncheckedError) Unwrap() error { return e.Err }

// Check checks the FAT file system on dev: its cluster chains (within
// the file system, not free, not shared, not looping, as long as the
// sizes say), the clusters no file owns, the FAT's copies, FSInfo's free
// count and the dirty flag Linux sets while it is mounted. With repair
// it fixes what it found: damaged files and directory entries removed,
// over-long chains cut to their files' sizes, lost clusters freed, the
// first FAT copied over the others, the free count set and the dirty
// flag cleared, in that order. dev must not be mounted.
func Check(dev Device, repair bool) (Report, error) {
	v, err := readVolume(dev)
	if err != nil {
		return Report{}, &UncheckedError{Err: err}
	}
	c := &checker{v: v, owner: make([]int32, v.clusters+2), paths: []string{""}}
	if err := c.walk(); err != nil {
		// Nothing is repaired: what a directory that cannot be read
		// holds would count as lost and be freed.
		return Report{Bits: v.bits, Problems: c.problems}, err
	}
	c.lost()
	c.copies()
	c.info()
	if v.dirty() {
		c.problem("", "it was not unmounted cleanly (its dirty flag is set: a crash or a power cut while it was mounted)", "clear the flag")
	}
	r := Report{Bits: v.bits, Problems: c.problems}
	if !repair || len(c.problems) == 0 {
		return r, nil
	}
	return r, c.write()
}

// volume is a FAT file system's geometry and its first FAT.
type volume struct {
	dev                                     Device
	boot                                    []byte // the boot sector
	bits                                    int
	sectorSize, clusterSize                 int64
	fatStart, fatSize, rootStart, dataStart int64 // byte offsets and sizes
	nFATs                                   int
	rootEntries                             int    // FAT12/16's fixed root directory
	rootCluster                             uint32 // FAT32's
	clusters                                uint32 // data clusters: numbers 2 to clusters+1
	infoSector                              int64  // FAT32's FSInfo, 0 if none
	fat                                     []byte // the first FAT, as the repairs change it
	read                                    []byte // the first FAT as it was read
}

func readVolume(dev Device) (*volume, error) {
	b := make([]byte, 512)
	if _, err := dev.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("read the boot sector: %w", err)
	}
	le := binary.LittleEndian
	if b[510] != 0x55 || b[511] != 0xaa {
		return nil, errors.New("no FAT file system: the boot sector has no 55 AA signature")
	}
	v := &volume{dev: dev, boot: b, sectorSize: int64(le.Uint16(b[11:])), nFATs: int(b[16]), rootEntries: int(le.Uint16(b[17:]))}
	spc := int64(b[13])
	reservedSecs := int64(le.Uint16(b[14:]))
	if v.sectorSize < 512 || v.sectorSize > 4096 || bits.OnesCount64(uint64(v.sectorSize)) != 1 || spc == 0 || bits.OnesCount64(uint64(spc)) != 1 || reservedSecs == 0 || v.nFATs == 0 {
		return nil, fmt.Errorf("no FAT file system: its boot sector's geometry is invalid (%d-byte sectors, %d per cluster, %d reserved, %d FATs)", v.sectorSize, spc, reservedSecs, v.nFATs)
	}
	v.clusterSize = spc * v.sectorSize
	total := int64(le.Uint16(b[19:]))
	if total == 0 {
		total = int64(le.Uint32(b[32:]))
	}
	// As Linux decides: FAT32 is the file system whose 16-bit FAT size is
	// 0; the others are FAT12 or FAT16 by their number of clusters.
	fatSecs := int64(le.Uint16(b[22:]))
	fat32 := fatSecs == 0
	if fat32 {
		fatSecs = int64(le.Uint32(b[36:]))
	}
	rootSecs := (int64(v.rootEntries)*entryBytes + v.sectorSize - 1) / v.sectorSize
	dataSec := reservedSecs + int64(v.nFATs)*fatSecs + rootSecs
	if fatSecs == 0 || total <= dataSec {
		return nil, errors.New("no FAT file system: its boot sector leaves no data area")
	}
	// The last sector must be there before anything its size implies is
	// allocated, as fsck.fat checks it first.
	if _, err := dev.ReadAt(make([]byte, 1), total*v.sectorSize-1); err != nil {
		return nil, fmt.Errorf("the file system's last sector (%d) cannot be read: is it larger than its device? %w", total-1, err)
	}
	count := (total - dataSec) / spc
	if count > 0x0ffffff5 {
		return nil, fmt.Errorf("no usable FAT file system: %d clusters is more than FAT32 numbers", count)
	}
	switch {
	case fat32:
		v.bits = 32
	case count < 4085:
		v.bits = 12
	default:
		v.bits = 16
		if count > 0xfff4 {
			return nil, fmt.Errorf("no usable FAT file system: %d clusters is more than FAT16 numbers", count)
		}
	}
	v.clusters = uint32(count)
	v.fatStart = reservedSecs * v.sectorSize
	v.fatSize = fatSecs * v.sectorSize
	v.rootStart = v.fatStart + int64(v.nFATs)*v.fatSize
	v.dataStart = dataSec * v.sectorSize
	if v.bits == 32 {
		// The mirroring flags (offset 40) are ignored, as Linux and
		// fsck.fat ignore them: FAT 0 is read, every copy written.
		v.rootCluster = le.Uint32(b[44:])
		if s := int64(le.Uint16(b[48:])); s != 0 && s != 0xffff && s < reservedSecs {
			v.infoSector = s
		}
		if v.rootCluster < 2 || v.rootCluster > v.clusters+1 {
			return nil, errors.New("no usable FAT32 file system: its boot sector names a root directory it does not have")
		}
	}
	if int64(v.clusters)+2 > v.fatSize*8/int64(v.bits) {
		return nil, fmt.Errorf("no usable FAT file system: its FATs (%d bytes) are too small for its %d clusters", v.fatSize, v.clusters)
	}
	v.fat = make([]byte, v.fatSize)
	if _, err := dev.ReadAt(v.fat, v.fatStart); err != nil {
		return nil, fmt.Errorf("read the FAT: %w", err)
	}
	v.read = bytes.Clone(v.fat)
	return v, nil
}

// Entry values, as entry and setEntry see them whatever the width.
const (
	free     = 0
	bad      = 0x0ffffff7
	endChain = 0x0fffffff
)

func (v *volume) entry(n uint32) uint32 {
	le := binary.LittleEndian
	switch v.bits {
	case 12:
		e := uint32(le.Uint16(v.fat[n+n/2:]))
		if n%2 == 1 {
			e >>= 4
		}
		e &= 0xfff
		if e >= 0xff7 {
			e |= 0x0ffff000
		}
		return e
	case 16:
		e := uint32(le.Uint16(v.fat[2*n:]))
		if e >= 0xfff7 {
			e |= 0x0fff0000
		}
		return e
	}
	return le.Uint32(v.fat[4*n:]) & 0x0fffffff
}

func (v *volume) setEntry(n, e uint32) {
	le := binary.LittleEndian
	switch v.bits {
	case 12:
		e &= 0xfff
		o := le.Uint16(v.fat[n+n/2:])
		if n%2 == 1 {
			o = o&0x000f | uint16(e)<<4
		} else {
			o = o&0xf000 | uint16(e)
		}
		le.PutUint16(v.fat[n+n/2:], o)
	case 16:
		le.PutUint16(v.fat[2*n:], uint16(e))
	default:
		// The top four bits are reserved: kept as they are.
		le.PutUint32(v.fat[4*n:], le.Uint32(v.fat[4*n:])&0xf0000000|e&0x0fffffff)
	}
}

// stateOffset is where the boot sector keeps the flags Linux sets while
// the file system is mounted (bit 0: dirty).
func (v *volume) stateOffset() int {
	if v.bits == 32 {
		return 65
	}
	return 37
}

// dirty reports Linux's dirty flag. The byte is the flag only in a boot
// sector with an extended boot signature (0x28 or 0x29 after it); in an
// older one it is boot code.
func (v *volume) dirty() bool {
	o := v.stateOffset()
	return (v.boot[o+1] == 0x28 || v.boot[o+1] == 0x29) && v.boot[o]&1 != 0
}

func (v *volume) clusterOffset(c uint32) int64 {
	return v.dataStart + int64(c-2)*v.clusterSize
}

// dirent is a directory entry: its 32 bytes and where they lie.
type dirent struct {
	at  int64
	raw [entryBytes]byte
}

// change is a directory entry to write back.
type change struct {
	at  int64
	raw [entryBytes]byte
}

type checker struct {
	v *volume
	// owner[c] is the index in paths of the file or directory whose
	// chain holds cluster c; 0 for none.
	owner    []int32
	paths    []string
	problems []Problem
	changes  []change
	fatDirty bool
	// FSInfo's sector, when it is sound, and whether its count is wrong.
	infoBuf   []byte
	infoDirty bool
}

func (c *checker) problem(p, what, repair string) {
	c.problems = append(c.problems, Problem{Path: p, What: what, Repair: repair})
}

// chain follows the chain from first, claiming its clusters for id,
// until its end or the first cluster it cannot have: then broken says
// why.
func (c *checker) chain(first uint32, id int32) (clusters []uint32, broken string) {
	v := c.v
	n := first
	for {
		switch {
		case n < 2 || n > v.clusters+1:
			if len(clusters) == 0 {
				return clusters, fmt.Sprintf("it starts at cluster %d, outside the file system", n)
			}
			return clusters, fmt.Sprintf("its cluster %d links to %d, outside the file system", clusters[len(clusters)-1], n)
		case v.entry(n) == free:
			return clusters, fmt.Sprintf("its cluster %d is free in the FAT", n)
		case v.entry(n) == bad:
			return clusters, fmt.Sprintf("its cluster %d is marked bad", n)
		case c.owner[n] == id:
			return clusters, fmt.Sprintf("its chain loops back to cluster %d", n)
		case c.owner[n] != 0:
			return clusters, fmt.Sprintf("its cluster %d belongs to %s too", n, c.paths[c.owner[n]])
		}
		c.owner[n] = id
		clusters = append(clusters, n)
		next := v.entry(n)
		if next >= 0x0ffffff8 {
			return clusters, ""
		}
		n = next
	}
}

// release gives up clusters claimed for a removed file or the tail of a
// cut chain. They are not freed in the FAT yet: a chain walked later may
// run through them rightly (the removed file ran into it), and would be
// taken for damaged; lost frees whatever nobody holds once the walk is
// done.
func (c *checker) release(clusters []uint32) {
	for _, n := range clusters {
		c.owner[n] = 0
	}
}

// cut ends a chain after keep clusters, giving up the rest.
func (c *checker) cut(clusters []uint32, keep int) {
	c.v.setEntry(clusters[keep-1], endChain)
	c.release(clusters[keep:])
	c.fatDirty = true
}

// remove marks a directory entry, and the long-name entries before it,
// deleted.
func (c *checker) remove(ents []dirent, i int) {
	for j := i; j >= 0; j-- {
		if j < i && ents[j].raw[11] != 0x0f {
			break
		}
		ch := change{at: ents[j].at, raw: ents[j].raw}
		ch.raw[0] = 0xe5
		c.changes = append(c.changes, ch)
		if j < i && ents[j].raw[0]&0x40 != 0 {
			break // the long name's first entry
		}
	}
}

// readDir reads a directory's entries: FAT12/16's fixed root (clusters
// nil) or the clusters of a chain.
func (c *checker) readDir(clusters []uint32) ([]dirent, error) {
	v := c.v
	var regions [][2]int64
	if clusters == nil {
		regions = append(regions, [2]int64{v.rootStart, int64(v.rootEntries) * entryBytes})
	}
	for _, n := range clusters {
		regions = append(regions, [2]int64{v.clusterOffset(n), v.clusterSize})
	}
	var ents []dirent
	for _, r := range regions {
		b := make([]byte, r[1])
		if _, err := v.dev.ReadAt(b, r[0]); err != nil {
			return nil, fmt.Errorf("read a directory: %w", err)
		}
		for o := 0; o+entryBytes <= len(b); o += entryBytes {
			var e dirent
			e.at = r[0] + int64(o)
			copy(e.raw[:], b[o:])
			ents = append(ents, e)
		}
	}
	return ents, nil
}

type pendingDir struct {
	path     string
	clusters []uint32 // nil: FAT12/16's root
}

// walk follows every directory from the root, checking each entry's
// chain.
func (c *checker) walk() error {
	v := c.v
	root := pendingDir{path: "/"}
	if v.bits == 32 {
		c.paths = append(c.paths, "/")
		clusters, broken := c.chain(v.rootCluster, 1)
		if broken != "" {
			c.problem("/", "the root directory's chain is broken: "+broken, "end it there: entries past that point are lost")
			if len(clusters) == 0 {
				// Its first cluster, whatever the FAT says of it: what
				// it holds is read, garbage removed entry by entry.
				c.owner[v.rootCluster] = 1
				clusters = []uint32{v.rootCluster}
			}
			c.cut(clusters, len(clusters))
		}
		root.clusters = clusters
	}
	queue := []pendingDir{root}
	for len(queue) > 0 {
		d := queue[0]
		queue = queue[1:]
		ents, err := c.readDir(d.clusters)
		if err != nil {
			return fmt.Errorf("%s: %w", d.path, err)
		}
		for i := range ents {
			sub, ok, err := c.entry(d.path, ents, i)
			if err != nil {
				return err
			}
			if ok {
				queue = append(queue, sub)
			}
		}
		c.orphans(d.path, ents)
	}
	return nil
}

// entry checks a directory's entry i; a sound subdirectory is returned
// to be walked. The error is a device's.
func (c *checker) entry(dir string, ents []dirent, i int) (pendingDir, bool, error) {
	v := c.v
	e := ents[i].raw
	attr := e[11]
	if e[0] == 0 || e[0] == 0xe5 || attr == 0x0f || attr&0x08 != 0 {
		return pendingDir{}, false, nil // free, deleted, a long-name part, the volume label
	}
	if n := string(e[:11]); n == ".          " || n == "..         " {
		return pendingDir{}, false, nil
	}
	name, ok := entryName(ents, i)
	p := path.Join(dir, name)
	if !ok {
		c.problem(path.Join(dir, fmt.Sprintf("%q", e[:11])), "a directory entry that is not one (invalid name: garbage)", "remove it")
		c.remove(ents, i)
		return pendingDir{}, false, nil
	}
	le := binary.LittleEndian
	first := uint32(le.Uint16(e[26:]))
	if v.bits == 32 {
		first |= uint32(le.Uint16(e[20:])) << 16
	}
	size := int64(le.Uint32(e[28:]))
	id := int32(len(c.paths))
	c.paths = append(c.paths, p)

	if attr&0x10 != 0 {
		if first == 0 {
			c.problem(p, "a directory without clusters", "remove it")
			c.remove(ents, i)
			return pendingDir{}, false, nil
		}
		clusters, broken := c.chain(first, id)
		switch {
		case broken == "":
		case len(clusters) == 0:
			c.problem(p, "a directory whose chain is broken: "+broken, "remove it, and what it held")
			c.remove(ents, i)
			return pendingDir{}, false, nil
		default:
			c.problem(p, "a directory whose chain is broken: "+broken, "end it there: entries past that point are lost")
			c.cut(clusters, len(clusters))
		}
		// Linux writes a new directory's cluster, its FAT entry and its
		// parent's entry in any order: a cut can keep the entry and
		// lose the cluster, whose old bytes would be read as entries
		// and claim other files' clusters. A directory's first cluster
		// starts with its . and .. entries.
		head := make([]byte, 2*entryBytes)
		if _, err := v.dev.ReadAt(head, v.clusterOffset(clusters[0])); err != nil {
			return pendingDir{}, false, fmt.Errorf("%s: read its first cluster: %w", p, err)
		}
		dot := uint32(le.Uint16(head[26:]))
		if v.bits == 32 {
			dot |= uint32(le.Uint16(head[20:])) << 16
		}
		if string(head[:11]) != ".          " || dot != first || string(head[entryBytes:entryBytes+11]) != "..         " {
			c.problem(p, "a directory whose first cluster does not start with its . and .. entries (it was being made when the power went)", "remove it")
			c.release(clusters)
			c.remove(ents, i)
			return pendingDir{}, false, nil
		}
		return pendingDir{path: p, clusters: clusters}, true, nil
	}

	need := int((size + v.clusterSize - 1) / v.clusterSize)
	if first == 0 {
		if size != 0 {
			c.problem(p, fmt.Sprintf("a file of %d bytes without clusters", size), "remove it")
			c.remove(ents, i)
		}
		return pendingDir{}, false, nil
	}
	clusters, broken := c.chain(first, id)
	switch {
	case need == 0:
		c.problem(p, fmt.Sprintf("an empty file that names cluster %d", first), "free its clusters")
		c.release(clusters)
		ch := change{at: ents[i].at, raw: e}
		le.PutUint16(ch.raw[26:], 0)
		le.PutUint16(ch.raw[20:], 0)
		c.changes = append(c.changes, ch)
	case len(clusters) > need:
		c.problem(p, fmt.Sprintf("its chain has %d clusters, its %d bytes need %d", len(clusters), size, need), "free the rest")
		c.cut(clusters, need)
	case len(clusters) == need && broken != "":
		c.problem(p, "its chain does not end: "+broken, "end it after its last cluster")
		c.cut(clusters, need)
	case need == 1 && len(clusters) == 0 && first >= 2 && first <= v.clusters+1 && v.entry(first) == free && c.owner[first] == 0:
		// A file of one cluster whose cluster the FAT has free: the
		// cut kept the freeing of a replaced file's clusters and lost
		// the directory's new entry, so the entry still names the old
		// copy, whose bytes are there. Taking the cluster back keeps
		// the file (a loader's menu most often) instead of leaving
		// none until the next write.
		c.problem(p, fmt.Sprintf("its one cluster %d is free in the FAT (a replacement cut short)", first), "take the cluster back: the file keeps the copy it names")
		c.owner[first] = id
		v.setEntry(first, endChain)
		c.fatDirty = true
	case len(clusters) < need:
		why := broken
		if why == "" {
			why = fmt.Sprintf("its chain has %d clusters, its %d bytes need %d", len(clusters), size, need)
		}
		c.problem(p, "damaged: "+why, "remove it")
		c.release(clusters)
		c.remove(ents, i)
	}
	return pendingDir{}, false, nil
}

// lost frees the clusters in use that no file or directory holds.
func (c *checker) lost() {
	v := c.v
	n := 0
	for cl := uint32(2); cl <= v.clusters+1; cl++ {
		if e := v.entry(cl); e != free && e != bad && c.owner[cl] == 0 {
			v.setEntry(cl, free)
			n++
		}
	}
	if n > 0 {
		c.fatDirty = true
		c.problem("", fmt.Sprintf("%d clusters in use that no file holds (lost chains, or what a removed file or a cut chain held)", n), "free them")
	}
}

// copies compares the other FATs with the first, the one Linux reads.
func (c *checker) copies() {
	v := c.v
	other := make([]byte, v.fatSize)
	for i := 1; i < v.nFATs; i++ {
		if _, err := v.dev.ReadAt(other, v.fatStart+int64(i)*v.fatSize); err != nil || !bytes.Equal(other, v.read) {
			c.problem("", fmt.Sprintf("FAT copy %d differs from the first", i+1), "write the first over it")
			c.fatDirty = true
			return
		}
	}
}

// info checks FSInfo's free-cluster count (FAT32).
func (c *checker) info() {
	v := c.v
	if v.infoSector == 0 {
		return
	}
	b := make([]byte, 512)
	if _, err := v.dev.ReadAt(b, v.infoSector*v.sectorSize); err != nil {
		return
	}
	le := binary.LittleEndian
	if le.Uint32(b[0:]) != 0x41615252 || le.Uint32(b[484:]) != 0x61417272 {
		return
	}
	var freeCount uint32
	for cl := uint32(2); cl <= v.clusters+1; cl++ {
		if v.entry(cl) == free {
			freeCount++
		}
	}
	if got := le.Uint32(b[488:]); got != 0xffffffff && got != freeCount {
		c.problem("", fmt.Sprintf("FSInfo counts %d free clusters, the FAT has %d", got, freeCount), "set the count")
		c.infoDirty = true
	}
	c.infoBuf = b
}

// write makes the repairs: directory entries first, then the FATs,
// FSInfo, and last the dirty flag, so that a repair cut short leaves the
// file system marked for another.
func (c *checker) write() error {
	v := c.v
	for _, ch := range c.changes {
		if _, err := v.dev.WriteAt(ch.raw[:], ch.at); err != nil {
			return fmt.Errorf("repair a directory entry: %w", err)
		}
	}
	if c.fatDirty {
		// Only the sectors that change, the first FAT synced before the
		// others are written: a cut during the repair cannot tear both.
		was := v.read
		for i := 0; i < v.nFATs; i++ {
			at := v.fatStart + int64(i)*v.fatSize
			if i > 0 {
				was = make([]byte, v.fatSize)
				if _, err := v.dev.ReadAt(was, at); err != nil {
					return fmt.Errorf("read FAT %d: %w", i+1, err)
				}
			}
			for o := int64(0); o < v.fatSize; o += v.sectorSize {
				if sector := v.fat[o : o+v.sectorSize]; !bytes.Equal(sector, was[o:o+v.sectorSize]) {
					if _, err := v.dev.WriteAt(sector, at+o); err != nil {
						return fmt.Errorf("write FAT %d: %w", i+1, err)
					}
				}
			}
			if i == 0 {
				if err := syncDevice(v.dev); err != nil {
					return err
				}
			}
		}
	}
	if c.infoBuf != nil && (c.infoDirty || c.fatDirty) {
		var freeCount uint32
		for cl := uint32(2); cl <= v.clusters+1; cl++ {
			if v.entry(cl) == free {
				freeCount++
			}
		}
		binary.LittleEndian.PutUint32(c.infoBuf[488:], freeCount)
		if _, err := v.dev.WriteAt(c.infoBuf, v.infoSector*v.sectorSize); err != nil {
			return fmt.Errorf("write FSInfo: %w", err)
		}
	}
	if err := syncDevice(v.dev); err != nil {
		return err
	}
	if v.dirty() {
		state := []byte{v.boot[v.stateOffset()] &^ 1}
		if _, err := v.dev.WriteAt(state, int64(v.stateOffset())); err != nil {
			return fmt.Errorf("clear the dirty flag: %w", err)
		}
		v.boot[v.stateOffset()] = state[0]
	}
	return syncDevice(v.dev)
}

// syncDevice flushes a device that can be flushed (an *os.File).
func syncDevice(dev Device) error {
	if s, ok := dev.(interface{ Sync() error }); ok {
		if err := s.Sync(); err != nil {
			return fmt.Errorf("flush the repairs: %w", err)
		}
	}
	return nil
}

// entryName is the name of directory entry i: its long name when the
// long-name entries before it belong to it, else its 8.3 name. ok is
// false for a short name no FAT driver writes.
func entryName(ents []dirent, i int) (string, bool) {
	e := ents[i].raw
	for k, ch := range e[:11] {
		// dosfstools' bad_name: what no FAT driver writes.
		if ch < 0x20 && !(k == 0 && ch == 0x05) || ch == 0x7f || strings.IndexByte(`"*/:<>?\|`, ch) >= 0 {
			return "", false
		}
	}
	if long, n := longName(ents, i); n > 0 {
		return long, true
	}
	base := strings.TrimRight(string(e[:8]), " ")
	if base == "" {
		return "", false
	}
	if e[0] == 0x05 {
		base = "\xe5" + base[1:]
	}
	if e[12]&0x08 != 0 {
		base = strings.ToLower(base)
	}
	ext := strings.TrimRight(string(e[8:11]), " ")
	if e[12]&0x10 != 0 {
		ext = strings.ToLower(ext)
	}
	if ext != "" {
		base += "." + ext
	}
	return base, true
}

// longName assembles the long name stored before entry i, checking the
// sequence numbers and the checksum of the short name; n is the number of
// long-name entries it takes (0: none that belong to entry i).
func longName(ents []dirent, i int) (name string, n int) {
	short := ents[i].raw
	var sum byte
	for _, ch := range short[:11] {
		sum = (sum&1)<<7 + sum>>1 + ch
	}
	var units []uint16
	le := binary.LittleEndian
	for seq, j := 1, i-1; j >= 0; seq, j = seq+1, j-1 {
		e := ents[j].raw
		if e[11] != 0x0f || e[0] == 0xe5 || int(e[0]&0x1f) != seq || e[13] != sum {
			return "", 0
		}
		for _, r := range [][2]int{{1, 11}, {14, 26}, {28, 32}} {
			for o := r[0]; o < r[1]; o += 2 {
				units = append(units, le.Uint16(e[o:]))
			}
		}
		if e[0]&0x40 != 0 {
			for k, u := range units {
				if u == 0 {
					units = units[:k]
					break
				}
			}
			if len(units) == 0 {
				return "", 0
			}
			return string(utf16.Decode(units)), seq
		}
	}
	return "", 0
}

// orphans removes the long-name entries that belong to no file after
// them, what a create or a delete cut short leaves: Linux skips them,
// fsck.fat -a removes them.
func (c *checker) orphans(dir string, ents []dirent) {
	claimed := make([]bool, len(ents))
	for i, e := range ents {
		if e.raw[0] != 0 && e.raw[0] != 0xe5 && e.raw[11] != 0x0f {
			if _, n := longName(ents, i); n > 0 {
				for j := i - n; j < i; j++ {
					claimed[j] = true
				}
			}
		}
	}
	n := 0
	for i, e := range ents {
		if e.raw[11] == 0x0f && e.raw[0] != 0 && e.raw[0] != 0xe5 && !claimed[i] {
			ch := change{at: e.at, raw: e.raw}
			ch.raw[0] = 0xe5
			c.changes = append(c.changes, ch)
			n++
		}
	}
	if n > 0 {
		c.problem(dir, fmt.Sprintf("%d long-name entries that belong to no file (a create or a delete cut short)", n), "remove them")
	}
}
