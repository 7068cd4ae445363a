package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestImageAndInstallCommands drives cairn image --format disk and cairn
// install as a user would: a disk image of a manifest for BIOS alone
// (--firmware bios) boots through BIOS, a too small --size says how big
// it must be, and cairn install onto a loop device (after a dry run that
// writes nothing) gives a disk with both loaders that boots through UEFI,
// and is refused a second time without --wipe. cairn takes systemd-boot
// for UEFI from the build host (Debian's systemd-boot-efi).
func TestImageAndInstallCommands(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices)")
	e2etest.DiskTools(t)
	debtest.HostFile(t, "/usr/lib/systemd/boot/efi/systemd-bootx64.efi", "systemd-boot-efi")
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	_, mf := e2etest.BuildDiskSystem(t, cairn, r, "from the command line")
	work := t.TempDir()

	img := filepath.Join(work, "disk.img")
	out, err := exec.Command(cairn, "image", "-f", mf, "--format", "disk", "--size", "64M", "-o", img).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "is too small") || !strings.Contains(string(out), "give --size") {
		t.Fatalf("--size 64M: %v\n%s", err, out)
	}
	if _, err := os.Stat(img); err == nil {
		t.Fatal("a failed image left its output")
	}
	e2etest.Run(t, cairn, "image", "-f", mf, "--format", "disk", "--firmware", "bios", "-o", img)
	b := e2etest.BootDisk(t, img, false)
	b.CheckBooted(t, "bios")
	t.Logf("cairn image --format disk --firmware bios: %s", b)

	// cairn install onto a whole loop device.
	devImg := filepath.Join(work, "device.img")
	if err := os.WriteFile(devImg, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(devImg, 1<<30); err != nil {
		t.Fatal(err)
	}
	dev := strings.TrimSpace(e2etest.Run(t, "losetup", "-f", "--show", devImg))
	detached := false
	detach := func() {
		if !detached {
			detached = true
			if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
				t.Errorf("losetup -d %s: %v %s", dev, err, out)
			}
		}
	}
	t.Cleanup(detach)

	plan := e2etest.Run(t, cairn, "install", "--device", dev, "-f", mf, "--dry-run")
	if !strings.Contains(plan, dev) {
		t.Errorf("the dry run's plan does not name %s:\n%s", dev, plan)
	}
	head := make([]byte, 1<<20)
	f, _ := os.Open(devImg)
	f.ReadAt(head, 0)
	f.Close()
	if !bytes.Equal(head, make([]byte, len(head))) {
		t.Fatal("the dry run wrote to the device")
	}
	e2etest.Run(t, cairn, "install", "--device", dev, "-f", mf)
	out, err = exec.Command(cairn, "install", "--device", dev, "-f", mf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--wipe") {
		t.Errorf("installing over a disk with a file system without --wipe: %v\n%s", err, out)
	}
	detach()
	b = e2etest.BootDisk(t, devImg, true)
	b.CheckBooted(t, "uefi")
	t.Logf("cairn install: %s", b)
}
