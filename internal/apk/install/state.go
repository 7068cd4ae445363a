package install

import (
	"github.com/cairnlinux/cairn/internal/apk"
)

// pkgState is a package of the database the commit builds: one installed
// before the commit (rec set) or one this commit installs (staged set, or
// neither for a meta package).
type pkgState struct {
	info             *apk.Package
	rec              *apk.InstalledPackage
	staged           *stagedPkg
	replaces         []apk.Dependency
	replacesPriority int
	scripts          map[string][]byte
	triggers         []string
	repoTag          string // without '@'

	brokenFiles, brokenScript, brokenXattr, sha256x160 bool

	// isNew marks packages (re)installed by this commit: their triggers
	// see every directory, not only the modified ones.
	isNew bool
	// lostFiles marks an untouched package another package took files
	// from (by replaces, same origin or force): its record is rewritten.
	lostFiles bool
}

func (ps *pkgState) nameVersion() string { return ps.info.Name + "-" + ps.info.Version }

func (ps *pkgState) broken() bool { return ps.brokenFiles || ps.brokenScript }

// eachFile calls fn for every file the package lists, with its digest.
func (ps *pkgState) eachFile(fn func(dir, name string, csum apk.Checksum)) {
	switch {
	case ps.staged != nil:
		for _, f := range ps.staged.files {
			if !f.skip {
				fn(f.dir.path, f.name, f.csum)
			}
		}
	case ps.rec != nil:
		for _, d := range ps.rec.Dirs {
			for _, f := range d.Files {
				fn(d.Path, f.Name, f.Checksum)
			}
		}
	}
}

// dirPaths lists the directories the package owns (its F: entries).
func (ps *pkgState) dirPaths() []string {
	var out []string
	switch {
	case ps.staged != nil:
		for _, d := range ps.staged.dirs {
			out = append(out, d.path)
		}
	case ps.rec != nil:
		for _, d := range ps.rec.Dirs {
			out = append(out, d.Path)
		}
	}
	return out
}

// dirACLs calls fn for every owned directory with the ACL the package
// gives it.
func (ps *pkgState) dirACLs(fn func(dir string, acl apk.ACL)) {
	switch {
	case ps.staged != nil:
		for _, d := range ps.staged.dirs {
			fn(d.path, d.acl)
		}
	case ps.rec != nil:
		for _, d := range ps.rec.Dirs {
			fn(d.Path, d.ACL)
		}
	}
}

// dirClosure returns the package's directories and all their parents,
// without the root: the directories its presence keeps from being removed.
func (ps *pkgState) dirClosure() map[string]bool {
	set := map[string]bool{}
	for _, d := range ps.dirPaths() {
		for ; d != "" && !set[d]; d = parentDir(d) {
			set[d] = true
		}
	}
	return set
}

// mergeDirACL folds one package's ACL for a directory into acl the way
// apk does (apk_db_dir_apply_diri_permissions): the lowest owner wins, and
// packages agreeing on the owner intersect their modes. have is false for
// the first one.
func mergeDirACL(acl apk.ACL, have bool, next apk.ACL) apk.ACL {
	switch {
	case !have:
		return next
	case uint32(next.UID) < uint32(acl.UID) || (next.UID == acl.UID && uint32(next.GID) < uint32(acl.GID)):
		acl.UID, acl.GID, acl.Mode = next.UID, next.GID, next.Mode
	case next.UID == acl.UID && next.GID == acl.GID:
		acl.Mode &= next.Mode
	}
	return acl
}
