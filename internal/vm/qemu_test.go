package vm_test

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// bootTimeout bounds a boot of Debian's cloud kernel under software
// emulation, with room for a loaded machine.
const bootTimeout = 3 * time.Minute

// tinyInitramfs makes an initramfs whose /init is a busybox script.
func tinyInitramfs(t *testing.T, script string, c initramfs.Compression) string {
	t.Helper()
	busybox := debtest.Busybox(t)
	a := initramfs.NewArchive(time.Time{})
	for _, err := range []error{
		a.AddFileFrom("bin/busybox", 0o755, busybox),
		a.AddSymlink("bin/sh", "busybox"),
		a.AddFile("init", 0o755, []byte("#!/bin/sh\n"+script+"\n")),
		a.AddCharDevice("dev/console", 0o600, 5, 1),
		a.AddDir("proc", 0o755),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(t.TempDir(), "initramfs")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := a.WriteCompressed(f, c); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestBootDebianKernel boots Debian's cloud kernel with a busybox
// initramfs, compressed each way cairn writes it, talks to it on the
// serial console and sees it power off.
func TestBootDebianKernel(t *testing.T) {
	k := debtest.CloudKernel(t)
	for _, c := range []initramfs.Compression{initramfs.Gzip, initramfs.Zstd} {
		t.Run(string(c), func(t *testing.T) {
			initrd := tinyInitramfs(t, `export PATH=/bin
/bin/busybox mount -t proc proc /proc
echo "VM TEST UP $((6*7)) uptime $(/bin/busybox cut -d' ' -f1 /proc/uptime)"
read -r line
echo "got $line"
/bin/busybox poweroff -f`, c)
			v := vmtest.Start(t, vm.Config{
				Kernel: k.Vmlinuz, Initrd: initrd, Append: "console=ttyS0 panic=-1", NoReboot: true,
			})
			if err := v.ExpectString("Linux version", bootTimeout); err != nil {
				t.Fatal(err)
			}
			m, err := v.Expect(regexp.MustCompile(`^VM TEST UP 42 uptime ([0-9.]+)`), bootTimeout)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("init ran %s s after the kernel started", m[1])
			if err := v.Send("hello from the test\n"); err != nil {
				t.Fatal(err)
			}
			if err := v.ExpectString("got hello from the test", time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := v.Wait(time.Minute); err != nil {
				t.Fatalf("no clean power off: %v", err)
			}
		})
	}
}

// TestPanicStops: with panic=-1 and NoReboot, an init that exits makes
// the kernel panic and qemu stop, instead of booting again forever.
func TestPanicStops(t *testing.T) {
	k := debtest.CloudKernel(t)
	initrd := tinyInitramfs(t, `echo "INIT GIVES UP"; exit 1`, initramfs.Gzip)
	v := vmtest.Start(t, vm.Config{
		Kernel: k.Vmlinuz, Initrd: initrd, Append: "console=ttyS0 panic=-1", NoReboot: true,
	})
	if err := v.ExpectString("INIT GIVES UP", bootTimeout); err != nil {
		t.Fatal(err)
	}
	if err := v.ExpectString("Attempted to kill init", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := v.Wait(time.Minute); err != nil {
		t.Fatalf("qemu did not stop cleanly on the panic: %v", err)
	}
}
