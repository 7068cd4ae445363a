package build

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/state"
	"github.com/cairnlinux/cairn/internal/store"
)

// IntoStore builds req into a staging tree of st and seals it as the
// store's next generation; req.Root is ignored. The caller holds the
// store's writer lock. On a btrfs store installed files are reflinked
// from the store's file cache, so files an earlier generation already
// has cost no data; on a plain store the finished tree's files are
// hard-linked with identical ones of earlier generations
// (Staging.ShareWithCache). A failed build removes its staging tree; nothing
// refers to a generation until it is sealed, and sealing changes neither
// the default nor the trial.
func IntoStore(ctx context.Context, st *store.Store, req Request) (*Result, store.Generation, error) {
	state, err := st.State()
	if err != nil {
		return nil, store.Generation{}, err
	}
	stage, err := st.BeginStaging()
	if err != nil {
		return nil, store.Generation{}, err
	}
	req.Root, req.InPlace = stage.Dir(), true
	if st.Backend() == store.BackendBtrfs {
		req.FileCache = st.FileCacheDir()
	}
	res, err := Build(ctx, req)
	if err != nil {
		if aerr := stage.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, store.Generation{}, err
	}
	if _, err := stage.ShareWithCache(); err != nil {
		if aerr := stage.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, store.Generation{}, err
	}
	warnSeeds(st, state, stage.Dir(), req.Err)
	g := res.Generation
	meta := store.Meta{
		Parent:         state.Default,
		Description:    g.Description,
		ManifestDigest: g.ManifestDigest,
		LockDigest:     g.LockDigest,
	}
	if meta.Description == "" {
		meta.Description = g.Name
	}
	for _, p := range g.Packages {
		meta.Packages = append(meta.Packages, store.Package{Name: p.Name, Version: p.Version})
		if p.Name == g.Kernel {
			meta.Kernel = p.Name + " " + p.Version
		}
	}
	gen, err := stage.Seal(meta)
	if err != nil {
		if aerr := stage.Abort(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, store.Generation{}, fmt.Errorf("build: %w", err)
	}
	res.Root = gen.Path
	return res, gen, nil
}

// warnSeeds warns, on w, about the seeds the new tree at root changes
// that the store's node already has (state.SeedChanges), compared with
// the default generation. The store's persistent directories are those
// of the node that boots from it.
func warnSeeds(st *store.Store, s store.State, root string, w io.Writer) {
	if w == nil {
		return
	}
	old := ""
	if s.Default != 0 {
		if g, err := st.Get(s.Default); err == nil {
			old = g.Path
		}
	}
	warnings, err := state.SeedChanges(root, old, func(p string) string { return layout.PersistPath(st.Dir(), p) })
	if err != nil {
		fmt.Fprintf(w, "cairn: warning: cannot compare the seeds with the node's: %v\n", err)
	}
	for _, m := range warnings {
		fmt.Fprintf(w, "cairn: warning: %s\n", m)
	}
}
