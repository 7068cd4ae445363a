package solver

import (
	"bytes"

	"github.com/cairnlinux/cairn/internal/apk"
)

// The results of analyzing a dependency against a package.
const (
	depIrrelevant = 0x01
	depSatisfies  = 0x02
	depConflicts  = 0x04

	foreachInstalled = 0x10
	foreachMarked    = 0x20
	foreachDep       = 0x80
	foreachGenidMask = 0xffffff00
)

func (d *Dep) matchesChecksum(pkg *Pkg) bool {
	c, err := apk.ParseChecksum(d.Version)
	return err == nil && bytes.Equal(c, pkg.Checksum)
}

func (d *Dep) versionMatches(have string) bool {
	return apk.CompareVersionsFuzzy(have, d.Version, d.Fuzzy)&int(d.Mask) != 0
}

// isProvidedBy reports whether provider p satisfies d (apk_dep_is_provided).
// A nil package means "nothing provides the name", which satisfies only a
// conflict.
func (d *Dep) isProvidedBy(p Provider) bool {
	if p.Pkg == nil {
		return d.Conflict
	}
	switch d.Mask {
	case apk.DepMaskChecksum:
		return d.matchesChecksum(p.Pkg)
	case apk.DepMaskAny:
		return !d.Conflict
	}
	if p.Version == "" {
		return d.Conflict
	}
	if d.versionMatches(p.Version) {
		return !d.Conflict
	}
	return d.Conflict
}

// isMaterialized reports whether pkg itself (not a provide) satisfies d.
func (d *Dep) isMaterialized(pkg *Pkg) bool {
	if pkg == nil || d.Name != pkg.Name {
		return d.Conflict
	}
	switch d.Mask {
	case apk.DepMaskChecksum:
		return d.matchesChecksum(pkg)
	case apk.DepMaskAny:
		return !d.Conflict
	}
	if d.versionMatches(pkg.Version) {
		return !d.Conflict
	}
	return d.Conflict
}

// analyze classifies d against pkg (apk_dep_analyze).
func (d *Dep) analyze(pkg *Pkg) int {
	if pkg == nil {
		return depIrrelevant
	}
	if d.Name == pkg.Name {
		if d.isMaterialized(pkg) {
			return depSatisfies
		}
		return depConflicts
	}
	for _, p := range pkg.Provides {
		if p.Name != d.Name {
			continue
		}
		if d.isProvidedBy(Provider{Pkg: pkg, Version: p.Version}) {
			return depSatisfies
		}
		return depConflicts
	}
	return depIrrelevant
}

// String renders the dependency as apk prints it in reports.
func (d *Dep) String() string {
	s := d.Name.Name
	if d.Conflict {
		s = "!" + s
	}
	if d.Version != "" {
		s += apk.VersionOpString(int(d.Mask)) + d.Version
	}
	return s
}

func (db *DB) depWorldString(d *Dep) string {
	s := d.Name.Name
	if d.Conflict {
		s = "!" + s
	}
	if d.Tag > 0 && int(d.Tag) < len(db.Tags) {
		s += db.Tags[d.Tag].Tag
	}
	if d.Version != "" {
		s += apk.VersionOpString(int(d.Mask)) + d.Version
	}
	return s
}

func (db *DB) matchGenid(pkg *Pkg, match uint32) bool {
	genid := match & foreachGenidMask
	if pkg != nil && genid != 0 {
		if pkg.foreachGenid >= genid {
			return true
		}
		pkg.foreachGenid = genid
	}
	return false
}

type depCallback func(pkg0 *Pkg, dep0 *Dep, pkg *Pkg)

// foreachMatchingDependency calls cb for the deps (of pkg, or of the world
// when pkg is nil) whose analysis against mpkg is in match.
func (db *DB) foreachMatchingDependency(pkg *Pkg, deps []Dep, match uint32, mpkg *Pkg, cb depCallback) {
	oneDepOnly := match&foreachGenidMask != 0 && match&foreachDep == 0
	if db.matchGenid(pkg, match) {
		return
	}
	for i := range deps {
		d := &deps[i]
		if uint32(d.analyze(mpkg))&match != 0 {
			cb(pkg, d, mpkg)
			if oneDepOnly {
				break
			}
		}
	}
}

func (db *DB) foreachReverseDependencyIn(pkg *Pkg, rdepends []*Name, match uint32, cb depCallback) {
	marked := match&foreachMarked != 0
	installed := match&foreachInstalled != 0
	oneDepOnly := match&foreachGenidMask != 0 && match&foreachDep == 0
	for _, name0 := range rdepends {
		for _, p0 := range name0.Providers {
			pkg0 := p0.Pkg
			if installed && pkg0.Installed == nil {
				continue
			}
			if marked && !pkg0.marked {
				continue
			}
			if db.matchGenid(pkg0, match) {
				continue
			}
			for i := range pkg0.Depends {
				d0 := &pkg0.Depends[i]
				if uint32(d0.analyze(pkg))&match != 0 {
					cb(pkg0, d0, pkg)
					if oneDepOnly {
						break
					}
				}
			}
		}
	}
}

// foreachReverseDependency visits the packages depending on pkg or on one of
// the names it provides (apk_pkg_foreach_reverse_dependency).
func (db *DB) foreachReverseDependency(pkg *Pkg, match uint32, cb depCallback) {
	db.foreachReverseDependencyIn(pkg, db.rdepends(pkg.Name), match, cb)
	for _, p := range pkg.Provides {
		db.foreachReverseDependencyIn(pkg, db.rdepends(p.Name), match, cb)
	}
}

// WorldString renders a world dependency with its repository tag, as
// /etc/apk/world holds it.
func (db *DB) WorldString(d *Dep) string { return db.depWorldString(d) }
