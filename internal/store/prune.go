package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/btrfs"
)

// filesDirName is @cairn/cache/files: the files builds on a btrfs store
// reflink from (install.FileCache), one per content.
const filesDirName = "files"

// FileCacheDir is @cairn/cache/files, where builds on a btrfs store keep
// the installed files their generations share by reflink.
func (s *Store) FileCacheDir() string { return s.path(cacheDirName, filesDirName) }

// PruneResult is what PruneCache removed.
type PruneResult struct {
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
}

// PruneCache removes the cache entries no generation uses any more: on
// plain stores, objects with no link but the cache's own; on btrfs, file
// cache entries none of whose data is shared (by reflink) with another
// file; and on both, the temporary entries an interrupted build left.
// It needs the lock, which also means no build is running.
//
// On btrfs a deleted generation's subvolume keeps its extents until the
// file system's cleaner has dropped it, a few seconds after the next
// commit: entries only such a generation used are pruned by a later run.
func (s *Store) PruneCache() (PruneResult, error) {
	var res PruneResult
	if err := s.checkLocked(); err != nil {
		return res, fmt.Errorf("prune cache: %w", err)
	}
	for _, dir := range []struct {
		path   string
		unused func(path string, fi fs.FileInfo) (bool, error)
	}{
		{s.path(cacheDirName, objectsDirName), func(_ string, fi fs.FileInfo) (bool, error) {
			_, nlink, _ := inode(fi)
			return nlink == 1, nil
		}},
		{s.FileCacheDir(), unshared},
	} {
		if err := pruneDir(dir.path, dir.unused, &res); err != nil {
			return res, fmt.Errorf("prune cache: %w", err)
		}
	}
	return res, nil
}

// pruneDir removes dir/tmp and the entries dir/xx/... for which unused
// says so.
func pruneDir(dir string, unused func(string, fs.FileInfo) (bool, error), res *PruneResult) error {
	if err := os.RemoveAll(filepath.Join(dir, "tmp")); err != nil {
		return err
	}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) && path == dir {
			return fs.SkipAll
		}
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		ok, err := unused(path, fi)
		if err != nil || !ok {
			return err
		}
		_, _, bytes := inode(fi)
		if err := os.Remove(path); err != nil {
			return err
		}
		res.Files++
		res.Bytes += bytes
		return nil
	})
	return err
}

// unshared reports whether no extent of the file is shared with another
// file (FIEMAP's shared flag, which btrfs sets for reflinked data).
func unshared(path string, _ fs.FileInfo) (bool, error) {
	exts, err := btrfs.FileExtents(path)
	if err != nil {
		return false, err
	}
	for _, e := range exts {
		if e.Shared() {
			return false, nil
		}
	}
	return true, nil
}
