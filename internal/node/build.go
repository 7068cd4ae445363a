package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/build"
	"github.com/cairnlinux/cairn/internal/image"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/store"
)

// BuildReport is what a build made.
type BuildReport struct {
	Root            string  `json:"root"`
	Generation      int     `json:"generation,omitempty"`
	LockDigest      string  `json:"lockDigest"`
	SourceDateEpoch int64   `json:"sourceDateEpoch"`
	Packages        int     `json:"packages"`
	Seconds         float64 `json:"seconds"`
	// State is the store's state after a switch to the new generation
	// (Session.Switch), when the caller made one.
	State *StateReport `json:"state,omitempty"`
	// LockWritten says cairn.lock was written (it was missing or did
	// not pin what the build installed).
	LockWritten bool `json:"-"`
}

func buildReport(res *build.Result, gen int) BuildReport {
	return BuildReport{Root: res.Root, Generation: gen, LockDigest: res.Lock.Digest(), SourceDateEpoch: res.Lock.SourceDateEpoch,
		Packages: len(res.Lock.Packages), Seconds: res.Duration.Seconds()}
}

// Build builds the recipe in the store's staging area and seals it as
// the store's next generation (read-only, metadata written and synced),
// then brings the boot entries in line: the new generation gets its
// entry, and what boots does not change (Switch does that). It writes
// the lock beside the manifest when it changed, unless o.NoLock. A
// failed build leaves nothing behind.
func (ss *Session) Build(ctx context.Context, r *Recipe, o BuildOptions) (BuildReport, error) {
	s := ss.Store
	if o.CacheDir == "" {
		o.CacheDir = filepath.Join(s.CacheDir(), "downloads")
	}
	res, sealed, err := build.IntoStore(ctx, s, r.request(o))
	if err != nil {
		return BuildReport{}, explain(r.Manifest, fullHint(err, "the file system holding the store is full; nothing was kept: free some space, for example with `cairn gc`, and try again"))
	}
	gen := sealed.Number
	state, err := s.State()
	if err == nil {
		err = ss.syncBoot(nil, state)
	}
	if err != nil {
		return BuildReport{Generation: gen}, fmt.Errorf("built generation %d, but %w", gen, err)
	}
	report := buildReport(res, gen)
	if !o.NoLock {
		if report.LockWritten, err = r.saveLock(res.Lock); err != nil {
			return report, err
		}
	}
	return report, nil
}

// BuildTree builds the recipe into the directory root: built beside it
// and renamed into place, so a failed build leaves nothing. It writes the
// lock beside the manifest when it changed, unless o.NoLock.
func BuildTree(ctx context.Context, r *Recipe, root string, o BuildOptions) (BuildReport, error) {
	req := r.request(o)
	req.Root = root
	res, err := build.Build(ctx, req)
	if err != nil {
		return BuildReport{}, explain(r.Manifest, fullHint(err, "the file system holding the root is full: free some space and try again"))
	}
	report := buildReport(res, 0)
	if !o.NoLock {
		if report.LockWritten, err = r.saveLock(res.Lock); err != nil {
			return report, err
		}
	}
	return report, nil
}

// LockReport is what Lock did: the lock file, whether it was written
// (false: it was up to date), and the lock.
type LockReport struct {
	Path    string         `json:"path"`
	Written bool           `json:"written"`
	Lock    *manifest.Lock `json:"lock"`
}

// Lock resolves the recipe's packages without installing them and pins
// them by version and checksum in the lock beside the manifest. A lock
// that matches the manifest is kept unless update asks for the newest
// packages.
func Lock(ctx context.Context, r *Recipe, update bool, o BuildOptions) (LockReport, error) {
	if r.Lock != nil && !update && r.Lock.Matches(r.Manifest.System) == nil {
		return LockReport{Path: r.LockPath(), Lock: r.Lock}, nil
	}
	req := build.Request{Manifest: r.Manifest.System, ManifestPath: r.File, CacheDir: o.CacheDir, Err: o.Err}
	l, err := build.Lock(ctx, req)
	if err != nil {
		return LockReport{}, explain(r.Manifest, err)
	}
	if err := r.writeLock(l); err != nil {
		return LockReport{}, err
	}
	return LockReport{Path: r.LockPath(), Written: true, Lock: l}, nil
}

// SourceRequest names the system an image or an installation is made
// of: generation Generation of the store Store, or, when Generation is
// 0, the manifest File built (with Build's options) into a temporary
// directory.
type SourceRequest struct {
	File       string
	Generation int
	Store      StoreOptions
	Build      BuildOptions
}

// Source finds or builds the system req names. The tree stays until
// cleanup is called (a generation's stays anyway); meta is the
// generation's metadata, nil for a manifest.
func Source(ctx context.Context, req SourceRequest) (src image.Source, meta *store.Meta, cleanup func(), err error) {
	none := func() {}
	if req.Generation != 0 {
		n, err := Inspect(req.Store)
		if err != nil {
			return image.Source{}, nil, none, err
		}
		gen, err := n.Store.Get(req.Generation)
		if err != nil {
			return image.Source{}, nil, none, err
		}
		src := image.Source{Root: gen.Path, Arch: readArch(gen.Path)}
		if rec, err := layout.ReadGeneration(gen.Path); err == nil {
			src.Epoch = rec.BuildTime
		}
		meta := gen.Meta
		return src, &meta, none, nil
	}
	r, err := LoadRecipe(req.File)
	if err != nil {
		return image.Source{}, nil, none, err
	}
	work, err := os.MkdirTemp("", "cairn-image-")
	if err != nil {
		return image.Source{}, nil, none, err
	}
	cleanup = func() { os.RemoveAll(work) }
	breq := r.request(req.Build)
	breq.Root = filepath.Join(work, "root")
	res, err := build.Build(ctx, breq)
	if err != nil {
		cleanup()
		return image.Source{}, nil, none, explain(r.Manifest, err)
	}
	arch := r.Manifest.System.Alpine.Arch
	if arch == "" {
		arch = readArch(res.Root)
	}
	return image.Source{Root: res.Root, Epoch: time.Unix(res.Lock.SourceDateEpoch, 0).UTC(), Arch: arch}, nil, cleanup, nil
}

// readArch is the architecture apk recorded in a root (/etc/apk/arch).
func readArch(root string) string {
	b, err := os.ReadFile(filepath.Join(root, "etc/apk/arch"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
