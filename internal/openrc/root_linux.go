//go:build linux

package openrc

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// dirRoot is a root directory on disk. Every path is resolved with
// openat2(RESOLVE_IN_ROOT), which gives chroot semantics: a symlink
// "etc -> /tmp" inside the root leads to ROOT/tmp, and ".." stops at the
// root. Entries are then made with *at calls on single names, so nothing
// is ever written outside the root.
type dirRoot struct {
	path  string
	fd    int
	chown bool // running as root: created entries become root:root
}

func openRoot(dir string) (rootFS, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open root", Path: dir, Err: err}
	}
	return &dirRoot{path: dir, fd: fd, chown: os.Geteuid() == 0}, nil
}

func (r *dirRoot) Close() error { return unix.Close(r.fd) }

// pathErr names a path inside the root as the system will see it.
func pathErr(op, dir, name string, err error) error {
	p := "/" + dir
	if name != "" {
		p = strings.TrimSuffix(p, "/") + "/" + name
	}
	return &os.PathError{Op: op, Path: p, Err: err}
}

// open resolves rel inside the root.
func (r *dirRoot) open(rel string, flags int) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		switch err {
		case unix.EINTR, unix.EAGAIN:
			continue // EAGAIN: a rename raced the kernel's check of ".."
		case unix.ENOSYS:
			return -1, errors.New("openat2 is not available: Linux 5.6 or newer is needed")
		}
		return fd, err
	}
}

// openDir opens the directory dir of the root.
func (r *dirRoot) openDir(dir string) (int, error) {
	fd, err := r.open(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return -1, pathErr("open", dir, "", err)
	}
	return fd, nil
}

// checkName refuses a name that is not a single path component.
func checkName(op, dir, name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return pathErr(op, dir, name, errors.New("not a single file name"))
	}
	return nil
}

// kind reports the type bits of rel, 0 when it does not exist.
func (r *dirRoot) kind(rel string) (uint32, error) {
	fd, err := r.open(rel, unix.O_PATH)
	if err == unix.ENOENT || err == unix.ENOTDIR {
		return 0, nil
	}
	if err != nil {
		return 0, pathErr("open", rel, "", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, pathErr("stat", rel, "", err)
	}
	return st.Mode & unix.S_IFMT, nil
}

func (r *dirRoot) isFile(rel string) (bool, error) {
	k, err := r.kind(rel)
	return k == unix.S_IFREG, err
}

func (r *dirRoot) isDir(rel string) (bool, error) {
	k, err := r.kind(rel)
	return k == unix.S_IFDIR, err
}

func (r *dirRoot) mkdir(dir, name string, mode uint32) error {
	if err := checkName("mkdir", dir, name); err != nil {
		return err
	}
	dfd, err := r.openDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	if err := unix.Mkdirat(dfd, name, mode); err != nil {
		return pathErr("mkdir", dir, name, err)
	}
	// Set the mode again: mkdir applied the umask.
	if err := unix.Fchmodat(dfd, name, mode, 0); err != nil {
		return pathErr("chmod", dir, name, err)
	}
	return r.own(dfd, dir, name)
}

// own makes a created entry root's when running as root, so that it
// does not take the group of a setgid parent directory.
func (r *dirRoot) own(dfd int, dir, name string) error {
	if !r.chown {
		return nil
	}
	if err := unix.Fchownat(dfd, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return pathErr("chown", dir, name, err)
	}
	return nil
}

// tempName is where a new entry is made before it is renamed over name.
// Service and runlevel names start with a letter or digit, so it never
// clashes with one.
func tempName(name string) string { return ".cairn-new." + name }

func (r *dirRoot) writeFile(dir, name string, data []byte, mode uint32) error {
	if err := checkName("write", dir, name); err != nil {
		return err
	}
	dfd, err := r.openDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	tmp := tempName(name)
	unix.Unlinkat(dfd, tmp, 0) // a leftover of an interrupted run
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, mode)
	if err != nil {
		return pathErr("create", dir, tmp, err)
	}
	err = writeAll(fd, data)
	if err == nil {
		err = unix.Fchmod(fd, mode)
	}
	if cerr := unix.Close(fd); err == nil {
		err = cerr
	}
	if err == nil {
		err = r.own(dfd, dir, tmp)
	}
	if err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return pathErr("write", dir, name, err)
	}
	return r.replace(dfd, dir, tmp, name)
}

func writeAll(fd int, p []byte) error {
	for len(p) > 0 {
		n, err := unix.Write(fd, p)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

func (r *dirRoot) symlink(dir, name, target string) error {
	if err := checkName("symlink", dir, name); err != nil {
		return err
	}
	dfd, err := r.openDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	tmp := tempName(name)
	unix.Unlinkat(dfd, tmp, 0)
	if err := unix.Symlinkat(target, dfd, tmp); err != nil {
		return pathErr("symlink", dir, tmp, err)
	}
	if err := r.own(dfd, dir, tmp); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return err
	}
	return r.replace(dfd, dir, tmp, name)
}

// replace renames tmp over name, atomically replacing a file or symlink
// of that name; a directory there is an error.
func (r *dirRoot) replace(dfd int, dir, tmp, name string) error {
	if err := unix.Renameat(dfd, tmp, dfd, name); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		if err == unix.EISDIR || err == unix.ENOTEMPTY || err == unix.EEXIST {
			return pathErr("replace", dir, name, fmt.Errorf("%w (a directory is in the way)", err))
		}
		return pathErr("rename", dir, name, err)
	}
	return nil
}

func (r *dirRoot) setTimes(dir, name string, t time.Time) error {
	dfd, err := r.openDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(dfd)
	target := name
	if name == "" {
		target = "."
	} else if err := checkName("set times", dir, name); err != nil {
		return err
	}
	ts := unix.NsecToTimespec(t.UnixNano())
	if err := unix.UtimesNanoAt(dfd, target, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return pathErr("set times", dir, name, err)
	}
	return nil
}
