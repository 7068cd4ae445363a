package cairninit

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Inputs are what the choice of a generation depends on.
type Inputs struct {
	// State is @cairn/state.json as read; ignored when StateErr is set.
	State layout.State
	// StateErr is why state.json could not be read or parsed.
	StateErr error
	// Present are the generations in @cairn/generations.
	Present []int
	// Explicit is cairn.gen=N from the command line, 0 for none.
	Explicit int
	// Default is cairn.default=N from the command line: the default
	// generation when the loader entries were written, used only when
	// state.json is unusable. 0 for none.
	Default int
}

// Decision is which generation boots, and what to record.
type Decision struct {
	// Candidates are the generations to try, in order: the first is the
	// choice, the others are fallbacks for when a generation cannot be
	// mounted or has no init. Empty when nothing can boot.
	Candidates []int
	// Why explains the choice, for the console.
	Why string
	// Notes are problems noticed on the way, for the console.
	Notes []string
	// Counted says the first candidate is the trial and this boot uses
	// one of its tries: the state recording that must be on disk before
	// the trial boots, or the trial must not boot.
	Counted bool
	// Old is the state as read; Base the state after this boot's count
	// down, without Booted. Both are nil when state.json is unusable:
	// then nothing is written.
	Old, Base *layout.State
}

// StateFor returns the state to write before booting generation n, and
// whether anything needs writing: Base with Booted = n, when it differs
// from what is on disk.
func (d Decision) StateFor(n int) (layout.State, bool) {
	if d.Base == nil {
		return layout.State{}, false
	}
	st := d.Base.Clone()
	st.Booted = n
	return st, !reflect.DeepEqual(st.Normal(), d.Old.Normal())
}

// Choose decides which generation boots:
//
//   - cairn.gen=N, when N exists, boots N; the default and the trial are
//     left as they are (only Booted records N).
//   - otherwise, with a readable state.json, the trial while it has tries
//     left, counting one down (layout.State.Boot), else the default.
//   - with state.json missing or corrupted, the generation the loader's
//     default entry names (cairn.default=N), which was the default when
//     the entries were last written; without one, the newest. The store's
//     fsck, run by the next cairn command on the booted system, makes the
//     booted generation the default, so a repaired store boots what
//     cairn-init booted. A corrupted state is never rewritten here:
//     `cairn fsck` repairs it with the whole store in view.
//   - with no default in a readable state (a new store), the newest.
//
// Fallbacks follow the choice: the default, the last good generation, the
// other good ones newest first, then every other generation newest first.
func Choose(in Inputs) Decision {
	var d Decision
	present := map[int]bool{}
	for _, n := range in.Present {
		present[n] = true
	}
	newestFirst := slices.Clone(in.Present)
	sort.Sort(sort.Reverse(sort.IntSlice(newestFirst)))

	if in.StateErr != nil {
		d.Notes = append(d.Notes, fmt.Sprintf("state.json unusable (%v): it is left for `cairn fsck` to repair", in.StateErr))
		first := []int{}
		if in.Explicit != 0 && present[in.Explicit] {
			first = append(first, in.Explicit)
			d.Why = fmt.Sprintf("generation %d, as cairn.gen=%d asks", in.Explicit, in.Explicit)
		} else {
			if in.Explicit != 0 {
				d.Notes = append(d.Notes, fmt.Sprintf("%s=%d: no such generation", layout.ParamGen, in.Explicit))
			}
			switch {
			case in.Default != 0 && present[in.Default]:
				first = append(first, in.Default)
				d.Why = fmt.Sprintf("generation %d, the default when the boot entries were written (cairn.default=%d), since state.json is unusable", in.Default, in.Default)
			case len(newestFirst) > 0:
				if in.Default != 0 {
					d.Notes = append(d.Notes, fmt.Sprintf("%s=%d: no such generation", layout.ParamDefault, in.Default))
				}
				d.Why = fmt.Sprintf("generation %d, the newest, since state.json names no default", newestFirst[0])
			}
		}
		d.Candidates = candidates(present, first, newestFirst)
		return d
	}

	st := in.State.Normal()
	d.Old = &st
	fallbacks := func(base layout.State) []int {
		list := []int{base.Default, base.LastGood}
		good := slices.Clone(base.Good)
		sort.Sort(sort.Reverse(sort.IntSlice(good)))
		list = append(list, good...)
		return append(list, newestFirst...)
	}

	if in.Explicit != 0 {
		if present[in.Explicit] {
			base := st.Clone()
			d.Base = &base
			d.Why = fmt.Sprintf("generation %d, as cairn.gen=%d asks (default and trial unchanged)", in.Explicit, in.Explicit)
			d.Candidates = candidates(present, []int{in.Explicit}, fallbacks(base))
			return d
		}
		d.Notes = append(d.Notes, fmt.Sprintf("%s=%d: no such generation; choosing as state.json says", layout.ParamGen, in.Explicit))
	}

	base, n := st.Boot()
	base.Booted = st.Booted
	d.Base = &base
	trial := n != 0 && n == st.Trial.Generation
	switch {
	case n == 0:
		if len(newestFirst) > 0 {
			d.Why = fmt.Sprintf("generation %d, the newest, since state.json names no default", newestFirst[0])
		}
	case !present[n]:
		d.Notes = append(d.Notes, fmt.Sprintf("generation %d, which state.json chooses, is missing", n))
	case trial:
		d.Counted = true
		d.Why = fmt.Sprintf("generation %d on trial (%d more tries after this boot)", n, base.Trial.TriesLeft)
	case st.Trial.Generation != 0:
		d.Why = fmt.Sprintf("generation %d, the default (trial generation %d has no tries left)", n, st.Trial.Generation)
	default:
		d.Why = fmt.Sprintf("generation %d, the default", n)
	}
	first := []int{}
	if n != 0 {
		first = append(first, n)
	}
	d.Candidates = candidates(present, first, fallbacks(base))
	if len(d.Candidates) > 0 && (n == 0 || !present[n]) && d.Why == "" {
		d.Why = fmt.Sprintf("generation %d, the first that exists of the fallbacks", d.Candidates[0])
	}
	return d
}

// candidates returns the generations of the lists that exist, in order,
// each once.
func candidates(present map[int]bool, lists ...[]int) []int {
	out := []int{}
	seen := map[int]bool{}
	for _, l := range lists {
		for _, n := range l {
			if n > 0 && present[n] && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}
