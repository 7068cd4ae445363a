package btrfsnorm

import (
	"encoding/binary"
	"fmt"
	"slices"
)

// fixLeaf rewrites a leaf's items in place and records what the
// free-space pass needs (allocated extents, block groups, device
// extents).
func (n *normalizer) fixLeaf(b []byte, its []leafItem) error {
	owner := u64(b, hdrOwner)
	uuidKeys := false
	for _, it := range its {
		d := b[it.off : it.off+it.size]
		var err error
		switch it.key.typ {
		case keyInodeItem:
			err = n.fixInode(d)
			n.report.Inodes++
		case keyRootItem:
			err = n.fixRoot(d, it.key)
		case keyDevItem:
			err = n.fixDevUUID(d, devItemUUID, devItemSize, "device item")
		case keyChunkItem:
			if len(d) < chunkStripes {
				return fmt.Errorf("chunk item at %d: %d bytes", it.key.offset, len(d))
			}
			for i := range int(u16(d, chunkNumStripes)) {
				if err = n.fixDevUUID(d, chunkStripes+i*stripeSize+stripeDevUUID, chunkStripes+(i+1)*stripeSize, "chunk item"); err != nil {
					break
				}
			}
		case keyDevExtent:
			if len(d) < devExtentSize {
				return fmt.Errorf("device extent at %d: %d bytes", it.key.offset, len(d))
			}
			copy(d[devExtentChunkUUID:], n.chunkUUID[:])
			n.devExtents = append(n.devExtents, span{it.key.offset, u64(d, devExtentLength)})
		case keyExtentItem:
			n.used = append(n.used, span{it.key.objectid, it.key.offset})
		case keyMetadataItem:
			n.used = append(n.used, span{it.key.objectid, uint64(n.sb.nodeSize)})
			n.treeBlocks = append(n.treeBlocks, it.key.objectid)
		case keyBlockGroup:
			if len(d) < blockGroupFlags+8 {
				return fmt.Errorf("block group at %d: %d bytes", it.key.objectid, len(d))
			}
			n.groups = append(n.groups, span{it.key.objectid, it.key.offset})
		case keyUUIDSubvol:
			if owner != treeUUID {
				return fmt.Errorf("leaf %d of tree %d: a UUID key outside the UUID tree", u64(b, hdrBytenr), owner)
			}
			uuidKeys = true
		}
		if err != nil {
			return err
		}
	}
	if uuidKeys {
		return n.fixUUIDLeaf(b, its)
	}
	return nil
}

// fixInode rewrites an inode item's times, its access time becoming its
// modification time (what reads the build made is not the image's
// business), and clears its NFS change counter.
func (n *normalizer) fixInode(d []byte) error {
	if len(d) < inodeItemSize {
		return fmt.Errorf("inode item of %d bytes", len(d))
	}
	put64(d, inodeSequence, 0)
	for _, off := range []int{inodeCtime, inodeMtime, inodeOtime} {
		n.clock.fix(d, off)
	}
	copy(d[inodeAtime:inodeAtime+timespecSize], d[inodeMtime:inodeMtime+timespecSize])
	return nil
}

// fixRoot rewrites a root item: its UUID and parent UUID (those of
// subvolumes, which phase one mapped), its times, and the inode item
// it begins with.
func (n *normalizer) fixRoot(d []byte, k key) error {
	if len(d) < rootLevel+1 {
		return fmt.Errorf("root item of tree %d: %d bytes", k.objectid, len(d))
	}
	if err := n.fixInode(d[:inodeItemSize]); err != nil {
		return err
	}
	if len(d) < rootItemSize {
		return nil // an item from before subvolume UUIDs and times
	}
	for _, f := range []struct {
		off  int
		what string
	}{{rootUUID, "UUID"}, {rootParentUUID, "parent UUID"}} {
		old := getUUID(d, f.off)
		if old == (uuid{}) {
			continue
		}
		u, ok := n.subvols[old]
		if !ok {
			return fmt.Errorf("tree %d: its %s %x is no subvolume's", int64(k.objectid), f.what, old)
		}
		copy(d[f.off:], u[:])
	}
	for _, off := range []int{rootCtime, rootOtime, rootStime, rootRtime} {
		n.clock.fix(d, off)
	}
	return nil
}

// fixDevUUID replaces the device UUID at d[off:], which must be the one
// device's.
func (n *normalizer) fixDevUUID(d []byte, off, need int, what string) error {
	if len(d) < need {
		return fmt.Errorf("%s of %d bytes", what, len(d))
	}
	if got := getUUID(d, off); got != n.sb.devUUID {
		return fmt.Errorf("%s: device UUID %x, the superblock's is %x", what, got, n.sb.devUUID)
	}
	copy(d[off:], n.devUUID[:])
	return nil
}

// fixUUIDLeaf rewrites the keys of the UUID tree's subvolume entries,
// which are the subvolumes' UUIDs (first eight bytes as the objectid,
// last eight as the offset, both little endian), and sorts the leaf's
// items again. The tree must be a single leaf (scanRoots checks): moving
// items between leaves is more than this package does.
func (n *normalizer) fixUUIDLeaf(b []byte, its []leafItem) error {
	type entry struct {
		key  key
		data []byte
	}
	entries := make([]entry, len(its))
	for i, it := range its {
		e := entry{key: it.key, data: slices.Clone(b[it.off : it.off+it.size])}
		if it.key.typ == keyUUIDSubvol {
			var old uuid
			binary.LittleEndian.PutUint64(old[:8], it.key.objectid)
			binary.LittleEndian.PutUint64(old[8:], it.key.offset)
			u, ok := n.subvols[old]
			if !ok {
				return fmt.Errorf("UUID tree: an entry for %x, which is no subvolume's UUID", old)
			}
			e.key.objectid = binary.LittleEndian.Uint64(u[:8])
			e.key.offset = binary.LittleEndian.Uint64(u[8:])
		}
		entries[i] = e
	}
	slices.SortFunc(entries, func(x, y entry) int { return x.key.compare(y.key) })
	end := len(b)
	for i, e := range entries {
		if i > 0 && e.key == entries[i-1].key {
			return fmt.Errorf("UUID tree: two entries for key %v", e.key)
		}
		end -= len(e.data)
		h := hdrSize + i*itemSize
		putKey(b, h, e.key)
		binary.LittleEndian.PutUint32(b[h+keySize:], uint32(end-hdrSize))
		binary.LittleEndian.PutUint32(b[h+keySize+4:], uint32(len(e.data)))
		copy(b[end:], e.data)
	}
	return nil
}
