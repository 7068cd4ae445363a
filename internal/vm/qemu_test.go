package vm_test

import (
	"io"
	"net/http"
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
				Kernel: k.Vmlinuz, Initrd: initrd, Append: "console=ttyS0 panic=-1 no_timer_check", NoReboot: true,
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
		Kernel: k.Vmlinuz, Initrd: initrd, Append: "console=ttyS0 panic=-1 no_timer_check", NoReboot: true,
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

// TestForwardToGuest boots Debian's cloud kernel with a virtio-net NIC on
// qemu's user-mode network and a host port forwarded to the guest's port
// 8080, where busybox httpd serves a page: the host fetches it through
// the forward. The initramfs carries the NIC's driver (virtio_pci,
// virtio_net with failover and net_failover: modules of Debian's kernel)
// and busybox's modprobe loads them. Then init prints a login prompt
// without a newline, which Expect sees as it is, and waits for a line.
func TestForwardToGuest(t *testing.T) {
	k := debtest.CloudKernel(t)
	mods, err := initramfs.OpenModules(k.Modules)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := mods.Select([]string{"virtio_pci", "virtio_net"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sel.Missing) > 0 {
		t.Fatalf("the kernel lacks %v", sel.Missing)
	}
	t.Logf("modules: %v (built in: %v)", sel.Names(), sel.Builtin)
	a := initramfs.NewArchive(time.Time{})
	for _, err := range []error{
		a.AddFileFrom("bin/busybox", 0o755, debtest.Busybox(t)),
		a.AddFile("init", 0o755, []byte(`#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in virtio_pci virtio_net; do modprobe $m || echo "MODPROBE $m FAILED"; done
# qemu's DHCP server would hand out the same address.
ip link set lo up
ip addr add 10.0.2.15/24 dev eth0
ip link set eth0 up
ip route add default via 10.0.2.2
mkdir -p /www
echo "served by the guest, $((6*7))" > /www/index.html
httpd -p 8080 -h /www && echo "HTTPD UP on $(cat /sys/class/net/eth0/address)"
printf 'guest login: '
read -r line
echo "got $line"
poweroff -f
`)),
		a.AddCharDevice("dev/console", 0o600, 5, 1),
		a.AddDir("proc", 0o755),
		a.AddDir("sys", 0o755),
		mods.AddTo(a, sel),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	initrd := filepath.Join(t.TempDir(), "initramfs")
	f, err := os.Create(initrd)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteCompressed(f, initramfs.Gzip); err != nil {
		t.Fatal(err)
	}
	f.Close()

	v := vmtest.Start(t, vm.Config{
		Kernel: k.Vmlinuz, Initrd: initrd, Append: "console=ttyS0 panic=-1 no_timer_check", NoReboot: true,
		Forwards: []vm.Forward{{GuestPort: 8080}},
	})
	if _, err := v.Expect(regexp.MustCompile(`^HTTPD UP on \S+$`), bootTimeout); err != nil {
		t.Fatal(err)
	}
	fw := v.Forwards()[0]
	client := &http.Client{Timeout: time.Minute}
	resp, err := client.Get("http://" + fw.Host() + "/index.html")
	if err != nil {
		t.Fatalf("through the forward %s: %v", fw, err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || string(body) != "served by the guest, 42\n" {
		t.Fatalf("through the forward %s: %s %q %v", fw, resp.Status, body, err)
	}
	t.Logf("fetched %q from the guest through %s", body, fw)

	if _, err := v.Expect(regexp.MustCompile(`^guest login: $`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := v.Send("root\n"); err != nil {
		t.Fatal(err)
	}
	if err := v.ExpectString("got root", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := v.Wait(time.Minute); err != nil {
		t.Fatalf("no clean power off: %v", err)
	}
}
