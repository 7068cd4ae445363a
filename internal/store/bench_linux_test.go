package store_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"golang.org/x/sys/unix"
)

// Run with a fixed count, the set-up of each iteration (writing the
// tree) being much slower than what is measured:
//
//	go test -run '^$' -bench . -benchtime 5x ./internal/store/

// benchStore makes a locked store of the backend for a benchmark.
func benchStore(b *testing.B, backend string, size int64) *store.Store {
	b.Helper()
	var dir string
	if backend == store.BackendBtrfs {
		dir = btrfstest.NewFS(b, btrfstest.Options{Size: size})
	} else {
		dir = b.TempDir()
		b.Cleanup(func() { storetest.Thaw(dir) })
	}
	s, err := store.Init(dir, store.InitOptions{Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(unlock)
	return s
}

// writeFiles writes n files of 512 bytes in directories of 1000.
func writeFiles(b *testing.B, root string, n int) {
	b.Helper()
	data := make([]byte, 512)
	for i := 0; i < n; i++ {
		dir := filepath.Join(root, "usr", "share", strconv.Itoa(i/1000))
		if i%1000 == 0 {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				b.Fatal(err)
			}
		}
		copy(data, strconv.Itoa(i))
		if err := os.WriteFile(filepath.Join(dir, strconv.Itoa(i)), data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

func packages(n int) []store.Package {
	pkgs := make([]store.Package, n)
	for i := range pkgs {
		pkgs[i] = store.Package{Name: fmt.Sprintf("package-%03d", i), Version: "1.2.3-r0"}
	}
	return pkgs
}

// BenchmarkSeal seals trees of 1k to 100k files. The tree is written and
// synced before the clock starts: what is measured is sealing itself,
// which should not grow with the tree on btrfs (a flag, a rename, a
// commit) and grows linearly on plain stores (an attribute per file).
func BenchmarkSeal(b *testing.B) {
	cases := []struct {
		backend string
		files   []int
	}{
		{store.BackendBtrfs, []int{1000, 10000, 100000}},
		{store.BackendPlain, []int{1000, 10000}},
	}
	for _, c := range cases {
		for _, files := range c.files {
			b.Run(fmt.Sprintf("%s/files=%d", c.backend, files), func(b *testing.B) {
				s := benchStore(b, c.backend, 8<<30)
				meta := store.Meta{Description: "bench", Packages: packages(150)}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					st, err := s.BeginStaging()
					if err != nil {
						b.Fatal(err)
					}
					writeFiles(b, st.Dir(), files)
					syncfs(b, st.Dir())
					b.StartTimer()
					g, err := st.Seal(meta)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := s.Delete(g.Number); err != nil {
						b.Fatal(err)
					}
					syncfs(b, s.Dir())
					b.StartTimer()
				}
			})
		}
	}
}

func syncfs(b *testing.B, path string) {
	fd, err := unix.Open(path, unix.O_RDONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Syncfs(fd); err != nil {
		b.Fatal(err)
	}
}

// sealMany seals n small generations with realistic metadata (150
// packages) a day apart.
func sealMany(b *testing.B, s *store.Store, n int) {
	b.Helper()
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		st, err := s.BeginStaging()
		if err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(st.Dir(), "hostname"), []byte("node\n"), 0o644); err != nil {
			b.Fatal(err)
		}
		meta := store.Meta{Created: start.Add(time.Duration(i) * 24 * time.Hour), Packages: packages(150), Kernel: "linux-lts 6.6.58-r0"}
		if _, err := st.Seal(meta); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerations lists a store of 200 generations (what `cairn
// generations` reads).
func BenchmarkGenerations(b *testing.B) {
	for _, backend := range []string{store.BackendBtrfs, store.BackendPlain} {
		b.Run(backend+"/generations=200", func(b *testing.B) {
			s := benchStore(b, backend, 1<<30)
			sealMany(b, s, 200)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				gens, err := s.Generations()
				if err != nil || len(gens) != 200 {
					b.Fatalf("%d generations, %v", len(gens), err)
				}
			}
		})
	}
}

// BenchmarkSwitch makes a generation the next boot and rolls back: one
// atomic state write each (what `cairn switch` and `cairn rollback` do
// to the store), with 200 generations.
func BenchmarkSwitch(b *testing.B) {
	for _, backend := range []string{store.BackendBtrfs, store.BackendPlain} {
		b.Run(backend+"/generations=200", func(b *testing.B) {
			s := benchStore(b, backend, 1<<30)
			sealMany(b, s, 200)
			if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.SwitchPermanent(199) }); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.Switch(200, 1) }); err != nil {
					b.Fatal(err)
				}
				if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.Rollback() }); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGC deletes 100 of 101 generations with the rule "1": the
// newest stays.
func BenchmarkGC(b *testing.B) {
	for _, backend := range []string{store.BackendBtrfs, store.BackendPlain} {
		b.Run(backend+"/drop=100", func(b *testing.B) {
			s := benchStore(b, backend, 1<<30)
			sealMany(b, s, 1)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				sealMany(b, s, 100)
				b.StartTimer()
				res, err := s.GC(store.Rules{Newest: 1}, time.Now(), false)
				if err != nil || len(res.Drop) != 100 {
					b.Fatalf("dropped %d, %v", len(res.Drop), err)
				}
			}
		})
	}
}
