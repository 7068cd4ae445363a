package btrfstest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// mountLoop attaches image to a free loop device with autoclear set and
// mounts it on mnt. Autoclear detaches the device when its last user
// goes: the mount once unmounted, or this function's own descriptor if
// mounting fails.
func mountLoop(image, mnt string) (dev string, err error) {
	img, err := os.OpenFile(image, os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer img.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", err
	}
	defer ctl.Close()
	var loop *os.File
	for attempt := 0; loop == nil; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("find a free loop device: %w", err)
		}
		dev = fmt.Sprintf("/dev/loop%d", n)
		f, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return "", err
		}
		cfg := unix.LoopConfig{Fd: uint32(img.Fd())}
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], image)
		err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) && attempt < 20 {
			f.Close() // another process took it first
			continue
		}
		if err != nil {
			f.Close()
			return "", fmt.Errorf("attach %s to %s: %w", image, dev, err)
		}
		loop = f
	}
	defer loop.Close()
	if err := unix.Mount(dev, mnt, "btrfs", 0, ""); err != nil {
		return "", fmt.Errorf("mount %s on %s: %w", dev, mnt, err)
	}
	return dev, nil
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
