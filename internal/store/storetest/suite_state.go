package storetest

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

func update(t *testing.T, s *store.Store, change func(store.State) (store.State, error)) store.State {
	t.Helper()
	st, err := s.UpdateState(change)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// testStateUnknownKeys: keys of state.json this cairn does not know (a
// newer cairn wrote them) survive every rewrite of the state: a change,
// a seal, a delete, a repair.
func testStateUnknownKeys(t *testing.T, b Backend) {
	s := New(t, b)
	Build(t, s, baseTree, store.Meta{})
	Build(t, s, baseTree, store.Meta{})
	path := filepath.Join(s.Dir(), "@cairn", "state.json")
	if err := os.WriteFile(path, []byte(`{"default": 1, "good": [1], "lastSealed": 2, "futureKey": {"x": [1, 2]}, "zz": true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	kept := func(after string) {
		t.Helper()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var raw map[string]any
		if err := json.Unmarshal(data, &raw); err != nil {
			t.Fatalf("after %s: state.json: %v", after, err)
		}
		if !reflect.DeepEqual(raw["futureKey"], map[string]any{"x": []any{1.0, 2.0}}) || raw["zz"] != true {
			t.Errorf("after %s, unknown keys lost: %s", after, data)
		}
	}
	update(t, s, func(st store.State) (store.State, error) { return st.Switch(2, 1) })
	kept("a switch")
	if got, _ := s.State(); got.Trial.Generation != 2 || got.Default != 1 {
		t.Errorf("after the switch: %+v", got)
	}
	Build(t, s, baseTree, store.Meta{})
	kept("a seal")
	update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(2) })
	if err := s.Delete(1); err != nil {
		t.Fatal(err)
	}
	kept("a delete")
	// A state naming a missing generation, repaired by fsck.
	data, _ := os.ReadFile(path)
	var raw map[string]json.RawMessage
	json.Unmarshal(data, &raw)
	raw["pinned"] = json.RawMessage("[9]")
	data, _ = json.Marshal(raw)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FsckWith(store.FsckOptions{Repair: true}); err != nil {
		t.Fatal(err)
	}
	kept("a repair")
	if got, _ := s.State(); len(got.Pinned) != 0 || got.Default != 2 {
		t.Errorf("after the repair: %+v", got)
	}
}

func testStateRoundTrip(t *testing.T, b Backend) {
	s := New(t, b)
	for range 3 {
		Build(t, s, baseTree, store.Meta{})
	}
	update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(1) })
	update(t, s, func(st store.State) (store.State, error) { return st.Switch(2, 2) })
	written := update(t, s, func(st store.State) (store.State, error) { return st.Pin(3), nil })
	want := store.State{Default: 1, Trial: store.Trial{Generation: 2, TriesLeft: 2}, Good: []int{1}, Pinned: []int{3}, LastSealed: 3}
	got, err := s.State()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(written, want) {
		t.Errorf("state read back %+v (UpdateState returned %+v), want %+v", got, written, want)
	}
	// The file is plain JSON, fully written, with no temporary left.
	data, err := os.ReadFile(filepath.Join(s.Dir(), "@cairn", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Errorf("state.json: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "@cairn", "state.json.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state.json.tmp left behind: %v", err)
	}
	// SetState never lowers the last sealed number.
	if err := s.SetState(store.State{Default: 2}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.State(); got.LastSealed != 3 || got.Default != 2 {
		t.Errorf("after SetState: %+v, want default 2 and LastSealed kept at 3", got)
	}
}

func testStateRefusesMissing(t *testing.T, b Backend) {
	s := New(t, b)
	Build(t, s, baseTree, store.Meta{})
	before, _ := s.State()
	err := s.SetState(store.State{Default: 99, Pinned: []int{1, 98}})
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), "default: generation 99") || !strings.Contains(err.Error(), "pinned: generation 98") {
		t.Errorf("SetState naming missing generations: %v", err)
	}
	_, err = s.UpdateState(func(st store.State) (store.State, error) { return st.Switch(99, 1) })
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("switch to a missing generation: %v, want ErrNotFound", err)
	}
	if err := s.SetState(store.State{Trial: store.Trial{Generation: 1, TriesLeft: -1}}); err == nil {
		t.Error("negative tries accepted")
	}
	if after, _ := s.State(); !reflect.DeepEqual(before, after) {
		t.Errorf("refused changes changed the state: %+v -> %+v", before, after)
	}
}

func testDeleteProtected(t *testing.T, b Backend) {
	s := New(t, b)
	for range 6 {
		Build(t, s, baseTree, store.Meta{})
	}
	err := s.SetState(store.State{
		Booted: 1, Default: 2, Trial: store.Trial{Generation: 3, TriesLeft: 1}, LastGood: 4, Pinned: []int{5}, Good: []int{2, 4},
	})
	if err != nil {
		t.Fatal(err)
	}
	for n, why := range map[int]string{1: "booted", 2: "default", 3: "trial", 4: "last good", 5: "pinned"} {
		err := s.Delete(n)
		var perr *store.ProtectedError
		if !errors.As(err, &perr) || perr.Generation != n || perr.Reasons != why {
			t.Errorf("Delete(%d) = %v, want protected (%s)", n, err, why)
		}
	}
	if err := s.Delete(6); err != nil {
		t.Errorf("Delete(6): %v", err)
	}
	if err := s.Delete(6); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Delete(6) twice: %v, want ErrNotFound", err)
	}
	if nums := Numbers(t, s); !reflect.DeepEqual(nums, []int{1, 2, 3, 4, 5}) {
		t.Errorf("generations %v, want [1 2 3 4 5]", nums)
	}
	for n := 1; n <= 5; n++ {
		g, _ := s.Get(n)
		Check(t, g.Path, baseTree)
	}
}

func testDelete(t *testing.T, b Backend) {
	s := New(t, b)
	Build(t, s, baseTree, store.Meta{})
	Build(t, s, baseTree, store.Meta{})
	update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(1) })
	update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(2) })
	if err := s.Delete(1); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"generations/1", "meta/1.json"} {
		if _, err := os.Lstat(filepath.Join(s.Dir(), "@cairn", p)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("@cairn/%s still there: %v", p, err)
		}
	}
	if st, _ := s.State(); !reflect.DeepEqual(st.Good, []int{2}) {
		t.Errorf("good list %v after deleting 1, want [2]", st.Good)
	}
	if entries, _ := os.ReadDir(filepath.Join(s.Dir(), "@cairn", "staging")); len(entries) != 0 {
		t.Errorf("staging not empty after delete: %v", entries)
	}
	if r, err := s.Fsck(false); err != nil || len(r.Problems) != 0 {
		t.Errorf("fsck after delete: %+v, %v", r, err)
	}
}
