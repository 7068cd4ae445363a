//go:build linux

package image

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// publish renames tmp to out unless out exists (renameat2
// RENAME_NOREPLACE; a plain rename after a check on file systems without
// it).
func publish(tmp, out string) error {
	err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, out, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		if err = checkNew(out); err == nil {
			err = os.Rename(tmp, out)
		}
	}
	if errors.Is(err, unix.EEXIST) || errors.Is(err, unix.ENOTEMPTY) {
		return fmt.Errorf("output %s: %w (remove it first to replace it)", out, fs.ErrExist)
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error { return rootfs.SyncDir(dir) }
