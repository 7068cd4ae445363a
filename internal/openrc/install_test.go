package openrc

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/manifest"
)

var epoch = time.Unix(1700000000, 0)

// entry is what a snapshot records of a path.
type entry struct {
	mode     fs.FileMode
	uid, gid uint32
	mtime    time.Time
	content  string // file contents or symlink target
}

func (e entry) String() string {
	return fmt.Sprintf("%v %d:%d %s %q", e.mode, e.uid, e.gid, e.mtime.UTC().Format(time.RFC3339Nano), e.content)
}

// snapshot records every path under root ("." for root itself).
func snapshot(t *testing.T, root string) map[string]entry {
	t.Helper()
	m := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := entry{mode: fi.Mode(), uid: st.Uid, gid: st.Gid, mtime: fi.ModTime()}
		switch {
		case fi.Mode()&fs.ModeSymlink != 0:
			e.content, err = os.Readlink(p)
		case fi.Mode().IsRegular():
			var b []byte
			b, err = os.ReadFile(p)
			e.content = string(b)
		}
		rel, _ := filepath.Rel(root, p)
		m[rel] = e
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffSnapshots(a, b map[string]entry) string {
	var out []string
	for k, ea := range a {
		if eb, ok := b[k]; !ok {
			out = append(out, "- "+k)
		} else if ea != eb {
			out = append(out, fmt.Sprintf("~ %s: %v -> %v", k, ea, eb))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "+ "+k)
		}
	}
	return strings.Join(out, "\n")
}

// fakeRoot makes a root holding a package's init script for sshd, all
// of it dated long before epoch.
func fakeRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	mustWrite(t, filepath.Join(root, "etc/init.d/sshd"), "#!/sbin/openrc-run\ncommand=/usr/sbin/sshd\n", 0o755)
	old := time.Unix(1000000000, 0)
	for _, p := range []string{"etc/init.d/sshd", "etc/init.d", "etc", "."} {
		if err := os.Chtimes(filepath.Join(root, p), old, old); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func mustWrite(t *testing.T, path, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

func testServices() manifest.Services {
	return manifest.Services{
		Runlevels: map[string][]string{
			"default":     {"sshd", "nomad", "sshd"},
			"boot":        {"hello"},
			"maintenance": {},
		},
		Define: map[string]manifest.Service{
			"nomad": renderCases[1].def,
			"hello": renderCases[0].def,
		},
	}
}

func TestInstall(t *testing.T) {
	old := unix.Umask(0o077) // the modes must not depend on it
	defer unix.Umask(old)
	root := fakeRoot(t)
	services := testServices()
	if err := Install(root, services, epoch); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, root)

	nomad, _ := InitScript("nomad", services.Define["nomad"])
	hello, _ := InitScript("hello", services.Define["hello"])
	wantFiles := map[string]struct {
		mode    fs.FileMode
		content string
	}{
		"etc/init.d/nomad": {0o755, string(nomad)},
		"etc/conf.d/nomad": {0o644, string(ConfD("nomad", services.Define["nomad"]))},
		"etc/init.d/hello": {0o755, string(hello)},
		"etc/conf.d/hello": {0o644, string(ConfD("hello", services.Define["hello"]))},
	}
	for p, w := range wantFiles {
		if e := snap[p]; e.mode != w.mode || e.content != w.content {
			t.Errorf("%s: %v, want mode %v and the rendered content", p, e, w.mode)
		}
	}
	wantLinks := map[string]string{
		"etc/runlevels/default/sshd":  "/etc/init.d/sshd",
		"etc/runlevels/default/nomad": "/etc/init.d/nomad",
		"etc/runlevels/boot/hello":    "/etc/init.d/hello",
	}
	for p, target := range wantLinks {
		if e := snap[p]; e.mode&fs.ModeSymlink == 0 || e.content != target {
			t.Errorf("%s: %v, want a symlink to %s", p, e, target)
		}
	}
	for _, d := range []string{"etc/conf.d", "etc/runlevels", "etc/runlevels/default", "etc/runlevels/boot", "etc/runlevels/maintenance"} {
		if e := snap[d]; e.mode != fs.ModeDir|0o755 {
			t.Errorf("%s: %v, want a directory with mode 0755", d, e)
		}
	}
	if n := len(snap); n != 16 {
		t.Errorf("%d paths in the root, want 16:\n%s", n, diffSnapshots(nil, snap))
	}
	// Everything Install made or changed has epoch; what it did not
	// touch keeps its time.
	for p, e := range snap {
		want := epoch
		if p == "." || p == "etc/init.d/sshd" {
			want = time.Unix(1000000000, 0)
		}
		if !e.mtime.Equal(want) {
			t.Errorf("%s: mtime %v, want %v", p, e.mtime.UTC(), want.UTC())
		}
		if os.Geteuid() == 0 && (e.uid != 0 || e.gid != 0) {
			t.Errorf("%s: owned by %d:%d, want root", p, e.uid, e.gid)
		}
	}

	// Again: the same tree, to the nanosecond.
	if err := Install(root, services, epoch); err != nil {
		t.Fatal(err)
	}
	if d := diffSnapshots(snap, snapshot(t, root)); d != "" {
		t.Errorf("a second Install changed the root:\n%s", d)
	}
}

// TestInstallTimes checks access times too, which reading the files
// (as snapshot does) would change.
func TestInstallTimes(t *testing.T) {
	root := t.TempDir()
	if err := Install(root, testServices2(), epoch); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{".", "etc", "etc/init.d", "etc/init.d/hello", "etc/conf.d/hello", "etc/runlevels/default/hello"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(root, p), &st); err != nil {
			t.Fatal(err)
		}
		for name, ts := range map[string]unix.Timespec{"access": st.Atim, "modification": st.Mtim} {
			if got := time.Unix(ts.Unix()); !got.Equal(epoch) {
				t.Errorf("%s: %s time %v, want %v", p, name, got.UTC(), epoch.UTC())
			}
		}
	}
}

func testServices2() manifest.Services {
	return manifest.Services{
		Runlevels: map[string][]string{"default": {"hello"}},
		Define:    map[string]manifest.Service{"hello": renderCases[0].def},
	}
}

func TestInstallMissingService(t *testing.T) {
	root := fakeRoot(t)
	// A symlink pointing at the host's /bin/sh: inside the root it
	// leads nowhere, so the service is missing.
	if err := os.Symlink("/bin/sh", filepath.Join(root, "etc/init.d/evil")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, root)
	services := testServices()
	services.Runlevels["default"] = []string{"sshd", "nomad", "chronyd"}
	services.Runlevels["custom"] = []string{"evil"}
	err := Install(root, services, epoch)
	var got []string
	for _, e := range unjoin(err) {
		var me *MissingServiceError
		if !errors.As(e, &me) {
			t.Fatalf("%v is not a *MissingServiceError", e)
		}
		got = append(got, me.Runlevel+"/"+me.Service)
	}
	if want := "custom/evil default/chronyd"; strings.Join(got, " ") != want {
		t.Errorf("missing %v, want %s (error: %v)", got, want, err)
	}
	for _, s := range []string{"services.default", "chronyd", "/etc/init.d/chronyd", "add the package", "services.define.chronyd"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not say %q", err, s)
		}
	}
	if d := diffSnapshots(before, snapshot(t, root)); d != "" {
		t.Errorf("a failed Install changed the root:\n%s", d)
	}
}

func TestInstallRefusesBadInput(t *testing.T) {
	tests := []struct {
		desc     string
		services manifest.Services
		want     string
	}{
		{"runlevel with ..", manifest.Services{Runlevels: map[string][]string{"../x": {"sshd"}}}, `services["../x"]: not a valid runlevel name`},
		{"absolute runlevel", manifest.Services{Runlevels: map[string][]string{"/etc": {"sshd"}}}, `services["/etc"]: not a valid runlevel name`},
		{"service with ..", manifest.Services{Runlevels: map[string][]string{"default": {"sshd", "../../bin/sh"}}}, `services.default[1]: not a valid service name`},
		{"defined name with /", manifest.Services{Define: map[string]manifest.Service{"a/b": {Command: "/x"}}}, `services.define["a/b"]: not a valid service name`},
		{"invalid definition", manifest.Services{Define: map[string]manifest.Service{"x": {Command: "x"}}}, `services.define.x.command: "x" is not an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			root := fakeRoot(t)
			before := snapshot(t, root)
			err := Install(root, tt.services, epoch)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one saying %s", err, tt.want)
			}
			if d := diffSnapshots(before, snapshot(t, root)); d != "" {
				t.Errorf("a refused Install changed the root:\n%s", d)
			}
		})
	}
}

// TestInstallStaysInRoot gives the root an /etc that is an absolute
// symlink to a directory outside it: Install follows it inside the
// root, as the installed system will, and writes nothing outside.
func TestInstallStaysInRoot(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(root, "etc")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(root, outside), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := Install(root, testServices2(), epoch); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) > 0 {
		t.Errorf("Install wrote outside the root: %v", ents)
	}
	if _, err := os.Stat(filepath.Join(root, outside, "init.d/hello")); err != nil {
		t.Errorf("the script is not where /etc leads inside the root: %v", err)
	}
}

func TestInstallReplaces(t *testing.T) {
	root := t.TempDir()
	// A stale script, a stale link to elsewhere, and the leftover of an
	// interrupted run.
	mustWrite(t, filepath.Join(root, "etc/init.d/hello"), "old", 0o600)
	mustWrite(t, filepath.Join(root, "etc/init.d/.cairn-new.hello"), "partial", 0o600)
	if err := os.MkdirAll(filepath.Join(root, "etc/runlevels/default"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/init.d/other", filepath.Join(root, "etc/runlevels/default/hello")); err != nil {
		t.Fatal(err)
	}
	if err := Install(root, testServices2(), epoch); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, root)
	want, _ := InitScript("hello", renderCases[0].def)
	if e := snap["etc/init.d/hello"]; e.content != string(want) || e.mode != 0o755 {
		t.Errorf("init script %v, want the rendered one with mode 0755", e)
	}
	if e := snap["etc/runlevels/default/hello"]; e.content != "/etc/init.d/hello" {
		t.Errorf("runlevel link %v, want one to /etc/init.d/hello", e)
	}
	if _, ok := snap["etc/init.d/.cairn-new.hello"]; ok {
		t.Error("the leftover temporary file is still there")
	}
	if e := snap["etc/runlevels/default"]; e.mode != fs.ModeDir|0o700 {
		t.Errorf("an existing directory's mode changed: %v", e)
	}
}

func TestInstallDirectoryInTheWay(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc/init.d/hello/x"), 0o755); err != nil {
		t.Fatal(err)
	}
	err := Install(root, testServices2(), epoch)
	if err == nil || !strings.Contains(err.Error(), "/etc/init.d/hello") || !strings.Contains(err.Error(), "directory") {
		t.Fatalf("error %v, want one naming /etc/init.d/hello and the directory in the way", err)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "etc/init.d"))
	if names := slicesOf(ents); names != "hello" {
		t.Errorf("etc/init.d holds %s, want only the directory that was there", names)
	}
}

func slicesOf(ents []os.DirEntry) string {
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return strings.Join(names, " ")
}
