package rootfs

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// WriteOptions say how WriteFile replaces a file.
type WriteOptions struct {
	// Perm is the new file's mode: permission and set-id bits, set after
	// the owner (chown clears set-id bits), so the umask does not apply.
	Perm uint32
	// Chown gives the file UID and GID.
	Chown    bool
	UID, GID int
	// Mtime, when set, is the file's access and modification time.
	Mtime time.Time
	// Sync syncs the file before it is renamed into place, so a crash
	// leaves the old file or the whole new one.
	Sync bool
	// SyncDir syncs the directory after the rename, so the new file
	// itself survives a crash.
	SyncDir bool
	// Temp is the temporary name the file is written under, beside it.
	// A leftover of that name (from an interrupted run) is replaced, so
	// a fixed name suits a writer that holds a lock. By default the name
	// is "." + name + "." + a random suffix + ".tmp", which concurrent
	// writers of the same file do not share.
	Temp string
	// BeforeRename, when set, runs between the written temporary file
	// and the rename; an error stops the write and leaves the temporary
	// file (the store's crash points use it).
	BeforeRename func() error
}

// atomicDir is what the atomic write needs of a directory: Dir has it,
// and so has hostDir, a directory of the host not opened as a root.
type atomicDir interface {
	Path() string
	Create(name string, perm uint32) (File, error)
	Rename(from, to string) error
	Remove(name string) error
	Sync() error
}

// WriteFile replaces name in d with the contents of src: written to a
// temporary file beside it, given its owner, mode and times, synced (as
// o says), and renamed over name, so a reader or a crash sees the old
// file or the new one, never a mix, and a symlink at name is replaced,
// never followed.
func WriteFile(d Dir, name string, src io.Reader, o WriteOptions) error {
	return writeAtomic(d, name, display(d.Path(), name), src, o)
}

// writeAtomic is the write; where names the file in errors.
func writeAtomic(d atomicDir, name, where string, src io.Reader, o WriteOptions) error {
	if !validName(name) {
		return &os.PathError{Op: "write", Path: where, Err: ErrNotComponent}
	}
	tmp := o.Temp
	if tmp == "" {
		var b [8]byte
		rand.Read(b[:])
		tmp = "." + name + "." + hex.EncodeToString(b[:]) + ".tmp"
	}
	f, err := d.Create(tmp, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, src)
	if err == nil && o.Chown {
		err = f.Chown(o.UID, o.GID)
	}
	if err == nil {
		err = f.Chmod(o.Perm)
	}
	if err == nil && !o.Mtime.IsZero() {
		err = f.SetTimes(o.Mtime)
	}
	if err == nil && o.Sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.Remove(tmp)
		return &os.PathError{Op: "write", Path: where, Err: unwrapPath(err)}
	}
	if o.BeforeRename != nil {
		if err := o.BeforeRename(); err != nil {
			return err
		}
	}
	if err := d.Rename(tmp, name); err != nil {
		d.Remove(tmp)
		return err
	}
	if o.SyncDir {
		return d.Sync()
	}
	return nil
}

// unwrapPath keeps the cause of a *os.PathError, so that the error of a
// write names the file being replaced rather than its temporary name.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", pe.Op, pe.Err)
	}
	return err
}

// display is how a path of a root appears in an error: absolute, as the
// system in the root sees it.
func display(dir, name string) string { return "/" + Join(dir, name) }

// WriteFileAt replaces the host file path with data, as WriteFile does.
func WriteFileAt(path string, data []byte, o WriteOptions) error {
	return writeAtomic(hostDir(filepath.Dir(path)), filepath.Base(path), path, bytes.NewReader(data), o)
}

// CopyToNew copies the host file src's content to dst, a new file (0600)
// it creates, and with sync makes it durable: the first step of a copy
// that gets its attributes after, or is renamed into place once whole.
// Many copies made at once (a first boot's persistent directories) sync
// once at the end instead.
func CopyToNew(src, dst string, sync bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if sync {
		if err := out.Sync(); err != nil {
			out.Close()
			return err
		}
	}
	return out.Close()
}

// SyncDir makes the entries of host directory dir (creations, renames,
// removals) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}

// hostDir is a directory of the host, for WriteFileAt: its caller names
// the file, so there is no root to stay inside.
type hostDir string

func (h hostDir) Path() string { return string(h) }

func (h hostDir) Create(name string, perm uint32) (File, error) {
	p := filepath.Join(string(h), name)
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	f, err := os.OpenFile(p, flags, os.FileMode(perm&0o777))
	if errors.Is(err, os.ErrExist) {
		// A leftover file, never a directory (os.Remove would take an
		// empty one), as the other implementations do.
		syscall.Unlink(p)
		f, err = os.OpenFile(p, flags, os.FileMode(perm&0o777))
	}
	if err != nil {
		return nil, err
	}
	return hostFile{f}, nil
}

func (h hostDir) Rename(from, to string) error {
	return os.Rename(filepath.Join(string(h), from), filepath.Join(string(h), to))
}

func (h hostDir) Remove(name string) error { return os.Remove(filepath.Join(string(h), name)) }

func (h hostDir) Sync() error { return SyncDir(string(h)) }

type hostFile struct{ *os.File }

// Chmod sets st_mode's permission and set-id bits as they are: an
// os.FileMode would need converting.
func (f hostFile) Chmod(mode uint32) error {
	if err := syscall.Fchmod(int(f.Fd()), mode&0o7777); err != nil {
		return &os.PathError{Op: "chmod", Path: f.Name(), Err: err}
	}
	return nil
}

func (f hostFile) SetTimes(t time.Time) error { return os.Chtimes(f.Name(), t, t) }
func (f hostFile) SetXattrs(xs []Xattr) error {
	if len(xs) == 0 {
		return nil
	}
	return &os.PathError{Op: "setxattr", Path: f.Name(), Err: errors.ErrUnsupported}
}
