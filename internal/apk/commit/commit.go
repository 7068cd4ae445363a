// Package commit applies solved changesets to a root for real: it fetches
// the packages a changeset installs, in parallel and verified, from the
// repositories of an opened database, then has the installer apply it.
package commit

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/install"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// Options configure the installer; see install.Installer.
type Options struct {
	AllowUntrusted bool
	NoScripts      bool
	ForceOverwrite bool
	Out, Err       io.Writer
	// Repositories and KeysDir are written into a root that had no apk
	// database before (so apk inside it can carry on).
	Repositories []string
	KeysDir      string
	// FileCache, when set, shares file data between roots by reflink
	// (install.FileCache).
	FileCache string
	// ScriptsTime is install.Installer.ScriptsTime.
	ScriptsTime int64
}

// Committer fetches and installs the changesets it is given.
type Committer struct {
	ctx context.Context
	d   *database.Database
	in  *install.Installer
	// paths holds the verified .apk file of each package to install.
	paths map[*solver.Pkg]string
}

// New returns a committer into the root of d.
func New(ctx context.Context, d *database.Database, o Options) *Committer {
	c := &Committer{ctx: ctx, d: d, paths: map[*solver.Pkg]string{}}
	c.in = &install.Installer{
		Root: d.Root,
		Open: func(_ context.Context, p *solver.Pkg) (io.ReadCloser, error) {
			path, ok := c.paths[p]
			if !ok {
				return nil, fmt.Errorf("%s was not fetched", p.NameVersion())
			}
			return os.Open(path)
		},
		Verify:         apkfile.Options{Keys: d.Keys, AllowUntrusted: o.AllowUntrusted},
		NoScripts:      o.NoScripts,
		ForceOverwrite: o.ForceOverwrite,
		Out:            o.Out,
		Err:            o.Err,
		Arch:           d.Arch,
		ScriptsTime:    o.ScriptsTime,
	}
	if o.FileCache != "" {
		c.in.Files = &install.FileCache{Dir: o.FileCache}
	}
	if !d.Exists || d.Created {
		c.in.Repositories = o.Repositories
		c.in.KeysDir = o.KeysDir
	}
	return c
}

// Commit fetches what cs installs and applies cs.
func (c *Committer) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	var reqs []repo.FetchRequest
	var pkgs []*solver.Pkg
	for _, ch := range cs.Changes {
		p := ch.New
		if p == nil || (p == ch.Old && !ch.Reinstall) || p.InstalledSize == 0 {
			continue
		}
		if _, ok := c.paths[p]; ok {
			continue
		}
		r := c.d.RepositoryOf(p)
		if r == nil {
			return fmt.Errorf("%s: no repository holds it", p.NameVersion())
		}
		// The installer verifies each package's data as it extracts it.
		reqs = append(reqs, repo.FetchRequest{Repo: r.Repository, Pkg: p.Info(), ReaderVerifies: true})
		pkgs = append(pkgs, p)
	}
	if len(reqs) > 0 {
		if c.d.Client == nil {
			return fmt.Errorf("no repository client to fetch %s", pkgs[0].NameVersion())
		}
		paths, err := c.d.Client.Fetch(c.ctx, reqs)
		if err != nil {
			return err
		}
		for i, p := range pkgs {
			c.paths[p] = paths[i]
		}
	}
	return c.in.Committer(c.ctx).Commit(db, cs, world)
}
