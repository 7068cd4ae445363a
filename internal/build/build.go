// Package build turns a manifest into a complete root file system: it
// resolves the packages (respecting cairn.lock), installs them with
// cairn's apk engine, wraps and installs artifacts, writes what the
// manifest declares (accounts, services, system settings, files), runs
// the setup scripts, and makes the result reproducible. It builds beside
// the target and renames into place, so a failed build leaves nothing.
package build

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"time"

	"github.com/cairnlinux/cairn/internal/apk/engine"
	"github.com/cairnlinux/cairn/internal/compose"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/openrc"
)

// Request is one build.
type Request struct {
	// Manifest is the merged, validated manifest with defaults applied;
	// ManifestPath is where it was read from (relative paths in it are
	// relative to its directory).
	Manifest     *manifest.System
	ManifestPath string
	// Root is where the tree goes. It is built beside it and renamed
	// into place; an existing tree there is replaced. With InPlace, Root
	// is an empty directory the caller made (a store's staging tree),
	// built in directly; on failure the caller removes it.
	Root    string
	InPlace bool
	// Lock pins the packages; nil resolves afresh. Frozen refuses to
	// build when Lock is missing or does not match the manifest.
	Lock   *manifest.Lock
	Frozen bool
	// CacheDir keeps downloaded indexes, packages and artifacts.
	CacheDir string
	// FileCache, when set, is a directory on the root's file system from
	// which installed files are reflinked (see install.FileCache): a
	// generation store on btrfs passes its own.
	FileCache string
	// NoScripts skips package scripts and setup scripts.
	NoScripts bool
	// Offline reads only local repositories and the cache (Check, for
	// cairn validate).
	Offline bool
	HTTP    *http.Client
	// Out receives the build log; Err warnings.
	Out, Err io.Writer
	// Version is cairn's version, recorded in the generation.
	Version string
	// Self is the cairn binary to install into a bootable system (one
	// with a kernel), with the cairn-confirm service that confirms a
	// trial boot; empty installs neither, and such a system's trial boots
	// are never confirmed.
	Self string
	// Init is the cairn-init binary installed beside it, from which the
	// generation's initramfs is made; empty installs none.
	Init string
	// Sources are the manifest's files as they were read (the top one
	// first; manifest.File.Sources). The generation keeps them, with the
	// lock, in layout.ManifestDir; none keeps nothing.
	Sources []manifest.Source
}

// Result is what a build made.
type Result struct {
	Root string
	// Lock is the lock the build used or made.
	Lock     *manifest.Lock
	Packages []*manifest.LockedPackage
	// Generation is what the tree records in /usr/lib/cairn/generation.json.
	Generation layout.Generation
	Duration   time.Duration
}

// Build runs a build. On any failure the target is left as it was.
func Build(ctx context.Context, req Request) (res *Result, err error) {
	start := time.Now()
	sys := req.Manifest
	if req.Frozen {
		if req.Lock == nil {
			return nil, errors.New("--frozen: there is no cairn.lock; run cairn lock first")
		}
		if err := req.Lock.Matches(sys); err != nil {
			return nil, fmt.Errorf("--frozen: %w", err)
		}
	}
	lock := req.Lock
	if lock != nil && lock.Matches(sys) != nil {
		lock = nil // the manifest changed: resolve again
	}

	root, err := filepath.Abs(req.Root)
	if err != nil {
		return nil, err
	}
	if req.InPlace {
		return buildInPlace(ctx, req, root, lock, start)
	}
	if err := os.MkdirAll(filepath.Dir(root), 0o755); err != nil {
		return nil, err
	}
	staging, err := os.MkdirTemp(filepath.Dir(root), "."+filepath.Base(root)+".cairn-build-")
	if err != nil {
		return nil, fmt.Errorf("staging directory: %w", err)
	}
	if err := os.Chmod(staging, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(staging)
		}
	}()
	if res, err = buildInPlace(ctx, req, staging, lock, start); err != nil {
		return nil, err
	}
	if err := replace(staging, root); err != nil {
		return nil, err
	}
	res.Root = root
	return res, nil
}

// buildInPlace builds into the empty directory root.
func buildInPlace(ctx context.Context, req Request, root string, lock *manifest.Lock, start time.Time) (*Result, error) {
	if names, err := os.ReadDir(root); err != nil {
		return nil, err
	} else if len(names) > 0 {
		return nil, fmt.Errorf("build into %s: the directory is not empty", root)
	}
	work, err := os.MkdirTemp("", "cairn-build-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	b := &builder{ctx: ctx, req: req, sys: req.Manifest, root: root, work: work, manifestDir: dirOf(req.ManifestPath)}
	if lock, err = b.run(lock); err != nil {
		return nil, err
	}
	return &Result{Root: root, Lock: lock, Generation: b.gen, Duration: time.Since(start)}, nil
}
func dirOf(manifestPath string) string {
	d, err := filepath.Abs(filepath.Dir(manifestPath))
	if err != nil {
		return filepath.Dir(manifestPath)
	}
	return d
}

// replace puts the built tree at root, moving an old tree aside first.
func replace(staging, root string) error {
	old := ""
	if _, err := os.Lstat(root); err == nil {
		old = staging + ".old"
		if err := os.Rename(root, old); err != nil {
			return fmt.Errorf("move the old %s aside: %w", root, err)
		}
	}
	if err := os.Rename(staging, root); err != nil {
		if old != "" {
			os.Rename(old, root)
		}
		return fmt.Errorf("rename the build into place: %w", err)
	}
	if old != "" {
		os.RemoveAll(old)
	}
	return nil
}

type builder struct {
	ctx         context.Context
	req         Request
	sys         *manifest.System
	root        string // the staging root
	work        string // scratch space outside the root
	manifestDir string
	keysDir     string // the manifest's trusted keys, gathered
	epoch       time.Time
	db          *engine.Engine    // after the first transaction
	spelled     map[string]string // resolved repository URL -> the manifest's
	gen         layout.Generation // what was built, once run returns
}

func (b *builder) logf(format string, args ...any) {
	if b.req.Out != nil {
		fmt.Fprintf(b.req.Out, format+"\n", args...)
	}
}

func (b *builder) run(lock *manifest.Lock) (*manifest.Lock, error) {
	var err error
	if b.keysDir, err = b.gatherKeys(); err != nil {
		return nil, err
	}
	// What the packages make of the manifest, before anything is built.
	if _, err := b.check(lock); err != nil {
		return nil, err
	}

	// 1. Packages, exactly those of the lock when there is one.
	b.logf("== packages")
	installed, err := b.installPackages(lock)
	if err != nil {
		return nil, err
	}
	if lock == nil {
		lock = b.makeLock(installed)
	}
	b.epoch = time.Unix(lock.SourceDateEpoch, 0).UTC()

	// What the tenants and containers imply, written out as the manifest
	// would write it (eff), and their images.
	eff, images, err := b.effective()
	if err != nil {
		return nil, err
	}

	// 2. Accounts, before artifacts so their owners resolve.
	b.logf("== accounts")
	if err := compose.Accounts(b.root, eff.Users, eff.Groups, b.epoch); err != nil {
		return nil, err
	}

	// 3. Artifacts, as local packages.
	if len(b.sys.Artifacts) > 0 {
		b.logf("== artifacts")
		arts, err := b.installArtifacts(lock)
		if err != nil {
			return nil, err
		}
		lock.Artifacts = arts
	}

	// 4. System settings, files, then services: a runlevel may list an
	// init script that the manifest's own files (or an artifact) bring.
	b.logf("== system")
	if err := compose.System(b.root, eff, b.epoch); err != nil {
		return nil, err
	}
	if err := compose.Files(b.root, b.manifestDir, eff.Files, b.epoch); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(images)) {
		b.logf("== container %s: %s", name, images[name].Ref)
		if err := images[name].Write(b.root); err != nil {
			return nil, fmt.Errorf("containers.%s: %w", name, err)
		}
	}
	if err := openrc.Install(b.root, eff.Services, b.epoch); err != nil {
		return nil, err
	}
	// Secrets, encrypted, once every init script is there.
	if err := compose.Secrets(b.root, b.manifestDir, b.sys.Secrets, b.epoch); err != nil {
		return nil, err
	}
	if len(b.sys.Secrets) > 0 && (b.req.Self == "" || b.sys.Kernel.Package == "") && b.req.Err != nil {
		fmt.Fprintln(b.req.Err, "cairn: warning: this system has secrets but no cairn in it (it has no kernel): nothing will decrypt them; the image carries them encrypted")
	}
	if b.req.Self != "" && b.sys.Kernel.Package != "" {
		if err := compose.Confirm(b.root, b.req.Self, b.req.Init, b.epoch); err != nil {
			return nil, err
		}
	}

	// 5. Setup scripts.
	if err := b.runSetup(); err != nil {
		return nil, err
	}

	// 6. What was built, then reproducible times and depmod's lists.
	if err := compose.Declared(b.root, b.manifestDir, b.sys, b.epoch); err != nil {
		return nil, err
	}
	if err := sortDepmodLists(b.root); err != nil {
		return nil, fmt.Errorf("depmod's lists: %w", err)
	}
	gen := layout.Generation{
		Name:           b.sys.Name,
		Description:    b.sys.Description,
		ManifestDigest: b.sys.Digest(),
		LockDigest:     lock.Digest(),
		Kernel:         b.sys.Kernel.Package,
		BuildTime:      b.epoch,
		CairnVersion:   b.req.Version,
	}
	if len(b.req.Sources) > 0 {
		files := make([]compose.ManifestFile, 0, len(b.req.Sources)+1)
		for _, s := range b.req.Sources {
			files = append(files, compose.ManifestFile{Path: s.Path, Data: s.Data})
		}
		gen.Manifest = b.req.Sources[0].Path
		files = append(files, compose.ManifestFile{Path: path.Clean(filepath.ToSlash(manifest.LockPath(gen.Manifest))), Data: lock.Bytes()})
		if err := compose.WriteManifest(b.root, files, b.epoch); err != nil {
			return nil, err
		}
	}
	for _, p := range lock.Packages {
		gen.Packages = append(gen.Packages, layout.GenerationPackage{Name: p.Name, Version: p.Version})
	}
	if err := compose.WriteGeneration(b.root, gen, b.epoch); err != nil {
		return nil, err
	}
	b.gen = gen
	if err := clampTimes(b.root, b.epoch); err != nil {
		return nil, err
	}
	return lock, nil
}
