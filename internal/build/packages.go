package build

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/engine"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// repositories resolves the manifest's repositories: relative paths are
// relative to the manifest. It also returns the manifest's spelling of
// each, by resolved URL, for the lock.
func (b *builder) repositories() ([]repo.Repository, map[string]string, error) {
	var repos []repo.Repository
	spelled := map[string]string{}
	for i, r := range b.sys.Alpine.Repositories {
		url := r.URL
		if !strings.Contains(url, "://") && !filepath.IsAbs(url) {
			url = filepath.Join(b.manifestDir, url)
		}
		tag := ""
		if r.Tag != "" {
			tag = "@" + strings.TrimPrefix(r.Tag, "@")
		}
		rr, err := repo.ParseRepository(strings.TrimSpace(tag + " " + url))
		if err != nil {
			return nil, nil, fmt.Errorf("alpine.repositories[%d]: %w", i, err)
		}
		repos = append(repos, rr)
		spelled[rr.URL] = r.URL
	}
	return repos, spelled, nil
}

// gatherKeys copies the manifest's trusted keys (files or directories of
// them) into one directory, as apk's --keys-dir wants them.
func (b *builder) gatherKeys() (string, error) {
	dir := filepath.Join(b.work, "keys")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if len(b.sys.Alpine.Keys) == 0 && !b.sys.Alpine.AllowUntrusted {
		return "", &manifest.Error{Path: "alpine.keys", Msg: "empty: name the public keys that sign your repositories (for Alpine's, the keys of the alpine-keys package, e.g. /etc/apk/keys on an Alpine machine)"}
	}
	for i, k := range b.sys.Alpine.Keys {
		key := fmt.Sprintf("alpine.keys[%d]", i)
		p, err := manifest.ResolveLocal(b.manifestDir, k)
		if err != nil {
			return "", &manifest.Error{Path: key, Msg: err.Error()}
		}
		st, err := os.Stat(p)
		if err != nil {
			return "", &manifest.Error{Path: key, Msg: err.Error()}
		}
		files := []string{p}
		if st.IsDir() {
			entries, err := os.ReadDir(p)
			if err != nil {
				return "", fmt.Errorf("alpine.keys[%d]: %w", i, err)
			}
			files = files[:0]
			for _, e := range entries {
				if e.Type().IsRegular() {
					files = append(files, filepath.Join(p, e.Name()))
				}
			}
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				return "", fmt.Errorf("alpine.keys[%d]: %w", i, err)
			}
			if _, err := apkfile.ParsePublicKey(data); err != nil {
				return "", &manifest.Error{Path: key, Msg: fmt.Sprintf("%s is not an RSA public key: %v", f, err)}
			}
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
				return "", err
			}
		}
	}
	return dir, nil
}

// transaction opens the staging root's database with the given
// repositories and keys, restricted to the lock, and adds world to it.
// The root's world is set to base (when not nil) before world is added,
// which lets a later transaction drop entries an earlier one only needed
// for the moment.
func (b *builder) transaction(repos []repo.Repository, keysDir string, lock *manifest.Lock, extra map[string]bool, base, world []string) (*engine.Engine, []*solver.Pkg, error) {
	var repoLines []string
	for _, r := range b.sys.Alpine.Repositories {
		line := r.URL
		if r.Tag != "" {
			line = "@" + strings.TrimPrefix(r.Tag, "@") + " " + line
		}
		repoLines = append(repoLines, line)
	}
	opts := []engine.Option{
		engine.WithRoot(b.root),
		engine.WithInitDB(true),
		engine.WithRepositories(repos...),
		engine.WithoutRootRepositories(),
		engine.WithKeysDir(keysDir),
		engine.WithArch(b.sys.Alpine.Arch),
		engine.WithAllowUntrusted(b.sys.Alpine.AllowUntrusted),
		engine.WithCacheDir(b.req.CacheDir),
		engine.WithOutput(b.req.Out, b.req.Err),
		engine.WithClock(b.epoch),
		engine.WithInstall(engine.InstallOptions{
			NoScripts:    b.req.NoScripts,
			FileCache:    b.req.FileCache,
			Repositories: repoLines,
			KeysDir:      b.keysDir,
		}),
	}
	if lock != nil {
		pinned := map[string]string{}
		for _, p := range lock.Packages {
			pinned[p.Name] = p.Checksum
		}
		opts = append(opts, engine.WithRestrict(func(p *solver.Pkg) bool {
			return extra[p.Name.Name] || pinned[p.Name.Name] == p.Checksum.String()
		}))
	}
	e, err := engine.New(b.ctx, opts...)
	if err != nil {
		return nil, nil, err
	}
	installed, err := e.Install(b.ctx, engine.InstallRequest{Base: base, World: world})
	if err != nil {
		if errors.Is(err, solver.ErrUnsatisfiable) && lock != nil {
			return nil, nil, fmt.Errorf("the packages of cairn.lock do not satisfy the manifest; run cairn lock --update: %w", err)
		}
		return nil, nil, err
	}
	return e, installed, nil
}

// systemWorld is what the system's apk world holds: the packages and the
// kernel.
func systemWorld(sys *manifest.System) []string {
	world := append([]string{}, sys.Packages...)
	if k := sys.Kernel.Package; k != "" && !slices.Contains(world, k) {
		world = append(world, k)
	}
	return world
}

func (b *builder) installPackages(lock *manifest.Lock) ([]*solver.Pkg, error) {
	repos, spelled, err := b.repositories()
	if err != nil {
		return nil, err
	}
	// The artifacts' dependencies are installed with the packages, so that
	// the lock pins them and the build time it gives covers them; the
	// artifacts' own transaction then takes them out of the world again.
	world := systemWorld(b.sys)
	for _, a := range b.sys.Artifacts {
		world = append(world, a.Depends...)
	}
	d, installed, err := b.transaction(repos, b.keysDir, lock, nil, nil, world)
	if err != nil {
		return nil, err
	}
	b.db, b.spelled = d, spelled
	return installed, nil
}

// makeLock pins what the first transaction installed. The build time is
// the newest package's, so relocking the same packages gives the same
// lock.
func (b *builder) makeLock(installed []*solver.Pkg) *manifest.Lock {
	l := &manifest.Lock{Version: 1, ManifestDigest: b.sys.Digest(), Arch: b.db.Arch()}
	for _, p := range installed {
		url := ""
		if r := b.db.RepositoryOf(p); r != "" {
			url = b.spelled[r]
		}
		l.Packages = append(l.Packages, manifest.LockedPackage{Name: p.Name.Name, Version: p.Version, Repository: url, Checksum: p.Checksum.String()})
		if p.BuildTime > l.SourceDateEpoch {
			l.SourceDateEpoch = p.BuildTime
		}
	}
	sort.Slice(l.Packages, func(i, j int) bool { return apk.CompareNames(l.Packages[i].Name, l.Packages[j].Name) < 0 })
	return l
}

// artifactKey is the key that signs the local repository of artifact
// packages. It is kept in the cache and trusted only while building; the
// built system does not trust it.
func (b *builder) artifactKey() (*rsa.PrivateKey, error) {
	path := filepath.Join(b.req.CacheDir, "artifact-signing.rsa")
	if data, err := os.ReadFile(path); err == nil {
		if k, err := apkfile.ParsePrivateKey(data); err == nil {
			return k, nil
		}
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	pemData := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.MkdirAll(b.req.CacheDir, 0o700); err == nil {
		os.WriteFile(path, pemData, 0o600)
	}
	return k, nil
}

const artifactKeyName = "cairn-artifacts.rsa.pub"

func (b *builder) installArtifacts(lock *manifest.Lock) ([]manifest.LockedArtifact, error) {
	key, err := b.artifactKey()
	if err != nil {
		return nil, fmt.Errorf("artifact signing key: %w", err)
	}
	pkgs := map[string]string{}
	var infos []*apk.Package
	var locked []manifest.LockedArtifact
	names := map[string]bool{}
	for i, a := range b.sys.Artifacts {
		pkg, info, err := b.artifact(a, key)
		if err != nil {
			var ce *ChecksumError
			if errors.As(err, &ce) {
				ce.Key = fmt.Sprintf("artifacts[%d].sha256", i)
				return nil, ce
			}
			return nil, fmt.Errorf("artifacts[%d] (%s): %w", i, a.Name, err)
		}
		pkgs[a.Name] = pkg
		infos = append(infos, info)
		names[a.Name] = true
		locked = append(locked, manifest.LockedArtifact{Name: a.Name, URL: a.URL, SHA256: strings.ToLower(a.SHA256)})
	}
	repoDir := filepath.Join(b.work, "artifacts")
	if err := artifactRepo(repoDir, b.db.Arch(), pkgs, infos, key, artifactKeyName); err != nil {
		return nil, fmt.Errorf("artifact repository: %w", err)
	}
	keys := filepath.Join(b.work, "keys-artifacts")
	if err := copyDir(b.keysDir, keys); err != nil {
		return nil, err
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(keys, artifactKeyName), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644); err != nil {
		return nil, err
	}
	repos, _, err := b.repositories()
	if err != nil {
		return nil, err
	}
	repos = append(repos, repo.Repository{URL: repoDir})
	var world []string
	for _, a := range b.sys.Artifacts {
		world = append(world, a.Name)
	}
	if _, _, err := b.transaction(repos, keys, lock, names, systemWorld(b.sys), world); err != nil {
		return nil, err
	}
	return locked, nil
}

// artifact returns the file of an artifact's package in the cache, made
// unless it is there already: the package depends only on the manifest's
// entry, the download's checksum, the architecture and the build time, so
// a warm cache neither downloads nor repacks, and the package is streamed,
// never held in memory.
func (b *builder) artifact(a manifest.Artifact, key *rsa.PrivateKey) (string, *apk.Package, error) {
	id := sha256Hex([]byte(strings.Join([]string{"cairn-artifact-1", strings.ToLower(a.SHA256), a.Extract, a.Name, a.Version,
		a.Path, a.Mode, a.Owner, strings.Join(a.Depends, " "), b.db.Arch(), fmt.Sprint(b.epoch.Unix())}, "\x00")))
	cached := filepath.Join(b.req.CacheDir, "artifact-packages", id+".apk")
	if info, err := readPackageInfo(cached, key); err == nil {
		return cached, info, nil
	}
	data, err := fetchArtifact(b.ctx, a, b.manifestDir, b.req.CacheDir, b.req.HTTP)
	if err != nil {
		return "", nil, err
	}
	content, err := extractMember(a, data)
	if err != nil {
		return "", nil, err
	}
	pkg, info, err := artifactPackage(a, content, b.db.Arch(), b.epoch.Unix(), apkfile.Signer{Key: key, Name: artifactKeyName, Stored: true})
	if err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(filepath.Dir(cached), 0o755); err != nil {
		return "", nil, err
	}
	if err := rootfs.WriteFileAt(cached, pkg, rootfs.WriteOptions{Perm: 0o644}); err != nil {
		return "", nil, err
	}
	return cached, info, nil
}

// readPackageInfo reads the index record of a cached artifact package,
// checking its signature with the artifact key; the data part is not read.
func readPackageInfo(path string, key *rsa.PrivateKey) (*apk.Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	kr := apkfile.NewKeyring()
	kr.AddKey(artifactKeyName, &key.PublicKey)
	rd, err := apkfile.Open(f, apkfile.Options{Keys: kr})
	if err != nil {
		return nil, err
	}
	info := *rd.Info
	info.Size = st.Size()
	return &info, nil
}

func copyDir(from, to string) error {
	if err := os.MkdirAll(to, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
