package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/store"
)

// FsckOptions are the options of `cairn fsck`.
type FsckOptions struct {
	Store StoreOptions
	JSON  bool
}

func newFsckCommand(g *Globals) *cobra.Command {
	o := &FsckOptions{}
	cmd := &cobra.Command{
		Use:   "fsck [--json]",
		Short: "Check the store and repair what an interrupted cairn left",
		Long: `Check the store and repair what a crash or a kill can leave: temporary files
of unfinished writes, stale staging trees, generations not read-only, missing
or broken metadata, a state naming missing generations. It never deletes a
generation. Entries cairn does not know are reported and left alone. Every
command that changes the store runs the same check first.

Exit codes:
  0    the store is consistent (perhaps after repairs)
  1    something could not be repaired (the message says what)
  2    bad command line
  5    the store is locked by another cairn and --no-wait was given
  130  cancelled
`,
		Args: noArgsUsage("fsck"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runFsck(cmd.Context(), o, g)
		},
	}
	addStoreFlags(cmd, &o.Store, true)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the report as JSON")
	return cmd
}

// fsckReport is fsck's --json output.
type fsckReport struct {
	Store    string          `json:"store"`
	Backend  string          `json:"backend"`
	Problems []store.Problem `json:"problems"`
	// Consistent is false when a repair failed.
	Consistent bool `json:"consistent"`
}

func runFsck(ctx context.Context, o *FsckOptions, g *Globals) error {
	ss, err := lockStore(ctx, g, &o.Store, fsckNone)
	if err != nil {
		return err
	}
	defer ss.close()
	s := ss.s
	report, fsckErr := s.FsckWith(store.FsckOptions{Repair: true, Booted: runningGeneration(s)})
	r := fsckReport{Store: s.Dir(), Backend: s.Backend(), Problems: report.Problems, Consistent: fsckErr == nil}
	if r.Problems == nil {
		r.Problems = []store.Problem{}
	}
	if o.JSON {
		if err := writeJSON(g.Stdout, r); err != nil {
			return err
		}
	} else {
		for _, p := range r.Problems {
			fmt.Fprintln(g.Stdout, problemLine(p, true))
		}
		repaired := 0
		for _, p := range r.Problems {
			if p.Repaired {
				repaired++
			}
		}
		switch {
		case fsckErr != nil:
		case len(r.Problems) == 0:
			fmt.Fprintf(g.Stdout, "store %s: consistent, nothing to repair\n", s.Dir())
		default:
			fmt.Fprintf(g.Stdout, "store %s: consistent (%s repaired)\n", s.Dir(), plural(repaired, "problem"))
		}
	}
	if fsckErr != nil {
		return fmt.Errorf("store %s is not consistent: %w", s.Dir(), fsckErr)
	}
	return nil
}
