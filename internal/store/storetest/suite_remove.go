package storetest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/store"
)

// testRemove: a whole store goes, sealed generations, persistent
// directories (when asked for) and leftovers of a build included, and
// nothing else in its directory.
func testRemove(t *testing.T, b Backend) {
	s := New(t, b)
	for i := range 3 {
		Build(t, s, baseTree, store.Meta{Description: string(rune('a' + i))})
	}
	if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.SwitchPermanent(2) }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateState(func(st store.State) (store.State, error) { return st.Pin(1), nil }); err != nil {
		t.Fatal(err)
	}
	st, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	Write(t, st.Dir(), baseTree)
	persist := filepath.Join(s.Dir(), "@cairn", "persist")
	if err := os.MkdirAll(persist, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"home", `srv-my\x2ddata`} {
		p := filepath.Join(persist, name)
		if s.Backend() == store.BackendBtrfs {
			err = btrfs.CreateSubvolume(p)
		} else {
			err = os.Mkdir(p, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
		Write(t, p, Tree{"alice/notes": "mine\n"})
	}
	Write(t, s.CacheDir(), Tree{"downloads/pkg.apk": "cached\n"})
	beside := filepath.Join(s.Dir(), "beside")
	Write(t, s.Dir(), Tree{"beside": "not the store's\n"})

	plan, err := s.RemovalPlan()
	if err != nil {
		t.Fatal(err)
	}
	want := store.Removal{Dir: s.Dir(), Backend: b.Name, Generations: []int{1, 2, 3}, Persistent: []string{"/home", "/srv/my-data"}, Staging: 1, Cache: true}
	if !reflect.DeepEqual(plan, want) {
		t.Errorf("plan %+v, want %+v", plan, want)
	}
	var pe *store.PersistentError
	if err := s.Remove(false); !errors.As(err, &pe) || !reflect.DeepEqual(pe.Paths, want.Persistent) {
		t.Fatalf("Remove without the persistent directories: %v, want a *PersistentError naming them", err)
	}
	if nums := Numbers(t, s); len(nums) != 3 {
		t.Fatalf("a refused Remove left %v", nums)
	}
	if err := s.Remove(true); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil || len(entries) != 1 || entries[0].Name() != "beside" {
		t.Errorf("after Remove the directory holds %v (%v), want only what was beside the store", entries, err)
	}
	if data, err := os.ReadFile(beside); err != nil || string(data) != "not the store's\n" {
		t.Errorf("beside: %q %v", data, err)
	}
	if _, err := store.Open(s.Dir()); !errors.Is(err, store.ErrNotStore) {
		t.Errorf("Open after Remove: %v, want ErrNotStore", err)
	}
}
