package build

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// Lock resolves a manifest's packages afresh, without installing them,
// and returns the lock pinning them and its artifacts.
func Lock(ctx context.Context, req Request) (*manifest.Lock, error) {
	work, err := os.MkdirTemp("", "cairn-lock-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	b := &builder{ctx: ctx, req: req, sys: req.Manifest, work: work, manifestDir: dirOf(req.ManifestPath)}
	if b.keysDir, err = b.gatherKeys(); err != nil {
		return nil, err
	}
	repos, spelled, err := b.repositories()
	if err != nil {
		return nil, err
	}
	d, err := database.Open(ctx, database.Options{
		Repositories:   repos,
		KeysDir:        b.keysDir,
		Arch:           b.sys.Alpine.Arch,
		AllowUntrusted: b.sys.Alpine.AllowUntrusted,
		CacheDir:       req.CacheDir,
		Warnings:       req.Err,
	})
	if err != nil {
		return nil, err
	}
	// The same world as the build's first transaction.
	var world []solver.Dep
	names := systemWorld(b.sys)
	for _, a := range b.sys.Artifacts {
		names = append(names, a.Depends...)
	}
	for _, p := range names {
		dep, err := apk.ParseDependency(p)
		if err != nil {
			return nil, fmt.Errorf("package %q: %w", p, err)
		}
		world = append(world, d.DB.ResolveDep(dep))
	}
	cs, nerr := d.DB.Solve(0, world)
	if nerr > 0 {
		if req.Err != nil {
			d.DB.PrintErrors(cs, world, solver.Output{Stdout: req.Err, Stderr: req.Err})
		}
		return nil, solver.ErrUnsatisfiable
	}
	var installed []*solver.Pkg
	for _, c := range cs.Changes {
		if c.New != nil {
			installed = append(installed, c.New)
		}
	}
	b.db, b.spelled = d, spelled
	l := b.makeLock(installed)
	for _, a := range b.sys.Artifacts {
		l.Artifacts = append(l.Artifacts, manifest.LockedArtifact{Name: a.Name, URL: a.URL, SHA256: strings.ToLower(a.SHA256)})
	}
	return l, nil
}
