package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"golang.org/x/sys/unix"
)

// healthRoot makes a system root whose health checks are the given JSON.
func healthRoot(t *testing.T, checks string) string {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "etc/cairn"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "etc/cairn/health.json"), []byte(`{"checks": [`+checks+`]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return root
}

// onTrial makes generation 3 the trial, booted once (its tries used up,
// as cairn-init leaves it), with 2 the default.
func onTrial(t *testing.T, s *store.Store) {
	setState(t, s, func(st store.State) (store.State, error) {
		st, err := st.SwitchPermanent(2)
		if err != nil {
			return st, err
		}
		if st, err = st.Switch(3, 1); err != nil {
			return st, err
		}
		st, _ = st.Boot()
		return st, nil
	})
}

func TestConfirm(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(dir) })
	s, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, 3)
	if err != nil {
		t.Fatal(err)
	}
	openrc := t.TempDir()

	// A failing check: nothing is confirmed, and the state stays.
	onTrial(t, s)
	before := stateBytes(t, s)
	bad := healthRoot(t, `{"name": "api", "command": "echo refused >&2; exit 7", "timeoutSeconds": 1}`)
	code, out, errOut := runStore(t, s, "confirm", "--boot", "--root", bad, "--openrc-dir", openrc)
	if code != ExitFailure || !strings.Contains(out, "FAIL  api: ") || !strings.Contains(out, "refused") ||
		!strings.Contains(errOut, "generation 3 failed its health checks and is not confirmed: the next boot falls back to generation 2") {
		t.Errorf("failing check: exit %d\n%s%s", code, out, errOut)
	}
	if string(stateBytes(t, s)) != string(before) {
		t.Error("a failed confirmation changed the state")
	}
	code, out, _ = runStore(t, s, "status")
	if code != 0 || !strings.Contains(out, "generation 3 is booted on trial, not confirmed yet") {
		t.Errorf("status on trial: %s", out)
	}

	// A failed OpenRC service fails the boot too.
	os.MkdirAll(filepath.Join(openrc, "failed"), 0o755)
	os.Symlink("/etc/init.d/sshd", filepath.Join(openrc, "failed", "sshd"))
	good := healthRoot(t, `{"name": "fs", "command": "test -d /", "timeoutSeconds": 5}`)
	if code, out, _ := runStore(t, s, "confirm", "--boot", "--root", good, "--openrc-dir", openrc); code == 0 || !strings.Contains(out, "failed services: sshd") {
		t.Errorf("failed service: exit %d\n%s", code, out)
	}
	os.Remove(filepath.Join(openrc, "failed", "sshd"))

	// Healthy: generation 3 becomes the default and the last good one.
	code, out, errOut = runStore(t, s, "confirm", "--boot", "--root", good, "--openrc-dir", openrc)
	if code != 0 || !strings.Contains(out, "  ok    fs") || !strings.Contains(out, "generation 3 is confirmed") {
		t.Fatalf("confirm: exit %d\n%s%s", code, out, errOut)
	}
	st, _ := s.State()
	if st.Default != 3 || st.LastGood != 3 || st.Trial.Generation != 0 {
		t.Errorf("state after confirm: %+v", st)
	}
	if code, out, _ := runStore(t, s, "status"); code != 0 || !strings.Contains(out, "last trial: generation 3 was confirmed") {
		t.Errorf("status: %s", out)
	}

	// A generation booted by hand is not confirmed.
	setState(t, s, func(st store.State) (store.State, error) { st.Booted = 1; return st, nil })
	before = stateBytes(t, s)
	if code, out, _ := runStore(t, s, "confirm"); code != 0 || !strings.Contains(out, "booted by hand") {
		t.Errorf("booted by hand: exit %d: %s", code, out)
	}
	if string(stateBytes(t, s)) != string(before) {
		t.Error("confirming a generation booted by hand changed the state")
	}
}

// TestStatusFellBack: a trial whose try was used without a confirmation,
// after which the default booted.
func TestStatusFellBack(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(dir) })
	s, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, 3)
	if err != nil {
		t.Fatal(err)
	}
	onTrial(t, s)
	setState(t, s, func(st store.State) (store.State, error) { st, _ = st.Boot(); return st, nil })
	code, out, _ := runStore(t, s, "status", "--json")
	if code != 0 || !strings.Contains(out, `"lastTrial": "generation 3 failed: it was tried and not confirmed, so generation 2 booted instead"`) || !strings.Contains(out, `"booted": 2`) {
		t.Errorf("status: %s", out)
	}
	// The default that booted instead is confirmed: the trial is over, and
	// status still says how it ended.
	if code, out, _ := runStore(t, s, "confirm"); code != 0 {
		t.Fatalf("confirm: %s", out)
	}
	if code, out, _ := runStore(t, s, "status"); code != 0 || !strings.Contains(out, "last trial: generation 3 failed: it was tried and not confirmed; generation 2 booted instead and is confirmed") {
		t.Errorf("status after confirming the default: %s", out)
	}
}

// TestConfirmRAMSystem: on a system running from RAM there is no store;
// the checks report, and a failure is the exit status.
func TestConfirmRAMSystem(t *testing.T) {
	openrc := t.TempDir()
	for _, tc := range []struct {
		name, checks string
		code         int
		out          string
	}{
		{"healthy", `{"name": "fs", "command": "test -d /", "timeoutSeconds": 5}`, 0, "its health checks passed"},
		{"failing", `{"name": "api", "command": "exit 3", "timeoutSeconds": 1}`, ExitFailure, "FAIL  api"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := healthRoot(t, tc.checks)
			os.MkdirAll(filepath.Join(root, "run/cairn"), 0o755)
			os.WriteFile(filepath.Join(root, "run/cairn/ram"), nil, 0o644)
			// No store anywhere: the store path does not exist.
			code, out, errOut := run(t, "confirm", "--boot", "--root", root, "--openrc-dir", openrc,
				"--store", filepath.Join(t.TempDir(), "none"))
			if code != tc.code || !strings.Contains(out+errOut, tc.out) {
				t.Errorf("exit %d, want %d\n%s%s", code, tc.code, out, errOut)
			}
			if tc.code != 0 && !strings.Contains(errOut, "runs from RAM and failed its health checks") {
				t.Errorf("the failure does not say what: %s", errOut)
			}
		})
	}
}

// TestBootSetupMkinitfs: a store booting with the generations' own
// mkinitfs images gets entries that name their subvolumes, and refuses a
// trial (nothing would count its tries down) but not a permanent switch.
func TestBootSetupMkinitfs(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(dir) })
	s, err := store.Init(dir, store.InitOptions{Backend: store.BackendPlain})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		tree := fixtureTree(i)
		tree["boot/initramfs-virt"] = fmt.Sprintf("mkinitfs image %d\n", i)
		storetest.Build(t, s, tree, fixtureMeta(i))
	}
	unlock()
	bootDir := filepath.Join(dir, "boot")
	os.Mkdir(bootDir, 0o755)
	if code, out, errOut := run(t, "boot", "setup", "--store", dir, "--boot-dir", bootDir, "--loader", "extlinux",
		"--root", "LABEL=cairn", "--initramfs", "mkinitfs"); code != 0 {
		t.Fatalf("boot setup: exit %d\n%s%s", code, out, errOut)
	}
	conf, err := os.ReadFile(filepath.Join(bootDir, "extlinux", "extlinux.conf"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(conf), "rootflags=subvol=@cairn/generations/2,ro") || strings.Contains(string(conf), "cairn.gen=") {
		t.Errorf("extlinux.conf:\n%s", conf)
	}
	code, _, errOut := run(t, "switch", "--store", dir, "1")
	if code != ExitUsage || !strings.Contains(errOut, "a trial boot needs cairn-init") || !strings.Contains(errOut, "cairn switch --permanent 1") {
		t.Errorf("trial switch: exit %d: %s", code, errOut)
	}
	if code, out, errOut := run(t, "switch", "--store", dir, "--permanent", "1"); code != 0 {
		t.Fatalf("permanent switch: exit %d\n%s%s", code, out, errOut)
	}
	conf, _ = os.ReadFile(filepath.Join(bootDir, "extlinux", "extlinux.conf"))
	if !strings.Contains(string(conf), "MENU LABEL Alpine (cairn default, generation 1)") {
		t.Errorf("after switch --permanent 1:\n%s", conf)
	}
}

// TestConfirmFullBootDir: a boot partition too full to rewrite the
// entries does not cost a good generation its confirmation; cairn says
// what it could not do and what to do.
func TestConfirmFullBootDir(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (a small tmpfs as the boot partition)")
	dir := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(dir) })
	s, err := store.Init(dir, store.InitOptions{Backend: store.BackendPlain})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		tree := fixtureTree(i)
		tree["boot/initramfs-virt"] = fmt.Sprintf("mkinitfs image %d\n", i)
		storetest.Build(t, s, tree, fixtureMeta(i))
	}
	unlock()
	bootDir := t.TempDir()
	if err := unix.Mount("tmpfs", bootDir, "tmpfs", 0, "size=2m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(bootDir, unix.MNT_DETACH) })
	if code, out, errOut := run(t, "boot", "setup", "--store", dir, "--boot-dir", bootDir, "--loader", "extlinux",
		"--root", "LABEL=cairn", "--initramfs", "mkinitfs"); code != 0 {
		t.Fatalf("boot setup: exit %d\n%s%s", code, out, errOut)
	}
	setState(t, s, func(st store.State) (store.State, error) {
		st, err := st.SwitchPermanent(2)
		st.Booted = 2
		return st, err
	})
	// Fill the boot partition to the last byte.
	f, _ := os.Create(filepath.Join(bootDir, "filler"))
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	f.Close()
	code, out, errOut := runStore(t, s, "confirm")
	if code != 0 || !strings.Contains(out, "generation 2 is confirmed") || !strings.Contains(errOut, "no space left on device") || !strings.Contains(errOut, "cairn boot sync") {
		t.Fatalf("confirm with a full boot partition: exit %d\n%s%s", code, out, errOut)
	}
	if st, _ := s.State(); st.LastGood != 2 {
		t.Errorf("state after confirm: %+v", st)
	}
}
