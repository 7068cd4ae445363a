//go:build linux

package install

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// The whole way, as the CLI goes it: a signed repository written by
// apktest, its index loaded compactly into the solver (without
// descriptions or dependency lists in the package records), apk add, and a
// database whose records are as complete as the index.
func TestFromSignedRepository(t *testing.T) {
	r := apktest.NewRepo(t, "")
	r.Add(
		apktest.Pkg("libfoo", "1.0-r0").ProvidesSO("libfoo.so.1").
			File("usr/lib/libfoo.so.1.0", 0o755, "ELF").Symlink("usr/lib/libfoo.so.1", "libfoo.so.1.0"),
		apktest.Pkg("foo", "1.0-r0").DependsSO("libfoo.so.1").ProvidesCmd("foo").
			File("usr/bin/foo", 0o755, "#!/bin/sh\n").HardLink("usr/bin/foo-alias", "usr/bin/foo").
			File("etc/foo.conf", 0o644, "x=1\n"),
	)
	r.Write()
	data, err := os.ReadFile(r.IndexPath())
	if err != nil {
		t.Fatal(err)
	}
	idx, err := apkfile.ReadIndex(data, apkfile.Options{Keys: r.Keyring()})
	if err != nil {
		t.Fatal(err)
	}
	db := solver.NewDB()
	if _, err := db.AddIndex(strings.NewReader(idx.Text), solver.RepoFirstConfigured); err != nil {
		t.Fatal(err)
	}
	db.AvailableRepos |= 1 << solver.RepoFirstConfigured
	db.Tags[0].AllowedRepos |= 1 << solver.RepoFirstConfigured
	db.CompleteOpen()

	root := t.TempDir()
	var out, errOut bytes.Buffer
	in := &Installer{
		Root: root,
		Open: func(_ context.Context, p *solver.Pkg) (io.ReadCloser, error) {
			return os.Open(r.PackagePath(p.Name.Name, p.Version))
		},
		Verify:       apkfile.Options{Keys: r.Keyring()},
		Out:          &out,
		Err:          &errOut,
		Repositories: []string{r.URL()},
		KeysDir:      r.KeysDir,
	}
	s := &solver.Session{DB: db, Out: solver.Output{Stdout: &out, Stderr: &errOut}, Committer: in}
	if err := s.Add([]string{"foo"}, solver.AddOptions{}); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	if want := "(1/2) Installing libfoo (1.0-r0)\n(2/2) Installing foo (1.0-r0)\nOK: 0 MiB in 2 packages\n"; out.String() != want {
		t.Errorf("output:\n%s", out.String())
	}

	text, err := os.ReadFile(root + "/lib/apk/db/installed")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := apk.ParseInstalledDB(string(text))
	if err != nil {
		t.Fatal(err)
	}
	// Each record's header is the index record, field for field.
	var want bytes.Buffer
	for _, p := range r.Index() {
		rec := &apk.InstalledPackage{Package: *p}
		want.Write(apk.FormatInstalledDB([]*apk.InstalledPackage{rec}))
	}
	for _, rec := range recs {
		hdr := apk.FormatInstalledDB([]*apk.InstalledPackage{{Package: rec.Package}})
		if !bytes.Contains(want.Bytes(), hdr) {
			t.Errorf("record header of %s is not the index's:\n%s\nindex:\n%s", rec.Name, hdr, want.String())
		}
	}
	foo, _ := os.Stat(root + "/usr/bin/foo")
	alias, _ := os.Stat(root + "/usr/bin/foo-alias")
	if !os.SameFile(foo, alias) {
		t.Error("usr/bin/foo-alias is not a hard link")
	}
	if target, _ := os.Readlink(root + "/usr/lib/libfoo.so.1"); target != "libfoo.so.1.0" {
		t.Errorf("symlink: %q", target)
	}
	if keys, _ := os.ReadDir(root + "/etc/apk/keys"); len(keys) != 1 || keys[0].Name() != r.KeyName {
		t.Errorf("etc/apk/keys: %v", keys)
	}
}
