package cairninit

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// EnsurePersist returns the persistent directory of p in the store at top,
// creating it when it does not exist yet: a btrfs subvolume (a plain
// directory on other file systems), seeded with what the generation rooted
// at genRoot has at p (owner, mode, times, links), so the first boot
// starts from the generation's content. It is built under a temporary name
// and renamed when complete: an interrupted seed is redone at the next
// boot.
func EnsurePersist(top, genRoot, p string) (dir string, created bool, err error) {
	dir = layout.PersistPath(top, p)
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return "", false, fmt.Errorf("%s is not a directory", dir)
		}
		return dir, false, nil
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", false, err
	}
	tmp := dir + ".new"
	if err := removeTree(tmp); err != nil {
		return "", false, fmt.Errorf("remove the interrupted seed %s: %w", tmp, err)
	}
	onBtrfs, _ := btrfs.IsBtrfs(filepath.Dir(dir))
	if onBtrfs {
		err = btrfs.CreateSubvolume(tmp)
	} else {
		err = os.Mkdir(tmp, 0o755)
	}
	if err != nil {
		return "", false, err
	}
	src := filepath.Join(genRoot, p)
	if fi, err := os.Lstat(src); err == nil && fi.IsDir() {
		if err := copyTree(src, tmp); err != nil {
			return "", false, fmt.Errorf("seed %s from the generation: %w", p, err)
		}
	}
	if err := syncTree(tmp); err != nil {
		return "", false, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", false, err
	}
	return dir, true, syncDir(filepath.Dir(dir))
}

// removeTree removes a directory tree, a btrfs subvolume with one call.
func removeTree(p string) error {
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if sub, err := btrfs.IsSubvolume(p); err == nil && sub {
		return btrfs.DeleteSubvolume(p)
	}
	return os.RemoveAll(p)
}

// copyTree copies the directory src's content and attributes to the
// existing directory dst: directories, regular files, symbolic links,
// with owner, mode and modification time. Other kinds of file (device
// nodes, sockets, fifos) are left out: they do not belong in persistent
// storage.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		fi, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir():
			if rel != "." {
				if err := os.Mkdir(target, 0o700); err != nil {
					return err
				}
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := os.Symlink(link, target); err != nil {
				return err
			}
		case fi.Mode().IsRegular():
			if err := rootfs.CopyToNew(p, target, false); err != nil {
				return err
			}
		default:
			return nil
		}
		return copyAttrs(target, fi)
	})
}

// copyAttrs gives target the owner, mode and time of fi (a symbolic link
// only its owner).
func copyAttrs(target string, fi fs.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Lchown(target, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		return nil
	}
	if err := os.Chmod(target, fi.Mode()&(fs.ModePerm|fs.ModeSetuid|fs.ModeSetgid|fs.ModeSticky)); err != nil {
		return err
	}
	return os.Chtimes(target, time.Time{}, fi.ModTime())
}
