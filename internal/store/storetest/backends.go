package storetest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/store"
)

// Btrfs returns a Backend making btrfs stores, each in its own directory
// of one loop-mounted btrfs file system that lives as long as t.
func Btrfs(t *testing.T, fs btrfstest.Options, opts store.InitOptions) Backend {
	mnt := btrfstest.NewFS(t, fs)
	return Backend{
		Name:    store.BackendBtrfs,
		Dir:     dirsIn(mnt),
		Options: opts,
		Unseal: func(t *testing.T, path string) {
			if err := btrfs.SetReadOnly(path, false); err != nil {
				t.Fatal(err)
			}
		},
	}
}

// Plain returns a Backend making plain stores in directories under
// parent, or in test temporary directories when parent is empty. Sealed
// generations carry the immutable attribute, which stops the testing
// package from removing its temporary directories: Plain clears it when
// each test ends.
func Plain(parent string) Backend {
	return Backend{
		Name: store.BackendPlain,
		Dir: func(t *testing.T) string {
			dir := parent
			if dir == "" {
				dir = t.TempDir()
			}
			dir = fresh(t, dir)
			t.Cleanup(func() { Thaw(dir) })
			return dir
		},
		Unseal: func(t *testing.T, path string) {
			if err := setImmutable(path, false); err != nil {
				t.Fatal(err)
			}
		},
	}
}

var dirCount atomic.Int64

// fresh makes a new directory under parent.
func fresh(t *testing.T, parent string) string {
	dir := filepath.Join(parent, fmt.Sprintf("store%d", dirCount.Add(1)))
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func dirsIn(parent string) func(t *testing.T) string {
	return func(t *testing.T) string { return fresh(t, parent) }
}

// Thaw clears the immutable attribute of everything under dir, so that it
// can be removed.
func Thaw(dir string) {
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && (fi.IsDir() || fi.Mode().IsRegular()) {
			setImmutable(path, false)
		}
		return nil
	})
}
