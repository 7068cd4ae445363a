// Package apktest builds signed Alpine package repositories for tests:
// real v2 packages and a signed APKINDEX.tar.gz in apk's repository
// layout, made by the same code that writes cairn's packages and indexes.
//
//	r := apktest.NewRepo(t, "")
//	r.Add(apktest.Pkg("hello", "2.12-r0").
//		DependsSO("libc.musl-x86_64.so.1").
//		ProvidesCmd("hello").
//		File("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n"))
//	r.Write()
//	// r.URL() is the repository, r.KeysDir holds its public key.
package apktest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// Defaults that make packages look like Alpine's.
const (
	DefaultArch      = "x86_64"
	DefaultBuildTime = 1704067200 // 2024-01-01T00:00:00Z
	maintainer       = "cairn tests <tests@cairn.invalid>"
)

// Generating an RSA key takes a moment; every test of a process shares
// the same two.
var (
	mainKey  = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
	otherKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })
)

// Key returns the 2048-bit key repositories are signed with by default.
func Key(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := mainKey()
	if err != nil {
		t.Fatalf("apktest: generate key: %v", err)
	}
	return k
}

// OtherKey returns a second key, for signatures nobody trusts.
func OtherKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := otherKey()
	if err != nil {
		t.Fatalf("apktest: generate key: %v", err)
	}
	return k
}

// KeyName names a public key the way Alpine's are named: an address and
// the first four bytes of the key's SHA-1, "….rsa.pub".
func KeyName(pub *rsa.PublicKey) string {
	der := x509.MarshalPKCS1PublicKey(pub)
	sum := sha1.Sum(der)
	return "cairn-test@example.invalid-" + hex.EncodeToString(sum[:4]) + ".rsa.pub"
}

// PublicKeyPEM encodes a public key as /etc/apk/keys holds them (PEM
// "PUBLIC KEY").
func PublicKeyPEM(pub *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		panic(err) // an RSA key always marshals
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PrivateKeyPEM encodes a private key as abuild-keygen writes it (PEM
// "RSA PRIVATE KEY").
func PrivateKeyPEM(k *rsa.PrivateKey) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
}

// Repo is a repository under construction. Fields may be changed before
// Write.
type Repo struct {
	// Dir is the repository root: the line /etc/apk/repositories names.
	// Packages go to Dir/ARCH/NAME-VERSION.apk next to
	// Dir/ARCH/APKINDEX.tar.gz.
	Dir string
	// Arch is the repository's architecture: packages without one and
	// noarch packages are stored and indexed under it.
	Arch string
	// KeysDir holds the public key, as the file KeyName.
	KeysDir string
	KeyName string
	Key     *rsa.PrivateKey
	// Description is the index's DESCRIPTION.
	Description string

	t       testing.TB
	pkgs    []apkfile.PackageSpec
	written map[string][]*apk.Package // index records by arch
}

// NewRepo starts a repository in dir (a new temporary directory when dir
// is ""), signed with Key and trusted by the public key it writes to
// KeysDir, a temporary directory of its own.
func NewRepo(t testing.TB, dir string) *Repo {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	key := Key(t)
	r := &Repo{
		Dir:         dir,
		Arch:        DefaultArch,
		KeysDir:     t.TempDir(),
		KeyName:     KeyName(&key.PublicKey),
		Key:         key,
		Description: "cairn-test-repository",
		t:           t,
	}
	if err := os.WriteFile(filepath.Join(r.KeysDir, r.KeyName), PublicKeyPEM(&key.PublicKey), 0o644); err != nil {
		t.Fatalf("apktest: %v", err)
	}
	return r
}

// Add adds packages. Their unset fields get realistic defaults: the
// repository's arch, origin = name, a license, a build date, a commit.
// Parent directories of files are added where missing.
func (r *Repo) Add(pkgs ...*Package) {
	r.t.Helper()
	for _, p := range pkgs {
		if err := errors.Join(p.errs...); err != nil {
			r.t.Fatalf("apktest: package %s: %v", p.spec.Info.NameVersion(), err)
		}
		spec := p.spec
		spec.Files = withParents(spec.Files)
		r.AddSpec(spec)
	}
}

// AddSpec adds a package exactly as specified, apart from the defaults
// Add fills in.
func (r *Repo) AddSpec(spec apkfile.PackageSpec) {
	r.t.Helper()
	i := &spec.Info
	if i.Arch == "" {
		i.Arch = r.Arch
	}
	if i.Description == "" {
		i.Description = i.Name + " (cairn test package)"
	}
	if i.URL == "" {
		i.URL = "https://example.invalid/" + i.Name
	}
	if i.License == "" {
		i.License = "MIT"
	}
	if i.Origin == "" {
		i.Origin = i.Name
	}
	if i.Maintainer == "" {
		i.Maintainer = maintainer
	}
	if i.BuildTime == 0 {
		i.BuildTime = DefaultBuildTime
	}
	if i.Commit == "" {
		sum := sha1.Sum([]byte(i.Origin + "-" + i.Version))
		i.Commit = hex.EncodeToString(sum[:])
	}
	if spec.Packager == "" {
		spec.Packager = maintainer
	}
	if spec.Comments == nil {
		spec.Comments = []string{"Generated by cairn apktest"}
	}
	r.pkgs = append(r.pkgs, spec)
}

// Write writes every package and a signed index per architecture
// directory, replacing what an earlier Write wrote. The repository's own
// architecture always gets an index, if only an empty one.
func (r *Repo) Write() {
	r.t.Helper()
	if err := r.write(); err != nil {
		r.t.Fatalf("apktest: write repository %s: %v", r.Dir, err)
	}
}

func (r *Repo) write() error {
	byArch := map[string][]*apk.Package{r.Arch: nil}
	files := map[string]bool{}
	for i := range r.pkgs {
		spec := &r.pkgs[i]
		arch := r.dirArch(spec.Info.Arch)
		dir := filepath.Join(r.Dir, arch)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		file := filepath.Join(dir, spec.Info.FileName())
		if files[file] {
			return fmt.Errorf("%s/%s added twice", arch, spec.Info.FileName())
		}
		files[file] = true
		var buf bytes.Buffer
		rec, err := apkfile.WritePackage(&buf, spec, r.signer())
		if err != nil {
			return err
		}
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			return err
		}
		// As abuild runs apk index --rewrite-arch: noarch packages are
		// listed under the directory's architecture.
		rec.Arch = arch
		byArch[arch] = append(byArch[arch], rec)
	}
	r.written = map[string][]*apk.Package{}
	for arch, recs := range byArch {
		apkfile.SortIndex(recs)
		idx, err := apkfile.BuildIndexArchive(recs, r.Description)
		if err != nil {
			return err
		}
		if idx, err = apkfile.SignIndexArchive(idx, r.signer()); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(r.Dir, arch), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(r.IndexPathFor(arch), idx, 0o644); err != nil {
			return err
		}
		r.written[arch] = recs
	}
	return nil
}

func (r *Repo) signer() apkfile.Signer {
	return apkfile.Signer{Key: r.Key, Name: r.KeyName}
}

func (r *Repo) dirArch(arch string) string {
	if arch == "" || arch == "noarch" {
		return r.Arch
	}
	return arch
}

// URL is the repository as /etc/apk/repositories or --repository names
// it: its directory.
func (r *Repo) URL() string { return r.Dir }

// IndexPath is the index of the repository's architecture.
func (r *Repo) IndexPath() string { return r.IndexPathFor(r.Arch) }

// IndexPathFor is the index of an architecture directory.
func (r *Repo) IndexPathFor(arch string) string {
	return filepath.Join(r.Dir, arch, "APKINDEX.tar.gz")
}

// PackagePath is where Write puts a package added under name and version.
func (r *Repo) PackagePath(name, version string) string {
	r.t.Helper()
	for _, s := range r.pkgs {
		if s.Info.Name == name && s.Info.Version == version {
			return filepath.Join(r.Dir, r.dirArch(s.Info.Arch), s.Info.FileName())
		}
	}
	r.t.Fatalf("apktest: no package %s-%s in the repository", name, version)
	return ""
}

// Index returns the records Write indexed for the repository's
// architecture, sorted as in the index.
func (r *Repo) Index() []*apk.Package { return r.IndexFor(r.Arch) }

// IndexFor returns the records Write indexed for an architecture.
func (r *Repo) IndexFor(arch string) []*apk.Package {
	r.t.Helper()
	if r.written == nil {
		r.t.Fatalf("apktest: Index before Write")
	}
	return r.written[arch]
}

// Keyring trusts the repository's key.
func (r *Repo) Keyring() *apkfile.Keyring {
	kr := apkfile.NewKeyring()
	kr.AddKey(r.KeyName, &r.Key.PublicKey)
	return kr
}

// InstallKey writes the repository's public key into root's
// etc/apk/keys, where apk looks for trusted keys.
func (r *Repo) InstallKey(root string) {
	r.t.Helper()
	dir := filepath.Join(root, "etc", "apk", "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		r.t.Fatalf("apktest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, r.KeyName), PublicKeyPEM(&r.Key.PublicKey), 0o644); err != nil {
		r.t.Fatalf("apktest: %v", err)
	}
}

// withParents inserts the directories files need (root:root 0755) before
// the first entry inside them, as a package built from a directory tree
// lists them.
func withParents(files []apkfile.FileSpec) []apkfile.FileSpec {
	have := map[string]bool{}
	for _, f := range files {
		if f.Mode.IsDir() {
			have[f.Path] = true
		}
	}
	var out []apkfile.FileSpec
	var add func(dir string)
	add = func(dir string) {
		if dir == "." || dir == "/" || dir == "" || have[dir] {
			return
		}
		add(path.Dir(dir))
		have[dir] = true
		out = append(out, apkfile.FileSpec{Path: dir, Mode: fs.ModeDir | 0o755})
	}
	for _, f := range files {
		add(path.Dir(f.Path))
		out = append(out, f)
	}
	return out
}

// Package builds a package spec. Its methods return the package, so
// calls chain; dependency strings are apk's syntax, and mistakes in them
// fail the test when the package is added.
type Package struct {
	spec apkfile.PackageSpec
	errs []error
}

// Pkg starts a package.
func Pkg(name, version string) *Package {
	return &Package{spec: apkfile.PackageSpec{Info: apk.Package{Name: name, Version: version}}}
}

// Spec returns the package's spec, for changes the methods do not offer.
func (p *Package) Spec() *apkfile.PackageSpec { return &p.spec }

func (p *Package) deps(field string, list []string) []apk.Dependency {
	var out []apk.Dependency
	for _, s := range list {
		d, err := apk.ParseDependency(s)
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("%s: %w", field, err))
			continue
		}
		out = append(out, d)
	}
	return out
}

// Arch sets the architecture ("noarch" for data-only packages).
func (p *Package) Arch(arch string) *Package { p.spec.Info.Arch = arch; return p }

// Description sets pkgdesc.
func (p *Package) Description(s string) *Package { p.spec.Info.Description = s; return p }

// Origin sets the source package name.
func (p *Package) Origin(s string) *Package { p.spec.Info.Origin = s; return p }

// License sets the license.
func (p *Package) License(s string) *Package { p.spec.Info.License = s; return p }

// BuildTime sets the build date (and every file's mtime).
func (p *Package) BuildTime(unix int64) *Package { p.spec.Info.BuildTime = unix; return p }

// InstalledSize overrides the computed installed size.
func (p *Package) InstalledSize(n int64) *Package { p.spec.Info.InstalledSize = n; return p }

// Depends adds dependencies: "musl", "busybox>=1.36", "so:libc.musl-x86_64.so.1",
// "cmd:sh", "/bin/sh", "!conflict".
func (p *Package) Depends(deps ...string) *Package {
	p.spec.Info.Depends = append(p.spec.Info.Depends, p.deps("depends", deps)...)
	return p
}

// DependsSO adds dependencies on shared libraries by soname.
func (p *Package) DependsSO(sonames ...string) *Package {
	return p.Depends(prefixed("so:", sonames)...)
}

// DependsCmd adds dependencies on commands.
func (p *Package) DependsCmd(cmds ...string) *Package {
	return p.Depends(prefixed("cmd:", cmds)...)
}

// Conflicts adds "!name" dependencies: the named packages must not be
// installed together with this one.
func (p *Package) Conflicts(names ...string) *Package {
	return p.Depends(prefixed("!", names)...)
}

// Provides adds provided names: "name" (virtual) or "name=version".
func (p *Package) Provides(names ...string) *Package {
	p.spec.Info.Provides = append(p.spec.Info.Provides, p.deps("provides", names)...)
	return p
}

// ProvidesSO provides shared libraries by soname, versioned as abuild
// does with the library's version (here the package version without its
// -rN release).
func (p *Package) ProvidesSO(sonames ...string) *Package {
	v, _, _ := strings.Cut(p.spec.Info.Version, "-r")
	var names []string
	for _, s := range sonames {
		names = append(names, "so:"+s+"="+v)
	}
	return p.Provides(names...)
}

// ProvidesCmd provides commands, versioned with the package version as
// abuild does.
func (p *Package) ProvidesCmd(cmds ...string) *Package {
	var names []string
	for _, c := range cmds {
		names = append(names, "cmd:"+c+"="+p.spec.Info.Version)
	}
	return p.Provides(names...)
}

// ProviderPriority sets provider_priority, which makes the solver pick
// this package for a virtual name it provides.
func (p *Package) ProviderPriority(n int) *Package { p.spec.Info.ProviderPriority = n; return p }

// InstallIf sets the install_if conditions: the package is installed
// when all of them are.
func (p *Package) InstallIf(deps ...string) *Package {
	p.spec.Info.InstallIf = append(p.spec.Info.InstallIf, p.deps("install_if", deps)...)
	return p
}

// Replaces lets the package overwrite files of the named packages.
func (p *Package) Replaces(deps ...string) *Package {
	p.spec.Replaces = append(p.spec.Replaces, p.deps("replaces", deps)...)
	return p
}

// ReplacesPriority sets replaces_priority.
func (p *Package) ReplacesPriority(n int) *Package { p.spec.ReplacesPriority = n; return p }

// File adds a regular file owned by root.
func (p *Package) File(name string, mode fs.FileMode, content string) *Package {
	return p.Entry(apkfile.FileSpec{Path: name, Mode: mode, Data: []byte(content)})
}

// Dir adds a directory owned by root.
func (p *Package) Dir(name string, mode fs.FileMode) *Package {
	return p.Entry(apkfile.FileSpec{Path: name, Mode: fs.ModeDir | mode.Perm() | mode&(fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky)})
}

// Symlink adds a symbolic link.
func (p *Package) Symlink(name, target string) *Package {
	return p.Entry(apkfile.FileSpec{Path: name, Mode: fs.ModeSymlink | 0o777, Link: target})
}

// HardLink adds a second name for an earlier regular file of the package.
func (p *Package) HardLink(name, target string) *Package {
	var mode fs.FileMode = 0o644
	for _, f := range p.spec.Files {
		if f.Path == target {
			mode = f.Mode
		}
	}
	return p.Entry(apkfile.FileSpec{Path: name, Mode: mode, Link: target, HardLink: true})
}

// Entry adds a file tree entry with every detail under control (owner,
// xattrs).
func (p *Package) Entry(f apkfile.FileSpec) *Package {
	p.spec.Files = append(p.spec.Files, f)
	return p
}

// Script sets a script: "pre-install", "post-install", "pre-upgrade",
// "post-upgrade", "pre-deinstall", "post-deinstall".
func (p *Package) Script(name, content string) *Package {
	if p.spec.Scripts == nil {
		p.spec.Scripts = map[string][]byte{}
	}
	p.spec.Scripts[name] = []byte(content)
	return p
}

// Trigger sets the trigger script and the directory globs that fire it.
func (p *Package) Trigger(script string, globs ...string) *Package {
	p.spec.Triggers = append(p.spec.Triggers, globs...)
	return p.Script("trigger", script)
}

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}
