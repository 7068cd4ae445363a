package btrfsnorm

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairnlinux/cairn/internal/disk/gpt"
)

// Device is what Normalize works on: an image file or a block device.
type Device interface {
	io.ReaderAt
	io.WriterAt
}

// Options say what the normalized file system's identifiers and times
// are.
type Options struct {
	// Seed determines the identifiers: the chunk tree's UUID, the
	// device's, each subvolume's (with its id). The same seed gives the
	// same UUIDs; it must not be empty.
	Seed []byte
	// Epoch is the time every time stamp later than it becomes (inodes'
	// change, modification and creation times, subvolumes' change and
	// creation times; an inode's access time becomes its modification
	// time). Required.
	Epoch time.Time
	// Since, when set, is when the build began: stamps from then on
	// become Epoch too, should Epoch lie in the future.
	Since time.Time
}

// Report counts what Normalize did.
type Report struct {
	// TreeBlocks is the number of tree blocks rewritten (a dup block
	// counts once, though both copies are written).
	TreeBlocks int
	// Inodes is the number of inode items seen (and given their times).
	Inodes int
	// Subvolumes is the number of trees with a UUID (the top level
	// included).
	Subvolumes int
	// Zeroed is the number of bytes of free space that held something
	// and were zeroed.
	Zeroed int64
}

// Normalize rewrites the btrfs file system of size bytes at offset of
// dev, which must not be mounted, so that it depends only on its
// content, opts and what the kernel decided (see the package comment).
// A file system it does not support is refused before anything is
// written; a fault found later, in a tree block (a bad checksum, an
// unknown UUID), leaves it half rewritten, to be thrown away.
func Normalize(dev Device, offset, size int64, opts Options) (Report, error) {
	if len(opts.Seed) == 0 {
		return Report{}, errors.New("normalize btrfs: no seed")
	}
	if opts.Epoch.IsZero() {
		return Report{}, errors.New("normalize btrfs: no epoch")
	}
	n := &normalizer{dev: dev, base: offset, size: size, clock: clock{opts.Epoch, opts.Since}}
	if err := n.run(opts.Seed); err != nil {
		return n.report, fmt.Errorf("normalize btrfs at %d: %w", offset, err)
	}
	return n.report, nil
}

// span is a range of addresses, logical or physical.
type span struct{ start, length uint64 }

type normalizer struct {
	dev        Device
	base, size int64
	clock      clock
	sb         *super
	primary    []byte
	chunks     chunkMap
	// chunkUUID and devUUID are the new chunk tree and device UUIDs;
	// subvols maps each subvolume's UUID to its new one.
	chunkUUID, devUUID uuid
	subvols            map[uuid]uuid
	// Collected while the trees are rewritten, for the free-space pass
	// and to check that every tree block was reached.
	used, groups, devExtents []span
	treeBlocks               []uint64
	report                   Report
}

// tree is a tree to rewrite: its root block and level.
type tree struct {
	id    uint64
	root  uint64
	level uint8
}

func (n *normalizer) run(seed []byte) error {
	n.primary = make([]byte, superSize)
	if err := n.readAt(n.primary, superOffset); err != nil {
		return fmt.Errorf("superblock: %w", err)
	}
	sb, err := parseSuper(n.primary)
	if err != nil {
		return err
	}
	if int64(sb.totalBytes) > n.size {
		return fmt.Errorf("the file system has %d bytes, its partition %d", sb.totalBytes, n.size)
	}
	n.sb = sb
	n.chunks.devid = sb.devid
	n.chunkUUID = derive(seed, "btrfs chunk tree")
	n.devUUID = derive(seed, fmt.Sprintf("btrfs device %d", sb.devid))

	// Phase one, reading only: the chunk map, then the trees and the
	// subvolumes' UUIDs from the root tree.
	if err := sysChunks(n.primary, n.chunks.add); err != nil {
		return err
	}
	err = n.walk(sb.chunkRoot, sb.chunkLevel, map[uint64]bool{}, func(b []byte, _ []uint64) error {
		if b[hdrLevel] > 0 {
			return nil
		}
		its, err := items(b)
		for _, it := range its {
			if err == nil && it.key.typ == keyChunkItem {
				err = n.chunks.add(it.key.offset, b[it.off:it.off+it.size])
			}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("chunk tree: %w", err)
	}
	trees, err := n.scanRoots(seed)
	if err != nil {
		return fmt.Errorf("root tree: %w", err)
	}

	// Phase two: every tree block, then the superblocks, then free space.
	seen := map[uint64]bool{}
	for _, t := range trees {
		if err := n.walk(t.root, t.level, seen, n.fixBlock); err != nil {
			return fmt.Errorf("tree %d: %w", int64(t.id), err)
		}
	}
	for _, at := range n.treeBlocks {
		if !seen[at] {
			return fmt.Errorf("tree block %d is allocated but in no tree the root tree names: not supported", at)
		}
	}
	for _, at := range mirrors(n.size) {
		b := n.primary
		if at != superOffset {
			b = make([]byte, superSize)
			if err := n.readAt(b, uint64(at)); err != nil {
				return fmt.Errorf("superblock at %d: %w", at, err)
			}
			if !isMirror(b, n.primary, at) {
				continue
			}
		}
		if err := n.fixSuper(b); err != nil {
			return err
		}
		if err := n.writeAt(b, uint64(at)); err != nil {
			return fmt.Errorf("superblock at %d: %w", at, err)
		}
	}
	return n.zeroFree()
}

// scanRoots reads the root tree: the trees to rewrite (the chunk tree,
// the root tree, every tree a root item names) and the new UUID of each
// subvolume, derived from the seed and the subvolume's id.
func (n *normalizer) scanRoots(seed []byte) ([]tree, error) {
	trees := []tree{{id: 3, root: n.sb.chunkRoot, level: n.sb.chunkLevel}, {id: 1, root: n.sb.root, level: n.sb.rootLevel}}
	n.subvols = map[uuid]uuid{}
	ids := map[uint64]bool{}
	err := n.walk(n.sb.root, n.sb.rootLevel, map[uint64]bool{}, func(b []byte, _ []uint64) error {
		if b[hdrLevel] > 0 {
			return nil
		}
		its, err := items(b)
		if err != nil {
			return err
		}
		for _, it := range its {
			if it.key.typ != keyRootItem {
				continue
			}
			d := b[it.off : it.off+it.size]
			if len(d) < rootLevel+1 {
				return fmt.Errorf("root item of tree %d: %d bytes", it.key.objectid, len(d))
			}
			t := tree{id: it.key.objectid, root: u64(d, rootBytenr), level: d[rootLevel]}
			if t.root == 0 {
				continue
			}
			if t.id == treeUUID && t.level > 0 {
				return fmt.Errorf("the UUID tree has %d levels: normalizing it takes moving entries between leaves, which is not supported", t.level+1)
			}
			trees = append(trees, t)
			if len(d) < rootItemSize || getUUID(d, rootUUID) == (uuid{}) {
				continue
			}
			old := getUUID(d, rootUUID)
			if _, dup := n.subvols[old]; dup || ids[t.id] {
				return fmt.Errorf("tree %d: UUID %x given twice", int64(t.id), old)
			}
			ids[t.id] = true
			n.subvols[old] = derive(seed, fmt.Sprintf("btrfs subvolume %d", t.id))
		}
		return nil
	})
	n.report.Subvolumes = len(n.subvols)
	return trees, err
}

// fixBlock rewrites one tree block: its header's chunk tree UUID, its
// items, its slack; and writes it with its checksum.
func (n *normalizer) fixBlock(b []byte, phys []uint64) error {
	copy(b[hdrChunkUUID:], n.chunkUUID[:])
	var its []leafItem
	if b[hdrLevel] == 0 {
		var err error
		if its, err = items(b); err != nil {
			return err
		}
		if err := n.fixLeaf(b, its); err != nil {
			return fmt.Errorf("leaf %d: %w", u64(b, hdrBytenr), err)
		}
		if its, err = items(b); err != nil {
			return err
		}
	}
	clearSlack(b, b[hdrLevel], its)
	return n.writeBlock(b, phys)
}

// derive returns the UUID named name under seed, version 4 like the
// GUIDs package gpt derives (btrfs keeps UUIDs in the byte order of
// their text).
func derive(seed []byte, name string) uuid {
	return uuid(gpt.DerivedGUID(seed, name))
}
