package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/snapshots"
)

// SnapshotsOptions are the options of `cairn snapshots`.
type SnapshotsOptions struct {
	Store StoreOptions
	// Root is the system whose schedules count (its
	// /etc/cairn/snapshots.json).
	Root  string
	Due   bool
	Quiet bool
	JSON  bool
}

func newSnapshotsCommand(g *Globals) *cobra.Command {
	o := &SnapshotsOptions{}
	cmd := &cobra.Command{
		Use:   "snapshots [list [PATH]] | take [--due] | restore PATH SNAPSHOT [FILE...]",
		Short: "Snapshots of persistent directories: list, take, restore",
		Long: `Keep read-only btrfs snapshots of the persistent directories the manifest gives
a schedule (snapshots:), in the store's @cairn/snapshots/, apart from the
generations, which they never touch.

  cairn snapshots [list [PATH]]        the snapshots, oldest first
  cairn snapshots take [--due]         take one of every scheduled directory
                                       (--due: only where the newest is older
                                       than its interval; what cron runs), then
                                       prune by the schedule's retention
  cairn snapshots restore PATH SNAP FILE...
                                       copy FILE back from snapshot SNAP of PATH
                                       (the replaced one kept as FILE.before-restore)
  cairn snapshots restore PATH SNAP    the whole directory: the present one is
                                       kept aside, the snapshot's copy is what
                                       the next boot mounts

SNAP is a snapshot's name (its UTC time, 20261206T081500Z) or latest.
` + storeExitCodes,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return runSnapshots(cmd.Context(), o, g, args) },
	}
	addStoreFlags(cmd, &o.Store, true)
	f := cmd.Flags()
	f.StringVar(&o.Root, "root", "/", "the system whose schedules count (its "+snapshots.ConfigPath+")")
	f.BoolVar(&o.Due, "due", false, "take: only the snapshots that are due")
	f.BoolVar(&o.Quiet, "quiet", false, "take: print nothing unless something fails (for cron)")
	f.BoolVar(&o.JSON, "json", false, "print the result as JSON")
	return cmd
}

func runSnapshots(ctx context.Context, o *SnapshotsOptions, g *Globals, args []string) error {
	s, err := o.Store.open(g)
	if err != nil {
		return err
	}
	top := s.Dir()
	st := snapshots.Store{Top: top, PersistDir: func(p string) string { return layout.PersistPath(top, p) }, Escape: layout.EscapePath}
	sched, err := snapshots.ReadConfig(o.Root)
	if err != nil {
		return err
	}
	verb := "list"
	if len(args) > 0 {
		verb, args = args[0], args[1:]
	}
	now := time.Now()
	switch verb {
	case "list":
		paths := args
		if len(paths) == 0 {
			for _, sc := range sched {
				paths = append(paths, sc.Path)
			}
		}
		all := []snapshots.Snapshot{}
		for _, p := range paths {
			l, err := st.List(filepath.Clean(p))
			if err != nil {
				return err
			}
			all = append(all, l...)
		}
		if o.JSON {
			return writeJSON(g.Stdout, all)
		}
		if len(all) == 0 {
			fmt.Fprintln(g.Stdout, "no snapshots")
		}
		for _, sn := range all {
			fmt.Fprintf(g.Stdout, "%-20s %s  %s\n", sn.Path, sn.Name, sn.Time.Local().Format("2006-01-02 15:04:05"))
		}
		return nil
	case "take":
		if len(sched) == 0 {
			return usagef("%s schedules no snapshots (the manifest's snapshots:)", filepath.Join(o.Root, snapshots.ConfigPath))
		}
		ss, err := lockStore(ctx, g, &o.Store, fsckRepairQuiet)
		if err != nil {
			return err
		}
		defer ss.close()
		res, err := st.Take(sched, now, o.Due)
		if o.JSON {
			if jerr := writeJSON(g.Stdout, res); jerr != nil {
				return jerr
			}
		} else if !o.Quiet {
			for _, r := range res {
				if r.Taken != "" {
					fmt.Fprintf(g.Stdout, "%s: took %s\n", r.Path, r.Taken)
				} else {
					fmt.Fprintf(g.Stdout, "%s: %s\n", r.Path, r.Skipped)
				}
				for _, p := range r.Pruned {
					fmt.Fprintf(g.Stdout, "%s: pruned %s\n", r.Path, p.Name)
				}
			}
		}
		return err
	case "restore":
		if len(args) < 2 {
			return usagef("restore takes PATH SNAPSHOT [FILE...]")
		}
		ss, err := lockStore(ctx, g, &o.Store, fsckRepairQuiet)
		if err != nil {
			return err
		}
		defer ss.close()
		sn, err := st.Find(filepath.Clean(args[0]), args[1])
		if err != nil {
			return err
		}
		type restored struct {
			Path     string `json:"path"`
			Snapshot string `json:"snapshot"`
			File     string `json:"file,omitempty"`
			Kept     string `json:"kept,omitempty"`
		}
		var out []restored
		if len(args) == 2 {
			aside, err := st.RestoreAll(sn, now)
			if err != nil {
				return err
			}
			out = append(out, restored{Path: sn.Path, Snapshot: sn.Name, Kept: aside})
			if !o.JSON {
				fmt.Fprintf(g.Stdout, "%s restored from %s; the next boot mounts it (the one replaced is kept as %s)\n", sn.Path, sn.Name, aside)
			}
		}
		for _, f := range args[2:] {
			kept, err := st.RestoreFile(sn, filepath.Clean(f))
			if err != nil {
				return err
			}
			out = append(out, restored{Path: sn.Path, Snapshot: sn.Name, File: f, Kept: kept})
			if !o.JSON {
				msg := fmt.Sprintf("%s restored from snapshot %s of %s", f, sn.Name, sn.Path)
				if kept != "" {
					msg += " (the one replaced is kept as " + filepath.Base(kept) + ")"
				}
				fmt.Fprintln(g.Stdout, msg)
			}
		}
		if o.JSON {
			return writeJSON(g.Stdout, out)
		}
		return nil
	}
	return usagef("snapshots: unknown %q: list, take or restore", verb)
}
