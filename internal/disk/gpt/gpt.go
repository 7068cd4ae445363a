// Package gpt reads and writes GUID partition tables (UEFI specification,
// chapter 5): the protective MBR, the primary header and entries at the
// start of the disk and their backup at its end. It also grows a table
// onto a disk that became larger, moving the backup to the new end and
// extending the last partition (Grow), which is what a disk image needs on
// its first boot on a bigger disk.
//
// Everything works on an io.ReaderAt/io.WriterAt of the whole disk (an
// image file or a block device) and is pure Go.
package gpt

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"unicode/utf16"
)

// Partition attribute bits (UEFI specification, table 5.7).
const (
	AttrRequired  = 1 << 0
	AttrNoBlockIO = 1 << 1
	// AttrLegacyBIOSBootable marks the partition whose boot sector a
	// GPT-aware MBR (syslinux's gptmbr.bin) starts on a BIOS machine.
	AttrLegacyBIOSBootable = 1 << 2
)

const (
	signature  = "EFI PART"
	revision   = 0x00010000
	headerSize = 92
	entrySize  = 128
	// EntryCount is the number of entries in a table cairn writes: the
	// minimum the specification allows (16 KiB of entries).
	EntryCount = 128
	nameChars  = 36
)

// Partition is one used entry of the table.
type Partition struct {
	// Number is the entry's position, from 1 (Linux's partition number).
	Number int
	Type   GUID
	GUID   GUID
	// First and Last are the first and last sector, inclusive.
	First, Last uint64
	Attributes  uint64
	// Name is at most 36 UTF-16 code units.
	Name string
}

// Sectors is the partition's length in sectors.
func (p Partition) Sectors() uint64 { return p.Last - p.First + 1 }

// Table is a disk's partition table.
type Table struct {
	// SectorSize is the disk's logical sector size: 512 when zero.
	SectorSize int
	DiskGUID   GUID
	// FirstUsable and LastUsable bound the partitions. Write sets them
	// from the disk's size; Read reports them.
	FirstUsable, LastUsable uint64
	// Alternate is where the header read says the other header is (Read);
	// on a disk that grew, it is no longer the last sector.
	Alternate uint64
	// Partitions in entry order.
	Partitions []Partition
	// BootCode is the protective MBR's boot code, at most 440 bytes
	// (syslinux's gptmbr.bin for BIOS machines); Read returns it.
	BootCode []byte
}

func (t *Table) sectorSize() int64 {
	if t.SectorSize == 0 {
		return 512
	}
	return int64(t.SectorSize)
}

// entrySectors is the number of sectors the entry array fills.
func (t *Table) entrySectors() uint64 {
	return uint64((EntryCount*entrySize + t.sectorSize() - 1) / t.sectorSize())
}

// Usable returns the first and last sector partitions may use on a disk
// of size bytes.
func (t *Table) Usable(size int64) (first, last uint64) {
	lastLBA := uint64(size/t.sectorSize()) - 1
	return 2 + t.entrySectors(), lastLBA - 1 - t.entrySectors()
}

// Partition returns the partition with entry number n.
func (t *Table) Partition(n int) (Partition, bool) {
	for _, p := range t.Partitions {
		if p.Number == n {
			return p, true
		}
	}
	return Partition{}, false
}

// check reports what is wrong with the table for a disk whose usable
// sectors are first..last.
func (t *Table) check(first, last uint64) error {
	if s := t.sectorSize(); s != 512 && s != 4096 {
		return fmt.Errorf("sector size %d: want 512 or 4096", s)
	}
	if first > last {
		return errors.New("the disk is too small for a partition table")
	}
	if len(t.BootCode) > 440 {
		return fmt.Errorf("boot code of %d bytes: the protective MBR holds at most 440", len(t.BootCode))
	}
	var errs []error
	seen := map[int]bool{}
	for _, p := range t.Partitions {
		switch {
		case p.Number < 1 || p.Number > EntryCount:
			errs = append(errs, fmt.Errorf("partition %d: numbers go from 1 to %d", p.Number, EntryCount))
		case seen[p.Number]:
			errs = append(errs, fmt.Errorf("partition %d: given twice", p.Number))
		}
		seen[p.Number] = true
		if p.Type.IsZero() {
			errs = append(errs, fmt.Errorf("partition %d: no type GUID", p.Number))
		}
		if p.First > p.Last || p.First < first || p.Last > last {
			errs = append(errs, fmt.Errorf("partition %d: sectors %d-%d lie outside the usable sectors %d-%d", p.Number, p.First, p.Last, first, last))
		}
		if len(utf16.Encode([]rune(p.Name))) > nameChars {
			errs = append(errs, fmt.Errorf("partition %d: name %q is longer than %d UTF-16 code units", p.Number, p.Name, nameChars))
		}
	}
	sorted := slices.Clone(t.Partitions)
	slices.SortFunc(sorted, func(a, b Partition) int { return cmp.Compare(a.First, b.First) })
	for i := 1; i < len(sorted); i++ {
		if sorted[i].First <= sorted[i-1].Last {
			errs = append(errs, fmt.Errorf("partitions %d and %d overlap", sorted[i-1].Number, sorted[i].Number))
		}
	}
	return errors.Join(errs...)
}

// Write writes the protective MBR, the primary table and the backup
// table of a disk of size bytes. FirstUsable, LastUsable and Alternate
// are set from the size.
func (t *Table) Write(w io.WriterAt, size int64) error {
	ss := t.sectorSize()
	if size%ss != 0 || size < 3*ss+2*int64(t.entrySectors())*ss {
		return fmt.Errorf("disk of %d bytes: too small for a partition table, or not a whole number of %d-byte sectors", size, ss)
	}
	t.FirstUsable, t.LastUsable = t.Usable(size)
	if err := t.check(t.FirstUsable, t.LastUsable); err != nil {
		return err
	}
	lastLBA := uint64(size/ss) - 1
	t.Alternate = lastLBA
	entries := t.encodeEntries()
	if _, err := w.WriteAt(t.protectiveMBR(lastLBA), 0); err != nil {
		return fmt.Errorf("protective MBR: %w", err)
	}
	// Backup first, then primary: a reader that finds the primary finds
	// a complete backup too.
	backupEntries := lastLBA - t.entrySectors()
	if err := t.writeCopy(w, entries, lastLBA, 1, backupEntries); err != nil {
		return fmt.Errorf("backup partition table: %w", err)
	}
	if err := t.writeCopy(w, entries, 1, lastLBA, 2); err != nil {
		return fmt.Errorf("primary partition table: %w", err)
	}
	return nil
}

// writeCopy writes entries at entryLBA and a header at lba naming
// alternate as the other copy.
func (t *Table) writeCopy(w io.WriterAt, entries []byte, lba, alternate, entryLBA uint64) error {
	ss := t.sectorSize()
	if _, err := w.WriteAt(entries, int64(entryLBA)*ss); err != nil {
		return err
	}
	_, err := w.WriteAt(t.header(lba, alternate, entryLBA, crc32.ChecksumIEEE(entries)), int64(lba)*ss)
	return err
}

func (t *Table) protectiveMBR(lastLBA uint64) []byte {
	mbr := make([]byte, t.sectorSize())
	copy(mbr, t.BootCode)
	e := mbr[446:462]
	e[0] = 0x00                            // not active: UEFI ignores it, BIOSes do not need it
	copy(e[1:4], []byte{0x00, 0x02, 0x00}) // CHS of sector 1
	e[4] = 0xee                            // GPT protective
	copy(e[5:8], []byte{0xff, 0xff, 0xff})
	binary.LittleEndian.PutUint32(e[8:], 1)
	binary.LittleEndian.PutUint32(e[12:], uint32(min(lastLBA, 0xffffffff)))
	mbr[510], mbr[511] = 0x55, 0xaa
	return mbr
}

func (t *Table) header(lba, alternate, entryLBA uint64, entriesCRC uint32) []byte {
	h := make([]byte, t.sectorSize())
	copy(h, signature)
	le := binary.LittleEndian
	le.PutUint32(h[8:], revision)
	le.PutUint32(h[12:], headerSize)
	le.PutUint64(h[24:], lba)
	le.PutUint64(h[32:], alternate)
	le.PutUint64(h[40:], t.FirstUsable)
	le.PutUint64(h[48:], t.LastUsable)
	g := t.DiskGUID.encode()
	copy(h[56:72], g[:])
	le.PutUint64(h[72:], entryLBA)
	le.PutUint32(h[80:], EntryCount)
	le.PutUint32(h[84:], entrySize)
	le.PutUint32(h[88:], entriesCRC)
	le.PutUint32(h[16:], crc32.ChecksumIEEE(h[:headerSize]))
	return h
}

func (t *Table) encodeEntries() []byte {
	buf := make([]byte, int64(t.entrySectors())*t.sectorSize())
	le := binary.LittleEndian
	for _, p := range t.Partitions {
		e := buf[(p.Number-1)*entrySize:]
		ty, id := p.Type.encode(), p.GUID.encode()
		copy(e[0:16], ty[:])
		copy(e[16:32], id[:])
		le.PutUint64(e[32:], p.First)
		le.PutUint64(e[40:], p.Last)
		le.PutUint64(e[48:], p.Attributes)
		for i, u := range utf16.Encode([]rune(p.Name)) {
			le.PutUint16(e[56+2*i:], u)
		}
	}
	return buf
}

// Read reads the table of a disk of size bytes: the primary copy, or the
// backup at the disk's last sector when the primary is damaged. sectorSize
// is the disk's logical sector size (0 for 512).
func Read(r io.ReaderAt, size int64, sectorSize int) (*Table, error) {
	t := &Table{SectorSize: sectorSize}
	ss := t.sectorSize()
	if size < 3*ss {
		return nil, fmt.Errorf("no GPT: the disk has only %d bytes", size)
	}
	mbr := make([]byte, ss)
	if _, err := r.ReadAt(mbr, 0); err != nil {
		return nil, fmt.Errorf("read the MBR: %w", err)
	}
	t.BootCode = bytes.Clone(mbr[:440])
	lastLBA := uint64(size/ss) - 1
	perr := t.readCopy(r, 1)
	if perr == nil {
		return t, nil
	}
	if berr := t.readCopy(r, lastLBA); berr != nil {
		return nil, fmt.Errorf("no valid GPT: primary header: %v; backup header: %v", perr, berr)
	}
	return t, nil
}

// ErrNoGPT says a header has no GPT signature.
var ErrNoGPT = errors.New("no GPT signature")

func (t *Table) readCopy(r io.ReaderAt, lba uint64) error {
	ss := t.sectorSize()
	h := make([]byte, ss)
	if _, err := r.ReadAt(h, int64(lba)*ss); err != nil {
		return err
	}
	if string(h[:8]) != signature {
		return ErrNoGPT
	}
	le := binary.LittleEndian
	hs := le.Uint32(h[12:])
	if hs < headerSize || int64(hs) > ss {
		return fmt.Errorf("header size %d", hs)
	}
	sum := le.Uint32(h[16:])
	le.PutUint32(h[16:], 0)
	if crc32.ChecksumIEEE(h[:hs]) != sum {
		return errors.New("header checksum mismatch")
	}
	if my := le.Uint64(h[24:]); my != lba {
		return fmt.Errorf("header at sector %d says it is at sector %d", lba, my)
	}
	n, esize := le.Uint32(h[80:]), le.Uint32(h[84:])
	if esize < entrySize || esize%8 != 0 || n == 0 || uint64(n)*uint64(esize) > 1<<20 {
		return fmt.Errorf("unusual entry array: %d entries of %d bytes", n, esize)
	}
	entries := make([]byte, int(n)*int(esize))
	if _, err := r.ReadAt(entries, int64(le.Uint64(h[72:]))*ss); err != nil {
		return fmt.Errorf("read the entries: %w", err)
	}
	if crc32.ChecksumIEEE(entries) != le.Uint32(h[88:]) {
		return errors.New("entry array checksum mismatch")
	}
	t.Alternate = le.Uint64(h[32:])
	t.FirstUsable, t.LastUsable = le.Uint64(h[40:]), le.Uint64(h[48:])
	t.DiskGUID = decodeGUID(h[56:72])
	t.Partitions = nil
	for i := 0; i < int(n); i++ {
		e := entries[i*int(esize):]
		ty := decodeGUID(e[0:16])
		if ty.IsZero() {
			continue
		}
		var name []uint16
		for j := 0; j < nameChars; j++ {
			u := le.Uint16(e[56+2*j:])
			if u == 0 {
				break
			}
			name = append(name, u)
		}
		t.Partitions = append(t.Partitions, Partition{
			Number: i + 1, Type: ty, GUID: decodeGUID(e[16:32]),
			First: le.Uint64(e[32:]), Last: le.Uint64(e[40:]), Attributes: le.Uint64(e[48:]),
			Name: string(utf16.Decode(name)),
		})
	}
	return nil
}
