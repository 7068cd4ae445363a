package image

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/disk/gpt"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// TestDiskBoot is issue 6's acceptance test for the disk format: the
// image of a real system (Debian's cloud kernel as linux-virt, busybox,
// cairn and cairn-init built static) boots in qemu through BIOS
// (SeaBIOS, gptmbr.bin, syslinux) and through UEFI (OVMF,
// systemd-boot); `cairn generations` in the guest shows generation 1
// booted; after the image file is enlarged by 1 GiB, a boot grows the
// partition to the end of the disk and the btrfs file system with it.
// And the same manifest and lock, built again, give a byte-identical
// image.
func TestDiskBoot(t *testing.T) {
	e2etest.DiskTools(t)
	vmtest.QEMU(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	root, manifest := e2etest.BuildDiskSystem(t, cairn, r, "disk")
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	var log bytes.Buffer
	d := Disk{Serial: true, Files: LoaderFiles{SystemdBoot: e2etest.SystemdBoot(t)}, Log: &log}
	start := time.Now()
	res, err := d.Write(context.Background(), Source{Root: root, Arch: "x86_64"}, img)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("image: %d MiB in %.1f s\n%s", res.Size>>20, time.Since(start).Seconds(), log.String())
	log.Reset()
	plan, err := d.Plan(Source{Root: root, Arch: "x86_64"}, Target{})
	if err != nil {
		t.Fatal(err)
	}

	// The same manifest and lock, built and imaged again: the same bytes.
	again := filepath.Join(dir, "again.img")
	start = time.Now()
	if _, err := d.Write(context.Background(), Source{Root: e2etest.BuildRoot(t, cairn, manifest), Arch: "x86_64"}, again); err != nil {
		t.Fatal(err)
	}
	t.Logf("image again in %.1f s\n%s", time.Since(start).Seconds(), log.String())
	if x, y := regionSum(t, img, 0, res.Size), regionSum(t, again, 0, res.Size); x != y {
		head := int64(plan.ESP().Last+1) * 512
		st := plan.Store()
		t.Errorf("rebuilt from the same manifest and lock, the image differs: %s, %s (MBR, GPT and ESP identical: %t; btrfs partitions identical: %t)", x, y,
			regionSum(t, img, 0, head) == regionSum(t, again, 0, head), regionSum(t, img, plan.offset(st), plan.length(st)) == regionSum(t, again, plan.offset(st), plan.length(st)))
	} else {
		t.Logf("rebuilt from the same manifest and lock: identical images, sha256 %s", x)
	}
	// One at a time: the two file systems share their UUID, which only
	// kernels from 6.7 on (temp-fsid) mount side by side.
	a, undo := mountPartition(t, img, 2, "btrfs", "subvolid=5")
	sumA := treeSum(t, filepath.Join(a, "@cairn/generations/1"))
	undo()
	if sumA != treeSum(t, root) {
		t.Error("the image's generation 1 is not the built tree")
	}
	b, undo := mountPartition(t, again, 2, "btrfs", "subvolid=5")
	if treeSum(t, filepath.Join(b, "@cairn/generations/1")) != sumA {
		t.Error("rebuilt from the same manifest and lock, generation 1 differs")
	}
	undo()
	os.Remove(again)

	bios := e2etest.BootDisk(t, img, false)
	t.Logf("BIOS boot: %s\n%s", bios, bios.Generations)
	bios.CheckBooted(t, "bios")
	part := int64(plan.Store().Sectors()) * 512
	if bios.PartitionAfter != part || bios.FSAfter != part || bios.CairnInitGrow != "" {
		t.Errorf("the store grew on a disk that did not: %s (cairn-init: %q)", bios.Grow, bios.CairnInitGrow)
	}

	const more = 1 << 30
	if err := os.Truncate(img, res.Size+more); err != nil {
		t.Fatal(err)
	}
	uefi := e2etest.BootDisk(t, img, true)
	t.Logf("UEFI boot after enlarging the disk by 1 GiB: %s\n%s", uefi, uefi.Generations)
	uefi.CheckBooted(t, "uefi")
	if uefi.PartitionAfter != part+more || uefi.PartitionSectors*512 != part+more {
		t.Errorf("partition: %d bytes (kernel: %d sectors), want %d", uefi.PartitionAfter, uefi.PartitionSectors, part+more)
	}
	if uefi.FSAfter != uefi.PartitionAfter {
		t.Errorf("file system: %d bytes, want it to fill the partition (%d)", uefi.FSAfter, uefi.PartitionAfter)
	}
	// cairn-init grew it, and the helper found nothing left to do.
	if !strings.HasPrefix(uefi.CairnInitGrow, "grew /dev/vda2") || uefi.PartitionBefore != uefi.PartitionAfter {
		t.Errorf("cairn-init: %q; helper: %s", uefi.CairnInitGrow, uefi.Grow)
	}

	// On the host: the table's backup at the new end, the partition up
	// to the last whole MiB before it.
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab, err := gpt.Read(f, res.Size+more, 0)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := tab.Partition(2)
	if tab.Alternate != uint64((res.Size+more)/512-1) || int64(p.Last+1)*512 != res.Size+more-1<<20 {
		t.Errorf("after growing: backup at %d, partition 2 ends at sector %d", tab.Alternate, p.Last)
	}
	out, err := exec.Command(debtest.Tool(t, "sgdisk", "gdisk"), "-v", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No problems found") {
		t.Errorf("sgdisk -v after growing: %v\n%s", err, out)
	}

	// And it boots again through BIOS, with nothing left to grow.
	last := e2etest.BootDisk(t, img, false)
	last.CheckBooted(t, "bios")
	if last.PartitionAfter != last.PartitionBefore || last.FSAfter != last.FSBefore || last.FSAfter != part+more || last.CairnInitGrow != "" {
		t.Errorf("after growing, a boot: %s", last.Grow)
	}
}
