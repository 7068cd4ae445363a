package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/install"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// fetchingCommitter fetches, in parallel, the packages a changeset
// installs, then has the installer apply it.
type fetchingCommitter struct {
	ctx context.Context
	d   *database.Database
	in  *install.Installer
	// paths holds the verified .apk file of each package to install.
	paths map[*solver.Pkg]string
}

func newInstaller(ctx context.Context, g *Globals, o *APKOptions, d *database.Database) *fetchingCommitter {
	fc := &fetchingCommitter{ctx: ctx, d: d, paths: map[*solver.Pkg]string{}}
	fc.in = &install.Installer{
		Root: d.Root,
		Open: func(_ context.Context, p *solver.Pkg) (io.ReadCloser, error) {
			path, ok := fc.paths[p]
			if !ok {
				return nil, fmt.Errorf("%s was not fetched", p.NameVersion())
			}
			return os.Open(path)
		},
		Verify:         apkfile.Options{Keys: d.Keys, AllowUntrusted: o.AllowUntrusted},
		NoScripts:      o.NoScripts,
		ForceOverwrite: o.Force || o.ForceOverwrite,
		Out:            g.Stdout,
		Err:            g.Stderr,
		Arch:           d.Arch,
	}
	if o.JSON {
		fc.in.Out = io.Discard
	}
	if !d.Exists || d.Created {
		// A new root gets the repositories and keys it was built from, so
		// that apk inside it can carry on.
		fc.in.Repositories = append(fc.in.Repositories, o.Repositories...)
		if o.KeysDir != "" {
			fc.in.KeysDir = o.KeysDir
		}
	}
	return fc
}

func (fc *fetchingCommitter) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	var reqs []repo.FetchRequest
	var pkgs []*solver.Pkg
	for _, c := range cs.Changes {
		p := c.New
		if p == nil || (p == c.Old && !c.Reinstall) || p.InstalledSize == 0 {
			continue
		}
		if _, ok := fc.paths[p]; ok {
			continue
		}
		r := fc.d.RepositoryOf(p)
		if r == nil {
			return fmt.Errorf("%s: no repository holds it", p.NameVersion())
		}
		reqs = append(reqs, repo.FetchRequest{Repo: r.Repository, Pkg: p.Info()})
		pkgs = append(pkgs, p)
	}
	if len(reqs) > 0 {
		paths, err := fc.d.Client.Fetch(fc.ctx, reqs)
		if err != nil {
			return err
		}
		for i, p := range pkgs {
			fc.paths[p] = paths[i]
		}
	}
	return fc.in.Committer(fc.ctx).Commit(db, cs, world)
}

// defaultCacheDir is where cairn keeps downloaded indexes and packages
// when no --cache-dir is given: a host directory, never inside the root
// being built.
func defaultCacheDir(g *Globals) string {
	if os.Geteuid() == 0 {
		return "/var/cache/cairn/apk"
	}
	if dir := g.Getenv("XDG_CACHE_HOME"); dir != "" {
		return filepath.Join(dir, "cairn", "apk")
	}
	if home := g.Getenv("HOME"); home != "" {
		return filepath.Join(home, ".cache", "cairn", "apk")
	}
	return filepath.Join(os.TempDir(), "cairn-apk-cache")
}
