package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
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

func runFsck(ctx context.Context, o *FsckOptions, g *Globals) error {
	ss, err := lockStore(ctx, g, &o.Store, fsckNone)
	if err != nil {
		return err
	}
	defer ss.close()
	r, fsckErr := ss.Fsck()
	if o.JSON {
		if err := writeJSON(g.Stdout, r); err != nil {
			return err
		}
		return fsckErr
	}
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
		fmt.Fprintf(g.Stdout, "store %s: consistent, nothing to repair\n", r.Store)
	default:
		fmt.Fprintf(g.Stdout, "store %s: consistent (%s repaired)\n", r.Store, plural(repaired, "problem"))
	}
	return fsckErr
}
