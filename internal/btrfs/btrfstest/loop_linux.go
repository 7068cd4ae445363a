package btrfstest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
)

// mountLoop attaches image to a free loop device (disk.AttachLoop, with
// autoclear set) and mounts it on mnt. Autoclear detaches the device when
// its last user goes: the mount once unmounted; if mounting fails, Detach
// detaches it at once.
func mountLoop(image, mnt string) (dev string, err error) {
	l, err := disk.AttachLoop(image, 0, 0)
	if err != nil {
		return "", err
	}
	// With the device mounted, Detach only leaves it to autoclear.
	defer l.Detach()
	if err := unix.Mount(l.Dev, mnt, "btrfs", 0, ""); err != nil {
		return "", fmt.Errorf("mount %s on %s: %w", l.Dev, mnt, err)
	}
	return l.Dev, nil
}

// unmountLoop unmounts mnt and makes sure the loop device is detached.
func unmountLoop(mnt, dev, image string) error {
	var errs []error
	if err := unix.Unmount(mnt, 0); err != nil {
		errs = append(errs, fmt.Errorf("unmount %s: %w", mnt, err))
		// Still busy: detach it from the tree; the kernel finishes later.
		if err := unix.Unmount(mnt, unix.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("lazy unmount %s: %w", mnt, err))
		}
	}
	if attachedTo(dev) == image {
		if f, err := os.OpenFile(dev, os.O_RDWR, 0); err == nil {
			// With the device busy, the kernel sets autoclear instead.
			if err := unix.IoctlSetInt(int(f.Fd()), unix.LOOP_CLR_FD, 0); err != nil && !errors.Is(err, unix.ENXIO) {
				errs = append(errs, fmt.Errorf("detach %s: %w", dev, err))
			}
			f.Close()
		}
	}
	return errors.Join(errs...)
}

// attachedTo returns the backing file of the loop device, "" when none.
func attachedTo(dev string) string {
	data, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "loop", "backing_file"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}
