//go:build linux

package install

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

func TestInstallUpgradeRemove(t *testing.T) {
	e := newEnv(t)
	e.add(spec("foo", "1.0-r0",
		dir("etc"), file("etc/foo.conf", "v1 config\n"),
		dir("usr"), dir("usr/bin"), apkfile.FileSpec{Path: "usr/bin/foo", Mode: 0o755, Data: []byte("#!/bin/sh\necho 1\n")},
		symlink("usr/bin/foo-link", "foo"),
		dir("usr/share"), dir("usr/share/foo"), file("usr/share/foo/old-only", "obsolete"),
		file("usr/share/foo/data", "data v1"),
	))
	rep := e.mustAdd("foo")
	if got := e.out.String(); got != "(1/1) Installing foo (1.0-r0)\nOK: 0 MiB in 1 packages\n" {
		t.Errorf("output:\n%s", got)
	}
	if rep.Packages != 1 {
		t.Errorf("report: %+v", rep)
	}
	if got := e.readFile("usr/share/foo/old-only"); got != "obsolete" {
		t.Errorf("old-only = %q", got)
	}
	if st, _ := os.Stat(e.path("usr/bin/foo")); st.Mode().Perm() != 0o755 {
		t.Errorf("usr/bin/foo mode %v", st.Mode())
	}
	if target, _ := os.Readlink(e.path("usr/bin/foo-link")); target != "foo" {
		t.Errorf("symlink target %q", target)
	}
	if got := e.readFile("etc/apk/world"); got != "foo\n" {
		t.Errorf("world = %q", got)
	}
	rec := e.record("foo")
	if rec == nil || len(rec.Dirs) != 5 {
		t.Fatalf("record: %+v", rec)
	}

	// Upgrade: files replaced, obsolete ones removed, an emptied
	// directory removed.
	e.add(spec("foo", "2.0-r0",
		dir("etc"), file("etc/foo.conf", "v1 config\n"),
		dir("usr"), dir("usr/bin"), apkfile.FileSpec{Path: "usr/bin/foo", Mode: 0o755, Data: []byte("#!/bin/sh\necho 2\n")},
		dir("usr/lib"), file("usr/lib/new", "new"),
	))
	e.mustUpgrade("foo")
	if got := e.out.String(); got != "(1/1) Upgrading foo (1.0-r0 -> 2.0-r0)\nOK: 0 MiB in 1 packages\n" {
		t.Errorf("output:\n%s", got)
	}
	if got := e.readFile("usr/bin/foo"); !strings.Contains(got, "echo 2") {
		t.Errorf("usr/bin/foo = %q", got)
	}
	for _, gone := range []string{"usr/share/foo/old-only", "usr/share/foo/data", "usr/bin/foo-link", "usr/share/foo", "usr/share"} {
		if e.exists(gone) {
			t.Errorf("%s survived the upgrade", gone)
		}
	}
	if e.readFile("usr/lib/new") != "new" {
		t.Error("usr/lib/new missing")
	}
	leftovers(t, e.root)

	// Removal deletes files and empties directories.
	if _, err := e.del("foo"); err != nil {
		t.Fatalf("del: %v\n%s", err, e.errOut.String())
	}
	if got := e.out.String(); got != "(1/1) Purging foo (2.0-r0)\nOK: 0 MiB in 0 packages\n" {
		t.Errorf("output:\n%s", got)
	}
	for _, gone := range []string{"usr", "etc/foo.conf"} {
		if e.exists(gone) {
			t.Errorf("%s survived the removal", gone)
		}
	}
	if got := e.readFile("lib/apk/db/installed"); got != "" {
		t.Errorf("installed db after removal: %q", got)
	}
}

// leftovers fails when a temporary file of the installer is left.
func leftovers(t *testing.T, root string) {
	t.Helper()
	fs.WalkDir(os.DirFS(root), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && (strings.HasPrefix(d.Name(), ".apk.") || strings.HasSuffix(d.Name(), ".new")) {
			t.Errorf("leftover %s", p)
		}
		return nil
	})
}

func TestDatabaseRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.add(apkfile.PackageSpec{
		Info:             apk.Package{Name: "bar", Version: "1.2-r3", Description: "bar tool", URL: "https://bar", License: "MIT", Depends: deps("baz")},
		Replaces:         deps("oldbar"),
		ReplacesPriority: 5,
		Files: []apkfile.FileSpec{
			dir("etc"), {Path: "etc/secret", Mode: 0o600, Data: []byte("s")},
			{Path: "etc/tmpdir", Mode: fs.ModeDir | fs.ModeSticky | 0o777},
			{Path: "etc/owned", Mode: 0o640, UID: 0, GID: 42, Gname: "shadow", Data: []byte("o")},
			{Path: "etc/x", Mode: 0o644, Data: []byte("x"), Xattrs: map[string][]byte{"user.cairn": []byte("yes")}},
		},
	})
	e.add(spec("baz", "1"))
	e.mustAdd("bar")
	text := e.readFile("lib/apk/db/installed")
	pkgs, err := apk.ParseInstalledDB(text)
	if err != nil {
		t.Fatal(err)
	}
	if again := string(apk.FormatInstalledDB(pkgs)); again != text {
		t.Errorf("round trip differs:\n%s\n---\n%s", text, again)
	}
	for _, want := range []string{
		"P:bar\nV:1.2-r3\n", "T:bar tool\n", "D:baz\n", "r:oldbar\nq:5\n",
		"F:etc\nR:secret\na:0:0:600\nZ:Q1",
		"F:etc/tmpdir\nM:0:0:1777\n",
		"R:owned\na:0:42:640\n",
		"R:x\na:0:0:644:Q1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("installed db lacks %q:\n%s", want, text)
		}
	}
	// Sorted by name: baz before bar? No: "bar" < "baz".
	if strings.Index(text, "P:bar") > strings.Index(text, "P:baz") {
		t.Errorf("records not sorted by name:\n%s", text)
	}
	st, err := os.Stat(e.path("etc/tmpdir"))
	if err != nil || st.Mode()&fs.ModeSticky == 0 || st.Mode().Perm() != 0o777 {
		t.Errorf("etc/tmpdir: %v %v", st.Mode(), err)
	}
}
