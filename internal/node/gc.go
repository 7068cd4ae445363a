package node

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// GCGeneration is a generation in gc's report.
type GCGeneration struct {
	Number      int       `json:"number"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
	// Why it is kept: the rules' reasons and the protections ("default",
	// "newest 5", "daily 2026-03-09").
	Why string `json:"why,omitempty"`
}

// GCReport is what gc did, or in a dry run would do.
type GCReport struct {
	Store  string         `json:"store"`
	Rules  string         `json:"rules"`
	DryRun bool           `json:"dryRun"`
	Drop   []GCGeneration `json:"drop"`
	Keep   []GCGeneration `json:"keep"`
	// Removed lists the garbage removed besides generations: stale
	// staging trees, cache temporary files.
	Removed []store.Problem `json:"removed"`
}

// GCPlan is what gc would delete and keep, and why.
type GCPlan struct {
	Rules store.Rules
	Now   time.Time
	// Drop and Keep are the retention's answer (store.GCResult).
	store.GCResult
	gens []store.Generation
}

// GCLeftovers splits what the check on opening found (Session.Checked)
// into gc's to report, the stale staging trees of interrupted builds,
// and the rest, which every operation reports alike.
func GCLeftovers(r store.Report) (leftovers, other []store.Problem) {
	staging := filepath.Join(layout.StoreDir, layout.StagingDir) + "/"
	for _, p := range r.Problems {
		if strings.HasPrefix(p.Path, staging) {
			leftovers = append(leftovers, p)
		} else {
			other = append(other, p)
		}
	}
	return leftovers, other
}

// PlanGC decides which generations the retention rules delete at now,
// changing nothing. The booted, default, trial, last good and pinned
// generations are always kept.
func (ss *Session) PlanGC(rules store.Rules, now time.Time) (*GCPlan, error) {
	gens, err := ss.Store.Generations()
	if err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	res, err := ss.Store.GC(rules, now, true)
	if err != nil {
		return nil, changeError("gc", err)
	}
	return &GCPlan{Rules: rules, Now: now, GCResult: res, gens: gens}, nil
}

// ExecuteGC deletes what plan drops, in the order that keeps the node
// bootable at every instant: the boot entries of the generations that go
// first (a crash then leaves entries for existing generations only),
// then the generations, oldest first; then the cache's garbage and, on
// the running node, the containers' images no generation left uses. The
// report says what went, also with an error once generations were
// deleted (nil when nothing was).
func (ss *Session) ExecuteGC(plan *GCPlan) (*GCReport, error) {
	st, err := ss.Store.State()
	if err != nil {
		return nil, err
	}
	if err := ss.syncBoot(survivors(plan.gens, plan.Drop), st); err != nil {
		return nil, err
	}
	res, gcErr := ss.Store.GC(plan.Rules, plan.Now, false)
	return ss.gcReport(plan, res, false, gcErr)
}

// DryRunGC is what ExecuteGC would do, changing nothing.
func (ss *Session) DryRunGC(plan *GCPlan) (*GCReport, error) {
	return ss.gcReport(plan, plan.GCResult, true, nil)
}

func (ss *Session) gcReport(plan *GCPlan, res store.GCResult, dryRun bool, gcErr error) (*GCReport, error) {
	s := ss.Store
	report := &GCReport{Store: s.Dir(), Rules: plan.Rules.String(), DryRun: dryRun, Drop: []GCGeneration{}, Keep: []GCGeneration{}, Removed: []store.Problem{}}
	// The check on opening removed (or, dry, found) the stale staging
	// trees: they are gc's to report.
	leftovers, _ := GCLeftovers(ss.Checked)
	report.Removed = append(report.Removed, leftovers...)
	meta := map[int]store.Meta{}
	for _, gen := range plan.gens {
		meta[gen.Number] = gen.Meta
	}
	for _, n := range res.Drop {
		report.Drop = append(report.Drop, GCGeneration{Number: n, Created: meta[n].Created, Description: meta[n].Description})
	}
	for n, why := range res.Keep {
		report.Keep = append(report.Keep, GCGeneration{Number: n, Created: meta[n].Created, Description: meta[n].Description, Why: why})
	}
	sort.Slice(report.Keep, func(i, j int) bool { return report.Keep[i].Number < report.Keep[j].Number })
	if gcErr != nil {
		return report, changeError("gc", gcErr)
	}
	removed, err := ss.gcCache(dryRun)
	report.Removed = append(report.Removed, removed...)
	if err != nil {
		return report, fmt.Errorf("gc: cache: %w", err)
	}
	if !dryRun {
		removed, err := ss.pruneImages()
		report.Removed = append(report.Removed, removed...)
		if err != nil {
			return report, fmt.Errorf("gc: containers' images: %w", err)
		}
	}
	return report, nil
}

// cacheTmp is where builds keep temporary files in the package cache:
// anything there when the store's lock is free belongs to no one.
const cacheTmp = "tmp"

// gcCache removes, or in a dry run lists, the cache's garbage. It runs
// under the store's lock, so no build is using the cache: what is in
// @cairn/cache/tmp is left over from an interrupted build. Then the
// store prunes the file cache entries no generation shares any more
// (store.PruneCache), which a dry run only mentions.
func (ss *Session) gcCache(dryRun bool) ([]store.Problem, error) {
	s := ss.Store
	dir := filepath.Join(s.CacheDir(), cacheTmp)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []store.Problem
	for _, e := range entries {
		p := store.Problem{
			Path:    filepath.Join(layout.StoreDir, layout.CacheDir, cacheTmp, e.Name()),
			Problem: "temporary file of an interrupted build",
			Repair:  "remove it",
		}
		if !dryRun {
			if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
				return out, err
			}
			p.Repaired = true
		}
		out = append(out, p)
	}
	if dryRun {
		return out, nil
	}
	pruned, err := s.PruneCache()
	if err != nil {
		return out, err
	}
	if pruned.Files > 0 {
		out = append(out, store.Problem{
			Path:     filepath.Join(layout.StoreDir, layout.CacheDir),
			Problem:  fmt.Sprintf("%d cached files (%.1f MB) no generation uses", pruned.Files, float64(pruned.Bytes)/1e6),
			Repair:   "remove them",
			Repaired: true,
		})
	}
	return out, nil
}
