package secrets

import (
	"errors"
	"io/fs"
	"syscall"

	"golang.org/x/sys/unix"
)

// memoryFS checks that dir is on tmpfs or ramfs.
func memoryFS(dir string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return err
	}
	switch uint32(st.Type) {
	case unix.TMPFS_MAGIC, unix.RAMFS_MAGIC:
		return nil
	}
	return errors.New("not a memory file system (tmpfs or ramfs)")
}

// fileOwner is the owner of the file fi describes.
func fileOwner(fi fs.FileInfo) (uid, gid int, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return int(st.Uid), int(st.Gid), true
}
