package tenant

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// SnapshotsDir is where the homes' snapshots are, below the store's top:
// @cairn/snapshots/<escaped home>/<UTC time>, beside the generations and
// never among them, out of the tenants' sight.
const SnapshotsDir = "@cairn/snapshots"

// snapshotName is the name of a snapshot taken at t: its UTC time, which
// sorts as it happened.
const snapshotName = "20060102T150405Z"

// Snapshot is one snapshot of a home.
type Snapshot struct {
	Path  string
	Taken time.Time
}

func (n *Node) snapshotDir(t Tenant) string {
	return filepath.Join(n.Store, SnapshotsDir, layout.EscapePath(t.Home))
}

// snapshots lists a home's snapshots, oldest first; names that are no
// time are not cairn's and are left alone.
func (n *Node) snapshots(t Tenant) []Snapshot {
	dir := n.snapshotDir(t)
	entries, _ := os.ReadDir(dir)
	var out []Snapshot
	for _, e := range entries {
		taken, err := time.Parse(snapshotName, e.Name())
		if err == nil && e.IsDir() {
			out = append(out, Snapshot{Path: filepath.Join(dir, e.Name()), Taken: taken})
		}
	}
	slices.SortFunc(out, func(a, b Snapshot) int { return a.Taken.Compare(b.Taken) })
	return out
}

// SnapshotRound takes the snapshots that are due and drops those the
// retention rules no longer keep (the newest is always kept), for every
// tenant with a snapshot interval. It returns when the next one is due
// (zero when none ever is) and every problem.
func (n *Node) SnapshotRound(p Plan) (next time.Time, err error) {
	var errs []error
	now := n.Now().UTC()
	for _, t := range p.Tenants {
		every := t.SnapshotEvery()
		if every <= 0 {
			continue
		}
		due, err := n.snapshotTenant(t, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("tenant %s: %w", t.Name, err))
			due = now.Add(every) // try again after an interval
		}
		if next.IsZero() || due.Before(next) {
			next = due
		}
	}
	return next, errors.Join(errs...)
}

// snapshotTenant snapshots one home when due and applies its retention;
// it returns when the next snapshot is due.
func (n *Node) snapshotTenant(t Tenant, now time.Time) (time.Time, error) {
	every := t.SnapshotEvery()
	snaps := n.snapshots(t)
	if len(snaps) == 0 || !snaps[len(snaps)-1].Taken.Add(every).After(now) {
		dir := n.snapshotDir(t)
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return time.Time{}, err
		}
		dst := filepath.Join(dir, now.Format(snapshotName))
		if err := n.Quotas.Snapshot(n.home(t), dst); err != nil {
			return time.Time{}, err
		}
		snaps = append(snaps, Snapshot{Path: dst, Taken: now})
	}
	if err := n.prune(t, snaps, now); err != nil {
		return time.Time{}, err
	}
	return snaps[len(snaps)-1].Taken.Add(every), nil
}

// prune deletes the snapshots the tenant's retention rules do not keep,
// with cairn gc's semantics (store.Retain); the newest always stays.
func (n *Node) prune(t Tenant, snaps []Snapshot, now time.Time) error {
	rules, err := store.ParseRules(t.SnapshotRetention)
	if err != nil {
		return err
	}
	gens := make([]store.Generation, len(snaps))
	for i, s := range snaps {
		gens[i] = store.Generation{Number: i + 1, Meta: store.Meta{Created: s.Taken}}
	}
	_, drop := store.Retain(gens, rules, now, map[int]string{len(snaps): "newest"})
	for _, i := range drop {
		if err := n.Quotas.Delete(snaps[i-1].Path); err != nil {
			return err
		}
	}
	return nil
}
