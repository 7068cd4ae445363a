package btrfsnorm

import (
	"bytes"
	"fmt"
	"math/bits"
)

// super holds what the normalizer needs from the primary superblock.
type super struct {
	generation            uint64
	root, chunkRoot       uint64
	rootLevel, chunkLevel uint8
	totalBytes            uint64
	sectorSize, nodeSize  int
	devid                 uint64
	devUUID               uuid
	// metaFsid is the UUID every tree block's header carries: the
	// file system's UUID, or its metadata UUID when it has one.
	metaFsid uuid
}

// checkSuper validates the superblock b read at byte at of the device
// (its own offset, which it records).
func checkSuper(b []byte, at int64) error {
	if string(b[sbMagic:sbMagic+8]) != superMagic {
		return fmt.Errorf("superblock at %d: not btrfs", at)
	}
	if got := u64(b, sbBytenr); got != uint64(at) {
		return fmt.Errorf("superblock at %d: says it lies at %d", at, got)
	}
	if t := u16(b, sbCsumType); t != csumCRC32C {
		return fmt.Errorf("superblock at %d: checksum type %s: only crc32c is supported", at, csumName(t))
	}
	if !sumOK(b[:superSize]) {
		return fmt.Errorf("superblock at %d: bad checksum", at)
	}
	return nil
}

func csumName(t uint16) string {
	switch t {
	case 1:
		return "xxhash64"
	case 2:
		return "sha256"
	case 3:
		return "blake2b"
	}
	return fmt.Sprintf("%d", t)
}

// parseSuper reads the primary superblock and refuses file systems this
// package does not know how to rewrite.
func parseSuper(b []byte) (*super, error) {
	if err := checkSuper(b, superOffset); err != nil {
		return nil, err
	}
	s := &super{
		generation: u64(b, sbGeneration),
		root:       u64(b, sbRoot), chunkRoot: u64(b, sbChunkRoot),
		rootLevel: b[sbRootLevel], chunkLevel: b[sbChunkLevel],
		totalBytes: u64(b, sbTotalBytes),
		sectorSize: int(u32(b, sbSectorSize)), nodeSize: int(u32(b, sbNodeSize)),
		devid:    u64(b, sbDevItem+devItemDevid),
		devUUID:  getUUID(b, sbDevItem+devItemUUID),
		metaFsid: getUUID(b, sbFsid),
	}
	incompat := u64(b, sbIncompat)
	if incompat&incompatMetaUID != 0 {
		s.metaFsid = getUUID(b, sbMetadataUUID)
	}
	switch {
	case incompat&^incompatKnown != 0:
		return nil, fmt.Errorf("incompatible features 0x%x: not supported", incompat&^incompatKnown)
	case incompat&incompatSkinny == 0:
		return nil, fmt.Errorf("made without skinny metadata: not supported")
	case u64(b, sbNumDevices) != 1:
		return nil, fmt.Errorf("%d devices: only single-device file systems are supported", u64(b, sbNumDevices))
	case u64(b, sbLogRoot) != 0:
		return nil, fmt.Errorf("a log tree is left (the file system was not unmounted cleanly): mount and unmount it first")
	case !pow2(s.sectorSize, 4096, 65536) || !pow2(s.nodeSize, s.sectorSize, 65536):
		return nil, fmt.Errorf("sector size %d, node size %d: not supported", s.sectorSize, s.nodeSize)
	}
	return s, nil
}

func pow2(n, lo, hi int) bool { return n >= lo && n <= hi && bits.OnesCount(uint(n)) == 1 }

// sysChunks calls fn for each chunk item in the superblock's system
// chunk array: its logical address and the item's bytes.
func sysChunks(b []byte, fn func(logical uint64, item []byte) error) error {
	size := int(u32(b, sbSysArraySize))
	if size > sbSysArrayMax {
		return fmt.Errorf("system chunk array of %d bytes", size)
	}
	arr := b[sbSysArray : sbSysArray+size]
	for off := 0; off < len(arr); {
		if off+keySize+chunkStripes > len(arr) {
			return fmt.Errorf("system chunk array: truncated at %d", off)
		}
		k := getKey(arr, off)
		if k.typ != keyChunkItem {
			return fmt.Errorf("system chunk array: key type %d at %d", k.typ, off)
		}
		item := arr[off+keySize:]
		n := chunkStripes + int(u16(item, chunkNumStripes))*stripeSize
		if n > len(item) {
			return fmt.Errorf("system chunk array: truncated chunk at %d", off)
		}
		if err := fn(k.offset, item[:n]); err != nil {
			return err
		}
		off += keySize + n
	}
	return nil
}

// fixSuper rewrites a superblock (the primary or a mirror): the device
// UUID in its device item and in its system chunks' stripes, the unused
// end of its system chunk array and the backup roots of earlier
// transactions, whose trees the free-space pass zeroes, cleared. Then
// its checksum.
func (n *normalizer) fixSuper(b []byte) error {
	if got := getUUID(b, sbDevItem+devItemUUID); got != n.sb.devUUID {
		return fmt.Errorf("superblock at %d: device UUID %x, the primary's is %x", u64(b, sbBytenr), got, n.sb.devUUID)
	}
	copy(b[sbDevItem+devItemUUID:], n.devUUID[:])
	err := sysChunks(b, func(_ uint64, item []byte) error {
		for i := range int(u16(item, chunkNumStripes)) {
			copy(item[chunkStripes+i*stripeSize+stripeDevUUID:], n.devUUID[:])
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Past its end, the system chunk array holds what mkfs.btrfs had
	// there before (its temporary chunks, with their device UUID).
	clear(b[sbSysArray+int(u32(b, sbSysArraySize)) : sbSysArray+sbSysArrayMax])
	gen := u64(b, sbGeneration)
	for i := range numBackups {
		slot := b[sbBackups+i*backupSize : sbBackups+(i+1)*backupSize]
		if u64(slot, backupTreeGen) != gen {
			clear(slot)
		}
	}
	setSum(b[:superSize])
	return nil
}

// mirrors returns the device offsets of the superblock and its copies
// that lie within size bytes.
func mirrors(size int64) []int64 {
	var out []int64
	for _, m := range superMirrors {
		if m+superSize <= size {
			out = append(out, m)
		}
	}
	return out
}

// isMirror reports whether b, read at offset at, is a valid superblock
// of the same file system as the primary p.
func isMirror(b, p []byte, at int64) bool {
	return checkSuper(b, at) == nil && bytes.Equal(b[sbFsid:sbFsid+uuidSize], p[sbFsid:sbFsid+uuidSize])
}
