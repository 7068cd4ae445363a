package disk

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Loop is a loop device attached to a part of a file or block device.
type Loop struct {
	// Dev is the device's path (/dev/loopN).
	Dev     string
	backing string
	f       *os.File
}

// AttachLoop attaches a free loop device to size bytes of backing (an
// image file or a block device) from offset: a partition the kernel does
// not know as a device of its own (this is how cairn writes a partition of
// an image, and of a device whose new partition table the kernel has not
// read yet). The device is read-write, and set to detach itself when its
// last user goes; Detach detaches it at once.
func AttachLoop(backing string, offset, size int64) (*Loop, error) {
	img, err := os.OpenFile(backing, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attach a loop device to %s: %w", backing, err)
	}
	defer img.Close()
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("attach a loop device to %s: %w (is the loop module loaded? are you root?)", backing, err)
	}
	defer ctl.Close()
	for attempt := 0; ; attempt++ {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return nil, fmt.Errorf("find a free loop device for %s: %w", backing, err)
		}
		dev := fmt.Sprintf("/dev/loop%d", n)
		f, err := os.OpenFile(dev, os.O_RDWR|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("attach %s: %w", dev, err)
		}
		cfg := unix.LoopConfig{Fd: uint32(img.Fd())}
		cfg.Info.Offset = uint64(offset)
		cfg.Info.Sizelimit = uint64(size)
		cfg.Info.Flags = unix.LO_FLAGS_AUTOCLEAR
		copy(cfg.Info.File_name[:], backing)
		err = unix.IoctlLoopConfigure(int(f.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) && attempt < 20 {
			f.Close() // another process took it first
			continue
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("attach %s to %s at offset %d: %w", dev, backing, offset, err)
		}
		return &Loop{Dev: dev, backing: backing, f: f}, nil
	}
}

// Detach detaches the device. While something still uses it (a mount),
// the kernel detaches it when that ends. Detach is safe to call twice.
func (l *Loop) Detach() error {
	if l.f == nil {
		return nil
	}
	err := unix.IoctlSetInt(int(l.f.Fd()), unix.LOOP_CLR_FD, 0)
	if errors.Is(err, unix.ENXIO) {
		err = nil // already detached
	}
	l.f.Close()
	l.f = nil
	if err != nil {
		return fmt.Errorf("detach %s: %w", l.Dev, err)
	}
	return nil
}

// loopBacking returns the file each loop device is attached to.
func loopBacking() map[string]string {
	out := map[string]string{}
	devs, _ := filepath.Glob("/sys/block/loop*/loop/backing_file")
	for _, p := range devs {
		data, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		name := filepath.Base(filepath.Dir(filepath.Dir(p)))
		out["/dev/"+name] = strings.TrimSpace(string(data))
	}
	return out
}
