package install

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// FileCache lets roots on one file system share the data of the files
// packages install, the way a generation store wants it: every regular
// file is reflinked (FICLONE) from a cache keyed by the file's SHA-1 as
// the package records it, so installing a package whose files are cached
// writes no file data, and the files of two roots share their extents
// until one is changed. A file not yet cached is written as usual and
// then reflinked into the cache.
//
// Dir must be on the root's file system, and that file system must
// support reflinks (btrfs, xfs with reflink=1); where it does not, the
// installer notices at the first file and writes every file itself.
//
// Cache entries are content only: each root's file is its own inode, so
// later changes to its owner, mode or content never reach the cache or
// another root. New entries are published (renamed to their key) only
// after the commit has synced the file system, so a crash can never
// leave an entry whose data did not reach the disk.
type FileCache struct {
	Dir string
}

// minCachedSize is the smallest file the cache takes: smaller ones cost
// no more to write than to clone, and btrfs keeps files up to 2 KiB
// inline in its metadata, where extents cannot be shared anyway.
const minCachedSize = 4096

// fileCache is a FileCache during one commit.
type fileCache struct {
	dir      string
	disabled atomic.Bool
	mu       sync.Mutex
	pending  map[string]string // key -> temporary file under dir/tmp
}

func newFileCache(fc *FileCache) *fileCache {
	if fc == nil || fc.Dir == "" {
		return nil
	}
	return &fileCache{dir: fc.Dir, pending: map[string]string{}}
}

// use reports whether a file of this size and checksum goes through the
// cache.
func (c *fileCache) use(sum apk.Checksum, size int64) bool {
	return c != nil && len(sum) > 0 && size >= minCachedSize && !c.disabled.Load()
}

func (c *fileCache) path(key string) string {
	return filepath.Join(c.dir, key[:2], key[2:])
}

// source returns the file holding the content with this checksum: a
// published entry or one this commit added.
func (c *fileCache) source(sum apk.Checksum) (string, bool) {
	key := hex.EncodeToString(sum)
	c.mu.Lock()
	tmp, ok := c.pending[key]
	c.mu.Unlock()
	if ok {
		return tmp, true
	}
	p := c.path(key)
	if fileExists(p) {
		return p, true
	}
	return "", false
}

// add reflinks the file just written at dfd/name into the cache under
// its checksum; it is published by publish.
func (c *fileCache) add(sum apk.Checksum, dfd rootfs.Dir, name string) error {
	key := hex.EncodeToString(sum)
	c.mu.Lock()
	_, dup := c.pending[key]
	c.mu.Unlock()
	if dup || fileExists(c.path(key)) {
		return nil
	}
	tmpDir := filepath.Join(c.dir, "tmp")
	if err := mkdirAll(tmpDir); err != nil {
		return err
	}
	b := make([]byte, 8)
	rand.Read(b)
	tmp := filepath.Join(tmpDir, key+"."+hex.EncodeToString(b))
	if err := rootfs.CloneTo(dfd, name, tmp); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.pending[key]; dup {
		remove(tmp) // another package's file with the same content won
		return nil
	}
	c.pending[key] = tmp
	return nil
}

// publish gives the entries this commit added their names. The caller
// has synced the file system, so their data is on disk.
func (c *fileCache) publish() error {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, tmp := range c.pending {
		p := c.path(key)
		if err := mkdirAll(filepath.Dir(p)); err != nil {
			return fmt.Errorf("file cache: %w", err)
		}
		if err := rename(tmp, p); err != nil {
			return fmt.Errorf("file cache: %w", err)
		}
		delete(c.pending, key)
	}
	return nil
}

// discard removes the entries a failed commit added.
func (c *fileCache) discard() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for key, tmp := range c.pending {
		remove(tmp)
		delete(c.pending, key)
	}
}

// The cache is a directory of the host, not of the root.

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func mkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

func rename(from, to string) error { return os.Rename(from, to) }

func remove(p string) { os.Remove(p) }
