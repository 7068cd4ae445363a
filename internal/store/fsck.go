package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Problem is one thing Fsck found.
type Problem struct {
	// Path is what is wrong, relative to the store's directory.
	Path string `json:"path"`
	// Problem says what is wrong.
	Problem string `json:"problem"`
	// Repair says what repairing does (or did).
	Repair string `json:"repair"`
	// Repaired is set when the repair was made.
	Repaired bool `json:"repaired"`
}

// Report is what Fsck found.
type Report struct {
	Problems []Problem `json:"problems"`
}

// Clean reports whether the store has no problem left: none found, or all
// repaired.
func (r Report) Clean() bool {
	for _, p := range r.Problems {
		if !p.Repaired {
			return false
		}
	}
	return true
}

// fsck carries one Fsck run.
type fsck struct {
	s      *Store
	repair bool
	booted int
	report Report
	errs   []error
}

// found records a problem and, when repairing, runs fix.
func (c *fsck) found(path, problem, repair string, fix func() error) {
	p := Problem{Path: c.s.rel(path), Problem: problem, Repair: repair}
	if c.repair && fix != nil {
		if err := fix(); err != nil {
			c.errs = append(c.errs, fmt.Errorf("repair %s: %w", p.Path, err))
		} else {
			p.Repaired = true
		}
	}
	c.report.Problems = append(c.report.Problems, p)
}

// Fsck checks the store for what an interrupted writer (or a hand) can
// leave, and with repair fixes it:
//
//   - missing store directories: recreated;
//   - temporary files (*.tmp) of unfinished atomic writes: removed;
//   - staging trees not begun through this Store (interrupted builds,
//     interrupted deletions): removed;
//   - generations not read-only: sealed again;
//   - generations with missing or unreadable metadata: metadata recovered
//     (number and creation time; Meta.Recovered set);
//   - metadata of missing generations: removed;
//   - a missing or unreadable state: rebuilt (default: the booted
//     generation when FsckOptions.Booted names one, else the newest);
//   - a state naming missing generations: those references dropped, the
//     default falling back to the last good, else the newest good, else
//     the newest generation; LastSealed raised to the newest number.
//
// Entries it does not know (not made by cairn) are reported, never
// touched. Fsck never removes a generation. It needs the lock. The error
// is for failures to check or repair, not for problems found.
func (s *Store) Fsck(repair bool) (Report, error) {
	return s.FsckWith(FsckOptions{Repair: repair})
}

// FsckOptions are the options of FsckWith.
type FsckOptions struct {
	// Repair fixes what is found (Fsck's repair).
	Repair bool
	// Booted is the generation the machine runs when the store is the
	// running system's (cairn-init's record of this boot), 0 otherwise.
	// A rebuilt state makes it the default: cairn-init booted it as the
	// default (the loader entry's cairn.default=) when state.json was
	// unusable, so the repaired store boots it again.
	Booted int
}

// FsckWith is Fsck with options.
func (s *Store) FsckWith(o FsckOptions) (Report, error) {
	if err := s.checkLocked(); err != nil {
		return Report{}, fmt.Errorf("fsck: %w", err)
	}
	c := &fsck{s: s, repair: o.Repair, booted: o.Booted}
	if err := c.run(); err != nil {
		return c.report, fmt.Errorf("fsck: %w", err)
	}
	return c.report, errors.Join(c.errs...)
}

func (c *fsck) run() error {
	c.dirs()
	if err := c.tempFiles(); err != nil {
		return err
	}
	if err := c.staging(); err != nil {
		return err
	}
	nums, err := c.generations()
	if err != nil {
		return err
	}
	if err := c.meta(nums); err != nil {
		return err
	}
	return c.state(nums)
}

func (c *fsck) dirs() {
	for _, d := range []string{genDirName, metaDirName, stagingName, cacheDirName} {
		path := c.s.path(d)
		if _, err := os.Stat(path); isNotExist(err) {
			c.found(path, "directory missing", "create it", func() error { return os.Mkdir(path, 0o755) })
		}
	}
}

func (c *fsck) tempFiles() error {
	for _, dir := range []string{c.s.root, c.s.path(metaDirName)} {
		entries, err := os.ReadDir(dir)
		if err != nil && !isNotExist(err) {
			return err
		}
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), tmpSuffix) && e.Type().IsRegular() {
				path := filepath.Join(dir, e.Name())
				c.found(path, "temporary file of an interrupted write", "remove it", func() error { return os.Remove(path) })
			}
		}
	}
	return nil
}

func (c *fsck) staging() error {
	entries, err := os.ReadDir(c.s.path(stagingName))
	if err != nil {
		return ignoreMissing(err)
	}
	for _, e := range entries {
		c.s.mu.Lock()
		mine := c.s.staging[e.Name()]
		c.s.mu.Unlock()
		if mine {
			continue
		}
		path := c.s.path(stagingName, e.Name())
		what := "stale staging tree (a build that did not finish)"
		if strings.HasPrefix(e.Name(), "deleting-") {
			what = "remains of an interrupted deletion"
		}
		c.found(path, what, "remove it", func() error { return c.s.backend.remove(path, "") })
	}
	return nil
}

// generations checks every generation's seal and metadata and returns
// the numbers present.
func (c *fsck) generations() (map[int]bool, error) {
	entries, err := os.ReadDir(c.s.path(genDirName))
	if err != nil {
		return nil, ignoreMissing(err)
	}
	// The checks of each generation (its seal, its metadata) run on every
	// CPU; the findings are then reported, and repaired, in order.
	type check struct {
		n       int
		path    string
		ok      bool
		sealed  bool
		err     error // from the seal check
		metaErr error
	}
	checks := make([]check, len(entries))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(entries)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(entries); i = int(next.Add(1) - 1) {
				e := entries[i]
				ck := &checks[i]
				ck.path = c.s.path(genDirName, e.Name())
				ck.n, ck.ok = layout.ParseNumber(e.Name())
				if !ck.ok || !e.IsDir() {
					ck.ok = false
					continue
				}
				ck.sealed, ck.err = c.s.backend.sealed(ck.path)
				ck.metaErr = c.s.checkMeta(ck.n)
			}
		})
	}
	wg.Wait()
	nums := map[int]bool{}
	for _, ck := range checks {
		path, n := ck.path, ck.n
		if !ck.ok {
			c.found(path, "not a generation (unknown entry)", "none: remove it by hand if it is not needed", nil)
			continue
		}
		nums[n] = true
		if ck.err != nil {
			return nil, ck.err
		}
		if !ck.sealed {
			c.found(path, "generation not read-only", "make it read-only again", func() error { return c.s.backend.reseal(path) })
		}
		if err := ck.metaErr; err != nil {
			what := "metadata unreadable: " + err.Error()
			if isNotExist(err) {
				what = "metadata missing"
			}
			c.found(c.s.metaPath(n), what, "recover it (number and creation time)", func() error { return c.recoverMeta(n) })
		}
	}
	return nums, nil
}

func (c *fsck) recoverMeta(n int) error {
	created, err := c.s.backend.created(c.s.genPath(n))
	if err != nil {
		return err
	}
	return c.s.writeMeta(Meta{
		Generation:  n,
		Created:     created.UTC(),
		Description: "metadata recovered by fsck",
		Recovered:   true,
	})
}

func (c *fsck) meta(nums map[int]bool) error {
	entries, err := os.ReadDir(c.s.path(metaDirName))
	if err != nil {
		return ignoreMissing(err)
	}
	for _, e := range entries {
		path := c.s.path(metaDirName, e.Name())
		if strings.HasSuffix(e.Name(), tmpSuffix) {
			continue // handled with the temporary files
		}
		n, ok := layout.ParseNumber(strings.TrimSuffix(e.Name(), ".json"))
		switch {
		case !ok || !strings.HasSuffix(e.Name(), ".json"):
			c.found(path, "unknown file", "none: remove it by hand if it is not needed", nil)
		case !nums[n]:
			c.found(path, fmt.Sprintf("metadata of missing generation %d (an interrupted build or deletion)", n),
				"remove it", func() error { return os.Remove(path) })
		}
	}
	return nil
}

func (c *fsck) state(nums map[int]bool) error {
	path := c.s.statePath()
	newest := 0
	for n := range nums {
		newest = max(newest, n)
	}
	st, unknown, err := c.s.readStateFile()
	if err != nil && !isNotExist(err) && !isJSONError(err) {
		return err
	}
	if err != nil {
		what := "state missing"
		if !isNotExist(err) {
			what = "state unreadable: " + err.Error()
		}
		rebuilt, why := State{Default: newest, LastSealed: newest}, "the newest"
		if c.booted != 0 && nums[c.booted] {
			rebuilt.Default, rebuilt.Booted, why = c.booted, c.booted, "the booted generation"
		}
		c.found(path, what, fmt.Sprintf("write a new state with default %d (%s)", rebuilt.Default, why), func() error {
			return c.s.writeState(rebuilt, nil)
		})
		return nil
	}
	fixed, changes := repairState(st, nums)
	if len(changes) > 0 {
		c.found(path, strings.Join(changes, "; "), "rewrite the state without them", func() error {
			return c.s.writeState(fixed, unknown)
		})
	}
	return nil
}

// repairState drops references to missing generations and says what it
// changed.
func repairState(st State, nums map[int]bool) (State, []string) {
	st = st.Clone()
	var changes []string
	gone := func(n int) bool { return n != 0 && !nums[n] }
	newest := 0
	for n := range nums {
		newest = max(newest, n)
	}
	if gone(st.Trial.Generation) {
		changes = append(changes, fmt.Sprintf("trial %d missing", st.Trial.Generation))
		st.Trial = Trial{}
	}
	// A malformed trial makes every state change fail (State.check) and
	// cairn-init read the state as unusable.
	if st.Trial.TriesLeft < 0 {
		changes = append(changes, fmt.Sprintf("trial with %d tries left (now none)", st.Trial.TriesLeft))
		st.Trial.TriesLeft = 0
	}
	if st.Trial.Generation == 0 && st.Trial.TriesLeft != 0 {
		changes = append(changes, "tries left without a trial generation")
		st.Trial = Trial{}
	}
	if gone(st.Booted) {
		changes = append(changes, fmt.Sprintf("booted %d missing", st.Booted))
		st.Booted = 0
	}
	if slices.ContainsFunc(st.Good, gone) {
		changes = append(changes, "good list names missing generations")
		st.Good = slices.DeleteFunc(st.Good, gone)
	}
	if slices.ContainsFunc(st.Pinned, gone) {
		changes = append(changes, "pinned list names missing generations")
		st.Pinned = slices.DeleteFunc(st.Pinned, gone)
	}
	if gone(st.LastGood) {
		changes = append(changes, fmt.Sprintf("last good %d missing", st.LastGood))
		st.LastGood = 0
		if len(st.Good) > 0 {
			st.LastGood = st.Good[len(st.Good)-1]
		}
	}
	if gone(st.Default) {
		old := st.Default
		switch {
		case st.LastGood != 0:
			st.Default = st.LastGood
		case len(st.Good) > 0:
			st.Default = st.Good[len(st.Good)-1]
		default:
			st.Default = newest
		}
		changes = append(changes, fmt.Sprintf("default %d missing (now %d)", old, st.Default))
	}
	if st.LastSealed < newest {
		changes = append(changes, fmt.Sprintf("last sealed number %d below generation %d", st.LastSealed, newest))
		st.LastSealed = newest
	}
	return st, changes
}

// isJSONError reports whether err is a file that does not decode.
func isJSONError(err error) bool {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	return errors.As(err, &se) || errors.As(err, &te)
}

func ignoreMissing(err error) error {
	if isNotExist(err) {
		return nil
	}
	return err
}
