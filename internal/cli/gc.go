package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/node"
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
	// The stale staging trees the check on opening removed (or, dry,
	// found) are gc's to report; anything else it found is reported as
	// every command reports it.
	_, other := node.GCLeftovers(ss.Checked)
	printProblems(g, other, !o.DryRun)
	plan, err := ss.PlanGC(rules, time.Now())
	if err != nil {
		return err
	}
	var report *node.GCReport
	if o.DryRun {
		report, err = ss.DryRunGC(plan)
	} else {
		report, err = ss.ExecuteGC(plan)
	}
	if report == nil {
		return err
	}
	if o.JSON {
		if err := writeJSON(g.Stdout, report); err != nil {
			return err
		}
	} else {
		printGC(g, report)
	}
	return err
}

func printGC(g *Globals, r *node.GCReport) {
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
