package cairninit

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/store"
)

func TestChoose(t *testing.T) {
	corrupt := errors.New("unexpected end of JSON input")
	cases := []struct {
		name       string
		in         Inputs
		candidates []int
		why        string // a substring of Why
		note       string // a substring of one of Notes
		counted    bool
		write      *store.State // what StateFor(first candidate) writes; nil for nothing
	}{
		{
			name:       "default, already recorded: nothing written",
			in:         Inputs{State: store.State{Default: 2, Good: []int{1, 2}, Booted: 2}, Present: []int{1, 2, 3}},
			candidates: []int{2, 1, 3},
			why:        "generation 2, the default",
		},
		{
			name:       "default after another boot: booted recorded",
			in:         Inputs{State: store.State{Default: 2, LastGood: 2, Good: []int{2}, Booted: 1}, Present: []int{1, 2}},
			candidates: []int{2, 1},
			write:      &store.State{Default: 2, LastGood: 2, Good: []int{2}, Booted: 2},
		},
		{
			name:       "trial with tries left: counted down",
			in:         Inputs{State: store.State{Default: 1, Trial: store.Trial{Generation: 3, TriesLeft: 2}, Good: []int{1}, Booted: 1, LastSealed: 3}, Present: []int{1, 2, 3}},
			candidates: []int{3, 1, 2},
			why:        "generation 3 on trial (1 more tries after this boot)",
			counted:    true,
			write:      &store.State{Default: 1, Trial: store.Trial{Generation: 3, TriesLeft: 1}, Good: []int{1}, Booted: 3, LastSealed: 3},
		},
		{
			name:       "trial out of tries: the default",
			in:         Inputs{State: store.State{Default: 1, Trial: store.Trial{Generation: 3}, Good: []int{1}, Booted: 3}, Present: []int{1, 3}},
			candidates: []int{1, 3},
			why:        "trial generation 3 has no tries left",
			write:      &store.State{Default: 1, Trial: store.Trial{Generation: 3}, Good: []int{1}, Booted: 1},
		},
		{
			name:       "cairn.gen wins, default and trial untouched",
			in:         Inputs{State: store.State{Default: 2, Trial: store.Trial{Generation: 3, TriesLeft: 1}, Booted: 2}, Present: []int{1, 2, 3}, Explicit: 1},
			candidates: []int{1, 2, 3},
			why:        "as cairn.gen=1 asks",
			write:      &store.State{Default: 2, Trial: store.Trial{Generation: 3, TriesLeft: 1}, Booted: 1},
		},
		{
			name:       "cairn.gen naming the trial does not count a try",
			in:         Inputs{State: store.State{Default: 2, Trial: store.Trial{Generation: 3, TriesLeft: 1}, Booted: 3}, Present: []int{2, 3}, Explicit: 3},
			candidates: []int{3, 2},
		},
		{
			name:       "cairn.gen of a missing generation: as the state says",
			in:         Inputs{State: store.State{Default: 2, Booted: 2}, Present: []int{1, 2}, Explicit: 7},
			candidates: []int{2, 1},
			note:       "cairn.gen=7: no such generation",
		},
		{
			name:       "corrupted state: the newest, nothing written",
			in:         Inputs{StateErr: corrupt, Present: []int{1, 4, 2}},
			candidates: []int{4, 2, 1},
			why:        "generation 4, the newest",
			note:       "state.json unusable (unexpected end of JSON input)",
		},
		{
			name:       "corrupted state: the default entry's generation, nothing written",
			in:         Inputs{StateErr: corrupt, Present: []int{1, 4, 2}, Default: 2},
			candidates: []int{2, 4, 1},
			why:        "generation 2, the default when the boot entries were written (cairn.default=2), since state.json is unusable",
			note:       "state.json unusable (unexpected end of JSON input)",
		},
		{
			name:       "corrupted state, the default entry's generation gone: the newest",
			in:         Inputs{StateErr: corrupt, Present: []int{1, 4}, Default: 2},
			candidates: []int{4, 1},
			note:       "cairn.default=2: no such generation",
		},
		{
			name:       "corrupted state with cairn.gen",
			in:         Inputs{StateErr: corrupt, Present: []int{1, 2}, Explicit: 1},
			candidates: []int{1, 2},
			why:        "as cairn.gen=1 asks",
		},
		{
			name:       "corrupted state, cairn.gen missing",
			in:         Inputs{StateErr: corrupt, Present: []int{1, 2}, Explicit: 5},
			candidates: []int{2, 1},
			note:       "cairn.gen=5: no such generation",
		},
		{
			name:       "a new store's empty state: the newest, recorded as booted",
			in:         Inputs{State: store.State{LastSealed: 1}, Present: []int{1}},
			candidates: []int{1},
			why:        "the newest, since state.json names no default",
			write:      &store.State{Booted: 1, LastSealed: 1},
		},
		{
			name:       "default deleted by hand: last good, then other good ones newest first",
			in:         Inputs{State: store.State{Default: 5, LastGood: 3, Good: []int{1, 2, 3, 5}, Booted: 5}, Present: []int{1, 2, 3, 4}},
			candidates: []int{3, 2, 1, 4},
			note:       "generation 5, which state.json chooses, is missing",
			why:        "the first that exists of the fallbacks",
			write:      &store.State{Default: 5, LastGood: 3, Good: []int{1, 2, 3, 5}, Booted: 3},
		},
		{
			name:       "missing trial: its count goes down, the default boots",
			in:         Inputs{State: store.State{Default: 1, Trial: store.Trial{Generation: 9, TriesLeft: 1}, Booted: 1}, Present: []int{1}},
			candidates: []int{1},
			note:       "generation 9, which state.json chooses, is missing",
			write:      &store.State{Default: 1, Trial: store.Trial{Generation: 9}, Booted: 1},
		},
		{
			name:       "no generations",
			in:         Inputs{State: store.State{Default: 1}},
			candidates: []int{},
			note:       "generation 1, which state.json chooses, is missing",
		},
		{
			name:       "negative tries are no tries",
			in:         Inputs{State: store.State{Default: 1, Trial: store.Trial{Generation: 2, TriesLeft: -3}, Booted: 1}, Present: []int{1, 2}},
			candidates: []int{1, 2},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Choose(c.in)
			if !reflect.DeepEqual(d.Candidates, c.candidates) {
				t.Errorf("candidates %v, want %v", d.Candidates, c.candidates)
			}
			if !strings.Contains(d.Why, c.why) {
				t.Errorf("why %q, want it to say %q", d.Why, c.why)
			}
			if c.note != "" && !strings.Contains(strings.Join(d.Notes, "\n"), c.note) {
				t.Errorf("notes %q, want %q", d.Notes, c.note)
			}
			if c.note == "" && len(d.Notes) > 0 && c.in.StateErr == nil {
				t.Errorf("unexpected notes %q", d.Notes)
			}
			if d.Counted != c.counted {
				t.Errorf("counted %v", d.Counted)
			}
			if len(d.Candidates) == 0 {
				return
			}
			st, write := d.StateFor(d.Candidates[0])
			switch {
			case c.write == nil && write:
				t.Errorf("writes %+v, want nothing written", st)
			case c.write != nil && !write:
				t.Errorf("writes nothing, want %+v", *c.write)
			case c.write != nil && !reflect.DeepEqual(st.Normal(), c.write.Normal()):
				t.Errorf("writes %+v, want %+v", st, *c.write)
			}
			if c.in.StateErr != nil && d.Base != nil {
				t.Error("a corrupted state would be rewritten")
			}
		})
	}
}

// TestChooseFallbackState: falling back from a trial keeps its count down
// and records the generation that did boot.
func TestChooseFallbackState(t *testing.T) {
	d := Choose(Inputs{State: store.State{Default: 1, Trial: store.Trial{Generation: 2, TriesLeft: 1}, Good: []int{1}}, Present: []int{1, 2}})
	if !reflect.DeepEqual(d.Candidates, []int{2, 1}) {
		t.Fatalf("candidates %v", d.Candidates)
	}
	st, ok := d.StateFor(1)
	want := store.State{Default: 1, Trial: store.Trial{Generation: 2}, Good: []int{1}, Booted: 1}
	if !ok || !reflect.DeepEqual(st, want) {
		t.Errorf("fallback writes %+v (%v), want %+v", st, ok, want)
	}
	// The decision does not share lists with its input.
	d.Base.Good[0] = 99
	if st2, _ := d.StateFor(1); st2.Good[0] != 99 || d.Old.Good[0] != 1 {
		t.Errorf("old state changed through the base: %+v", d.Old)
	}
}

// TestChooseAgreesWithStore: without cairn.gen, and with the chosen
// generation present, the choice and the state written are the store's
// own Boot transition.
func TestChooseAgreesWithStore(t *testing.T) {
	states := []store.State{
		{Default: 1},
		{Default: 1, Trial: store.Trial{Generation: 2, TriesLeft: 3}},
		{Default: 1, Trial: store.Trial{Generation: 2, TriesLeft: 1}, Booted: 2},
		{Default: 2, Trial: store.Trial{Generation: 2}, LastGood: 2, Good: []int{1, 2}, Pinned: []int{1}, LastSealed: 4},
		{Trial: store.Trial{Generation: 3, TriesLeft: 1}},
	}
	for _, st := range states {
		next, n := st.Boot()
		d := Choose(Inputs{State: st, Present: []int{1, 2, 3, 4}})
		if d.Candidates[0] != n {
			t.Errorf("%+v: chose %d, store.Boot %d", st, d.Candidates[0], n)
		}
		got, _ := d.StateFor(n)
		if !reflect.DeepEqual(got.Normal(), next.Normal()) {
			t.Errorf("%+v: writes %+v, store.Boot gives %+v", st, got, next)
		}
	}
}
