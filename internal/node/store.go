package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// InitReport is what InitStore made.
type InitReport struct {
	Backend string `json:"backend"`
	// MadeDir says the directory was made.
	MadeDir bool   `json:"madeDir"`
	Store   string `json:"store"`
}

// InitStore makes a store in dir, making dir when it is missing: on a
// node, the top level of its btrfs file system.
func InitStore(dir string, opts store.InitOptions) (InitReport, error) {
	made := false
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return InitReport{}, err
		}
		made = true
	}
	s, err := store.Init(dir, opts)
	if errors.Is(err, store.ErrExists) {
		return InitReport{}, fmt.Errorf("%s already holds a store: %w", dir, err)
	}
	if err != nil {
		return InitReport{}, err
	}
	return InitReport{Store: s.Dir(), Backend: s.Backend(), MadeDir: made}, nil
}

// FsckReport is what Fsck found and repaired.
type FsckReport struct {
	Store    string          `json:"store"`
	Backend  string          `json:"backend"`
	Problems []store.Problem `json:"problems"`
	// Consistent is false when a repair failed.
	Consistent bool `json:"consistent"`
}

// Fsck checks the store and repairs what a crash or a kill can leave,
// never deleting a generation; the booted generation (Running) is the
// one a lost state is rebuilt around. The report is whole also with the
// error a failed repair gives. Open the session with FsckNone.
func (ss *Session) Fsck() (FsckReport, error) {
	s := ss.Store
	report, fsckErr := s.FsckWith(store.FsckOptions{Repair: true, Booted: ss.Running()})
	r := FsckReport{Store: s.Dir(), Backend: s.Backend(), Problems: append(report.Problems, ss.fsckBoot()...), Consistent: fsckErr == nil}
	if r.Problems == nil {
		r.Problems = []store.Problem{}
	}
	if fsckErr != nil {
		return r, fmt.Errorf("store %s is not consistent: %w", s.Dir(), fsckErr)
	}
	return r, nil
}

// PlanRemoval says what removing the store takes away. The running
// system's store is refused. Open the session with FsckNone.
func (ss *Session) PlanRemoval() (store.Removal, error) {
	s := ss.Store
	if ss.IsRunning() {
		return store.Removal{}, fmt.Errorf("%s is the store of the running system: it cannot be removed from it", s.Dir())
	}
	return s.RemovalPlan()
}

// Remove removes the store, sealed generations included, and with
// persistent its persistent directories (without, a store that has some
// is refused with a store.PersistentError). The directory holding @cairn
// stays.
func (ss *Session) Remove(persistent bool) error {
	if ss.IsRunning() {
		return fmt.Errorf("%s is the store of the running system: it cannot be removed from it", ss.Store.Dir())
	}
	return ss.Store.Remove(persistent)
}

// Remains reports whether dir holds an @cairn that is no store any more
// (a failed rm -rf took its store.json, or an init was interrupted):
// store.RemoveRemains takes it away.
func Remains(dir string) bool {
	if _, err := os.Stat(layout.StorePath(dir)); err != nil {
		return false
	}
	_, err := os.Stat(layout.StorePath(dir, layout.StoreFile))
	return errors.Is(err, fs.ErrNotExist)
}

// RemoveRemains takes away what Remains reports: the @cairn in dir,
// everything in it.
func RemoveRemains(dir string) error { return store.RemoveRemains(dir) }
