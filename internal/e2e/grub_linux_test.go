package e2e

import (
	"fmt"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// grubModules are the modules built into GRUB's core image: the BIOS
// disk driver, MBR partitions, the file systems of /boot and the store,
// what cairn's grub.cfg uses (linux, serial console, tests), and the
// environment block for one-shot entries.
var grubModules = []string{
	"biosdisk", "part_msdos", "ext2", "btrfs", "search_fs_uuid", "search_label",
	"normal", "linux", "loadenv", "test", "echo", "gzio", "configfile", "serial", "terminal",
}

// TestGrubBoot boots the "cairn" default entry through GRUB (i386-pc,
// BIOS): a disk as newDisk makes it, but with GRUB's boot.img in the MBR
// and its core image in the gap before the first partition, and the
// grub.cfg `cairn boot setup --loader grub` wrote on the ext4 /boot.
// Generation 1 boots as a trial, its init confirms it (`cairn confirm
// --boot`), and state.json says so.
func TestGrubBoot(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	debtest.Tool(t, "mkfs.ext4", "e2fsprogs")
	mkimage := debtest.Tool(t, "grub-mkimage", "grub-common")
	pcDir := grubPC(t)
	qemu := vmtest.QEMU(t)

	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	d := newGrubDisk(t, mkimage, pcDir)
	top := d.top

	d.attach()
	e2etest.Run(t, cairn, "init", top)
	mf := r.Manifest(t, t.TempDir(), e2etest.System{Marker: "grub", Broken: false})
	out := e2etest.Run(t, cairn, "build", "-f", mf, "--store", top, "--json")
	var g1 int
	if i := strings.Index(out, `"generation":`); i < 0 {
		t.Fatalf("build output has no generation:\n%s", out)
	} else if _, err := fmt.Sscanf(out[i:], `"generation": %d`, &g1); err != nil {
		t.Fatalf("build output: %v\n%s", err, out)
	}
	e2etest.Run(t, cairn, "boot", "setup", "--store", top, "--boot-dir", d.boot, "--loader", "grub", "--root", "LABEL="+rootLabel, "--serial")
	e2etest.Run(t, cairn, "switch", "--store", top, fmt.Sprint(g1))
	if st := e2etest.ReadState(t, top); st.Trial.Generation != g1 || st.Trial.TriesLeft != 1 {
		t.Fatalf("after switch: state %+v", st)
	}
	cfg, err := os.ReadFile(filepath.Join(d.boot, "grub", "grub.cfg"))
	if err != nil {
		t.Fatalf("cairn boot setup --loader grub wrote no grub/grub.cfg: %v", err)
	}
	if !strings.Contains(string(cfg), "set default='cairn'\n") {
		t.Fatalf("grub.cfg does not make the \"cairn\" entry the default:\n%s", cfg)
	}
	t.Logf("grub.cfg:\n%s", cfg)

	d.detach()
	v := vmtest.Start(t, vm.Config{QEMU: qemu, MemoryMiB: 512, Disks: []vm.Disk{{Path: d.image}}, NoReboot: true})
	if _, err := v.Expect(regexp.MustCompile(`cairn-init: switching root to generation \d+`), bootTimeout); err != nil {
		t.Fatal(err)
	}
	m, err := v.Expect(regexp.MustCompile(`E2E GENERATION (\d+) UP: grub`), bootTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != fmt.Sprint(g1) {
		t.Fatalf("generation %s came up, want %d", m[1], g1)
	}
	if err := v.ExpectString(fmt.Sprintf("generation %d is confirmed", g1), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := v.Wait(time.Minute); err != nil {
		t.Fatal(err)
	}
	// GRUB's linux command puts the kernel's path first on the command
	// line (proof that GRUB started it), and the "cairn" entry names no
	// generation: cairn-init chose the trial from state.json.
	var cmdline string
	for _, line := range v.Lines() {
		if _, after, ok := strings.Cut(line, "Command line: "); ok {
			cmdline = after
		}
	}
	if !regexp.MustCompile(`^BOOT_IMAGE=/cairn/vmlinuz-[0-9a-f]+ root=LABEL=`+rootLabel+` `).MatchString(cmdline) || strings.Contains(cmdline, "cairn.gen=") {
		t.Fatalf("kernel command line %q: not the \"cairn\" entry as GRUB passes it", cmdline)
	}
	d.attach()
	if st := e2etest.ReadState(t, top); st.Default != g1 || st.LastGood != g1 || st.Trial.Generation != 0 || st.Booted != g1 {
		t.Fatalf("after the boot: state %+v", st)
	}
}

// grubPC returns the directory of GRUB's i386-pc modules and images,
// from Debian's grub-pc-bin unpacked (not installed: installing it would
// touch the host's own boot set-up).
func grubPC(t *testing.T) string {
	t.Helper()
	dir := debtest.Unpacked(t, "grub-pc-bin", []string{"grub-pc-bin"}, func(tree string) error {
		_, err := os.Stat(filepath.Join(tree, "usr", "lib", "grub", "i386-pc", "boot.img"))
		return err
	})
	return filepath.Join(dir, "usr", "lib", "grub", "i386-pc")
}

// newGrubDisk makes the image: an MBR holding GRUB's boot.img, its core
// image in the sectors after the MBR (the gap before the first partition
// at 1 MiB), partition 1 an ext4 /boot, partition 2 the store's btrfs.
// The core image's prefix is (hd0,msdos1)/grub, where cairn writes
// grub.cfg; GRUB sets $root from it, so the entries' absolute paths are
// on the /boot partition.
func newGrubDisk(t *testing.T, mkimage, pcDir string) *disk {
	t.Helper()
	work := t.TempDir()
	core := filepath.Join(work, "core.img")
	args := append([]string{"-d", pcDir, "-O", "i386-pc", "-o", core, "-p", "(hd0,msdos1)/grub"}, grubModules...)
	e2etest.Run(t, mkimage, args...)
	coreData, err := os.ReadFile(core)
	if err != nil {
		t.Fatal(err)
	}
	if len(coreData) > bootStart-512 {
		t.Fatalf("GRUB's core image is %d bytes: it does not fit between the MBR and the first partition (%d bytes)", len(coreData), bootStart-512)
	}
	bootImg, err := os.ReadFile(filepath.Join(pcDir, "boot.img"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bootImg) != 512 {
		t.Fatalf("GRUB's boot.img is %d bytes, want 512", len(bootImg))
	}

	image := filepath.Join(work, "disk.img")
	f, err := os.Create(image)
	if err != nil {
		t.Fatal(err)
	}
	// boot.img's code and data end before the disk signature at 440; its
	// defaults load the core image from sector 1 of the boot drive.
	writeMBR(t, f, bootImg)
	if _, err := f.WriteAt(coreData, 512); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(diskSize); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	d := &disk{t: t, image: image, boot: filepath.Join(work, "boot"), top: filepath.Join(work, "top")}
	os.Mkdir(d.boot, 0o755)
	os.Mkdir(d.top, 0o755)
	bootDev, rootDev := d.loops()
	e2etest.Run(t, "mkfs.ext4", "-q", "-L", "cairn-boot", bootDev)
	e2etest.Run(t, "mkfs.btrfs", "-q", "-L", rootLabel, rootDev)
	d.detach()

	// The file systems were made on the partitions only: the MBR gap
	// must still hold the core image.
	got := make([]byte, len(coreData))
	if f, err := os.Open(image); err != nil {
		t.Fatal(err)
	} else {
		_, err := f.ReadAt(got, 512)
		f.Close()
		if err != nil || string(got) != string(coreData) {
			t.Fatalf("the core image in the MBR gap was overwritten (%v)", err)
		}
	}
	return d
}
