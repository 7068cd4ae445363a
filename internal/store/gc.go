package store

import (
	"fmt"
	"time"
)

// GCResult is what GC kept and dropped.
type GCResult struct {
	// Keep maps each surviving generation to why it stays.
	Keep map[int]string `json:"keep"`
	// Drop lists the generations deleted (in a dry run: that would be).
	Drop []int `json:"drop"`
}

// GC applies the retention rules at time now: it deletes, oldest first,
// every generation Retain drops, never a protected one. With dryRun it
// only reports (and needs no lock).
func (s *Store) GC(rules Rules, now time.Time, dryRun bool) (GCResult, error) {
	if !dryRun {
		if err := s.checkLocked(); err != nil {
			return GCResult{}, fmt.Errorf("gc: %w", err)
		}
	}
	gens, err := s.Generations()
	if err != nil {
		return GCResult{}, fmt.Errorf("gc: %w", err)
	}
	st, err := s.readState()
	if err != nil {
		return GCResult{}, fmt.Errorf("gc: %w", err)
	}
	keep, drop := Retain(gens, rules, now, st.Protected())
	res := GCResult{Keep: keep, Drop: drop}
	if dryRun {
		return res, nil
	}
	for i, n := range drop {
		if err := s.Delete(n); err != nil {
			res.Drop = drop[:i]
			return res, fmt.Errorf("gc: %w", err)
		}
	}
	return res, nil
}
