package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestRealAlpineLiveSwitch is `cairn switch --now` on the real Alpine
// system, in one boot: generation 1 boots; generation 2 (another motd,
// another /etc/conf.d/chronyd) becomes the running system without a
// firmware reboot, restarts chronyd and only chronyd, and confirms
// itself; generation 3 fails a health check, and generation 2 is running
// again by itself, with the trial recorded as fallen back. Generation 4
// runs another kernel (another build of Debian's cloud kernel, as
// linux-lts): switch --now refuses it without --kexec; with it, the
// system shuts down and comes up on generation 4's kernel in the same
// qemu (started with -no-reboot: a firmware reboot would have ended it),
// as a trial that confirms itself.
func TestRealAlpineLiveSwitch(t *testing.T) {
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
	top, undo := e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	e2etest.Run(t, cairn, "build", "-f", manifest("g2", e2etest.AlpineSystem{Description: "generation two", Motd: "generation two",
		Files: []e2etest.File{{Path: "/etc/conf.d/chronyd", Content: "CFGFILE=\"/etc/chrony/chrony.conf\"\nFAST_STARTUP=yes\nARGS=\"\"\n"}}}), "--store", top)
	e2etest.Run(t, cairn, "build", "-f", manifest("g3", e2etest.AlpineSystem{Description: "generation three", Motd: "generation three",
		Files:  []e2etest.File{{Path: "/etc/conf.d/chronyd", Content: "CFGFILE=\"/etc/chrony/chrony.conf\"\nFAST_STARTUP=yes\nARGS=\"\"\n"}},
		Health: map[string]string{"api": "test -e /run/no-such-api"}}), "--store", top)
	lts := e2etest.MakeOtherKernelRepo(t, cairn)
	rl := r.WithRepo(lts.Repo)
	dir4 := filepath.Join(work, "g4")
	os.MkdirAll(dir4, 0o755)
	e2etest.Run(t, cairn, "build", "-f", rl.Manifest(t, dir4, e2etest.AlpineSystem{Description: "generation four", Motd: "generation four", Key: pub, Kernel: "linux-lts"}), "--store", top)
	undo()

	n := bootAlpine(t, img, key)
	n.checkConsole("generation 1")
	// The oldest sshd is the daemon; the others are sessions.
	pids := func() string { return n.ssh("pgrep -o sshd; pgrep -o chronyd") }
	before := strings.Fields(pids())

	// Generation 2, live.
	start := time.Now()
	out, err := e2etest.SSH(n.addr, "alice", n.key, "doas cairn switch --now 2 2>&1")
	t.Logf("cairn switch --now 2 (%.1f s):\n%s", time.Since(start).Seconds(), out)
	if err != nil {
		t.Fatalf("cairn switch --now 2: %v", err)
	}
	for _, want := range []string{"restarted: chronyd\n", "ok    sshd", "generation 2 is running and confirmed"} {
		if !strings.Contains(out, want) {
			t.Errorf("cairn switch --now 2 does not say %q", want)
		}
	}
	if got := n.ssh("cat /etc/motd; cat /run/cairn/booted; readlink /run/current-system"); got != "generation two\n2\n/run/cairn/store/@cairn/generations/2\n" {
		t.Errorf("after the live switch: motd, booted, current-system %q", got)
	}
	after := strings.Fields(pids())
	if len(before) != 2 || len(after) != 2 || before[0] != after[0] || before[1] == after[1] {
		t.Errorf("pids of sshd and chronyd before %q and after %q: sshd must keep its pid, chronyd must have restarted", before, after)
	}
	if st := n.status(); st["booted"] != 2.0 || st["default"] != 2.0 {
		t.Errorf("cairn status after the live switch: %v", st)
	}

	// Generation 3 fails its health check: generation 2 is back, live.
	out, err = e2etest.SSH(n.addr, "alice", n.key, "doas cairn switch --now 3 2>&1")
	t.Logf("cairn switch --now 3:\n%s", out)
	if err == nil {
		t.Errorf("cairn switch --now 3 succeeded with a failing health check")
	}
	for _, want := range []string{"FAIL  api", "generation 3 failed its health checks: generation 2 is running again"} {
		if !strings.Contains(out, want) {
			t.Errorf("cairn switch --now 3 does not say %q", want)
		}
	}
	if got := n.ssh("cat /etc/motd; cat /run/cairn/booted"); got != "generation two\n2\n" {
		t.Errorf("after the failed live switch: motd and booted %q", got)
	}
	st := n.status()
	if st["booted"] != 2.0 || st["default"] != 2.0 || !strings.Contains(st["lastTrial"].(string), "generation 3 failed") {
		t.Errorf("cairn status after the failed live switch: %v", st)
	}
	// No firmware reboot: one kernel start, one cairn-init on the console.
	if c := strings.Count(strings.Join(n.v.Lines(), "\n"), "cairn-init: started"); c != 1 {
		t.Errorf("cairn-init started %d times on the console, want 1 (no reboot)", c)
	}

	// Generation 4 runs another kernel: not without --kexec.
	if out, err := e2etest.SSH(n.addr, "alice", n.key, "doas cairn switch --now 4 2>&1"); err == nil || !strings.Contains(out, "--kexec") {
		t.Errorf("cairn switch --now 4 (another kernel) without --kexec: %v\n%s", err, out)
	}
	running := n.ssh("uname -r")
	start = time.Now()
	out, err = e2etest.SSH(n.addr, "alice", n.key, "doas cairn switch --now --kexec 4 2>&1")
	t.Logf("cairn switch --now --kexec 4:\n%s", out)
	if err != nil {
		t.Fatalf("cairn switch --now --kexec 4: %v", err)
	}
	if !strings.Contains(out, "kexec: kernel linux-lts 6.1.0-r0 loaded") || !strings.Contains(out, "generation 4 boots now with its kernel through kexec") {
		t.Errorf("cairn switch --now --kexec 4 does not say which kernel it loaded and what happens")
	}
	for _, want := range []string{"cairn-init: choosing generation 4 on trial", "generation 4 is confirmed"} {
		if err := n.v.ExpectString(want, alpineBootTimeout); err != nil {
			t.Fatalf("after cairn switch --now --kexec 4, no %q on the console: %v", want, err)
		}
	}
	if _, err := n.v.Expect(regexp.MustCompile(`alpine login: $`), alpineBootTimeout); err != nil {
		t.Fatalf("after the kexec, no login prompt: %v", err)
	}
	t.Logf("cairn switch --now --kexec 4 to the login prompt: %.1f s", time.Since(start).Seconds())
	if got := n.ssh("uname -r; cat /run/cairn/booted /etc/motd"); got != lts.Release+"\n4\ngeneration four\n" || running == lts.Release+"\n" {
		t.Errorf("after the kexec: uname -r, booted, motd %q (generation 4's kernel is %s, the one before ran %q)", got, lts.Release, running)
	}
	if st := n.status(); st["booted"] != 4.0 || st["default"] != 4.0 {
		t.Errorf("cairn status after the kexec: %v", st)
	}
	if c := strings.Count(strings.Join(n.v.Lines(), "\n"), "cairn-init: started"); c != 2 {
		t.Errorf("cairn-init started %d times on the console, want 2 (one kexec)", c)
	}
	n.poweroff()
	top, undo = e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	s := e2etest.ReadState(t, top)
	undo()
	if s.Default != 4 || s.Trial.Generation != 0 || s.LastTrial != (store.TrialOutcome{Generation: 4, Outcome: store.TrialConfirmed}) {
		t.Errorf("state.json after the live switches and the kexec: %+v", s)
	}
}
