package image

import (
	"context"
	"fmt"
	"io"

	"github.com/cairnlinux/cairn/internal/store"
)

// Disk is the `disk` format: a raw disk image (GPT) that boots the
// generation through UEFI and through a PC BIOS, ready to be written to
// a disk or an SD card with dd or uploaded to a cloud:
//
//   - partition 1, the EFI system partition (FAT32, written by package
//     fat without mounting): systemd-boot as EFI/BOOT/BOOTX64.EFI and
//     EFI/systemd/systemd-bootx64.efi, syslinux (BIOS: its boot sector,
//     ldlinux.sys and ldlinux.c32 in /extlinux, installed by syslinux's
//     own installer through mtools), and the boot directory boot.Sync
//     writes: the kernel and initramfs once per content in /cairn, and
//     the entries of both loaders (loader/entries/*.conf,
//     extlinux/extlinux.conf). The protective MBR carries syslinux's
//     gptmbr.bin, and the partition the "legacy BIOS bootable" attribute
//     it looks for.
//   - partition 2, btrfs (label Label, UUID UUID): a cairn store holding
//     the generation as generation 1, the default for good, with its
//     persistent directories created and seeded as cairn-init would on
//     its first boot, and the store's boot configuration (@cairn/boot.json:
//     the ESP mounted at BootDir, both loaders), so the running system
//     keeps both loaders' entries in line.
//
// On its first boot on a larger disk, cairn-init grows partition 2 to the
// end of the disk and the file system with it (disk.Grow).
//
// Making the image needs root (a loop device and a mount for the btrfs
// partition), mkfs.btrfs, and for BIOS the syslinux installer with
// mtools. See DiskPlan for what is decided before anything is written.
type Disk struct {
	// Size is the image's size in bytes; 0 makes it as small as the
	// generation allows (DiskPlan.MinSize). Ignored when writing onto a
	// device (WriteOnto), which is used whole.
	Size int64
	// ESPSize is the EFI system partition's size; DefaultESPSize when 0.
	ESPSize int64
	// Label is the btrfs file system's label; "cairn" when empty.
	Label string
	// UUID is the btrfs file system's UUID; derived from Seed when empty.
	UUID string
	// RootBy is how loader entries name the store's file system (root=):
	// "uuid" (the default) or "label".
	RootBy string
	// Firmware lists what the disk boots through: "bios" (syslinux) and
	// "uefi" (systemd-boot). Empty means both on x86 machines, UEFI on
	// the others.
	Firmware []string
	// BootDir is where the running system mounts the EFI system
	// partition, recorded in the store's boot configuration; "/boot" when
	// empty.
	BootDir string
	// Serial, Timeout and Modules are as in boot.Config: the loaders'
	// serial console, the menu's timeout, modules the initramfs carries
	// besides the default ones.
	Serial  bool
	Timeout int
	Modules []string
	// Seed determines the identifiers: the disk's and the partitions'
	// GUIDs, the btrfs UUID and those inside the file system (its
	// device's, its chunk tree's, its subvolumes'), the FAT volume ID.
	// When empty they are derived from the generation's manifest and
	// lock digests, so the same manifest and lock give the same
	// identifiers (and two disks written from one image share them, as
	// with any image).
	Seed string
	// Meta describes the generation in the image's store; when nil it is
	// read from the tree's /usr/lib/cairn/generation.json, created at the
	// source's epoch.
	Meta *store.Meta
	// Files are the boot loader files; found in the generation or on the
	// build host when empty (LoaderFiles).
	Files LoaderFiles
	// HostRoot is where the build host's loader files are looked for
	// (systemd-boot's EFI program, syslinux's gptmbr.bin): "/" when
	// empty. Programs (syslinux, mcopy) are found on PATH.
	HostRoot string
	// Log receives a line per step; nothing when nil.
	Log io.Writer
}

// LoaderFiles are the boot loaders' files a disk needs.
type LoaderFiles struct {
	// SystemdBoot is systemd-boot's EFI program for the architecture
	// (systemd-bootx64.efi; Alpine and Debian package systemd-boot /
	// systemd-boot-efi): the generation's
	// /usr/lib/systemd/boot/efi/systemd-boot<arch>.efi if it has one,
	// else the build host's.
	SystemdBoot string
	// GPTMBR is syslinux's MBR boot code for GPT disks (gptmbr.bin), and
	// Syslinux syslinux's installer for FAT file systems (the syslinux
	// program, which needs mtools). Both from the build host, so that
	// they come from one syslinux.
	GPTMBR, Syslinux string
}

// DefaultESPSize is the EFI system partition's size unless given: room
// for the kernels and initramfs images of a dozen generations.
const DefaultESPSize = 256 << 20

// DefaultLabel is the btrfs label of a disk's store.
const DefaultLabel = "cairn"

// ESPLabel is the FAT volume label of a disk's EFI system partition.
const ESPLabel = "CAIRN-ESP"

var _ Format = Disk{}

func (Disk) Name() string { return "disk" }

func (d Disk) logf(format string, args ...any) {
	if d.Log != nil {
		fmt.Fprintf(d.Log, format+"\n", args...)
	}
}

// Write makes the disk image of src at out (which must not exist): it
// plans the disk (DiskPlan), writes it to a temporary file beside out and
// renames it into place when complete.
func (d Disk) Write(ctx context.Context, src Source, out string) (Result, error) {
	if err := checkNew(out); err != nil {
		return Result{}, err
	}
	plan, err := d.Plan(src, Target{})
	if err != nil {
		return Result{}, err
	}
	return d.writeImage(ctx, plan, src, out)
}

// Target is what a disk is written onto: an image file of a size the plan
// decides (the zero Target), or a device (or file) of a given size.
type Target struct {
	// Path names the device, for messages.
	Path string
	// Size is the device's size in bytes; SectorSize its logical sector
	// size (512 when 0).
	Size       int64
	SectorSize int
}

func (t Target) isDevice() bool { return t.Size > 0 }
