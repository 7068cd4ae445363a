package storetest

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

var errCrash = errors.New("simulated crash")

// scenario is a change that passes some crash points.
type scenario struct {
	name string
	// points are the crash points it passes, in order.
	points []string
	// prepare runs before the hook is armed.
	prepare func(t *testing.T, s *store.Store)
	run     func(s *store.Store) error
}

var crashScenarios = []scenario{
	{
		name:   "build",
		points: []string{store.PointSealMeta, store.PointSealPublished, store.PointSealDone, store.PointStateTemp},
		run: func(s *store.Store) error {
			st, err := s.BeginStaging()
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Join(st.Dir(), "etc"), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(st.Dir(), "etc", "hostname"), []byte("two\n"), 0o644); err != nil {
				return err
			}
			_, err = st.Seal(store.Meta{Description: "crashing"})
			return err
		},
	},
	{
		name:   "switch",
		points: []string{store.PointStateTemp},
		prepare: func(t *testing.T, s *store.Store) {
			Build(t, s, baseTree, store.Meta{})
		},
		run: func(s *store.Store) error {
			_, err := s.UpdateState(func(st store.State) (store.State, error) { return st.Switch(2, 1) })
			return err
		},
	},
	{
		name:   "delete",
		points: []string{store.PointStateTemp, store.PointDeleteState, store.PointDeleteTree},
		prepare: func(t *testing.T, s *store.Store) {
			Build(t, s, baseTree, store.Meta{})
			// 2 good but not the default: deleting it rewrites the state.
			update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(2) })
			update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(1) })
		},
		run: func(s *store.Store) error { return s.Delete(2) },
	},
}

// testCrashPoints stops every change at every crash point it passes, as a
// crash would, then checks that a fresh cairn (a new Store) repairs the
// store with Fsck, keeps generation 1 and the default, and goes on.
func testCrashPoints(t *testing.T, b Backend) {
	covered := map[string]bool{}
	for _, sc := range crashScenarios {
		for _, point := range sc.points {
			covered[point] = true
			t.Run(sc.name+"/"+point, func(t *testing.T) {
				crashAt(t, b, sc, point)
			})
		}
	}
	for _, point := range store.CrashPoints() {
		if !covered[point] {
			t.Errorf("no scenario crashes at %s", point)
		}
	}
}

func crashAt(t *testing.T, b Backend, sc scenario, point string) {
	opts := b.Options
	opts.Backend = b.Name
	dir := b.Dir(t)
	s, err := store.Init(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	unlock := lock(t, s)
	Build(t, s, baseTree, store.Meta{})
	update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(1) })
	if sc.prepare != nil {
		sc.prepare(t, s)
	}
	before := Numbers(t, s)
	passed := false
	s.SetCrashHook(func(p string) error {
		if p == point {
			passed = true
			return errCrash
		}
		return nil
	})
	err = sc.run(s)
	if !passed {
		t.Fatalf("%s did not pass %s (returned %v)", sc.name, point, err)
	}
	if !errors.Is(err, errCrash) {
		t.Fatalf("%s stopped at %s returned %v, want the crash", sc.name, point, err)
	}
	unlock() // the kernel drops a dead process's lock

	s2, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer lock(t, s2)()
	if _, err := s2.Fsck(true); err != nil {
		t.Fatalf("fsck repair: %v", err)
	}
	if r, err := s2.Fsck(false); err != nil || len(r.Problems) != 0 {
		t.Errorf("fsck after repair still finds %+v, %v", r.Problems, err)
	}
	st, err := s2.State()
	if err != nil || st.Default != 1 {
		t.Errorf("default after the crash: %+v, %v; want 1", st, err)
	}
	after := Numbers(t, s2)
	for _, n := range before {
		if !slices.Contains(after, n) && !(sc.name == "delete" && n == 2) {
			t.Errorf("generation %d lost (before %v, after %v)", n, before, after)
		}
	}
	g1, err := s2.Get(1)
	if err != nil {
		t.Fatal(err)
	}
	Check(t, g1.Path, baseTree)
	for _, n := range after {
		g, err := s2.Get(n)
		if err != nil {
			t.Fatal(err)
		}
		ReadOnly(t, g.Path)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "@cairn", "staging")); len(entries) != 0 {
		t.Errorf("staging not empty after repair: %v", entries)
	}
	// The store goes on, never reusing a number.
	next := Build(t, s2, baseTree, store.Meta{})
	for _, n := range append(before, after...) {
		if next.Number <= n {
			t.Errorf("next generation %d after %v", next.Number, append(before, after...))
		}
	}
}

// damage is something a crash or a hand can do to a store with
// generations 1 and 2, state {default 2, good [1 2], last good 2,
// pinned [1]}.
type damage struct {
	name  string
	do    func(t *testing.T, b Backend, dir string)
	check func(t *testing.T, s *store.Store)
}

func cairnPath(dir string, elem ...string) string {
	return filepath.Join(append([]string{dir, "@cairn"}, elem...)...)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

var damages = []damage{
	{
		name: "half-written state.json.tmp",
		do:   func(t *testing.T, _ Backend, dir string) { writeFile(t, cairnPath(dir, "state.json.tmp"), `{"defau`) },
	},
	{
		name: "half-written meta temporary",
		do: func(t *testing.T, _ Backend, dir string) {
			writeFile(t, cairnPath(dir, "meta", "3.json.tmp"), `{"gener`)
		},
	},
	{
		name: "truncated meta",
		do: func(t *testing.T, _ Backend, dir string) {
			if err := os.Truncate(cairnPath(dir, "meta", "2.json"), 10); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, s *store.Store) {
			g, err := s.Get(2)
			if err != nil || !g.Meta.Recovered || g.Meta.Created.IsZero() {
				t.Errorf("recovered meta of 2: %+v, %v", g.Meta, err)
			}
		},
	},
	{
		name: "missing meta",
		do: func(t *testing.T, _ Backend, dir string) {
			if err := os.Remove(cairnPath(dir, "meta", "1.json")); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, s *store.Store) {
			if g, err := s.Get(1); err != nil || !g.Meta.Recovered {
				t.Errorf("recovered meta of 1: %+v, %v", g.Meta, err)
			}
		},
	},
	{
		name: "meta of a missing generation",
		do: func(t *testing.T, _ Backend, dir string) {
			writeFile(t, cairnPath(dir, "meta", "7.json"), `{"generation": 7, "created": "2026-01-01T00:00:00Z"}`)
		},
	},
	{
		name: "stale staging tree",
		do: func(t *testing.T, _ Backend, dir string) {
			s, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			unlock := lock(t, s)
			st, err := s.BeginStaging()
			if err != nil {
				t.Fatal(err)
			}
			Write(t, st.Dir(), baseTree)
			unlock() // and the builder dies
		},
	},
	{
		name: "junk in staging",
		do: func(t *testing.T, _ Backend, dir string) {
			Write(t, cairnPath(dir, "staging", "junk"), Tree{"a/b": "c"})
		},
	},
	{
		name: "state missing",
		do: func(t *testing.T, _ Backend, dir string) {
			if err := os.Remove(cairnPath(dir, "state.json")); err != nil {
				t.Fatal(err)
			}
		},
		check: func(t *testing.T, s *store.Store) {
			if st, _ := s.State(); st.Default != 2 || st.LastSealed != 2 {
				t.Errorf("rebuilt state %+v, want default 2 (the newest)", st)
			}
		},
	},
	{
		name: "state unreadable",
		do:   func(t *testing.T, _ Backend, dir string) { writeFile(t, cairnPath(dir, "state.json"), "garbage") },
		check: func(t *testing.T, s *store.Store) {
			if st, _ := s.State(); st.Default != 2 {
				t.Errorf("rebuilt state %+v, want default 2", st)
			}
		},
	},
	{
		name: "state naming missing generations",
		do: func(t *testing.T, _ Backend, dir string) {
			writeFile(t, cairnPath(dir, "state.json"),
				`{"default": 9, "trial": {"generation": 8, "triesLeft": 1}, "lastGood": 9, "good": [1, 2, 9], "pinned": [1, 7], "booted": 6, "lastSealed": 2}`)
		},
		check: func(t *testing.T, s *store.Store) {
			want := store.State{Default: 2, LastGood: 2, Good: []int{1, 2}, Pinned: []int{1}, LastSealed: 2}
			if st, _ := s.State(); !reflect.DeepEqual(st, want) {
				t.Errorf("repaired state %+v, want %+v", st, want)
			}
		},
	},
	{
		name: "generation made writable",
		do: func(t *testing.T, b Backend, dir string) {
			b.Unseal(t, cairnPath(dir, "generations", "2"))
			if err := os.WriteFile(cairnPath(dir, "generations", "2", "new"), nil, 0o644); err != nil {
				t.Fatalf("unsealed generation still read-only: %v", err)
			}
			os.Remove(cairnPath(dir, "generations", "2", "new"))
		},
	},
	{
		name: "store directory missing",
		do: func(t *testing.T, _ Backend, dir string) {
			if err := os.Remove(cairnPath(dir, "cache")); err != nil {
				t.Fatal(err)
			}
		},
	},
}

func testFsckDamage(t *testing.T, b Backend) {
	for _, d := range damages {
		t.Run(strings.ReplaceAll(d.name, " ", "_"), func(t *testing.T) {
			dir := b.Dir(t)
			opts := b.Options
			opts.Backend = b.Name
			s, err := store.Init(dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			unlock := lock(t, s)
			Build(t, s, baseTree, store.Meta{})
			Build(t, s, baseTree, store.Meta{})
			err = s.SetState(store.State{Default: 2, Good: []int{1, 2}, LastGood: 2, Pinned: []int{1}})
			if err != nil {
				t.Fatal(err)
			}
			unlock()
			d.do(t, b, dir)

			s2, err := store.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer lock(t, s2)()
			check, err := s2.Fsck(false)
			if err != nil {
				t.Fatal(err)
			}
			if len(check.Problems) == 0 || check.Clean() {
				t.Fatalf("fsck found nothing (%+v)", check)
			}
			repaired, err := s2.Fsck(true)
			if err != nil {
				t.Fatal(err)
			}
			if !repaired.Clean() || len(repaired.Problems) != len(check.Problems) {
				t.Errorf("repair %+v after check %+v", repaired, check)
			}
			t.Logf("repaired: %+v", repaired.Problems)
			if r, err := s2.Fsck(false); err != nil || len(r.Problems) != 0 {
				t.Errorf("problems after repair: %+v, %v", r.Problems, err)
			}
			if nums := Numbers(t, s2); !reflect.DeepEqual(nums, []int{1, 2}) {
				t.Errorf("generations %v after repair, want [1 2]", nums)
			}
			for _, n := range []int{1, 2} {
				g, _ := s2.Get(n)
				Check(t, g.Path, baseTree)
				ReadOnly(t, g.Path)
			}
			if d.check != nil {
				d.check(t, s2)
			}
		})
	}
}

func testFsckUnknown(t *testing.T, b Backend) {
	s := New(t, b)
	Build(t, s, baseTree, store.Meta{})
	Write(t, cairnPath(s.Dir(), "generations"), Tree{"notes/": ""})
	writeFile(t, cairnPath(s.Dir(), "meta", "README"), "hands off")
	r, err := s.Fsck(true)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 2 || r.Clean() {
		t.Errorf("fsck of unknown entries: %+v, want two unrepaired problems", r)
	}
	for _, p := range []string{cairnPath(s.Dir(), "generations", "notes"), cairnPath(s.Dir(), "meta", "README")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("fsck touched %s: %v", p, err)
		}
	}
	if nums := Numbers(t, s); !reflect.DeepEqual(nums, []int{1}) {
		t.Errorf("generations %v, want [1]", nums)
	}
}

// testFsckBooted: a corrupted state rebuilt on the running system makes
// the booted generation the default (cairn-init booted it from the loader
// entry's hint), not the newest.
func testFsckBooted(t *testing.T, b Backend) {
	s := New(t, b)
	for range 3 {
		Build(t, s, baseTree, store.Meta{})
	}
	writeFile(t, cairnPath(s.Dir(), "state.json"), `{"default": 2, "good": [`)
	r, err := s.FsckWith(store.FsckOptions{Repair: true, Booted: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Problems) != 1 || !strings.Contains(r.Problems[0].Repair, "default 2 (the booted generation)") {
		t.Errorf("fsck: %+v", r)
	}
	st, err := s.State()
	if err != nil || st.Default != 2 || st.Booted != 2 || st.LastSealed != 3 {
		t.Errorf("state after repair: %+v, %v; want default and booted 2, last sealed 3", st, err)
	}
}
