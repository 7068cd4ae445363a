package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/btrfs"
)

// btrfsBackend keeps trees as subvolumes: a staging tree is a writable
// subvolume, a generation the same subvolume made read-only and renamed
// into place.
type btrfsBackend struct{}

func (btrfsBackend) kind() string { return BackendBtrfs }

func (btrfsBackend) create(dir string) error { return btrfs.CreateSubvolume(dir) }

// seal syncs the staging subvolume (its data must be on disk before any
// name points at it), renames it into place and sets it read-only, then
// commits the flag. The flag cannot come before the rename: moving a
// directory to another parent rewrites its "..", which a read-only
// subvolume refuses (EROFS). A crash between the rename and the flag
// leaves a complete generation that is still writable; Fsck seals it.
//
// It does not snapshot the staging subvolume and delete it: the deleted
// subvolume would hold on to every extent until btrfs's cleaner got to
// it, so for a while the new generation would look entirely shared
// (wrong usage numbers), and every build would leave the cleaner a tree
// to walk. Both ways cost the same whatever the size of the tree: a
// sync, a directory entry, a flag.
func (btrfsBackend) seal(staging, gen string) error {
	if err := syncFS(staging); err != nil {
		return err
	}
	if err := os.Rename(staging, gen); err != nil {
		return err
	}
	if err := btrfs.SetReadOnly(gen, true); err != nil {
		return err
	}
	return syncFS(gen)
}

func (btrfsBackend) finish(string, string) error { return nil }

func (btrfsBackend) sealed(gen string) (bool, error) {
	ok, err := btrfs.IsSubvolume(gen)
	if err != nil || !ok {
		return false, err
	}
	return btrfs.ReadOnly(gen)
}

func (btrfsBackend) reseal(gen string) error {
	if ok, err := btrfs.IsSubvolume(gen); err != nil {
		return err
	} else if !ok {
		return errors.New("not a subvolume (a generation on btrfs must be a read-only subvolume)")
	}
	return btrfs.SetReadOnly(gen, true)
}

// remove deletes a subvolume, which the kernel does atomically (the space
// is reclaimed in the background); a plain directory (junk in staging) is
// removed as such.
func (btrfsBackend) remove(dir, _ string) error {
	ok, err := btrfs.IsSubvolume(dir)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return err
	}
	if ok {
		err := btrfs.DeleteSubvolume(dir)
		if errors.Is(err, unix.ENOTEMPTY) {
			// A staging tree holding a subvolume of its own (a
			// delivery's received stream): delete that first.
			if err := removeNested(dir); err != nil {
				return err
			}
			err = btrfs.DeleteSubvolume(dir)
		}
		return err
	}
	return removeTree(dir)
}

// removeNested deletes the subvolumes directly inside dir.
func removeNested(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if ok, err := btrfs.IsSubvolume(p); err != nil || !ok || !e.IsDir() {
			continue
		}
		if err := btrfs.DeleteSubvolume(p); err != nil {
			return err
		}
	}
	return nil
}

func (btrfsBackend) addFile(dst, src string, _ bool) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return err
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

// usage asks the generation's quota group when quotas are on and
// consistent; otherwise it counts shared and unshared extents (FIEMAP).
func (btrfsBackend) usage(gen string) (Usage, error) {
	q, err := btrfs.Quota(gen)
	if err != nil {
		return Usage{}, err
	}
	if q.Enabled && !q.Inconsistent && !q.Rescanning {
		id, err := btrfs.SubvolumeID(gen)
		if err != nil {
			return Usage{}, err
		}
		if err := btrfs.Sync(gen); err != nil {
			return Usage{}, err
		}
		u, err := btrfs.Qgroup(gen, btrfs.QgroupID(0, id))
		if err == nil {
			return Usage{
				Exclusive: int64(u.Exclusive),
				Shared:    int64(u.Referenced) - int64(u.Exclusive),
				Method:    UsageQgroup,
			}, nil
		}
		if !errors.Is(err, btrfs.ErrNoQgroup) {
			return Usage{}, err
		}
	}
	return extentUsage(gen)
}

func (btrfsBackend) created(gen string) (time.Time, error) {
	info, err := btrfs.Info(gen)
	if err != nil {
		return time.Time{}, err
	}
	if info.Created.IsZero() {
		return time.Time{}, fmt.Errorf("%s: no creation time", gen)
	}
	return info.Created, nil
}
