package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/store"
)

// GCOptions are the options of `cairn gc`.
type GCOptions struct {
	Store  StoreOptions
	Keep   string
	DryRun bool
	JSON   bool
}

// rulesHelp is how gc explains its rules, in its help and when they do
// not parse.
const rulesHelp = `Rules, separated by spaces or commas, each unit at most once:
  N     the N newest generations
  Nh    the first generation of each of the last N hours
  Nd    ... of each of the last N days
  Nw    ... of each of the last N weeks (ISO weeks, from Monday)
  Nm    ... of each of the last N months
  Ny    ... of each of the last N years
  *h, *d, ...  every hour, day, ... however old
for example --keep '5 48h 7d 4w 12m'.`

// Validate checks the options and parses the rules.
func (o *GCOptions) Validate() (store.Rules, error) {
	if o.Keep == "" {
		return store.Rules{}, usagef("gc needs --keep RULES\n%s", rulesHelp)
	}
	rules, err := store.ParseRules(o.Keep)
	if err != nil {
		return store.Rules{}, usagef("--keep %q: %v\n%s", o.Keep, err, rulesHelp)
	}
	return rules, nil
}

func newGCCommand(g *Globals) *cobra.Command {
	o := &GCOptions{}
	cmd := &cobra.Command{
		Use:   "gc --keep RULES [--dry-run]",
		Short: "Delete the generations the retention rules do not keep",
		Long: `Delete, oldest first, every generation the retention rules (btrbk's style) do
not keep. The booted, default, trial, last good and pinned generations are
always kept. Also removes what interrupted builds left: stale staging trees
and the cache's temporary files. --dry-run shows what would go and why each
survivor stays.

` + rulesHelp + "\n" + storeExitCodes,
		Args: noArgsUsage("gc"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			rules, err := o.Validate()
			if err != nil {
				return err
			}
			return runGC(cmd.Context(), o, g, rules)
		},
	}
	addStoreFlags(cmd, &o.Store, true)
	f := cmd.Flags()
	f.StringVar(&o.Keep, "keep", "", "retention `RULES`, such as '5 48h 7d 4w 12m'")
	f.BoolVar(&o.DryRun, "dry-run", false, "only show what would be deleted and why the rest stays")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

// gcGeneration is a generation in gc's report.
type gcGeneration struct {
	Number      int       `json:"number"`
	Created     time.Time `json:"created"`
	Description string    `json:"description,omitempty"`
	// Why it is kept: the rules' reasons and the protections ("default",
	// "newest 5", "daily 2026-03-09").
	Why string `json:"why,omitempty"`
}

// gcReport is gc's --json output. In a dry run, Drop and Removed say
// what would go.
type gcReport struct {
	Store  string         `json:"store"`
	Rules  string         `json:"rules"`
	DryRun bool           `json:"dryRun"`
	Drop   []gcGeneration `json:"drop"`
	Keep   []gcGeneration `json:"keep"`
	// Removed lists the garbage removed besides generations: stale
	// staging trees, cache temporary files.
	Removed []store.Problem `json:"removed"`
}

func runGC(ctx context.Context, o *GCOptions, g *Globals, rules store.Rules) error {
	mode := fsckRepairQuiet
	if o.DryRun {
		mode = fsckCheck
	}
	ss, err := lockStore(ctx, g, &o.Store, mode)
	if err != nil {
		return err
	}
	defer ss.close()
	s := ss.s
	report := gcReport{Store: s.Dir(), Rules: rules.String(), DryRun: o.DryRun, Drop: []gcGeneration{}, Keep: []gcGeneration{}, Removed: []store.Problem{}}
	// The check on opening removed (or, dry, found) the stale staging
	// trees: they are gc's to report. Anything else it found is reported
	// as every command reports it.
	var other []store.Problem
	for _, p := range ss.report.Problems {
		if strings.HasPrefix(p.Path, filepath.Join("@cairn", "staging")+"/") {
			report.Removed = append(report.Removed, p)
		} else {
			other = append(other, p)
		}
	}
	printProblems(g, other, !o.DryRun)

	gens, err := s.Generations()
	if err != nil {
		return fmt.Errorf("gc: %w", err)
	}
	meta := map[int]store.Meta{}
	for _, gen := range gens {
		meta[gen.Number] = gen.Meta
	}
	now := time.Now()
	if !o.DryRun {
		// The boot entries of the generations that go are removed first:
		// a crash then leaves entries for existing generations only.
		plan, err := s.GC(rules, now, true)
		if err != nil {
			return changeError("gc", err)
		}
		st, err := s.State()
		if err != nil {
			return err
		}
		if err := syncBoot(g, s, survivors(gens, plan.Drop), st); err != nil {
			return err
		}
	}
	res, gcErr := s.GC(rules, now, o.DryRun)
	for _, n := range res.Drop {
		report.Drop = append(report.Drop, gcGeneration{Number: n, Created: meta[n].Created, Description: meta[n].Description})
	}
	for n, why := range res.Keep {
		report.Keep = append(report.Keep, gcGeneration{Number: n, Created: meta[n].Created, Description: meta[n].Description, Why: why})
	}
	sort.Slice(report.Keep, func(i, j int) bool { return report.Keep[i].Number < report.Keep[j].Number })
	var cacheErr error
	if gcErr == nil {
		var removed []store.Problem
		removed, cacheErr = gcCache(s, o.DryRun)
		report.Removed = append(report.Removed, removed...)
	}
	if o.JSON {
		if err := writeJSON(g.Stdout, report); err != nil {
			return err
		}
	} else {
		printGC(g, report)
	}
	if gcErr != nil {
		return changeError("gc", gcErr)
	}
	if cacheErr != nil {
		return fmt.Errorf("gc: cache: %w", cacheErr)
	}
	return nil
}

func printGC(g *Globals, r gcReport) {
	would := func(done, dry string) string {
		if r.DryRun {
			return dry
		}
		return done
	}
	when := func(t time.Time) string { return t.Local().Format("2006-01-02 15:04") }
	for _, d := range r.Drop {
		fmt.Fprintf(g.Stdout, "%s generation %d (%s)\n", would("deleted", "would delete"), d.Number, when(d.Created))
	}
	for _, k := range r.Keep {
		fmt.Fprintf(g.Stdout, "%s generation %d (%s): %s\n", would("kept", "keep"), k.Number, when(k.Created), k.Why)
	}
	for _, p := range r.Removed {
		fmt.Fprintf(g.Stdout, "%s %s: %s\n", would("removed", "would remove"), p.Path, p.Problem)
	}
	fmt.Fprintf(g.Stdout, "%s %s, %s %d\n", would("gc: deleted", "dry run: would delete"), plural(len(r.Drop), "generation"), would("kept", "keep"), len(r.Keep))
}

// cacheTmp is where builds keep temporary files in the package cache:
// anything there when the store's lock is free belongs to no one.
const cacheTmp = "tmp"

// gcCache removes, or in a dry run lists, the cache's garbage. It runs
// under the store's lock, so no build is using the cache: what is in
// @cairn/cache/tmp is left over from an interrupted build. Then the
// store prunes the file cache entries no generation shares any more
// (store.PruneCache), which a dry run only mentions.
func gcCache(s *store.Store, dryRun bool) ([]store.Problem, error) {
	dir := filepath.Join(s.CacheDir(), cacheTmp)
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var out []store.Problem
	for _, e := range entries {
		p := store.Problem{
			Path:    filepath.Join("@cairn", "cache", cacheTmp, e.Name()),
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
			Path:     filepath.Join("@cairn", "cache"),
			Problem:  fmt.Sprintf("%d cached files (%.1f MB) no generation uses", pruned.Files, float64(pruned.Bytes)/1e6),
			Repair:   "remove them",
			Repaired: true,
		})
	}
	return out, nil
}
