package boot

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/disk/fat"
)

// Located is a store's boot directory found on this machine, ready to be
// written.
type Located struct {
	// Dir is the boot directory.
	Dir string
	// How says how it was found, for messages: "/boot", or "UUID=… on
	// /dev/vda1, mounted at /run/cairn-boot-… for this command".
	How string
	// Repaired is what Locate found wrong with a FAT boot file system it
	// mounted, and repaired before mounting it (fat.Check).
	Repaired []fat.Problem
	// mounted is where Locate mounted the file system ("" when it was
	// mounted already).
	mounted string
}

// Release unmounts what Locate mounted.
func (l *Located) Release() error {
	if l == nil || l.mounted == "" {
		return nil
	}
	if err := unix.Unmount(l.mounted, 0); err != nil {
		return fmt.Errorf("unmount the boot file system from %s: %w", l.mounted, err)
	}
	l.mounted = ""
	return os.Remove(l.Dir)
}

// Locate finds the boot directory on this machine. A configuration
// without BootFS (written before cairn recorded it) is taken at its word:
// BootDir. Otherwise the boot file system is looked for where it was
// (BootDir), then wherever this machine has it mounted, and when it is
// not mounted at all — a node whose /boot is not in its fstab, or a
// build host whose loop device is attached but not mounted — it is
// mounted for the command on a directory of its own, which Release
// unmounts. The file system must lie on a device of this machine.
func (c *Config) Locate() (*Located, error) {
	if c.BootFS == "" {
		return &Located{Dir: c.BootDir, How: c.BootDir}, nil
	}
	mounts, err := disk.Mounts()
	if err != nil {
		return nil, err
	}
	if m, ok := disk.MountOf(mounts, c.BootDir); ok && m.Point == filepath.Clean(c.BootDir) && m.Root == "/" {
		if strings.HasPrefix(m.Source, "/dev/") {
			if _, sig, err := disk.FSSpec(m.Source); err == nil && sig.Matches(c.BootFS) {
				return &Located{Dir: c.BootDir, How: c.BootDir}, nil
			}
		}
	}
	dev, sig, err := disk.FindFS(c.BootFS)
	if err != nil {
		return nil, fmt.Errorf("the boot file system %s: %w", c.BootFS, err)
	}
	on, err := disk.DevicesOf(mounts, dev)
	if err != nil {
		return nil, err
	}
	for _, m := range on {
		if m.Root == "/" {
			return &Located{Dir: m.Point, How: fmt.Sprintf("%s (%s on %s)", m.Point, c.BootFS, dev)}, nil
		}
	}
	// A FAT file system is checked, and repaired, before it is mounted:
	// a power cut during an earlier command can have left it in a state
	// Linux mounts but then remounts read-only at the first write that
	// meets the damage, and Alpine's base system has no fsck.vfat.
	var repaired []fat.Problem
	if sig.Kind == "vfat" {
		if repaired, err = repairFAT(dev); err != nil {
			return nil, fmt.Errorf("the boot file system %s on %s: %w", c.BootFS, dev, err)
		}
	}
	dir, err := os.MkdirTemp("/run", "cairn-boot-")
	if err != nil {
		return nil, fmt.Errorf("a directory to mount the boot file system on: %w", err)
	}
	data := ""
	if sig.Kind == "btrfs" {
		data = "subvolid=5"
	}
	if err := unix.Mount(dev, dir, sig.Kind, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, data); err != nil {
		os.Remove(dir)
		why := err.Error()
		if errors.Is(err, unix.ENODEV) {
			why = fmt.Sprintf("this kernel cannot mount %s file systems", sig.Kind)
		}
		return nil, fmt.Errorf("mount the boot file system %s (%s, %s) on %s: %s", c.BootFS, dev, sig.Kind, dir, why)
	}
	return &Located{Dir: dir, How: fmt.Sprintf("%s on %s, mounted at %s for this command", c.BootFS, dev, dir), mounted: dir, Repaired: repaired}, nil
}

// repairFAT checks the FAT file system on dev and repairs what it finds.
// The device is opened exclusively: the kernel refuses while anything
// has it mounted.
func repairFAT(dev string) ([]fat.Problem, error) {
	f, err := os.OpenFile(dev, os.O_RDWR|unix.O_EXCL, 0)
	if err != nil {
		return nil, fmt.Errorf("open it to check it: %w", err)
	}
	defer f.Close()
	r, err := fat.Check(f, true)
	var unchecked *fat.UncheckedError
	if errors.As(err, &unchecked) {
		// A geometry Linux may still mount (it clamps what does not
		// add up): the mount says whether it can.
		return nil, nil
	}
	if err != nil {
		return r.Problems, fmt.Errorf("check and repair it: %w (dosfstools' fsck.fat -a %s may)", err, dev)
	}
	return r.Problems, f.Close()
}

// RecordFS fills in BootFS from the file system mounted at BootDir, when
// BootDir is the mount point of a whole file system on a block device
// (an ESP at /boot or /boot/efi, a /boot partition): the machine that
// boots can then find it wherever it mounts it, or not at all. A boot
// directory inside a larger file system is left to BootDir alone.
func (c *Config) RecordFS() error {
	mounts, err := disk.Mounts()
	if err != nil {
		return err
	}
	m, ok := disk.MountOf(mounts, c.BootDir)
	if !ok || m.Point != filepath.Clean(c.BootDir) || m.Root != "/" || !strings.HasPrefix(m.Source, "/dev/") {
		return nil
	}
	spec, _, err := disk.FSSpec(m.Source)
	if err != nil {
		return fmt.Errorf("boot directory %s: %w", c.BootDir, err)
	}
	c.BootFS = spec
	return nil
}
