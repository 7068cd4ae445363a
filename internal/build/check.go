package build

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/engine"
	"github.com/cairnlinux/cairn/internal/apk/repo"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/container"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// A manifest can be valid and still not build: a package name that no
// repository has, a service no package installs, a time zone tzdata does
// not know, packages that cannot be installed together. Check finds these
// before anything is built, each as a problem of the manifest key that
// causes it (which the caller places at its file:line:column), all at
// once. It reads what is at hand: the repositories' indexes (fetched
// unless Request.Offline), and for services and time zones the contents
// of the resolved packages that are in local repositories or the cache;
// what it cannot check it says in CheckResult.Unchecked.

// CheckResult is what Check resolved, and what it could not check.
type CheckResult struct {
	// Selected are the packages the world resolves to (those of the lock
	// when it matches); nil when the indexes were not at hand.
	Selected []*solver.Pkg
	// Unchecked says what was not checked and why, one sentence each.
	Unchecked []string

	db      *engine.Engine
	spelled map[string]string
}

// ProblemsError is what Check found wrong: the manifest's problems, each
// with the key path that causes it. It matches solver.ErrUnsatisfiable
// (errors.Is) when the packages cannot be installed together or a name
// has no package.
type ProblemsError struct {
	Problems      manifest.Errors
	Unsatisfiable bool
}

func (e *ProblemsError) Error() string { return e.Problems.Error() }

func (e *ProblemsError) Unwrap() []error {
	errs := []error{e.Problems}
	if e.Unsatisfiable {
		errs = append(errs, solver.ErrUnsatisfiable)
	}
	return errs
}

// Check checks req.Manifest (validated, defaults applied) against its
// packages; req.Lock, when it matches the manifest, pins them. It returns
// a *ProblemsError for what is wrong with the manifest, another error
// when the check itself failed.
func Check(ctx context.Context, req Request) (*CheckResult, error) {
	work, err := os.MkdirTemp("", "cairn-check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	b := &builder{ctx: ctx, req: req, sys: req.Manifest, work: work, manifestDir: dirOf(req.ManifestPath)}
	if b.keysDir, err = b.gatherKeys(); err != nil {
		var me *manifest.Error
		if req.Offline && errors.As(err, &me) {
			// Keys of another build machine (/etc/apk/keys of an Alpine
			// one): what is at hand here cannot be checked.
			return &CheckResult{Unchecked: []string{"packages, services and time zone: " + me.Path + ": " + me.Msg}}, nil
		}
		return nil, err
	}
	lock := req.Lock
	if lock != nil && lock.Matches(b.sys) != nil {
		lock = nil
	}
	return b.check(lock)
}

// worldEntry is one dependency of the build's world and the manifest key
// that asks for it.
type worldEntry struct {
	path, text string
}

// worldEntries is the world of the build's first transaction (see
// installPackages), each entry with its key.
func worldEntries(sys *manifest.System) []worldEntry {
	var out []worldEntry
	for i, p := range sys.Packages {
		out = append(out, worldEntry{fmt.Sprintf("packages[%d]", i), p})
	}
	if k := sys.Kernel.Package; k != "" && !slices.Contains(sys.Packages, k) {
		out = append(out, worldEntry{"kernel.package", k})
	}
	for i, a := range sys.Artifacts {
		for j, d := range a.Depends {
			out = append(out, worldEntry{fmt.Sprintf("artifacts[%d].depends[%d]", i, j), d})
		}
	}
	return out
}

// problems collects what check finds.
type problems struct {
	errs          manifest.Errors
	unsatisfiable bool
}

func (p *problems) add(path, format string, args ...any) {
	p.errs = append(p.errs, &manifest.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (b *builder) check(lock *manifest.Lock) (*CheckResult, error) {
	res := &CheckResult{}
	var p problems
	d, err := b.openIndexes(res, &p)
	if err != nil {
		return nil, err
	}
	if d != nil {
		res.db, res.spelled = d, b.spelled
		b.resolve(d, lock, res, &p)
		if err := b.ctx.Err(); err != nil {
			return nil, err
		}
	}
	if res.Selected != nil {
		b.checkContents(d, res, &p)
	}
	if _, err := container.ReadImages(b.manifestDir, b.sys); err != nil {
		var errs manifest.Errors
		if !errors.As(err, &errs) {
			return nil, err
		}
		p.errs = append(p.errs, errs...)
	}
	if len(p.errs) > 0 {
		return res, &ProblemsError{Problems: p.errs, Unsatisfiable: p.unsatisfiable}
	}
	return res, nil
}

// openIndexes opens the repositories' indexes into a database. A
// repository that cannot be read is a problem of its key; one that is
// remote and not cached while offline leaves the packages unchecked
// (nil database).
func (b *builder) openIndexes(res *CheckResult, p *problems) (*engine.Engine, error) {
	repos, spelled, err := b.repositories()
	if err != nil {
		return nil, err
	}
	b.spelled = spelled
	keys, err := apkfile.LoadKeyring(b.keysDir)
	if err != nil {
		return nil, err
	}
	arch := b.sys.Alpine.Arch
	if arch == "" {
		arch = engine.NativeArch()
	}
	client := &repo.Client{CacheDir: b.req.CacheDir, Keys: keys, AllowUntrusted: b.sys.Alpine.AllowUntrusted,
		Arch: arch, Offline: b.req.Offline, HTTP: b.req.HTTP, Warnings: b.req.Err}
	loaded := preloaded{}
	bad := false
	for i, r := range repos {
		arc, err := client.LoadIndexArchive(b.ctx, r)
		switch {
		case errors.Is(err, repo.ErrNotCached):
			res.Unchecked = append(res.Unchecked, fmt.Sprintf("packages, services and time zone: the repository %s is not in the cache (cairn lock or cairn build fetches it)", b.sys.Alpine.Repositories[i].URL))
			return nil, nil
		case b.ctx.Err() != nil:
			return nil, b.ctx.Err()
		case errors.Is(err, fs.ErrNotExist) && !r.IsRemote():
			p.add(fmt.Sprintf("alpine.repositories[%d].url", i), "no repository there: %v", err)
			bad = true
		case err != nil:
			// Untrusted, damaged or out of reach: not the manifest's fault.
			return nil, fmt.Errorf("alpine.repositories[%d]: %w", i, err)
		default:
			loaded[r.URL] = arc
		}
	}
	if bad {
		return nil, nil
	}
	e, err := engine.New(b.ctx,
		engine.WithRepositories(repos...),
		engine.WithKeysDir(b.keysDir),
		engine.WithArch(arch),
		engine.WithAllowUntrusted(b.sys.Alpine.AllowUntrusted),
		engine.WithIndexLoader(loaded),
		engine.WithFetcher(client),
		engine.WithOutput(nil, b.req.Err),
	)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// preloaded hands the engine the indexes already loaded.
type preloaded map[string]*repo.IndexArchive

func (l preloaded) LoadIndexArchive(_ context.Context, r repo.Repository) (*repo.IndexArchive, error) {
	return l[r.URL], nil
}

var worldRef = regexp.MustCompile(`world\[([^\]]+)\]`)

// resolve checks that every name of the world has a package, then solves
// the world (restricted to the lock's packages when there is one).
func (b *builder) resolve(e *engine.Engine, lock *manifest.Lock, res *CheckResult, p *problems) {
	db := e.DB()
	entries := worldEntries(b.sys)
	var world []solver.Dep
	paths := map[string]string{}
	var names []string
	for _, entry := range entries {
		dep, err := apk.ParseDependency(entry.text)
		if err != nil {
			p.add(entry.path, "%v", err) // validation lets none of these through
			continue
		}
		sd := db.ResolveDep(dep)
		world = append(world, sd)
		paths[db.WorldString(&sd)] = entry.path
		if dep.Conflict || (sd.Name != nil && len(sd.Name.Providers) > 0) {
			continue
		}
		if names == nil {
			names = packageNames(db)
		}
		msg := fmt.Sprintf("no package %s in the repositories", dep.Name)
		if s := manifest.Closest(dep.Name, names); s != "" {
			msg += "; did you mean " + s + "?"
		}
		p.add(entry.path, "%s (apk search NAME on an Alpine machine finds packages)", msg)
		p.unsatisfiable = true
	}
	if p.unsatisfiable {
		return // the solver would only say it again
	}
	if lock != nil {
		pinned := map[string]string{}
		for _, l := range lock.Packages {
			pinned[l.Name] = l.Checksum
		}
		db.Restrict(func(pkg *solver.Pkg) bool { return pinned[pkg.Name.Name] == pkg.Checksum.String() })
	}
	sol, err := e.ResolveDeps(b.ctx, world, engine.ResolveOptions{})
	var unsat *solver.UnsatisfiableError
	switch {
	case errors.As(err, &unsat):
		at := "packages"
		if m := worldRef.FindStringSubmatch(unsat.Report); m != nil && paths[m[1]] != "" {
			at = paths[m[1]]
		}
		what := "the packages cannot be satisfied"
		if lock != nil {
			what = "the packages of the lock do not satisfy the manifest (cairn lock --update resolves again)"
		}
		// Rendered as apk renders it, indented under the problem.
		text := "ERROR: " + unsat.Error()
		p.add(at, "%s; apk says:\n  %s", what, strings.ReplaceAll(text, "\n", "\n  "))
		p.unsatisfiable = true
		return
	case err != nil:
		return // cancelled: check returns the context's error
	}
	res.Selected = []*solver.Pkg{}
	res.Selected = append(res.Selected, sol.Packages...)
}

// packageNames are the names of the database that some package has.
func packageNames(db *solver.DB) []string {
	var out []string
	for _, n := range db.Names() {
		if len(n.Providers) > 0 && !strings.Contains(n.Name, ":") {
			out = append(out, n.Name)
		}
	}
	return out
}

// cairnServices are the init scripts cairn writes itself.
var cairnServices = []string{"cairn-confirm", "cairn-ssh-keys"}

// checkContents checks what needs the resolved packages' files: that each
// service a runlevel or a health check names has an init script, and
// that the time zone is one of tzdata's.
func (b *builder) checkContents(e *engine.Engine, res *CheckResult, p *problems) {
	sys := b.sys
	zone := sys.Timezone
	if zone == "UTC" {
		zone = ""
	}
	var tzdata *solver.Pkg
	for _, pkg := range res.Selected {
		if pkg.Name.Name == "tzdata" {
			tzdata = pkg
		}
	}
	if zone != "" && tzdata == nil {
		p.add("timezone", "%s needs the time zone database: add tzdata to packages", zone)
		zone = ""
	}
	own := sys.OwnServices(b.manifestDir)
	type use struct{ path, name string }
	var wanted []use
	for _, level := range slices.Sorted(maps.Keys(sys.Services.Runlevels)) {
		for i, name := range sys.Services.Runlevels[level] {
			wanted = append(wanted, use{manifest.IndexPath(manifest.KeyPath("services", level), i), name})
		}
	}
	for i, h := range sys.Health {
		if h.Service != "" {
			wanted = append(wanted, use{fmt.Sprintf("health[%d].service", i), h.Service})
		}
	}
	wanted = slices.DeleteFunc(wanted, func(u use) bool {
		_, ok := own[u.name]
		return ok || slices.Contains(cairnServices, u.name)
	})
	if len(wanted) == 0 && zone == "" {
		return
	}
	files, missing := b.contents(e, res.Selected)
	if zone != "" {
		switch list, ok := files[tzdata]; {
		case !ok:
			res.Unchecked = append(res.Unchecked, "time zone: tzdata is not in the cache yet (the build checks it)")
		case !slices.Contains(list, "usr/share/zoneinfo/"+zone):
			var zones []string
			for _, f := range list {
				if z, ok := strings.CutPrefix(f, "usr/share/zoneinfo/"); ok && strings.Contains(z, "/") && !strings.HasPrefix(z, "posix/") && !strings.HasPrefix(z, "right/") {
					zones = append(zones, z)
				}
			}
			msg := fmt.Sprintf("%s is not a time zone of %s", zone, tzdata.NameVersion())
			if s := manifest.Closest(zone, zones); s != "" {
				msg += "; did you mean " + s + "?"
			}
			p.add("timezone", "%s", msg)
		}
	}
	if len(wanted) == 0 {
		return
	}
	scripts := map[string]bool{}
	for _, list := range files {
		for _, f := range list {
			if name, ok := strings.CutPrefix(f, "etc/init.d/"); ok && !strings.Contains(name, "/") {
				scripts[name] = true
			}
		}
	}
	if missing > 0 {
		res.Unchecked = append(res.Unchecked, fmt.Sprintf("services: %d of the %d packages are not in the cache yet (the build checks them)", missing, len(res.Selected)))
		return
	}
	known := slices.Sorted(func(yield func(string) bool) {
		for n := range scripts {
			if !yield(n) {
				return
			}
		}
		for n := range own {
			if !yield(n) {
				return
			}
		}
	})
	for _, u := range wanted {
		if scripts[u.name] {
			continue
		}
		msg := fmt.Sprintf("no package, artifact or file provides the service %s (/etc/init.d/%s)", u.name, u.name)
		if s := manifest.Closest(u.name, known); s != "" {
			msg += "; did you mean " + s + "?"
		} else {
			msg += ": add the package that has it (often NAME-openrc), or define it under services.define"
		}
		p.add(u.path, "%s", msg)
	}
}

// contents lists the files of each package that is at hand (in a local
// repository or the cache; nothing is downloaded), from the listing kept
// in the cache when there is one; missing counts the others.
func (b *builder) contents(e *engine.Engine, pkgs []*solver.Pkg) (files map[*solver.Pkg][]string, missing int) {
	files = map[*solver.Pkg][]string{}
	for _, pkg := range pkgs {
		if list, ok := readListing(b.req.CacheDir, pkg); ok {
			files[pkg] = list
			continue
		}
		path, err := e.AtHand(b.ctx, pkg)
		if err != nil {
			missing++
			continue
		}
		list, err := listPackage(path, e.Trust())
		if err != nil {
			missing++
			continue
		}
		files[pkg] = list
		writeListing(b.req.CacheDir, pkg, list)
	}
	return files, missing
}

// listPackage reads the paths of a package's files.
func listPackage(path string, trust apkfile.Options) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rd, err := apkfile.Open(f, trust)
	if err != nil {
		return nil, err
	}
	var list []string
	for {
		h, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return list, nil
		}
		if err != nil {
			return nil, err
		}
		list = append(list, strings.TrimSuffix(h.Name, "/"))
	}
}

// The listings of packages' files are kept in the cache by the package's
// identity (its checksum, which the index names and the package was
// verified against), so that checking again reads no package.
func listingPath(cacheDir string, pkg *solver.Pkg) string {
	if cacheDir == "" || len(pkg.Checksum) == 0 {
		return ""
	}
	return filepath.Join(cacheDir, "contents", hex.EncodeToString(pkg.Checksum)+".list")
}

func readListing(cacheDir string, pkg *solver.Pkg) ([]string, bool) {
	p := listingPath(cacheDir, pkg)
	if p == "" {
		return nil, false
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, false
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n"), true
}

// writeListing keeps a listing; a cache that cannot take it only makes
// the next check slower.
func writeListing(cacheDir string, pkg *solver.Pkg, list []string) {
	p := listingPath(cacheDir, pkg)
	if p == "" || os.MkdirAll(filepath.Dir(p), 0o755) != nil {
		return
	}
	rootfs.WriteFileAt(p, []byte(strings.Join(list, "\n")+"\n"), rootfs.WriteOptions{Perm: 0o644})
}
