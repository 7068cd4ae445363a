package fleetlock

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
)

// Semaphore is a group's counting semaphore, in airlock's encoding.
type Semaphore struct {
	TotalSlots uint64   `json:"total_slots"`
	Holders    []string `json:"holders"`
}

// ErrFull is returned when every slot of a group is held by others.
var ErrFull = errors.New("every reboot slot is taken")

// Lock makes id a holder. It is recursive: a holder locking again keeps
// its slot.
func (s *Semaphore) Lock(id string) error {
	if slices.Contains(s.Holders, id) {
		return nil
	}
	if uint64(len(s.Holders)) >= s.TotalSlots {
		return fmt.Errorf("%w: %d of %d, held by %v", ErrFull, len(s.Holders), s.TotalSlots, s.Holders)
	}
	s.Holders = append(s.Holders, id)
	slices.Sort(s.Holders)
	return nil
}

// Unlock gives id's slot back, if it holds one.
func (s *Semaphore) Unlock(id string) {
	s.Holders = slices.DeleteFunc(s.Holders, func(h string) bool { return h == id })
}

// Backend keeps the semaphores.
type Backend interface {
	// Update applies change to group's semaphore atomically: the
	// semaphore starts with slots total slots when it does not exist
	// yet, and its total is set to slots before change sees it. A
	// change's error leaves the semaphore as it was.
	Update(ctx context.Context, group string, slots uint64, change func(*Semaphore) error) (Semaphore, error)
	// Get returns group's semaphore; ok is false when it does not exist.
	Get(ctx context.Context, group string) (s Semaphore, ok bool, err error)
}

// Memory keeps semaphores in memory: for one server alone, whose locks
// go when it stops.
type Memory struct {
	mu   sync.Mutex
	sems map[string]Semaphore
}

func (m *Memory) Update(_ context.Context, group string, slots uint64, change func(*Semaphore) error) (Semaphore, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sems == nil {
		m.sems = map[string]Semaphore{}
	}
	s := m.sems[group]
	s.Holders = slices.Clone(s.Holders)
	s.TotalSlots = slots
	if err := change(&s); err != nil {
		return m.sems[group], err
	}
	m.sems[group] = s
	return s, nil
}

func (m *Memory) Get(_ context.Context, group string) (Semaphore, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sems[group]
	s.Holders = slices.Clone(s.Holders)
	return s, ok, nil
}
