package btrfs

import (
	"encoding/binary"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// IsBtrfs reports whether path is on a btrfs file system.
func IsBtrfs(path string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return false, fmt.Errorf("statfs %s: %w", path, err)
	}
	return st.Type == unix.BTRFS_SUPER_MAGIC, nil
}

// IsSubvolume reports whether path is the root directory of a subvolume
// (the top level included). A symbolic link is not followed.
func IsSubvolume(path string) (bool, error) {
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Ino != firstFreeObjectID {
		return false, nil
	}
	return IsBtrfs(path)
}

// CreateSubvolume creates an empty subvolume at path, whose parent
// directory must exist on btrfs.
func CreateSubvolume(path string) error {
	dir, name, err := splitName(path)
	if err != nil {
		return fmt.Errorf("create subvolume: %w", err)
	}
	err = withDir(dir, func(fd int) error {
		var args volArgs
		cstring(args.Name[:], name)
		return ioctl(fd, iocSubvolCreate, unsafe.Pointer(&args))
	})
	if err != nil {
		return fmt.Errorf("create subvolume %s: %w", path, err)
	}
	return nil
}

// Snapshot makes dst a snapshot of the subvolume src; readOnly sets the
// read-only flag atomically with the creation. The snapshot commits the
// transaction, so it is on disk when Snapshot returns (and src's pending
// writes are flushed first).
func Snapshot(src, dst string, readOnly bool) error {
	dir, name, err := splitName(dst)
	if err != nil {
		return fmt.Errorf("snapshot %s: %w", src, err)
	}
	err = withDir(src, func(srcFd int) error {
		return withDir(dir, func(dirFd int) error {
			args := volArgsV2{Fd: int64(srcFd)}
			if readOnly {
				args.Flags = subvolReadOnly
			}
			cstring(args.Name[:], name)
			return ioctl(dirFd, iocSnapCreateV2, unsafe.Pointer(&args))
		})
	})
	if err != nil {
		return fmt.Errorf("snapshot %s to %s: %w", src, dst, err)
	}
	return nil
}

// DeleteSubvolume deletes the subvolume at path, read-only or not. It
// resolves the subvolume's id from a descriptor of the subvolume itself and
// deletes by id (SNAP_DESTROY_V2 with SPEC_BY_ID, Linux 5.7), so a rename
// racing with the call cannot make it delete something else; older kernels
// fall back to deleting by name (SNAP_DESTROY). The kernel refuses to
// delete the default subvolume (EPERM) and a subvolume that still holds
// others (ENOTEMPTY).
func DeleteSubvolume(path string) error {
	dir, name, err := splitName(path)
	if err != nil {
		return fmt.Errorf("delete subvolume: %w", err)
	}
	if ok, err := IsSubvolume(path); err != nil {
		return fmt.Errorf("delete subvolume: %w", err)
	} else if !ok {
		return fmt.Errorf("delete subvolume %s: not a subvolume", path)
	}
	id, err := SubvolumeID(path)
	if err != nil {
		return fmt.Errorf("delete subvolume: %w", err)
	}
	err = withDir(dir, func(fd int) error {
		args := volArgsV2{Flags: subvolSpecByID}
		binary.NativeEndian.PutUint64(args.Name[:8], id)
		err := ioctl(fd, iocSnapDestroyV2, unsafe.Pointer(&args))
		if err == nil || !notSupported(err) {
			return err
		}
		var v1 volArgs
		cstring(v1.Name[:], name)
		return ioctl(fd, iocSnapDestroy, unsafe.Pointer(&v1))
	})
	if err != nil {
		return fmt.Errorf("delete subvolume %s (id %d): %w", path, id, err)
	}
	return nil
}

// SubvolumeID returns the id of the subvolume holding path
// (BTRFS_IOC_INO_LOOKUP, which every kernel has).
func SubvolumeID(path string) (uint64, error) {
	var id uint64
	err := withDir(path, func(fd int) error {
		args := inoLookupArgs{ObjectID: firstFreeObjectID}
		if err := ioctl(fd, iocInoLookup, unsafe.Pointer(&args)); err != nil {
			return err
		}
		id = args.TreeID
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("subvolume id of %s: %w", path, err)
	}
	return id, nil
}

// ReadOnly reports whether the subvolume at path is read-only.
func ReadOnly(path string) (bool, error) {
	var flags uint64
	err := withDir(path, func(fd int) error {
		return ioctl(fd, iocGetFlags, unsafe.Pointer(&flags))
	})
	if err != nil {
		return false, fmt.Errorf("subvolume flags of %s: %w", path, err)
	}
	return flags&subvolReadOnly != 0, nil
}

// SetReadOnly sets or clears the read-only flag of the subvolume at path.
func SetReadOnly(path string, readOnly bool) error {
	err := withDir(path, func(fd int) error {
		var flags uint64
		if err := ioctl(fd, iocGetFlags, unsafe.Pointer(&flags)); err != nil {
			return err
		}
		if readOnly {
			flags |= subvolReadOnly
		} else {
			flags &^= subvolReadOnly
		}
		return ioctl(fd, iocSetFlags, unsafe.Pointer(&flags))
	})
	if err != nil {
		return fmt.Errorf("set read-only=%t on %s: %w", readOnly, path, err)
	}
	return nil
}

// Sync commits the current transaction of the file system holding path
// (BTRFS_IOC_SYNC), after which quota numbers are up to date.
func Sync(path string) error {
	err := withDir(path, func(fd int) error {
		return ioctl(fd, iocSync, nil)
	})
	if err != nil {
		return fmt.Errorf("btrfs sync %s: %w", path, err)
	}
	return nil
}

// Commit commits the running transaction of the file system holding
// path and waits until it is on disk (BTRFS_IOC_START_SYNC, then
// BTRFS_IOC_WAIT_SYNC), returning its id (the last committed one when
// none was running). Unlike Sync it does not write out dirty file data
// first; like any commit, it waits for every open transaction handle,
// the kernel's own background work included, which makes it a barrier:
// nothing started before it changes the trees after it.
func Commit(path string) (transid uint64, err error) {
	err = withDir(path, func(fd int) error {
		if err := ioctl(fd, iocStartSync, unsafe.Pointer(&transid)); err != nil {
			return err
		}
		return ioctl(fd, iocWaitSync, unsafe.Pointer(&transid))
	})
	if err != nil {
		return 0, fmt.Errorf("btrfs commit %s: %w", path, err)
	}
	return transid, nil
}
