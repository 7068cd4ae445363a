package gpt

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Device is a whole disk open for reading and writing: an image file or
// a block device (*os.File).
type Device interface {
	io.ReaderAt
	io.WriterAt
	Sync() error
}

// GrowResult says what Grow changed.
type GrowResult struct {
	// Moved says the backup table was moved to the disk's new last
	// sector (the disk had grown).
	Moved bool
	// Old and New are the partition before and after; equal when it
	// could not grow.
	Old, New Partition
}

// Grown reports whether the partition became larger.
func (r GrowResult) Grown() bool { return r.New.Last > r.Old.Last }

// Grow fits the table of a disk of size bytes to that size, as growpart
// does: when the disk grew since the table was written (the backup table
// is no longer at the last sector) the backup is written at the new end;
// and when partition n is the last one on the disk, it is extended to the
// end of the usable space, its end aligned down to a multiple of align
// sectors (2048 for 1 MiB with 512-byte sectors; 0 or 1 for none). A
// partition never shrinks and never moves.
//
// The order of the writes keeps the disk readable after a crash at any
// point: the new backup goes to the new end first (a region nothing
// used), then the primary table, each synced; only then is the old
// backup header cleared. A reader finds either the old table with its
// old backup or the new one with its new backup.
//
// The primary table must be intact. The kernel learns of the new size of
// a partition in use through BLKPG (disk.ResizePartition), not from the
// table.
func Grow(d Device, size int64, sectorSize, n int, align uint64) (GrowResult, error) {
	t := &Table{SectorSize: sectorSize}
	ss := t.sectorSize()
	if err := t.readCopy(d, 1); err != nil {
		return GrowResult{}, fmt.Errorf("primary GPT header: %w", err)
	}
	p, ok := t.Partition(n)
	if !ok {
		return GrowResult{}, fmt.Errorf("the GPT has no partition %d", n)
	}
	res := GrowResult{Old: p, New: p}
	lastLBA := uint64(size/ss) - 1
	_, lastUsable := t.Usable(size)
	switch {
	case t.Alternate > lastLBA:
		return res, fmt.Errorf("the GPT's backup header is at sector %d, beyond the disk's last sector %d: the disk shrank, or the table belongs to a larger disk", t.Alternate, lastLBA)
	case lastUsable < t.LastUsable:
		return res, fmt.Errorf("the disk (%d sectors) is smaller than its partition table's usable space (up to sector %d)", lastLBA+1, t.LastUsable)
	}
	last := true
	for _, q := range t.Partitions {
		if q.Number != n && q.First > p.Last {
			last = false
		}
	}
	if last {
		end := lastUsable + 1
		if align > 1 {
			end -= end % align
		}
		if end-1 > p.Last {
			res.New.Last = end - 1
		}
	}
	res.Moved = t.Alternate != lastLBA
	if !res.Moved && !res.Grown() {
		return res, nil
	}
	mbr := make([]byte, ss)
	if _, err := d.ReadAt(mbr, 0); err != nil {
		return res, fmt.Errorf("read the protective MBR: %w", err)
	}
	if mbr[510] != 0x55 || mbr[511] != 0xaa || mbr[446+4] != 0xee {
		return res, errors.New("the disk has a GPT but no protective MBR (a hybrid MBR?): cairn leaves its table alone")
	}
	oldBackup := t.Alternate
	t.LastUsable = lastUsable
	for i := range t.Partitions {
		if t.Partitions[i].Number == n {
			t.Partitions[i] = res.New
		}
	}
	entries := t.encodeEntries()
	if err := t.writeCopy(d, entries, lastLBA, 1, lastLBA-t.entrySectors()); err != nil {
		return res, fmt.Errorf("write the backup GPT: %w", err)
	}
	if err := d.Sync(); err != nil {
		return res, err
	}
	if err := t.writeCopy(d, entries, 1, lastLBA, 2); err != nil {
		return res, fmt.Errorf("write the primary GPT: %w", err)
	}
	binary.LittleEndian.PutUint32(mbr[446+12:], uint32(min(lastLBA, 0xffffffff)))
	if _, err := d.WriteAt(mbr, 0); err != nil {
		return res, fmt.Errorf("write the protective MBR: %w", err)
	}
	if err := d.Sync(); err != nil {
		return res, err
	}
	if res.Moved && oldBackup > 1 && oldBackup < lastLBA {
		if _, err := d.WriteAt(make([]byte, ss), int64(oldBackup)*ss); err != nil {
			return res, fmt.Errorf("clear the old backup GPT header: %w", err)
		}
		if err := d.Sync(); err != nil {
			return res, err
		}
	}
	return res, nil
}
