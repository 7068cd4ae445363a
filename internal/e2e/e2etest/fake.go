package e2etest

import (
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// FakeEpoch is the build time FakeGeneration records.
var FakeEpoch = time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)

// FakeGeneration makes a generation tree as a build leaves one, with a
// stand-in kernel and cairn-init (the boot tests boot real ones), every
// kind of entry, and /var persistent.
func FakeGeneration(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "gen")
	r := rand.New(rand.NewPCG(1, 2))
	blob := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	files := map[string][]byte{
		"usr/lib/cairn/generation.json": []byte(`{"name":"fake","description":"fake system","manifestDigest":"sha256:aa","lockDigest":"sha256:bb",` +
			`"packages":[{"name":"busybox","version":"1.36.1-r0"},{"name":"linux-virt","version":"6.1.0-r0"}],"kernel":"linux-virt",` +
			`"buildTime":"2024-03-09T12:00:00Z","cairnVersion":"test"}`),
		"boot/vmlinuz-virt":        blob(2 << 20),
		"usr/lib/cairn/cairn-init": blob(300 << 10),
		"etc/apk/arch":             []byte("x86_64\n"),
		"etc/cairn/persist":        []byte("# persistent\n/var\n"),
		"etc/cairn/cmdline":        []byte("console=ttyS0\n"),
		"var/lib/app/state":        []byte("seed\n"),
		"usr/bin/big":              blob(5 << 20),
		"usr/bin/suid":             []byte("#!/bin/sh\n"),
		"etc/hostname":             []byte("fake\n"),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"dev", "proc", "sys", "run", "tmp", "var/log"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Chmod(filepath.Join(root, "tmp"), 0o1777))
	must(os.Chmod(filepath.Join(root, "usr/bin/suid"), 0o4755))
	must(os.Lchown(filepath.Join(root, "var/lib/app"), 100, 101))
	must(os.Link(filepath.Join(root, "usr/bin/big"), filepath.Join(root, "usr/bin/big-link")))
	must(os.Symlink("big", filepath.Join(root, "usr/bin/big-symlink")))
	must(unix.Mkfifo(filepath.Join(root, "var/lib/app/fifo"), 0o600))
	must(unix.Mknod(filepath.Join(root, "dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(unix.Setxattr(filepath.Join(root, "etc/hostname"), "user.cairn.test", []byte("x"), 0))
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			ts := []unix.Timespec{unix.NsecToTimespec(old.UnixNano()), unix.NsecToTimespec(old.UnixNano())}
			unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
		}
		return nil
	})
	return root
}

// SystemdBoot returns Debian's systemd-boot EFI program.
func SystemdBoot(t testing.TB) string {
	t.Helper()
	dir := debtest.Unpacked(t, "systemd-boot-efi", []string{"systemd-boot-efi"}, func(tree string) error {
		_, err := os.Stat(filepath.Join(tree, "usr/lib/systemd/boot/efi/systemd-bootx64.efi"))
		return err
	})
	return filepath.Join(dir, "usr/lib/systemd/boot/efi/systemd-bootx64.efi")
}

// DiskTools makes sure what a disk image needs is here.
func DiskTools(t testing.TB) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (a loop device and a mount for the btrfs partition)")
	debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	debtest.Tool(t, "syslinux", "syslinux")
	debtest.Tool(t, "mcopy", "mtools")
}
