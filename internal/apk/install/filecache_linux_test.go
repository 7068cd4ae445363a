package install

import (
	"crypto/sha1"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
)

// physical returns where the file's data lies on the device, extent by
// extent: two files with the same answer share their data.
func physical(t *testing.T, p string) []uint64 {
	t.Helper()
	exts, err := btrfs.FileExtents(p)
	if err != nil {
		t.Fatal(err)
	}
	var out []uint64
	for _, e := range exts {
		out = append(out, e.Physical)
	}
	return out
}

func bigData(seed byte, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7+i/251)
	}
	return string(b)
}

func cacheEntry(dir, data string) string {
	sum := sha1.Sum([]byte(data))
	key := hex.EncodeToString(sum[:])
	return filepath.Join(dir, key[:2], key[2:])
}

// TestFileCacheSharesData installs the same packages into two roots on
// btrfs through one file cache: the second install writes no file data,
// every large file of both roots shares the cache entry's extents, and
// writing to one root's file changes neither the cache nor the other root.
func TestFileCacheSharesData(t *testing.T) {
	top := btrfstest.NewFS(t, btrfstest.Options{})
	cache := filepath.Join(top, "cache")
	big, big2, small := bigData(1, 256<<10), bigData(2, 64<<10), "tiny\n"
	e := newEnv(t)
	e.add(spec("a", "1.0-r0", dir("usr"), dir("usr/lib"), file("usr/lib/big", big), file("usr/lib/small", small)))
	e.add(spec("b", "1.0-r0", dir("usr"), dir("usr/share"), file("usr/share/other", big2), file("usr/share/copy", big)))

	var roots []string
	for _, name := range []string{"root1", "root2"} {
		e.root = filepath.Join(top, name)
		if err := os.Mkdir(e.root, 0o755); err != nil {
			t.Fatal(err)
		}
		e.cache = &FileCache{Dir: cache}
		e.mustAdd("a", "b")
		roots = append(roots, e.root)
	}

	// The first root wrote each content once (two packages with the same
	// file, extracted at once, may both write it); the second wrote none.
	for _, c := range []struct{ path, data string }{{"usr/lib/big", big}, {"usr/share/copy", big}, {"usr/share/other", big2}} {
		entry := cacheEntry(cache, c.data)
		want := physical(t, entry)
		if len(want) == 0 {
			t.Fatalf("cache entry %s has no extents", entry)
		}
		for i, root := range roots {
			p := filepath.Join(root, c.path)
			if got, err := os.ReadFile(p); err != nil || string(got) != c.data {
				t.Fatalf("%s: wrong content (%v)", p, err)
			}
			if ph := physical(t, p); i == 1 && !equalU64(ph, want) {
				t.Errorf("%s lies at %v, the cache entry at %v: not shared", p, ph, want)
			}
		}
	}
	if ph, want := physical(t, filepath.Join(roots[0], "usr/share/other")), physical(t, cacheEntry(cache, big2)); !equalU64(ph, want) {
		t.Errorf("the first root's file was not reflinked into the cache (%v, cache %v)", ph, want)
	}
	entry := cacheEntry(cache, big)
	if fileExists(cacheEntry(cache, small)) {
		t.Errorf("a %d-byte file was cached; small files are written", len(small))
	}
	if left, _ := os.ReadDir(filepath.Join(cache, "tmp")); len(left) != 0 {
		t.Errorf("temporary cache files left: %v", left)
	}

	// Writing to one root's copy is copy-on-write.
	f, err := os.OpenFile(filepath.Join(roots[1], "usr/lib/big"), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte("changed"), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, p := range []string{entry, filepath.Join(roots[0], "usr/lib/big")} {
		if got, _ := os.ReadFile(p); string(got) != big {
			t.Errorf("%s changed when another root's file was written", p)
		}
	}
}

// TestFileCacheWithoutReflinks installs through a cache on a file system
// that cannot reflink (the test's temporary directory, ext4 or tmpfs):
// the installer writes the files itself and leaves the cache empty.
func TestFileCacheWithoutReflinks(t *testing.T) {
	e := newEnv(t)
	big := bigData(3, 64<<10)
	e.add(spec("a", "1.0-r0", dir("usr"), file("usr/big", big)))
	cache := filepath.Join(t.TempDir(), "cache")
	e.cache = &FileCache{Dir: cache}
	e.mustAdd("a")
	if got := e.readFile("usr/big"); got != big {
		t.Fatal("wrong content")
	}
	var files []string
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files = append(files, strings.TrimPrefix(p, cache))
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("cache on a file system without reflinks holds %v", files)
	}
}

func equalU64(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
