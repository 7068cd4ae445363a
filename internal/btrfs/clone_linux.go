package btrfs

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// CloneFile creates dst as a reflink of the regular file src (FICLONE):
// dst shares src's data extents until either is written, so no data is
// copied. dst gets src's permission bits and must not exist. Both must be
// on the same file system, and it must support reflinks (btrfs, xfs with
// reflink=1).
func CloneFile(dst, src string) error {
	_, err := cloneOrCopy(dst, src, false)
	return err
}

// CopyFile creates dst with src's content and permission bits, by reflink
// where the file system can (see CloneFile) and by copying the data where
// it cannot (another file system, no reflink support). It reports whether
// the data is shared by reflink. dst must not exist; on error it is not
// left behind.
func CopyFile(dst, src string) (reflinked bool, err error) {
	copied, err := cloneOrCopy(dst, src, true)
	return err == nil && !copied, err
}

func cloneOrCopy(dst, src string, fallback bool) (copied bool, err error) {
	in, err := os.Open(src)
	if err != nil {
		return false, fmt.Errorf("clone: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return false, fmt.Errorf("clone: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return false, fmt.Errorf("clone %s: not a regular file", src)
	}
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fi.Mode().Perm())
	if err != nil {
		return false, fmt.Errorf("clone %s: %w", src, err)
	}
	done := false
	defer func() {
		if !done {
			out.Close()
			os.Remove(dst)
		}
	}()
	// The mode given to open is masked by the umask.
	if err := out.Chmod(fi.Mode().Perm()); err != nil {
		return false, fmt.Errorf("clone %s to %s: %w", src, dst, err)
	}
	if cerr := unix.IoctlFileClone(int(out.Fd()), int(in.Fd())); cerr != nil {
		if !fallback || !cannotClone(cerr) {
			return false, fmt.Errorf("clone %s to %s: %w", src, dst, cerr)
		}
		if _, err := io.Copy(out, in); err != nil {
			return false, fmt.Errorf("copy %s to %s: %w", src, dst, err)
		}
		copied = true
	}
	if err := out.Close(); err != nil {
		return false, fmt.Errorf("clone %s to %s: %w", src, dst, err)
	}
	done = true
	return copied, nil
}

// cannotClone reports whether a FICLONE error means "these two files
// cannot share extents" (another file system, no reflink support) rather
// than a failure a copy would meet too.
func cannotClone(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EOPNOTSUPP) ||
		errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) ||
		errors.Is(err, unix.ENOSYS)
}
