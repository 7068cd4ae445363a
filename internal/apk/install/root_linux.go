//go:build linux

package install

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk"
)

// rootFS is the directory being installed into. Every path is resolved
// inside it with openat2(RESOLVE_IN_ROOT), which gives chroot semantics: a
// symlink "etc -> /tmp" in the root leads to ROOT/tmp, and ".." stops at
// the root. Everything below works on directory descriptors and single
// path components, so nothing is ever written outside the root.
type rootFS struct {
	path string
	fd   int
}

func openRoot(dir string) (*rootFS, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	return &rootFS{path: dir, fd: fd}, nil
}

func (r *rootFS) Close() error { return unix.Close(r.fd) }

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
			// EAGAIN: a concurrent rename made the kernel give up on
			// checking that ".." stayed inside the root; try again.
			continue
		case unix.ENOSYS:
			return -1, errors.New("openat2 is not available: Linux 5.6 or newer is needed")
		}
		return -1, err
	}
}

// openDir opens a directory of the root.
func (r *rootFS) openDir(rel string) (*dirFD, error) {
	fd, err := r.openat2(rel, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, &os.PathError{Op: "open directory", Path: "/" + rel, Err: err}
	}
	return &dirFD{fd: fd, path: rel}, nil
}

// mkdirAll creates rel and its missing parents with mode and reports each
// directory it created to created (parents first). made reports whether
// rel itself was created.
func (r *rootFS) mkdirAll(rel string, mode uint32, created func(string)) (made bool, err error) {
	if rel == "" {
		return false, nil
	}
	if fd, err := r.openat2(rel, unix.O_PATH|unix.O_DIRECTORY); err == nil {
		unix.Close(fd)
		return false, nil
	} else if err != unix.ENOENT {
		return false, &os.PathError{Op: "open directory", Path: "/" + rel, Err: err}
	}
	parent, base := splitPath(rel)
	if _, err := r.mkdirAll(parent, 0o755, created); err != nil {
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
		return false, &os.PathError{Op: "mkdir", Path: "/" + rel, Err: err}
	}
}

// syncfs flushes the file system holding the root.
func (r *rootFS) syncfs() error { return unix.Syncfs(r.fd) }

// dirFD is an open directory of the root; its methods take single path
// components and never follow a symlink in the last one.
type dirFD struct {
	fd   int
	path string
}

func (d *dirFD) Close() error { return unix.Close(d.fd) }

func (d *dirFD) err(op, name string, err error) error {
	return &os.PathError{Op: op, Path: "/" + joinPath(d.path, name), Err: err}
}

// errNotComponent refuses a name that is not a single path component:
// the *at calls below would otherwise walk it unchecked.
var errNotComponent = errors.New("not a single path component")

func (d *dirFD) check(op, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return d.err(op, name, errNotComponent)
	}
	return nil
}

// createFile creates a new regular file, replacing a leftover of an
// earlier, interrupted run.
func (d *dirFD) createFile(name string, perm uint32) (*fileFD, error) {
	if err := d.check("create", name); err != nil {
		return nil, err
	}
	flags := unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(d.fd, name, flags, perm&0o777)
	if err == unix.EEXIST {
		unix.Unlinkat(d.fd, name, 0)
		fd, err = unix.Openat(d.fd, name, flags, perm&0o777)
	}
	if err != nil {
		return nil, d.err("create", name, err)
	}
	return &fileFD{fd: fd, path: "/" + joinPath(d.path, name)}, nil
}

// fileFD is a file being written.
type fileFD struct {
	fd   int
	path string
}

func (f *fileFD) write(p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(f.fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "write", Path: f.path, Err: err}
		}
		p = p[n:]
	}
	return nil
}

func (f *fileFD) chmod(mode uint32) error {
	if err := unix.Fchmod(f.fd, mode&0o7777); err != nil {
		return &os.PathError{Op: "chmod", Path: f.path, Err: err}
	}
	return nil
}

func (f *fileFD) setXattrs(xs []xattr) error {
	return fsetxattrs(f.fd, xs, func(err error) error { return &os.PathError{Op: "setxattr", Path: f.path, Err: err} })
}

func (f *fileFD) Close() error {
	if err := unix.Close(f.fd); err != nil {
		return &os.PathError{Op: "close", Path: f.path, Err: err}
	}
	return nil
}

func (d *dirFD) symlink(target, name string) error {
	if err := d.check("symlink", name); err != nil {
		return err
	}
	err := unix.Symlinkat(target, d.fd, name)
	if err == unix.EEXIST {
		unix.Unlinkat(d.fd, name, 0)
		err = unix.Symlinkat(target, d.fd, name)
	}
	if err != nil {
		return d.err("symlink", name, err)
	}
	return nil
}

// link makes name a hard link to from's entry fromName.
func (d *dirFD) link(from *dirFD, fromName, name string) error {
	if err := errors.Join(d.check("link", name), from.check("link", fromName)); err != nil {
		return err
	}
	err := unix.Linkat(from.fd, fromName, d.fd, name, 0)
	if err == unix.EEXIST {
		unix.Unlinkat(d.fd, name, 0)
		err = unix.Linkat(from.fd, fromName, d.fd, name, 0)
	}
	if err != nil {
		return d.err("link", name, err)
	}
	return nil
}

func (d *dirFD) mknod(name string, mode uint32, major, minor int64) error {
	if err := d.check("mknod", name); err != nil {
		return err
	}
	dev := unix.Mkdev(uint32(major), uint32(minor))
	err := unix.Mknodat(d.fd, name, mode, int(dev))
	if err == unix.EEXIST {
		unix.Unlinkat(d.fd, name, 0)
		err = unix.Mknodat(d.fd, name, mode, int(dev))
	}
	if err != nil {
		return d.err("mknod", name, err)
	}
	return nil
}

func (d *dirFD) rename(from, to string) error {
	if err := errors.Join(d.check("rename", from), d.check("rename", to)); err != nil {
		return err
	}
	if err := unix.Renameat(d.fd, from, d.fd, to); err != nil {
		return d.err("rename", to, err)
	}
	return nil
}

func (d *dirFD) unlink(name string) error {
	if err := d.check("remove", name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, 0); err != nil {
		return d.err("remove", name, err)
	}
	return nil
}

func (d *dirFD) rmdir(name string) error {
	if err := d.check("remove directory", name); err != nil {
		return err
	}
	if err := unix.Unlinkat(d.fd, name, unix.AT_REMOVEDIR); err != nil {
		return d.err("remove directory", name, err)
	}
	return nil
}

func statOf(st *unix.Stat_t) fileStat {
	return fileStat{Mode: st.Mode, UID: int(st.Uid), GID: int(st.Gid), Size: st.Size}
}

func (d *dirFD) lstat(name string) (fileStat, error) {
	var st unix.Stat_t
	if err := unix.Fstatat(d.fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fileStat{}, d.err("stat", name, err)
	}
	return statOf(&st), nil
}

// stat describes the directory itself.
func (d *dirFD) stat() (fileStat, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return fileStat{}, d.err("stat", "", err)
	}
	return statOf(&st), nil
}

func (d *dirFD) chown(name string, uid, gid int) error {
	if err := d.check("chown", name); err != nil {
		return err
	}
	if err := unix.Fchownat(d.fd, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return d.err("chown", name, err)
	}
	return nil
}

// chmod changes the mode of a regular file the installer created.
func (d *dirFD) chmod(name string, mode uint32) error {
	if err := d.check("chmod", name); err != nil {
		return err
	}
	if err := unix.Fchmodat(d.fd, name, mode&0o7777, 0); err != nil {
		return d.err("chmod", name, err)
	}
	return nil
}

// setOwnerMode sets the directory's own owner and mode.
func (d *dirFD) setOwnerMode(uid, gid int, mode uint32, chown bool) error {
	if chown {
		if err := unix.Fchown(d.fd, uid, gid); err != nil {
			return d.err("chown", "", err)
		}
	}
	if err := unix.Fchmod(d.fd, mode&0o7777); err != nil {
		return d.err("chmod", "", err)
	}
	return nil
}

func (d *dirFD) setMtime(name string, sec int64) error {
	ts := []unix.Timespec{{Sec: sec}, {Sec: sec}}
	if err := unix.UtimesNanoAt(d.fd, name, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return d.err("set times", name, err)
	}
	return nil
}

// setXattrs sets extended attributes on a regular file or directory
// entry (never through a symlink).
func (d *dirFD) setXattrs(name string, xs []xattr) error {
	if err := d.check("setxattr", name); err != nil {
		return err
	}
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return d.err("open", name, err)
	}
	defer unix.Close(fd)
	return fsetxattrs(fd, xs, func(err error) error { return d.err("setxattr", name, err) })
}

func fsetxattrs(fd int, xs []xattr, wrap func(error) error) error {
	for _, x := range xs {
		if err := unix.Fsetxattr(fd, x.Name, x.Value, 0); err != nil {
			return wrap(fmt.Errorf("%s: %w", x.Name, err))
		}
	}
	return nil
}

// digest returns the SHA-1 apk records for an existing entry: of the
// contents of a regular file, of the target of a symlink; nil for other
// types. ok is false when there is no such entry.
func (d *dirFD) digest(name string) (sum apk.Checksum, ok bool, err error) {
	st, err := d.lstat(name)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, false, nil
		}
		return nil, false, err
	}
	switch st.Mode & sIFMT {
	case sIFLNK:
		target, err := d.readlink(name)
		if err != nil {
			return nil, true, err
		}
		s := sha1.Sum([]byte(target))
		return s[:], true, nil
	case sIFREG:
		f, err := d.open(name)
		if err != nil {
			return nil, true, err
		}
		defer f.Close()
		h := sha1.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, true, d.err("read", name, err)
		}
		return h.Sum(nil), true, nil
	}
	return nil, true, nil
}

func (d *dirFD) readlink(name string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlinkat(d.fd, name, buf)
	if err != nil {
		return "", d.err("readlink", name, err)
	}
	return string(buf[:n]), nil
}

// open opens a regular file for reading, refusing symlinks.
func (d *dirFD) open(name string) (*os.File, error) {
	fd, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.err("open", name, err)
	}
	return os.NewFile(uintptr(fd), "/"+joinPath(d.path, name)), nil
}

// names lists the directory's entries.
func (d *dirFD) names() ([]string, error) {
	fd, err := unix.Openat(d.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, d.err("open", "", err)
	}
	f := os.NewFile(uintptr(fd), "/"+d.path)
	defer f.Close()
	return f.Readdirnames(-1)
}

// writeAtomic replaces name with data: it writes name.new, syncs it when
// sync is set, and renames it over name.
func (d *dirFD) writeAtomic(name string, data []byte, perm uint32, sync bool) error {
	if err := d.check("write", name); err != nil {
		return err
	}
	tmp := name + ".new"
	fd, err := unix.Openat(d.fd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return d.err("create", tmp, err)
	}
	f := os.NewFile(uintptr(fd), "/"+joinPath(d.path, tmp))
	_, err = f.Write(data)
	if err == nil {
		err = unix.Fchmod(fd, perm)
	}
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		unix.Unlinkat(d.fd, tmp, 0)
		return d.err("write", tmp, err)
	}
	return d.rename(tmp, name)
}

func (d *dirFD) sync() error {
	if err := unix.Fsync(d.fd); err != nil {
		return d.err("sync", "", err)
	}
	return nil
}

// lockFile takes an exclusive flock on name, creating it; it fails at
// once when another process holds the lock.
func (d *dirFD) lockFile(name string) (release func(), err error) {
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
			return nil, fmt.Errorf("%s: %w", "/"+path.Join(d.path, name), ErrLocked)
		}
		return nil, d.err("lock", name, err)
	}
	return func() { unix.Close(fd) }, nil
}

// isNotExist reports a missing file or directory.
func isNotExist(err error) bool { return errors.Is(err, unix.ENOENT) }

// maxReadFile bounds the configuration and database files read whole.
const maxReadFile = 256 << 20

// readFile reads a regular file of the root, following symlinks inside
// the root.
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

// mkdir makes a directory; the process's umask applies.
func (d *dirFD) mkdir(name string, mode uint32) error {
	if err := d.check("mkdir", name); err != nil {
		return err
	}
	if err := unix.Mkdirat(d.fd, name, mode); err != nil {
		return d.err("mkdir", name, err)
	}
	return nil
}

// renameTo moves entry from of d to name to in directory to, never
// replacing an existing entry.
func (d *dirFD) renameTo(from string, to *dirFD, name string) error {
	if err := errors.Join(d.check("rename", from), to.check("rename", name)); err != nil {
		return err
	}
	if err := unix.Renameat2(d.fd, from, to.fd, name, unix.RENAME_NOREPLACE); err != nil {
		return to.err("rename", name, err)
	}
	return nil
}

// isExist reports an entry that is already there.
func isExist(err error) bool { return errors.Is(err, unix.EEXIST) }
