package store

import (
	"errors"
	"fmt"
	"os"

	"github.com/cairnlinux/cairn/internal/layout"
)

// State says which generation boots: the record of @cairn/state.json
// and its transitions, which cairn-init shares (layout.State). The store
// reads and replaces it whole, under its lock, checking what it names.
type State = layout.State

// Trial is a generation on probation (layout.Trial).
type Trial = layout.Trial

// TrialOutcome records how a trial ended (layout.TrialOutcome).
type TrialOutcome = layout.TrialOutcome

// Outcomes of a trial.
const (
	TrialConfirmed = layout.TrialConfirmed
	TrialFellBack  = layout.TrialFellBack
)

// DefaultTries is how many boots a trial gets when the caller does not
// say (layout.DefaultTries).
const DefaultTries = layout.DefaultTries

// State reads the store's state.json.
func (s *Store) State() (State, error) {
	st, err := s.readState()
	if err != nil {
		return State{}, fmt.Errorf("read state: %w", err)
	}
	return st, nil
}

func (s *Store) readState() (State, error) {
	st, _, err := s.readStateFile()
	return st, err
}

// readStateFile reads the state and the keys of state.json this cairn
// does not know, which writeState keeps.
func (s *Store) readStateFile() (State, layout.Unknown, error) {
	data, err := os.ReadFile(s.statePath())
	if err != nil {
		return State{}, nil, err
	}
	st, unknown, err := layout.DecodeState(data)
	if err != nil {
		return State{}, nil, err
	}
	return st.Normal(), unknown, nil
}

// writeState replaces the state with st, keeping the unknown keys of the
// state it replaces (read with readStateFile).
func (s *Store) writeState(st State, unknown layout.Unknown) error {
	data, err := layout.EncodeState(st, unknown)
	if err != nil {
		return err
	}
	return s.writeAtomic(s.statePath(), data, PointStateTemp)
}

// SetState replaces the state, after checking that every generation it
// names exists. LastSealed never goes down.
func (s *Store) SetState(st State) error {
	_, err := s.UpdateState(func(State) (State, error) { return st, nil })
	return err
}

// UpdateState reads the state, applies change (one of State's transitions,
// usually), checks the result names only existing generations, and writes
// it with one atomic rename. It returns the state written.
func (s *Store) UpdateState(change func(State) (State, error)) (State, error) {
	if err := s.checkLocked(); err != nil {
		return State{}, fmt.Errorf("update state: %w", err)
	}
	cur, unknown, err := s.readStateFile()
	if err != nil {
		return State{}, fmt.Errorf("update state: %w (fsck repairs a missing or broken state)", err)
	}
	next, err := change(cur.Clone())
	if err != nil {
		return State{}, err
	}
	next.LastSealed = max(next.LastSealed, cur.LastSealed)
	nums, err := s.numbers()
	if err != nil {
		return State{}, fmt.Errorf("update state: %w", err)
	}
	if err := checkState(next, nums); err != nil {
		return State{}, err
	}
	if err := s.writeState(next, unknown); err != nil {
		return State{}, fmt.Errorf("update state: %w", err)
	}
	return next.Normal(), nil
}

// checkState reports every generation st names that is not in exists,
// and malformed fields.
func checkState(st State, exists map[int]bool) error {
	var errs []error
	ref := func(what string, n int) {
		if n != 0 && !exists[n] {
			errs = append(errs, fmt.Errorf("%s: %w", what, notFound(n)))
		}
	}
	ref("default", st.Default)
	ref("trial", st.Trial.Generation)
	ref("last good", st.LastGood)
	ref("booted", st.Booted)
	for _, n := range st.Good {
		ref("good", n)
	}
	for _, n := range st.Pinned {
		ref("pinned", n)
	}
	if st.Trial.TriesLeft < 0 {
		errs = append(errs, fmt.Errorf("trial: %d tries left", st.Trial.TriesLeft))
	}
	if st.Trial.Generation == 0 && st.Trial.TriesLeft != 0 {
		errs = append(errs, errors.New("trial: tries left without a generation"))
	}
	return errors.Join(errs...)
}
