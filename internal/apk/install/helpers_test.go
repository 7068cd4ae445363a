//go:build linux

package install

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/reexec"
	"github.com/cairnlinux/cairn/internal/sandbox"
)

func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}

// One signing key per test process: generating it is slow.
var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
	keyErr  error
)

func testSigner(t testing.TB) apkfile.Signer {
	t.Helper()
	keyOnce.Do(func() { testKey, keyErr = rsa.GenerateKey(rand.Reader, 2048) })
	if keyErr != nil {
		t.Fatal(keyErr)
	}
	return apkfile.Signer{Key: testKey, Name: "cairn-test.rsa.pub"}
}

func trust(s apkfile.Signer) apkfile.Options {
	kr := apkfile.NewKeyring()
	kr.AddKey(s.Name, &s.Key.PublicKey)
	return apkfile.Options{Keys: kr}
}

// env is a root directory and a repository of test packages.
type env struct {
	t       testing.TB
	root    string
	signer  apkfile.Signer
	verify  apkfile.Options
	avail   []*apk.Package
	files   map[string][]byte // .apk contents by identity
	mu      sync.Mutex
	opened  []string // names of the packages Open was asked for
	out     bytes.Buffer
	errOut  bytes.Buffer
	noChown bool
	noScr   bool
	force   bool
	cache   *FileCache
	// runScript runs the scripts; nil is the sandbox.
	runScript func(context.Context, sandbox.Command) error
}

func newEnv(t testing.TB) *env {
	s := testSigner(t)
	return &env{t: t, root: t.TempDir(), signer: s, verify: trust(s), files: map[string][]byte{}}
}

// add builds a package and makes it available.
func (e *env) add(spec apkfile.PackageSpec) *apk.Package {
	e.t.Helper()
	if spec.Info.BuildTime == 0 {
		spec.Info.BuildTime = 1700000000
	}
	var buf bytes.Buffer
	info, err := apkfile.WritePackage(&buf, &spec, e.signer)
	if err != nil {
		e.t.Fatal(err)
	}
	e.addRaw(info, buf.Bytes())
	return info
}

func (e *env) addRaw(info *apk.Package, data []byte) {
	e.avail = append(e.avail, info)
	e.files[string(info.Checksum)] = data
}

func (e *env) installer() *Installer {
	e.out.Reset()
	e.errOut.Reset()
	return &Installer{
		Root: e.root,
		Open: func(_ context.Context, p *solver.Pkg) (io.ReadCloser, error) {
			e.mu.Lock()
			e.opened = append(e.opened, p.Name.Name)
			e.mu.Unlock()
			data, ok := e.files[string(p.Checksum)]
			if !ok {
				return nil, fmt.Errorf("%s: not in the test repository", p.NameVersion())
			}
			return io.NopCloser(bytes.NewReader(data)), nil
		},
		Verify:         e.verify,
		Out:            &e.out,
		Err:            &e.errOut,
		NoChown:        e.noChown,
		NoScripts:      e.noScr,
		ForceOverwrite: e.force,
		Files:          e.cache,
		RunScript:      e.runScript,
	}
}

// openDB builds a solver DB from the root's database and the available
// packages, as apk opens one.
func (e *env) openDB() *solver.DB {
	e.t.Helper()
	db := solver.NewDB()
	text, err := os.ReadFile(filepath.Join(e.root, "lib/apk/db/installed"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		e.t.Fatal(err)
	}
	installed, err := apk.ParseInstalledDB(string(text))
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ip := range installed {
		inst := &solver.Installed{ReplacesPriority: ip.ReplacesPriority, BrokenFiles: ip.BrokenFiles, BrokenScript: ip.BrokenScript, Record: ip}
		for _, r := range ip.Replaces {
			inst.Replaces = append(inst.Replaces, db.ResolveDep(r))
		}
		db.AddPackage(&ip.Package, solver.RepoInstalled, inst)
	}
	for _, p := range e.avail {
		cp := *p
		db.AddPackage(&cp, solver.RepoFirstConfigured, nil)
	}
	db.AvailableRepos |= 1 << solver.RepoFirstConfigured
	db.Tags[0].AllowedRepos |= 1 << solver.RepoFirstConfigured
	db.CompleteOpen()
	if world, err := os.ReadFile(filepath.Join(e.root, "etc/apk/world")); err == nil {
		deps, _ := apk.ParseDependencies(strings.TrimSpace(string(world)))
		for _, d := range deps {
			db.World = append(db.World, db.ResolveDep(d))
		}
	}
	return db
}

func (e *env) session(c solver.Committer) *solver.Session {
	return &solver.Session{DB: e.openDB(), Out: solver.Output{Stdout: &e.out, Stderr: &e.errOut}, Committer: c}
}

// addWorld runs apk add with the installer and returns its report.
func (e *env) addWorld(names ...string) (*Report, error) {
	return e.run(func(s *solver.Session) error { return s.Add(names, solver.AddOptions{}) })
}

// del runs apk del.
func (e *env) del(names ...string) (*Report, error) {
	return e.run(func(s *solver.Session) error { return s.Del(names, solver.DelOptions{}) })
}

func (e *env) run(op func(*solver.Session) error) (*Report, error) {
	e.t.Helper()
	var rep *Report
	s := e.session(reportingCommitter{in: e.installer(), rep: &rep})
	err := op(s)
	return rep, err
}

func (e *env) mustUpgrade(names ...string) *Report {
	e.t.Helper()
	rep, err := e.run(func(s *solver.Session) error { return s.Add(names, solver.AddOptions{Upgrade: true}) })
	if err != nil {
		e.t.Fatalf("apk add -u %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(names, " "), err, e.out.String(), e.errOut.String())
	}
	return rep
}

type reportingCommitter struct {
	in  *Installer
	rep **Report
}

func (c reportingCommitter) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	rep, err := c.in.Install(context.Background(), db, cs, world)
	*c.rep = rep
	return err
}

func (e *env) mustAdd(names ...string) *Report {
	e.t.Helper()
	rep, err := e.addWorld(names...)
	if err != nil {
		e.t.Fatalf("apk add %s: %v\nstdout:\n%s\nstderr:\n%s", strings.Join(names, " "), err, e.out.String(), e.errOut.String())
	}
	return rep
}

func (e *env) path(rel string) string { return filepath.Join(e.root, rel) }

func (e *env) readFile(rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(e.path(rel))
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

func (e *env) writeFile(rel, data string) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.path(rel)), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.path(rel), []byte(data), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) exists(rel string) bool {
	_, err := os.Lstat(e.path(rel))
	return err == nil
}

func (e *env) installedDB() []*apk.InstalledPackage {
	e.t.Helper()
	pkgs, err := apk.ParseInstalledDB(e.readFile("lib/apk/db/installed"))
	if err != nil {
		e.t.Fatal(err)
	}
	return pkgs
}

func (e *env) record(name string) *apk.InstalledPackage {
	e.t.Helper()
	for _, p := range e.installedDB() {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Spec helpers.

func spec(name, version string, files ...apkfile.FileSpec) apkfile.PackageSpec {
	return apkfile.PackageSpec{Info: apk.Package{Name: name, Version: version}, Files: files}
}

func deps(s string) []apk.Dependency {
	d, err := apk.ParseDependencies(s)
	if err != nil {
		panic(err)
	}
	return d
}

func dir(p string) apkfile.FileSpec { return apkfile.FileSpec{Path: p, Mode: fs.ModeDir | 0o755} }

func file(p, data string) apkfile.FileSpec {
	return apkfile.FileSpec{Path: p, Mode: 0o644, Data: []byte(data)}
}

func symlink(p, target string) apkfile.FileSpec {
	return apkfile.FileSpec{Path: p, Mode: fs.ModeSymlink | 0o777, Link: target}
}

// snapshot describes every entry of a tree: type, permissions, owner,
// contents or link target and extended attributes; not times, which
// creating and removing entries in a directory changes.
func snapshot(t testing.TB, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		desc := fmt.Sprintf("mode=%o uid=%d gid=%d", st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			desc += " sha256=" + hex.EncodeToString(sum[:])
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		desc += xattrList(p)
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func xattrList(p string) string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return ""
	}
	names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		v := make([]byte, 4096)
		m, _ := unix.Lgetxattr(p, name, v)
		fmt.Fprintf(&b, " %s=%x", name, v[:max(m, 0)])
	}
	return b.String()
}

func diffSnapshots(before, after map[string]string) []string {
	var diffs []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			diffs = append(diffs, "removed "+k)
		} else if v != w {
			diffs = append(diffs, fmt.Sprintf("changed %s: %s -> %s", k, v, w))
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			diffs = append(diffs, "added "+k)
		}
	}
	sort.Strings(diffs)
	return diffs
}

func assertUnchanged(t testing.TB, before map[string]string, root string) {
	t.Helper()
	if d := diffSnapshots(before, snapshot(t, root)); len(d) > 0 {
		t.Errorf("the root changed:\n%s", strings.Join(d, "\n"))
	}
}

// rawEntry is a data entry of a hand-made package, for archives the
// package writer refuses to make.
// rawEntry is a data entry of a hand-made package (apktest.RawEntry).
type rawEntry = apktest.RawEntry

// addRawPackage builds a signed package with arbitrary data entries and
// makes it available.
func (e *env) addRawPackage(name, version string, entries ...rawEntry) *apk.Package {
	e.t.Helper()
	data, info := apktest.RawPackage(e.t, e.signer.Key, e.signer.Name, name, version, entries...)
	e.addRaw(info, data)
	return info
}

func regEntry(name, body string) rawEntry { return apktest.RawFile(name, body) }

func dirEntry(name string) rawEntry { return apktest.RawDir(name) }

func linkEntry(name, target string, typ byte) rawEntry { return apktest.RawLink(name, target, typ) }

// memberOffsets returns where the gzip members of a package start.
func memberOffsets(t testing.TB, data []byte) []int {
	t.Helper()
	var offs []int
	r := bytes.NewReader(data)
	for r.Len() > 0 {
		offs = append(offs, len(data)-r.Len())
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(io.Discard, zr); err != nil {
			t.Fatal(err)
		}
	}
	return offs
}
