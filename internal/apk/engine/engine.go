// Package engine is the apk engine's one entry point, as apko's apk.New
// is: New opens a root's apk database with its repositories and keys (or
// repositories alone, or apk-tools' plain-text test mode), configured by
// options; Resolve selects the packages of a world; Install installs a
// world into the root; Session runs apk's own commands (add, del, fix,
// upgrade) against it.
//
// Nothing here prints an error. A world that cannot be satisfied is a
// *solver.UnsatisfiableError carrying apk's report; the caller renders it
// (`cairn apk` as apk does, the build inside its own message). What an
// installation prints as it goes (apk's change lines) goes to the writer
// WithOutput names, warnings to its second writer; both default to
// nowhere.
package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/commit"
	"github.com/cairnlinux/cairn/internal/apk/database"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// Engine is an opened apk database and how it installs.
type Engine struct {
	cfg config
	d   *database.Database // nil in test mode
	db  *solver.DB
	// commit is the committer of a real installation, kept across a
	// reopen (apk's self-upgrade).
	commit *swappable
}

type config struct {
	db       database.Options
	test     *database.TestOptions
	install  commit.Options
	simulate bool
	force    bool
	restrict func(*solver.Pkg) bool
	now      time.Time
	width    int
	fetcher  *repo.Client
}

// Option configures New.
type Option func(*config)

// WithRoot works on the root directory root: its installed packages,
// world, repositories and keys. Without it the database has repositories
// only (a resolve).
func WithRoot(root string) Option { return func(c *config) { c.db.Root = root } }

// WithRepositories adds repositories to the root's
// (etc/apk/repositories).
func WithRepositories(repos ...repo.Repository) Option {
	return func(c *config) { c.db.Repositories = append(c.db.Repositories, repos...) }
}

// WithoutRootRepositories ignores the root's etc/apk/repositories: only
// WithRepositories's count.
func WithoutRootRepositories() Option { return func(c *config) { c.db.NoRootRepositories = true } }

// WithKeysDir trusts the keys in dir instead of ROOT/etc/apk/keys.
func WithKeysDir(dir string) Option { return func(c *config) { c.db.KeysDir = dir } }

// WithArch sets the package architecture (default: the root's, else this
// machine's).
func WithArch(arch string) Option { return func(c *config) { c.db.Arch = arch } }

// WithAllowUntrusted accepts unsigned or badly signed indexes and
// packages.
func WithAllowUntrusted(allow bool) Option {
	return func(c *config) { c.db.AllowUntrusted, c.install.AllowUntrusted = allow, allow }
}

// WithNoNetwork uses no remote repository.
func WithNoNetwork(no bool) Option { return func(c *config) { c.db.NoNetwork = no } }

// WithInitDB makes an empty database in a root that has none (apk add
// --initdb).
func WithInitDB(create bool) Option { return func(c *config) { c.db.Create = create } }

// WithSimulate changes nothing on disk: a missing database is empty, and
// sessions only print what they would do.
func WithSimulate(simulate bool) Option {
	return func(c *config) { c.db.Simulate, c.simulate = simulate, simulate }
}

// WithCacheDir keeps downloaded indexes and packages in dir.
func WithCacheDir(dir string) Option { return func(c *config) { c.db.CacheDir = dir } }

// WithIndexLoader loads the repositories' indexes through l instead of
// fetching them (indexes already loaded and checked).
func WithIndexLoader(l database.IndexLoader) Option { return func(c *config) { c.db.Loader = l } }

// WithOutput sends apk's change lines to out and warnings to warnings;
// nil is nowhere.
func WithOutput(out, warnings io.Writer) Option {
	return func(c *config) {
		c.install.Out, c.install.Err, c.db.Warnings = out, warnings, warnings
	}
}

// WithWidth is the screen width reports wrap at (apk's 50 when not a
// terminal, the default).
func WithWidth(columns int) Option { return func(c *config) { c.width = columns } }

// WithClock is the time virtual packages are versioned with (apk add -t).
func WithClock(now time.Time) Option { return func(c *config) { c.now = now } }

// WithForceBrokenWorld continues with the satisfiable part of a broken
// world.
func WithForceBrokenWorld(force bool) Option { return func(c *config) { c.force = force } }

// WithRestrict hides every package keep refuses from the solver (a lock's
// packages only).
func WithRestrict(keep func(*solver.Pkg) bool) Option { return func(c *config) { c.restrict = keep } }

// InstallOptions say how packages are installed; see install.Installer.
type InstallOptions struct {
	NoScripts      bool
	ForceOverwrite bool
	// FileCache shares file data between roots by reflink.
	FileCache string
	// ScriptsTime is the time of lib/apk/db/scripts.tar's entries.
	ScriptsTime int64
	// Repositories and KeysDir are written into a root that had no apk
	// database before, so apk inside it can carry on.
	Repositories []string
	KeysDir      string
}

// WithInstall sets how packages are installed.
func WithInstall(o InstallOptions) Option {
	return func(c *config) {
		c.install.NoScripts, c.install.ForceOverwrite = o.NoScripts, o.ForceOverwrite
		c.install.FileCache, c.install.ScriptsTime = o.FileCache, o.ScriptsTime
		c.install.Repositories, c.install.KeysDir = o.Repositories, o.KeysDir
	}
}

// WithTestMode builds the database from apk-tools' plain-text test files
// (apk-test --test-repo, --test-instdb, --test-world) in memory; every
// session is a simulation on apk-tools' test clock.
func WithTestMode(o database.TestOptions) Option {
	return func(c *config) {
		c.test, c.simulate = &o, true
		c.now = time.Unix(database.TestModeTime, 0)
	}
}

// New opens the database the options describe.
func New(ctx context.Context, opts ...Option) (*Engine, error) {
	e := &Engine{}
	for _, o := range opts {
		o(&e.cfg)
	}
	if err := e.open(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) open(ctx context.Context) error {
	if e.cfg.test != nil {
		db, err := database.OpenTest(*e.cfg.test)
		if err != nil {
			return err
		}
		e.db = db
	} else {
		d, err := database.Open(ctx, e.cfg.db)
		if err != nil {
			return err
		}
		e.d, e.db = d, d.DB
		if e.cfg.fetcher != nil {
			d.Client = e.cfg.fetcher
		}
	}
	e.db.ForceBrokenWorld = e.cfg.force
	if e.cfg.restrict != nil {
		e.db.Restrict(e.cfg.restrict)
	}
	return nil
}

// DB is the solver's database: names, packages, the world.
func (e *Engine) DB() *solver.DB { return e.db }

// Database is the opened root and repositories; nil in test mode.
func (e *Engine) Database() *database.Database { return e.d }

// Arch is the package architecture.
func (e *Engine) Arch() string {
	if e.d == nil {
		return ""
	}
	return e.d.Arch
}

// RepositoryOf is the URL of the first repository holding p, "" for a
// package only installed or cached.
func (e *Engine) RepositoryOf(p *solver.Pkg) string {
	if e.d == nil {
		return ""
	}
	if r := e.d.RepositoryOf(p); r != nil {
		return r.URL
	}
	return ""
}

// Deps parses a world, apk's dependency syntax, against the database.
func (e *Engine) Deps(world []string) ([]solver.Dep, error) {
	var out []solver.Dep
	for _, w := range world {
		dep, err := apk.ParseDependency(w)
		if err != nil {
			return nil, err
		}
		out = append(out, e.db.ResolveDep(dep))
	}
	return out, nil
}

// ResolveOptions are Resolve's.
type ResolveOptions struct {
	// Latest always chooses the latest available version.
	Latest bool
	// WithWorld adds the root's world to the one resolved.
	WithWorld bool
}

// Resolution is a solved world.
type Resolution struct {
	// World is what was solved, as apk writes it.
	World []string
	// Packages are the packages selected, in an install order: each
	// after its dependencies.
	Packages []*solver.Pkg
}

// Resolve selects the packages of world without installing anything. A
// world that cannot be satisfied is a *solver.UnsatisfiableError.
func (e *Engine) Resolve(ctx context.Context, world []string, o ResolveOptions) (*Resolution, error) {
	deps, err := e.Deps(world)
	if err != nil {
		return nil, err
	}
	if o.WithWorld {
		deps = append(append([]solver.Dep(nil), e.db.World...), deps...)
	}
	return e.ResolveDeps(ctx, deps, o)
}

// ResolveDeps is Resolve for a world already parsed (Deps).
func (e *Engine) ResolveDeps(ctx context.Context, deps []solver.Dep, o ResolveOptions) (*Resolution, error) {
	var flags uint16
	if o.Latest {
		flags |= solver.FlagLatest
	}
	cs, nerr, err := e.db.SolveContext(ctx, flags, deps)
	if err != nil {
		return nil, err
	}
	if nerr > 0 {
		return nil, e.db.Unsatisfiable(cs, deps, e.cfg.width)
	}
	res := &Resolution{}
	for i := range deps {
		res.World = append(res.World, e.db.WorldString(&deps[i]))
	}
	for _, c := range cs.Changes {
		if c.New != nil {
			res.Packages = append(res.Packages, c.New)
		}
	}
	return res, nil
}

// Session runs apk's commands (Add, Del, Fix, Upgrade) against the
// database: it installs into the root, or only prints what it would do
// when simulating. What apk prints goes to WithOutput's writers; its
// errors are returned.
func (e *Engine) Session(ctx context.Context) *solver.Session {
	out := e.output()
	s := &solver.Session{DB: e.db, Out: out, Now: e.cfg.now, Context: ctx}
	if e.cfg.simulate || e.d == nil {
		s.Committer = solver.Simulation{Out: out}
		return s
	}
	if e.commit == nil {
		e.commit = &swappable{inner: commit.New(ctx, e.d, e.cfg.install)}
	}
	s.Committer = e.commit
	s.Reopen = func() (*solver.DB, error) {
		// apk re-executes itself here after upgrading itself: the root
		// changed under the database.
		if err := e.open(ctx); err != nil {
			return nil, err
		}
		e.commit.inner = commit.New(ctx, e.d, e.cfg.install)
		return e.db, nil
	}
	return s
}

func (e *Engine) output() solver.Output {
	out := solver.Output{Stdout: e.cfg.install.Out, Stderr: e.cfg.install.Err, Width: e.cfg.width}
	if out.Stdout == nil {
		out.Stdout = io.Discard
	}
	if out.Stderr == nil {
		out.Stderr = io.Discard
	}
	return out
}

// InstallRequest is what one Install installs.
type InstallRequest struct {
	// Base, when not nil, replaces the root's world before World is
	// added: a later installation drops entries an earlier one needed
	// only for the moment.
	Base []string
	// World is added to the world and installed (apk add).
	World []string
}

// Install adds a world to the root's and installs it (apk add), and
// returns the packages it installed, in order.
func (e *Engine) Install(ctx context.Context, in InstallRequest) ([]*solver.Pkg, error) {
	if e.d == nil && e.cfg.test == nil {
		return nil, errors.New("apk engine: no database to install into")
	}
	if in.Base != nil {
		base, err := e.Deps(in.Base)
		if err != nil {
			return nil, err
		}
		e.db.World = base
	}
	s := e.Session(ctx)
	rec := &recorder{inner: s.Committer}
	s.Committer = rec
	if err := s.Add(in.World, solver.AddOptions{}); err != nil {
		return nil, err
	}
	return rec.installed, nil
}

// swappable is the committer a session keeps while Reopen replaces the
// database under it.
type swappable struct{ inner solver.Committer }

func (s *swappable) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	return s.inner.Commit(db, cs, world)
}

// recorder passes commits on and remembers what they installed.
type recorder struct {
	inner     solver.Committer
	installed []*solver.Pkg
}

func (r *recorder) Commit(db *solver.DB, cs *solver.Changeset, world []solver.Dep) error {
	if err := r.inner.Commit(db, cs, world); err != nil {
		return err
	}
	for _, c := range cs.Changes {
		if c.New != nil {
			r.installed = append(r.installed, c.New)
		}
	}
	return nil
}

// WithFetcher fetches packages through c (a client that also loaded the
// indexes WithIndexLoader hands over).
func WithFetcher(c *repo.Client) Option { return func(cf *config) { cf.fetcher = c } }

// AtHand returns the .apk file of p when it is at hand without
// downloading anything: in a local repository or the cache. Its content
// is not verified yet: read it with Trust.
func (e *Engine) AtHand(ctx context.Context, p *solver.Pkg) (string, error) {
	if e.d == nil || e.d.Client == nil {
		return "", errors.New("apk engine: no repositories to fetch from")
	}
	r := e.d.RepositoryOf(p)
	if r == nil {
		return "", fmt.Errorf("%s: no repository holds it", p.NameVersion())
	}
	offline := *e.d.Client
	offline.Offline = true
	offline.Warnings = nil
	return offline.FetchPackage(ctx, repo.FetchRequest{Repo: r.Repository, Pkg: p.Info()})
}

// Trust is how packages are verified: the trusted keys, and whether
// untrusted packages are let through.
func (e *Engine) Trust() apkfile.Options {
	o := apkfile.Options{AllowUntrusted: e.cfg.db.AllowUntrusted}
	if e.d != nil {
		o.Keys = e.d.Keys
	}
	return o
}
