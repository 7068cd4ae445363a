package solver

import (
	"context"
	"crypto/sha1"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/apk"
)

// Committer carries out a solved changeset: a simulation prints it, an
// installer applies it to a root.
type Committer interface {
	Commit(db *DB, cs *Changeset, world []Dep) error
}

// ErrUnsatisfiable is what every *UnsatisfiableError is (errors.Is).
var ErrUnsatisfiable = errors.New("unable to select packages")

// UnsatisfiableError is a world the solver cannot satisfy. Report is
// apk's report of why, the lines apk prints under "ERROR: unable to
// select packages:", each ending in a newline; the caller renders it.
type UnsatisfiableError struct {
	Report string
}

func (e *UnsatisfiableError) Error() string {
	return "unable to select packages:\n" + strings.TrimRight(e.Report, "\n")
}

// Is makes an UnsatisfiableError ErrUnsatisfiable.
func (e *UnsatisfiableError) Is(target error) bool { return target == ErrUnsatisfiable }

// MissingError is names a command was given that no package has, each
// said as apk says it ("No such package: x"); apk prints one ERROR line
// for each (Messages).
type MissingError struct {
	// Format says one name (one %s).
	Format string
	Names  []string
}

// Messages are the error's lines, one a name.
func (e *MissingError) Messages() []string {
	out := make([]string, len(e.Names))
	for i, n := range e.Names {
		out[i] = fmt.Sprintf(e.Format, n)
	}
	return out
}

func (e *MissingError) Error() string { return strings.Join(e.Messages(), "\n") }

// Session is one apk command against a DB: its output and how it commits.
type Session struct {
	DB        *DB
	Out       Output
	Committer Committer
	// Now is the time used to version virtual packages (apk add -t).
	Now time.Time
	// Reopen loads the database again after a commit changed the root;
	// apk re-executes itself at that point of a self-upgrade.
	Reopen func() (*DB, error)
	// Context, when set, stops a solve soon after it is done.
	Context context.Context
}

func (s *Session) ctx() context.Context {
	if s.Context == nil {
		return context.Background()
	}
	return s.Context
}

func (s *Session) warnf(format string, args ...any) {
	fmt.Fprintf(s.Out.Stderr, "WARNING: "+format+"\n", args...)
}

// solveAndCommit is apk_solver_commit.
func (s *Session) solveAndCommit(flags uint16, world []Dep) error {
	if err := s.checkWorld(world); err != nil {
		return err
	}
	cs, nerr, err := s.DB.SolveContext(s.ctx(), flags, world)
	if err != nil {
		return err
	}
	if nerr > 0 {
		return s.DB.Unsatisfiable(cs, world, s.Out.Width)
	}
	return s.Committer.Commit(s.DB, cs, world)
}

// checkWorld refuses world entries naming a repository tag that no
// repository has (apk_db_check_world).
func (s *Session) checkWorld(world []Dep) error {
	if s.DB.ForceBrokenWorld {
		return nil
	}
	bad := 0
	for _, d := range world {
		if d.Tag == 0 || (d.Tag > 0 && s.DB.Tags[d.Tag].AllowedRepos != 0) {
			continue
		}
		tag := d.Tag
		if tag < 0 {
			tag = 0
		}
		s.warnf("The repository tag for world dependency '%s%s' does not exist", d.Name.Name, s.DB.Tags[tag].Tag)
		bad++
	}
	if bad > 0 {
		return errors.New("Not committing changes due to missing repository tags. Use --force-broken-world to override.")
	}
	return nil
}

func depsAdd(deps []Dep, d Dep) []Dep {
	for i := range deps {
		if deps[i].Name == d.Name {
			deps[i] = d
			return deps
		}
	}
	return append(deps, d)
}

func depsDel(deps []Dep, name *Name) []Dep {
	for i := range deps {
		if deps[i].Name == name {
			return append(deps[:i:i], deps[i+1:]...)
		}
	}
	return deps
}

func copyDeps(deps []Dep) []Dep { return append([]Dep(nil), deps...) }

// AddOptions are the options of apk add.
type AddOptions struct {
	Latest  bool
	Upgrade bool
	// Virtual makes a virtual meta package of this name (apk add -t) that
	// depends on the arguments.
	Virtual string
	// Files are packages read from .apk files named on the command line,
	// by argument.
	Files map[string]*apk.Package
}

// Add is apk add: put deps into the world and commit.
func (s *Session) Add(args []string, o AddOptions) error {
	db := s.DB
	world := copyDeps(db.World)
	var flags uint16
	if o.Latest {
		flags |= FlagLatest
	}
	if o.Upgrade {
		flags |= FlagUpgrade
	}

	var virtpkg *Pkg
	var virtdep Dep
	if o.Virtual != "" {
		d, rest, ok := pullWorldDep(o.Virtual)
		if !ok || rest != "" || d.Conflict {
			return fmt.Errorf("%s: bad package specifier", o.Virtual)
		}
		switch d.Mask {
		case apk.DepMaskAny:
			d.Mask = apk.VersionEqual
			d.Version = s.Now.UTC().Format("20060102.150405")
		case apk.VersionEqual:
		default:
			return fmt.Errorf("%s: bad package specifier", o.Virtual)
		}
		virtdep = db.ResolveDep(d)
		info := &apk.Package{
			Name:        d.Name,
			Version:     d.Version,
			Description: "virtual meta package",
			Arch:        "noarch",
			Checksum:    virtualChecksum(d.Name, d.Version),
		}
		virtpkg = newPkg(info, virtdep.Name)
		virtpkg.Repos = 1 << RepoCached
		if len(args) == 0 {
			s.warnf("creating empty virtual package")
		}
	}

	for _, arg := range args {
		var dep Dep
		if info, ok := o.Files[arg]; ok {
			pkg := db.AddFilePackage(info)
			dep = Dep{Name: pkg.Name, Version: info.Checksum.String(), Mask: apk.DepMaskChecksum}
		} else {
			d, rest, ok := pullWorldDep(arg)
			if !ok || rest != "" || (virtpkg != nil && d.Tag != "") {
				if virtpkg == nil {
					return fmt.Errorf("'%s' is not a valid world dependency, format is name(@tag)([<>~=]version)", arg)
				}
				return fmt.Errorf("'%s' is not a valid child dependency, format is name([<>~=]version)", arg)
			}
			dep = db.ResolveDep(d)
		}
		if virtpkg == nil {
			world = depsAdd(world, dep)
			db.SetNameFlags(dep.Name, flags, flags)
		} else {
			virtpkg.Depends = depsAdd(virtpkg.Depends, dep)
			virtpkg.meta.Depends = append(virtpkg.meta.Depends, apk.Dependency{
				Name: dep.Name.Name, Version: dep.Version, Mask: int(dep.Mask), Conflict: dep.Conflict, Fuzzy: dep.Fuzzy,
			})
		}
	}
	if virtpkg != nil {
		db.addPkg(virtpkg)
		world = depsAdd(world, virtdep)
		db.SetNameFlags(virtdep.Name, flags, flags)
	}
	return s.solveAndCommit(0, world)
}

// virtualChecksum gives a virtual package an identity from its name and
// version (apk also mixes in its process id; cairn stays deterministic).
func virtualChecksum(name, version string) apk.Checksum {
	h := sha1.New()
	var pid [4]byte
	binary.LittleEndian.PutUint32(pid[:], 0)
	h.Write(pid[:])
	h.Write([]byte(name))
	h.Write([]byte{0})
	h.Write([]byte(version))
	return h.Sum(nil)
}

// pullWorldDep parses one world dependency as apk add does.
func pullWorldDep(s string) (apk.Dependency, string, bool) {
	d, err := apk.ParseDependency(s)
	if err != nil {
		return apk.Dependency{}, "", false
	}
	return d, "", true
}

// matchNames resolves command line names, expanding '*' patterns, in the
// order apk visits them. Unknown names are returned as nil with their
// argument.
func (db *DB) matchNames(args []string, cb func(arg string, name *Name)) {
	wild := false
	for _, a := range args {
		if strings.Contains(a, "*") {
			wild = true
		}
	}
	if !wild {
		for _, a := range args {
			cb(a, db.names.lookup(a))
		}
		return
	}
	for _, n := range db.sortedNames() {
		for _, a := range args {
			if ok, _ := path.Match(a, n.Name); ok || a == n.Name {
				cb(a, n)
				break
			}
		}
	}
}

func (db *DB) sortedNames() []*Name {
	names := append([]*Name(nil), db.nameList...)
	sort.Slice(names, func(i, j int) bool { return apk.CompareNames(names[i].Name, names[j].Name) < 0 })
	return names
}

// DelOptions are the options of apk del.
type DelOptions struct {
	// Rdepends also removes the packages depending on the named ones.
	Rdepends bool
}

// Del is apk del: remove names from the world and commit.
func (s *Session) Del(args []string, o DelOptions) error {
	db := s.DB
	world := copyDeps(db.World)
	genid := db.nextGenid()
	var missing []string

	var deletePkg func(pkg0 *Pkg, _ *Dep, _ *Pkg)
	deletePkg = func(pkg0 *Pkg, _ *Dep, _ *Pkg) {
		world = depsDel(world, pkg0.Name)
		db.SetNameFlags(pkg0.Name, FlagRemove, 0)
		if o.Rdepends {
			for _, d := range pkg0.Provides {
				world = depsDel(world, d.Name)
			}
			db.foreachReverseDependency(pkg0, genid|foreachInstalled|depSatisfies, deletePkg)
		}
	}
	db.matchNames(args, func(arg string, name *Name) {
		if name == nil {
			missing = append(missing, arg)
			return
		}
		if pkg := name.InstalledPkg(); pkg != nil {
			deletePkg(pkg, nil, nil)
		} else {
			world = depsDel(world, name)
		}
	})
	if len(missing) > 0 {
		return &MissingError{Format: "No such package: %s", Names: missing}
	}

	cs, nerr, err := db.SolveContext(s.ctx(), 0, world)
	if err != nil {
		return err
	}
	if nerr > 0 {
		return db.Unsatisfiable(cs, world, s.Out.Width)
	}
	s.printNotDeleted(cs, world, args)
	return s.Committer.Commit(db, cs, world)
}

// printNotDeleted explains which named packages stay because something
// still needs them.
func (s *Session) printNotDeleted(cs *Changeset, world []Dep, args []string) {
	db := s.DB
	db.clearReportState()
	for _, c := range cs.Changes {
		if c.New != nil {
			c.New.marked = true
		}
	}
	for _, d := range world {
		d.Name.stateInt = 1
	}
	inWorld := func(n *Name) bool { return n.stateInt == 1 }
	header := false
	var names []*Name
	for _, a := range args {
		if strings.Contains(a, "*") {
			continue
		}
		if n := db.names.lookup(a); n != nil {
			names = append(names, n)
		}
	}
	sort.Slice(names, func(i, j int) bool { return apk.CompareNames(names[i].Name, names[j].Name) < 0 })
	for _, name := range names {
		ind := indentWriter{w: s.Out.Stdout, width: s.Out.width()}
		matches := db.nextGenid() | foreachMarked | depSatisfies
		var visit func(pkg0 *Pkg, _ *Dep, _ *Pkg)
		visit = func(pkg0 *Pkg, _ *Dep, _ *Pkg) {
			if !header {
				fmt.Fprintln(s.Out.Stdout, "World updated, but the following packages are not removed due to:")
				header = true
			}
			if ind.indent == 0 {
				ind.group(0, "  %s:", name.Name)
			}
			if inWorld(pkg0.Name) {
				ind.word(pkg0.Name.Name)
			}
			for _, d := range pkg0.Provides {
				if inWorld(d.Name) {
					ind.word(d.Name.Name)
				}
			}
			db.foreachReverseDependency(pkg0, matches, visit)
			for _, d := range pkg0.InstallIf {
				for _, p := range d.Name.Providers {
					if !p.Pkg.marked || db.matchGenid(p.Pkg, matches) {
						continue
					}
					visit(p.Pkg, nil, nil)
				}
			}
		}
		for _, p := range name.Providers {
			if p.Pkg.marked {
				visit(p.Pkg, nil, nil)
			}
		}
		ind.end()
	}
	if header {
		fmt.Fprintln(s.Out.Stdout)
	}
	db.clearReportState()
}

// FixOptions are the options of apk fix.
type FixOptions struct {
	Depends   bool
	Reinstall bool
	Upgrade   bool
	Xattr     bool
}

// Fix is apk fix: reinstall or upgrade the named (or broken) packages.
func (s *Session) Fix(args []string, o FixOptions) error {
	db := s.DB
	var flags uint16
	if o.Reinstall {
		flags |= FlagReinstall
	}
	if o.Upgrade {
		flags |= FlagUpgrade
	}
	if flags == 0 {
		flags = FlagReinstall
	}
	mark := func(name *Name) {
		var inh uint16
		if o.Depends {
			inh = flags
		}
		db.SetNameFlags(name, flags, inh)
	}
	if len(args) == 0 {
		for _, pkg := range db.installed {
			in := pkg.Installed
			if in.BrokenFiles || in.BrokenScript || (in.BrokenXattr && o.Xattr) {
				mark(pkg.Name)
			}
		}
	} else {
		var missing []string
		db.matchNames(args, func(arg string, name *Name) {
			if name == nil {
				missing = append(missing, arg)
				return
			}
			mark(name)
		})
		if err := reportMissing(missing); err != nil {
			return err
		}
	}
	return s.solveAndCommit(0, db.World)
}

func reportMissing(missing []string) error {
	if len(missing) == 0 {
		return nil
	}
	return &MissingError{Format: "Package '%s' not found", Names: missing}
}

// UpgradeOptions are the options of apk upgrade.
type UpgradeOptions struct {
	Available       bool
	Ignore          bool
	Latest          bool
	NoSelfUpgrade   bool
	Prune           bool
	SelfUpgradeOnly bool
	Simulate        bool
}

// Upgrade is apk upgrade.
func (s *Session) Upgrade(args []string, o UpgradeOptions) error {
	db := s.DB
	if err := s.checkWorld(db.World); err != nil {
		return errors.New("Not continuing with upgrade due to missing repository tags. Use --force-broken-world to override.")
	}
	flags := FlagUpgrade
	if o.Available {
		flags |= FlagAvailable
	}
	if o.Latest {
		flags |= FlagLatest
	}
	if !o.NoSelfUpgrade && len(args) == 0 {
		if err := s.selfUpgrade(flags, o); err != nil {
			return err
		}
	}
	if o.SelfUpgradeOnly {
		return nil
	}
	db = s.DB // a self-upgrade reopens it

	world := db.World
	if o.Prune || flags&FlagAvailable != 0 {
		world = copyDeps(db.World)
		if flags&FlagAvailable != 0 {
			for i := range world {
				if world[i].Mask == apk.DepMaskChecksum {
					world[i].Mask = apk.DepMaskAny
					world[i].Version = ""
				}
			}
		}
		if o.Prune {
			kept := world[:0]
			for _, d := range world {
				for _, p := range d.Name.Providers {
					// apk tests "repos & ~APK_REPOSITORY_CACHED", which
					// masks out bit 0 by its number, not its bit.
					if p.Pkg.Repos&^RepoCached != 0 {
						kept = append(kept, d)
						break
					}
				}
			}
			world = kept
		}
	}

	if len(args) > 0 {
		// Named packages only: the world is not upgraded.
		if !o.Ignore {
			flags &^= FlagUpgrade
		}
		var missing []string
		db.matchNames(args, func(arg string, name *Name) {
			if name == nil {
				missing = append(missing, arg)
				return
			}
			f := FlagUpgrade
			if o.Ignore {
				f = FlagInstalled
			}
			db.SetNameFlags(name, f, 0)
		})
		if err := reportMissing(missing); err != nil {
			return err
		}
	}
	return s.solveAndCommit(flags, world)
}

// selfUpgrade upgrades apk-tools and what it needs first, as apk does
// before a full upgrade.
func (s *Session) selfUpgrade(flags uint16, o UpgradeOptions) error {
	db := s.DB
	name := db.GetName("apk-tools")
	pkg := name.InstalledPkg()
	if pkg == nil {
		return nil
	}
	newer := false
	for _, p0 := range name.Providers {
		if p0.Pkg.Name != name || p0.Pkg.Repos == 0 {
			continue
		}
		if apk.CompareVersions(p0.Pkg.Version, pkg.Version) == apk.VersionGreater {
			newer = true
			break
		}
	}
	if !newer {
		return nil
	}
	db.PerformingSelfUpgrade = true
	defer func() { db.PerformingSelfUpgrade = false }()
	db.SetNameFlags(name, flags, 0)

	cs, nerr, err := db.SolveContext(s.ctx(), 0, db.World)
	if err != nil {
		return err
	}
	if nerr > 0 {
		s.warnf("Failed to perform initial self-upgrade, continuing with full upgrade.")
		return nil
	}
	if cs.NumTotalChanges() == 0 {
		return nil
	}
	if !o.SelfUpgradeOnly && o.Simulate {
		s.warnf("This simulation is not reliable as apk-tools upgrade is available.")
		return nil
	}
	fmt.Fprintln(s.Out.Stdout, "Upgrading critical system libraries and apk-tools:")
	if err := s.Committer.Commit(db, cs, db.World); err != nil {
		return err
	}
	if o.SelfUpgradeOnly {
		return nil
	}
	fmt.Fprintln(s.Out.Stdout, "Continuing the upgrade transaction with new apk-tools:")
	if s.Reopen == nil {
		return errors.New("cannot continue the upgrade: the database cannot be reopened")
	}
	newDB, err := s.Reopen()
	if err != nil {
		return fmt.Errorf("reopen the database after the self-upgrade: %w", err)
	}
	s.DB = newDB
	return nil
}
