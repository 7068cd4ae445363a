package btrfs_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"golang.org/x/sys/unix"
)

func sharedBytes(t *testing.T, path string) (shared, total uint64) {
	t.Helper()
	extents, err := btrfs.FileExtents(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range extents {
		total += e.Length
		if e.Shared() {
			shared += e.Length
		}
	}
	return shared, total
}

func TestReflink(t *testing.T) {
	mnt := btrfstest.NewFS(t, btrfstest.Options{})
	src := filepath.Join(mnt, "src")
	data := writeRandom(t, src, 2<<20)
	if err := os.Chmod(src, 0o751); err != nil {
		t.Fatal(err)
	}
	if shared, total := sharedBytes(t, src); shared != 0 || total < 2<<20 {
		t.Fatalf("before cloning: %d of %d bytes shared", shared, total)
	}

	clone := filepath.Join(mnt, "clone")
	if err := btrfs.CloneFile(clone, src); err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(mnt, "copied")
	reflinked, err := btrfs.CopyFile(copied, src)
	if err != nil || !reflinked {
		t.Fatalf("CopyFile on btrfs = %t, %v; want a reflink", reflinked, err)
	}
	for _, path := range []string{clone, copied} {
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%s: content differs (%v)", path, err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o751 {
			t.Errorf("%s: mode %v (%v), want 0751", path, fi.Mode(), err)
		}
		if shared, total := sharedBytes(t, path); shared != total || total < 2<<20 {
			t.Errorf("%s: %d of %d bytes shared, want all", path, shared, total)
		}
	}
	// btrfs filesystem du: "Total Exclusive Set-shared Filename"
	du := strings.Fields(strings.Split(btrfstest.Progs(t, "filesystem", "du", "--raw", clone), "\n")[1])
	if len(du) < 3 || du[1] != "0" {
		t.Errorf("btrfs filesystem du %s: %v; want 0 exclusive bytes", clone, du)
	}

	t.Run("another file system: clone fails, copy falls back", func(t *testing.T) {
		other := filepath.Join(t.TempDir(), "copy")
		if err := btrfs.CloneFile(other, src); !errors.Is(err, unix.EXDEV) {
			t.Errorf("CloneFile across file systems: %v, want EXDEV", err)
		}
		if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("failed clone left %s behind", other)
		}
		reflinked, err := btrfs.CopyFile(other, src)
		if err != nil || reflinked {
			t.Fatalf("CopyFile across file systems = %t, %v; want a copy", reflinked, err)
		}
		if got, err := os.ReadFile(other); err != nil || !bytes.Equal(got, data) {
			t.Errorf("copied content differs (%v)", err)
		}
	})

	t.Run("destination exists", func(t *testing.T) {
		if err := btrfs.CloneFile(clone, src); !errors.Is(err, os.ErrExist) {
			t.Errorf("clone onto an existing file: %v, want ErrExist", err)
		}
		if got, _ := os.ReadFile(clone); !bytes.Equal(got, data) {
			t.Error("existing destination was changed")
		}
	})
}
