package cli

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/store"
)

// TestFullBtrfs is issue 12's full store: a btrfs file system out of data
// space, then out of metadata space. Builds and switches fail with an
// error that says the store's file system is full and what to do; the
// store stays as it was (the same generations and state, no staging tree
// left, fsck consistent); once there is room again, a build works.
func TestFullBtrfs(t *testing.T) {
	top := btrfstest.NewFS(t, btrfstest.Options{Size: 256 << 20})
	repo := apktest.NewRepo(t, "")
	big := make([]byte, 8<<20)
	rand.Read(big)
	repo.Add(
		apktest.Pkg("base", "1.0-r0").File("etc/os-release", 0o644, "ID=test\n"),
		apktest.Pkg("big", "1.0-r0").File("usr/share/big/data", 0o644, string(big)),
	)
	repo.Write()
	dir := t.TempDir()
	manifest := func(pkgs string) string {
		p := filepath.Join(dir, pkgs+".yaml")
		writeFile(t, p, []byte(fmt.Sprintf(`apiVersion: cairn/v1
kind: System
name: box
alpine:
  arch: x86_64
  repositories: [{url: %s}]
  keys: [%s]
packages: [%s]
`, repo.URL(), repo.KeysDir, pkgs)))
		return p
	}
	cache := t.TempDir()
	build := func(pkgs string) (int, string) {
		code, _, errOut := run(t, "build", "-f", manifest(pkgs), "--store", top, "--no-lock", "--cache-dir", cache)
		return code, errOut
	}
	if code, _, errOut := run(t, "init", top); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	if code, errOut := build("base"); code != 0 {
		t.Fatalf("build: %s", errOut)
	}
	if code, _, errOut := run(t, "switch", "--store", top, "--permanent", "1"); code != 0 {
		t.Fatalf("switch: %s", errOut)
	}
	st, err := store.Open(top)
	if err != nil {
		t.Fatal(err)
	}
	intact := func(what string) {
		t.Helper()
		gens, err := st.Generations()
		if err != nil || len(gens) != 1 {
			t.Errorf("%s: %d generations (%v), want 1", what, len(gens), err)
		}
		state, err := st.State()
		if err != nil || state.Default != 1 || state.Trial.Generation != 0 {
			t.Errorf("%s: state %+v (%v)", what, state, err)
		}
		if left, _ := os.ReadDir(filepath.Join(top, "@cairn", "staging")); len(left) != 0 {
			t.Errorf("%s: staging trees left: %v", what, left)
		}
	}
	fullError := func(what string, code int, errOut string) {
		t.Helper()
		if code == 0 {
			t.Errorf("%s on a full file system succeeded", what)
			return
		}
		if !strings.Contains(errOut, "no space left on device") || !strings.Contains(errOut, "full") || !strings.Contains(errOut, "cairn gc") {
			t.Errorf("%s on a full file system: exit %d, an error that does not say the store's file system is full and what to do:\n%s", what, code, errOut)
		}
	}
	usage := func() string {
		out, _ := exec.Command("btrfs", "filesystem", "df", top).CombinedOutput()
		return strings.TrimSpace(string(out))
	}

	fill := func(name string, chunk int) {
		t.Helper()
		f, err := os.Create(filepath.Join(top, name))
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, chunk)
		rand.Read(buf)
		for {
			if _, err := f.Write(buf); err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatal(err)
				}
				break
			}
		}
		f.Close()
	}
	// Out of metadata space: small files, which btrfs keeps in its
	// metadata, until none fits.
	meta := filepath.Join(top, "meta")
	os.Mkdir(meta, 0o755)
	line := strings.Repeat("m", 1500)
	for i := 0; ; i++ {
		if err := os.WriteFile(filepath.Join(meta, fmt.Sprint(i)), []byte(line), 0o644); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			t.Logf("metadata full after %d small files:\n%s", i, usage())
			break
		}
	}
	code, errOut := build("base")
	fullError("build out of metadata space", code, errOut)
	intact("after the build out of metadata space")
	code, _, errOut = run(t, "switch", "--store", top, "1")
	if code != 0 {
		fullError("switch out of metadata space", code, errOut)
	}
	intact("after the switch out of metadata space")

	os.RemoveAll(meta)
	if out, err := exec.Command("btrfs", "filesystem", "sync", top).CombinedOutput(); err != nil {
		t.Fatalf("btrfs filesystem sync: %v %s", err, out)
	}

	// Out of data space: one file takes every free data block.
	fill("filler", 1<<20)
	fill("filler-small", 4096)
	t.Logf("out of data space:\n%s", usage())
	code, errOut = build("base, big")
	fullError("build out of data space", code, errOut)
	intact("after the build out of data space")
	if code, _, errOut := run(t, "fsck", "--store", top); code != 0 {
		t.Errorf("fsck: exit %d: %s", code, errOut)
	}
	code, _, errOut = run(t, "switch", "--store", top, "1")
	if code != 0 {
		fullError("switch out of data space", code, errOut)
	}
	intact("after the switch out of data space")

	// Room again: the next build works.
	os.Remove(filepath.Join(top, "filler"))
	os.Remove(filepath.Join(top, "filler-small"))
	if out, err := exec.Command("btrfs", "filesystem", "sync", top).CombinedOutput(); err != nil {
		t.Fatalf("btrfs filesystem sync: %v %s", err, out)
	}
	// (The metadata's chunks keep the space they took: the data left is
	// the one data chunk's, enough for a small build.)
	if code, errOut := build("base"); code != 0 {
		t.Fatalf("build with room again: %s", errOut)
	}
	if code, _, errOut := run(t, "fsck", "--store", top); code != 0 {
		t.Errorf("fsck: exit %d: %s", code, errOut)
	}
}
