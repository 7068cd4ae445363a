package store

import (
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/cairnlinux/cairn/internal/btrfs"
)

// How a Usage was measured.
const (
	// UsageQgroup: the generation's btrfs quota group (exact).
	UsageQgroup = "qgroup"
	// UsageExtents: file extents flagged shared or not (btrfs without
	// quotas). Data stored inline in metadata counts as exclusive, and
	// metadata itself is not counted.
	UsageExtents = "extents"
	// UsageLinks: allocated blocks of files, shared when the file has
	// links outside the generation (plain stores).
	UsageLinks = "links"
)

// Usage is the space a generation takes, in bytes.
type Usage struct {
	// Exclusive is what only this generation holds: what deleting it
	// frees.
	Exclusive int64 `json:"exclusive"`
	// Shared is what it shares with other generations or the cache.
	Shared int64  `json:"shared"`
	Method string `json:"method"`
}

// Usage measures generation n. On btrfs with quotas it commits the
// current transaction first, so the numbers are current.
func (s *Store) Usage(n int) (Usage, error) {
	g, err := s.Get(n)
	if err != nil {
		return Usage{}, err
	}
	u, err := s.backend.usage(g.Path)
	if err != nil {
		return Usage{}, fmt.Errorf("usage of generation %d: %w", n, err)
	}
	return u, nil
}

// extentUsage adds up the data extents of every regular file under root.
func extentUsage(root string) (Usage, error) {
	u := Usage{Method: UsageExtents}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		extents, err := btrfs.FileExtents(path)
		if err != nil {
			return err
		}
		for _, e := range extents {
			if e.Shared() {
				u.Shared += int64(e.Length)
			} else {
				u.Exclusive += int64(e.Length)
			}
		}
		return nil
	})
	return u, err
}

// linkUsage adds up allocated blocks under root. A file whose links all
// lie inside root is exclusive; one with links elsewhere (the cache,
// other generations) is shared. Directories and symbolic links are
// exclusive.
func linkUsage(root string) (Usage, error) {
	type file struct {
		nlink, seen uint64
		bytes       int64
	}
	files := map[uint64]*file{}
	u := Usage{Method: UsageLinks}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		ino, nlink, bytes := inode(fi)
		if !d.Type().IsRegular() || nlink <= 1 {
			u.Exclusive += bytes
			return nil
		}
		f := files[ino]
		if f == nil {
			f = &file{nlink: nlink, bytes: bytes}
			files[ino] = f
		}
		f.seen++
		return nil
	})
	if err != nil {
		return Usage{}, err
	}
	for _, f := range files {
		if f.seen >= f.nlink {
			u.Exclusive += f.bytes
		} else {
			u.Shared += f.bytes
		}
	}
	return u, nil
}
