//go:build linux

package compose

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// outsideDir makes a directory beside the root, with a file in it that a
// compose step would like to overwrite, and registers a check that it is
// untouched at the end of the test.
func outsideDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"passwd", "hostname", "authorized_keys"} {
		mustWrite(t, filepath.Join(dir, name), "outside\n", 0o644)
	}
	stampAll(t, dir, seedTime)
	before := listing(scan(t, dir))
	t.Cleanup(func() {
		if after := listing(scan(t, dir)); string(after) != string(before) {
			t.Errorf("the directory outside the root changed:\n%s", after)
		}
	})
	return dir
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// everything runs every compose step on root, returning their errors.
func everything(root string) []error {
	users := []manifest.User{{Name: "alice", Groups: []string{"media"}, SSHAuthorizedKeys: []string{"ssh-ed25519 AAAA"}}}
	groups := []manifest.Group{{Name: "media"}}
	sys := exampleSystem()
	sys.Timezone = ""
	return []error{
		Accounts(root, users, groups, buildTime),
		System(root, sys, buildTime),
		Files(root, os.TempDir(), manifest.Files{Inline: exampleInline()[:1]}, buildTime),
		WriteGeneration(root, layout.Generation{ManifestDigest: "sha256:m"}, buildTime),
	}
}

func TestEscapeThroughAbsoluteSymlink(t *testing.T) {
	needRoot(t)
	outside := outsideDir(t)
	root := t.TempDir()
	// etc and usr lead out of the root when followed on the host.
	symlink(t, outside, filepath.Join(root, "etc"))
	symlink(t, outside, filepath.Join(root, "usr"))
	for _, err := range everything(root) {
		if err == nil {
			t.Error("a step succeeded through a symlink whose target is missing in the root")
		}
	}
}

func TestEscapeSymlinkResolvesInsideRoot(t *testing.T) {
	needRoot(t)
	outside := outsideDir(t)
	root := seedRoot(t)
	// /etc -> OUTSIDE, and ROOT/OUTSIDE exists: chroot semantics put
	// every write there.
	if err := os.Rename(filepath.Join(root, "etc"), filepath.Join(root, "moved")); err != nil {
		t.Fatal(err)
	}
	mustMkdir(t, filepath.Join(root, filepath.Dir(outside)), 0o755)
	if err := os.Rename(filepath.Join(root, "moved"), filepath.Join(root, outside)); err != nil {
		t.Fatal(err)
	}
	symlink(t, outside, filepath.Join(root, "etc"))
	for _, err := range everything(root) {
		if err != nil {
			t.Error(err)
		}
	}
	for _, name := range []string{"passwd", "hostname", "motd", "network/interfaces"} {
		if _, err := os.Stat(filepath.Join(root, outside, name)); err != nil {
			t.Errorf("%s not written inside the root: %v", name, err)
		}
	}
}

func TestEscapeRelativeSymlink(t *testing.T) {
	needRoot(t)
	outside := outsideDir(t)
	root := t.TempDir()
	rel, err := filepath.Rel(root, outside)
	if err != nil {
		t.Fatal(err)
	}
	// ../../OUTSIDE from the root: ".." stops at the root.
	symlink(t, filepath.Join("..", "..", "..", "..", rel), filepath.Join(root, "etc"))
	everything(root)
}

func TestEscapeThroughHome(t *testing.T) {
	outside := outsideDir(t)
	root := seedRoot(t)
	symlink(t, outside, filepath.Join(root, "home/alice"))
	users := []manifest.User{{Name: "alice", SSHAuthorizedKeys: []string{"ssh-ed25519 AAAA"}}}
	err := Accounts(root, users, nil, buildTime)
	wantErr(t, err, "users[0] (alice): home:")
}

func TestEscapeThroughSSHDir(t *testing.T) {
	outside := outsideDir(t)
	root := seedRoot(t)
	mustMkdir(t, filepath.Join(root, "home/alice"), 0o755)
	symlink(t, outside, filepath.Join(root, "home/alice/.ssh"))
	users := []manifest.User{{Name: "alice", SSHAuthorizedKeys: []string{"ssh-ed25519 AAAA"}}}
	wantErr(t, Accounts(root, users, nil, buildTime), "users[0] (alice): sshAuthorizedKeys:", "not a directory")
}

func TestReplacesFinalSymlinks(t *testing.T) {
	outside := outsideDir(t)
	root := seedRoot(t)
	os.Remove(filepath.Join(root, "etc/hostname"))
	symlink(t, filepath.Join(outside, "hostname"), filepath.Join(root, "etc/hostname"))
	mustMkdir(t, filepath.Join(root, "home/alice/.ssh"), 0o700)
	symlink(t, filepath.Join(outside, "authorized_keys"), filepath.Join(root, "home/alice/.ssh/authorized_keys"))
	os.Remove(filepath.Join(root, "etc/passwd"))
	symlink(t, "../../../../../../../../"+filepath.Join(outside, "passwd"), filepath.Join(root, "etc/passwd"))

	users := []manifest.User{{Name: "alice", SSHAuthorizedKeys: []string{"ssh-ed25519 AAAA"}}}
	if err := Accounts(root, users, nil, buildTime); err != nil {
		t.Fatal(err)
	}
	if err := System(root, &manifest.System{Hostname: "node1"}, buildTime); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"etc/hostname", "etc/passwd", "home/alice/.ssh/authorized_keys"} {
		info, err := os.Lstat(filepath.Join(root, p))
		if err != nil || !info.Mode().IsRegular() {
			t.Errorf("%s: %v %v, want a regular file in place of the symlink", p, info.Mode(), err)
		}
	}
}

func TestEscapeZoneFile(t *testing.T) {
	host := t.TempDir()
	mustWrite(t, filepath.Join(host, "Berlin"), fakeZone, 0o644)
	root := seedRoot(t)
	mustMkdir(t, filepath.Join(root, "usr/share/zoneinfo/Europe"), 0o755)
	symlink(t, filepath.Join(host, "Berlin"), filepath.Join(root, "usr/share/zoneinfo/Europe/Berlin"))
	// The host's file is never read: inside the root the link leads nowhere.
	wantErr(t, System(root, &manifest.System{Timezone: "Europe/Berlin"}, buildTime), `timezone: "Europe/Berlin" is not a zone`)
}

func TestEscapeSkeleton(t *testing.T) {
	outside := outsideDir(t)
	root := seedRoot(t)
	symlink(t, outside, filepath.Join(root, "srv"))
	dir := makeSkeleton(t)
	err := Files(root, dir, manifest.Files{Skeleton: "root"}, buildTime)
	wantErr(t, err, "files.skeleton: srv")
}
