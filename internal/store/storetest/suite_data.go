package storetest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/store"
)

// Shares reports whether files a and b share their data: the same inode
// (hard links) or extents all marked shared (reflinks, snapshots).
func Shares(t testing.TB, a, b string) bool {
	t.Helper()
	fa, err := os.Stat(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := os.Stat(b)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(fa, fb) {
		return true
	}
	for _, path := range []string{a, b} {
		extents, err := btrfs.FileExtents(path)
		if err != nil || len(extents) == 0 {
			return false
		}
		for _, e := range extents {
			if !e.Shared() {
				return false
			}
		}
	}
	return true
}

// pattern returns size bytes that do not compress away.
func pattern(size int, seed byte) []byte {
	data := make([]byte, size)
	x := uint32(seed) + 1
	for i := range data {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		data[i] = byte(x)
	}
	return data
}

// cacheFile writes a file into the store's cache with mode 0755 and a
// fixed modification time.
func cacheFile(t *testing.T, s *store.Store, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(s.CacheDir(), name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return path
}

func testAddFile(t *testing.T, b Backend) {
	s := New(t, b)
	cached := cacheFile(t, s, "pkg/usr/bin/tool", pattern(256<<10, 1))
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte("from elsewhere\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	Write(t, st.Dir(), baseTree)
	if err := os.MkdirAll(filepath.Join(st.Dir(), "usr", "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFile("usr/bin/tool", cached); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFile("etc/outside", outside); err != nil {
		t.Fatal(err)
	}
	if err := st.AddFile("../escape", cached); err == nil {
		t.Error("AddFile outside the tree succeeded")
	}
	if err := st.AddFile("usr/bin/tool", cached); !errors.Is(err, os.ErrExist) {
		t.Errorf("AddFile onto an existing file: %v, want ErrExist", err)
	}
	g, err := st.Seal(store.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	tool := filepath.Join(g.Path, "usr", "bin", "tool")
	if !Equal(t, tool, cached) || !Equal(t, filepath.Join(g.Path, "etc", "outside"), outside) {
		t.Error("added files differ from their sources")
	}
	for path, mode := range map[string]os.FileMode{tool: 0o755, filepath.Join(g.Path, "etc", "outside"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, mode)
		}
	}
	fi, _ := os.Stat(tool)
	if want := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC); !fi.ModTime().Equal(want) {
		t.Errorf("tool mtime %v, want the cache file's %v", fi.ModTime(), want)
	}
	if !Shares(t, tool, cached) {
		t.Error("file added from the cache does not share the cache file's data")
	}
	if Shares(t, filepath.Join(g.Path, "etc", "outside"), outside) {
		t.Error("file from outside the store shares data with it")
	}
}

func testUsage(t *testing.T, b Backend) {
	s := New(t, b)
	const shared, own = 1 << 20, 512 << 10
	cached := cacheFile(t, s, "pkg/big", pattern(shared, 2))
	st, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	Write(t, st.Dir(), baseTree)
	if err := st.AddFile("big", cached); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir(), "own"), pattern(own, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := st.Seal(store.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.Usage(g.Number)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("usage: %+v", u)
	switch u.Method {
	case store.UsageQgroup, store.UsageExtents, store.UsageLinks:
	default:
		t.Errorf("method %q", u.Method)
	}
	if u.Shared < shared || u.Shared > shared+256<<10 {
		t.Errorf("shared %d bytes, want about %d (the cache file)", u.Shared, shared)
	}
	if u.Exclusive < own || u.Exclusive > own+256<<10 {
		t.Errorf("exclusive %d bytes, want about %d (the generation's own file)", u.Exclusive, own)
	}
	if _, err := s.Usage(99); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Usage(99): %v, want ErrNotFound", err)
	}
}
