package install

import (
	"bytes"
	"context"
	"fmt"
	"sort"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// apply carries out one planned step (phase 2), as apk_db_install_pkg
// does: pre-script, files into place, the old version's leftovers out,
// post-script. Failures mark the package broken and the commit goes on, so
// that the database written at the end matches the root.
func (t *txn) apply(ctx context.Context, st *step) {
	if st.line != "" {
		fmt.Fprintln(t.in.out(), st.line)
	}
	switch st.kind {
	case stepKeep:
		if st.old != nil {
			st.old.repoTag = st.newTag
			if st.old.broken() {
				t.rep.Errors++
				t.rep.Problems = append(t.rep.Problems, fmt.Errorf("%s is broken (by an earlier commit)", st.old.nameVersion()))
			}
		}
	case stepRemove:
		args := []string{st.old.info.Version}
		t.runScript(ctx, st.old, "pre-deinstall", args)
		t.purge(st)
		t.runScript(ctx, st.old, "post-deinstall", args)
	case stepInstall, stepUpgrade:
		ps := st.new
		args := []string{ps.info.Version}
		pre, post := "pre-install", "post-install"
		if st.kind == stepUpgrade {
			args = append(args, st.old.info.Version)
			pre, post = "pre-upgrade", "post-upgrade"
		}
		t.runScript(ctx, ps, pre, args)
		if ps.staged != nil {
			t.migrate(ps)
		}
		if st.kind == stepUpgrade {
			t.purge(st)
		}
		t.runScript(ctx, ps, post, args)
		if ps.broken() {
			t.rep.Errors++
		}
	}
}

// migrate moves a staged package's files into place
// (apk_db_migrate_files). Owners are resolved now, after the pre-install
// script and the packages before this one had their say in etc/passwd.
func (t *txn) migrate(ps *pkgState) {
	sp := ps.staged
	for _, d := range sp.dirs {
		if err := t.touchDir(d.path, d.owner.Mode); err != nil {
			ps.brokenFiles = true
			t.problem(fmt.Errorf("install %s: %w", ps.nameVersion(), err))
		}
		d.acl = d.owner.resolved(t.ids)
	}
	var (
		dfd    rootfs.Dir
		cur    string
		setgid bool
	)
	defer func() {
		if dfd != nil {
			dfd.Close()
		}
	}()
	for _, f := range sp.files {
		if f.skip {
			continue
		}
		f.acl = f.owner.resolved(t.ids)
		if dfd == nil || f.dir.path != cur {
			if dfd != nil {
				dfd.Close()
			}
			var err error
			if dfd, err = t.openPkgDir(f.dir.path); err != nil {
				dfd = nil
				ps.brokenFiles = true
				t.problem(fmt.Errorf("install %s: %w", ps.nameVersion(), err))
				continue
			}
			cur = f.dir.path
			st, err := dfd.Stat()
			setgid = err == nil && st.Mode&0o2000 != 0
		}
		if err := t.place(dfd, f, setgid); err != nil {
			dfd.Remove(f.tmp)
			ps.brokenFiles = true
			t.problem(fmt.Errorf("install %s: %w", ps.nameVersion(), err))
		}
		if p := f.path(); p == "etc/passwd" || p == "etc/group" {
			t.ids.reset()
		}
	}
}

// place gives a staged file its owner and renames it into place; in a
// protected directory a file changed locally stays and the new version is
// written beside it as <name>.apk-new.
func (t *txn) place(dfd rootfs.Dir, f *stagedFile, setgidDir bool) error {
	if t.chown && f.link == nil && (f.acl.UID != 0 || f.acl.GID != 0 || setgidDir) {
		if err := dfd.Lchown(f.tmp, f.acl.UID, f.acl.GID); err != nil {
			return err
		}
		// chown clears setuid bits and security.capability: again.
		if f.kind == rootfs.TypeReg {
			if f.owner.Mode&0o7000 != 0 {
				if err := dfd.Chmod(f.tmp, f.owner.Mode); err != nil {
					return err
				}
			}
			if len(f.owner.Xattrs) > 0 {
				if err := dfd.SetXattrs(f.tmp, f.owner.Xattrs); err != nil {
					return err
				}
			}
		}
	}
	if t.prot.mode(f.dir.path).keepsChanges() {
		cur, exists, err := digest(dfd, f.name)
		if err != nil {
			return err
		}
		if exists && (f.prev == nil || f.prev.csum == nil || !bytes.Equal(f.prev.csum, cur)) {
			if f.csum != nil && bytes.Equal(f.csum, cur) {
				return dfd.Remove(f.tmp)
			}
			return dfd.Rename(f.tmp, f.name+".apk-new")
		}
	}
	return dfd.Rename(f.tmp, f.name)
}

// purge deletes the files the old package of a step still owned and the
// directories nobody references any more (apk_db_purge_pkg). In protected
// directories, files changed locally are left alone.
func (t *txn) purge(st *step) {
	fds := map[string]rootfs.Dir{}
	defer func() {
		for _, d := range fds {
			if d != nil {
				d.Close()
			}
		}
	}()
	for _, pf := range st.purge {
		d, ok := fds[pf.dir]
		if !ok {
			var err error
			if d, err = t.openPkgDir(pf.dir); err != nil {
				d = nil
			}
			fds[pf.dir] = d
		}
		if d == nil {
			continue
		}
		if t.prot.mode(pf.dir).keepsChanges() {
			cur, exists, err := digest(d, pf.name)
			if err != nil || !exists || pf.csum == nil || !bytes.Equal(cur, pf.csum) {
				continue
			}
		}
		if err := d.Remove(pf.name); err != nil && !isNotExist(err) {
			t.warnf("%s: %v", st.old.nameVersion(), err)
		}
	}
	for _, dir := range st.old.dirPaths() {
		if err := t.touchDir(dir, 0); err != nil {
			t.warnf("%s: %v", st.old.nameVersion(), err)
		}
	}
	for _, dir := range st.rmdirs {
		t.forgetDir(dir)
		parent, base := splitPath(dir)
		d, err := t.openPkgDir(parent)
		if err != nil {
			continue
		}
		// Not empty (files nobody owns) or not a directory: it stays,
		// as apk leaves it.
		d.RemoveDir(base)
		d.Close()
	}
}

// updateDirPermissions gives the directories the commit may manage the
// mode and owner their packages agree on
// (apk_db_update_directory_permissions).
func (t *txn) updateDirPermissions(final []*pkgState) {
	type merged struct {
		acl  apk.ACL
		have bool
	}
	acls := map[string]merged{}
	for _, ps := range final {
		ps.dirACLs(func(dir string, acl apk.ACL) {
			if ds := t.dirs[dir]; dir == "" || ds == nil || !ds.update {
				return
			}
			m := acls[dir]
			m.acl, m.have = mergeDirACL(m.acl, m.have, acl), true
			acls[dir] = m
		})
	}
	dirs := make([]string, 0, len(acls))
	for d := range acls {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, dir := range dirs {
		acl := acls[dir].acl
		d, err := t.root.OpenDir(dir)
		if err != nil {
			continue
		}
		st, err := d.Stat()
		if err == nil && (st.Mode&0o7777 != acl.Mode || (t.chown && (st.UID != acl.UID || st.GID != acl.GID))) {
			err = setOwnerMode(d, acl.UID, acl.GID, acl.Mode, t.chown)
		}
		if err != nil {
			t.warnf("updating directory permissions: %v", err)
		}
		d.Close()
	}
}
