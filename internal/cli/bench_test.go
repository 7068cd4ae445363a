package cli

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// The store commands as a user runs them: the whole cairn process (start,
// open, lock, fsck, change, exit), on a store of 200 generations whose
// metadata lists 150 packages each, as a long-lived node has.
//
//	go test -run '^$' -bench BenchmarkStoreCommands -benchtime 20x ./internal/cli

func benchGenerations(b *testing.B, dir, backend string, n int) *store.Store {
	b.Helper()
	s, err := store.Init(dir, store.InitOptions{Backend: backend})
	if err != nil {
		b.Fatal(err)
	}
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		b.Fatal(err)
	}
	defer unlock()
	addGenerations(b, s, n)
	// Every generation was the default once, so that rollback can walk
	// back through all of them.
	for g := 1; g <= n; g++ {
		if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.SwitchPermanent(g) }); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// addGenerations seals n more generations with 150 packages' metadata.
func addGenerations(b *testing.B, s *store.Store, n int) {
	b.Helper()
	for i := 0; i < n; i++ {
		st, err := s.BeginStaging()
		if err != nil {
			b.Fatal(err)
		}
		if err := writeTree(st.Dir(), storetest.Tree{"etc/hostname": "node\n"}); err != nil {
			b.Fatal(err)
		}
		meta := store.Meta{Description: "bench", Kernel: "linux-virt 6.6.58-r0", Created: fixtureEpoch.Add(time.Duration(i) * time.Minute)}
		for p := 0; p < 150; p++ {
			meta.Packages = append(meta.Packages, store.Package{Name: fmt.Sprintf("package-%03d", p), Version: "1.2.3-r0"})
		}
		if _, err := st.Seal(meta); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStoreCommands(b *testing.B) {
	requireRoot(b)
	cairn := cairnBinary(b)
	for _, backend := range []string{store.BackendBtrfs, store.BackendPlain} {
		b.Run(backend, func(b *testing.B) {
			dir := b.TempDir()
			if backend == store.BackendBtrfs {
				dir = btrfstest.NewFS(b, btrfstest.Options{Size: 1 << 30})
			} else {
				b.Cleanup(func() { storetest.Thaw(dir) })
			}
			s := benchGenerations(b, dir, backend, 200)
			run := func(b *testing.B, args ...string) {
				if code, out, sig := cairnExec(b, cairn, nil, append(args, "--store", dir)...); code != 0 || sig != nil {
					b.Fatalf("cairn %v: exit %d %v\n%s", args, code, sig, out)
				}
			}
			b.Run("generations", func(b *testing.B) {
				for b.Loop() {
					run(b, "generations")
				}
			})
			b.Run("switch", func(b *testing.B) {
				for b.Loop() {
					run(b, "switch", "200")
				}
			})
			b.Run("rollback", func(b *testing.B) {
				if b.N > 150 {
					b.Fatal("at most 150 rollbacks: run with -benchtime Nx")
				}
				for b.Loop() {
					run(b, "rollback")
				}
			})
			// Each round seals 100 more generations (untimed), then gc
			// deletes them all but the newest.
			b.Run("gc-100", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					unlock, err := s.Lock(context.Background(), false)
					if err != nil {
						b.Fatal(err)
					}
					addGenerations(b, s, 100)
					if _, err := s.UpdateState(func(store.State) (store.State, error) { return store.State{}, nil }); err != nil {
						b.Fatal(err)
					}
					unlock()
					b.StartTimer()
					run(b, "gc", "--keep", "1")
				}
			})
		})
	}
}
