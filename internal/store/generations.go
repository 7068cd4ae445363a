package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Generation is a sealed generation.
type Generation struct {
	Number int
	// Path is the generation's root tree, read-only.
	Path string
	Meta Meta
}

// numbers returns the generations present: the numeric names in
// @cairn/generations.
func (s *Store) numbers() (map[int]bool, error) {
	entries, err := os.ReadDir(s.path(genDirName))
	if err != nil {
		return nil, err
	}
	nums := make(map[int]bool, len(entries))
	for _, e := range entries {
		if n, ok := layout.ParseNumber(e.Name()); ok && e.IsDir() {
			nums[n] = true
		}
	}
	return nums, nil
}

// Generations lists the sealed generations, oldest number first. A
// generation whose metadata cannot be read is an error (Fsck repairs it).
// The metadata files are read and decoded on every CPU: with 200
// generations of 150 packages each, decoding dominates.
func (s *Store) Generations() ([]Generation, error) {
	nums, err := s.numbers()
	if err != nil {
		return nil, fmt.Errorf("list generations: %w", err)
	}
	sorted := make([]int, 0, len(nums))
	for n := range nums {
		sorted = append(sorted, n)
	}
	slices.Sort(sorted)
	gens := make([]Generation, len(sorted))
	errs := make([]error, len(sorted))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(sorted)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(sorted); i = int(next.Add(1) - 1) {
				n := sorted[i]
				m, err := s.readMeta(n)
				if err != nil {
					errs[i] = fmt.Errorf("generation %d: metadata: %w (fsck repairs it)", n, err)
					continue
				}
				gens[i] = Generation{Number: n, Path: s.genPath(n), Meta: m}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return gens, nil
}

// Get returns generation n, or an error wrapping ErrNotFound.
func (s *Store) Get(n int) (Generation, error) {
	if _, err := os.Lstat(s.genPath(n)); errors.Is(err, fs.ErrNotExist) {
		return Generation{}, notFound(n)
	} else if err != nil {
		return Generation{}, err
	}
	m, err := s.readMeta(n)
	if err != nil {
		return Generation{}, fmt.Errorf("generation %d: metadata: %w (fsck repairs it)", n, err)
	}
	return Generation{Number: n, Path: s.genPath(n), Meta: m}, nil
}

// Delete removes generation n: its tree, then its metadata. It refuses a
// protected generation (booted, default, trial, last good, pinned) with a
// *ProtectedError. Order: the state stops naming n first, then the tree
// goes (one atomic step on btrfs; on plain stores the tree is first
// renamed into staging), then the metadata; a crash in between leaves
// garbage Fsck removes, never a state naming a missing generation.
func (s *Store) Delete(n int) error {
	if err := s.checkLocked(); err != nil {
		return fmt.Errorf("delete generation %d: %w", n, err)
	}
	if _, err := os.Lstat(s.genPath(n)); errors.Is(err, fs.ErrNotExist) {
		return notFound(n)
	}
	st, unknown, err := s.readStateFile()
	if err != nil {
		return fmt.Errorf("delete generation %d: %w", n, err)
	}
	if why := st.Protected()[n]; why != "" {
		return &ProtectedError{Generation: n, Reasons: why}
	}
	// The state stops naming n, and remembers n as sealed (in case the
	// seal that made it crashed before saying so), so that the number is
	// never given again.
	if next := st.Forget(n); slices.Contains(st.Good, n) || st.LastSealed < n {
		next.LastSealed = max(next.LastSealed, n)
		if err := s.writeState(next, unknown); err != nil {
			return fmt.Errorf("delete generation %d: %w", n, err)
		}
	}
	if err := s.crashPoint(PointDeleteState); err != nil {
		return err
	}
	trash := s.path(stagingName, fmt.Sprintf("deleting-%d-%s", n, randomID()))
	if err := s.backend.remove(s.genPath(n), trash); err != nil {
		return fmt.Errorf("delete generation %d: %w", n, err)
	}
	if err := syncDir(s.path(genDirName)); err != nil {
		return fmt.Errorf("delete generation %d: %w", n, err)
	}
	if err := s.crashPoint(PointDeleteTree); err != nil {
		return err
	}
	if err := os.Remove(s.metaPath(n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("delete generation %d: %w", n, err)
	}
	return syncDir(s.path(metaDirName))
}
