package store

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

var errWouldBlock = unix.EWOULDBLOCK

// fsImmutableFL is FS_IMMUTABLE_FL from <linux/fs.h> (chattr +i).
const fsImmutableFL = 0x10

func tryLock(f *os.File) error {
	return flock(f, unix.LOCK_EX|unix.LOCK_NB)
}

func blockLock(f *os.File) error {
	return flock(f, unix.LOCK_EX)
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

// syncFS flushes the whole file system holding path (syncfs(2)): one call
// instead of an fsync per file of a freshly built tree.
func syncFS(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		return &fs.PathError{Op: "syncfs", Path: path, Err: err}
	}
	return nil
}

// errNoFlags means the file system has no inode attributes (chattr).
var errNoFlags = errors.New("file system has no immutable attribute")

// setImmutable sets or clears FS_IMMUTABLE_FL on a directory or regular
// file, without following symbolic links. It returns errNoFlags where the
// file system does not support the attribute.
func setImmutable(path string, on bool) (changed bool, err error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return false, flagsError(path, err)
	}
	want := flags &^ fsImmutableFL
	if on {
		want |= fsImmutableFL
	}
	if want == flags {
		return false, nil
	}
	if err := unix.IoctlSetPointerInt(fd, unix.FS_IOC_SETFLAGS, int(int32(want))); err != nil {
		return false, flagsError(path, err)
	}
	return true, nil
}

// immutable reports whether path carries FS_IMMUTABLE_FL.
func immutable(path string) (bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	flags, err := unix.IoctlGetUint32(fd, unix.FS_IOC_GETFLAGS)
	if err != nil {
		return false, flagsError(path, err)
	}
	return flags&fsImmutableFL != 0, nil
}

func flagsError(path string, err error) error {
	if errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) {
		return errNoFlags
	}
	return &fs.PathError{Op: "inode flags", Path: path, Err: err}
}

// inode returns what usage counting needs from a Lstat result.
func inode(fi fs.FileInfo) (ino, nlink uint64, bytes int64) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 1, fi.Size()
	}
	return st.Ino, uint64(st.Nlink), st.Blocks * 512
}

// owner returns a file's owner from a Lstat result.
func owner(fi fs.FileInfo) (uid, gid int) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid), int(st.Gid)
	}
	return -1, -1
}

// birthTime returns when path was created (statx btime), or its
// modification time where the file system does not record birth.
func birthTime(path string) (time.Time, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_BTIME|unix.STATX_MTIME, &stx)
	if err != nil {
		return time.Time{}, &fs.PathError{Op: "statx", Path: path, Err: err}
	}
	t := stx.Mtime
	if stx.Mask&unix.STATX_BTIME != 0 {
		t = stx.Btime
	}
	return time.Unix(t.Sec, int64(t.Nsec)), nil
}

// linkFailed reports whether a hard link failed for a reason a copy does
// not share (another file system, too many links, links not allowed).
func linkFailed(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EMLINK) ||
		errors.Is(err, unix.EPERM) || errors.Is(err, unix.EOPNOTSUPP)
}
