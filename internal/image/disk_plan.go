package image

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/disk/fat"
	"github.com/cairnlinux/cairn/internal/disk/gpt"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// Firmware names.
const (
	BIOS = "bios"
	UEFI = "uefi"
)

const (
	diskMiB = 1 << 20
	// diskAlign is where partitions start and end: whole MiB, as every
	// partitioning tool aligns them.
	diskAlign = diskMiB
	// minStoreSize is the smallest btrfs cairn makes: mkfs.btrfs's own
	// chunks (metadata twice, system twice) and reserves take ~80 MiB.
	minStoreSize = 256 * diskMiB
	// storeOverhead is room for btrfs's chunks and reserves besides the
	// data and metadata the generation needs.
	storeOverhead = 128 * diskMiB
)

// DiskPlan is what a disk will hold, decided before anything is written:
// the layout, the identifiers, the generation, the loaders.
type DiskPlan struct {
	// Size is the disk's size in bytes; MinSize the smallest that holds
	// the generation. SectorSize is 512 or 4096.
	Size, MinSize int64
	SectorSize    int
	// Device is the target device for an installation, "" for an image.
	Device string
	// Table is the partition table: 1 the ESP, 2 the store.
	Table *gpt.Table
	// ESPVolumeID is the ESP's FAT serial number.
	ESPVolumeID uint32
	// Label and UUID name the btrfs file system; Root is the loader
	// entries' root= argument.
	Label, UUID, Root string
	// seed is what the identifiers derive from, the btrfs file system's
	// inner ones too (btrfsnorm.Options.Seed).
	seed []byte
	// BIOS and UEFI say which firmware the disk boots through; Files are
	// the loader files used.
	BIOS, UEFI bool
	Files      LoaderFiles
	// Arch is the generation's architecture; EFIName the name of
	// systemd-boot's program on the ESP (BOOTX64.EFI).
	Arch, EFIName string
	// Meta is the generation's record in the image's store; Epoch its
	// files' latest time.
	Meta  store.Meta
	Epoch time.Time
	// Kernel is the generation's kernel.
	Kernel boot.Kernel
	// TreeBytes and TreeEntries measure the generation; StoreNeed is the
	// btrfs size they need.
	TreeBytes   int64
	TreeEntries int
	StoreNeed   int64
	// Persist are the generation's persistent directories.
	Persist []string
	// Boot is the store's boot configuration.
	Boot boot.Config
}

// ESP and Store return the two partitions.
func (p *DiskPlan) ESP() gpt.Partition   { q, _ := p.Table.Partition(1); return q }
func (p *DiskPlan) Store() gpt.Partition { q, _ := p.Table.Partition(2); return q }

func (p *DiskPlan) offset(q gpt.Partition) int64 { return int64(q.First) * int64(p.SectorSize) }
func (p *DiskPlan) length(q gpt.Partition) int64 { return int64(q.Sectors()) * int64(p.SectorSize) }

// TooSmallError says a disk cannot hold the generation.
type TooSmallError struct {
	// What is "disk image" or the device.
	What       string
	Size, Need int64
	Why        string
}

func (e *TooSmallError) Error() string {
	return fmt.Sprintf("%s of %s is too small: it must be at least %s (%s)", e.What, sizeText(e.Size), sizeText(e.Need), e.Why)
}

// sizeText prints a size in MiB, with GiB beside it from 1 GiB.
func sizeText(n int64) string {
	if n >= 1<<30 {
		return fmt.Sprintf("%d MiB (%.1f GiB)", n>>20, float64(n)/(1<<30))
	}
	return fmt.Sprintf("%d MiB", (n+diskMiB-1)>>20)
}

// Plan decides what the disk will hold: it reads the generation (its
// record, kernel, size, persistent directories), finds the loader files
// and the tools, and lays out the partitions for the target (an image
// file: Target{}; a device: its size). It writes nothing.
func (d Disk) Plan(src Source, target Target) (*DiskPlan, error) {
	if err := src.check(); err != nil {
		return nil, err
	}
	p := &DiskPlan{SectorSize: 512, Device: target.Path}
	if target.SectorSize != 0 {
		p.SectorSize = target.SectorSize
	}
	if p.SectorSize != 512 {
		return nil, fmt.Errorf("%s: %d-byte logical sectors: cairn writes disks of 512-byte sectors only (syslinux and its FAT file system need them)", target.Path, p.SectorSize)
	}
	var errs []error
	if err := d.readGeneration(src, p); err != nil {
		return nil, err
	}
	if err := d.chooseFirmware(p); err != nil {
		errs = append(errs, err)
	}
	if err := d.findFiles(src, p); err != nil {
		errs = append(errs, err)
	}
	if _, err := exec.LookPath("mkfs.btrfs"); err != nil {
		errs = append(errs, errors.New("mkfs.btrfs not found: install btrfs-progs (Alpine and Debian package btrfs-progs)"))
	}
	if err := d.identify(p); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := d.layout(p, target); err != nil {
		return nil, err
	}
	return p, nil
}

// readGeneration reads what the plan needs from the tree.
func (d Disk) readGeneration(src Source, p *DiskPlan) error {
	root := src.Root
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		return fmt.Errorf("generation %s: not a directory", root)
	}
	g, err := layout.ReadGeneration(root)
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
		return fmt.Errorf("generation %s: %w (a disk holds a generation built by cairn)", root, err)
	}
	if err != nil {
		return fmt.Errorf("generation %s: %w", root, err)
	}
	p.Epoch = src.Epoch
	if p.Epoch.IsZero() {
		p.Epoch = g.BuildTime
	}
	p.Epoch = p.Epoch.UTC().Truncate(time.Second)
	if d.Meta != nil {
		p.Meta = *d.Meta
	} else {
		p.Meta = store.Meta{Description: g.Description, ManifestDigest: g.ManifestDigest, LockDigest: g.LockDigest, Created: p.Epoch}
		if p.Meta.Description == "" {
			p.Meta.Description = g.Name
		}
		for _, pkg := range g.Packages {
			p.Meta.Packages = append(p.Meta.Packages, store.Package{Name: pkg.Name, Version: pkg.Version})
			if pkg.Name == g.Kernel {
				p.Meta.Kernel = pkg.Name + " " + pkg.Version
			}
		}
	}
	p.Meta.Generation = 0
	if p.Kernel, err = boot.FindKernel(root, p.Meta.Kernel); err != nil {
		return fmt.Errorf("generation %s cannot boot: %w", root, err)
	}
	if _, err := os.Stat(layout.InTree(root, layout.CairnInit)); err != nil {
		return fmt.Errorf("generation %s has no cairn-init (%s): build it with cairn-init beside cairn", root, layout.CairnInit)
	}
	p.Arch = src.Arch
	if p.Arch == "" {
		a, _ := os.ReadFile(filepath.Join(root, "etc/apk/arch"))
		p.Arch = strings.TrimSpace(string(a))
	}
	if f, err := os.Open(layout.InTree(root, layout.PersistList)); err == nil {
		paths, problems, err := layout.ParsePersist(f)
		f.Close()
		if err != nil {
			return fmt.Errorf("generation %s: %s: %w", root, layout.PersistList, err)
		}
		if len(problems) > 0 {
			return fmt.Errorf("generation %s: %s", root, strings.Join(problems, "; "))
		}
		p.Persist = paths
	}
	return d.measure(root, p)
}

// measure sums what the generation needs on btrfs: data in 4 KiB blocks
// (files up to 2 KiB live in metadata), about 1 KiB of metadata per
// entry, kept twice (btrfs's DUP metadata), and the persistent
// directories' seed copies once more.
func (d Disk) measure(root string, p *DiskPlan) error {
	var data, meta int64
	err := Walk(context.Background(), root, p.Epoch, func(e *Entry) error {
		n := int64(1)
		if slices.ContainsFunc(p.Persist, func(dir string) bool { return underDir(dir, "/"+e.Path) }) {
			n = 2
		}
		p.TreeEntries++
		meta += n * 1024
		if e.Kind == Regular {
			p.TreeBytes += e.Size
			if e.Size > 2048 {
				data += n * ((e.Size + 4095) &^ 4095)
			} else {
				meta += n * e.Size
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	need := (data+2*meta)*5/4 + storeOverhead
	p.StoreNeed = max(minStoreSize, (need+diskMiB-1)&^(diskMiB-1))
	return nil
}

func underDir(dir, p string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func (d Disk) chooseFirmware(p *DiskPlan) error {
	x86 := p.Arch == "x86_64" || p.Arch == "x86"
	fw := d.Firmware
	if len(fw) == 0 {
		fw = []string{UEFI}
		if x86 {
			fw = append(fw, BIOS)
		}
	}
	for _, f := range fw {
		switch f {
		case BIOS:
			if !x86 {
				return fmt.Errorf("firmware bios: BIOS boot is for x86 machines; the generation is %s", p.Arch)
			}
			p.BIOS = true
		case UEFI:
			p.UEFI = true
		default:
			return fmt.Errorf("firmware %q: use %s or %s", f, BIOS, UEFI)
		}
	}
	if p.UEFI {
		suffix := map[string]string{"x86_64": "x64", "x86": "ia32", "aarch64": "aa64", "riscv64": "riscv64", "loongarch64": "loongarch64"}[p.Arch]
		if suffix == "" {
			return fmt.Errorf("architecture %q: cairn knows no UEFI boot program name for it (set Source.Arch, or the generation's /etc/apk/arch)", p.Arch)
		}
		p.EFIName = "BOOT" + strings.ToUpper(suffix) + ".EFI"
		p.Files.SystemdBoot = "systemd-boot" + suffix + ".efi" // resolved by findFiles
	}
	return nil
}

// Where distributions keep the loader files.
var (
	systemdBootDirs = []string{"usr/lib/systemd/boot/efi"}
	gptmbrPaths     = []string{"/usr/share/syslinux/gptmbr.bin", "/usr/lib/syslinux/mbr/gptmbr.bin", "/usr/lib/SYSLINUX/gptmbr.bin"}
)

// findFiles resolves the loader files: given ones must exist; the others
// are looked for in the generation (systemd-boot) and on the host.
func (d Disk) findFiles(src Source, p *DiskPlan) error {
	var errs []error
	exists := func(f string) bool {
		fi, err := os.Stat(f)
		return err == nil && fi.Mode().IsRegular()
	}
	given := d.Files
	host := d.HostRoot
	if host == "" {
		host = "/"
	}
	if p.UEFI {
		switch {
		case given.SystemdBoot != "":
			p.Files.SystemdBoot = given.SystemdBoot
		default:
			name := p.Files.SystemdBoot
			p.Files.SystemdBoot = ""
			for _, dir := range systemdBootDirs {
				for _, base := range []string{src.Root, host} {
					if f := filepath.Join(base, dir, name); p.Files.SystemdBoot == "" && exists(f) {
						p.Files.SystemdBoot = f
					}
				}
			}
			if p.Files.SystemdBoot == "" {
				errs = append(errs, fmt.Errorf("UEFI boot needs systemd-boot's %s: neither the generation nor this machine has /%s/%s (add systemd-boot to the manifest's packages, or install systemd-boot / systemd-boot-efi here, or make the disk for BIOS only: --firmware bios)", name, systemdBootDirs[0], name))
			}
		}
		if p.Files.SystemdBoot != "" && !exists(p.Files.SystemdBoot) {
			errs = append(errs, fmt.Errorf("systemd-boot %s: not a file", p.Files.SystemdBoot))
		}
	} else {
		p.Files.SystemdBoot = ""
	}
	if p.BIOS {
		p.Files.GPTMBR = given.GPTMBR
		for _, f := range gptmbrPaths {
			if f := filepath.Join(host, f); p.Files.GPTMBR == "" && exists(f) {
				p.Files.GPTMBR = f
			}
		}
		if p.Files.GPTMBR == "" || !exists(p.Files.GPTMBR) {
			errs = append(errs, errors.New("BIOS boot needs syslinux's gptmbr.bin: install syslinux (Alpine) or syslinux-common (Debian), or make the disk for UEFI only: --firmware uefi"))
		} else if fi, _ := os.Stat(p.Files.GPTMBR); fi.Size() > 440 {
			errs = append(errs, fmt.Errorf("%s: %d bytes, more than the 440 of an MBR's boot code", p.Files.GPTMBR, fi.Size()))
		}
		p.Files.Syslinux = given.Syslinux
		if p.Files.Syslinux == "" {
			p.Files.Syslinux, _ = exec.LookPath("syslinux")
		}
		if p.Files.Syslinux == "" {
			errs = append(errs, errors.New("BIOS boot needs syslinux's installer for FAT file systems (the syslinux program, Alpine and Debian package syslinux, with mtools), or make the disk for UEFI only: --firmware uefi"))
		}
		if _, err := exec.LookPath("mcopy"); err != nil {
			errs = append(errs, errors.New("syslinux's installer needs mtools (package mtools)"))
		}
	}
	return errors.Join(errs...)
}

// identify sets the identifiers, from Seed or the generation's digests.
func (d Disk) identify(p *DiskPlan) error {
	seed := []byte(d.Seed)
	if d.Seed == "" {
		seed = []byte("cairn disk\x00" + p.Meta.ManifestDigest + "\x00" + p.Meta.LockDigest + "\x00" + p.Meta.Description)
	}
	p.seed = seed
	p.Label = d.Label
	if p.Label == "" {
		p.Label = DefaultLabel
	}
	if len(p.Label) > 255 || strings.ContainsAny(p.Label, " \t\n\"'") {
		return fmt.Errorf("label %q: at most 255 bytes, without spaces or quotes", p.Label)
	}
	p.UUID = d.UUID
	if p.UUID == "" {
		p.UUID = strings.ToLower(gpt.DerivedGUID(seed, "btrfs").String())
	} else if g, err := gpt.ParseGUID(p.UUID); err != nil {
		return fmt.Errorf("UUID: %w", err)
	} else {
		p.UUID = strings.ToLower(g.String())
	}
	switch d.RootBy {
	case "", "uuid":
		p.Root = "UUID=" + p.UUID
	case "label":
		p.Root = "LABEL=" + p.Label
	default:
		return fmt.Errorf("root by %q: use uuid or label", d.RootBy)
	}
	vol := gpt.DerivedGUID(seed, "esp volume")
	p.ESPVolumeID = binary.LittleEndian.Uint32(vol[:4])
	p.Table = &gpt.Table{DiskGUID: gpt.DerivedGUID(seed, "disk")}
	p.Table.Partitions = []gpt.Partition{
		{Number: 1, Type: gpt.TypeESP, GUID: gpt.DerivedGUID(seed, "esp"), Name: "EFI system partition"},
		{Number: 2, Type: gpt.TypeLinuxData, GUID: gpt.DerivedGUID(seed, "store"), Name: "cairn"},
	}
	bootDir := d.BootDir
	if bootDir == "" {
		bootDir = "/boot"
	}
	// The ESP by its volume ID, as blkid names it: the running system
	// finds it there (boot.Config.Locate) whether or not it mounts it.
	espFS := fmt.Sprintf("UUID=%04X-%04X", p.ESPVolumeID>>16, p.ESPVolumeID&0xffff)
	p.Boot = boot.Config{BootDir: bootDir, BootFS: espFS, Loader: boot.SystemdBoot, Root: p.Root, Timeout: d.Timeout, Serial: d.Serial, Modules: d.Modules}
	switch {
	case p.UEFI && p.BIOS:
		p.Boot.ExtraLoaders = []string{boot.Extlinux}
	case p.BIOS:
		p.Boot.Loader = boot.Extlinux
	}
	return p.Boot.Check()
}

// layout places the partitions: the ESP from 1 MiB, the store after it
// to the last whole MiB before the backup table.
func (d Disk) layout(p *DiskPlan, target Target) error {
	esp := d.ESPSize
	if esp == 0 {
		esp = DefaultESPSize
	}
	if esp < fat.MinSize || esp%diskAlign != 0 {
		return fmt.Errorf("EFI system partition of %d bytes: give whole MiB, at least %d MiB (FAT32's minimum)", esp, fat.MinSize>>20)
	}
	// The GPT's backup (33 sectors) and alignment take the last MiB.
	p.MinSize = diskAlign + esp + p.StoreNeed + diskAlign
	what := "disk image"
	switch {
	case target.isDevice():
		p.Size, what = target.Size, "device "+target.Path
	case d.Size > 0:
		p.Size = d.Size
	default:
		p.Size = p.MinSize
	}
	p.Size -= p.Size % int64(p.SectorSize)
	if p.Size < p.MinSize {
		return &TooSmallError{What: what, Size: p.Size, Need: p.MinSize,
			Why: fmt.Sprintf("the EFI system partition takes %s and the store with generation %s (%s in %d files and directories) needs %s",
				sizeText(esp), p.Meta.Description, sizeText(p.TreeBytes), p.TreeEntries, sizeText(p.StoreNeed))}
	}
	ss := uint64(p.SectorSize)
	align := uint64(diskAlign) / ss
	_, lastUsable := p.Table.Usable(p.Size)
	p.Table.SectorSize = p.SectorSize
	p.Table.Partitions[0].First = align
	p.Table.Partitions[0].Last = align + uint64(esp)/ss - 1
	p.Table.Partitions[1].First = p.Table.Partitions[0].Last + 1
	p.Table.Partitions[1].Last = (lastUsable+1)/align*align - 1
	if p.BIOS {
		p.Table.Partitions[0].Attributes = gpt.AttrLegacyBIOSBootable
	}
	return nil
}

// String describes the plan, one line per decision, as `cairn install
// --dry-run` and `cairn image --dry-run` print it.
func (p *DiskPlan) String() string {
	var b strings.Builder
	target := "disk image"
	if p.Device != "" {
		target = p.Device
	}
	fmt.Fprintf(&b, "%s: %s, GPT (disk GUID %s), %d-byte sectors\n", target, sizeText(p.Size), p.Table.DiskGUID, p.SectorSize)
	esp, st := p.ESP(), p.Store()
	var loaders []string
	if p.UEFI {
		loaders = append(loaders, fmt.Sprintf("systemd-boot for UEFI (EFI/BOOT/%s, from %s)", p.EFIName, p.Files.SystemdBoot))
	}
	if p.BIOS {
		loaders = append(loaders, fmt.Sprintf("syslinux for BIOS (installed by %s; gptmbr.bin from %s in the MBR)", p.Files.Syslinux, p.Files.GPTMBR))
	}
	fmt.Fprintf(&b, "  partition 1: %s from %s, EFI system partition, FAT32 %q (volume ID %04X-%04X)", sizeText(p.length(esp)), sizeText(p.offset(esp)), ESPLabel, p.ESPVolumeID>>16, p.ESPVolumeID&0xffff)
	if p.BIOS {
		b.WriteString(", legacy BIOS bootable")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "    holds: %s; the kernel and initramfs of generation 1; the loader entries\n", strings.Join(loaders, ", "))
	fmt.Fprintf(&b, "  partition 2: %s from %s, btrfs %q (UUID %s), grows to the end of a larger disk at boot\n", sizeText(p.length(st)), sizeText(p.offset(st)), p.Label, p.UUID)
	desc := p.Meta.Description
	if desc == "" {
		desc = "(no description)"
	}
	fmt.Fprintf(&b, "    holds: a cairn store with generation 1 (%s: %d packages, kernel %s, %s in %d entries), the default\n", desc, len(p.Meta.Packages), p.Meta.Kernel, sizeText(p.TreeBytes), p.TreeEntries)
	if len(p.Persist) > 0 {
		fmt.Fprintf(&b, "    persistent directories, seeded from the generation: %s\n", strings.Join(p.Persist, " "))
	}
	lds := strings.Join(append([]string{p.Boot.Loader}, p.Boot.ExtraLoaders...), " and ")
	fmt.Fprintf(&b, "  boot: root=%s; %s entries; the running system finds the ESP (%s) to keep them in line\n", p.Root, lds, p.Boot.BootFS)
	fmt.Fprintf(&b, "  smallest disk for this generation: %s\n", sizeText(p.MinSize))
	return b.String()
}

// efiPaths are where systemd-boot goes on the ESP.
func (p *DiskPlan) efiPaths() []string {
	suffix := strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(p.EFIName, "BOOT"), ".EFI"))
	return []string{path.Join("EFI/BOOT", p.EFIName), path.Join("EFI/systemd", "systemd-boot"+suffix+".efi")}
}
