package btrfs

import (
	"fmt"
	"os"
	"unsafe"
)

// fiemap is struct fiemap (32 bytes) followed by room for its extents.
type fiemap struct {
	Start         uint64
	Length        uint64
	Flags         uint32
	MappedExtents uint32
	ExtentCount   uint32
	_             uint32
	Extents       [fiemapBatch]fiemapExtent
}

// fiemapExtent is struct fiemap_extent (56 bytes).
type fiemapExtent struct {
	Logical  uint64
	Physical uint64
	Length   uint64
	_        [2]uint64
	Flags    uint32
	_        [3]uint32
}

const (
	fiemapBatch      = 128
	fiemapFlagSync   = 0x1 // FIEMAP_FLAG_SYNC: flush delayed allocation first
	fiemapExtentLast = 0x1 // FIEMAP_EXTENT_LAST
)

// FileExtents lists the data extents of the regular file at path
// (FS_IOC_FIEMAP, after flushing its dirty data). It works on any file
// system that implements FIEMAP, not only btrfs; Extent.Shared tells
// whether an extent is shared by reflink or snapshot.
func FileExtents(path string) ([]Extent, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("extents: %w", err)
	}
	defer f.Close()
	var out []Extent
	fm := new(fiemap)
	start := uint64(0)
	for {
		*fm = fiemap{Start: start, Length: ^uint64(0) - start, Flags: fiemapFlagSync, ExtentCount: fiemapBatch}
		if err := ioctl(int(f.Fd()), iocFiemap, unsafe.Pointer(fm)); err != nil {
			return nil, fmt.Errorf("extents of %s: %w", path, err)
		}
		n := int(fm.MappedExtents)
		if n == 0 {
			return out, nil
		}
		for _, e := range fm.Extents[:n] {
			out = append(out, Extent{Logical: e.Logical, Physical: e.Physical, Length: e.Length, Flags: e.Flags})
		}
		last := fm.Extents[n-1]
		if last.Flags&fiemapExtentLast != 0 {
			return out, nil
		}
		start = last.Logical + last.Length
	}
}

// Flush writes the open file's dirty data and waits until btrfs has
// recorded where it went (FS_IOC_FIEMAP with FIEMAP_FLAG_SYNC, asking
// for no extents: on btrfs it waits for the file's ordered extents, as
// fsync does, without writing a log tree or flushing the device). A
// writer that flushes each file before the next one makes the kernel
// allocate and record data in its order, not in whatever order its
// writeback and completion threads get to it.
func Flush(f *os.File) error {
	fm := &fiemap{Length: ^uint64(0), Flags: fiemapFlagSync}
	if err := ioctl(int(f.Fd()), iocFiemap, unsafe.Pointer(fm)); err != nil {
		return fmt.Errorf("flush %s: %w", f.Name(), err)
	}
	return nil
}
