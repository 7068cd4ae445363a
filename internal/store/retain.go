package store

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Retain decides which generations the rules keep. It is pure: gc
// --dry-run shows its answer, gc deletes drop.
//
// Semantics (btrbk's, with its defaults: days start at 00:00 and weeks on
// Monday, see docs/store.md):
//
//   - Time is the generation's Meta.Created, read in now's time zone;
//     ties are broken by number.
//   - A bucket is a clock hour, a calendar day, an ISO week (Monday
//     00:00 to Sunday 24:00), a calendar month or a calendar year. The
//     first (oldest) generation of each bucket represents it.
//   - Nh keeps the representative of the current hour and of the N-1
//     hours before it, whether or not those had generations; likewise
//     Nd, Nw, Nm and Ny. "*" keeps every bucket's representative.
//   - N keeps the N newest generations.
//   - Every generation in protected (booted, default, trial, last good,
//     pinned: State.Protected) is kept, whatever the rules say.
//
// keep maps each survivor to why it stays ("default", "newest 5",
// "daily 2026-03-01", several joined by ", "); drop lists the others,
// ascending.
func Retain(gens []Generation, rules Rules, now time.Time, protected map[int]string) (keep map[int]string, drop []int) {
	reasons := map[int][]string{}
	add := func(n int, why string) { reasons[n] = append(reasons[n], why) }

	sorted := slices.Clone(gens)
	slices.SortFunc(sorted, func(a, b Generation) int {
		if c := a.Meta.Created.Compare(b.Meta.Created); c != 0 {
			return c
		}
		return a.Number - b.Number
	})
	for _, g := range sorted {
		if why := protected[g.Number]; why != "" {
			add(g.Number, why)
		}
	}
	if rules.Newest > 0 {
		for _, g := range sorted[max(0, len(sorted)-rules.Newest):] {
			add(g.Number, fmt.Sprintf("newest %d", rules.Newest))
		}
	}
	loc := now.Location()
	for _, p := range periods {
		limit := *p.field(&rules)
		if limit == 0 {
			continue
		}
		current := p.start(now)
		seen := map[time.Time]bool{}
		for _, g := range sorted {
			b := p.start(g.Meta.Created.In(loc))
			if seen[b] {
				continue
			}
			seen[b] = true
			if age := p.between(b, current); limit == All || age < limit {
				add(g.Number, p.name+" "+p.label(b))
			}
		}
	}

	keep = make(map[int]string, len(reasons))
	for _, g := range gens {
		if r := reasons[g.Number]; len(r) > 0 {
			keep[g.Number] = strings.Join(r, ", ")
		} else {
			drop = append(drop, g.Number)
		}
	}
	slices.Sort(drop)
	return keep, drop
}

// period is one kind of bucket.
type period struct {
	name  string
	field func(*Rules) *int
	// start returns the start of the bucket holding t, in t's location.
	start func(t time.Time) time.Time
	// between counts the buckets from a's to b's (0 for the same one;
	// negative when a is after b, which counts as current).
	between func(a, b time.Time) int
	label   func(start time.Time) string
}

var periods = []period{
	{
		name:  "hourly",
		field: func(r *Rules) *int { return &r.Hourly },
		start: func(t time.Time) time.Time {
			return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, t.Location())
		},
		between: func(a, b time.Time) int { return int(b.Sub(a) / time.Hour) },
		label:   func(t time.Time) string { return t.Format("2006-01-02 15:00") },
	},
	{
		name:    "daily",
		field:   func(r *Rules) *int { return &r.Daily },
		start:   dayStart,
		between: func(a, b time.Time) int { return days(a, b) },
		label:   func(t time.Time) string { return t.Format("2006-01-02") },
	},
	{
		name:  "weekly",
		field: func(r *Rules) *int { return &r.Weekly },
		start: func(t time.Time) time.Time {
			d := dayStart(t)
			return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7)) // back to Monday
		},
		between: func(a, b time.Time) int { return floorDiv(days(a, b), 7) },
		label: func(t time.Time) string {
			y, w := t.ISOWeek()
			return fmt.Sprintf("%d-W%02d", y, w)
		},
	},
	{
		name:  "monthly",
		field: func(r *Rules) *int { return &r.Monthly },
		start: func(t time.Time) time.Time {
			return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location())
		},
		between: func(a, b time.Time) int {
			return (b.Year()*12 + int(b.Month())) - (a.Year()*12 + int(a.Month()))
		},
		label: func(t time.Time) string { return t.Format("2006-01") },
	},
	{
		name:  "yearly",
		field: func(r *Rules) *int { return &r.Yearly },
		start: func(t time.Time) time.Time {
			return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, t.Location())
		},
		between: func(a, b time.Time) int { return b.Year() - a.Year() },
		label:   func(t time.Time) string { return t.Format("2006") },
	},
}

func dayStart(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

// days counts calendar days from a to b, immune to DST-length days.
func days(a, b time.Time) int {
	da := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	db := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int(db.Sub(da) / (24 * time.Hour))
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
