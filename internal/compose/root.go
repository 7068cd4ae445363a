package compose

import (
	"bytes"
	"errors"
	"io"
	"os"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// rootFS is the directory being composed (see package rootfs: every path
// is resolved inside it with chroot semantics, and changes are made on
// single path components that never follow a symlink in the last one, so
// nothing is written outside the root).
//
// rootFS stamps what it creates with mtime and remembers the directories
// whose entries it changed; finish gives those the same time.
type rootFS struct {
	fs    rootfs.Root
	mtime time.Time
	dirty map[string]bool
}

func openRoot(dir string, mtime time.Time) (*rootFS, error) {
	fs, err := rootfs.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return newRoot(fs, mtime), nil
}

// newRoot composes into fs, a root on disk or in memory.
func newRoot(fs rootfs.Root, mtime time.Time) *rootFS {
	return &rootFS{fs: fs, mtime: mtime, dirty: map[string]bool{}}
}

// close releases the root without touching it; it is safe after finish.
func (r *rootFS) close() { r.fs.Close() }

// finish sets the modification time of every directory whose entries
// changed, then closes the root.
func (r *rootFS) finish() error {
	defer r.close()
	dirs := make([]string, 0, len(r.dirty))
	for d := range r.dirty {
		dirs = append(dirs, d)
	}
	sort.Strings(dirs)
	for _, d := range dirs {
		if err := r.in(d, func(dir rootfs.Dir) error { return dir.SetTimes("", r.mtime) }); err != nil {
			return err
		}
	}
	return nil
}

// in runs op on directory rel.
func (r *rootFS) in(rel string, op func(rootfs.Dir) error) error {
	d, err := r.fs.OpenDir(rel)
	if err != nil {
		return err
	}
	defer d.Close()
	return op(d)
}

// maxReadFile bounds the files read whole (account databases, zone files).
const maxReadFile = 64 << 20

// readFile reads a regular file of the root, following symlinks inside
// the root. A missing file gives an error matching fs.ErrNotExist.
func (r *rootFS) readFile(rel string) ([]byte, error) { return r.fs.ReadFile(rel, maxReadFile) }

// stat describes rel, following symlinks inside the root.
func (r *rootFS) stat(rel string) (rootfs.Stat, error) { return r.fs.Stat(rel) }

// symlinkOn returns the first part of rel (itself included) that is a
// symlink in the root, and where it points; "" when there is none up to
// where rel exists.
func (r *rootFS) symlinkOn(rel string) (link, target string, err error) {
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		parent, base := rootfs.Split(p)
		var st rootfs.Stat
		err := r.in(parent, func(d rootfs.Dir) error {
			var err error
			if st, err = d.Lstat(base); err == nil && st.IsSymlink() {
				target, err = d.Readlink(base)
			}
			return err
		})
		if errors.Is(err, syscall.ENOENT) {
			return "", "", nil
		}
		if err != nil {
			return "", "", err
		}
		if st.IsSymlink() {
			return p, target, nil
		}
	}
	return "", "", nil
}

// isDir reports whether rel is a directory (following symlinks inside the
// root); a missing path is not an error.
func (r *rootFS) isDir(rel string) (bool, error) {
	st, err := r.stat(rel)
	if errors.Is(err, syscall.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return st.IsDir(), nil
}

// mkdirAll makes sure directory rel exists. Missing parents are created
// 0755 root:root; rel itself, when missing, is created with perm, uid and
// gid. Existing directories are left as they are.
func (r *rootFS) mkdirAll(rel string, perm uint32, uid, gid int) error {
	if rel == "" {
		return nil
	}
	st, err := r.stat(rel)
	switch {
	case err == nil && st.IsDir():
		return nil
	case err == nil:
		return &os.PathError{Op: "open directory", Path: "/" + rel, Err: syscall.ENOTDIR}
	case !errors.Is(err, syscall.ENOENT):
		return err
	}
	parent, base := rootfs.Split(rel)
	if err := r.mkdirAll(parent, 0o755, 0, 0); err != nil {
		return err
	}
	return r.in(parent, func(d rootfs.Dir) error {
		if err := d.Mkdir(base, 0o700); err != nil {
			if errors.Is(err, syscall.EEXIST) {
				// Something that is not a directory, or a symlink
				// leading nowhere.
				err = &os.PathError{Op: "mkdir", Path: "/" + rel, Err: syscall.ENOTDIR}
			}
			return err
		}
		r.dirty[parent] = true
		r.dirty[rel] = true
		return setOwnerMode(d, base, uid, gid, perm)
	})
}

// inParent creates the parent directories of rel as needed (0755
// root:root) and runs op on the parent.
func (r *rootFS) inParent(rel string, op func(d rootfs.Dir, base string) error) error {
	if rel == "" {
		return &os.PathError{Op: "write", Path: "/", Err: errors.New("the root itself is not a file")}
	}
	parent, base := rootfs.Split(rel)
	if err := r.mkdirAll(parent, 0o755, 0, 0); err != nil {
		return err
	}
	return r.in(parent, func(d rootfs.Dir) error { return op(d, base) })
}

// writeFile replaces rel with data, owned by uid:gid with mode perm: it
// writes a temporary file beside it and renames it into place, so a
// symlink at rel is replaced, never followed.
func (r *rootFS) writeFile(rel string, data []byte, perm uint32, uid, gid int) error {
	return r.writeFrom(rel, bytes.NewReader(data), perm, uid, gid)
}

// writeFrom is writeFile with the content read from src.
func (r *rootFS) writeFrom(rel string, src io.Reader, perm uint32, uid, gid int) error {
	return r.inParent(rel, func(d rootfs.Dir, base string) error {
		err := rootfs.WriteFile(d, base, src, rootfs.WriteOptions{
			Perm: perm, Chown: true, UID: uid, GID: gid, Mtime: r.mtime, Sync: true, Temp: tempName(base),
		})
		if err == nil {
			r.dirty[d.Path()] = true
		}
		return err
	})
}

// symlink replaces rel with a symlink to target, owned by uid:gid.
func (r *rootFS) symlink(rel, target string, uid, gid int) error {
	return r.inParent(rel, func(d rootfs.Dir, base string) error {
		tmp := tempName(base)
		if err := d.Symlink(target, tmp); err != nil {
			return err
		}
		err := d.Lchown(tmp, uid, gid)
		if err == nil {
			err = d.SetTimes(tmp, r.mtime)
		}
		if err == nil {
			err = d.Rename(tmp, base)
		}
		if err != nil {
			d.Remove(tmp)
			return err
		}
		r.dirty[d.Path()] = true
		return nil
	})
}

// ensureDir makes rel a directory owned by uid:gid with mode perm,
// creating it when missing. An existing rel must be a real directory,
// not a symlink to one.
func (r *rootFS) ensureDir(rel string, perm uint32, uid, gid int) error {
	return r.inParent(rel, func(d rootfs.Dir, base string) error {
		st, err := d.Lstat(base)
		switch {
		case errors.Is(err, syscall.ENOENT):
			if err := d.Mkdir(base, 0o700); err != nil {
				return err
			}
			r.dirty[d.Path()] = true
		case err != nil:
			return err
		case !st.IsDir():
			return &os.PathError{Op: "mkdir", Path: "/" + rootfs.Join(d.Path(), base), Err: errors.New("exists and is not a directory")}
		}
		r.dirty[rootfs.Join(d.Path(), base)] = true
		return setOwnerMode(d, base, uid, gid, perm)
	})
}

// setOwnerMode sets owner and mode of the directory entry name, which the
// caller knows is not a symlink.
func setOwnerMode(d rootfs.Dir, name string, uid, gid int, perm uint32) error {
	if err := d.Lchown(name, uid, gid); err != nil {
		return err
	}
	return d.Chmod(name, perm)
}

func tempName(base string) string { return "." + base + ".cairn-new" }
