package storetest

import (
	"reflect"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/store"
)

func testGC(t *testing.T, b Backend) {
	s := New(t, b)
	now := time.Date(2026, 3, 10, 15, 0, 0, 0, time.UTC)
	created := []time.Time{
		now.AddDate(0, 0, -10),                        // 1: pinned
		now.AddDate(0, 0, -5),                         // 2: default
		time.Date(2026, 3, 9, 10, 0, 0, 0, time.UTC),  // 3: first of yesterday
		time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC),  // 4: second of yesterday
		time.Date(2026, 3, 10, 13, 0, 0, 0, time.UTC), // 5: first of today
		time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC), // 6: newest
	}
	for _, c := range created {
		Build(t, s, baseTree, store.Meta{Created: c})
	}
	update(t, s, func(st store.State) (store.State, error) { return st.SwitchPermanent(2) })
	update(t, s, func(st store.State) (store.State, error) { return st.Pin(1), nil })
	rules, err := store.ParseRules("1 2d")
	if err != nil {
		t.Fatal(err)
	}
	wantKeep := map[int]string{
		1: "pinned",
		2: "default",
		3: "daily 2026-03-09",
		5: "daily 2026-03-10",
		6: "newest 1",
	}
	dry, err := s.GC(rules, now, true)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(dry.Keep, wantKeep) || !reflect.DeepEqual(dry.Drop, []int{4}) {
		t.Errorf("dry run: keep %v drop %v; want keep %v drop [4]", dry.Keep, dry.Drop, wantKeep)
	}
	if nums := Numbers(t, s); len(nums) != 6 {
		t.Errorf("dry run deleted generations: %v", nums)
	}
	res, err := s.GC(rules, now, false)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res, dry) {
		t.Errorf("gc %+v differs from its dry run %+v", res, dry)
	}
	if nums := Numbers(t, s); !reflect.DeepEqual(nums, []int{1, 2, 3, 5, 6}) {
		t.Errorf("generations after gc %v, want [1 2 3 5 6]", nums)
	}
}
