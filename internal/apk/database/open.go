// Package database opens the apk state of a root directory (installed
// packages, world, repositories, keys) together with repository indexes
// into a solver.DB, as apk does when it opens its database.
package database

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// Paths of apk's state inside a root.
const (
	InstalledFile    = "lib/apk/db/installed"
	ScriptsFile      = "lib/apk/db/scripts.tar"
	TriggersFile     = "lib/apk/db/triggers"
	WorldFile        = "etc/apk/world"
	ArchFile         = "etc/apk/arch"
	LockFile         = "lib/apk/db/lock"
	RepositoriesFile = "etc/apk/repositories"
	KeysDir          = "etc/apk/keys"
)

// IndexLoader fetches a repository's index; *repo.Client is the real
// one. It returns the index archive's bytes, verified.
type IndexLoader interface {
	LoadIndexArchive(ctx context.Context, r repo.Repository) (*repo.IndexArchive, error)
}

// Options say which root and repositories to open.
type Options struct {
	// Root is the root directory; "" means no root state at all (a
	// database of repositories only, as `cairn apk resolve` uses).
	Root string
	// Repositories are used in addition to ROOT/etc/apk/repositories
	// (unless NoRootRepositories).
	Repositories       []repo.Repository
	NoRootRepositories bool
	// KeysDir holds the trusted keys; default ROOT/etc/apk/keys.
	KeysDir        string
	Arch           string
	AllowUntrusted bool
	NoNetwork      bool
	// Create makes an empty database when the root has none (apk add
	// --initdb); Simulate treats a missing database as empty.
	Create   bool
	Simulate bool
	// Loader loads indexes; nil means a repo.Client made from these
	// options and the keys.
	Loader IndexLoader
	// CacheDir, HTTP and Warnings configure that client.
	CacheDir string
	Warnings io.Writer
}

// Database is an opened apk database.
type Database struct {
	DB    *solver.DB
	Root  string
	Arch  string
	Keys  *apkfile.Keyring
	Repos []OpenedRepository
	// Installed holds the installed database records, in file order.
	Installed []*apk.InstalledPackage
	// Exists reports whether the root had an apk database; Created that
	// Open made a new one (Options.Create).
	Exists  bool
	Created bool
	// Client fetches packages from the repositories (nil when a custom
	// Loader was given).
	Client *repo.Client
}

// OpenedRepository is a repository with its solver repository number.
type OpenedRepository struct {
	repo.Repository
	Number      int
	Description string
	Packages    int
}

// RepositoryOf returns the first repository that holds pkg, or nil for
// a package only installed or cached.
func (d *Database) RepositoryOf(pkg *solver.Pkg) *OpenedRepository {
	for i := range d.Repos {
		if pkg.Repos&(1<<uint(d.Repos[i].Number)) != 0 {
			return &d.Repos[i]
		}
	}
	return nil
}

// NativeArch is apk's name for the architecture cairn runs on.
func NativeArch() string {
	switch runtime.GOARCH {
	case "amd64":
		return "x86_64"
	case "386":
		return "x86"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7"
	case "ppc64le":
		return "ppc64le"
	case "s390x":
		return "s390x"
	case "riscv64":
		return "riscv64"
	case "loong64":
		return "loongarch64"
	}
	return runtime.GOARCH
}

func readRootFile(root, name string) ([]byte, error) {
	return os.ReadFile(filepath.Join(root, name))
}

// Open loads the root's state and the repositories' indexes.
func Open(ctx context.Context, o Options) (*Database, error) {
	d := &Database{DB: solver.NewDB(), Root: o.Root}
	db := d.DB

	// Architecture and keys.
	d.Arch = o.Arch
	if d.Arch == "" && o.Root != "" {
		if b, err := readRootFile(o.Root, ArchFile); err == nil {
			d.Arch = strings.TrimSpace(string(b))
		}
	}
	if d.Arch == "" {
		d.Arch = NativeArch()
	}
	keysDir := o.KeysDir
	if keysDir == "" && o.Root != "" {
		keysDir = filepath.Join(o.Root, KeysDir)
	}
	d.Keys = apkfile.NewKeyring()
	if keysDir != "" {
		kr, err := apkfile.LoadKeyring(keysDir)
		switch {
		case err == nil:
			d.Keys = kr
		case errors.Is(err, fs.ErrNotExist) && o.KeysDir == "":
			// A root without keys trusts nothing.
		default:
			return nil, err
		}
	}

	// Root state: world first (apk creates names in this order), then the
	// installed packages.
	var repos []repo.Repository
	if o.Root != "" && o.Create && !o.Simulate {
		if _, err := os.Stat(filepath.Join(o.Root, WorldFile)); errors.Is(err, fs.ErrNotExist) {
			if err := Create(o.Root, d.Arch); err != nil {
				return nil, err
			}
			d.Created = true
		}
	}
	if o.Root != "" {
		world, err := readRootFile(o.Root, WorldFile)
		switch {
		case err == nil:
			d.Exists = true
			deps, _ := apk.ParseDependencies(strings.TrimSpace(string(world)))
			for _, dep := range deps {
				db.World = append(db.World, db.ResolveDep(dep))
			}
		case errors.Is(err, fs.ErrNotExist) && (o.Create || o.Simulate):
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("no apk database in %s (%s is missing); use --initdb to create one", o.Root, WorldFile)
		default:
			return nil, fmt.Errorf("read world: %w", err)
		}
		installed, err := readRootFile(o.Root, InstalledFile)
		switch {
		case err == nil:
			pkgs, err := apk.ParseInstalledDB(string(installed))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", filepath.Join(o.Root, InstalledFile), err)
			}
			d.Installed = pkgs
			AddInstalled(db, pkgs)
		case errors.Is(err, fs.ErrNotExist):
		default:
			return nil, fmt.Errorf("read installed database: %w", err)
		}
		if !o.NoRootRepositories {
			// Command line repositories come first, as in apk.
			repos = append(repos, o.Repositories...)
			rootRepos, err := rootRepositories(o.Root)
			if err != nil {
				return nil, err
			}
			repos = append(repos, rootRepos...)
		} else {
			repos = o.Repositories
		}
	} else {
		repos = o.Repositories
	}

	loader := o.Loader
	if loader == nil {
		d.Client = &repo.Client{
			CacheDir:       o.CacheDir,
			Keys:           d.Keys,
			AllowUntrusted: o.AllowUntrusted,
			Arch:           d.Arch,
			Offline:        o.NoNetwork,
			Warnings:       o.Warnings,
		}
		loader = d.Client
	}
	for i, r := range repos {
		number := solver.RepoFirstConfigured + i
		if number >= 32 {
			return nil, fmt.Errorf("too many repositories (%d); apk supports 31", len(repos))
		}
		arc, err := loader.LoadIndexArchive(ctx, r)
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w", r.URL, err)
		}
		// Streaming the index from the archive checks its signature
		// once more (a few milliseconds) rather than trusting the loader.
		ir, err := apkfile.OpenIndex(arc.Data, apkfile.Options{Keys: d.Keys, AllowUntrusted: o.AllowUntrusted})
		if err != nil {
			return nil, fmt.Errorf("repository %s: %w", r.URL, err)
		}
		// Alpine's indexes hold one package per 85-100 compressed
		// bytes, and about 2.3 names per package; beyond 100,000
		// packages (four times Alpine's) the tables grow as needed.
		est := min(len(arc.Data)/85, 100_000)
		db.Reserve(est, est*5/2)
		ra := newReadahead(ctxReader{ctx, ir})
		count, err := db.AddIndex(ra, number)
		ra.Close()
		if err != nil {
			return nil, fmt.Errorf("repository %s: index %w", r.URL, err)
		}
		if !o.NoNetwork || !r.IsRemote() {
			db.AvailableRepos |= 1 << uint(number)
		}
		tag := db.TagID(r.Tag)
		if tag < 0 {
			return nil, fmt.Errorf("repository %s: too many repository tags", r.URL)
		}
		db.Tags[tag].AllowedRepos |= 1 << uint(number)
		d.Repos = append(d.Repos, OpenedRepository{Repository: r, Number: number, Description: ir.Description, Packages: count})
	}
	db.CompleteOpen()
	if len(repos) > 0 {
		// Loading large indexes leaves the live data (~20 MB for Alpine's
		// main and community) among as much garbage; collecting it now
		// keeps the peak memory of the solve that follows near the live
		// size instead of twice it.
		runtime.GC()
	}
	return d, nil
}

// rootRepositories reads etc/apk/repositories and repositories.d/*.list.
func rootRepositories(root string) ([]repo.Repository, error) {
	files := []string{filepath.Join(root, RepositoriesFile)}
	lists, _ := filepath.Glob(filepath.Join(root, "etc/apk/repositories.d/*.list"))
	sort.Strings(lists)
	var repos []repo.Repository
	for _, f := range append(files, lists...) {
		b, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read repositories: %w", err)
		}
		rs, err := repo.ParseRepositoriesFile(string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		repos = append(repos, rs...)
	}
	return repos, nil
}

// ResolveWorld interns a parsed world in the database.
func (d *Database) ResolveWorld(deps []apk.Dependency) []solver.Dep {
	out := make([]solver.Dep, len(deps))
	for i, dep := range deps {
		out[i] = d.DB.ResolveDep(dep)
	}
	return out
}
