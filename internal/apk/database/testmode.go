package database

import (
	"fmt"
	"os"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// TestModeTime is the clock apk-tools' test build uses, so virtual package
// versions in its test cases are fixed (20190603.131426).
const TestModeTime = 1559567666

// TestOptions describe an in-memory database the way apk-tools' test mode
// builds one (apk-test --test-repo/--test-instdb/--test-world).
type TestOptions struct {
	// Repos are plain-text indexes: "[!][tag:]FILE". A leading '!' makes
	// the file the contents of the package cache rather than a repository.
	Repos     []string
	Installed string // an installed database file, or ""
	World     string // the world, space separated
	NoNetwork bool
}

// OpenTest builds a solver DB from plain-text test files.
func OpenTest(o TestOptions) (*solver.DB, error) {
	db := solver.NewDB()
	// apk computes reverse dependencies when the database opens, which in
	// test mode is before anything is loaded: everything later is added
	// incrementally.
	db.CompleteOpen()

	if o.World != "" {
		deps, _ := apk.ParseDependencies(o.World)
		for _, d := range deps {
			db.World = append(db.World, db.ResolveDep(d))
		}
	}
	if o.Installed != "" {
		text, err := os.ReadFile(o.Installed)
		if err != nil {
			return nil, fmt.Errorf("read installed database: %w", err)
		}
		if err := AddInstalledText(db, string(text)); err != nil {
			return nil, fmt.Errorf("%s: %w", o.Installed, err)
		}
	}
	for i, spec := range o.Repos {
		repo := solver.RepoFirstConfigured + i
		if strings.HasPrefix(spec, "!") {
			spec = spec[1:]
			repo = solver.RepoCacheOnly
		}
		tag := 0
		file := spec
		if t, f, ok := strings.Cut(spec, ":"); ok {
			tag = db.TagID(t)
			file = f
		}
		text, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("open test repository %s: %w", file, err)
		}
		pkgs, err := apk.ParseIndex(string(text))
		if err != nil {
			return nil, fmt.Errorf("test repository %s: %w", file, err)
		}
		for _, p := range pkgs {
			db.AddPackage(p, repo, nil)
		}
		if repo != solver.RepoCacheOnly {
			if !o.NoNetwork {
				db.AvailableRepos |= 1 << uint(repo)
			}
			db.Tags[tag].AllowedRepos |= 1 << uint(repo)
		}
	}
	return db, nil
}

// AddInstalledText adds the packages of an installed database to db.
func AddInstalledText(db *solver.DB, text string) error {
	pkgs, err := apk.ParseInstalledDB(text)
	if err != nil {
		return err
	}
	AddInstalled(db, pkgs)
	return nil
}

// AddInstalled adds installed packages to db, in database order.
func AddInstalled(db *solver.DB, pkgs []*apk.InstalledPackage) {
	for _, ip := range pkgs {
		inst := &solver.Installed{
			ReplacesPriority: ip.ReplacesPriority,
			BrokenFiles:      ip.BrokenFiles,
			BrokenScript:     ip.BrokenScript,
			BrokenXattr:      ip.BrokenXattr,
			Record:           ip,
		}
		if ip.RepositoryTag != "" {
			inst.RepositoryTag = db.TagID(ip.RepositoryTag)
		}
		for _, r := range ip.Replaces {
			inst.Replaces = append(inst.Replaces, db.ResolveDep(r))
		}
		db.AddPackage(&ip.Package, solver.RepoInstalled, inst)
	}
}
