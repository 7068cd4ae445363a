package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/disk/gpt"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/store"
)

var diskEpoch = e2etest.FakeEpoch

// mountPartition attaches a loop device to partition n of img and mounts
// it read-only. The returned function undoes both; it runs when the test
// ends too, whatever happens.
func mountPartition(t *testing.T, img string, n int, fstype, opts string) (string, func()) {
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
	l, err := disk.AttachLoop(img, int64(p.First)*512, int64(p.Sectors())*512)
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	if err := unix.Mount(l.Dev, mnt, fstype, unix.MS_RDONLY, opts); err != nil {
		l.Detach()
		t.Fatalf("mount partition %d of %s: %v", n, img, err)
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
		forgetBtrfs(l.Dev)
		if err := l.Detach(); err != nil {
			t.Error(err)
		}
	}
	t.Cleanup(undo)
	return mnt, undo
}

// treeSum is the sha256 of the tree's tar stream: equal sums mean equal
// trees, attribute for attribute.
func treeSum(t *testing.T, root string) string {
	t.Helper()
	h := sha256.New()
	if _, err := WriteTree(context.Background(), h, root, diskEpoch); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func regionSum(t *testing.T, img string, off, n int64) string {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, off, n)); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func testDisk(t *testing.T) Disk {
	return Disk{Serial: true, Files: LoaderFiles{SystemdBoot: e2etest.SystemdBoot(t)}}
}

// TestDiskImage writes the disk image of a generation twice and checks
// what it holds and that it is reproducible: the two image files are
// identical byte for byte (partition tables, EFI system partition, the
// btrfs file system normalized by btrfsnorm), and hold what they should:
// the btrfs file system's UUID and label, a file system `btrfs check`
// passes with distinct subvolume UUIDs and a read-only generation, the
// store's content (the generation tree, attribute for attribute, its
// record, the state, the boot configuration, the seeded persistent
// directory).
func TestDiskImage(t *testing.T) {
	e2etest.DiskTools(t)
	gen := e2etest.FakeGeneration(t)
	src := Source{Root: gen, Epoch: diskEpoch, Arch: "x86_64"}
	d := testDisk(t)
	var log bytes.Buffer
	d.Log = &log
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.img"), filepath.Join(dir, "b.img")
	resA, err := d.Write(context.Background(), src, a)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v\n%s", resA, log.String())
	checkOwnerOnly(t, a) // the image holds the generation's /etc/shadow
	if _, err := d.Write(context.Background(), src, b); err != nil {
		t.Fatal(err)
	}
	plan, err := d.Plan(src, Target{})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("plan:\n%s", plan)
	if resA.Size != plan.MinSize {
		t.Errorf("automatic size %d, want the minimum %d", resA.Size, plan.MinSize)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}

	// The whole images, byte for byte.
	if x, y := regionSum(t, a, 0, resA.Size), regionSum(t, b, 0, resA.Size); x != y {
		esp := plan.ESP()
		head := int64(esp.Last+1) * 512
		t.Errorf("the images differ: %s, %s (MBR, GPT and ESP identical: %t; btrfs partitions identical: %t)", x, y,
			regionSum(t, a, 0, head) == regionSum(t, b, 0, head), regionSum(t, a, plan.offset(plan.Store()), plan.length(plan.Store())) == regionSum(t, b, plan.offset(plan.Store()), plan.length(plan.Store())))
	}
	esp := plan.ESP()
	sg := debtest.Tool(t, "sgdisk", "gdisk")
	if out, err := exec.Command(sg, "-v", a).CombinedOutput(); err != nil || !strings.Contains(string(out), "No problems found") {
		t.Errorf("sgdisk -v: %v\n%s", err, out)
	}
	out, _ := exec.Command(sg, "-i", "1", a).CombinedOutput()
	if !strings.Contains(string(out), "Attribute flags: 0000000000000004") {
		t.Errorf("the ESP is not legacy BIOS bootable:\n%s", out)
	}
	if mbr, _ := os.ReadFile(plan.Files.GPTMBR); !bytes.Equal(readAt(t, a, 0, int64(len(mbr))), mbr) {
		t.Error("the MBR does not carry gptmbr.bin")
	}

	// The ESP: readable by dosfstools and mtools, holding both loaders.
	espImg := filepath.Join(dir, "esp.img")
	if err := os.WriteFile(espImg, readAt(t, a, int64(esp.First)*512, int64(esp.Sectors())*512), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(debtest.Tool(t, "fsck.fat", "dosfstools"), "-n", espImg).CombinedOutput(); err != nil {
		t.Errorf("fsck.fat: %v\n%s", err, out)
	}
	cmd := exec.Command("mdir", "-/", "-a", "-b", "-i", espImg, "::")
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	listing, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mdir: %v\n%s", err, listing)
	}
	for _, want := range []string{"::/EFI/BOOT/BOOTX64.EFI", "::/EFI/systemd/systemd-bootx64.efi", "::/extlinux/extlinux.conf", "::/extlinux/ldlinux.sys", "::/extlinux/ldlinux.c32",
		"::/loader/loader.conf", "::/loader/entries/cairn.conf", "::/loader/entries/cairn-1.conf", "::/cairn/index.json"} {
		if !strings.Contains(string(listing), want+"\n") {
			t.Errorf("the ESP lacks %s:\n%s", want, listing)
		}
	}

	// The btrfs partitions: the UUID and label planned, a sound file
	// system.
	for _, img := range []string{a, b} {
		f, _ := os.Open(img)
		sigs, err := disk.Signatures(f, resA.Size)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(sigs) != 3 || sigs[2].Kind != "btrfs" || sigs[2].Label != DefaultLabel || sigs[2].UUID != plan.UUID {
			t.Fatalf("%s: %v", img, sigs)
		}
	}
	storeImg := filepath.Join(dir, "store.img")
	if err := os.WriteFile(storeImg, readAt(t, a, plan.offset(plan.Store()), plan.length(plan.Store())), 0o644); err != nil {
		t.Fatal(err)
	}
	btrfsProg := debtest.Tool(t, "btrfs", "btrfs-progs")
	if out, err := exec.Command(btrfsProg, "check", "--readonly", storeImg).CombinedOutput(); err != nil || !strings.Contains(string(out), "no error found") {
		t.Errorf("btrfs check --readonly: %v\n%s", err, out)
	}
	os.Remove(storeImg)

	// One image at a time: the two file systems share their UUID, which
	// only kernels from 6.7 on (temp-fsid) mount side by side.
	want := treeSum(t, gen)
	type storeFiles struct {
		files   map[string][]byte
		persist string
	}
	var stores []storeFiles
	for _, img := range []string{a, b} {
		top, undo := mountPartition(t, img, 2, "btrfs", "subvolid=5")
		if got := treeSum(t, filepath.Join(top, "@cairn/generations/1")); got != want {
			t.Errorf("%s: generation 1 is not the source tree", img)
		}
		s, err := store.Open(top)
		if err != nil {
			t.Fatal(err)
		}
		state, err := s.State()
		if err != nil {
			t.Fatal(err)
		}
		if state.Default != 1 || state.LastSealed != 1 || len(state.Good) != 1 || state.Booted != 0 {
			t.Errorf("%s: state %+v", img, state)
		}
		g, err := s.Get(1)
		if err != nil {
			t.Fatal(err)
		}
		if !g.Meta.Created.Equal(diskEpoch) || g.Meta.Kernel != "linux-virt 6.1.0-r0" || g.Meta.Description != "fake system" || len(g.Meta.Packages) != 2 {
			t.Errorf("%s: generation 1's record %+v", img, g.Meta)
		}
		if data, err := os.ReadFile(filepath.Join(top, "@cairn/persist/var/lib/app/state")); err != nil || string(data) != "seed\n" {
			t.Errorf("%s: the persistent /var is not seeded: %q, %v", img, data, err)
		}
		checkSubvolumes(t, top)
		sf := storeFiles{files: map[string][]byte{}, persist: treeSum(t, filepath.Join(top, "@cairn/persist/var"))}
		for _, name := range []string{"state.json", "meta/1.json", "boot.json", "store.json"} {
			sf.files[name], _ = os.ReadFile(filepath.Join(top, "@cairn", name))
		}
		stores = append(stores, sf)
		undo()
	}
	for name, x := range stores[0].files {
		if y := stores[1].files[name]; len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("@cairn/%s differs between the images:\n%s\n%s", name, x, y)
		}
	}
	if stores[0].persist != stores[1].persist {
		t.Error("the persistent /var differs between the images")
	}
	bootJSON := stores[0].files["boot.json"]
	for _, want := range []string{`"bootDir": "/boot"`, `"loader": "systemd-boot"`, `"extlinux"`, `"root": "UUID=` + plan.UUID + `"`} {
		if !strings.Contains(string(bootJSON), want) {
			t.Errorf("boot.json lacks %s:\n%s", want, bootJSON)
		}
	}
}

// checkSubvolumes checks the store's subvolumes at top: generation 1
// read-only, every subvolume with a UUID of its own, created at the
// epoch.
func checkSubvolumes(t *testing.T, top string) {
	t.Helper()
	if ro, err := btrfs.ReadOnly(filepath.Join(top, "@cairn/generations/1")); err != nil || !ro {
		t.Errorf("generation 1 read-only: %t, %v", ro, err)
	}
	subvols := btrfstest.SubvolumeUUIDs(t, top)
	for _, sub := range subvols {
		if info, err := btrfs.Info(filepath.Join(top, sub.Path)); err != nil || !info.Created.Equal(diskEpoch) {
			t.Errorf("subvolume %s created %v (%v), want the epoch", sub.Path, info.Created, err)
		}
	}
	if len(subvols) < 2 {
		t.Errorf("subvolumes %v, want generation 1 and the persistent ones", subvols)
	}
}

func readAt(t *testing.T, img string, off, n int64) []byte {
	t.Helper()
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, n)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDiskImageBadInput: an existing output, a size too small (the error
// says how big), a generation that cannot boot, an unknown firmware.
func TestDiskImageBadInput(t *testing.T) {
	e2etest.DiskTools(t)
	gen := e2etest.FakeGeneration(t)
	src := Source{Root: gen, Epoch: diskEpoch}
	d := testDisk(t)
	dir := t.TempDir()

	out := filepath.Join(dir, "exists.img")
	os.WriteFile(out, []byte("keep"), 0o644)
	if _, err := d.Write(context.Background(), src, out); !errors.Is(err, fs.ErrExist) {
		t.Errorf("existing output: %v", err)
	}
	if data, _ := os.ReadFile(out); string(data) != "keep" {
		t.Error("the existing output changed")
	}

	plan, err := d.Plan(src, Target{})
	if err != nil {
		t.Fatal(err)
	}
	small := d
	small.Size = plan.MinSize - diskMiB
	_, err = small.Write(context.Background(), src, filepath.Join(dir, "small.img"))
	var tse *TooSmallError
	if !errors.As(err, &tse) || tse.Need != plan.MinSize || !strings.Contains(err.Error(), sizeText(plan.MinSize)) {
		t.Fatalf("too small: %v", err)
	}
	t.Log(err)
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("files left: %v", entries)
	}

	noKernel := e2etest.FakeGeneration(t)
	os.Remove(filepath.Join(noKernel, "boot/vmlinuz-virt"))
	if _, err := d.Plan(Source{Root: noKernel}, Target{}); err == nil || !strings.Contains(err.Error(), "kernel") {
		t.Errorf("no kernel: %v", err)
	}
	bad := d
	bad.Firmware = []string{"openfirmware"}
	if _, err := bad.Plan(src, Target{}); err == nil {
		t.Error("unknown firmware: no error")
	}
	bad = d
	bad.ESPSize = 10 * diskMiB
	if _, err := bad.Plan(src, Target{}); err == nil {
		t.Error("a 10 MiB ESP: no error")
	}
	if _, err := d.Plan(Source{Root: t.TempDir()}, Target{}); err == nil || !strings.Contains(err.Error(), "generation.json") {
		t.Errorf("not a generation: %v", err)
	}
}

// TestDiskImageWithoutSystemdBoot: on a build host without systemd-boot's
// EFI program (the lookup pointed at an empty directory, the generation
// carrying none), a disk for BIOS alone is written, with syslinux and
// extlinux entries and nothing of UEFI; a disk for UEFI, alone or with
// BIOS, is refused with the way out.
func TestDiskImageWithoutSystemdBoot(t *testing.T) {
	e2etest.DiskTools(t)
	gen := e2etest.FakeGeneration(t)
	src := Source{Root: gen, Epoch: diskEpoch, Arch: "x86_64"}
	// The real gptmbr.bin, as the lookup in the empty host root cannot
	// find it.
	real, err := Disk{Firmware: []string{BIOS}}.Plan(src, Target{})
	if err != nil {
		t.Fatal(err)
	}
	d := Disk{Serial: true, HostRoot: t.TempDir(), Files: LoaderFiles{GPTMBR: real.Files.GPTMBR}}
	for _, fw := range [][]string{nil, {UEFI}, {UEFI, BIOS}} {
		d.Firmware = fw
		if _, err := d.Plan(src, Target{}); err == nil || !strings.Contains(err.Error(), "systemd-bootx64.efi") || !strings.Contains(err.Error(), "--firmware bios") {
			t.Errorf("firmware %v without systemd-boot: %v", fw, err)
		}
	}
	d.Firmware = []string{BIOS}
	img := filepath.Join(t.TempDir(), "bios.img")
	if _, err := d.Write(context.Background(), src, img); err != nil {
		t.Fatalf("a BIOS-only disk without systemd-boot: %v", err)
	}
	plan, err := d.Plan(src, Target{})
	if err != nil {
		t.Fatal(err)
	}
	if !plan.BIOS || plan.UEFI || plan.Files.SystemdBoot != "" || plan.Boot.Loader != "extlinux" || len(plan.Boot.ExtraLoaders) != 0 {
		t.Errorf("plan: %+v", plan)
	}
	if mbr, _ := os.ReadFile(real.Files.GPTMBR); !bytes.Equal(readAt(t, img, 0, int64(len(mbr))), mbr) {
		t.Error("the MBR does not carry gptmbr.bin")
	}
	esp := plan.ESP()
	espImg := filepath.Join(t.TempDir(), "esp.img")
	if err := os.WriteFile(espImg, readAt(t, img, int64(esp.First)*512, int64(esp.Sectors())*512), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("mdir", "-/", "-a", "-b", "-i", espImg, "::")
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1")
	listing, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mdir: %v\n%s", err, listing)
	}
	for _, want := range []string{"::/extlinux/extlinux.conf", "::/extlinux/ldlinux.sys", "::/extlinux/ldlinux.c32", "::/cairn/index.json"} {
		if !strings.Contains(string(listing), want+"\n") {
			t.Errorf("the ESP lacks %s:\n%s", want, listing)
		}
	}
	for _, unwanted := range []string{"::/EFI", "::/loader"} {
		if strings.Contains(string(listing), unwanted) {
			t.Errorf("a BIOS-only ESP holds %s:\n%s", unwanted, listing)
		}
	}
}
