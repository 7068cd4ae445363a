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
