package storetest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/store"
)

// baseTree is a small root file system.
var baseTree = Tree{
	"etc/hostname": "node1\n",
	"etc/motd":     "welcome\n",
	"bin/busybox":  "#!busybox\n",
	"bin/sh":       "->busybox",
	"var/empty/":   "",
}

func testInitAndOpen(t *testing.T, b Backend) {
	dir := b.Dir(t)
	if _, err := store.Open(dir); !errors.Is(err, store.ErrNotStore) || !strings.Contains(err.Error(), dir) {
		t.Errorf("Open(empty dir) = %v, want ErrNotStore naming %s", err, dir)
	}
	opts := b.Options
	opts.Backend = b.Name
	s, err := store.Init(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if s.Backend() != b.Name || s.Dir() != dir {
		t.Errorf("Backend() = %q, Dir() = %q; want %q, %q", s.Backend(), s.Dir(), b.Name, dir)
	}
	if _, err := store.Init(dir, opts); !errors.Is(err, store.ErrExists) {
		t.Errorf("Init twice: %v, want ErrExists", err)
	}
	s2, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s2.State(); err != nil || !reflect.DeepEqual(st, store.State{}) {
		t.Errorf("state of a new store = %+v, %v", st, err)
	}
	if gens, err := s2.Generations(); err != nil || len(gens) != 0 {
		t.Errorf("generations of a new store = %v, %v", gens, err)
	}
	for _, d := range []string{"generations", "meta", "staging", "cache"} {
		if fi, err := os.Stat(filepath.Join(dir, "@cairn", d)); err != nil || !fi.IsDir() {
			t.Errorf("@cairn/%s: %v", d, err)
		}
	}

	// An interrupted Init (no store.json yet) is not a store, and Init
	// completes it without losing the state.
	unlock := lock(t, s2)
	Build(t, s2, baseTree, store.Meta{})
	unlock()
	if err := os.Remove(filepath.Join(dir, "@cairn", "store.json")); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(dir); !errors.Is(err, store.ErrNotStore) || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("Open without store.json = %v, want ErrNotStore mentioning an interrupted init", err)
	}
	s3, err := store.Init(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := s3.State(); err != nil || st.LastSealed != 1 {
		t.Errorf("state after completing init = %+v, %v; want LastSealed 1 kept", st, err)
	}
}

// lock takes s's lock and returns the function releasing it, which also
// runs when the test ends (releasing twice does nothing).
func lock(t *testing.T, s *store.Store) func() {
	t.Helper()
	unlock, err := s.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unlock)
	return unlock
}

func testChangesNeedTheLock(t *testing.T, b Backend) {
	opts := b.Options
	opts.Backend = b.Name
	s, err := store.Init(b.Dir(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	unlock := lock(t, s)
	staging, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	Build(t, s, baseTree, store.Meta{})
	unlock()
	changes := map[string]func() error{
		"BeginStaging": func() error { _, err := s.BeginStaging(); return err },
		"Seal":         func() error { _, err := staging.Seal(store.Meta{}); return err },
		"SetState":     func() error { return s.SetState(store.State{}) },
		"UpdateState": func() error {
			_, err := s.UpdateState(func(st store.State) (store.State, error) { return st.Pin(1), nil })
			return err
		},
		"Delete": func() error { return s.Delete(1) },
		"Fsck":   func() error { _, err := s.Fsck(false); return err },
		"GC":     func() error { _, err := s.GC(store.Rules{Newest: 1}, time.Now(), false); return err },
		"Remove": func() error { return s.Remove(true) },
	}
	for name, change := range changes {
		if err := change(); !errors.Is(err, store.ErrNotLocked) {
			t.Errorf("%s without the lock: %v, want ErrNotLocked", name, err)
		}
	}
	if _, err := s.GC(store.Rules{Newest: 1}, time.Now(), true); err != nil {
		t.Errorf("GC dry run without the lock: %v", err)
	}
	if nums := Numbers(t, s); len(nums) != 1 {
		t.Errorf("generations %v after refused changes, want [1]", nums)
	}
	defer lock(t, s)()
	if err := staging.Abort(); err != nil {
		t.Fatal(err)
	}
}

func testSeal(t *testing.T, b Backend) {
	s := New(t, b)
	before := time.Now().Add(-time.Second)
	g := Build(t, s, baseTree, store.Meta{Description: "first"})
	if g.Number != 1 || g.Path != filepath.Join(s.Dir(), "@cairn", "generations", "1") {
		t.Fatalf("first generation: %d at %s", g.Number, g.Path)
	}
	Check(t, g.Path, baseTree)
	ReadOnly(t, g.Path)
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "@cairn", "staging")); len(entries) != 0 {
		t.Errorf("staging not empty after seal: %v", entries)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "@cairn", "meta", "1.json")); err != nil {
		t.Errorf("meta file: %v", err)
	}
	got, err := s.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Meta.Generation != 1 || got.Meta.Description != "first" || got.Meta.Created.Before(before) || got.Meta.Created.After(time.Now()) {
		t.Errorf("Get(1).Meta = %+v", got.Meta)
	}
	st, err := s.State()
	if err != nil || st.LastSealed != 1 || st.Default != 0 || st.Trial.Generation != 0 {
		t.Errorf("state after the first seal = %+v, %v; want only LastSealed 1", st, err)
	}
	if nums := Numbers(t, s); !reflect.DeepEqual(nums, []int{1}) {
		t.Errorf("generations %v, want [1]", nums)
	}
	if _, err := s.Get(2); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(2) = %v, want ErrNotFound", err)
	}
	if r, err := s.Fsck(false); err != nil || len(r.Problems) != 0 {
		t.Errorf("fsck after a seal: %+v, %v", r, err)
	}
}

func testSealOrder(t *testing.T, b Backend) {
	s := New(t, b)
	Build(t, s, baseTree, store.Meta{})
	gen := filepath.Join(s.Dir(), "@cairn", "generations", "2")
	meta := filepath.Join(s.Dir(), "@cairn", "meta", "2.json")
	exists := func(path string) bool { _, err := os.Lstat(path); return err == nil }
	var seen []string
	s.SetCrashHook(func(p string) error {
		seen = append(seen, p)
		switch p {
		case store.PointSealMeta:
			if !exists(meta) || exists(gen) {
				t.Errorf("%s: meta exists %t, generation exists %t; want the meta first", p, exists(meta), exists(gen))
			}
		case store.PointSealPublished:
			if !exists(gen) || !exists(meta) {
				t.Errorf("%s: generation exists %t, meta %t", p, exists(gen), exists(meta))
			}
			if err := os.WriteFile(filepath.Join(gen, "etc", "hostname"), []byte("x"), 0o644); err == nil {
				t.Errorf("%s: generation writable when published", p)
			}
		case store.PointSealDone:
			if st, err := s.State(); err != nil || st.LastSealed != 1 {
				t.Errorf("%s: state %+v, %v; want LastSealed still 1", p, st, err)
			}
		}
		return nil
	})
	Build(t, s, baseTree, store.Meta{})
	want := []string{store.PointSealMeta, store.PointSealPublished, store.PointSealDone, store.PointStateTemp}
	if !reflect.DeepEqual(seen, want) {
		t.Errorf("crash points passed: %v, want %v", seen, want)
	}
}

func testNumbers(t *testing.T, b Backend) {
	s := New(t, b)
	for range 3 {
		Build(t, s, baseTree, store.Meta{})
	}
	if err := s.Delete(3); err != nil {
		t.Fatal(err)
	}
	if g := Build(t, s, baseTree, store.Meta{}); g.Number != 4 {
		t.Errorf("after deleting the newest (3), the next generation is %d, want 4", g.Number)
	}
	if nums := Numbers(t, s); !reflect.DeepEqual(nums, []int{1, 2, 4}) {
		t.Errorf("generations %v, want [1 2 4]", nums)
	}
}

func testMetaRoundTrip(t *testing.T, b Backend) {
	s := New(t, b)
	Build(t, s, baseTree, store.Meta{})
	want := store.Meta{
		Parent:         1,
		Created:        time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.UTC),
		Description:    "add nomad",
		ManifestDigest: "sha256:1111",
		LockDigest:     "sha256:2222",
		Kernel:         "linux-lts 6.6.58-r0",
		Packages:       []store.Package{{Name: "alpine-base", Version: "3.19.1-r0"}, {Name: "nomad", Version: "1.7.2"}},
	}
	g := Build(t, s, baseTree, want)
	want.Generation = 2
	got, err := s.Get(g.Number)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Meta.Created.Equal(want.Created) {
		t.Errorf("created %v, want %v", got.Meta.Created, want.Created)
	}
	got.Meta.Created, want.Created = time.Time{}, time.Time{}
	if !reflect.DeepEqual(got.Meta, want) {
		t.Errorf("meta round trip:\n got %+v\nwant %+v", got.Meta, want)
	}
}

func testAbort(t *testing.T, b Backend) {
	s := New(t, b)
	st, err := s.BeginStaging()
	if err != nil {
		t.Fatal(err)
	}
	Write(t, st.Dir(), baseTree)
	if err := st.Abort(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(st.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("staging tree still there after Abort: %v", err)
	}
	if err := st.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if _, err := st.Seal(store.Meta{}); err == nil {
		t.Error("Seal after Abort succeeded")
	}
	if nums := Numbers(t, s); len(nums) != 0 {
		t.Errorf("generations after an aborted build: %v", nums)
	}
}
