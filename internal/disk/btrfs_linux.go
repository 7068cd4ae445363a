package disk

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Ioctls of <linux/btrfs.h> that package btrfs does not need.
const (
	iocResize  = 0x50009403 // _IOW(0x94, 3, btrfs_ioctl_vol_args)
	iocDevInfo = 0xd000941e // _IOWR(0x94, 30, btrfs_ioctl_dev_info_args)
	iocFsInfo  = 0x8400941f // _IOR(0x94, 31, btrfs_ioctl_fs_info_args)
)

// volArgs is struct btrfs_ioctl_vol_args.
type volArgs struct {
	Fd   int64
	Name [4088]byte
}

// devInfoArgs is struct btrfs_ioctl_dev_info_args (4096 bytes).
type devInfoArgs struct {
	Devid      uint64
	UUID       [16]byte
	BytesUsed  uint64
	TotalBytes uint64
	Fsid       [16]byte
	Unused     [377]uint64
	Path       [1024]byte
}

// fsInfoArgs is struct btrfs_ioctl_fs_info_args (1024 bytes).
type fsInfoArgs struct {
	MaxID          uint64
	NumDevices     uint64
	Fsid           [16]byte
	Nodesize       uint32
	Sectorsize     uint32
	CloneAlignment uint32
	CsumType       uint16
	CsumSize       uint16
	Flags          uint64
	Generation     uint64
	MetadataUUID   [16]byte
	Reserved       [944]byte
}

func ioctl(f *os.File, req uintptr, arg unsafe.Pointer) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), req, uintptr(arg)); e != 0 {
		return e
	}
	return nil
}

// btrfsDevice is the one device of a mounted btrfs: its id and size.
type btrfsDevice struct {
	ID   uint64
	Size int64
	Path string
}

// btrfsSingleDevice returns the device of the btrfs mounted at mnt, which
// must have exactly one.
func btrfsSingleDevice(mnt *os.File) (btrfsDevice, error) {
	var fi fsInfoArgs
	if err := ioctl(mnt, iocFsInfo, unsafe.Pointer(&fi)); err != nil {
		return btrfsDevice{}, fmt.Errorf("btrfs file system information of %s: %w", mnt.Name(), err)
	}
	if fi.NumDevices != 1 {
		return btrfsDevice{}, fmt.Errorf("the btrfs at %s has %d devices; cairn grows only single-device file systems", mnt.Name(), fi.NumDevices)
	}
	for id := uint64(1); id <= fi.MaxID; id++ {
		di := devInfoArgs{Devid: id}
		if err := ioctl(mnt, iocDevInfo, unsafe.Pointer(&di)); err == unix.ENODEV {
			continue
		} else if err != nil {
			return btrfsDevice{}, fmt.Errorf("btrfs device %d of %s: %w", id, mnt.Name(), err)
		}
		return btrfsDevice{ID: id, Size: int64(di.TotalBytes), Path: cstring(di.Path[:])}, nil
	}
	return btrfsDevice{}, fmt.Errorf("the btrfs at %s lists no device", mnt.Name())
}

// resizeBtrfs makes device id of the btrfs mounted at mnt fill its
// device ("id:max"), as `btrfs filesystem resize id:max` does.
func resizeBtrfs(mnt *os.File, id uint64) error {
	var a volArgs
	copy(a.Name[:], fmt.Sprintf("%d:max", id))
	if err := ioctl(mnt, iocResize, unsafe.Pointer(&a)); err != nil {
		return fmt.Errorf("resize the btrfs at %s to fill its device: %w", mnt.Name(), err)
	}
	return nil
}
