//go:build linux

package install

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

func TestLocked(t *testing.T) {
	e := installedBase(t)
	fd, err := unix.Open(e.path("lib/apk/db/lock"), unix.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	e.add(spec("more", "1", dir("opt"), file("opt/more", "m")))
	before := snapshot(t, e.root)
	if _, err := e.addWorld("more"); !errors.Is(err, ErrLocked) {
		t.Fatalf("error %v, want ErrLocked", err)
	}
	assertUnchanged(t, before, e.root)
}

// A fresh root stays empty when the first commit fails: the database
// directories and lock made for it go too.
func TestFailureInEmptyRoot(t *testing.T) {
	e := newEnv(t)
	e.addRawPackage("evil", "1", dirEntry("etc"), regEntry("etc/ok", "ok"), regEntry("../escape", "x"))
	if _, err := e.addWorld("evil"); err == nil {
		t.Fatal("installed")
	}
	if names, _ := os.ReadDir(e.root); len(names) != 0 {
		t.Errorf("the root is not empty: %v", names)
	}
}

// cancelAfter cancels a context once n bytes were read through it.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

func TestCancelled(t *testing.T) {
	e := installedBase(t)
	e.add(bigSpec("first"))
	e.add(bigSpec("second"))
	before := snapshot(t, e.root)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := e.installer()
	open := in.Open
	in.Open = func(ctx context.Context, p *solver.Pkg) (io.ReadCloser, error) {
		rc, err := open(ctx, p)
		if err != nil || p.Name.Name != "second" {
			return rc, err
		}
		return io.NopCloser(&cancelAfter{r: rc, n: 1, cancel: cancel}), nil
	}
	s := e.session(in.Committer(ctx))
	err := s.Add([]string{"first", "second"}, solver.AddOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want cancellation; opened %q\n%s", err, e.opened, e.out.String())
	}
	assertUnchanged(t, before, e.root)
}

func TestMetaPackageIsNotOpened(t *testing.T) {
	e := newEnv(t)
	e.add(apkfileSpecWithDeps("meta", "1", "dep"))
	e.add(spec("dep", "1", dir("opt"), file("opt/dep", "d")))
	e.mustAdd("meta")
	if strings.Join(e.opened, " ") != "dep" { // opened concurrently: one only
		t.Errorf("opened %q", e.opened)
	}
	r := e.record("meta")
	if r == nil || len(r.Dirs) != 0 || len(r.Depends) != 1 || r.Depends[0].Name != "dep" {
		t.Errorf("meta record: %+v", r)
	}
}

func TestReinstallAndPinning(t *testing.T) {
	e := installedBase(t)
	e.writeFile("usr/share/base", "damaged")
	os.Remove(e.path("etc/base.conf"))
	rep, err := e.run(func(s *solver.Session) error { return s.Fix([]string{"base"}, solver.FixOptions{Reinstall: true}) })
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(e.out.String(), "(1/1) Reinstalling base (1)") || rep.Packages != 1 {
		t.Errorf("output:\n%s", e.out.String())
	}
	if e.readFile("usr/share/base") != "b" || e.readFile("etc/base.conf") != "base\n" {
		t.Error("reinstall did not restore the files")
	}
	if r := e.record("base"); r == nil || !hasFile(r, "usr/share", "base") {
		t.Error("record lost files")
	}
	leftovers(t, e.root)
}

// apkfileSpecWithDeps is an empty package that only depends on others.
func apkfileSpecWithDeps(name, version, dependsOn string) apkfile.PackageSpec {
	s := spec(name, version)
	s.Info.Depends = deps(dependsOn)
	return s
}

func TestWorldFile(t *testing.T) {
	e := newEnv(t)
	e.add(spec("zed", "1"))
	e.add(spec("Alpha", "1"))
	e.add(spec("beta", "2"))
	e.mustAdd("zed", "beta>=1", "Alpha")
	if got := e.readFile("etc/apk/world"); got != "Alpha\nbeta>=1\nzed\n" {
		t.Errorf("world = %q", got)
	}
	// No change still rewrites the database files identically.
	installed := e.readFile("lib/apk/db/installed")
	e.mustAdd("zed")
	if e.readFile("lib/apk/db/installed") != installed || !bytes.Contains([]byte(e.out.String()), []byte("OK: 0 MiB in 3 packages")) {
		t.Errorf("no-op commit changed the database or printed:\n%s", e.out.String())
	}
	for _, p := range e.installedDB() {
		if len(p.Checksum) == 0 || p.Arch != "noarch" {
			t.Errorf("%s: %+v", p.Name, p.Package)
		}
	}
}

// A directory one step removes as empty and a later step's package owns is
// there in the end.
func TestDirectoryRemovedThenNeeded(t *testing.T) {
	e := newEnv(t)
	e.add(spec("a", "1", dir("opt"), dir("opt/empty"), file("opt/a", "a")))
	e.add(spec("b", "1", dir("opt"), dir("opt/empty"), file("opt/b", "b")))
	e.mustAdd("a")
	db := e.openDB()
	var a, b *solver.Pkg
	for _, p := range db.InstalledPackages() {
		a = p
	}
	b = db.LookupName("b").Providers[0].Pkg
	cs := &solver.Changeset{Changes: []solver.Change{{Old: a}, {New: b}}, NumRemove: 1, NumInstall: 1}
	if _, err := e.installer().Install(context.Background(), db, cs, nil); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(e.path("opt/empty")); err != nil || !st.IsDir() {
		t.Errorf("opt/empty: %v", err)
	}
	if e.exists("opt/a") || !e.exists("opt/b") {
		t.Error("files")
	}
}
