//go:build linux

package compose

import (
	"errors"
	"io"
	"os"
	"sort"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rootFS is the directory being composed. Every path is resolved inside it
// with openat2(RESOLVE_IN_ROOT), which gives chroot semantics: a symlink
// "etc -> /tmp/outside" in the root leads to ROOT/tmp/outside, and ".."
// stops at the root. Changes are made with *at calls on single path
// components that never follow a symlink in the last one, so nothing is
// written outside the root.
//
// rootFS stamps what it creates with mtime and remembers the directories
// whose entries it changed; finish gives those the same time.
type rootFS struct {
	path  string
	fd    int
	mtime unix.Timespec
	dirty map[string]bool
}

func openRoot(dir string, mtime time.Time) (*rootFS, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	return &rootFS{
		path:  dir,
		fd:    fd,
		mtime: unix.NsecToTimespec(mtime.UnixNano()),
		dirty: map[string]bool{},
	}, nil
}

// close releases the root without touching it; it is safe after finish.
func (r *rootFS) close() {
	if r.fd >= 0 {
		unix.Close(r.fd)
		r.fd = -1
	}
}

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
		fd, err := r.openat2(d, unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return &os.PathError{Op: "open directory", Path: "/" + d, Err: err}
		}
		err = futimens(fd, r.mtime)
		unix.Close(fd)
		if err != nil {
			return &os.PathError{Op: "set times", Path: "/" + d, Err: err}
		}
	}
	return nil
}

// futimens sets both times of the open file fd: utimensat(fd, NULL, ...),
// which x/sys/unix does not expose (it passes "" rather than NULL).
func futimens(fd int, ts unix.Timespec) error {
	times := [2]unix.Timespec{ts, ts}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), 0, uintptr(unsafe.Pointer(&times)), 0, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

const resolveInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

func (r *rootFS) openat2(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolveInRoot}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR, unix.EAGAIN:
			continue
		case unix.ENOSYS:
			return -1, errors.New("openat2 is not available: Linux 5.6 or newer is needed")
		}
		return -1, err
	}
}

// maxReadFile bounds the files read whole (account databases, zone files).
const maxReadFile = 64 << 20

// readFile reads a regular file of the root, following symlinks inside
// the root. A missing file gives an error matching fs.ErrNotExist.
func (r *rootFS) readFile(rel string) ([]byte, error) {
	fd, err := r.openat2(rel, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: "/" + rel, Err: err}
	}
	f := os.NewFile(uintptr(fd), "/"+rel)
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: "/" + rel, Err: errors.New("not a regular file")}
	}
	data, err := io.ReadAll(io.LimitReader(f, maxReadFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxReadFile {
		return nil, &os.PathError{Op: "read", Path: "/" + rel, Err: errors.New("file too large")}
	}
	return data, nil
}

// stat describes rel, following symlinks inside the root.
func (r *rootFS) stat(rel string) (unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := r.openat2(rel, unix.O_PATH)
	if err != nil {
		return st, &os.PathError{Op: "stat", Path: "/" + rel, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.Fstat(fd, &st); err != nil {
		return st, &os.PathError{Op: "stat", Path: "/" + rel, Err: err}
	}
	return st, nil
}

// symlinkOn returns the first part of rel (itself included) that is a
// symlink in the root, and where it points; "" when there is none up to
// where rel exists.
func (r *rootFS) symlinkOn(rel string) (link, target string, err error) {
	parts := strings.Split(rel, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		var st unix.Stat_t
		err := unix.Fstatat(r.fd, p, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT {
			return "", "", nil
		}
		if err != nil {
			return "", "", &os.PathError{Op: "stat", Path: "/" + p, Err: err}
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK {
			buf := make([]byte, 4096)
			n, err := unix.Readlinkat(r.fd, p, buf)
			if err != nil {
				return "", "", &os.PathError{Op: "readlink", Path: "/" + p, Err: err}
			}
			return p, string(buf[:n]), nil
		}
	}
	return "", "", nil
}

// isDir reports whether rel is a directory (following symlinks inside the
// root); a missing path is not an error.
func (r *rootFS) isDir(rel string) (bool, error) {
	st, err := r.stat(rel)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR, nil
}

// mkdirAll makes sure directory rel exists. Missing parents are created
// 0755 root:root; rel itself, when missing, is created with perm, uid and
// gid. Existing directories are left as they are.
func (r *rootFS) mkdirAll(rel string, perm uint32, uid, gid int) error {
	if rel == "" {
		return nil
	}
	fd, err := r.openat2(rel, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil {
		unix.Close(fd)
		return nil
	}
	if err != unix.ENOENT {
		return &os.PathError{Op: "open directory", Path: "/" + rel, Err: err}
	}
	parent, base := splitRel(rel)
	if err := r.mkdirAll(parent, 0o755, 0, 0); err != nil {
		return err
	}
	d, err := r.openDir(parent)
	if err != nil {
		return err
	}
	defer d.close()
	if err := unix.Mkdirat(d.fd, base, 0o700); err != nil {
		if err == unix.EEXIST {
			// Something that is not a directory, or a symlink leading
			// nowhere.
			err = unix.ENOTDIR
		}
		return d.err("mkdir", base, err)
	}
	r.dirty[parent] = true
	r.dirty[rel] = true
	return d.setOwnerMode(base, uid, gid, perm)
}

// openDir opens directory rel for *at calls.
func (r *rootFS) openDir(rel string) (*dirFD, error) {
	fd, err := r.openat2(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: "/" + rel, Err: err}
	}
	return &dirFD{fd: fd, path: rel}, nil
}

// openParent creates the parent directories of rel as needed (0755
// root:root) and opens the parent.
func (r *rootFS) openParent(rel string) (*dirFD, string, error) {
	if rel == "" {
		return nil, "", &os.PathError{Op: "write", Path: "/", Err: errors.New("the root itself is not a file")}
	}
	parent, base := splitRel(rel)
	if err := r.mkdirAll(parent, 0o755, 0, 0); err != nil {
		return nil, "", err
	}
	d, err := r.openDir(parent)
	if err != nil {
		return nil, "", err
	}
	return d, base, nil
}

// writeFile replaces rel with data, owned by uid:gid with mode perm: it
// writes a temporary file beside it and renames it into place, so a
// symlink at rel is replaced, never followed.
func (r *rootFS) writeFile(rel string, data []byte, perm uint32, uid, gid int) error {
	return r.writeFrom(rel, bytesReader(data), perm, uid, gid)
}

// writeFrom is writeFile with the content read from src.
func (r *rootFS) writeFrom(rel string, src io.Reader, perm uint32, uid, gid int) error {
	d, base, err := r.openParent(rel)
	if err != nil {
		return err
	}
	defer d.close()
	tmp := tempName(base)
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(d.fd, tmp, flags, 0o600)
	if err == unix.EEXIST {
		// A leftover of an interrupted run.
		unix.Unlinkat(d.fd, tmp, 0)
		fd, err = unix.Openat(d.fd, tmp, flags, 0o600)
	}
	if err != nil {
		return d.err("create", tmp, err)
	}
	f := os.NewFile(uintptr(fd), "/"+joinRel(d.path, tmp))
	_, err = io.Copy(f, src)
	if err == nil {
		err = unix.Fchown(fd, uid, gid)
	}
	if err == nil {
		// After chown, which clears set-id bits.
		err = unix.Fchmod(fd, perm&0o7777)
	}
	if err == nil {
		err = futimens(fd, r.mtime)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		return d.err("write", base, err)
	}
	if err := unix.Renameat(d.fd, tmp, d.fd, base); err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		return d.err("rename", base, err)
	}
	r.dirty[d.path] = true
	return nil
}

// symlink replaces rel with a symlink to target, owned by uid:gid.
func (r *rootFS) symlink(rel, target string, uid, gid int) error {
	d, base, err := r.openParent(rel)
	if err != nil {
		return err
	}
	defer d.close()
	tmp := tempName(base)
	err = unix.Symlinkat(target, d.fd, tmp)
	if err == unix.EEXIST {
		unix.Unlinkat(d.fd, tmp, 0)
		err = unix.Symlinkat(target, d.fd, tmp)
	}
	if err != nil {
		return d.err("symlink", tmp, err)
	}
	err = unix.Fchownat(d.fd, tmp, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	if err == nil {
		err = unix.UtimesNanoAt(d.fd, tmp, []unix.Timespec{r.mtime, r.mtime}, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err == nil {
		err = unix.Renameat(d.fd, tmp, d.fd, base)
	}
	if err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		return d.err("symlink", base, err)
	}
	r.dirty[d.path] = true
	return nil
}

// ensureDir makes rel a directory owned by uid:gid with mode perm,
// creating it when missing. An existing rel must be a real directory,
// not a symlink to one.
func (r *rootFS) ensureDir(rel string, perm uint32, uid, gid int) error {
	d, base, err := r.openParent(rel)
	if err != nil {
		return err
	}
	defer d.close()
	var st unix.Stat_t
	err = unix.Fstatat(d.fd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	switch {
	case err == unix.ENOENT:
		if err := unix.Mkdirat(d.fd, base, 0o700); err != nil {
			return d.err("mkdir", base, err)
		}
		r.dirty[d.path] = true
	case err != nil:
		return d.err("stat", base, err)
	case st.Mode&unix.S_IFMT != unix.S_IFDIR:
		return d.err("mkdir", base, errors.New("exists and is not a directory"))
	}
	r.dirty[joinRel(d.path, base)] = true
	return d.setOwnerMode(base, uid, gid, perm)
}

// dirFD is an open directory of the root; its methods take single path
// components and never follow a symlink in the last one.
type dirFD struct {
	fd   int
	path string
}

func (d *dirFD) close() { unix.Close(d.fd) }

func (d *dirFD) err(op, name string, err error) error {
	return &os.PathError{Op: op, Path: "/" + joinRel(d.path, name), Err: err}
}

// setOwnerMode sets owner and mode of the directory entry name, which the
// caller knows is not a symlink.
func (d *dirFD) setOwnerMode(name string, uid, gid int, perm uint32) error {
	if err := unix.Fchownat(d.fd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return d.err("chown", name, err)
	}
	if err := unix.Fchmodat(d.fd, name, perm&0o7777, 0); err != nil {
		return d.err("chmod", name, err)
	}
	return nil
}

func tempName(base string) string { return "." + base + ".cairn-new" }
