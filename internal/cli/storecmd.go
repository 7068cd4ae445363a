package cli

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

func newStoreCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Manage a generation store as a whole",
	}
	cmd.AddCommand(newStoreRemoveCommand(g))
	return cmd
}

// StoreRemoveOptions are the options of `cairn store remove`.
type StoreRemoveOptions struct {
	Dir        string
	DryRun     bool
	Persistent bool
	NoWait     bool
	JSON       bool
}

func newStoreRemoveCommand(g *Globals) *cobra.Command {
	o := &StoreRemoveOptions{}
	cmd := &cobra.Command{
		Use:   "remove DIR",
		Short: "Remove the store in DIR: every generation, sealed ones too",
		Long: `Remove the store in DIR (DIR/@cairn), saying first what goes: every
generation (sealed generations are read-only subvolumes or immutable files,
which rm -rf cannot remove), their metadata and the state, builds an
interruption left, the download cache. DIR itself and anything else in it
stay. The persistent directories of the machines that booted from the store
(@cairn/persist: their /home, /var/log...) go only with --persistent. The
running system's store is refused. --dry-run says what would go.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Dir = args[0]
			return runStoreRemove(cmd, o, g)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&o.DryRun, "dry-run", false, "say what would be removed, remove nothing")
	f.BoolVar(&o.Persistent, "persistent", false, "remove the persistent directories (the machines' data) too")
	f.BoolVar(&o.NoWait, "no-wait", false, "fail at once (exit 5) when another cairn holds the store's lock")
	f.BoolVar(&o.JSON, "json", false, "print what was removed as JSON")
	return cmd
}

func runStoreRemove(cmd *cobra.Command, o *StoreRemoveOptions, g *Globals) error {
	if node.Remains(o.Dir) {
		return removeRemains(o, g)
	}
	ss, err := lockStore(cmd.Context(), g, &StoreOptions{Path: o.Dir, NoWait: o.NoWait}, fsckNone)
	if err != nil {
		return err
	}
	defer ss.close()
	plan, err := ss.PlanRemoval()
	if err != nil {
		return err
	}
	if len(plan.Persistent) > 0 && !o.Persistent {
		return usagef("%w: give --persistent to remove them too (or copy them out first)", &store.PersistentError{Dir: ss.s.Dir(), Paths: plan.Persistent})
	}
	if !o.JSON {
		verb := "removing"
		if o.DryRun {
			verb = "would remove"
		}
		fmt.Fprintf(g.Stdout, "%s the %s store in %s: %s\n", verb, plan.Backend, plan.Dir, describeRemoval(plan))
	}
	if !o.DryRun {
		if err := ss.Remove(o.Persistent); err != nil {
			var pe *store.PersistentError
			if errors.As(err, &pe) {
				return usagef("%w: give --persistent to remove them too", err)
			}
			return err
		}
	}
	if o.JSON {
		return writeJSON(g.Stdout, struct {
			store.Removal
			DryRun bool `json:"dryRun"`
		}{plan, o.DryRun})
	}
	if !o.DryRun {
		fmt.Fprintf(g.Stdout, "removed the store; %s itself stays\n", plan.Dir)
	}
	return nil
}

// describeRemoval says in a sentence what removing a store takes away.
func describeRemoval(r store.Removal) string {
	var parts []string
	switch len(r.Generations) {
	case 0:
		parts = append(parts, "no generations")
	case 1:
		parts = append(parts, "generation "+strconv.Itoa(r.Generations[0]))
	default:
		parts = append(parts, fmt.Sprintf("%d generations (%s)", len(r.Generations), node.NumberRanges(r.Generations)))
	}
	parts = append(parts, "their metadata and the state")
	if r.Staging > 0 {
		parts = append(parts, plural(r.Staging, "leftover")+" of interrupted builds")
	}
	if r.Cache {
		parts = append(parts, "the download cache")
	}
	if len(r.Persistent) > 0 {
		parts = append(parts, "the persistent directories "+strings.Join(r.Persistent, ", "))
	}
	return strings.Join(parts, ", ")
}

// removeRemains removes what node.Remains reports.
func removeRemains(o *StoreRemoveOptions, g *Globals) error {
	root := layout.StorePath(o.Dir)
	verb := "removing"
	if o.DryRun {
		verb = "would remove"
	}
	if !o.JSON {
		fmt.Fprintf(g.Stdout, "%s what is left of a store in %s (it has no store.json): everything in it\n", verb, root)
	}
	if !o.DryRun {
		if err := node.RemoveRemains(o.Dir); err != nil {
			return err
		}
	}
	if o.JSON {
		return writeJSON(g.Stdout, map[string]any{"dir": o.Dir, "remains": true, "dryRun": o.DryRun})
	}
	return nil
}
