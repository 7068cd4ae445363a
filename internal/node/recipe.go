package node

import (
	"errors"
	"fmt"
	"io"
	"io/fs"

	"github.com/cairnlinux/cairn/internal/build"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// Recipe is what a build starts from: a manifest, read, validated and
// with its defaults applied, and the lock beside it. cairn.lock is read
// and written here only.
type Recipe struct {
	// File is the manifest's path.
	File     string
	Manifest *manifest.File
	// Lock is the lock beside the manifest (manifest.LockPath); nil when
	// there is none.
	Lock *manifest.Lock
}

// LoadRecipe reads the manifest file and the lock beside it. A manifest
// that does not validate is a ManifestError; one that cannot be read,
// an UnreadableError.
func LoadRecipe(file string) (*Recipe, error) {
	f, err := manifest.LoadFile(file)
	if err != nil {
		var errs manifest.Errors
		if errors.As(err, &errs) {
			return nil, &ManifestError{File: file, Problems: errs}
		}
		return nil, &UnreadableError{Err: err}
	}
	f.ApplyDefaults()
	lock, err := ReadLock(file)
	if err != nil {
		return nil, err
	}
	return &Recipe{File: file, Manifest: f, Lock: lock}, nil
}

// ReadLock reads the lock beside the manifest file; nil when there is
// none.
func ReadLock(file string) (*manifest.Lock, error) {
	l, err := manifest.ReadLock(manifest.LockPath(file))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return l, err
}

// LockPath is where the recipe's lock is.
func (r *Recipe) LockPath() string { return manifest.LockPath(r.File) }

// saveLock writes l beside the manifest unless it is the lock read with
// it; it reports whether it wrote.
func (r *Recipe) saveLock(l *manifest.Lock) (bool, error) {
	if r.Lock != nil && r.Lock.Digest() == l.Digest() {
		return false, nil
	}
	if err := r.writeLock(l); err != nil {
		return false, fmt.Errorf("write cairn.lock: %w", err)
	}
	return true, nil
}

// writeLock replaces the lock beside the manifest with l.
func (r *Recipe) writeLock(l *manifest.Lock) error {
	if err := manifest.WriteLock(r.LockPath(), l); err != nil {
		return err
	}
	r.Lock = l
	return nil
}

// BuildOptions are a build's choices besides the recipe.
type BuildOptions struct {
	// Frozen fails unless the lock exists and matches the manifest.
	Frozen bool
	// CacheDir keeps downloads; building into a store, empty is the
	// store's own cache (@cairn/cache/downloads).
	CacheDir  string
	NoScripts bool
	// NoLock leaves cairn.lock as it is.
	NoLock bool
	// Out receives the build's log, Err its warnings; nil discards.
	Out, Err io.Writer
	// Version is cairn's, recorded in the generation.
	Version string
	// Self and Init are the cairn and cairn-init binaries a bootable
	// generation carries (build.Request).
	Self, Init string
}

// request is the build of the recipe with o.
func (r *Recipe) request(o BuildOptions) build.Request {
	out := o.Out
	if out == nil {
		out = io.Discard
	}
	return build.Request{
		Manifest:     r.Manifest.System,
		ManifestPath: r.File,
		Lock:         r.Lock,
		Frozen:       o.Frozen,
		CacheDir:     o.CacheDir,
		NoScripts:    o.NoScripts,
		Out:          out,
		Err:          o.Err,
		Version:      o.Version,
		Sources:      r.Manifest.Sources,
		Self:         o.Self,
		Init:         o.Init,
	}
}
