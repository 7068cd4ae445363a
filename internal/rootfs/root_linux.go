//go:build linux

package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// diskRoot is a Root on disk. Every path is resolved with openat2 from
// the root's descriptor; everything else works on directory descriptors
// and single path components.
type diskRoot struct {
	path string
	fd   int
}

// OpenRoot opens directory dir as a Root. It needs openat2 (Linux 5.6).
func OpenRoot(dir string) (Root, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	return &diskRoot{path: dir, fd: fd}, nil
}

func (r *diskRoot) Path() string { return r.path }

func (r *diskRoot) Close() error {
	if r.fd < 0 {
		return nil
	}
	err := unix.Close(r.fd)
	r.fd = -1
	return err
}

// resolve is chroot semantics; magic links (/proc/self/fd/N, which lead
// anywhere) are refused outright.
const resolve = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

func (r *diskRoot) openat2(rel string, flags int) (int, error) {
	if rel = clean(rel); rel == "" {
		rel = "."
	}
	how := unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: resolve}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		switch err {
		case nil:
			return fd, nil
		case unix.EINTR, unix.EAGAIN:
			// EAGAIN: a concurrent rename made the kernel give up on
			// checking that ".." stayed inside the root; try again.
			continue
		case unix.ENOSYS:
			return -1, errors.New("openat2 is not available: Linux 5.6 or newer is needed")
		}
		return -1, err
	}
}

func (r *diskRoot) OpenDir(rel string) (Dir, error) { return r.openDir(rel) }

func (r *diskRoot) openDir(rel string) (*diskDir, error) {
	fd, err := r.openat2(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: display(clean(rel), ""), Err: err}
	}
	return &diskDir{fd: fd, path: clean(rel)}, nil
}

func (r *diskRoot) MkdirAll(rel string, mode uint32, created func(string)) (bool, error) {
	rel = clean(rel)
	if rel == "" {
		return false, nil
	}
	if fd, err := r.openat2(rel, unix.O_PATH|unix.O_DIRECTORY); err == nil {
		unix.Close(fd)
		return false, nil
	} else if err != unix.ENOENT {
		return false, &os.PathError{Op: "open directory", Path: display(rel, ""), Err: err}
	}
	parent, base := Split(rel)
	if _, err := r.MkdirAll(parent, 0o755, created); err != nil {
		return false, err
	}
	pd, err := r.openDir(parent)
	if err != nil {
		return false, err
	}
	defer pd.Close()
	switch err := unix.Mkdirat(pd.fd, base, mode); err {
	case nil:
		if created != nil {
			created(rel)
		}
		return true, nil
	case unix.EEXIST:
		// A dangling symlink or something that is not a directory: the
		// caller's open reports it.
		return false, nil
	default:
		return false, &os.PathError{Op: "mkdir", Path: display(rel, ""), Err: err}
	}
}

func (r *diskRoot) ReadFile(rel string, max int64) ([]byte, error) {
	rel = clean(rel)
	fd, err := r.openat2(rel, unix.O_RDONLY|unix.O_NONBLOCK)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: display(rel, ""), Err: err}
	}
	f := os.NewFile(uintptr(fd), display(rel, ""))
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &os.PathError{Op: "read", Path: display(rel, ""), Err: ErrNotRegular}
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, &os.PathError{Op: "read", Path: display(rel, ""), Err: ErrTooLarge}
	}
	return data, nil
}

func (r *diskRoot) Stat(rel string) (Stat, error) {
	rel = clean(rel)
	fd, err := r.openat2(rel, unix.O_PATH)
	if err != nil {
		return Stat{}, &os.PathError{Op: "stat", Path: display(rel, ""), Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return Stat{}, &os.PathError{Op: "stat", Path: display(rel, ""), Err: err}
	}
	return statOf(&st), nil
}

func (r *diskRoot) Sync() error {
	if err := unix.Syncfs(r.fd); err != nil {
		return &os.PathError{Op: "syncfs", Path: r.path, Err: err}
	}
	return nil
}

func statOf(st *unix.Stat_t) Stat {
	return Stat{
		Mode:  st.Mode,
		UID:   int(st.Uid),
		GID:   int(st.Gid),
		Size:  st.Size,
		Mtime: time.Unix(st.Mtim.Unix()),
	}
}

// diskDir is an open directory of a diskRoot.
type diskDir struct {
	fd   int
	path string
}

func (d *diskDir) Path() string { return d.path }
func (d *diskDir) Close() error { return unix.Close(d.fd) }

func (d *diskDir) err(op, name string, err error) error {
	return &os.PathError{Op: op, Path: display(d.path, name), Err: err}
}

func (d *diskDir) check(op, name string) error {
	if !validName(name) {
		return d.err(op, name, ErrNotComponent)
	}
	return nil
}

// checkOrSelf is check allowing "" for the directory itself.
func (d *diskDir) checkOrSelf(op, name string) error {
	if name == "" {
		return nil
	}
	return d.check(op, name)
}

func (d *diskDir) Stat() (Stat, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return Stat{}, d.err("stat", "", err)
	}
	return statOf(&st), nil
}

func (d *diskDir) Lstat(name string) (Stat, error) {
	if err := d.check("stat", name); err != nil {
		return Stat{}, err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Stat{}, d.err("stat", name, err)
	}
	return statOf(&st), nil
}

func (d *diskDir) Readlink(name string) (string, error) {
	if err := d.check("readlink", name); err != nil {
		return "", err
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(d.fd, name, buf)
	if err != nil {
		return "", d.err("readlink", name, err)
	}
	return string(buf[:n]), nil
}

func (d *diskDir) Open(name string) (io.ReadCloser, error) {
	if err := d.check("open", name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.err("open", name, err)
	}
	return os.NewFile(uintptr(fd), display(d.path, name)), nil
}

func (d *diskDir) Names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.err("open", "", err)
	}
	f := os.NewFile(uintptr(fd), display(d.path, ""))
	defer f.Close()
	return f.Readdirnames(-1)
}

// retry runs op, and once more after removing name when it exists: the
// leftover of an earlier, interrupted run.
func (d *diskDir) retry(name string, op func() error) error {
	err := op()
	if err == unix.EEXIST {
		unix.Unlinkat(d.fd, name, 0)
		err = op()
	}
	return err
}

func (d *diskDir) Create(name string, perm uint32) (File, error) {
	if err := d.check("create", name); err != nil {
		return nil, err
	}
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	var fd int
	err := d.retry(name, func() (err error) {
		fd, err = unix.Openat(d.fd, name, flags, perm&0o777)
		return err
	})
	if err != nil {
		return nil, d.err("create", name, err)
	}
	return &diskFile{fd: fd, path: display(d.path, name)}, nil
}

func (d *diskDir) Mkdir(name string, mode uint32) error {
	if err := d.check("mkdir", name); err != nil {
		return err
	}
	if err := unix.Mkdirat(d.fd, name, mode); err != nil {
		return d.err("mkdir", name, err)
	}
	return nil
}

func (d *diskDir) Symlink(target, name string) error {
	if err := d.check("symlink", name); err != nil {
		return err
	}
	if err := d.retry(name, func() error { return unix.Symlinkat(target, d.fd, name) }); err != nil {
		return d.err("symlink", name, err)
	}
	return nil
}

func (d *diskDir) Link(from Dir, fromName, name string) error {
	fd, ok := from.(*diskDir)
	if !ok {
		return d.err("link", name, fmt.Errorf("%s is not a directory of the same root", from.Path()))
	}
	if err := errors.Join(d.check("link", name), fd.check("link", fromName)); err != nil {
		return err
	}
	if err := d.retry(name, func() error { return unix.Linkat(fd.fd, fromName, d.fd, name, 0) }); err != nil {
		return d.err("link", name, err)
	}
	return nil
}

func (d *diskDir) Mknod(name string, mode uint32, major, minor int64) error {
	if err := d.check("mknod", name); err != nil {
		return err
	}
	dev := int(unix.Mkdev(uint32(major), uint32(minor)))
	if err := d.retry(name, func() error { return unix.Mknodat(d.fd, name, mode, dev) }); err != nil {
		return d.err("mknod", name, err)
	}
	return nil
}

func (d *diskDir) Rename(from, to string) error {
	if err := errors.Join(d.check("rename", from), d.check("rename", to)); err != nil {
		return err
	}
	if err := unix.Renameat(d.fd, from, d.fd, to); err != nil {
		return d.err("rename", to, err)
	}
	return nil
}

func (d *diskDir) RenameNoReplace(from string, to Dir, name string) error {
	td, ok := to.(*diskDir)
	if !ok {
		return d.err("rename", from, fmt.Errorf("%s is not a directory of the same root", to.Path()))
	}
	if err := errors.Join(d.check("rename", from), td.check("rename", name)); err != nil {
		return err
	}
	if err := unix.Renameat2(d.fd, from, td.fd, name, unix.RENAME_NOREPLACE); err != nil {
		return td.err("rename", name, err)
	}
	return nil
}

func (d *diskDir) Remove(name string) error {
	if err := d.check("remove", name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, 0); err != nil {
		return d.err("remove", name, err)
	}
	return nil
}

func (d *diskDir) RemoveDir(name string) error {
	if err := d.check("remove directory", name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR); err != nil {
		return d.err("remove directory", name, err)
	}
	return nil
}

func (d *diskDir) Chmod(name string, mode uint32) error {
	if err := d.checkOrSelf("chmod", name); err != nil {
		return err
	}
	var err error
	if name == "" {
		err = unix.Fchmod(d.fd, mode&0o7777)
	} else {
		// fchmodat follows a symlink in name, and on the host's terms:
		// refuse one.
		var st unix.Stat_t
		if err = unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT == unix.S_IFLNK {
			err = unix.ELOOP
		}
		if err == nil {
			err = unix.Fchmodat(d.fd, name, mode&0o7777, 0)
		}
	}
	if err != nil {
		return d.err("chmod", name, err)
	}
	return nil
}

func (d *diskDir) Lchown(name string, uid, gid int) error {
	if err := d.checkOrSelf("chown", name); err != nil {
		return err
	}
	var err error
	if name == "" {
		err = unix.Fchown(d.fd, uid, gid)
	} else {
		err = unix.Fchownat(d.fd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return d.err("chown", name, err)
	}
	return nil
}

func (d *diskDir) SetTimes(name string, t time.Time) error {
	if err := d.checkOrSelf("set times", name); err != nil {
		return err
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	var err error
	if name == "" {
		err = futimens(d.fd, ts)
	} else {
		err = unix.UtimesNanoAt(d.fd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
	}
	if err != nil {
		return d.err("set times", name, err)
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

func (d *diskDir) SetXattrs(name string, xs []Xattr) error {
	if err := d.checkOrSelf("setxattr", name); err != nil {
		return err
	}
	if name == "" {
		return fsetxattrs(d.fd, xs, func(err error) error { return d.err("setxattr", "", err) })
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return d.err("open", name, err)
	}
	defer unix.Close(fd)
	return fsetxattrs(fd, xs, func(err error) error { return d.err("setxattr", name, err) })
}

func fsetxattrs(fd int, xs []Xattr, wrap func(error) error) error {
	for _, x := range xs {
		if err := unix.Fsetxattr(fd, x.Name, x.Value, 0); err != nil {
			return wrap(fmt.Errorf("%s: %w", x.Name, err))
		}
	}
	return nil
}

func (d *diskDir) Sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return d.err("sync", "", err)
	}
	return nil
}

func (d *diskDir) Lock(name string) (func(), error) {
	if err := d.check("lock", name); err != nil {
		return nil, err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDWR|unix.O_CREAT|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, d.err("open", name, err)
	}
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		unix.Close(fd)
		if err == unix.EWOULDBLOCK {
			return nil, fmt.Errorf("%s: %w", display(d.path, name), ErrLocked)
		}
		return nil, d.err("lock", name, err)
	}
	return func() { unix.Close(fd) }, nil
}

// diskFile is a file being written.
type diskFile struct {
	fd   int
	path string
}

func (f *diskFile) err(op string, err error) error {
	return &os.PathError{Op: op, Path: f.path, Err: err}
}

func (f *diskFile) Write(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := unix.Write(f.fd, p[n:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return n, f.err("write", err)
		}
		n += m
	}
	return n, nil
}

func (f *diskFile) Chmod(mode uint32) error {
	if err := unix.Fchmod(f.fd, mode&0o7777); err != nil {
		return f.err("chmod", err)
	}
	return nil
}

func (f *diskFile) Chown(uid, gid int) error {
	if err := unix.Fchown(f.fd, uid, gid); err != nil {
		return f.err("chown", err)
	}
	return nil
}

func (f *diskFile) SetTimes(t time.Time) error {
	if err := futimens(f.fd, unix.NsecToTimespec(t.UnixNano())); err != nil {
		return f.err("set times", err)
	}
	return nil
}

func (f *diskFile) SetXattrs(xs []Xattr) error {
	return fsetxattrs(f.fd, xs, func(err error) error { return f.err("setxattr", err) })
}

func (f *diskFile) Sync() error {
	if err := unix.Fsync(f.fd); err != nil {
		return f.err("sync", err)
	}
	return nil
}

func (f *diskFile) Close() error {
	if err := unix.Close(f.fd); err != nil {
		return f.err("close", err)
	}
	return nil
}

// CloneFrom makes the new file f share the data of host file src
// (FICLONE). An error for which CannotClone holds says the file systems
// cannot share data at all.
func CloneFrom(f File, src string) error {
	df, ok := f.(*diskFile)
	if !ok {
		return &os.PathError{Op: "clone", Path: src, Err: unix.EOPNOTSUPP}
	}
	in, err := unix.Open(src, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: src, Err: err}
	}
	defer unix.Close(in)
	if err := unix.IoctlFileClone(df.fd, in); err != nil {
		return df.err("clone", err)
	}
	return nil
}

// CloneTo makes a new host file dst sharing the data of d's file name
// (FICLONE).
func CloneTo(d Dir, name, dst string) error {
	dd, ok := d.(*diskDir)
	if !ok {
		return &os.PathError{Op: "clone", Path: dst, Err: unix.EOPNOTSUPP}
	}
	if err := dd.check("clone", name); err != nil {
		return err
	}
	in, err := unix.Openat(dd.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return dd.err("open", name, err)
	}
	defer unix.Close(in)
	out, err := unix.Open(dst, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o444)
	if err != nil {
		return &os.PathError{Op: "create", Path: dst, Err: err}
	}
	err = unix.IoctlFileClone(out, in)
	if cerr := unix.Close(out); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlink(dst)
		return &os.PathError{Op: "clone", Path: dst, Err: err}
	}
	return nil
}

// CannotClone reports whether err says the file systems cannot share data
// between these files at all (rather than a passing failure).
func CannotClone(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY)
}

func (d *diskDir) withPath(p string) Dir { return &diskDir{fd: d.fd, path: p} }
