package e2etest

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/disk/gpt"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// DiskInit is the init of the systems the disk tests boot: it says which
// generation came up through which firmware, reports the store's sizes
// after cairn-init grew it (GrowHelper, which must find nothing left to
// grow), reports the partition's size as the kernel sees it, runs `cairn generations` against the
// running system's store, and powers off.
const DiskInit = `#!/bin/sh
echo "DISK GENERATION $(cat /run/cairn/booted) UP: $(cat /etc/e2e-marker)"
if [ -d /sys/firmware/efi ]; then echo "DISK FIRMWARE uefi"; else echo "DISK FIRMWARE bios"; fi
/usr/sbin/cairn-test-grow
echo "DISK PARTITION SECTORS $(cat /sys/class/block/vda2/size)"
/usr/sbin/cairn generations
echo "DISK GENERATIONS EXIT $?"
sync
poweroff -f
`

// GrowHelper is the program DiskInit runs to measure the store: the test
// command internal/disk/testdata/growcmd, which calls disk.Grow on the
// device mounted at /run/cairn/store once more and prints the partition's
// and the file system's sizes (before and after: equal, as cairn-init
// grew the store already).
const GrowHelper = "usr/sbin/cairn-test-grow"

// BuildDiskSystem builds the test system of the disk tests (DiskInit, the
// grow helper) with `cairn build --root`, and returns its root and its
// manifest (cairn.lock lies beside it after the build).
func BuildDiskSystem(t testing.TB, cairn string, r Repo, marker string) (root, manifest string) {
	t.Helper()
	dir := t.TempDir()
	skel := filepath.Join(dir, "skel")
	if err := os.MkdirAll(filepath.Join(skel, filepath.Dir(GrowHelper)), 0o755); err != nil {
		t.Fatal(err)
	}
	GoBuild(t, "./internal/disk/testdata/growcmd", filepath.Join(skel, GrowHelper))
	manifest = r.Manifest(t, dir, System{Marker: marker, Init: DiskInit, Skeleton: "skel"})
	return BuildRoot(t, cairn, manifest), manifest
}

// BuildRoot builds the manifest (with its lock, when it has one) into a
// new directory with `cairn build --root --frozen` once the lock exists,
// and returns the root.
func BuildRoot(t testing.TB, cairn, manifest string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	args := []string{"build", "-f", manifest, "--root", root}
	if _, err := os.Stat(filepath.Join(filepath.Dir(manifest), "cairn.lock")); err == nil {
		args = append(args, "--frozen")
	}
	Run(t, cairn, args...)
	return root
}

// DiskBoot is what a boot of a disk test system said.
type DiskBoot struct {
	Generation int
	// Firmware is "bios" or "uefi", as the booted kernel saw it.
	Firmware string
	// Grow is the grow helper's report and the sizes it measured, in
	// bytes; CairnInitGrow is what cairn-init said it grew ("" for
	// nothing).
	Grow                            string
	PartitionBefore, PartitionAfter int64
	FSBefore, FSAfter               int64
	CairnInitGrow                   string
	// PartitionSectors is /sys/class/block/vda2/size after growing.
	PartitionSectors int64
	// Generations is the output of `cairn generations` in the guest.
	Generations string
	Lines       []string
	// Duration is from starting qemu to its end (power off).
	Duration time.Duration
}

// BootTimeout bounds one boot under software emulation, firmware to
// poweroff, with room for a loaded machine.
const BootTimeout = 5 * time.Minute

// OVMF returns Debian's OVMF firmware: the code and a fresh copy of the
// variable store (which the firmware writes).
func OVMF(t testing.TB) (code, vars string) {
	t.Helper()
	dir := debtest.Unpacked(t, "ovmf", []string{"ovmf"}, func(tree string) error {
		_, err := os.Stat(filepath.Join(tree, "usr/share/OVMF/OVMF_CODE_4M.fd"))
		return err
	})
	vars = filepath.Join(t.TempDir(), "OVMF_VARS_4M.fd")
	CopyFile(t, filepath.Join(dir, "usr/share/OVMF/OVMF_VARS_4M.fd"), vars, 0o644)
	return filepath.Join(dir, "usr/share/OVMF/OVMF_CODE_4M.fd"), vars
}

// BootDisk boots the disk image img under qemu, through SeaBIOS or, with
// uefi, through OVMF, and reads what DiskInit says.
func BootDisk(t testing.TB, img string, uefi bool) DiskBoot {
	t.Helper()
	c := vm.Config{MemoryMiB: 768, Disks: []vm.Disk{{Path: img}}, NoReboot: true}
	if uefi {
		code, vars := OVMF(t)
		c.Args = append(c.Args,
			"-drive", "if=pflash,format=raw,unit=0,readonly=on,file="+code,
			"-drive", "if=pflash,format=raw,unit=1,file="+vars)
	}
	start := time.Now()
	v := vmtest.Start(t, c)
	// Values are read from complete lines once the machine is off (Expect
	// also matches a line still being written).
	if _, err := v.Expect(regexp.MustCompile(`DISK GENERATION \d+ UP`), BootTimeout); err != nil {
		t.Fatalf("boot %s (uefi %v): %v", img, uefi, err)
	}
	if err := v.ExpectString("DISK GENERATIONS EXIT", BootTimeout); err != nil {
		t.Fatalf("boot %s (uefi %v): %v", img, uefi, err)
	}
	if err := v.Wait(time.Minute); err != nil {
		t.Fatalf("boot %s (uefi %v): %v", img, uefi, err)
	}
	b := DiskBoot{Lines: v.Lines(), Duration: time.Since(start)}
	find := func(re string) []string {
		t.Helper()
		r := regexp.MustCompile("^" + re + "$")
		for _, l := range b.Lines {
			if m := r.FindStringSubmatch(l); m != nil {
				return m
			}
		}
		t.Fatalf("boot %s (uefi %v): no console line matches %q", img, uefi, re)
		return nil
	}
	num := func(s string) int64 {
		n, _ := strconv.ParseInt(s, 10, 64)
		return n
	}
	b.Generation = int(num(find(`DISK GENERATION (\d+) UP: .*`)[1]))
	b.Firmware = find(`DISK FIRMWARE (bios|uefi)`)[1]
	b.Grow = find(`(GROW: .*|GROW FAILED: .*)`)[1]
	if strings.HasPrefix(b.Grow, "GROW FAILED") {
		t.Fatalf("boot %s: %s", img, b.Grow)
	}
	for _, l := range b.Lines {
		if _, msg, ok := strings.Cut(l, "cairn-init: "); ok && (strings.HasPrefix(msg, "grew ") || strings.HasPrefix(msg, "moved the backup") || strings.HasPrefix(msg, "grow the store")) {
			b.CairnInitGrow = msg
		}
	}
	m := find(`GROW SIZES: partition (\d+) (\d+) fs (\d+) (\d+)`)
	b.PartitionBefore, b.PartitionAfter, b.FSBefore, b.FSAfter = num(m[1]), num(m[2]), num(m[3]), num(m[4])
	b.PartitionSectors = num(find(`DISK PARTITION SECTORS (\d+)`)[1])
	if code := find(`DISK GENERATIONS EXIT (\d+)`)[1]; code != "0" {
		t.Fatalf("boot %s: cairn generations in the guest exited with %s", img, code)
	}
	var gens []string
	in := false
	for _, l := range b.Lines {
		switch {
		case strings.HasPrefix(l, "DISK PARTITION SECTORS"):
			in = true
		case strings.HasPrefix(l, "DISK GENERATIONS EXIT"):
			in = false
		case in:
			gens = append(gens, l)
		}
	}
	b.Generations = strings.Join(gens, "\n")
	return b
}

// CheckBooted fails the test unless generation 1 came up through
// firmware and `cairn generations` in the guest shows it booted.
func (b DiskBoot) CheckBooted(t testing.TB, firmware string) {
	t.Helper()
	if b.Generation != 1 || b.Firmware != firmware {
		t.Fatalf("generation %d came up through %s, want 1 through %s", b.Generation, b.Firmware, firmware)
	}
	booted := false
	for _, l := range strings.Split(b.Generations, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "1" && strings.Contains(l, "booted") {
			booted = true
		}
	}
	if !booted {
		t.Fatalf("cairn generations in the guest does not show generation 1 booted:\n%s", b.Generations)
	}
}

func (b DiskBoot) String() string {
	return fmt.Sprintf("generation %d through %s in %.1f s; %s", b.Generation, b.Firmware, b.Duration.Seconds(), b.Grow)
}

// MountPartition attaches a loop device to partition n of the GPT disk
// image img and mounts it (fstype, mount data opts) on a new directory.
// The returned function undoes both; it runs when the test ends too.
func MountPartition(t testing.TB, img string, n int, fstype, opts string) (string, func()) {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	tab, err := gpt.Read(f, fi.Size(), 0)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p, ok := tab.Partition(n)
	if !ok {
		t.Fatalf("%s has no partition %d", img, n)
	}
	return MountAt(t, img, int64(p.First)*512, int64(p.Sectors())*512, fstype, opts)
}

// MountAt attaches a loop device to the size bytes at offset of the disk
// image img and mounts them as MountPartition does.
func MountAt(t testing.TB, img string, offset, size int64, fstype, opts string) (string, func()) {
	t.Helper()
	l, err := disk.AttachLoop(img, offset, size)
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	if err := unix.Mount(l.Dev, mnt, fstype, 0, opts); err != nil {
		l.Detach()
		t.Fatalf("mount %s at byte %d: %v", img, offset, err)
	}
	done := false
	undo := func() {
		if done {
			return
		}
		done = true
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
		if err := l.Detach(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(undo)
	return mnt, undo
}
