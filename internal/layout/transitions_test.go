package layout_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/cairnlinux/cairn/internal/layout"
)

func TestTransitions(t *testing.T) {
	type step func(layout.State) (layout.State, error)
	sw := func(n, tries int) step {
		return func(s layout.State) (layout.State, error) { return s.Switch(n, tries) }
	}
	perm := func(n int) step { return func(s layout.State) (layout.State, error) { return s.SwitchPermanent(n) } }
	confirm := func(n int) step { return func(s layout.State) (layout.State, error) { return s.Confirm(n) } }
	rollback := func(s layout.State) (layout.State, error) { return s.Rollback() }
	boot := func(s layout.State) (layout.State, error) { s, _ = s.Boot(); return s, nil }
	pin := func(n int) step { return func(s layout.State) (layout.State, error) { return s.Pin(n), nil } }
	unpin := func(n int) step { return func(s layout.State) (layout.State, error) { return s.Unpin(n), nil } }

	tests := []struct {
		name  string
		start layout.State
		steps []step
		want  layout.State
		err   error // of the last step
	}{
		{
			name:  "switch makes a trial",
			start: layout.State{Default: 1},
			steps: []step{sw(3, 2)},
			want:  layout.State{Default: 1, Trial: layout.Trial{Generation: 3, TriesLeft: 2}},
		},
		{
			name:  "switch to the default cancels the trial",
			start: layout.State{Default: 1, Trial: layout.Trial{Generation: 3, TriesLeft: 2}},
			steps: []step{sw(1, 1)},
			want:  layout.State{Default: 1},
		},
		{
			name:  "a good trial boots and is confirmed",
			start: layout.State{Default: 1, Good: []int{1}, LastGood: 1},
			steps: []step{sw(2, 1), boot, confirm(2)},
			want:  layout.State{Default: 2, Good: []int{1, 2}, LastGood: 2, Booted: 2, LastTrial: layout.TrialOutcome{Generation: 2, Outcome: layout.TrialConfirmed}},
		},
		{
			name:  "a failed trial falls back, and confirming the default drops it",
			start: layout.State{Default: 1, Good: []int{1}, LastGood: 1},
			steps: []step{sw(2, 1), boot, boot, confirm(1)},
			want:  layout.State{Default: 1, Good: []int{1}, LastGood: 1, Booted: 1, LastTrial: layout.TrialOutcome{Generation: 2, Outcome: layout.TrialFellBack}},
		},
		{
			name:  "a trial boots as many times as it has tries",
			start: layout.State{Default: 1},
			steps: []step{sw(2, 2), boot, boot},
			want:  layout.State{Default: 1, Trial: layout.Trial{Generation: 2}, Booted: 2},
		},
		{
			name:  "confirming what is neither trial nor default fails",
			start: layout.State{Default: 1, Trial: layout.Trial{Generation: 2, TriesLeft: 1}},
			steps: []step{confirm(3)},
			want:  layout.State{Default: 1, Trial: layout.Trial{Generation: 2, TriesLeft: 1}},
			err:   errors.New("any"),
		},
		{
			name:  "a permanent switch is good at once",
			start: layout.State{Default: 1, Good: []int{1}, Trial: layout.Trial{Generation: 2, TriesLeft: 1}},
			steps: []step{perm(3)},
			want:  layout.State{Default: 3, Good: []int{1, 3}},
		},
		{
			name:  "rollback walks back through good generations",
			start: layout.State{Default: 5, Good: []int{1, 3, 5}, LastGood: 5},
			steps: []step{rollback, rollback},
			want:  layout.State{Default: 1, Good: []int{1, 3, 5}, LastGood: 5},
		},
		{
			name:  "rollback past the oldest good fails",
			start: layout.State{Default: 1, Good: []int{1}},
			steps: []step{rollback},
			want:  layout.State{Default: 1, Good: []int{1}},
			err:   layout.ErrNoRollback,
		},
		{
			name:  "rollback of a pending trial returns to the default",
			start: layout.State{Default: 5, Good: []int{3, 5}, Trial: layout.Trial{Generation: 6, TriesLeft: 1}},
			steps: []step{rollback},
			want:  layout.State{Default: 5, Good: []int{3, 5}},
		},
		{
			name:  "pin and unpin keep a sorted set",
			start: layout.State{},
			steps: []step{pin(5), pin(2), pin(5), unpin(7), unpin(2)},
			want:  layout.State{Pinned: []int{5}},
		},
		{
			name:  "a trial needs a try",
			start: layout.State{Default: 1},
			steps: []step{sw(2, 0)},
			want:  layout.State{Default: 1},
			err:   errors.New("any"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.start
			var err error
			for _, s := range tt.steps {
				next, e := s(st)
				if err = e; err == nil {
					st = next
				}
			}
			switch {
			case tt.err == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != nil && err == nil:
				t.Fatalf("no error, want %v", tt.err)
			case tt.err != nil && tt.err.Error() != "any" && !errors.Is(err, tt.err):
				t.Fatalf("error %v, want %v", err, tt.err)
			}
			if !reflect.DeepEqual(st, tt.want) {
				t.Errorf("state:\n got %+v\nwant %+v", st, tt.want)
			}
		})
	}
}

// Transitions never change the State they are called on.
func TestTransitionsArePure(t *testing.T) {
	st := layout.State{Default: 2, Good: make([]int, 1, 8), Pinned: make([]int, 1, 8), Trial: layout.Trial{Generation: 3, TriesLeft: 2}}
	st.Good[0], st.Pinned[0] = 2, 1
	before := layout.State{Default: 2, Good: []int{2}, Pinned: []int{1}, Trial: layout.Trial{Generation: 3, TriesLeft: 2}}
	st.Pin(9)
	st.Unpin(1)
	st.Boot()
	st.Confirm(3)
	st.SwitchPermanent(4)
	st.Switch(5, 1)
	st.Rollback()
	if !reflect.DeepEqual(st, before) {
		t.Errorf("state changed to %+v", st)
	}
}

func TestProtected(t *testing.T) {
	st := layout.State{Booted: 2, Default: 2, Trial: layout.Trial{Generation: 3}, LastGood: 1, Pinned: []int{2, 4}, Good: []int{1, 2, 7}}
	want := map[int]string{1: "last good", 2: "booted, default, pinned", 3: "trial", 4: "pinned"}
	if got := st.Protected(); !reflect.DeepEqual(got, want) {
		t.Errorf("Protected() = %v, want %v", got, want)
	}
}

func TestNextBoot(t *testing.T) {
	tests := []struct {
		st   layout.State
		want int
	}{
		{layout.State{}, 0},
		{layout.State{Default: 1}, 1},
		{layout.State{Default: 1, Trial: layout.Trial{Generation: 2, TriesLeft: 1}}, 2},
		{layout.State{Default: 1, Trial: layout.Trial{Generation: 2}}, 1},
	}
	for _, tt := range tests {
		if got := tt.st.NextBoot(); got != tt.want {
			t.Errorf("%+v.NextBoot() = %d, want %d", tt.st, got, tt.want)
		}
	}
}
