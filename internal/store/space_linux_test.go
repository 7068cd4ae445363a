package store_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// A generation built from the cache by reflinks adds almost no space
// beside another built from the same cache: what the space test
// checks with a real build, here with files placed by hand.
func TestSpaceReflinkedGenerations(t *testing.T) {
	b := storetest.Btrfs(t, btrfstest.Options{Size: 1 << 30}, store.InitOptions{Quota: true})
	s := storetest.New(t, b)
	var cached []string
	for i := range 20 {
		path := filepath.Join(s.CacheDir(), fmt.Sprintf("pkg%d", i), "lib.so")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, noise(256<<10, i), 0o644); err != nil {
			t.Fatal(err)
		}
		cached = append(cached, path)
	}
	build := func(extra int) store.Generation {
		st, err := s.BeginStaging()
		if err != nil {
			t.Fatal(err)
		}
		for i := range extra {
			cached := cached[i]
			dst := fmt.Sprintf("usr/lib/%d.so", i)
			if err := os.MkdirAll(filepath.Join(st.Dir(), "usr", "lib"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := st.AddFile(dst, cached); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(filepath.Join(st.Dir(), "hostname"), []byte("node\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		g, err := st.Seal(store.Meta{})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	g1 := build(19)
	g2 := build(20) // one package more
	size1 := btrfstest.ReferencedBytes(t, g1.Path)
	added := btrfstest.ExclusiveBytes(t, g2.Path)
	t.Logf("generation 1 references %d bytes; generation 2 adds %d exclusive bytes", size1, added)
	if size1 < 19*256<<10 {
		t.Fatalf("generation 1 references only %d bytes", size1)
	}
	if added*20 > size1 {
		t.Errorf("generation 2 adds %d bytes, over 5%% of generation 1's %d", added, size1)
	}
	u, err := s.Usage(g2.Number)
	if err != nil {
		t.Fatal(err)
	}
	if u.Method != store.UsageQgroup || u.Exclusive != added {
		t.Errorf("Usage(2) = %+v, want the qgroup's %d exclusive bytes", u, added)
	}
}

func noise(size, seed int) []byte {
	data := make([]byte, size)
	x := uint64(seed)*0x9e3779b97f4a7c15 + 1
	for i := range data {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		data[i] = byte(x)
	}
	return data
}
