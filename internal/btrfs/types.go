package btrfs

import (
	"encoding/hex"
	"errors"
	"time"
)

// ErrNotSupported is returned on systems other than Linux.
var ErrNotSupported = errors.New("btrfs is only supported on Linux")

// ErrNoQgroup is returned by Qgroup for a quota group that does not exist,
// and by every quota function when quotas are not enabled.
var ErrNoQgroup = errors.New("no such quota group")

// TopLevelID is the id of the top-level subvolume of every btrfs file
// system (BTRFS_FS_TREE_OBJECTID).
const TopLevelID = 5

// UUID is a subvolume's UUID.
type UUID [16]byte

// IsZero reports whether u is all zero (no UUID).
func (u UUID) IsZero() bool { return u == UUID{} }

// String formats u as btrfs-progs does: 8-4-4-4-12 hex digits, or "-" for
// the zero UUID.
func (u UUID) String() string {
	if u.IsZero() {
		return "-"
	}
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// SubvolumeInfo describes a subvolume (BTRFS_IOC_GET_SUBVOL_INFO).
type SubvolumeInfo struct {
	ID       uint64 // the subvolume's tree id
	ParentID uint64 // the subvolume holding it; 0 for the top level
	Name     string // its name in the parent directory; "" for the top level
	// Generation is the last transaction that changed the subvolume.
	Generation uint64
	// Flags are the on-disk root item flags (BTRFS_ROOT_SUBVOL_*), not the
	// ioctl's BTRFS_SUBVOL_* flags.
	Flags        uint64
	UUID         UUID
	ParentUUID   UUID // the subvolume this one is a snapshot of
	ReceivedUUID UUID
	// CTransid is the transaction that last changed the subvolume's
	// tree; STransid, on a received subvolume, the sender's CTransid of
	// the subvolume it copies.
	CTransid, STransid uint64
	Created            time.Time // otime
	Changed            time.Time // ctime
}

// ReadOnly reports whether the read-only flag is set in i.Flags.
func (i SubvolumeInfo) ReadOnly() bool { return i.Flags&rootSubvolReadOnly != 0 }

// FileSystem describes a mounted btrfs file system (BTRFS_IOC_FS_INFO).
type FileSystem struct {
	// FSID is the file system's UUID as this kernel knows it, which
	// names its directory in /sys/fs/btrfs: the one on disk, or a
	// temporary one (Linux 6.7) when another with the same UUID is
	// mounted already.
	FSID UUID
	// NodeSize is the size of its tree blocks, SectorSize its block size.
	NodeSize, SectorSize uint32
}

// QgroupID makes a quota group id: level<<48 | id, written "level/id" by
// btrfs-progs. Level 0 quota groups have the id of their subvolume.
func QgroupID(level uint16, id uint64) uint64 {
	return uint64(level)<<48 | id&(1<<48-1)
}

// QgroupUsage is what a quota group accounts, in bytes.
type QgroupUsage struct {
	// Referenced counts every byte the subvolume can reach, shared or not.
	Referenced uint64
	// Exclusive counts the bytes no other subvolume shares: what deleting
	// the subvolume would free.
	Exclusive uint64
}

// QgroupLimit caps a quota group; zero means no limit.
type QgroupLimit struct {
	MaxReferenced uint64
	MaxExclusive  uint64
}

// QuotaStatus is the state of quota accounting on a file system.
type QuotaStatus struct {
	Enabled bool
	// Inconsistent means the numbers are not to be trusted until a rescan
	// completes.
	Inconsistent bool
	Rescanning   bool
	// Simple means simple quotas (Linux 6.7): extents are charged to
	// the subvolume that wrote them.
	Simple bool
}

// Extent is one extent of a file's data (FS_IOC_FIEMAP).
type Extent struct {
	Logical  uint64 // offset in the file
	Physical uint64 // offset on the device
	Length   uint64
	Flags    uint32 // FIEMAP_EXTENT_* flags
}

// Shared reports whether the extent's data is shared with another file or
// snapshot (a reflink or a snapshot of the same data).
func (e Extent) Shared() bool { return e.Flags&fiemapExtentShared != 0 }

// Inline reports whether the data is stored inline in metadata.
func (e Extent) Inline() bool { return e.Flags&fiemapExtentDataInline != 0 }

const (
	subvolReadOnly         = 1 << 1 // BTRFS_SUBVOL_RDONLY (ioctl flags)
	rootSubvolReadOnly     = 1 << 0 // BTRFS_ROOT_SUBVOL_RDONLY (root item flags)
	fiemapExtentShared     = 0x2000 // FIEMAP_EXTENT_SHARED
	fiemapExtentDataInline = 0x200  // FIEMAP_EXTENT_DATA_INLINE
)
