package install

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// Directories are where phase 1 and apk differ most. apk unpacks each
// package right after its pre-install script, making a missing directory
// then (mkdirat with the entry's mode), and decides then whether it owns
// the directory's permissions (apk_db_dir_prepare): yes when it made the
// directory, or when an existing one still has the mode and owner the
// database expects; a directory a script made first is left as the script
// made it. Phase 1 runs before any script, so a directory it has to make
// for a package's files is made under a hidden name (".apk." and a hash of
// its path, like the files' temporary names) and only appears under its
// own name when phase 2 reaches the first package naming it. If something
// made the directory in the meantime (a pre-install script adding a user
// with that home, the script runner's lib/apk/exec), the hidden one's
// temporary entries move into it and it keeps what the script gave it.

// dirState is what the commit knows of a directory a package of the
// transaction names.
type dirState struct {
	// hidden is the name phase 1 made the directory under, in its
	// parent; "" once it is in place, or when it already existed.
	hidden string
	// seen is set once phase 2 reached the directory the way apk's
	// first apk_db_dir_prepare does; update then says whether its mode
	// and owner follow its packages (apk's update_permissions).
	seen, update bool
}

// hiddenDirName is the name phase 1 makes a missing directory under. The
// hash input starts with a NUL, which no package name (the start of a
// temporary file name's input) does.
func hiddenDirName(p string) string {
	h := sha256.Sum256([]byte("\x00dir\x00" + p))
	return ".apk." + hex.EncodeToString(h[:24])
}

// phys returns where directory p is in the root now: its path with every
// component phase 1 made and phase 2 has not yet put in place replaced by
// its hidden name. The caller holds t.mu or runs in phase 2.
func (t *txn) phys(p string) string {
	if p == "" || len(t.created) == 0 {
		return p
	}
	parent, base := splitPath(p)
	if ds := t.dirs[p]; ds != nil && ds.hidden != "" {
		base = ds.hidden
	}
	return joinPath(t.phys(parent), base)
}

// openPkgDir opens directory p of a package wherever it is now.
func (t *txn) openPkgDir(p string) (rootfs.Dir, error) {
	d, err := t.root.OpenDir(t.phys(p))
	if err != nil {
		return nil, err
	}
	// Errors name the directory as the package does.
	return rootfs.WithPath(d, p), nil
}

// prepareDir makes sure a directory a package names exists for phase 1 to
// extract into (see above). Concurrent extractions call it.
func (t *txn) prepareDir(p string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.prepareDirLocked(p)
}

func (t *txn) prepareDirLocked(p string) error {
	if p == "" {
		return nil
	}
	if _, ok := t.dirs[p]; ok {
		return nil
	}
	st, err := t.lstat(p)
	switch {
	case err == nil && (st.IsDir() || st.IsSymlink()):
		// A symlink is followed inside the root.
		t.dirs[p] = &dirState{}
		return nil
	case err == nil:
		return fmt.Errorf("%s: exists in the root and is not a directory", p)
	case !isNotExist(err):
		return err
	}
	parent, _ := splitPath(p)
	if err := t.prepareDirLocked(parent); err != nil {
		return err
	}
	pd, err := t.openPkgDir(parent)
	if err != nil {
		return err
	}
	defer pd.Close()
	hidden := hiddenDirName(p)
	// A leftover of an interrupted run has the same name: reuse it.
	if err := pd.Mkdir(hidden, 0o755); err != nil && !isExist(err) {
		return err
	}
	t.dirs[p] = &dirState{hidden: hidden}
	t.created = append(t.created, p)
	return nil
}

// touchDir is apk_db_dir_prepare in phase 2: the first time the commit
// reaches directory p, as a directory of a package being unpacked (mode
// is the entry's) or of a package being purged (mode 0), it puts a
// hidden directory in place or makes a missing one, and decides whether
// the directory's permissions follow its packages.
func (t *txn) touchDir(p string, mode uint32) error {
	if p == "" {
		return nil
	}
	ds := t.dirs[p]
	if ds == nil {
		ds = &dirState{}
		t.dirs[p] = ds
	}
	if ds.seen {
		return nil
	}
	if ds.hidden != "" && mode == 0 {
		// apk finds no directory there: nothing to decide yet.
		return nil
	}
	parent, base := splitPath(p)
	// Parents a package does not name itself (apk would fail here).
	if pds := t.dirs[parent]; pds != nil && pds.hidden != "" {
		if err := t.touchDir(parent, 0o755); err != nil {
			return err
		}
	}
	pd, err := t.openPkgDir(parent)
	if err != nil {
		return err
	}
	defer pd.Close()
	st, err := pd.Lstat(base)
	switch {
	case err == nil && ds.hidden != "":
		// Made while phase 2 ran: keep it, with the hidden one's
		// contents moved in.
		if err := t.mergeHidden(p, ds.hidden); err != nil {
			return err
		}
		ds.hidden = ""
		ds.update = t.expects(p, st)
	case err == nil:
		ds.update = t.expects(p, st)
	case !isNotExist(err):
		return err
	case mode == 0:
		return nil
	case ds.hidden != "":
		if err := pd.Rename(ds.hidden, base); err != nil {
			return err
		}
		ds.hidden = ""
		if err := t.setCreatedMode(pd, base, mode); err != nil {
			return err
		}
		ds.update = true
	default:
		// Removed by an earlier step of this commit, or by a script.
		if err := pd.Mkdir(base, 0o755); err != nil && !isExist(err) {
			return err
		}
		if err := t.setCreatedMode(pd, base, mode); err != nil {
			return err
		}
		ds.update = true
	}
	ds.seen = true
	return nil
}

// setCreatedMode gives a directory phase 2 put in place the mode apk's
// mkdirat(entry mode) under umask 0 gives it: the permission and sticky
// bits of the entry, setgid only when inherited from the parent.
func (t *txn) setCreatedMode(pd rootfs.Dir, name string, mode uint32) error {
	st, err := pd.Lstat(name)
	if err != nil {
		return err
	}
	want := mode&0o1777 | st.Mode&0o2000
	if st.Mode&0o7777 == want {
		return nil
	}
	return pd.Chmod(name, want)
}

// expects reports whether an existing directory has the mode and owner
// the database expects of it, which lets the commit manage them.
func (t *txn) expects(p string, st rootfs.Stat) bool {
	acl, ok := t.expected[p]
	return ok && st.IsDir() && st.Mode&0o7777 == acl.Mode && st.UID == acl.UID && st.GID == acl.GID
}

// mergeHidden moves the entries of the hidden directory into the
// directory of the same path something else made, and removes it. Its
// entries are all temporary names (".apk.…": files and hidden
// directories), which nothing else uses.
func (t *txn) mergeHidden(p, hidden string) error {
	parent, _ := splitPath(p)
	src, err := t.root.OpenDir(joinPath(t.phys(parent), hidden))
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := t.root.OpenDir(joinPath(t.phys(parent), path.Base(p)))
	if err != nil {
		return err
	}
	defer dst.Close()
	names, err := src.Names()
	if err != nil {
		return err
	}
	for _, n := range names {
		if !strings.HasPrefix(n, ".apk.") {
			return fmt.Errorf("/%s: unexpected entry %s in the directory being moved into place", p, n)
		}
		if err := src.RenameNoReplace(n, dst, n); err != nil {
			return err
		}
	}
	pd, err := t.root.OpenDir(t.phys(parent))
	if err != nil {
		return err
	}
	defer pd.Close()
	return pd.RemoveDir(hidden)
}

// unhideAll puts in place every directory phase 2 did not reach (none,
// unless a package failed half way), parents first, so that no hidden
// directory is left behind.
func (t *txn) unhideAll() {
	var left []string
	for p, ds := range t.dirs {
		if ds.hidden != "" {
			left = append(left, p)
		}
	}
	sort.Strings(left)
	for _, p := range left {
		if err := t.touchDir(p, 0o755); err != nil {
			t.warnf("%v", err)
		}
	}
}

// forgetDir is apk_db_dir_unref reaching no references: the directory is
// forgotten, and a later package naming it decides afresh.
func (t *txn) forgetDir(p string) {
	if ds := t.dirs[p]; ds != nil {
		ds.seen, ds.update = false, false
	}
	delete(t.expected, p)
}
