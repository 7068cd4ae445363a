package layout

import (
	"fmt"
	"slices"
	"strings"
)

// DefaultTries is how many boots a trial gets when the caller does not
// say: one. A generation that fails its first boot is suspect; `switch`
// can try it again.
const DefaultTries = 1

// The transitions below are pure: they return a new State and change
// nothing on disk. store.Store.UpdateState applies one atomically, after
// checking the generations it names exist.

// NextBoot returns the generation the next boot starts: the trial while it
// has tries left, else the default (0 when there is none).
func (st State) NextBoot() int {
	if st.Trial.Generation != 0 && st.Trial.TriesLeft > 0 {
		return st.Trial.Generation
	}
	return st.Default
}

// Switch makes n the next boot as a trial with the given tries. Switching
// to the default cancels any trial.
func (st State) Switch(n, tries int) (State, error) {
	if n <= 0 {
		return st, fmt.Errorf("switch: invalid generation %d", n)
	}
	if tries < 1 {
		return st, fmt.Errorf("switch: a trial needs at least one try, not %d", tries)
	}
	st = st.Clone()
	if n == st.Default {
		st.Trial = Trial{}
		return st, nil
	}
	st.Trial = Trial{Generation: n, TriesLeft: tries}
	return st, nil
}

// SwitchPermanent makes n the default at once, without a trial: the
// operator vouches for it, so it counts as good.
func (st State) SwitchPermanent(n int) (State, error) {
	if n <= 0 {
		return st, fmt.Errorf("switch: invalid generation %d", n)
	}
	st = st.Clone()
	st.Default = n
	st.Trial = Trial{}
	st.Good = append(st.Good, n)
	return st.Normal(), nil
}

// Rollback makes the next boot the newest good generation older than the
// one the next boot would start, and cancels any trial. Repeated, it walks
// back through the good generations.
func (st State) Rollback() (State, error) {
	next := st.NextBoot()
	target := 0
	for _, g := range st.Good {
		if g < next {
			target = max(target, g)
		}
	}
	if target == 0 {
		return st, fmt.Errorf("rollback from generation %d: %w", next, ErrNoRollback)
	}
	st = st.Clone()
	st.Default = target
	st.Trial = Trial{}
	return st, nil
}

// Confirm records that generation booted came up well. The trial, if that
// is what booted, becomes the default; the default, if that is what
// booted, is confirmed again (and a trial that ran out of tries, which is
// how the default came to boot, is dropped). Either way booted becomes the
// last good generation.
func (st State) Confirm(booted int) (State, error) {
	st = st.Clone()
	switch {
	case booted != 0 && booted == st.Trial.Generation:
		st.Default = booted
		st.Trial = Trial{}
		st.LastTrial = TrialOutcome{Generation: booted, Outcome: TrialConfirmed}
	case booted != 0 && booted == st.Default:
		if st.Trial.Generation != 0 && st.Trial.TriesLeft == 0 {
			st.LastTrial = TrialOutcome{Generation: st.Trial.Generation, Outcome: TrialFellBack}
			st.Trial = Trial{}
		}
	default:
		return st, fmt.Errorf("confirm: generation %d booted, but it is neither the trial (%d) nor the default (%d)",
			booted, st.Trial.Generation, st.Default)
	}
	st.LastGood = booted
	st.Booted = booted
	st.Good = append(st.Good, booted)
	return st.Normal(), nil
}

// Boot is what cairn-init does with the state: pick the generation to
// start (the trial while it has tries left, counting one down, else the
// default) and record it as booted. It returns 0 when nothing can boot.
func (st State) Boot() (State, int) {
	st = st.Clone()
	n := st.NextBoot()
	if n != 0 && n == st.Trial.Generation {
		st.Trial.TriesLeft--
	}
	st.Booted = n
	return st, n
}

// Pin keeps n until Unpin, whatever the retention rules say.
func (st State) Pin(n int) State {
	st = st.Clone()
	st.Pinned = append(st.Pinned, n)
	return st.Normal()
}

// Unpin releases a pin; unpinning what is not pinned changes nothing.
func (st State) Unpin(n int) State {
	st = st.Clone()
	st.Pinned = slices.DeleteFunc(st.Pinned, func(p int) bool { return p == n })
	return st.Normal()
}

// Forget drops n from the lists that may name a deleted generation.
func (st State) Forget(n int) State {
	st = st.Clone()
	st.Good = slices.DeleteFunc(st.Good, func(g int) bool { return g == n })
	return st
}

// Protected returns the generations nothing may delete, with why: booted,
// default, trial, last good, pinned (several reasons joined by ", ").
func (st State) Protected() map[int]string {
	reasons := map[int][]string{}
	add := func(n int, why string) {
		if n != 0 && !slices.Contains(reasons[n], why) {
			reasons[n] = append(reasons[n], why)
		}
	}
	add(st.Booted, "booted")
	add(st.Default, "default")
	add(st.Trial.Generation, "trial")
	add(st.LastGood, "last good")
	for _, n := range st.Pinned {
		add(n, "pinned")
	}
	out := make(map[int]string, len(reasons))
	for n, r := range reasons {
		out[n] = strings.Join(r, ", ")
	}
	return out
}
