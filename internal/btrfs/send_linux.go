package btrfs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"unsafe"
)

const (
	iocSend        = 0x40489426 // _IOW(0x94, 38, send_args)
	iocSetReceived = 0xc0c89425 // _IOWR(0x94, 37, received_subvol_args)
)

// sendArgs is struct btrfs_ioctl_send_args (72 bytes).
type sendArgs struct {
	SendFd            int64
	CloneSourcesCount uint64
	CloneSources      uintptr
	ParentRoot        uint64
	Flags             uint64
	Version           uint32
	Reserved          [28]byte
}

// receivedSubvolArgs is struct btrfs_ioctl_received_subvol_args (200 bytes).
type receivedSubvolArgs struct {
	UUID     UUID
	Stransid uint64
	Rtransid uint64
	Stime    timespec
	Rtime    timespec
	Flags    uint64
	Reserved [16]uint64
}

// Send writes the send stream of the read-only subvolume path to w
// (BTRFS_IOC_SEND, version 1): the whole subvolume when parent is "", or
// only what changed since parent, a read-only subvolume of the same file
// system, which is also offered to the kernel as a clone source. The
// stream is what `btrfs send [-p parent] path` writes; `btrfs receive`
// applies it.
func Send(ctx context.Context, path, parent string, w io.Writer) error {
	var parentID uint64
	if parent != "" {
		id, err := SubvolumeID(parent)
		if err != nil {
			return fmt.Errorf("send %s: parent: %w", path, err)
		}
		parentID = id
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("send %s: %w", path, err)
	}
	copied := make(chan error, 1)
	go func() {
		_, err := io.Copy(w, pr)
		if err != nil {
			// Unblock the kernel, which otherwise waits for a reader.
			pr.Close()
		}
		copied <- err
	}()
	err = withDir(path, func(fd int) error {
		stop := context.AfterFunc(ctx, func() { pr.Close() })
		defer stop()
		args := sendArgs{SendFd: int64(pw.Fd())}
		sources := []uint64{parentID}
		if parentID != 0 {
			args.ParentRoot = parentID
			args.CloneSourcesCount = 1
			args.CloneSources = uintptr(unsafe.Pointer(&sources[0]))
		}
		err := ioctl(fd, iocSend, unsafe.Pointer(&args))
		_ = sources[0] // keeps the array alive across the call
		return err
	})
	pw.Close()
	cerr := <-copied
	pr.Close()
	if ctx.Err() != nil {
		return fmt.Errorf("send %s: %w", path, ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("send %s: %w", path, errors.Join(err, cerr))
	}
	if cerr != nil {
		return fmt.Errorf("send %s: %w", path, cerr)
	}
	return nil
}

// SetReceived records on the writable subvolume path that it is a copy
// of the subvolume uuid as that was at transaction stransid, as `btrfs
// receive` does at the end of a stream (BTRFS_IOC_SET_RECEIVED_SUBVOL).
// A later incremental stream whose parent is that subvolume finds path
// as its base.
func SetReceived(path string, uuid UUID, stransid uint64) error {
	err := withDir(path, func(fd int) error {
		args := receivedSubvolArgs{UUID: uuid, Stransid: stransid}
		return ioctl(fd, iocSetReceived, unsafe.Pointer(&args))
	})
	if err != nil {
		return fmt.Errorf("set received subvolume %s: %w", path, err)
	}
	return nil
}
