package btrfsnorm

import (
	"cmp"
	"encoding/binary"
	"hash/crc32"
	"time"
)

// Byte offsets of the on-disk structures (btrfs_tree.h), all little
// endian and packed.
const (
	superSize   = 4096
	superOffset = 64 << 10
	superMagic  = "_BHRfS_M"
	csumCRC32C  = 0

	// struct btrfs_super_block
	sbFsid          = 32
	sbBytenr        = 48
	sbMagic         = 64
	sbGeneration    = 72
	sbRoot          = 80
	sbChunkRoot     = 88
	sbLogRoot       = 96
	sbTotalBytes    = 112
	sbNumDevices    = 136
	sbSectorSize    = 144
	sbNodeSize      = 148
	sbSysArraySize  = 160
	sbIncompat      = 188
	sbCsumType      = 196
	sbRootLevel     = 198
	sbChunkLevel    = 199
	sbDevItem       = 201
	sbMetadataUUID  = 571
	sbSysArray      = 811
	sbSysArrayMax   = 2048
	sbBackups       = 2859
	backupSize      = 168
	numBackups      = 4
	backupTreeGen   = 8
	uuidSize        = 16
	keySize         = 17
	timespecSize    = 12
	incompatMetaUID = 1 << 10

	// struct btrfs_header, then items (leaves) or key pointers (nodes)
	hdrBytenr    = 48
	hdrChunkUUID = 64
	hdrOwner     = 88
	hdrNritems   = 96
	hdrLevel     = 100
	hdrSize      = 101
	itemSize     = 25 // key, u32 offset, u32 size
	ptrSize      = 33 // key, u64 blockptr, u64 generation

	// struct btrfs_dev_item
	devItemDevid = 0
	devItemUUID  = 66
	devItemSize  = 98

	// struct btrfs_chunk and its stripes
	chunkLength     = 0
	chunkType       = 24
	chunkNumStripes = 44
	chunkStripes    = 48
	stripeSize      = 32
	stripeDevid     = 0
	stripeOffset    = 8
	stripeDevUUID   = 16

	// struct btrfs_dev_extent
	devExtentLength    = 24
	devExtentChunkUUID = 32
	devExtentSize      = 48

	// struct btrfs_inode_item
	inodeSequence = 72
	inodeAtime    = 112
	inodeCtime    = 124
	inodeMtime    = 136
	inodeOtime    = 148
	inodeItemSize = 160

	// struct btrfs_root_item, which begins with an inode item
	rootBytenr     = 176
	rootLevel      = 238
	rootUUID       = 247
	rootParentUUID = 263
	rootCtime      = 327
	rootOtime      = 339
	rootStime      = 351
	rootRtime      = 363
	rootItemSize   = 439

	// struct btrfs_block_group_item
	blockGroupFlags = 16
)

// Key types and tree ids.
const (
	keyInodeItem    = 1
	keyRootItem     = 132
	keyExtentItem   = 168
	keyMetadataItem = 169
	keyBlockGroup   = 192
	keyDevExtent    = 204
	keyDevItem      = 216
	keyChunkItem    = 228
	keyUUIDSubvol   = 251

	treeUUID = 9
)

// Block group profiles: the bits that say how a chunk is laid out on its
// devices. Neither bit set is "single".
const (
	profileDup  = 1 << 5
	profileMask = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<9 | 1<<10
)

// Incompatible features cairn's file systems may have: mixed backrefs,
// default subvolume, mixed block groups, lzo and zstd, big metadata,
// extended inode refs, raid56 (as a feature; chunks are checked on their
// own), skinny metadata, no holes, metadata UUID, raid1c34, simple
// quotas. Zoned devices, extent tree v2, the RAID stripe tree and the
// remap tree lay out things this package does not know.
const (
	incompatKnown  = 1<<0 | 1<<1 | 1<<2 | 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<9 | 1<<10 | 1<<11 | 1<<16
	incompatSkinny = 1 << 8
)

// superMirrors are where the superblock's copies lie on a device (the
// first is the primary).
var superMirrors = []int64{superOffset, 64 << 20, 256 << 30}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// sum is btrfs's crc32c of b, as stored in the first four bytes of a
// checksum field.
func sum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// setSum writes the checksum of block[32:] into block's checksum field.
func setSum(block []byte) {
	clear(block[:32])
	binary.LittleEndian.PutUint32(block, sum(block[32:]))
}

// sumOK reports whether block's checksum field holds the checksum of
// block[32:].
func sumOK(block []byte) bool {
	return binary.LittleEndian.Uint32(block) == sum(block[32:])
}

func u16(b []byte, off int) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
func u32(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func u64(b []byte, off int) uint64 { return binary.LittleEndian.Uint64(b[off:]) }

func put64(b []byte, off int, v uint64) { binary.LittleEndian.PutUint64(b[off:], v) }

type uuid [uuidSize]byte

func getUUID(b []byte, off int) uuid {
	var u uuid
	copy(u[:], b[off:off+uuidSize])
	return u
}

// key is a btrfs key: (objectid, type, offset), ordered in that order.
type key struct {
	objectid uint64
	typ      uint8
	offset   uint64
}

func getKey(b []byte, off int) key {
	return key{objectid: u64(b, off), typ: b[off+8], offset: u64(b, off+9)}
}

func putKey(b []byte, off int, k key) {
	put64(b, off, k.objectid)
	b[off+8] = k.typ
	put64(b, off+9, k.offset)
}

func (k key) compare(o key) int {
	if c := cmp.Compare(k.objectid, o.objectid); c != 0 {
		return c
	}
	if c := cmp.Compare(k.typ, o.typ); c != 0 {
		return c
	}
	return cmp.Compare(k.offset, o.offset)
}

// clock decides the times: a stamp later than the epoch, or from the
// build (at or after since), becomes the epoch; zero (no time) and older
// stamps stay.
type clock struct {
	epoch, since time.Time
}

// fix rewrites the btrfs_timespec at b[off:], reporting whether it
// changed.
func (c clock) fix(b []byte, off int) bool {
	sec, nsec := int64(u64(b, off)), int64(u32(b, off+8))
	if sec == 0 && nsec == 0 {
		return false
	}
	t := time.Unix(sec, nsec)
	if !t.After(c.epoch) && (c.since.IsZero() || t.Before(c.since)) {
		return false
	}
	put64(b, off, uint64(c.epoch.Unix()))
	binary.LittleEndian.PutUint32(b[off+8:], uint32(c.epoch.Nanosecond()))
	return !t.Equal(c.epoch)
}
