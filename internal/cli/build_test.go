package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
)

// TestBuildCommand drives cairn build and cairn lock on a small local
// repository: the first build writes cairn.lock, --frozen builds only from
// a lock that matches, and a failed build leaves the target as it was.
func TestBuildCommand(t *testing.T) {
	repo := apktest.NewRepo(t, "")
	repo.Add(
		apktest.Pkg("base", "1.0-r0").File("etc/os-release", 0o644, "ID=test\n").Dir("etc/init.d", 0o755),
		apktest.Pkg("tool", "2.0-r0").Depends("base").File("usr/bin/tool", 0o755, "#!/bin/sh\n"),
	)
	repo.Write()
	dir := t.TempDir()
	mf := filepath.Join(dir, "system.yaml")
	manifest := `apiVersion: cairn/v1
kind: System
alpine:
  arch: x86_64
  repositories: [{url: ` + repo.URL() + `}]
  keys: [` + repo.KeysDir + `]
packages: [tool]
hostname: box
`
	writeFile(t, mf, []byte(manifest))
	root := filepath.Join(dir, "root")
	cache := filepath.Join(dir, "cache")

	code, out, errOut := run(t, "build", "-f", mf, "--root", root, "--cache-dir", cache)
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "built "+root+": 2 packages") {
		t.Errorf("output: %s", out)
	}
	lock, err := os.ReadFile(filepath.Join(dir, "cairn.lock"))
	if err != nil || !strings.Contains(string(lock), "name: tool") {
		t.Fatalf("cairn.lock: %v\n%s", err, lock)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/hostname")); string(b) != "box\n" {
		t.Errorf("hostname %q", b)
	}

	// cairn lock keeps a matching lock.
	if code, out, _ := run(t, "lock", "-f", mf, "--cache-dir", cache); code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("lock: exit %d: %s", code, out)
	}

	// The manifest changes: --frozen refuses, and nothing is touched.
	writeFile(t, mf, []byte(strings.Replace(manifest, "hostname: box", "hostname: other", 1)))
	before := snapshot(t, root)
	code, _, errOut = run(t, "build", "--frozen", "-f", mf, "--root", root, "--cache-dir", cache)
	if code == 0 || !strings.Contains(errOut, "--frozen") || !strings.Contains(errOut, "cairn lock") {
		t.Errorf("--frozen with a changed manifest: exit %d: %s", code, errOut)
	}
	if after := snapshot(t, root); after != before {
		t.Error("a refused build changed the root")
	}

	// A bad manifest names the place.
	writeFile(t, mf, []byte(manifest+"colour: blue\n"))
	code, _, errOut = run(t, "build", "-f", mf, "--root", root)
	if code != ExitUsage || !strings.Contains(errOut, "system.yaml:9:1: colour: unknown key") {
		t.Errorf("unknown key: exit %d: %s", code, errOut)
	}
}
