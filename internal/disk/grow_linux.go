package disk

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk/gpt"
)

// GrowResult says what Grow did.
type GrowResult struct {
	// Device holds the file system; it is partition Partition of Disk
	// (Partition 0: the file system fills a whole disk).
	Device    string
	Disk      string
	Partition int
	// TableMoved says the disk had grown and its GPT's backup was moved
	// to the new end.
	TableMoved bool
	// PartitionBefore and PartitionAfter are the partition's size in
	// bytes; FSBefore and FSAfter the file system's.
	PartitionBefore, PartitionAfter int64
	FSBefore, FSAfter               int64
	// Notes say why something was left alone.
	Notes []string
}

// Changed reports whether Grow changed anything.
func (r GrowResult) Changed() bool {
	return r.TableMoved || r.PartitionAfter != r.PartitionBefore || r.FSAfter != r.FSBefore
}

func (r GrowResult) String() string {
	mib := func(n int64) string { return fmt.Sprintf("%d MiB", n>>20) }
	var s string
	switch {
	case r.PartitionAfter != r.PartitionBefore && r.FSAfter != r.FSBefore:
		s = fmt.Sprintf("grew %s from %s to %s and its file system from %s to %s", r.Device, mib(r.PartitionBefore), mib(r.PartitionAfter), mib(r.FSBefore), mib(r.FSAfter))
	case r.PartitionAfter != r.PartitionBefore:
		s = fmt.Sprintf("grew %s from %s to %s", r.Device, mib(r.PartitionBefore), mib(r.PartitionAfter))
	case r.FSAfter != r.FSBefore:
		s = fmt.Sprintf("grew the file system on %s from %s to %s", r.Device, mib(r.FSBefore), mib(r.FSAfter))
	case r.TableMoved:
		s = fmt.Sprintf("moved the backup partition table of %s to its end", r.Disk)
	default:
		s = fmt.Sprintf("%s already fills its space", r.Device)
	}
	for _, n := range r.Notes {
		s += "; " + n
	}
	return s
}

// growAlign is where a grown partition ends: a whole MiB.
const growAlign = 1 << 20

// Grow fits the store's file system to its disk. dev is the block device
// holding it (/dev/vda2), mounted read-write at mnt. It is what cairn-init
// runs at every boot, right after mounting the store, before anything
// else writes to it:
//
//  1. When dev is a partition of a GPT disk that is larger than its
//     table says (an image written to a bigger disk, a virtual disk
//     enlarged), the backup table moves to the new end and, when dev is
//     the disk's last partition, it is extended to the end (gpt.Grow);
//     the kernel learns the new size at once (BLKPG), though dev is in
//     use. A disk whose table already ends at its end is left alone, so
//     free space deliberately left after the partition stays free. MBR
//     disks are left alone.
//  2. When the btrfs on dev (single-device) is smaller than dev by more
//     than 1 MiB, it is resized to fill it (`btrfs filesystem resize
//     max`). This also finishes a growth interrupted between the steps.
//
// A disk that needs nothing costs reading its partition table. Errors
// leave the disk as it was or grown, never damaged (see gpt.Grow); the
// caller reports them and boots on.
func Grow(dev, mnt string) (GrowResult, error) {
	res := GrowResult{Device: dev}
	part, err := PartitionOf(dev)
	if err != nil {
		return res, err
	}
	res.Disk, res.Partition = part.Disk, part.Number
	pf, err := os.Open(dev)
	if err != nil {
		return res, err
	}
	defer pf.Close()
	if res.PartitionBefore, err = Size(pf); err != nil {
		return res, err
	}
	res.PartitionAfter = res.PartitionBefore

	if part.Number > 0 {
		if err := growPartition(&res); err != nil {
			return res, err
		}
	}

	var sfs unix.Statfs_t
	if err := unix.Statfs(mnt, &sfs); err != nil {
		return res, fmt.Errorf("%s: %w", mnt, err)
	}
	if sfs.Type != unix.BTRFS_SUPER_MAGIC {
		res.Notes = append(res.Notes, "the file system is not btrfs: not resized")
		return res, nil
	}
	m, err := os.Open(mnt)
	if err != nil {
		return res, err
	}
	defer m.Close()
	bd, err := btrfsSingleDevice(m)
	if err != nil {
		return res, err
	}
	res.FSBefore, res.FSAfter = bd.Size, bd.Size
	if size, err := Size(pf); err == nil && bd.Size+growAlign < size {
		if err := resizeBtrfs(m, bd.ID); err != nil {
			return res, err
		}
		if after, err := btrfsSingleDevice(m); err == nil {
			res.FSAfter = after.Size
		}
	}
	return res, nil
}

// growPartition is step 1 of Grow.
func growPartition(res *GrowResult) error {
	d, err := os.OpenFile(res.Disk, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer d.Close()
	size, err := Size(d)
	if err != nil {
		return err
	}
	ss, err := SectorSize(d)
	if err != nil {
		return err
	}
	g, err := gpt.Grow(d, size, ss, res.Partition, uint64(growAlign/ss))
	if errors.Is(err, gpt.ErrNoGPT) {
		res.Notes = append(res.Notes, res.Disk+" has no GPT: its partitions are left as they are")
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", res.Disk, err)
	}
	res.TableMoved = g.Moved
	if g.Grown() {
		start, length := int64(g.New.First)*int64(ss), int64(g.New.Sectors())*int64(ss)
		if err := ResizePartition(d, res.Partition, start, length); err != nil {
			return err
		}
		res.PartitionAfter = length
	}
	return nil
}
