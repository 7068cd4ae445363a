package node

import (
	"errors"
	"fmt"
	"slices"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/store"
)

// StateReport is the store's state after a change, and what the next
// boot starts.
type StateReport struct {
	Store string `json:"store"`
	store.State
	NextBoot int `json:"nextBoot"`
}

func (ss *Session) stateReport(st store.State) StateReport {
	return StateReport{Store: ss.Store.Dir(), State: st, NextBoot: st.NextBoot()}
}

// SwitchRequest asks for a generation to boot next.
type SwitchRequest struct {
	// Generation is the one to boot; 0 is the newest.
	Generation int
	// Permanent makes it the default at once; otherwise it boots as a
	// trial of Tries boots (at least 1), then the default again unless it
	// is confirmed.
	Permanent bool
	Tries     int
}

// SwitchReport is what Switch did.
type SwitchReport struct {
	Generation int
	// Before and After are the state before and after; equal when
	// nothing changed (the generation is the default already).
	Before, After StateReport
}

// Switch makes a generation the next boot, as a trial or for good.
// Switching to the default cancels a trial. A store booting mkinitfs
// images has no trials (NoTrialsError).
func (ss *Session) Switch(req SwitchRequest) (SwitchReport, error) {
	s := ss.Store
	n := req.Generation
	var err error
	if n == 0 {
		if n, err = ss.newest(); err != nil {
			return SwitchReport{}, fmt.Errorf("switch: %w", err)
		}
	} else if _, err := ss.Generation(n); err != nil {
		return SwitchReport{}, fmt.Errorf("switch: %w", err)
	}
	before, err := s.State()
	if err != nil {
		return SwitchReport{}, fmt.Errorf("switch: %w", err)
	}
	if !req.Permanent {
		if cfg, err := boot.LoadConfig(s); err == nil && cfg != nil && cfg.Mkinitfs() {
			return SwitchReport{}, &NoTrialsError{Generation: n}
		}
	}
	after := before
	if changes := req.Permanent || n != before.Default || before.Trial.Generation != 0; changes {
		after, err = ss.changeState(func(st store.State) (store.State, error) {
			if req.Permanent {
				return st.SwitchPermanent(n)
			}
			return st.Switch(n, req.Tries)
		})
		if err != nil {
			return SwitchReport{}, changeError(fmt.Sprintf("switch to generation %d", n), err)
		}
	}
	return SwitchReport{Generation: n, Before: ss.stateReport(before), After: ss.stateReport(after)}, nil
}

// newest finds the newest generation without reading every generation's
// metadata: numbers are never reused, so it is the highest present at or
// below the last number sealed (which the check on opening keeps at
// least as high as the newest).
func (ss *Session) newest() (int, error) {
	s := ss.Store
	st, err := s.State()
	if err != nil {
		return 0, err
	}
	for n := st.LastSealed; n > 0; n-- {
		_, err := s.Get(n)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	return 0, fmt.Errorf("the store %s has no generations (cairn build makes them)", s.Dir())
}

// RollbackReport is what Rollback did.
type RollbackReport struct {
	Before, After StateReport
}

// Rollback makes the newest good generation older than the one the next
// boot would start the default, and cancels any trial.
func (ss *Session) Rollback() (RollbackReport, error) {
	before, err := ss.Store.State()
	if err != nil {
		return RollbackReport{}, fmt.Errorf("rollback: %w", err)
	}
	after, err := ss.changeState(func(st store.State) (store.State, error) { return st.Rollback() })
	if errors.Is(err, store.ErrNoRollback) {
		good := "none"
		if len(before.Good) > 0 {
			good = NumberRanges(before.Good)
		}
		return RollbackReport{}, fmt.Errorf("%w (good generations: %s; cairn switch N picks any generation)", err, good)
	}
	if err != nil {
		return RollbackReport{}, changeError("rollback", err)
	}
	return RollbackReport{Before: ss.stateReport(before), After: ss.stateReport(after)}, nil
}

// PinReport is what Pin did.
type PinReport struct {
	Generation int
	// Pinned is whether it is pinned now; Changed whether it was not
	// before (for Pin) or was (for Unpin).
	Pinned, Changed bool
	State           StateReport
}

// Pin keeps generation n whatever gc's rules say (pin), or lets them
// decide again (!pin). Pins change no boot entry.
func (ss *Session) Pin(n int, pin bool) (PinReport, error) {
	verb := map[bool]string{true: "pin", false: "unpin"}[pin]
	s := ss.Store
	if _, err := ss.Generation(n); err != nil {
		return PinReport{}, fmt.Errorf("%s: %w", verb, err)
	}
	st, err := s.State()
	if err != nil {
		return PinReport{}, fmt.Errorf("%s: %w", verb, err)
	}
	r := PinReport{Generation: n, Pinned: slices.Contains(st.Pinned, n)}
	if r.Pinned != pin {
		st, err = s.UpdateState(func(st store.State) (store.State, error) {
			if pin {
				return st.Pin(n), nil
			}
			return st.Unpin(n), nil
		})
		if err != nil {
			return PinReport{}, changeError(fmt.Sprintf("%s generation %d", verb, n), err)
		}
		r.Pinned, r.Changed = pin, true
	}
	r.State = ss.stateReport(st)
	return r, nil
}
