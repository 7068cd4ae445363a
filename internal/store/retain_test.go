package store_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/store"
)

// gensAt numbers generations 1, 2, ... created at the given times
// ("2006-01-02 15:04", UTC).
func gensAt(t *testing.T, times ...string) []store.Generation {
	t.Helper()
	gens := make([]store.Generation, len(times))
	for i, s := range times {
		c, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		gens[i] = store.Generation{Number: i + 1, Meta: store.Meta{Generation: i + 1, Created: c}}
	}
	return gens
}

func TestRetain(t *testing.T) {
	// A Tuesday; its ISO week began on Monday 2026-03-09.
	now := time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		name      string
		times     []string
		rules     string
		protected map[int]string
		keep      map[int]string
		drop      []int
	}{
		{
			name:  "newest",
			times: []string{"2026-03-01 10:00", "2026-03-02 10:00", "2026-03-03 10:00", "2026-03-04 10:00"},
			rules: "2",
			keep:  map[int]string{3: "newest 2", 4: "newest 2"},
			drop:  []int{1, 2},
		},
		{
			name:  "hourly: first of each of the current and previous hours",
			times: []string{"2026-03-10 12:10", "2026-03-10 13:05", "2026-03-10 13:40", "2026-03-10 14:59", "2026-03-10 15:01", "2026-03-10 15:20"},
			rules: "3h",
			keep:  map[int]string{2: "hourly 2026-03-10 13:00", 4: "hourly 2026-03-10 14:00", 5: "hourly 2026-03-10 15:00"},
			drop:  []int{1, 3, 6},
		},
		{
			name:  "daily: calendar days, today counts",
			times: []string{"2026-03-08 23:59", "2026-03-09 00:00", "2026-03-09 23:00", "2026-03-10 08:00", "2026-03-10 09:00"},
			rules: "2d",
			keep:  map[int]string{2: "daily 2026-03-09", 4: "daily 2026-03-10"},
			drop:  []int{1, 3, 5},
		},
		{
			name:  "daily: days without generations still count",
			times: []string{"2026-03-05 10:00", "2026-03-08 10:00"},
			rules: "3d",
			keep:  map[int]string{2: "daily 2026-03-08"},
			drop:  []int{1},
		},
		{
			name:  "weekly: ISO weeks from Monday",
			times: []string{"2026-03-01 12:00", "2026-03-02 00:00", "2026-03-08 23:00", "2026-03-09 00:00", "2026-03-10 10:00"},
			rules: "2w",
			keep:  map[int]string{2: "weekly 2026-W10", 4: "weekly 2026-W11"},
			drop:  []int{1, 3, 5},
		},
		{
			name:  "monthly: calendar months",
			times: []string{"2026-01-31 23:00", "2026-02-01 00:00", "2026-02-28 12:00", "2026-03-01 00:00", "2026-03-10 10:00"},
			rules: "2m",
			keep:  map[int]string{2: "monthly 2026-02", 4: "monthly 2026-03"},
			drop:  []int{1, 3, 5},
		},
		{
			name:  "yearly, all of them",
			times: []string{"2024-06-01 00:00", "2024-12-31 00:00", "2025-01-01 00:00", "2026-01-01 00:00", "2026-03-01 00:00"},
			rules: "*y",
			keep:  map[int]string{1: "yearly 2024", 3: "yearly 2025", 4: "yearly 2026"},
			drop:  []int{2, 5},
		},
		{
			name:  "reasons add up in a fixed order",
			times: []string{"2026-03-09 09:00", "2026-03-10 09:00"},
			rules: "1 1h 2d 1w 1m 1y",
			protected: map[int]string{
				2: "default",
			},
			keep: map[int]string{
				1: "daily 2026-03-09, weekly 2026-W11, monthly 2026-03, yearly 2026",
				2: "default, newest 1, daily 2026-03-10",
			},
		},
		{
			name:      "protected generations survive any rules",
			times:     []string{"2020-01-01 00:00", "2021-01-01 00:00", "2022-01-01 00:00", "2026-03-10 15:00"},
			rules:     "1",
			protected: map[int]string{1: "booted, default", 2: "pinned", 99: "trial"},
			keep:      map[int]string{1: "booted, default", 2: "pinned", 4: "newest 1"},
			drop:      []int{3},
		},
		{
			name:  "a generation from the future counts as the current bucket",
			times: []string{"2026-03-09 10:00", "2026-03-11 10:00"},
			rules: "1d",
			keep:  map[int]string{2: "daily 2026-03-11"},
			drop:  []int{1},
		},
		{
			name:  "same creation time: the lower number is first",
			times: []string{"2026-03-10 10:00", "2026-03-10 10:00"},
			rules: "1d",
			keep:  map[int]string{1: "daily 2026-03-10"},
			drop:  []int{2},
		},
		{
			name:  "more newest than generations",
			times: []string{"2026-03-10 10:00"},
			rules: "5",
			keep:  map[int]string{1: "newest 5"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := store.ParseRules(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			keep, drop := store.Retain(gensAt(t, tt.times...), rules, now, tt.protected)
			if !reflect.DeepEqual(keep, tt.keep) {
				t.Errorf("keep:\n got %v\nwant %v", keep, tt.keep)
			}
			if !reflect.DeepEqual(drop, tt.drop) {
				t.Errorf("drop: got %v, want %v", drop, tt.drop)
			}
		})
	}
}

// Buckets are the calendar of now's time zone.
func TestRetainTimeZone(t *testing.T) {
	brisbane := time.FixedZone("AEST", 10*3600)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, brisbane)
	// 13:00 and 15:00 UTC on 9 March are 23:00 on the 9th and 01:00 on
	// the 10th in Brisbane.
	gens := gensAt(t, "2026-03-09 13:00", "2026-03-09 15:00")
	keep, drop := store.Retain(gens, store.Rules{Daily: 1}, now, nil)
	if !reflect.DeepEqual(keep, map[int]string{2: "daily 2026-03-10"}) || !reflect.DeepEqual(drop, []int{1}) {
		t.Errorf("in Brisbane: keep %v drop %v; want 2 kept as the first of 10 March", keep, drop)
	}
	keep, _ = store.Retain(gens, store.Rules{Daily: 1}, now.UTC(), nil)
	if len(keep) != 0 {
		t.Errorf("in UTC, where both are on the 9th (not today): keep %v, want none", keep)
	}
}

func TestRetainNoRules(t *testing.T) {
	gens := gensAt(t, "2026-03-01 10:00", "2026-03-02 10:00")
	keep, drop := store.Retain(gens, store.Rules{}, time.Now(), map[int]string{1: "default"})
	if !reflect.DeepEqual(keep, map[int]string{1: "default"}) || !reflect.DeepEqual(drop, []int{2}) {
		t.Errorf("keep %v drop %v", keep, drop)
	}
}

func TestParseRules(t *testing.T) {
	valid := []struct {
		in    string
		want  store.Rules
		canon string
	}{
		{"5 48h 7d 4w 12m", store.Rules{Newest: 5, Hourly: 48, Daily: 7, Weekly: 4, Monthly: 12}, "5 48h 7d 4w 12m"},
		{"7d,4w", store.Rules{Daily: 7, Weekly: 4}, "7d 4w"},
		{"  2y   3 ", store.Rules{Newest: 3, Yearly: 2}, "3 2y"},
		{"*m 10", store.Rules{Newest: 10, Monthly: store.All}, "10 *m"},
		{"07d", store.Rules{Daily: 7}, "7d"},
	}
	for _, tt := range valid {
		got, err := store.ParseRules(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseRules(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if s := got.String(); s != tt.canon {
			t.Errorf("String() = %q, want %q", s, tt.canon)
		}
	}
	invalid := []struct{ in, msg string }{
		{"", "no retention rules"},
		{"   ", "no retention rules"},
		{"7x", `retention rule "7x": unknown unit "x"`},
		{"0d", `retention rule "0d": a count of 0 keeps nothing`},
		{"d", `retention rule "d": "" is not a count`},
		{"5 6", `retention rule "6": the number of newest generations is given twice`},
		{"7d 3d", `retention rule "3d": daily rule given twice`},
		{"*", `retention rule "*": "*" needs a unit`},
		{"-1d", `retention rule "-1d": "-1" is not a count`},
		{"1.5d", `retention rule "1.5d": "1.5" is not a count`},
		{"abc", `retention rule "abc": unknown unit "c"`},
	}
	for _, tt := range invalid {
		_, err := store.ParseRules(tt.in)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ParseRules(%q) = %v, want an error containing %q", tt.in, err, tt.msg)
		}
	}
}
