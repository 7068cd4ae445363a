package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/testutil"
	"github.com/cairnlinux/cairn/internal/vm"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// The boot tests: qemu boots Debian's cloud kernel with an initramfs made
// by package initramfs around this cairn-init, and a btrfs disk holding a
// store made by package store, whose generations are a static busybox
// whose init says which generation it is and powers off.

const (
	diskLabel = "cairn-boot-test"
	// bootTimeout bounds one boot under software emulation, with room
	// for a loaded machine.
	bootTimeout = 3 * time.Minute
)

// buildCairnInit builds this command static, as the initramfs carries it.
func buildCairnInit(t *testing.T) string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	out := filepath.Join(t.TempDir(), "cairn-init")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, msg)
	}
	return out
}

// buildInitramfs makes the initramfs and reports its size and build time.
func buildInitramfs(t *testing.T, k debtest.Kernel, init, shell string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "initramfs.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	start := time.Now()
	res, err := initramfs.Build(f, initramfs.Options{Init: init, Modules: k.Modules, Shell: shell})
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initramfs: %d bytes gzip (%d bytes cpio), built in %s; modules %s; built in %q; missing %q",
		fi.Size(), res.ArchiveSize, took.Round(time.Millisecond), strings.Join(res.Selection.Names(), " "), res.Selection.Builtin, res.Selection.Missing)
	return p
}

// disk is a btrfs image file with a cairn store.
type disk struct {
	t     *testing.T
	image string
}

func newDisk(t *testing.T) *disk {
	t.Helper()
	debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	btrfstest.Require(t)
	image := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(image)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(256 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if out, err := exec.Command("mkfs.btrfs", "-q", "-f", "-L", diskLabel, image).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.btrfs: %v: %s", err, out)
	}
	d := &disk{t: t, image: image}
	d.with(func(top string, _ *store.Store) {
		if _, err := store.Init(top, store.InitOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	return d
}

// with mounts the image's top level, opens and locks its store (if any),
// calls fn and unmounts, whatever happens: qemu must never see the file
// system mounted on the host.
func (d *disk) with(fn func(top string, s *store.Store)) {
	t := d.t
	t.Helper()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-o", "loop", d.image, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount %s: %v: %s", d.image, err, out)
	}
	unmounted := false
	unmount := func() {
		if unmounted {
			return
		}
		unmounted = true
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
			exec.Command("umount", "-l", mnt).Run()
		}
		detachLoops(t, d.image)
	}
	t.Cleanup(unmount) // if fn fails the test
	defer unmount()
	var s *store.Store
	if _, err := os.Stat(filepath.Join(mnt, "@cairn", "store.json")); err == nil {
		var err error
		if s, err = store.Open(mnt); err != nil {
			t.Fatal(err)
		}
		unlock, err := s.Lock(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		defer unlock()
	}
	fn(mnt, s)
}

// detachLoops detaches loop devices still backed by image (mount -o loop
// sets autoclear, so there should be none).
func detachLoops(t *testing.T, image string) {
	backed := func() []string {
		out, err := exec.Command("losetup", "-j", image, "-O", "NAME", "-n").Output()
		if err != nil {
			return nil
		}
		return strings.Fields(string(out))
	}
	for _, dev := range backed() {
		if msg, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
			// Autoclear may have detached it between the listing and
			// now, after the unmount (seen in CI: "No such device or
			// address"): gone is what was wanted.
			if slices.Contains(backed(), dev) {
				t.Errorf("losetup -d %s: %v: %s", dev, err, msg)
			}
		}
	}
}

// generationInit is the init of a test generation: it reports what
// cairn-init left for it and powers off, or fails.
func generationInit(n int, fail bool) string {
	if fail {
		return fmt.Sprintf("#!/bin/sh\necho \"GENERATION %d FAILING\"\nexit 1\n", n)
	}
	return fmt.Sprintf(`#!/bin/sh
export PATH=/bin
echo "GENERATION %d UP"
echo "booted file: $(cat /run/cairn/booted)"
echo "current-system: $(readlink /run/current-system)"
echo "meta: $(cat /run/cairn/meta.json | tr -d ' \n' | cut -c1-40)"
echo "root mount: $(grep ' / ' /proc/mounts | tail -n1 | cut -d' ' -f3,4 | cut -d, -f1)"
if touch /written 2>/dev/null; then echo "root: WRITABLE"; else echo "root: read-only"; fi
if touch /tmp/x /run/x; then echo "tmp and run: writable"; fi
echo "boot from generation %d" >> /var/lib/test/log
echo "persist: $(cat /var/lib/test/seed) / $(wc -l < /var/lib/test/log) boots"
echo "system: $(cat /run/current-system/etc/system)"
sync
busybox poweroff -f
`, n, n)
}

// seal adds generation n to the store: busybox, its init, a persistent
// directory seeded with a file.
func seal(t *testing.T, s *store.Store, busybox string, n int, fail bool) {
	t.Helper()
	st, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	dir := st.Dir()
	for _, d := range []string{"bin", "sbin", "etc/cairn", "proc", "sys", "dev", "run", "tmp", "var/lib/test"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.AddFile("bin/busybox", busybox); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"sbin/init":          generationInit(n, fail),
		"etc/cairn/persist":  "# persistent directories\n/var/lib/test\n",
		"var/lib/test/seed":  fmt.Sprintf("seeded by generation %d", n),
		"etc/system":         fmt.Sprintf("test system %d", n),
		"etc/hostname":       "cairn-test\n",
		"usr/lib/cairn/note": "generation record would be here\n",
	}
	for p, content := range files {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(dir, "sbin/init"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, app := range []string{"sh", "cat", "echo", "readlink", "grep", "cut", "tr", "touch", "wc", "sync", "tail"} {
		if err := os.Symlink("busybox", filepath.Join(dir, "bin", app)); err != nil {
			t.Fatal(err)
		}
	}
	g, err := st.Seal(store.Meta{Description: fmt.Sprintf("test generation %d", n)})
	if err != nil {
		t.Fatal(err)
	}
	if g.Number != n {
		t.Fatalf("sealed generation %d, want %d", g.Number, n)
	}
}

type bootEnv struct {
	t       *testing.T
	kernel  debtest.Kernel
	initrd  string
	disk    *disk
	busybox string
}

// boot starts the machine with extra command line parameters and returns
// it; the caller reads its console.
func (e *bootEnv) boot(extra string) *vm.VM {
	e.t.Helper()
	return vmtest.Start(e.t, vm.Config{
		Kernel:   e.kernel.Vmlinuz,
		Initrd:   e.initrd,
		Append:   strings.TrimSpace("root=LABEL=" + diskLabel + " console=ttyS0 panic=-1 printk.time=1 no_timer_check " + extra),
		Disks:    []vm.Disk{{Path: e.disk.image}},
		NoReboot: true,
	})
}

// bootExpect boots and expects generation want to come up (or fail, when
// failing), then the machine to stop. It returns the console.
func (e *bootEnv) bootExpect(extra string, want int, failing bool) []string {
	t := e.t
	t.Helper()
	v := e.boot(extra)
	marker := fmt.Sprintf("GENERATION %d UP", want)
	if failing {
		marker = fmt.Sprintf("GENERATION %d FAILING", want)
	}
	m, err := v.Expect(regexp.MustCompile(`cairn-init: switching root to generation (\d+), (\S+), ([0-9.]+) s after the kernel started`), bootTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if m[1] != strconv.Itoa(want) {
		t.Fatalf("cairn-init switched to generation %s, want %d", m[1], want)
	}
	t.Logf("switch root to generation %s (%s) %s s after the kernel started", m[1], m[2], m[3])
	if err := v.ExpectString(marker, bootTimeout); err != nil {
		t.Fatal(err)
	}
	if !failing {
		for _, line := range []string{
			"booted file: " + strconv.Itoa(want),
			"current-system: /run/cairn/store/@cairn/generations/" + strconv.Itoa(want),
			fmt.Sprintf(`meta: {"generation":%d,`, want),
			"root mount: btrfs ro",
			"root: read-only",
			"tmp and run: writable",
			"system: test system " + strconv.Itoa(want),
		} {
			if err := v.ExpectString(line, time.Minute); err != nil {
				t.Fatal(err)
			}
		}
	} else if err := v.ExpectString("Attempted to kill init", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := v.Wait(time.Minute); err != nil {
		t.Fatal(err)
	}
	return v.Lines()
}

func (e *bootEnv) state() store.State {
	e.t.Helper()
	var st store.State
	e.disk.with(func(_ string, s *store.Store) {
		var err error
		if st, err = s.State(); err != nil {
			e.t.Fatal(err)
		}
	})
	return st
}

func (e *bootEnv) update(change func(store.State) (store.State, error)) {
	e.t.Helper()
	e.disk.with(func(_ string, s *store.Store) {
		if _, err := s.UpdateState(change); err != nil {
			e.t.Fatal(err)
		}
	})
}

func wantState(t *testing.T, step string, got, want store.State) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if !bytes.Equal(g, w) {
		t.Fatalf("%s: state.json %s, want %s", step, g, w)
	}
}

func contains(lines []string, s string) bool {
	for _, l := range lines {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

// TestBoot walks a store through the boots of issue 5: the default, a
// trial that counts its try down, a corrupted state, a trial whose init
// fails and the fallback on the next boot with no command in between,
// cairn.gen=N, and the rescue shell when there is no root device.
func TestBoot(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	vmtest.QEMU(t)
	debtest.Tool(t, "mount", "mount")
	debtest.Tool(t, "losetup", "mount")
	k := debtest.CloudKernel(t)
	busybox := debtest.Busybox(t)
	e := &bootEnv{t: t, kernel: k, busybox: busybox}
	e.initrd = buildInitramfs(t, k, buildCairnInit(t), busybox)
	e.disk = newDisk(t)
	e.disk.with(func(_ string, s *store.Store) {
		seal(t, s, busybox, 1, false)
		seal(t, s, busybox, 2, false)
		if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.SwitchPermanent(1) }); err != nil {
			t.Fatal(err)
		}
	})

	// 1. The default boots; its persistent directory is seeded.
	lines := e.bootExpect("", 1, false)
	if !contains(lines, "persist: seeded by generation 1 / 1 boots") || !contains(lines, "persistent /var/lib/test created, seeded from generation 1") {
		t.Errorf("step 1: /var/lib/test not seeded from generation 1")
	}
	wantState(t, "default boot", e.state(), store.State{Default: 1, Good: []int{1}, Booted: 1, LastSealed: 2})

	// 2. Generation 2 on trial: boots once, its try counted down before
	// the switch; the persistent directory is the same one.
	e.update(func(st store.State) (store.State, error) { return st.Switch(2, 1) })
	lines = e.bootExpect("", 2, false)
	if !contains(lines, "cairn-init: choosing generation 2 on trial (0 more tries after this boot)") {
		t.Error("step 2: the trial was not announced")
	}
	if !contains(lines, "persist: seeded by generation 1 / 2 boots") {
		t.Error("step 2: /var/lib/test did not persist across generations")
	}
	wantState(t, "trial boot", e.state(), store.State{Default: 1, Trial: store.Trial{Generation: 2}, Good: []int{1}, Booted: 2, LastSealed: 2})

	// 3. No confirm: the next boot is the default again.
	lines = e.bootExpect("", 1, false)
	if !contains(lines, "trial generation 2 has no tries left") {
		t.Error("step 3: the spent trial was not mentioned")
	}
	wantState(t, "after an unconfirmed trial", e.state(), store.State{Default: 1, Trial: store.Trial{Generation: 2}, Good: []int{1}, Booted: 1, LastSealed: 2})

	// 4. A corrupted state.json: the newest generation boots, the file
	// is left for fsck.
	var saved []byte
	e.disk.with(func(top string, _ *store.Store) {
		p := filepath.Join(top, "@cairn", "state.json")
		var err error
		if saved, err = os.ReadFile(p); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(`{"default": 1, "tri`), 0o644); err != nil {
			t.Fatal(err)
		}
	})
	lines = e.bootExpect("", 2, false)
	if !contains(lines, "state.json unusable") || !contains(lines, "generation 2, the newest, since state.json names no default") {
		t.Error("step 4: the corrupted state was not reported")
	}
	// With the hint cairn's default loader entry carries, the default
	// when the entries were written boots instead.
	lines = e.bootExpect("cairn.default=1", 1, false)
	if !contains(lines, "state.json unusable") || !contains(lines, "generation 1, the default when the boot entries were written (cairn.default=1)") {
		t.Error("step 4: the default entry's generation was not booted, or not said")
	}
	e.disk.with(func(top string, _ *store.Store) {
		p := filepath.Join(top, "@cairn", "state.json")
		if data, _ := os.ReadFile(p); string(data) != `{"default": 1, "tri` {
			t.Errorf("step 4: the corrupted state.json was rewritten: %q", data)
		}
		if err := os.WriteFile(p, saved, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	// 5. Generation 2 confirmed (what `cairn confirm` does) becomes the
	// default; generation 3, whose init fails, goes on trial.
	e.disk.with(func(_ string, s *store.Store) { seal(t, s, busybox, 3, true) })
	e.update(func(st store.State) (store.State, error) {
		st, err := st.Confirm(2)
		if err != nil {
			return st, err
		}
		return st.Switch(3, 1)
	})
	e.bootExpect("", 3, true)
	wantState(t, "failing trial", e.state(), store.State{Default: 2, Trial: store.Trial{Generation: 3}, LastGood: 2, Good: []int{1, 2}, Booted: 3, LastSealed: 3, LastTrial: store.TrialOutcome{Generation: 2, Outcome: store.TrialConfirmed}})

	// 6. The next boot falls back to the default by itself.
	e.bootExpect("", 2, false)
	wantState(t, "fallback", e.state(), store.State{Default: 2, Trial: store.Trial{Generation: 3}, LastGood: 2, Good: []int{1, 2}, Booted: 2, LastSealed: 3, LastTrial: store.TrialOutcome{Generation: 2, Outcome: store.TrialConfirmed}})

	// 7. cairn.gen=1 boots 1 without touching default or trial.
	lines = e.bootExpect("cairn.gen=1", 1, false)
	if !contains(lines, "as cairn.gen=1 asks") {
		t.Error("step 7: cairn.gen=1 not announced")
	}
	wantState(t, "cairn.gen=1", e.state(), store.State{Default: 2, Trial: store.Trial{Generation: 3}, LastGood: 2, Good: []int{1, 2}, Booted: 1, LastSealed: 3, LastTrial: store.TrialOutcome{Generation: 2, Outcome: store.TrialConfirmed}})

	// 8. No root device: cairn-init says so and starts the rescue shell.
	v := e.boot("cairn.rootwait=1 root=LABEL=no-such-disk")
	if err := v.ExpectString("cairn-init: root device LABEL=no-such-disk: not found after 1s", bootTimeout); err != nil {
		t.Fatal(err)
	}
	if err := v.ExpectString("starting a rescue shell", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := v.Send("echo RESCUE-$((40+2))\n"); err != nil {
		t.Fatal(err)
	}
	if err := v.ExpectString("RESCUE-42", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := v.Send("/bin/busybox poweroff -f\n"); err != nil {
		t.Fatal(err)
	}
	if err := v.Wait(time.Minute); err != nil {
		t.Fatal(err)
	}
}
