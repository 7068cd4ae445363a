package diskinstall

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/disk/gpt"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/image"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

const mib = 1 << 20

// loopDisk makes a sparse image file and attaches a loop device to all
// of it: the "device" the tests install onto. The device is detached when
// the test ends, whatever happens.
func loopDisk(t *testing.T, size int64) (img string, l *disk.Loop) {
	t.Helper()
	img = filepath.Join(t.TempDir(), "device.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, size); err != nil {
		t.Fatal(err)
	}
	l, err := disk.AttachLoop(img, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Error(err)
		}
	})
	return img, l
}

func options(t *testing.T, dev, root string) Options {
	return Options{
		Device: dev,
		Disk:   image.Disk{Serial: true, Files: image.LoaderFiles{SystemdBoot: e2etest.SystemdBoot(t)}},
		Source: image.Source{Root: root, Arch: "x86_64"},
	}
}

func sum(t *testing.T, path string) [32]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	var s [32]byte
	copy(s[:], h.Sum(nil))
	return s
}

// TestInstallBoots is issue 6's acceptance test for cairn install: a
// real system installed onto a loop device gives a disk that boots in
// qemu exactly like the disk image, through BIOS and through UEFI, with
// generation 1 booted and nothing to grow (the store fills the device).
func TestInstallBoots(t *testing.T) {
	e2etest.DiskTools(t)
	vmtest.QEMU(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	root, _ := e2etest.BuildDiskSystem(t, cairn, r, "installed")
	img, l := loopDisk(t, 1536*mib)
	var log bytes.Buffer
	o := options(t, l.Dev, root)
	o.Log = &log
	plan, err := Install(context.Background(), o)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Logf("%s\n%s", plan, log.String())
	if err := l.Detach(); err != nil {
		t.Fatal(err)
	}

	f, _ := os.Open(img)
	tab, err := gpt.Read(f, 1536*mib, 0)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tab.Partition(2)
	if int64(p.Last+1)*512 != 1535*mib || tab.DiskGUID != plan.Disk.Table.DiskGUID {
		t.Fatalf("the store's partition ends at sector %d, want the device's last MiB", p.Last)
	}
	for _, uefi := range []bool{false, true} {
		b := e2etest.BootDisk(t, img, uefi)
		t.Logf("%s\n%s", b, b.Generations)
		b.CheckBooted(t, map[bool]string{false: "bios", true: "uefi"}[uefi])
		if b.PartitionAfter != b.PartitionBefore || b.FSAfter != b.FSBefore || b.FSAfter != int64(p.Sectors())*512 {
			t.Errorf("an installed store should fill its partition from the start: %s", b.Grow)
		}
	}
}

// TestInstallRefuses: a device holding a file system is refused without
// Wipe, a mounted one even with it; a dry run writes nothing; with Wipe
// an unmounted device is installed onto, and its old file system is gone.
func TestInstallRefuses(t *testing.T) {
	e2etest.DiskTools(t)
	gen := e2etest.FakeGeneration(t)
	img, l := loopDisk(t, 768*mib)
	mkfs := debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	if out, err := exec.Command(mkfs, "-q", "-L", "old-data", l.Dev).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.btrfs: %v\n%s", err, out)
	}
	before := sum(t, img)
	o := options(t, l.Dev, gen)

	plan, err := Install(context.Background(), o)
	var hd *HasDataError
	if !errors.As(err, &hd) || !strings.Contains(err.Error(), `btrfs file system labelled "old-data"`) || !strings.Contains(err.Error(), "wipe") {
		t.Fatalf("a device with a file system: %v", err)
	}
	t.Log(err)
	if plan == nil || !strings.Contains(plan.String(), "refused without wipe") {
		t.Errorf("plan: %v", plan)
	}

	mnt := t.TempDir()
	if err := unix.Mount(l.Dev, mnt, "btrfs", 0, ""); err != nil {
		t.Fatal(err)
	}
	mounted := true
	unmount := func() {
		if mounted {
			if err := unix.Unmount(mnt, 0); err != nil {
				t.Errorf("unmount: %v", err)
				unix.Unmount(mnt, unix.MNT_DETACH)
			}
			mounted = false
		}
	}
	t.Cleanup(unmount)
	o.Wipe = true
	_, err = Install(context.Background(), o)
	var iu *InUseError
	if !errors.As(err, &iu) || !strings.Contains(err.Error(), "is mounted on "+mnt) {
		t.Fatalf("a mounted device, with wipe: %v", err)
	}
	t.Log(err)
	unmount()
	before = sum(t, img) // mounting wrote to the file system

	o.DryRun = true
	plan, err = Install(context.Background(), o)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	text := plan.String()
	t.Logf("dry run:\n%s", text)
	for _, want := range []string{
		"cairn would install onto " + l.Dev,
		`found a btrfs file system labelled "old-data"`, "(wiped)",
		"partition 1: 256 MiB from 1 MiB, EFI system partition, FAT32",
		"partition 2: 510 MiB from 257 MiB, btrfs \"cairn\"",
		"generation 1 (fake system: 2 packages, kernel linux-virt 6.1.0-r0",
		"persistent directories, seeded from the generation: /var",
		"systemd-boot for UEFI", "syslinux for BIOS",
		"root=UUID=" + plan.Disk.UUID,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the dry run's plan lacks %q", want)
		}
	}
	if sum(t, img) != before {
		t.Fatal("the dry run changed the device")
	}

	o.DryRun = false
	plan, err = Install(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", plan)
	f, _ := os.Open(l.Dev)
	sigs, err := disk.Signatures(f, 768*mib)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range sigs {
		kinds = append(kinds, s.String())
		if s.Label == "old-data" {
			t.Errorf("the old file system is still there: %s", s)
		}
	}
	if len(sigs) != 3 || sigs[2].UUID != plan.Disk.UUID {
		t.Errorf("after installing: %s", strings.Join(kinds, "; "))
	}

	// Installing again onto the installed device needs wipe too; two
	// installations get different identifiers.
	o.Wipe = false
	if _, err := Install(context.Background(), o); !errors.As(err, &hd) {
		t.Errorf("installing over an installation without wipe: %v", err)
	}
	o.Wipe, o.DryRun = true, true
	again, err := Install(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if again.Disk.UUID == plan.Disk.UUID || again.Disk.Table.DiskGUID == plan.Disk.Table.DiskGUID {
		t.Error("two installations got the same identifiers")
	}
}

// TestInstallBadDevice: not a block device, a device too small.
func TestInstallBadDevice(t *testing.T) {
	e2etest.DiskTools(t)
	gen := e2etest.FakeGeneration(t)
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, make([]byte, 4096), 0o644)
	if _, err := Install(context.Background(), options(t, file, gen)); err == nil || !strings.Contains(err.Error(), "not a block device") {
		t.Errorf("a regular file: %v", err)
	}
	_, l := loopDisk(t, 300*mib)
	_, err := Install(context.Background(), options(t, l.Dev, gen))
	var tse *image.TooSmallError
	if !errors.As(err, &tse) || !strings.Contains(err.Error(), "device "+l.Dev) {
		t.Fatalf("a small device: %v", err)
	}
	t.Log(err)
}
