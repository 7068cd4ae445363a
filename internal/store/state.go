package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
)

// State says which generation boots. It lives in @cairn/state.json, which
// is only ever replaced whole (written, synced, renamed); cairn-init reads
// it at boot and counts a trial's tries down. Zero means "none" in every
// generation field.
type State struct {
	// Default boots when no trial has tries left.
	Default int `json:"default,omitempty"`
	// Trial boots while it has tries left, until confirmed or replaced.
	Trial Trial `json:"trial,omitzero"`
	// LastGood is the generation most recently confirmed good.
	LastGood int `json:"lastGood,omitempty"`
	// Good lists, ascending, the generations that have been the good
	// default (confirmed after a boot, or made default permanently):
	// the generations Rollback walks back through.
	Good []int `json:"good,omitempty"`
	// Pinned generations are kept until unpinned.
	Pinned []int `json:"pinned,omitempty"`
	// Booted is the generation cairn-init started last, when known.
	Booted int `json:"booted,omitempty"`
	// LastSealed is the highest number ever sealed. Numbers are never
	// reused, even after the newest generation is deleted.
	LastSealed int `json:"lastSealed,omitempty"`
	// LastTrial is how the most recent trial ended, once it has.
	LastTrial TrialOutcome `json:"lastTrial,omitzero"`
}

// Outcomes of a trial.
const (
	TrialConfirmed = "confirmed"
	TrialFellBack  = "fell back"
)

// TrialOutcome records how a trial ended: confirmed, or fell back (it
// used its tries without being confirmed, and the default booted and was
// confirmed instead).
type TrialOutcome struct {
	Generation int    `json:"generation"`
	Outcome    string `json:"outcome"`
}

// Trial is a generation on probation: it boots TriesLeft more times unless
// confirmed, then the default boots again.
type Trial struct {
	Generation int `json:"generation"`
	TriesLeft  int `json:"triesLeft"`
}

// State reads the store's state.json.
func (s *Store) State() (State, error) {
	st, err := s.readState()
	if err != nil {
		return State{}, fmt.Errorf("read state: %w", err)
	}
	return st, nil
}

func (s *Store) readState() (State, error) {
	data, err := os.ReadFile(s.statePath())
	if err != nil {
		return State{}, err
	}
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return State{}, fmt.Errorf("%s: %w", s.rel(s.statePath()), err)
	}
	return st.normal(), nil
}

func (s *Store) writeState(st State) error {
	data, err := json.MarshalIndent(st.normal(), "", "  ")
	if err != nil {
		return err
	}
	return s.writeAtomic(s.statePath(), append(data, '\n'), PointStateTemp)
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
	cur, err := s.readState()
	if err != nil {
		return State{}, fmt.Errorf("update state: %w (fsck repairs a missing or broken state)", err)
	}
	next, err := change(cur.clone())
	if err != nil {
		return State{}, err
	}
	next.LastSealed = max(next.LastSealed, cur.LastSealed)
	nums, err := s.numbers()
	if err != nil {
		return State{}, fmt.Errorf("update state: %w", err)
	}
	if err := next.check(nums); err != nil {
		return State{}, err
	}
	if err := s.writeState(next); err != nil {
		return State{}, fmt.Errorf("update state: %w", err)
	}
	return next.normal(), nil
}

// check reports every generation the state names that is not in exists,
// and malformed fields.
func (st State) check(exists map[int]bool) error {
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

// normal sorts and deduplicates the lists, so equal states write equal
// bytes.
func (st State) normal() State {
	st = st.clone()
	st.Good = sortedSet(st.Good)
	st.Pinned = sortedSet(st.Pinned)
	return st
}

func (st State) clone() State {
	st.Good = slices.Clone(st.Good)
	st.Pinned = slices.Clone(st.Pinned)
	return st
}

func sortedSet(s []int) []int {
	if len(s) == 0 {
		return nil
	}
	slices.Sort(s)
	return slices.Compact(s)
}
