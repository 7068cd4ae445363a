//go:build !linux

package rootfs

import (
	"errors"
	"os"
	"syscall"
)

// ErrUnsupported: a root on disk needs openat2, which only Linux has.
var errUnsupported = errors.New("a root directory on disk is only supported on Linux (openat2)")

// OpenRoot fails on systems other than Linux; Memory works everywhere.
func OpenRoot(dir string) (Root, error) {
	return nil, &os.PathError{Op: "open root", Path: dir, Err: errUnsupported}
}

// CloneFrom cannot share data on this system.
func CloneFrom(f File, src string) error {
	return &os.PathError{Op: "clone", Path: src, Err: syscall.EOPNOTSUPP}
}

// CloneTo cannot share data on this system.
func CloneTo(d Dir, name, dst string) error {
	return &os.PathError{Op: "clone", Path: dst, Err: syscall.EOPNOTSUPP}
}

// CannotClone reports whether err says the file systems cannot share data.
func CannotClone(err error) bool {
	return errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EOPNOTSUPP) || errors.Is(err, syscall.EINVAL)
}
