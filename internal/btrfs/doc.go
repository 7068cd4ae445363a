// Package btrfs calls the btrfs ioctls cairn needs, in pure Go on
// golang.org/x/sys/unix (no cgo): subvolumes and read-only snapshots,
// deletion by id, the read-only flag, subvolume information, the default
// subvolume, quota groups, and reflinks (FICLONE) with a copying fallback.
//
// Paths name files on a mounted btrfs file system; the caller needs the
// privileges the kernel asks for (root, in practice: tree searches, quota
// control and deleting subvolumes need CAP_SYS_ADMIN).
//
// The numbers and struct layouts come from the kernel's uapi
// <linux/btrfs.h> and <linux/btrfs_tree.h>; the tests check them against a
// real file system and btrfs-progs. On other systems every function
// returns ErrNotSupported.
package btrfs
