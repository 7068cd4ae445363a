//go:build linux

package compose

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// makeSkeleton builds a manifest directory with a skeleton "root/" the
// way a git checkout leaves one, plus a file owned by someone else.
func makeSkeleton(t *testing.T) string {
	t.Helper()
	needRoot(t)
	dir := t.TempDir()
	skel := filepath.Join(dir, "root")
	mustWrite(t, filepath.Join(skel, "etc/motd"), "Welcome to node1.\n", 0o644)
	mustWrite(t, filepath.Join(skel, "etc/ssh/sshd_config.d/10-cairn.conf"), "PasswordAuthentication no\n", 0o600)
	mustWrite(t, filepath.Join(skel, "usr/local/bin/hello"), "#!/bin/sh\necho hello\n", 0o755)
	mustWrite(t, filepath.Join(skel, "usr/local/bin/setid"), "#!/bin/sh\n", 0o755)
	if err := os.Chmod(filepath.Join(skel, "usr/local/bin/setid"), 0o755|os.ModeSetgid); err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(skel, "srv/app/data.txt"), "data\n", 0o640)
	if err := os.Chown(filepath.Join(skel, "srv/app/data.txt"), 1234, 5678); err != nil {
		t.Fatal(err)
	}
	mustMkdir(t, filepath.Join(skel, "srv/app/private"), 0o750)
	mustMkdir(t, filepath.Join(skel, "etc"), 0o700) // an existing /etc keeps its mode
	for link, target := range map[string]string{
		"usr/local/bin/hi":  "hello",
		"etc/app.conf":      "/srv/app/data.txt",
		"srv/app/dangling":  "../nowhere",
		"usr/local/bin/out": "/../../../tmp/outside",
	} {
		if err := os.Symlink(target, filepath.Join(skel, link)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func exampleInline() []manifest.InlineFile {
	return []manifest.InlineFile{
		{Path: "/etc/motd", Content: "Inline wins over the skeleton.\n"},
		{Path: "/etc/nomad.d/nomad.hcl", Content: "data_dir = \"/var/lib/nomad\"\n", Mode: "0640", Owner: "root:wheel"},
		{Path: "/var/lib/app/token", Content: "secret", Mode: "600", Owner: "nobody"},
		{Path: "/usr/local/bin/run", Content: "#!/bin/sh\n", Mode: "0755", Owner: "ntp:ntp"},
		{Path: "/opt/numeric", Content: "x", Owner: "1234:5678"},
	}
}

func TestFiles(t *testing.T) {
	root := seedRoot(t)
	dir := makeSkeleton(t)
	before := scan(t, root)
	f := manifest.Files{Skeleton: "root", Inline: exampleInline()}
	if err := Files(root, dir, f, buildTime); err != nil {
		t.Fatal(err)
	}
	after := scan(t, root)
	golden(t, "files/tree", listing(after))
	checkStamps(t, before, after)

	wantOwnerMode(t, root, "etc", os.ModeDir|0o755, 0, 0)
	wantOwnerMode(t, root, "etc/ssh/sshd_config.d/10-cairn.conf", 0o600, 0, 0)
	wantOwnerMode(t, root, "usr/local/bin/hello", 0o755, 0, 0)
	wantOwnerMode(t, root, "usr/local/bin/setid", 0o755|os.ModeSetgid, 0, 0)
	wantOwnerMode(t, root, "srv/app/data.txt", 0o640, 0, 0)
	wantOwnerMode(t, root, "srv/app/private", os.ModeDir|0o750, 0, 0)
	wantOwnerMode(t, root, "etc/nomad.d", os.ModeDir|0o755, 0, 0)
	wantOwnerMode(t, root, "etc/nomad.d/nomad.hcl", 0o640, 0, 10)
	wantOwnerMode(t, root, "var/lib/app/token", 0o600, 65534, 65534)
	wantOwnerMode(t, root, "usr/local/bin/run", 0o755, 123, 123)
	wantOwnerMode(t, root, "opt/numeric", 0o644, 1234, 5678)
	if got := string(readRootFile(t, root, "etc/motd")); got != "Inline wins over the skeleton.\n" {
		t.Errorf("motd %q", got)
	}
	for link, target := range map[string]string{"usr/local/bin/hi": "hello", "etc/app.conf": "/srv/app/data.txt"} {
		if got, err := os.Readlink(filepath.Join(root, link)); err != nil || got != target {
			t.Errorf("%s -> %q (%v), want %q", link, got, err, target)
		}
	}

	first := listing(after)
	if err := Files(root, dir, f, buildTime); err != nil {
		t.Fatal(err)
	}
	if second := listing(scan(t, root)); string(second) != string(first) {
		t.Errorf("a second run changed the root:\n%s", second)
	}
}

func TestFilesErrors(t *testing.T) {
	t.Run("fifo in the skeleton", func(t *testing.T) {
		root := seedRoot(t)
		dir := t.TempDir()
		mustMkdir(t, filepath.Join(dir, "root/run"), 0o755)
		if err := unix.Mkfifo(filepath.Join(dir, "root/run/pipe"), 0o644); err != nil {
			t.Fatal(err)
		}
		err := Files(root, dir, manifest.Files{Skeleton: "root"}, buildTime)
		wantErr(t, err, "files.skeleton: run/pipe: is a FIFO; a skeleton holds only directories, files and symlinks")
	})
	t.Run("device in the skeleton", func(t *testing.T) {
		root := seedRoot(t)
		dir := t.TempDir()
		mustMkdir(t, filepath.Join(dir, "root/dev"), 0o755)
		if err := unix.Mknod(filepath.Join(dir, "root/dev/null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
			t.Fatal(err)
		}
		wantErr(t, Files(root, dir, manifest.Files{Skeleton: "root"}, buildTime), "dev/null: is a character device")
	})
	t.Run("missing skeleton", func(t *testing.T) {
		root := seedRoot(t)
		wantErr(t, Files(root, t.TempDir(), manifest.Files{Skeleton: "root"}, buildTime), "files.skeleton:", "no such file")
	})
	t.Run("skeleton file over a directory", func(t *testing.T) {
		root := seedRoot(t)
		dir := t.TempDir()
		mustWrite(t, filepath.Join(dir, "root/etc"), "not a directory\n", 0o644)
		wantErr(t, Files(root, dir, manifest.Files{Skeleton: "root"}, buildTime), "files.skeleton: etc:")
	})
	tests := []struct {
		name string
		file manifest.InlineFile
		want string
	}{
		{"unknown user", manifest.InlineFile{Path: "/etc/x", Owner: "zoe:wheel"}, `files.inline[0] (/etc/x): owner "zoe:wheel": no user "zoe" in the root's /etc/passwd`},
		{"unknown group", manifest.InlineFile{Path: "/etc/x", Owner: "root:staff"}, `no group "staff" in the root's /etc/group`},
		{"bad mode", manifest.InlineFile{Path: "/etc/x", Mode: "rw-r--r--"}, `files.inline[0] (/etc/x): mode: "rw-r--r--" is not an octal mode`},
		{"mode too large", manifest.InlineFile{Path: "/etc/x", Mode: "17777"}, "is not an octal mode"},
		{"relative path", manifest.InlineFile{Path: "etc/x"}, `files.inline[0] (etc/x): path: "etc/x" is not an absolute path`},
		{"dot-dot", manifest.InlineFile{Path: "/etc/../../x"}, `path: "/etc/../../x" contains ..`},
		{"the root itself", manifest.InlineFile{Path: "/"}, "is the root directory"},
		{"over a directory", manifest.InlineFile{Path: "/etc"}, "files.inline[0] (/etc):"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := seedRoot(t)
			wantErr(t, Files(root, t.TempDir(), manifest.Files{Inline: []manifest.InlineFile{tt.file}}, buildTime), tt.want)
		})
	}
}

func filesWith(inline []manifest.InlineFile) manifest.Files {
	return manifest.Files{Skeleton: "root", Inline: inline}
}
