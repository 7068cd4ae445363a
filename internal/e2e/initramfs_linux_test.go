package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/image"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// ramHealth is the RAM test system's declared health check, which its
// init has the system's own `cairn confirm --boot` run: on a RAM system
// it runs the checks and confirms nothing (docs/boot.md, "RAM systems").
const ramHealth = "test -s /etc/e2e-marker"

// ramInit is the init of the RAM test system: it says what it finds of
// the previous boot, runs the health check, writes a file in a
// persistent directory (/srv/e2e, declared; /var, always persistent) and
// one elsewhere (/etc), and powers off.
const ramInit = `#!/bin/sh
echo "E2E RAM UP: $(cat /etc/e2e-marker)"
while read -r line; do echo "E2E MOUNT $line"; done < /proc/mounts
for f in /srv/e2e/boots /var/e2e-boots /etc/e2e-volatile; do
	if [ -e $f ]; then echo "E2E FOUND $f: $(cat $f)"; else echo "E2E MISSING $f"; fi
done
if /usr/sbin/cairn confirm --boot; then echo "E2E HEALTH: ok"; else echo "E2E HEALTH: FAIL"; fi
n=1
if [ -e /srv/e2e/boots ]; then n=$(( $(cat /srv/e2e/boots) + 1 )); fi
echo $n > /srv/e2e/boots
echo $n > /var/e2e-boots
echo $n > /etc/e2e-volatile
sync
echo "E2E DONE $n"
poweroff -f
`

// TestInitramfsImage is issue 6's acceptance test of the initramfs
// format: a system built by the real cairn, made into an initramfs image
// twice (the same bytes), booted twice by qemu with Debian's cloud kernel
// and a second disk holding its persistence: the generation's init runs
// from a tmpfs root, the declared health check passes, a file written to
// a persistent directory is there at the next boot and one written
// elsewhere is not. A third boot is of the image compressed with zstd.
func TestInitramfsImage(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (cairn build sets the owners of the system's files)")
	debtest.Tool(t, "mkfs.ext4", "e2fsprogs")
	debugfs := debtest.Tool(t, "debugfs", "e2fsprogs")
	qemu := vmtest.QEMU(t)

	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	work := t.TempDir()
	root := filepath.Join(work, "root")
	manifest := r.Manifest(t, t.TempDir(), e2etest.System{Marker: "ram", Init: ramInit, Persist: []string{"/srv/e2e"}})
	e2etest.Run(t, cairn, "build", "-f", manifest, "--root", root)
	health, err := os.ReadFile(filepath.Join(root, "etc", "cairn", "health.json"))
	if err != nil || !bytes.Contains(health, []byte(ramHealth)) {
		t.Fatalf("the generation's health checks do not hold %q: %s (%v)", ramHealth, health, err)
	}

	// The image, twice, from the manifest and the lock the build wrote:
	// what an operator runs.
	const dataLabel = "cairn-data"
	f := image.Initramfs{Persist: "LABEL=" + dataLabel}
	var outs []string
	for i := range 2 {
		out := filepath.Join(work, fmt.Sprintf("image%d", i))
		start := time.Now()
		t.Logf("%s(%s)", strings.TrimSpace(e2etest.Run(t, cairn, "image", "-f", manifest, "--format", "initramfs", "--persist", f.Persist, "-o", out)),
			time.Since(start).Round(time.Millisecond))
		outs = append(outs, out)
	}
	names := []string{image.InitramfsKernel, f.InitrdName(), image.InitramfsCmdline, image.InitramfsExtlinux, image.InitramfsGrub}
	for _, name := range names {
		a, b := sha256File(t, filepath.Join(outs[0], name)), sha256File(t, filepath.Join(outs[1], name))
		if a != b {
			t.Errorf("%s differs between two builds: %s, %s", name, a, b)
		}
	}
	explain := e2etest.Run(t, cairn, "image", "-f", manifest, "--format", "initramfs", "--explain", "--top", "5")
	t.Logf("cairn image --explain:\n%s", explain)
	var ex image.Explanation
	if err := json.Unmarshal([]byte(e2etest.Run(t, cairn, "image", "-f", manifest, "--format", "initramfs", "--explain", "--json")), &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.Packages) == 0 || ex.Packages[0].Name != "linux-virt" || !strings.Contains(explain, "linux-virt") {
		t.Errorf("largest package %+v, want linux-virt", ex.Packages)
	}

	cmdline, err := os.ReadFile(filepath.Join(outs[0], image.InitramfsCmdline))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(cmdline), "cairn.persist=LABEL="+dataLabel) {
		t.Fatalf("cmdline %q lacks the persistence device", cmdline)
	}
	data := filepath.Join(work, "data.img")
	if err := os.WriteFile(data, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(data, 64<<20); err != nil {
		t.Fatal(err)
	}
	e2etest.Run(t, "mkfs.ext4", "-q", "-F", "-L", dataLabel, data)

	// The third boot is of the same system compressed with zstd.
	zf := f
	zf.Compression = image.Zstd
	zout := filepath.Join(work, "image-zstd")
	e2etest.Run(t, cairn, "image", "-f", manifest, "--format", "initramfs", "--persist", f.Persist, "--compression", "zstd", "-o", zout)

	boot := func(n int) []string {
		t.Helper()
		dir, initrd := outs[0], f.InitrdName()
		if n == 3 {
			dir, initrd = zout, zf.InitrdName()
		}
		v := vmtest.Start(t, vm.Config{
			QEMU: qemu, MemoryMiB: 512, NoReboot: true,
			Kernel: filepath.Join(dir, image.InitramfsKernel), Initrd: filepath.Join(dir, initrd),
			Append: strings.TrimSpace(string(cmdline)), Disks: []vm.Disk{{Path: data}},
		})
		if _, err := v.Expect(regexp.MustCompile(`cairn-init: starting /sbin/init from RAM`), bootTimeout); err != nil {
			t.Fatalf("boot %d: %v", n, err)
		}
		if err := v.ExpectString(fmt.Sprintf("E2E DONE %d", n), bootTimeout); err != nil {
			t.Fatalf("boot %d: %v", n, err)
		}
		if err := v.Wait(time.Minute); err != nil {
			t.Fatalf("boot %d: %v", n, err)
		}
		lines := v.Lines()
		for _, l := range lines {
			if strings.Contains(l, "cairn-init:") || strings.Contains(l, "E2E") && !strings.Contains(l, "E2E MOUNT") {
				t.Logf("boot %d: %s", n, l)
			}
		}
		return lines
	}
	has := func(lines []string, want string) bool {
		for _, l := range lines {
			if strings.Contains(l, want) {
				return true
			}
		}
		return false
	}
	rootFS := regexp.MustCompile(`^E2E MOUNT \S+ / (\S+) `)
	check := func(n int, lines []string, want ...string) {
		t.Helper()
		for _, w := range append(want, "E2E RAM UP: ram", "ok    marker", "E2E HEALTH: ok", "E2E MISSING /etc/e2e-volatile") {
			if !has(lines, w) {
				t.Errorf("boot %d: no line with %q", n, w)
			}
		}
		var fstypes []string
		for _, l := range lines {
			if m := rootFS.FindStringSubmatch(l); m != nil {
				fstypes = append(fstypes, m[1])
			}
		}
		if strings.Join(fstypes, " ") != "tmpfs" {
			t.Errorf("boot %d: / is %q, want one tmpfs", n, fstypes)
		}
	}

	check(1, boot(1), "E2E MISSING /srv/e2e/boots", "E2E MISSING /var/e2e-boots",
		"cairn-init: persistence on /dev/vda (ext4 LABEL="+dataLabel+")", "cairn-init: persistent /srv/e2e created")
	check(2, boot(2), "E2E FOUND /srv/e2e/boots: 1", "E2E FOUND /var/e2e-boots: 1")
	check(3, boot(3), "E2E FOUND /srv/e2e/boots: 2", "E2E FOUND /var/e2e-boots: 2")

	// On the persistence disk, as docs/boot.md lays it out.
	for p, want := range map[string]string{"/@cairn/persist/srv-e2e/boots": "3", "/@cairn/persist/var/e2e-boots": "3"} {
		got := strings.TrimSpace(e2etest.Run(t, debugfs, "-R", "cat "+p, data))
		if !strings.HasSuffix(got, want) {
			t.Errorf("%s on the persistence disk: %q, want %q", p, got, want)
		}
	}
}

func sha256File(t *testing.T, p string) string {
	t.Helper()
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
