package install

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// The root being installed into is a rootfs.Root: every path is resolved
// inside it with chroot semantics, so a symlink "etc -> /tmp" in the root
// leads to ROOT/tmp and nothing is ever written outside it. What follows
// is what the installer adds to it.

// maxReadFile bounds the configuration and database files read whole.
const maxReadFile = 256 << 20

// isNotExist reports a missing file or directory.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// isExist reports an entry that is already there.
func isExist(err error) bool { return errors.Is(err, fs.ErrExist) }

// setOwnerMode sets the directory's own owner (when chown is set) and mode.
func setOwnerMode(d rootfs.Dir, uid, gid int, mode uint32, chown bool) error {
	if chown {
		if err := d.Lchown("", uid, gid); err != nil {
			return err
		}
	}
	return d.Chmod("", mode)
}

// writeAtomic replaces name with data as apk does: it writes name.new,
// syncs it when sync is set, and renames it over name.
func writeAtomic(d rootfs.Dir, name string, data []byte, perm uint32, sync bool) error {
	return rootfs.WriteFile(d, name, bytes.NewReader(data), rootfs.WriteOptions{Perm: perm, Sync: sync, Temp: name + ".new"})
}

// lock takes an exclusive lock on name, creating it; it fails at once
// with ErrLocked when another process holds the lock.
func lock(d rootfs.Dir, name string) (release func(), err error) {
	release, err = d.Lock(name)
	if errors.Is(err, rootfs.ErrLocked) {
		return nil, fmt.Errorf("/%s: %w", rootfs.Join(d.Path(), name), ErrLocked)
	}
	return release, err
}

// digest returns the SHA-1 apk records for an existing entry: of the
// contents of a regular file, of the target of a symlink; nil for other
// types. ok is false when there is no such entry.
func digest(d rootfs.Dir, name string) (sum apk.Checksum, ok bool, err error) {
	st, err := d.Lstat(name)
	if err != nil {
		if isNotExist(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	switch {
	case st.IsSymlink():
		target, err := d.Readlink(name)
		if err != nil {
			return nil, true, err
		}
		s := sha1.Sum([]byte(target))
		return s[:], true, nil
	case st.IsRegular():
		f, err := d.Open(name)
		if err != nil {
			return nil, true, err
		}
		defer f.Close()
		h := sha1.New()
		if _, err := io.Copy(h, f); err != nil {
			return nil, true, &os.PathError{Op: "read", Path: "/" + rootfs.Join(d.Path(), name), Err: err}
		}
		return h.Sum(nil), true, nil
	}
	return nil, true, nil
}
