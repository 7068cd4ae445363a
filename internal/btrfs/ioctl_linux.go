package btrfs

import (
	"errors"
	"fmt"
	"path/filepath"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ioctl numbers from <linux/btrfs.h>: dir<<30 | size<<16 | 0x94<<8 | nr.
const (
	iocSnapCreateV2  = 0x50009417 // _IOW(0x94, 23, vol_args_v2)
	iocSubvolCreate  = 0x5000940e // _IOW(0x94, 14, vol_args)
	iocSnapDestroy   = 0x5000940f // _IOW(0x94, 15, vol_args)
	iocSnapDestroyV2 = 0x5000943f // _IOW(0x94, 63, vol_args_v2)
	iocGetFlags      = 0x80089419 // _IOR(0x94, 25, u64)
	iocSetFlags      = 0x4008941a // _IOW(0x94, 26, u64)
	iocDefaultSubvol = 0x40089413 // _IOW(0x94, 19, u64)
	iocInoLookup     = 0xd0009412 // _IOWR(0x94, 18, ino_lookup_args)
	iocGetSubvolInfo = 0x81f8943c // _IOR(0x94, 60, get_subvol_info_args)
	iocTreeSearch    = 0xd0009411 // _IOWR(0x94, 17, search_args)
	iocSync          = 0x9408     // _IO(0x94, 8)
	iocStartSync     = 0x80089418 // _IOR(0x94, 24, u64)
	iocWaitSync      = 0x40089416 // _IOW(0x94, 22, u64)
	iocFSInfo        = 0x8400941f // _IOR(0x94, 31, fs_info_args)
	iocQuotaCtl      = 0xc0109428 // _IOWR(0x94, 40, quota_ctl_args)
	iocQgroupCreate  = 0x4010942a // _IOW(0x94, 42, qgroup_create_args)
	// QGROUP_LIMIT is declared _IOR in the uapi although it is an input.
	iocQgroupLimit       = 0x8030942b // _IOR(0x94, 43, qgroup_limit_args)
	iocQuotaRescanWait   = 0x942e     // _IO(0x94, 46)
	iocFiemap            = 0xc020660b // FS_IOC_FIEMAP, _IOWR('f', 11, fiemap)
	subvolSpecByID       = 1 << 4     // BTRFS_SUBVOL_SPEC_BY_ID
	firstFreeObjectID    = 256        // BTRFS_FIRST_FREE_OBJECTID: a subvolume's root directory
	rootTreeObjectID     = 1          // BTRFS_ROOT_TREE_OBJECTID
	rootTreeDirObjectID  = 6          // BTRFS_ROOT_TREE_DIR_OBJECTID
	quotaTreeObjectID    = 8          // BTRFS_QUOTA_TREE_OBJECTID
	dirItemKey           = 84         // BTRFS_DIR_ITEM_KEY
	qgroupStatusKey      = 240        // BTRFS_QGROUP_STATUS_KEY
	qgroupInfoKey        = 242        // BTRFS_QGROUP_INFO_KEY
	qgroupLimitKey       = 244        // BTRFS_QGROUP_LIMIT_KEY
	quotaCtlEnable       = 1          // BTRFS_QUOTA_CTL_ENABLE
	quotaCtlEnableSimple = 4          // BTRFS_QUOTA_CTL_ENABLE_SIMPLE_QUOTA (Linux 6.7)
	qgroupLimitMaxRfer   = 1 << 0     // BTRFS_QGROUP_LIMIT_MAX_RFER
	qgroupLimitMaxExcl   = 1 << 1     // BTRFS_QGROUP_LIMIT_MAX_EXCL
	qgroupStatusOn       = 1 << 0     // BTRFS_QGROUP_STATUS_FLAG_ON
	qgroupStatusRescan   = 1 << 1     // BTRFS_QGROUP_STATUS_FLAG_RESCAN
	qgroupStatusIncons   = 1 << 2     // BTRFS_QGROUP_STATUS_FLAG_INCONSISTENT
	qgroupStatusSimple   = 1 << 3     // BTRFS_QGROUP_STATUS_FLAG_SIMPLE_MODE
	nameMax              = 255        // BTRFS_NAME_LEN
)

// volArgs is struct btrfs_ioctl_vol_args (4096 bytes).
type volArgs struct {
	Fd   int64
	Name [4088]byte
}

// volArgsV2 is struct btrfs_ioctl_vol_args_v2 (4096 bytes). Name also
// holds the subvolume id (first 8 bytes, native order) with SPEC_BY_ID.
type volArgsV2 struct {
	Fd      int64
	Transid uint64
	Flags   uint64
	Unused  [4]uint64
	Name    [4040]byte
}

// inoLookupArgs is struct btrfs_ioctl_ino_lookup_args (4096 bytes).
type inoLookupArgs struct {
	TreeID   uint64
	ObjectID uint64
	Name     [4080]byte
}

// timespec is struct btrfs_ioctl_timespec, padded to 16 bytes.
type timespec struct {
	Sec  uint64
	Nsec uint32
	_    uint32
}

// getSubvolInfoArgs is struct btrfs_ioctl_get_subvol_info_args (504 bytes).
type getSubvolInfoArgs struct {
	TreeID       uint64
	Name         [256]byte
	ParentID     uint64
	DirID        uint64
	Generation   uint64
	Flags        uint64
	UUID         [16]byte
	ParentUUID   [16]byte
	ReceivedUUID [16]byte
	Ctransid     uint64
	Otransid     uint64
	Stransid     uint64
	Rtransid     uint64
	Ctime        timespec
	Otime        timespec
	Stime        timespec
	Rtime        timespec
	Reserved     [8]uint64
}

type quotaCtlArgs struct {
	Cmd    uint64
	Status uint64
}

type qgroupCreateArgs struct {
	Create   uint64
	QgroupID uint64
}

type qgroupLimitArgs struct {
	QgroupID uint64
	Flags    uint64
	MaxRfer  uint64
	MaxExcl  uint64
	RsvRfer  uint64
	RsvExcl  uint64
}

// ioctl issues one ioctl, retrying on EINTR.
func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}

// openDir opens a directory for ioctls, not following a final symlink.
func openDir(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return -1, err
		}
		return fd, nil
	}
}

// withDir runs fn on a descriptor of the directory at path.
func withDir(path string, fn func(fd int) error) error {
	fd, err := openDir(path)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return fn(fd)
}

// splitName splits path into its parent directory and a name valid for a
// new subvolume.
func splitName(path string) (dir, name string, err error) {
	path = filepath.Clean(path)
	dir, name = filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	switch {
	case name == "" || name == "." || name == ".." || name == "/":
		return "", "", fmt.Errorf("%q does not end in a name", path)
	case len(name) > nameMax:
		return "", "", fmt.Errorf("name %.20q... longer than %d bytes", name, nameMax)
	}
	return dir, name, nil
}

// cstring copies s into buf, which must hold s and a terminating NUL.
func cstring(buf []byte, s string) {
	n := copy(buf[:len(buf)-1], s)
	buf[n] = 0
}

// notSupported reports whether err means the kernel or the file system
// lacks an ioctl, as opposed to refusing it.
func notSupported(err error) bool {
	return errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) ||
		errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS)
}
