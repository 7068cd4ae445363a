package install

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

func fileExists(p string) bool {
	var st unix.Stat_t
	return unix.Stat(p, &st) == nil
}

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func rename(from, to string) error { return os.Rename(from, to) }

func remove(p string) { os.Remove(p) }

// cloneFrom makes the new file f share the data of the file at src
// (FICLONE).
func (f *fileFD) cloneFrom(src string) error {
	in, err := unix.Open(src, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: src, Err: err}
	}
	defer unix.Close(in)
	if err := unix.IoctlFileClone(f.fd, in); err != nil {
		return &os.PathError{Op: "clone", Path: f.path, Err: err}
	}
	return nil
}

// cloneTo makes a new file dst sharing the data of name (FICLONE).
func (d *dirFD) cloneTo(name, dst string) error {
	if err := d.check("clone", name); err != nil {
		return err
	}
	in, err := unix.Openat(d.fd, name, unix.O_RDONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return d.err("open", name, err)
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

// cannotClone reports whether err says the file system cannot reflink
// between these files at all (rather than a passing failure).
func cannotClone(err error) bool {
	return errors.Is(err, unix.EXDEV) || errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOTTY)
}
