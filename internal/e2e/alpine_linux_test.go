package e2e

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// alpineBootTimeout bounds one boot of the real Alpine system under
// software emulation, firmware to the login prompt, with room for a
// loaded machine (about 30 s on a quiet one).
const alpineBootTimeout = 6 * time.Minute

// alpineNode is a real Alpine system booted under qemu from a disk image,
// reachable over ssh.
type alpineNode struct {
	t    *testing.T
	v    *vm.VM
	addr string // sshd, forwarded
	key  ssh.Signer
	// warnings are expected: checkConsole lets cairn's warnings pass.
	warnings bool
}

// bootAlpine boots the disk image img and waits for the serial console's
// login prompt.
func bootAlpine(t *testing.T, img string, key ssh.Signer) *alpineNode {
	t.Helper()
	start := time.Now()
	v := vmtest.Start(t, vm.Config{MemoryMiB: 512, Disks: []vm.Disk{{Path: img}}, NoReboot: true, Forwards: []vm.Forward{{GuestPort: 22}}})
	if _, err := v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
		t.Fatalf("no login prompt on the serial console: %v", err)
	}
	t.Logf("qemu start to the login prompt: %.1f s", time.Since(start).Seconds())
	return &alpineNode{t: t, v: v, addr: v.Forwards()[0].Host(), key: key}
}

// ssh runs cmd as alice; doas makes it root's.
func (n *alpineNode) ssh(cmd string) string {
	n.t.Helper()
	return e2etest.MustSSH(n.t, n.addr, "alice", n.key, cmd)
}

// status is `cairn status --json` on the node.
func (n *alpineNode) status() map[string]any {
	n.t.Helper()
	var st map[string]any
	out := n.ssh("doas cairn status --json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		n.t.Fatalf("cairn status --json: %v\n%s", err, out)
	}
	return st
}

// poweroff shuts the node down from inside and waits for qemu to end.
func (n *alpineNode) poweroff() {
	n.t.Helper()
	e2etest.SSH(n.addr, "alice", n.key, "doas poweroff") // the connection may end before the answer
	if err := n.v.Wait(3 * time.Minute); err != nil {
		n.t.Fatalf("poweroff: %v", err)
	}
}

// checkConsole asserts what an operator watching the serial console of a
// real Alpine boot expects: the login prompt cairn-init gave the serial
// console, OpenRC starting every service with no failure but the known
// one, and no warning from cairn.
func (n *alpineNode) checkConsole(step string) []string {
	n.t.Helper()
	lines := n.v.Lines()
	console := strings.Join(lines, "\n")
	if !strings.Contains(console, "cairn-init: a getty on ttyS0") {
		n.t.Errorf("%s: cairn-init did not add a getty on ttyS0", step)
	}
	if p := e2etest.OpenRCProblems(lines); len(p) > 0 {
		n.t.Errorf("%s: OpenRC reports failures besides mdev's %s:\n%s", step, e2etest.KnownOpenRCException, strings.Join(p, "\n"))
	}
	if !strings.Contains(console, e2etest.KnownOpenRCException) {
		n.t.Logf("%s: the known exception (%s) did not show", step, e2etest.KnownOpenRCException)
	}
	started := e2etest.OpenRCStarted(lines)
	for _, s := range []string{"sshd", "chronyd", "networking", "busybox syslog"} {
		if !slices.Contains(started, s) {
			n.t.Errorf("%s: OpenRC did not report %q started [ ok ]; started: %q", step, s, started)
		}
	}
	if strings.Contains(console, "cairn: warning") && !n.warnings {
		n.t.Errorf("%s: cairn warned on the console:\n%s", step, grepLines(lines, "cairn: warning"))
	}
	return lines
}

func grepLines(lines []string, s string) string {
	var out []string
	for _, l := range lines {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// espFile reads a file of the disk image's EFI system partition with
// mtools (this machine's kernel need not mount FAT).
func espFile(t *testing.T, img, path string) string {
	t.Helper()
	mtype := debtest.Tool(t, "mtype", "mtools")
	return e2etest.Run(t, mtype, "-i", img+"@@1M", "::"+path)
}

// espOffset is where the disk images' EFI system partition starts.
const espOffset = 1 << 20

// damageESP leaves the disk image's EFI system partition as a power cut
// in the middle of replacing cairn/index.json can (CI's power-cut test
// met it): the FAT's write kept, the directory's lost, so the file's
// cluster is free in both FATs; and the dirty flag Linux sets while the
// file system is mounted still set. Linux mounts it, then remounts it
// read-only at the first read of the index.
func damageESP(t *testing.T, img string) {
	t.Helper()
	out := e2etest.Run(t, debtest.Tool(t, "mshowfat", "mtools"), "-i", fmt.Sprintf("%s@@%d", img, espOffset), "::/cairn/index.json")
	m := regexp.MustCompile(`<(\d+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("mshowfat: no cluster in %q", out)
	}
	cluster, _ := strconv.ParseInt(m[1], 10, 64)
	f, boot := openESP(t, img, os.O_RDWR)
	defer f.Close()
	le := binary.LittleEndian
	sector, reserved, fatSecs := int64(le.Uint16(boot[11:])), int64(le.Uint16(boot[14:])), int64(le.Uint32(boot[36:]))
	for i := range int64(boot[16]) {
		if _, err := f.WriteAt(make([]byte, 4), espOffset+(reserved+i*fatSecs)*sector+4*cluster); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.WriteAt([]byte{boot[65] | 1}, espOffset+65); err != nil {
		t.Fatal(err)
	}
}

// openESP opens the disk image and reads its ESP's boot sector.
func openESP(t *testing.T, img string, flag int) (*os.File, []byte) {
	t.Helper()
	f, err := os.OpenFile(img, flag, 0)
	if err != nil {
		t.Fatal(err)
	}
	boot := make([]byte, 512)
	if _, err := f.ReadAt(boot, espOffset); err != nil {
		f.Close()
		t.Fatal(err)
	}
	return f, boot
}

// fsckESP runs dosfstools' fsck.fat on a copy of the disk image's EFI
// system partition: it must find nothing to fix.
func fsckESP(t *testing.T, img string) {
	t.Helper()
	f, boot := openESP(t, img, os.O_RDONLY)
	defer f.Close()
	esp := make([]byte, int64(binary.LittleEndian.Uint32(boot[32:]))*512)
	if _, err := f.ReadAt(esp, espOffset); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "esp.img")
	if err := os.WriteFile(p, esp, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(debtest.Tool(t, "fsck.fat", "dosfstools"), "-n", p).CombinedOutput()
	// syslinux's installer writes its boot code into the boot sector and
	// not its backup, which fsck.fat reports and leaves ("mostly
	// harmless"); past that, a clean file system is the version line
	// and the summary.
	text := string(out)
	if i, j := strings.Index(text, "There are differences between boot sector and its backup"), strings.Index(text, "Not automatically fixing this.\n"); i >= 0 && j > i {
		text = text[:i] + text[j+len("Not automatically fixing this.\n"):]
	}
	if err != nil || strings.Count(text, "\n") != 2 {
		t.Errorf("fsck.fat -n on the EFI system partition: %v\n%s", err, out)
	}
}

// TestRealAlpine boots the real Alpine 3.19 system (alpine-base, OpenSSH,
// chrony and doas from the ISO's Alpine-signed packages; only the kernel
// is Debian's) from a disk image made by cairn image, through BIOS, and
// lives with it as an operator would:
//
//  1. generation 1 comes up with a login prompt on the serial console
//     (no inittab in the manifest), OpenRC starts every service, alice
//     logs in over ssh with her key, and the node's cairn finds its own
//     EFI system partition (not mounted anywhere) to keep the entries;
//  2. generation 2, built on the build host (a package more, a changed
//     motd), boots as a trial and confirms itself; cairn diff on the node
//     shows both changes; cairn rollback on the node rewrites the
//     node's boot entries, which the host then reads from the ESP.
//     Before that boot the ESP is damaged as a power cut can leave it
//     (damageESP): the node's cairn repairs it before it writes, says
//     so, and dosfstools' fsck.fat finds nothing left to fix;
//  3. generation 3 fails a health check: it boots once, is not
//     confirmed, and the next boot is generation 1, the default, with no
//     command in between; state.json says how the trial ended.
func TestRealAlpine(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	work := t.TempDir()
	manifest := func(name string, s e2etest.AlpineSystem) string {
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		s.Key = pub
		return r.Manifest(t, dir, s)
	}
	img := filepath.Join(work, "disk.img")
	e2etest.Run(t, cairn, "image", "-f", manifest("g1", e2etest.AlpineSystem{Description: "generation one", Motd: "generation one"}),
		"--format", "disk", "--firmware", "bios", "--size", "1536M", "-o", img)

	// 1. Generation 1.
	n := bootAlpine(t, img, key)
	lines := n.checkConsole("generation 1")
	if got := n.ssh("cat /etc/motd"); got != "generation one\n" {
		t.Errorf("motd %q", got)
	}
	if got := n.ssh("id -nG"); !strings.Contains(got, "wheel") {
		t.Errorf("alice's groups: %q", got)
	}
	if st := n.status(); st["booted"] != 1.0 || st["default"] != 1.0 {
		t.Errorf("cairn status on the node: %v", st)
	}
	// The node's confirm wrote its entries through a mount of its own,
	// gone again.
	if m := n.ssh("cat /proc/mounts"); strings.Contains(m, "vfat") {
		t.Errorf("the EFI system partition is still mounted:\n%s", m)
	}
	if out := n.ssh("doas cairn boot sync"); !strings.Contains(out, "in line") {
		t.Errorf("cairn boot sync on the node: %s", out)
	}
	n.poweroff()
	t.Logf("generation 1: %s", grepLines(lines, "switching root"))

	// 2. Generation 2, built on the host into the disk's store.
	top, undo := e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	mf2 := manifest("g2", e2etest.AlpineSystem{Description: "generation two", Motd: "generation two", Packages: []string{"e2fsprogs"}})
	e2etest.Run(t, cairn, "build", "-f", mf2, "--store", top)
	e2etest.Run(t, cairn, "switch", "--store", top, "2")
	undo()
	if esp := espFile(t, img, "/extlinux/extlinux.conf"); strings.Contains(esp, "cairn.gen=2") {
		t.Fatalf("the host wrote generation 2's entry; this step is to show the node doing it")
	}
	damageESP(t, img)
	n = bootAlpine(t, img, key)
	n.warnings = true
	lines = n.checkConsole("generation 2")
	console := strings.Join(lines, "\n")
	for _, want := range []string{"cairn-init: choosing generation 2 on trial", "generation 2 is confirmed",
		"fsck: repaired the boot file system", "/cairn/index.json: its one cluster"} {
		if !strings.Contains(console, want) {
			t.Errorf("generation 2: no %q on the console", want)
		}
	}
	if st := n.status(); st["booted"] != 2.0 || st["default"] != 2.0 {
		t.Errorf("cairn status on the node: %v", st)
	}
	diff := n.ssh("doas cairn diff 1 2")
	for _, want := range []string{"Installing e2fsprogs", "etc/motd"} {
		if !strings.Contains(diff, want) {
			t.Errorf("cairn diff 1 2 on the node does not show %q:\n%s", want, diff)
		}
	}
	if out := n.ssh("doas cairn rollback 2>&1"); !strings.Contains(out, "generation 1 boots next") || strings.Contains(out, "warning") {
		t.Errorf("cairn rollback on the node: %s", out)
	}
	n.poweroff()
	esp := espFile(t, img, "/extlinux/extlinux.conf")
	if !strings.Contains(esp, "cairn.gen=2") || !strings.Contains(esp, "cairn.default=1") {
		t.Errorf("the node did not bring its EFI system partition's entries in line (generation 2's entry, default 1):\n%s", esp)
	}
	fsckESP(t, img)

	// 3. Generation 3 fails a health check.
	top, undo = e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	mf3 := manifest("g3", e2etest.AlpineSystem{Description: "generation three", Motd: "generation three",
		Health: map[string]string{"api": "test -e /run/no-such-api"}})
	e2etest.Run(t, cairn, "build", "-f", mf3, "--store", top)
	e2etest.Run(t, cairn, "switch", "--store", top, "3")
	undo()
	n = bootAlpine(t, img, key)
	console = strings.Join(n.v.Lines(), "\n")
	for _, want := range []string{"cairn-init: choosing generation 3 on trial", "FAIL  api", "generation 3 failed its health checks and is not confirmed"} {
		if !strings.Contains(console, want) {
			t.Errorf("generation 3: no %q on the console", want)
		}
	}
	n.poweroff()
	n = bootAlpine(t, img, key)
	n.checkConsole("after generation 3")
	if st := n.status(); st["booted"] != 1.0 {
		t.Errorf("after the failed trial: %v", st)
	}
	n.poweroff()
	top, undo = e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	st := e2etest.ReadState(t, top)
	undo()
	if st.Default != 1 || st.Trial.Generation != 0 || st.LastTrial != (store.TrialOutcome{Generation: 3, Outcome: store.TrialFellBack}) {
		t.Errorf("state.json after generation 3's trial: %+v", st)
	}
}

// TestRealAlpineRAM boots the real Alpine system as a diskless node would:
// cairn image --format initramfs, the kernel and one initramfs, no disk.
// It comes up from RAM with OpenRC, a login prompt on the serial console
// and sshd, and its health checks pass without a store.
func TestRealAlpineRAM(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (cairn build sets the owners of the system's files)")
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	dir := t.TempDir()
	mf := r.Manifest(t, dir, e2etest.AlpineSystem{Description: "from RAM", Motd: "a diskless node", Key: pub})
	out := filepath.Join(dir, "ram")
	e2etest.Run(t, cairn, "image", "-f", mf, "--format", "initramfs", "-o", out)
	cmdline, err := os.ReadFile(filepath.Join(out, "cmdline"))
	if err != nil {
		t.Fatal(err)
	}
	v := vmtest.Start(t, vm.Config{MemoryMiB: 1024, NoReboot: true, Forwards: []vm.Forward{{GuestPort: 22}},
		Kernel: filepath.Join(out, "vmlinuz"), Initrd: filepath.Join(out, "initramfs.gz"), Append: strings.TrimSpace(string(cmdline))})
	if _, err := v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
		t.Fatalf("no login prompt on the serial console: %v", err)
	}
	n := &alpineNode{t: t, v: v, addr: v.Forwards()[0].Host(), key: key}
	lines := n.checkConsole("RAM")
	console := strings.Join(lines, "\n")
	for _, want := range []string{"cairn-init: starting /sbin/init from RAM", "ok    sshd"} {
		if !strings.Contains(console, want) {
			t.Errorf("no %q on the console", want)
		}
	}
	if got := n.ssh("cat /etc/motd; awk '$2 == \"/\" {print $3}' /proc/mounts"); got != "a diskless node\ntmpfs\n" {
		t.Errorf("motd and the root's file system type: %q", got)
	}
	n.poweroff()
}

// TestRealAlpineBadState is issue 12's bad state at boot, on the real
// system: state.json turned to garbage, the default generation deleted by
// hand, and a full EFI system partition. Each time the machine still
// comes up on a good generation, says on the console what it did, and
// leaves a store cairn fsck finds consistent.
func TestRealAlpineBadState(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(t)
	mcopy := debtest.Tool(t, "mcopy", "mtools")
	minfo := debtest.Tool(t, "minfo", "mtools")
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	work := t.TempDir()
	manifest := func(name, desc string) string {
		dir := filepath.Join(work, name)
		os.MkdirAll(dir, 0o755)
		return r.Manifest(t, dir, e2etest.AlpineSystem{Description: desc, Motd: desc, Key: pub})
	}
	img := filepath.Join(work, "disk.img")
	e2etest.Run(t, cairn, "image", "-f", manifest("g1", "generation one"), "--format", "disk", "--firmware", "bios", "--size", "1536M", "-o", img)
	top, undo := e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	e2etest.Run(t, cairn, "build", "-f", manifest("g2", "generation two"), "--store", top)
	e2etest.Run(t, cairn, "switch", "--permanent", "--store", top, "2")
	undo()

	// boot boots the disk, checks that generation want came up confirmed
	// with the console saying each of says, and that fsck finds the
	// store consistent.
	boot := func(step string, want int, warnings bool, says ...string) {
		t.Helper()
		n := bootAlpine(t, img, key)
		n.warnings = warnings
		lines := n.checkConsole(step)
		console := strings.Join(lines, "\n")
		for _, s := range append(says, fmt.Sprintf("generation %d is confirmed", want)) {
			if !strings.Contains(console, s) {
				t.Errorf("%s: the console does not say %q:\n%s", step, s, grepLines(lines, "cairn"))
			}
		}
		if st := n.status(); st["booted"] != float64(want) {
			t.Errorf("%s: booted %v, want %d", step, st["booted"], want)
		}
		if out := n.ssh("doas cairn fsck --json"); !strings.Contains(out, `"consistent": true`) {
			t.Errorf("%s: cairn fsck: %s", step, out)
		}
		n.poweroff()
		t.Logf("%s: %s", step, grepLines(lines, "cairn-init: "))
	}
	hostStore := func(f func(top string)) {
		top, undo := e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
		defer undo()
		f(top)
	}

	// 1. state.json is garbage: cairn-init boots the default its loader
	// entry names (cairn.default=), the node rebuilds the state around it.
	hostStore(func(top string) {
		if err := os.WriteFile(filepath.Join(top, "@cairn", "state.json"), []byte("{\"default\": 2, garb"), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	boot("garbage state.json", 1, false, "state.json unusable")

	// 2. The default generation deleted by hand: the next good one boots.
	hostStore(func(top string) {
		if st := e2etest.ReadState(t, top); st.Default != 1 {
			t.Fatalf("the node's rebuilt state: %+v", st)
		}
		e2etest.Run(t, "btrfs", "subvolume", "delete", filepath.Join(top, "@cairn", "generations", "1"))
	})
	boot("default deleted", 2, false, "generation 1, which state.json chooses, is missing")

	// 3. A full EFI system partition: a new generation's trial still boots
	// and is confirmed; the entries wait for room, and cairn says so.
	hostStore(func(top string) {
		e2etest.Run(t, cairn, "build", "-f", manifest("g3", "generation three"), "--store", top)
		e2etest.Run(t, cairn, "switch", "--store", top, "3")
	})
	info := e2etest.Run(t, minfo, "-i", img+"@@1M", "::")
	m := regexp.MustCompile(`free clusters=(\d+)`).FindStringSubmatch(info)
	csize := regexp.MustCompile(`cluster size: (\d+) sectors`).FindStringSubmatch(info)
	if m == nil || csize == nil {
		t.Fatalf("minfo:\n%s", info)
	}
	free, _ := strconv.ParseInt(m[1], 10, 64)
	cs, _ := strconv.ParseInt(csize[1], 10, 64)
	filler := filepath.Join(work, "filler")
	if err := os.WriteFile(filler, make([]byte, free*cs*512), 0o644); err != nil {
		t.Fatal(err)
	}
	e2etest.Run(t, mcopy, "-i", img+"@@1M", filler, "::/filler")
	boot("full ESP", 3, true, "choosing generation 3 on trial", "no space left on device: the entries stay as they are")
}
