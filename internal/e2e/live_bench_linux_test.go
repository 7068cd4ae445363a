package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// BenchmarkRealAlpineSwitch measures, on the real Alpine system under
// qemu, command -> confirmed for a new generation (another motd) two
// ways: `cairn switch --now` (live) and `cairn switch` + a reboot (the
// shutdown, then the firmware, cairn-init, OpenRC, cairn-confirm; the
// reboot is a poweroff and a new qemu on the same disk, as TestRealAlpine
// does, which costs qemu's start, well under a second). Then a third:
// `cairn switch --now --kexec` to a generation with another kernel (the
// shutdown, the kernel started without the firmware, cairn-init, OpenRC,
// cairn-confirm). Booted once before the clock starts; run it with
// -benchtime=1x (docs/benchmarks.md).
func BenchmarkRealAlpineSwitch(b *testing.B) {
	testutil.Require(b, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(b)
	cairn := e2etest.Binaries(b)
	r := e2etest.MakeAlpineRepo(b, cairn)
	key, pub := e2etest.SSHKey(b)
	work := b.TempDir()
	manifest := func(name string) string {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		return r.Manifest(b, dir, e2etest.AlpineSystem{Description: name, Motd: name, Key: pub})
	}
	img := filepath.Join(work, "disk.img")
	e2etest.Run(b, cairn, "image", "-f", manifest("g1"), "--format", "disk", "--firmware", "bios", "--size", "1536M", "-o", img)
	top, undo := e2etest.MountPartition(b, img, 2, "btrfs", "subvolid=5")
	e2etest.Run(b, cairn, "build", "-f", manifest("g2"), "--store", top)
	e2etest.Run(b, cairn, "build", "-f", manifest("g3"), "--store", top)
	lts := e2etest.MakeOtherKernelRepo(b, cairn)
	dir4 := filepath.Join(work, "g4")
	os.MkdirAll(dir4, 0o755)
	e2etest.Run(b, cairn, "build", "-f", r.WithRepo(lts.Repo).Manifest(b, dir4, e2etest.AlpineSystem{Description: "g4", Motd: "g4", Key: pub, Kernel: "linux-lts"}), "--store", top)
	undo()
	cfg := vm.Config{MemoryMiB: 512, Disks: []vm.Disk{{Path: img}}, NoReboot: true, Forwards: []vm.Forward{{GuestPort: 22}}}
	v := vmtest.Start(b, cfg)
	if _, err := v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
		b.Fatalf("no login prompt: %v", err)
	}
	addr := v.Forwards()[0].Host()
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		e2etest.MustSSH(b, addr, "alice", key, "doas cairn switch --now 2")
		live := time.Since(start)

		start = time.Now()
		e2etest.MustSSH(b, addr, "alice", key, "doas cairn switch 3")
		e2etest.SSH(addr, "alice", key, "doas poweroff") // the connection ends with the system
		if err := v.Wait(3 * time.Minute); err != nil {
			b.Fatalf("poweroff: %v", err)
		}
		v = vmtest.Start(b, cfg)
		if _, err := v.Expect(regexp.MustCompile(`generation 3 is confirmed`), alpineBootTimeout); err != nil {
			b.Fatalf("generation 3 not confirmed after the reboot: %v", err)
		}
		reboot := time.Since(start)
		if _, err := v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
			b.Fatalf("no login prompt after the reboot: %v", err)
		}
		addr = v.Forwards()[0].Host()

		start = time.Now()
		e2etest.MustSSH(b, addr, "alice", key, "doas cairn switch --now --kexec 4")
		if _, err := v.Expect(regexp.MustCompile(`generation 4 is confirmed`), alpineBootTimeout); err != nil {
			b.Fatalf("generation 4 not confirmed after the kexec: %v", err)
		}
		kexec := time.Since(start)
		b.ReportMetric(live.Seconds(), "s-live")
		b.ReportMetric(reboot.Seconds(), "s-reboot")
		b.ReportMetric(kexec.Seconds(), "s-kexec")
		b.Logf("command -> confirmed: switch --now %.1f s, switch + reboot %.1f s, switch --now --kexec (another kernel) %.1f s", live.Seconds(), reboot.Seconds(), kexec.Seconds())
	}
}
