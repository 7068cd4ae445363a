// Package snapshots keeps read-only btrfs snapshots of a node's
// persistent directories (each its own subvolume, @cairn/persist/<name>)
// on the schedules the manifest gives them, prunes them by btrbk-style
// retention, lists them and restores a file or a whole directory from
// one. It never touches generations. docs/state.md tells the story.
package snapshots

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/store"
)

// ConfigPath is where a generation lists its snapshot schedules (the
// manifest's snapshots:, as JSON).
const ConfigPath = layout.SnapshotsFile

// timeFormat names a snapshot by the UTC time it was taken.
const timeFormat = "20060102T150405Z"

// Defaults of a schedule.
const (
	DefaultEvery       = time.Hour
	DefaultPreserveMin = 24 * time.Hour
)

// Schedule is the snapshot schedule of one persistent directory, as the
// generation records it.
type Schedule = layout.SnapshotSchedule

// policy is a Schedule parsed.
type policy struct {
	every, min time.Duration
	rules      store.Rules
}

func policyOf(s Schedule) (policy, error) {
	p := policy{every: DefaultEvery, min: DefaultPreserveMin}
	var err error
	if s.Every != "" {
		if p.every, err = manifest.ParseSpan(s.Every); err != nil {
			return p, fmt.Errorf("snapshots of %s: every: %w", s.Path, err)
		}
	}
	if s.PreserveMin != "" {
		if p.min, err = manifest.ParseSpan(s.PreserveMin); err != nil {
			return p, fmt.Errorf("snapshots of %s: preserveMin: %w", s.Path, err)
		}
	}
	if strings.TrimSpace(s.Preserve) != "" {
		if p.rules, err = store.ParseRules(s.Preserve); err != nil {
			return p, fmt.Errorf("snapshots of %s: preserve: %w", s.Path, err)
		}
	}
	return p, nil
}

// ReadConfig reads the schedules of the generation tree at root; none
// when it has no list.
func ReadConfig(root string) ([]Schedule, error) {
	data, err := os.ReadFile(filepath.Join(root, ConfigPath))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s []Schedule
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%s: %w", ConfigPath, err)
	}
	return s, nil
}

// Store is where snapshots are taken: the btrfs top level holding @cairn
// (the node's store), and how it names a persistent directory.
type Store struct {
	Top string
	// PersistDir returns the subvolume of persistent directory p.
	PersistDir func(p string) string
	// Escape names p's directory of snapshots.
	Escape func(p string) string
}

func (s Store) dir(p string) string {
	return layout.StorePath(s.Top, layout.SnapshotsDir, s.Escape(p))
}

// Snapshot is one snapshot.
type Snapshot struct {
	// Path is the persistent directory (/home).
	Path string `json:"path"`
	// Name is its name, the UTC time it was taken (20261206T081200Z).
	Name string    `json:"name"`
	Time time.Time `json:"time"`
	// Dir is the snapshot's read-only subvolume.
	Dir string `json:"dir"`
}

// List returns the snapshots of persistent directory p, oldest first.
func (s Store) List(p string) ([]Snapshot, error) {
	entries, err := os.ReadDir(s.dir(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Snapshot
	for _, e := range entries {
		t, err := time.Parse(timeFormat, e.Name())
		if err != nil || !e.IsDir() {
			continue // not one of cairn's (a .tmp of an interrupted one)
		}
		out = append(out, Snapshot{Path: p, Name: e.Name(), Time: t, Dir: filepath.Join(s.dir(p), e.Name())})
	}
	slices.SortFunc(out, func(a, b Snapshot) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// Result is what Take did for one schedule.
type Result struct {
	Path    string     `json:"path"`
	Taken   string     `json:"taken,omitempty"`
	Skipped string     `json:"skipped,omitempty"` // why none was taken
	Pruned  []Snapshot `json:"pruned,omitempty"`
}

// Take takes a snapshot of each schedule's directory (when due is set,
// only of those whose newest snapshot is at least its interval old), then
// prunes each by its retention, at the time now.
func (s Store) Take(schedules []Schedule, now time.Time, due bool) ([]Result, error) {
	var out []Result
	var errs []error
	for _, sc := range schedules {
		r := Result{Path: sc.Path}
		pol, err := policyOf(sc)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		snaps, err := s.List(sc.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		name := now.UTC().Format(timeFormat)
		switch {
		case due && len(snaps) > 0 && now.Sub(snaps[len(snaps)-1].Time) < pol.every:
			r.Skipped = fmt.Sprintf("not due: the newest, %s, is younger than %s", snaps[len(snaps)-1].Name, everyText(sc))
		case len(snaps) > 0 && snaps[len(snaps)-1].Name == name:
			r.Skipped = "one was taken at this second"
		default:
			if err := os.MkdirAll(s.dir(sc.Path), 0o700); err != nil {
				errs = append(errs, err)
				continue
			}
			if err := btrfs.Snapshot(s.PersistDir(sc.Path), filepath.Join(s.dir(sc.Path), name), true); err != nil {
				errs = append(errs, fmt.Errorf("snapshot %s: %w", sc.Path, err))
				continue
			}
			r.Taken = name
		}
		if r.Pruned, err = s.prune(sc.Path, pol, now); err != nil {
			errs = append(errs, err)
		}
		out = append(out, r)
	}
	return out, errors.Join(errs...)
}

func everyText(sc Schedule) string {
	if sc.Every == "" {
		return "1h"
	}
	return sc.Every
}

// Plan says which snapshots the retention keeps (with why) and which it
// drops, at now: every snapshot younger than preserveMin, and the
// representatives preserve's rules keep (store.Retain: btrbk's buckets).
// The newest is always kept.
func Plan(snaps []Snapshot, sc Schedule, now time.Time) (keep map[string]string, drop []Snapshot, err error) {
	pol, err := policyOf(sc)
	if err != nil {
		return nil, nil, err
	}
	return plan(snaps, pol, now)
}

func plan(snaps []Snapshot, pol policy, now time.Time) (map[string]string, []Snapshot, error) {
	gens := make([]store.Generation, len(snaps))
	protected := map[int]string{}
	for i, sn := range snaps {
		gens[i] = store.Generation{Number: i + 1, Meta: store.Meta{Created: sn.Time}}
		if now.Sub(sn.Time) < pol.min {
			protected[i+1] = "younger than preserveMin"
		}
	}
	if len(snaps) > 0 {
		protected[len(snaps)] = strings.TrimPrefix(protected[len(snaps)]+", newest", ", ")
	}
	keepN, dropN := store.Retain(gens, pol.rules, now, protected)
	keep := map[string]string{}
	for n, why := range keepN {
		keep[snaps[n-1].Name] = why
	}
	var drop []Snapshot
	for _, n := range dropN {
		drop = append(drop, snaps[n-1])
	}
	return keep, drop, nil
}

func (s Store) prune(p string, pol policy, now time.Time) ([]Snapshot, error) {
	snaps, err := s.List(p)
	if err != nil {
		return nil, err
	}
	_, drop, err := plan(snaps, pol, now)
	if err != nil {
		return nil, err
	}
	var errs []error
	var done []Snapshot
	for _, sn := range drop {
		if err := btrfs.DeleteSubvolume(sn.Dir); err != nil {
			errs = append(errs, fmt.Errorf("prune %s: %w", sn.Dir, err))
			continue
		}
		done = append(done, sn)
	}
	return done, errors.Join(errs...)
}

// Find returns the snapshot of p named name ("latest" for the newest).
func (s Store) Find(p, name string) (Snapshot, error) {
	snaps, err := s.List(p)
	if err != nil {
		return Snapshot{}, err
	}
	if len(snaps) == 0 {
		return Snapshot{}, fmt.Errorf("%s has no snapshots", p)
	}
	if name == "latest" {
		return snaps[len(snaps)-1], nil
	}
	for _, sn := range snaps {
		if sn.Name == name {
			return sn, nil
		}
	}
	return Snapshot{}, fmt.Errorf("%s has no snapshot %s (cairn snapshots list shows them)", p, name)
}

// RestoreFile copies file (an absolute path under the snapshot's
// directory p) from the snapshot back into the persistent directory,
// replacing what is there; the replaced version is kept beside it as
// FILE.before-restore.
func (s Store) RestoreFile(sn Snapshot, file string) (string, error) {
	rel := strings.TrimPrefix(strings.TrimPrefix(file, sn.Path), "/")
	if rel == "" || !strings.HasPrefix(file, strings.TrimSuffix(sn.Path, "/")+"/") || filepath.Clean(rel) != rel || strings.HasPrefix(rel, "..") {
		return "", fmt.Errorf("%s is not a file under %s", file, sn.Path)
	}
	src := filepath.Join(sn.Dir, rel)
	if _, err := os.Lstat(src); err != nil {
		return "", fmt.Errorf("snapshot %s of %s: %w", sn.Name, sn.Path, err)
	}
	dst := filepath.Join(s.PersistDir(sn.Path), rel)
	kept := ""
	if _, err := os.Lstat(dst); err == nil {
		kept = dst + ".before-restore"
		if err := os.Rename(dst, kept); err != nil {
			return "", err
		}
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", err
	}
	if _, err := btrfs.CopyFile(dst, src); err != nil {
		return "", err
	}
	fi, err := os.Lstat(src)
	if err == nil {
		os.Chmod(dst, fi.Mode().Perm())
		os.Chtimes(dst, fi.ModTime(), fi.ModTime())
	}
	return kept, err
}

// RestoreAll makes the snapshot the persistent directory again: the
// present subvolume is renamed aside (kept, named in the answer) and a
// writable snapshot of sn takes its place. A running node still has the
// old one mounted: the restored one is what the next boot mounts.
func (s Store) RestoreAll(sn Snapshot, now time.Time) (string, error) {
	live := s.PersistDir(sn.Path)
	aside := live + ".before-restore-" + now.UTC().Format(timeFormat)
	if err := os.Rename(live, aside); err != nil {
		return "", err
	}
	if err := btrfs.Snapshot(sn.Dir, live, false); err != nil {
		if rerr := os.Rename(aside, live); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return "", fmt.Errorf("restore %s from %s: %w", sn.Path, sn.Name, err)
	}
	return aside, nil
}
