package store

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
)

// plainBackend keeps trees as directories on any file system. Sealed
// means: every directory and every file with a single link carries the
// immutable attribute (FS_IMMUTABLE_FL, chattr +i), so not even root can
// add, remove, rename or rewrite them without clearing it first. Files
// with several links (hard links into the cache, shared by generations)
// stay as they are: the attribute would stop their other links from ever
// being removed. Permission bits are left alone: they are part of the
// generation's content, and root ignores them anyway. Where the file
// system has no such attribute, sealing is a promise cairn keeps, not
// something the kernel enforces.
type plainBackend struct {
	cache string
}

func (plainBackend) kind() string { return BackendPlain }

func (plainBackend) create(dir string) error { return os.Mkdir(dir, 0o755) }

// seal freezes everything below the top directory, makes the whole file
// system durable with one syncfs, and renames the tree into place.
func (plainBackend) seal(staging, gen string) error {
	if err := freeze(staging, false); err != nil {
		return err
	}
	if err := syncFS(staging); err != nil {
		return err
	}
	if err := os.Rename(staging, gen); err != nil {
		return err
	}
	if err := syncDir(filepath.Dir(gen)); err != nil {
		return err
	}
	return syncDir(filepath.Dir(staging))
}

// finish freezes the top directory, which had to stay renamable until
// now, and syncs the attribute.
func (plainBackend) finish(_, gen string) error {
	if _, err := setImmutable(gen, true); err != nil && !errors.Is(err, errNoFlags) {
		return err
	}
	return syncDir(gen)
}

func (plainBackend) sealed(gen string) (bool, error) {
	ok, err := immutable(gen)
	if errors.Is(err, errNoFlags) {
		return true, nil
	}
	return ok, err
}

func (p plainBackend) reseal(gen string) error {
	if err := freeze(gen, true); err != nil {
		return err
	}
	return syncFS(gen)
}

// remove unfreezes the top directory, renames the tree to trash (from
// then on it is staging garbage), unfreezes the rest and removes it.
func (plainBackend) remove(dir, trash string) error {
	if _, err := os.Lstat(dir); isNotExist(err) {
		return nil
	}
	if _, err := setImmutable(dir, false); err != nil && !errors.Is(err, errNoFlags) {
		return err
	}
	if trash != "" {
		if err := os.Rename(dir, trash); err != nil {
			return err
		}
		dir = trash
	}
	if err := thaw(dir); err != nil {
		return err
	}
	return removeTree(dir)
}

// addFile hard-links a cache file, or copies (reflinking where the file
// system can, as xfs does) anything else.
func (p plainBackend) addFile(dst, src string, fromCache bool) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if fromCache {
		err := os.Link(src, dst)
		if err == nil || !linkFailed(err) {
			return err
		}
	}
	if _, err := btrfs.CopyFile(dst, src); err != nil {
		return err
	}
	if err := copyMeta(dst, fi); err != nil {
		os.Remove(dst)
		return err
	}
	return nil
}

func (plainBackend) usage(gen string) (Usage, error) { return linkUsage(gen) }

func (plainBackend) created(gen string) (time.Time, error) { return birthTime(gen) }

// freeze sets the immutable attribute on every directory and single-link
// regular file under root, and on root itself when top is set.
func freeze(root string, top bool) error {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root && !top {
			return nil
		}
		switch {
		case d.IsDir():
		case d.Type().IsRegular():
			fi, err := d.Info()
			if err != nil {
				return err
			}
			if _, nlink, _ := inode(fi); nlink > 1 {
				return nil
			}
		default:
			return nil // symbolic links, devices, fifos: fixed by their frozen directory
		}
		_, err = setImmutable(path, true)
		return err
	})
	if errors.Is(err, errNoFlags) {
		return nil
	}
	return err
}

// thaw clears the immutable attribute wherever freeze may have set it.
func thaw(root string) error {
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		_, err = setImmutable(path, false)
		return err
	})
	if errors.Is(err, errNoFlags) {
		return nil
	}
	return err
}

// removeTree removes a tree whose directories may lack write permission.
func removeTree(dir string) error {
	err := os.RemoveAll(dir)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o700)
		}
		return nil
	})
	return os.RemoveAll(dir)
}
