package store_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// FuzzStateAndMeta writes arbitrary bytes as a store's state.json and as
// one generation's meta/N.json, then reads the store as every command does
// and repairs it as `cairn fsck --repair` does. Nothing may panic, and
// after the repair the store must be whole: the state reads and names
// only existing generations, every generation's metadata reads and
// describes it, and a second fsck finds nothing.
func FuzzStateAndMeta(f *testing.F) {
	testutil.Require(f, os.Geteuid() == 0, "root (a plain store's generations are immutable files)")
	dir := f.TempDir()
	s, err := store.Init(dir, store.InitOptions{Backend: store.BackendPlain})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { storetest.Thaw(dir) })
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(unlock)
	for i := 1; i <= 3; i++ {
		storetest.Build(f, s, storetest.Tree{"etc/": "", "etc/hostname": "node" + strconv.Itoa(i) + "\n"}, store.Meta{Description: "gen " + strconv.Itoa(i)})
	}
	if _, err := s.UpdateState(func(st store.State) (store.State, error) {
		st.Default, st.LastGood, st.Good = 2, 2, []int{1, 2}
		st.Trial = store.Trial{Generation: 3, TriesLeft: 1}
		st.Pinned = []int{1}
		return st, nil
	}); err != nil {
		f.Fatal(err)
	}
	statePath := filepath.Join(dir, "@cairn", "state.json")
	metaPath := func(n int) string { return filepath.Join(dir, "@cairn", "meta", strconv.Itoa(n)+".json") }
	read := func(p string) []byte {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		return data
	}
	goodState := read(statePath)
	goodMeta := [4][]byte{nil, read(metaPath(1)), read(metaPath(2)), read(metaPath(3))}

	f.Add(goodState, goodMeta[2], uint8(1))
	f.Add([]byte(`{"default":7,"trial":{"generation":3,"triesLeft":-2},"good":[9,2,2],"pinned":[0]}`), []byte(`{"generation":1}`), uint8(0))
	f.Add([]byte(`{"default":`), []byte(`[]`), uint8(2))
	f.Add([]byte(`{"trial":{"triesLeft":3},"lastSealed":-5,"booted":4}`), goodMeta[3][:20], uint8(2))

	f.Fuzz(func(t *testing.T, state, meta []byte, which uint8) {
		n := int(which%3) + 1
		for i := 1; i <= 3; i++ {
			data := goodMeta[i]
			if i == n {
				data = meta
			}
			if err := os.WriteFile(metaPath(i), data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.WriteFile(statePath, state, 0o644); err != nil {
			t.Fatal(err)
		}

		// What commands read; errors are expected, panics not.
		s.State()
		s.Generations()
		if _, err := s.Fsck(false); err != nil {
			t.Fatalf("fsck: %v", err)
		}

		if _, err := s.Fsck(true); err != nil {
			t.Fatalf("fsck --repair: %v\nstate %q\nmeta/%d.json %q", err, state, n, meta)
		}
		st, err := s.State()
		if err != nil {
			t.Fatalf("after repair: %v", err)
		}
		for _, g := range append([]int{st.Default, st.Trial.Generation, st.LastGood, st.Booted}, append(st.Good, st.Pinned...)...) {
			if g < 0 || g > 3 {
				t.Fatalf("after repair the state names generation %d: %+v\nstate %q", g, st, state)
			}
		}
		if st.Trial.TriesLeft < 0 || (st.Trial.Generation == 0 && st.Trial.TriesLeft != 0) {
			t.Fatalf("after repair the trial is %+v\nstate %q", st.Trial, state)
		}
		gens, err := s.Generations()
		if err != nil || len(gens) != 3 {
			t.Fatalf("after repair: %d generations, %v\nmeta/%d.json %q", len(gens), err, n, meta)
		}
		for _, g := range gens {
			if g.Meta.Generation != g.Number {
				t.Fatalf("generation %d's metadata describes %d", g.Number, g.Meta.Generation)
			}
		}
		rep, err := s.Fsck(false)
		if err != nil || !rep.Clean() {
			t.Fatalf("a second fsck finds %+v, %v\nstate %q\nmeta/%d.json %q", rep.Problems, err, state, n, meta)
		}
	})
}
