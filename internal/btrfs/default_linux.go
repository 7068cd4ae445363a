package btrfs

import (
	"encoding/binary"
	"fmt"
	"unsafe"
)

// DefaultSubvolume returns the id of the default subvolume of the file
// system holding path: the one mounted when no subvol= option is given.
// It reads the "default" directory item of the root tree, as btrfs-progs
// does; a file system that never had one set reports TopLevelID.
func DefaultSubvolume(path string) (uint64, error) {
	id := uint64(TopLevelID)
	err := withDir(path, func(fd int) error {
		min := [3]uint64{rootTreeDirObjectID, dirItemKey, 0}
		max := [3]uint64{rootTreeDirObjectID, dirItemKey, ^uint64(0)}
		var found bool
		var perr error
		err := treeSearch(fd, rootTreeObjectID, min, max, func(_ searchHeader, item []byte) bool {
			found, id, perr = findDirItem(item, "default")
			return !found && perr == nil
		})
		if err != nil {
			return err
		}
		if perr != nil {
			return perr
		}
		if !found {
			id = TopLevelID
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("default subvolume of %s: %w", path, err)
	}
	return id, nil
}

// findDirItem looks for name among the struct btrfs_dir_item entries packed
// in item (several names can share one hash) and returns the object id of
// its location.
func findDirItem(item []byte, name string) (bool, uint64, error) {
	const dirItemSize = 30 // location(17) transid(8) data_len(2) name_len(2) type(1)
	for len(item) > 0 {
		if len(item) < dirItemSize {
			return false, 0, fmt.Errorf("short directory item")
		}
		objectID := binary.LittleEndian.Uint64(item[0:])
		dataLen := int(binary.LittleEndian.Uint16(item[25:]))
		nameLen := int(binary.LittleEndian.Uint16(item[27:]))
		end := dirItemSize + nameLen + dataLen
		if len(item) < end {
			return false, 0, fmt.Errorf("short directory item")
		}
		if string(item[dirItemSize:dirItemSize+nameLen]) == name {
			return true, objectID, nil
		}
		item = item[end:]
	}
	return false, 0, nil
}

// SetDefaultSubvolume makes the subvolume with the given id the default of
// the file system holding path (BTRFS_IOC_DEFAULT_SUBVOL).
func SetDefaultSubvolume(path string, id uint64) error {
	err := withDir(path, func(fd int) error {
		return ioctl(fd, iocDefaultSubvol, unsafe.Pointer(&id))
	})
	if err != nil {
		return fmt.Errorf("set default subvolume of %s to %d: %w", path, id, err)
	}
	return nil
}
