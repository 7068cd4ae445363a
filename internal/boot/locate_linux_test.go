package boot

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestLocate follows a boot partition from the machine that ran boot
// setup to one that does not mount it: RecordFS names the file system
// mounted at the boot directory by its UUID; with it mounted, Locate
// finds it there; mounted elsewhere, there; not mounted at all (a node
// with no /boot in its fstab), Locate mounts it for the command and
// Release unmounts it again.
func TestLocate(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (a loop device and mounts)")
	mkfs := debtest.Tool(t, "mkfs.ext4", "e2fsprogs")
	img := filepath.Join(t.TempDir(), "boot.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, 32<<20); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs, "-q", "-F", "-L", "cairn-boot", img).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.ext4: %v %s", err, out)
	}
	l, err := disk.AttachLoop(img, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Detach() })
	mount := func(dir string) func() {
		t.Helper()
		if err := unix.Mount(l.Dev, dir, "ext4", 0, ""); err != nil {
			t.Fatal(err)
		}
		done := false
		undo := func() {
			if !done {
				done = true
				if err := unix.Unmount(dir, 0); err != nil {
					t.Error(err)
				}
			}
		}
		t.Cleanup(undo)
		return undo
	}

	bootDir := t.TempDir()
	unmount := mount(bootDir)
	c := Config{BootDir: bootDir, Loader: Extlinux, Root: "LABEL=cairn"}
	if err := c.RecordFS(); err != nil {
		t.Fatal(err)
	}
	spec, _, err := disk.FSSpec(l.Dev)
	if err != nil || c.BootFS != spec || !strings.HasPrefix(spec, "UUID=") {
		t.Fatalf("RecordFS: %q, the device's file system is %q (%v)", c.BootFS, spec, err)
	}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bootDir, "marker"), []byte("on the boot partition\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	locate := func() *Located {
		t.Helper()
		loc, err := c.Locate()
		if err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(filepath.Join(loc.Dir, "marker")); err != nil || string(b) != "on the boot partition\n" {
			t.Fatalf("Locate gave %s (%s), which does not hold the boot partition's marker: %v", loc.Dir, loc.How, err)
		}
		return loc
	}
	if loc := locate(); loc.Dir != bootDir || loc.Release() != nil {
		t.Errorf("mounted where boot setup saw it: located at %s (%s)", loc.Dir, loc.How)
	}
	unmount()

	elsewhere := t.TempDir()
	unmount = mount(elsewhere)
	if loc := locate(); loc.Dir != elsewhere || loc.Release() != nil {
		t.Errorf("mounted elsewhere: located at %s (%s)", loc.Dir, loc.How)
	}
	unmount()

	loc := locate()
	if !strings.HasPrefix(loc.Dir, "/run/cairn-boot-") || !strings.Contains(loc.How, "mounted at") {
		t.Errorf("not mounted: located at %s (%s)", loc.Dir, loc.How)
	}
	if err := loc.Release(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(loc.Dir); !os.IsNotExist(err) {
		t.Errorf("Release left %s behind (%v)", loc.Dir, err)
	}
	mounts, _ := disk.Mounts()
	for _, m := range mounts {
		if m.Point == loc.Dir {
			t.Errorf("Release left %s mounted", loc.Dir)
		}
	}

	// A file system that no device holds is an error that says so.
	c.BootFS = "UUID=00000000-0000-0000-0000-000000000000"
	if _, err := c.Locate(); err == nil || !strings.Contains(err.Error(), "no block device holds it") {
		t.Errorf("a missing boot file system: %v", err)
	}
}
