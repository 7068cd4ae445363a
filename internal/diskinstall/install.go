// Package diskinstall writes a cairn system onto a whole block device, as an
// operator otherwise does by hand with gdisk, mkfs, subvolumes, fstab and
// a loader: the layout of the disk image (image.Disk: a GPT, an EFI
// system partition with systemd-boot and syslinux, a btrfs partition
// holding the store with generation 1 as the default and its persistent
// directories), filling the device.
//
// It refuses a device that is in use (mounted, swap, held by another
// device, backing a loop device) whatever the options, and one that holds
// a partition table or a file system unless Wipe is given. A DryRun
// decides everything and writes nothing; the plan says what would be
// done.
package diskinstall

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/image"
)

// Options say what to install where.
type Options struct {
	// Device is the whole disk to install onto (/dev/sdb, /dev/nvme0n1,
	// /dev/mmcblk0, /dev/loop3).
	Device string
	// Disk shapes the layout; its Size is ignored (the device is used
	// whole). Its Seed and UUID are random when empty: an installed disk
	// gets identifiers of its own, unlike an image.
	Disk image.Disk
	// Source is the generation to install.
	Source image.Source
	// Wipe allows overwriting a device that holds a partition table or a
	// file system.
	Wipe bool
	// DryRun makes the plan and writes nothing.
	DryRun bool
	// Log receives a line per step (also Disk.Log when that is nil).
	Log io.Writer
}

// Plan is what Install does, or would do.
type Plan struct {
	Device string
	// Disk is the layout.
	Disk *image.DiskPlan
	// Found are the partition tables and file systems on the device
	// before the installation.
	Found []disk.Signature
	// Wipe says Found is wiped; DryRun that nothing is written.
	Wipe, DryRun bool
	// Notes are what the installation could not do and did not need
	// (the kernel not told about the new partitions).
	Notes []string
}

func (p *Plan) String() string {
	var b strings.Builder
	verb := "installs"
	if p.DryRun {
		verb = "would install"
	}
	fmt.Fprintf(&b, "cairn %s onto %s:\n", verb, p.Device)
	switch {
	case len(p.Found) == 0:
		b.WriteString("  the device holds no partition table or file system\n")
	default:
		what := "refused without wipe"
		if p.Wipe {
			what = "wiped"
		}
		for _, s := range p.Found {
			fmt.Fprintf(&b, "  found %s (%s)\n", s, what)
		}
	}
	for _, line := range strings.Split(strings.TrimRight(p.Disk.String(), "\n"), "\n") {
		b.WriteString("  " + line + "\n")
	}
	for _, n := range p.Notes {
		fmt.Fprintf(&b, "  note: %s\n", n)
	}
	return b.String()
}

// InUseError says the device is in use on this machine: nothing was
// written, and Wipe does not change that.
type InUseError struct {
	Device  string
	Reasons []string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("%s is in use: %s; unmount it (and its partitions), stop what uses it, then try again; nothing was written", e.Device, strings.Join(e.Reasons, "; "))
}

// HasDataError says the device holds a partition table or a file system
// and Wipe was not given: nothing was written.
type HasDataError struct {
	Device string
	Found  []disk.Signature
}

func (e *HasDataError) Error() string {
	var found []string
	for _, s := range e.Found {
		found = append(found, s.String())
	}
	return fmt.Sprintf("%s holds %s: installing destroys it; give wipe (--wipe) if that is what you want; nothing was written", e.Device, strings.Join(found, ", "))
}

func randomSeed() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}
