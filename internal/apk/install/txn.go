package install

import (
	"fmt"
	"path/filepath"
	"sync"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// openRoot opens the root to install into: FS when set, else Root.
func (in *Installer) openRoot() (rootfs.Root, error) {
	if in.FS != nil {
		return nopClose{in.FS}, nil
	}
	abs, err := filepath.Abs(in.Root)
	if err != nil {
		return nil, fmt.Errorf("install: root: %w", err)
	}
	root, err := rootfs.OpenRoot(abs)
	if err != nil {
		return nil, fmt.Errorf("install: %w", err)
	}
	return root, nil
}

// nopClose is a root the caller keeps open.
type nopClose struct{ rootfs.Root }

func (nopClose) Close() error { return nil }

// txn is one commit: the open root, what phase 1 made (to roll back) and
// what the commit learned along the way.
type txn struct {
	in     *Installer
	root   rootfs.Root
	unlock func()
	// lockMade is set when the commit created lib/apk/db/lock.
	lockMade bool
	// mu guards dirs, created and staged while packages are extracted
	// concurrently.
	mu sync.Mutex
	// dirs holds every directory a package of this commit named, and
	// the directories phase 1 created (created lists them in order).
	dirs    map[string]*dirState
	created []string
	staged  []*stagedPkg

	ids        *idCache
	prot       *protector
	expected   map[string]apk.ACL // directory ACLs the database expects
	chown      bool
	runScripts bool
	rep        *Report
	notRun     map[string]bool
	// files is the file cache, nil without one.
	files *fileCache
	// durable: flush the root before the database is written, and the
	// database files themselves.
	durable bool
}

func (in *Installer) begin() (*txn, error) {
	root, err := in.openRoot()
	if err != nil {
		return nil, err
	}
	t := &txn{
		in:         in,
		root:       root,
		dirs:       map[string]*dirState{},
		chown:      !in.NoChown && privileged(),
		runScripts: !in.NoScripts && privileged(),
		rep:        &Report{},
		notRun:     map[string]bool{},
		files:      newFileCache(in.Files),
	}
	// The file cache publishes entries only once their data is on disk.
	t.durable = in.Sync || t.files != nil
	t.ids = newIDCache(func(rel string) ([]byte, error) { return root.ReadFile(rel, maxReadFile) })
	if err := t.lock(); err != nil {
		t.rollback()
		root.Close()
		return nil, fmt.Errorf("install: %w", err)
	}
	if err := t.makeProc(); err != nil {
		t.close()
		return nil, fmt.Errorf("install: %w", err)
	}
	return t, nil
}

// makeProc makes the mount point for /proc that apk_db_open makes in a
// root other than / (mode 0555), so that a package's proc/ entry finds
// it, as with apk.
func (t *txn) makeProc() error {
	d, err := t.root.OpenDir("")
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Lstat("proc"); !isNotExist(err) {
		return nil
	}
	if err := d.Mkdir("proc", 0o555); err != nil {
		if isExist(err) {
			return nil
		}
		return err
	}
	// A failed commit leaves the root as it was.
	t.noteCreated("proc")
	return d.Chmod("proc", 0o555)
}

// lock takes lib/apk/db/lock for the whole commit.
func (t *txn) lock() error {
	if _, err := t.root.MkdirAll(dbDir, 0o755, t.noteCreated); err != nil {
		return err
	}
	d, err := t.root.OpenDir(dbDir)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err := d.Lstat(lockFile); isNotExist(err) {
		t.lockMade = true
	}
	t.unlock, err = lock(d, lockFile)
	if err != nil {
		t.lockMade = false
	}
	return err
}

func (t *txn) close() {
	t.files.discard()
	if t.unlock != nil {
		t.unlock()
	}
	t.root.Close()
}

func (t *txn) noteCreated(p string) {
	t.created = append(t.created, p)
	t.dirs[p] = &dirState{}
}

func (t *txn) warnf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	t.rep.Warnings = append(t.rep.Warnings, msg)
	fmt.Fprintf(t.in.errOut(), "WARNING: %s\n", msg)
}

// problem records an error that leaves a package broken.
func (t *txn) problem(err error) {
	t.rep.Problems = append(t.rep.Problems, err)
	fmt.Fprintf(t.in.errOut(), "ERROR: %v\n", err)
}

// lstat describes the entry at p without following a final symlink.
func (t *txn) lstat(p string) (rootfs.Stat, error) {
	parent, base := splitPath(p)
	d, err := t.openPkgDir(parent)
	if err != nil {
		return rootfs.Stat{}, err
	}
	defer d.Close()
	return d.Lstat(base)
}

// rollback removes everything phase 1 made: the temporary files of every
// staged package and the directories it created, deepest first.
func (t *txn) rollback() {
	fds := map[string]rootfs.Dir{}
	open := func(dir string) rootfs.Dir {
		if d, ok := fds[dir]; ok {
			return d
		}
		d, err := t.openPkgDir(dir)
		if err != nil {
			d = nil
		}
		fds[dir] = d
		return d
	}
	for i := len(t.staged) - 1; i >= 0; i-- {
		sp := t.staged[i]
		for j := len(sp.files) - 1; j >= 0; j-- {
			f := sp.files[j]
			if d := open(f.dir.path); d != nil {
				d.Remove(f.tmp)
			}
		}
	}
	if t.lockMade {
		if d := open(dbDir); d != nil {
			d.Remove(lockFile)
		}
	}
	for _, d := range fds {
		if d != nil {
			d.Close()
		}
	}
	for i := len(t.created) - 1; i >= 0; i-- {
		parent, base := splitPath(t.phys(t.created[i]))
		if d, err := t.root.OpenDir(parent); err == nil {
			d.RemoveDir(base)
			d.Close()
		}
	}
	t.staged, t.created, t.lockMade = nil, nil, false
}

// removeSkipped deletes the temporaries of files the plan left to another
// package.
func (t *txn) removeSkipped(sp *stagedPkg) {
	for _, f := range sp.files {
		if !f.skip {
			continue
		}
		if d, err := t.openPkgDir(f.dir.path); err == nil {
			d.Remove(f.tmp)
			d.Close()
		}
	}
}
