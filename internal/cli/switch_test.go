package cli

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// Bad input to switch: one clear message, exit 1 or 2, state.json the
// same bytes as before.
func TestSwitchBadInput(t *testing.T) {
	s := testStore(t, 3)
	permanent(t, s, 1)
	before := stateBytes(t, s)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"switch", "99"}, ExitFailure, "cairn: switch: generation 99 does not exist in " + s.Dir() + " (it has 1-3)\n"},
		{[]string{"switch", "--permanent", "99"}, ExitFailure, "cairn: switch: generation 99 does not exist in " + s.Dir() + " (it has 1-3)\n"},
		{[]string{"switch", "-1"}, ExitUsage, "cairn: unknown shorthand flag: '1' in -1\n"},
		{[]string{"switch", "two"}, ExitUsage, "cairn: \"two\" is not a generation number (cairn generations lists them)\n"},
		{[]string{"switch", "1", "2"}, ExitUsage, "cairn: switch [N]: too many arguments, got [\"1\" \"2\"]\n"},
		{[]string{"pin", "99"}, ExitFailure, "cairn: pin: generation 99 does not exist in " + s.Dir() + " (it has 1-3)\n"},
		{[]string{"unpin", "0"}, ExitUsage, "cairn: \"0\" is not a generation number (cairn generations lists them)\n"},
	} {
		code, out, errOut := runStore(t, s, tc.args...)
		if code != tc.code || out != "" || errOut != tc.msg {
			t.Errorf("cairn %v: exit %d, stdout %q, stderr %q; want %d, none, %q", tc.args, code, out, errOut, tc.code, tc.msg)
		}
		if got := stateBytes(t, s); !bytes.Equal(got, before) {
			t.Fatalf("cairn %v changed the state:\n%s\nwas\n%s", tc.args, got, before)
		}
	}
}

// tmpfs mounts a tmpfs of the given size on a test directory, unmounted
// when the test ends, whatever its outcome.
func tmpfs(t *testing.T, size string) string {
	t.Helper()
	requireRoot(t)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount tmpfs: %v", err)
		}
	})
	return dir
}

// fill writes into dir/filler until the file system is full, to the
// last byte.
func fill(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "filler")
	for _, size := range []int{64 << 10, 4096, 512, 1} {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		block := make([]byte, size)
		for {
			if _, err = f.Write(block); err != nil {
				break
			}
		}
		f.Close()
		if !errors.Is(err, unix.ENOSPC) {
			t.Fatalf("filling %s: %v", dir, err)
		}
	}
}

// A store on a full file system: switch says so, in one message, and
// changes nothing.
func TestSwitchOnFullFileSystem(t *testing.T) {
	dir := tmpfs(t, "2m")
	s, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storetest.Thaw(dir) })
	permanent(t, s, 1)
	before := stateBytes(t, s)
	fill(t, dir)

	for _, args := range [][]string{{"switch", "2"}, {"switch", "--permanent", "2"}, {"pin", "1"}} {
		code, out, errOut := runStore(t, s, args...)
		if code != ExitFailure || out != "" || strings.Count(errOut, "\n") != 1 ||
			!strings.Contains(errOut, "no space left on device") || !strings.Contains(errOut, "the file system holding the store is full; nothing was changed") {
			t.Errorf("cairn %v on a full file system: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		} else {
			t.Logf("cairn %v: %s", args, errOut)
		}
		if got := stateBytes(t, s); !bytes.Equal(got, before) {
			t.Fatalf("the state changed:\n%s\nwas\n%s", got, before)
		}
	}
	if code, out, errOut := runStore(t, s, "fsck"); code != 0 || !strings.Contains(out, "nothing to repair") {
		t.Errorf("fsck after: exit %d\n%s%s", code, out, errOut)
	}
	// With room again, it works.
	if err := os.Remove(filepath.Join(dir, "filler")); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runStore(t, s, "switch", "2"); code != 0 {
		t.Errorf("switch with room: exit %d: %s", code, errOut)
	}
}

// TestSwitchNowFlags: --now is a trial confirmed by health checks, so it
// refuses --permanent; --kexec only means something with --now; off a
// node booted by cairn-init, --now says what to do instead. Each fails
// with a clear message and changes nothing.
func TestSwitchNowFlags(t *testing.T) {
	s := testStore(t, 2)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--now", "--permanent", "2"}, 2, "does not go with --permanent"},
		{[]string{"--kexec", "2"}, 2, "--kexec goes with --now"},
		{[]string{"--now", "2"}, 1, "was not booted by cairn-init from this store"},
	} {
		code, _, errOut := run(t, append([]string{"switch", "--store", s.Dir()}, tc.args...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("cairn switch %q: exit %d, want %d, stderr %q, want %q", tc.args, code, tc.code, errOut, tc.want)
		}
	}
}
