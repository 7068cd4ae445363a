package store

import (
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// writeAtomic replaces path with data: written to path.tmp, fsynced,
// renamed over path, and the directory fsynced. A reader (or a crash) sees
// the old file or the new one, never a mix. The crash point, if any, sits
// between the synced temporary file and the rename.
func (s *Store) writeAtomic(path string, data []byte, point string) error {
	return rootfs.WriteFileAt(path, data, rootfs.WriteOptions{
		Perm:         0o644,
		Sync:         true,
		SyncDir:      true,
		Temp:         filepath.Base(path) + tmpSuffix,
		BeforeRename: func() error { return s.crashPoint(point) },
	})
}

// syncDir makes the entries of a directory (creations, renames, removals)
// durable.
func syncDir(dir string) error { return rootfs.SyncDir(dir) }
