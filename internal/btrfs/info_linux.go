package btrfs

import (
	"bytes"
	"fmt"
	"time"
	"unsafe"
)

// Info describes the subvolume holding path (BTRFS_IOC_GET_SUBVOL_INFO,
// Linux 4.18).
func Info(path string) (SubvolumeInfo, error) {
	var args getSubvolInfoArgs
	err := withDir(path, func(fd int) error {
		return ioctl(fd, iocGetSubvolInfo, unsafe.Pointer(&args))
	})
	if err != nil {
		return SubvolumeInfo{}, fmt.Errorf("subvolume info of %s: %w", path, err)
	}
	name := args.Name[:]
	if i := bytes.IndexByte(name, 0); i >= 0 {
		name = name[:i]
	}
	return SubvolumeInfo{
		ID:           args.TreeID,
		ParentID:     args.ParentID,
		Name:         string(name),
		Generation:   args.Generation,
		Flags:        args.Flags,
		UUID:         args.UUID,
		ParentUUID:   args.ParentUUID,
		ReceivedUUID: args.ReceivedUUID,
		CTransid:     args.Ctransid,
		STransid:     args.Stransid,
		Created:      args.Otime.time(),
		Changed:      args.Ctime.time(),
	}, nil
}

func (t timespec) time() time.Time {
	if t.Sec == 0 && t.Nsec == 0 {
		return time.Time{}
	}
	return time.Unix(int64(t.Sec), int64(t.Nsec))
}

// fsInfoArgs is struct btrfs_ioctl_fs_info_args (1024 bytes).
type fsInfoArgs struct {
	MaxID          uint64
	NumDevices     uint64
	FSID           UUID
	NodeSize       uint32
	SectorSize     uint32
	CloneAlignment uint32
	CsumType       uint16
	CsumSize       uint16
	Flags          uint64
	Generation     uint64
	MetadataUUID   UUID
	_              [944]byte
}

// FileSystemInfo describes the file system holding path
// (BTRFS_IOC_FS_INFO).
func FileSystemInfo(path string) (FileSystem, error) {
	var args fsInfoArgs
	err := withDir(path, func(fd int) error {
		return ioctl(fd, iocFSInfo, unsafe.Pointer(&args))
	})
	if err != nil {
		return FileSystem{}, fmt.Errorf("file system info of %s: %w", path, err)
	}
	return FileSystem{FSID: args.FSID, NodeSize: args.NodeSize, SectorSize: args.SectorSize}, nil
}
