//go:build linux

package compose

import (
	"os"
	"path/filepath"
	"testing"
)

// TestConfirm installs cairn and its confirm service into a root: the
// binary is executable, the script is in the default runlevel, and a
// symlinked /usr/sbin that leads out of the root is not followed out.
func TestConfirm(t *testing.T) {
	root := seedRoot(t)
	bin := filepath.Join(t.TempDir(), "cairn")
	if err := os.WriteFile(bin, []byte("\x7fELF cairn"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Confirm(root, bin, bin, buildTime); err != nil {
		t.Fatal(err)
	}
	if b := readRootFile(t, root, "usr/sbin/cairn"); string(b) != "\x7fELF cairn" {
		t.Errorf("usr/sbin/cairn: %q", b)
	}
	wantOwnerMode(t, root, "usr/sbin/cairn", 0o755, 0, 0)
	wantOwnerMode(t, root, "usr/lib/cairn/cairn-init", 0o755, 0, 0)
	golden(t, "confirm/cairn-confirm", readRootFile(t, root, "etc/init.d/cairn-confirm"))
	if target, err := os.Readlink(filepath.Join(root, "etc/runlevels/default/cairn-confirm")); err != nil || target != "/etc/init.d/cairn-confirm" {
		t.Errorf("runlevel link: %q %v", target, err)
	}

	// A package made /usr/sbin a symlink to a directory outside the root.
	outside := t.TempDir()
	root2 := seedRoot(t)
	os.MkdirAll(filepath.Join(root2, "usr"), 0o755)
	if err := os.Symlink(outside, filepath.Join(root2, "usr/sbin")); err != nil {
		t.Fatal(err)
	}
	Confirm(root2, bin, "", buildTime)
	if _, err := os.Stat(filepath.Join(outside, "cairn")); err == nil {
		t.Fatal("cairn was written outside the root through a symlink")
	}
}
