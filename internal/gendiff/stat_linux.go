package gendiff

import (
	"io/fs"
	"syscall"
)

// statIDs returns a file's owner, device and inode.
func statIDs(fi fs.FileInfo) (uid, gid uint32, dev, ino uint64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, 0, 0
	}
	return st.Uid, st.Gid, uint64(st.Dev), st.Ino
}
