package install

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/solver"
)

// stepKind is what a change does to the root.
type stepKind int

const (
	stepKeep    stepKind = iota // nothing, or only the repository tag
	stepInstall                 // a new package
	stepUpgrade                 // old replaced by new (also down- and sidegrades, reinstalls)
	stepRemove                  // old purged
)

// A step is one change of the changeset as phase 1 planned it; phase 2
// carries it out.
type step struct {
	change *solver.Change
	line   string // the "(i/n) Installing ..." line, "" for none
	kind   stepKind
	newTag string // the repository tag the package is installed from
	old    *pkgState
	new    *pkgState
	// purge lists the files of old that are still its own at this step,
	// and rmdirs the directories nobody references afterwards, deepest
	// first.
	purge  []purgeFile
	rmdirs []string
}

type purgeFile struct {
	dir, name string
	csum      apk.Checksum
}

// fileOwner is the owner of a path in the database as it evolves through
// the changeset.
type fileOwner struct {
	pkg  *pkgState
	csum apk.Checksum
}

// planner simulates the changeset on the file ownership database, in
// changeset order, exactly as apk's install loop would evolve it; phase 1
// decides from it which files conflict or are skipped, what every step
// purges and which directories become empty.
type planner struct {
	owners   map[string]*fileOwner
	dirRefs  map[string]int
	modified map[string]bool // directories whose contents changed
	known    map[string]bool // every directory any package named
	// Directories and non-directories of packages staged in this commit,
	// to refuse one package's directory being another's file or symlink.
	stagedDirs  map[string]*stagedPkg
	stagedFiles map[string]*stagedPkg
	force       bool
	warn        func(format string, args ...any)
}

func newPlanner(installed []*pkgState, force bool, warn func(string, ...any)) *planner {
	pl := &planner{
		owners:      map[string]*fileOwner{},
		dirRefs:     map[string]int{},
		modified:    map[string]bool{},
		known:       map[string]bool{"": true},
		stagedDirs:  map[string]*stagedPkg{},
		stagedFiles: map[string]*stagedPkg{},
		force:       force,
		warn:        warn,
	}
	for _, ps := range installed {
		ps.eachFile(func(dir, name string, csum apk.Checksum) {
			pl.owners[joinPath(dir, name)] = &fileOwner{pkg: ps, csum: csum}
		})
		pl.ref(ps)
	}
	return pl
}

func (pl *planner) ref(ps *pkgState) {
	for d := range ps.dirClosure() {
		pl.dirRefs[d]++
		pl.known[d] = true
	}
}

// initialDirACLs merges the ACLs the installed packages give their
// directories: what apk expects to find on disk.
func initialDirACLs(installed []*pkgState) map[string]apk.ACL {
	acls := map[string]apk.ACL{}
	for _, ps := range installed {
		ps.dirACLs(func(dir string, acl apk.ACL) {
			cur, have := acls[dir]
			acls[dir] = mergeDirACL(cur, have, acl)
		})
	}
	return acls
}

// claim makes ps, staged as sp, the owner of its files, refusing
// conflicts and marking the files a package with a higher
// replaces_priority keeps.
func (pl *planner) claim(ps *pkgState, sp *stagedPkg) error {
	for _, d := range sp.dirs {
		if other := pl.stagedFiles[d.path]; other != nil && other != sp {
			return fmt.Errorf("%s is a directory here but not in %s, installed in the same commit: install them separately", d.path, other.pkg.NameVersion())
		}
	}
	for _, f := range sp.files {
		if other := pl.stagedDirs[f.path()]; other != nil && other != sp {
			return fmt.Errorf("%s is not a directory here but is one in %s, installed in the same commit: install them separately", f.path(), other.pkg.NameVersion())
		}
	}
	for _, f := range sp.files {
		p := f.path()
		o := pl.owners[p]
		if o != nil && o.pkg != ps {
			write, err := pl.mayOverwrite(ps, o.pkg, p)
			if err != nil {
				return err
			}
			if !write {
				f.skip = true
				continue
			}
			o.pkg.lostFiles = true
		}
		f.prev = o
		pl.owners[p] = &fileOwner{pkg: ps, csum: f.csum}
	}
	for _, d := range sp.dirs {
		pl.stagedDirs[d.path] = sp
		pl.modified[d.path] = true
	}
	for _, f := range sp.files {
		pl.stagedFiles[f.path()] = sp
	}
	pl.ref(ps)
	return nil
}

// mayOverwrite decides whether ps may take path from its owner, as
// apk_db_install_archive_entry does: yes for the same package name or
// origin, or when ps replaces the owner with at least the owner's
// priority; the file stays with the owner when the owner replaces ps with
// a higher priority; otherwise it is a conflict unless forced.
func (pl *planner) mayOverwrite(ps, owner *pkgState, path string) (bool, error) {
	if owner.info.Name == ps.info.Name {
		return true, nil
	}
	if ps.info.Origin != "" && owner.info.Origin == ps.info.Origin {
		return true, nil
	}
	ownerPrio, newPrio := -1, -1
	for _, d := range owner.replaces {
		if materializes(d, ps.info) {
			ownerPrio = owner.replacesPriority
			break
		}
	}
	for _, d := range ps.replaces {
		if materializes(d, owner.info) {
			newPrio = ps.replacesPriority
			break
		}
	}
	if ownerPrio > newPrio {
		return false, nil
	}
	if newPrio >= 0 {
		return true, nil
	}
	if !pl.force {
		return false, &ConflictError{Path: path, Owner: owner.nameVersion()}
	}
	pl.warn("%s: overwriting %s owned by %s.", ps.nameVersion(), path, owner.nameVersion())
	return true, nil
}

// materializes reports whether dependency d names the package p itself
// (apk_dep_is_materialized).
func materializes(d apk.Dependency, p *apk.Package) bool {
	if d.Name != p.Name {
		return d.Conflict
	}
	switch d.Mask {
	case apk.DepMaskChecksum:
		return d.Version == p.Checksum.String()
	case apk.DepMaskAny:
		return !d.Conflict
	}
	if apk.CompareVersionsFuzzy(p.Version, d.Version, d.Fuzzy)&d.Mask != 0 {
		return !d.Conflict
	}
	return d.Conflict
}

// release removes ps from the ownership database: it returns the files
// still its own, to delete, and the directories no package references any
// more, deepest first, to remove.
func (pl *planner) release(ps *pkgState) (purge []purgeFile, rmdirs []string) {
	ps.eachFile(func(dir, name string, csum apk.Checksum) {
		p := joinPath(dir, name)
		if o := pl.owners[p]; o != nil && o.pkg == ps {
			purge = append(purge, purgeFile{dir: dir, name: name, csum: csum})
			delete(pl.owners, p)
		}
	})
	for _, d := range ps.dirPaths() {
		pl.modified[d] = true
	}
	for d := range ps.dirClosure() {
		pl.dirRefs[d]--
		if pl.dirRefs[d] <= 0 {
			delete(pl.dirRefs, d)
			rmdirs = append(rmdirs, d)
			pl.modified[d] = true
		}
	}
	sort.Slice(rmdirs, func(i, j int) bool {
		di, dj := strings.Count(rmdirs[i], "/"), strings.Count(rmdirs[j], "/")
		if di != dj {
			return di > dj
		}
		return rmdirs[i] > rmdirs[j]
	})
	return purge, rmdirs
}
