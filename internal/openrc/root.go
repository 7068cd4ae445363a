package openrc

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// rootDir is the directory Install writes into (see package rootfs: every
// path is resolved inside it, so a symlink in the root never leads out of
// it). dir arguments are paths in the root, names single components.
type rootDir struct {
	fs    rootfs.Root
	chown bool // created entries become root:root (Install runs as root)
}

// kind reports the type bits of rel, 0 when it does not exist.
func (r *rootDir) kind(rel string) (uint32, error) {
	st, err := r.fs.Stat(rel)
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ENOTDIR) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return st.Mode & rootfs.TypeMask, nil
}

// isFile reports whether rel is a regular file (following symlinks inside
// the root); a missing one is not an error.
func (r *rootDir) isFile(rel string) (bool, error) {
	k, err := r.kind(rel)
	return k == rootfs.TypeReg, err
}

// isDir reports whether rel is a directory, likewise.
func (r *rootDir) isDir(rel string) (bool, error) {
	k, err := r.kind(rel)
	return k == rootfs.TypeDir, err
}

// in runs op on directory dir of the root.
func (r *rootDir) in(dir string, op func(d rootfs.Dir) error) error {
	d, err := r.fs.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return op(d)
}

// mkdir creates the directory name in dir with mode.
func (r *rootDir) mkdir(dir, name string, mode uint32) error {
	return r.in(dir, func(d rootfs.Dir) error {
		if err := d.Mkdir(name, mode); err != nil {
			return err
		}
		// Set the mode again: mkdir applied the umask.
		if err := d.Chmod(name, mode); err != nil {
			return err
		}
		return r.own(d, name)
	})
}

// own makes a created entry root's when running as root, so that it
// does not take the group of a setgid parent directory.
func (r *rootDir) own(d rootfs.Dir, name string) error {
	if !r.chown {
		return nil
	}
	return d.Lchown(name, 0, 0)
}

// tempName is where a new entry is made before it is renamed over name.
// Service and runlevel names start with a letter or digit, so it never
// clashes with one.
func tempName(name string) string { return ".cairn-new." + name }

// writeFile replaces name in dir by a file holding data with mode.
func (r *rootDir) writeFile(dir, name string, data []byte, mode uint32) error {
	return r.in(dir, func(d rootfs.Dir) error {
		err := rootfs.WriteFile(d, name, bytes.NewReader(data), rootfs.WriteOptions{
			Perm: mode, Chown: r.chown, Temp: tempName(name),
		})
		return inTheWay(err, dir, name)
	})
}

// symlink replaces name in dir by a symlink to target.
func (r *rootDir) symlink(dir, name, target string) error {
	return r.in(dir, func(d rootfs.Dir) error {
		tmp := tempName(name)
		if err := d.Symlink(target, tmp); err != nil {
			return err
		}
		err := r.own(d, tmp)
		if err == nil {
			err = inTheWay(d.Rename(tmp, name), dir, name)
		}
		if err != nil {
			d.Remove(tmp)
		}
		return err
	})
}

// inTheWay explains the error of renaming over a directory.
func inTheWay(err error, dir, name string) error {
	for _, e := range []syscall.Errno{syscall.EISDIR, syscall.ENOTEMPTY, syscall.EEXIST} {
		if errors.Is(err, e) {
			return &os.PathError{Op: "replace", Path: "/" + rootfs.Join(dir, name), Err: fmt.Errorf("%w (a directory is in the way)", e)}
		}
	}
	return err
}

// setTimes sets the access and modification times of name in dir, or of
// dir itself when name is "", never following a symlink.
func (r *rootDir) setTimes(dir, name string, t time.Time) error {
	return r.in(dir, func(d rootfs.Dir) error { return d.SetTimes(name, t) })
}
