package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/health"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/ramboot"
)

// ConfirmOptions are the options of `cairn confirm`.
type ConfirmOptions struct {
	Store StoreOptions
	// Boot runs the health checks first: what cairn-confirm does.
	Boot bool
	// Root is the system whose health checks run (its
	// /etc/cairn/health.json); / on a booted system.
	Root      string
	OpenRCDir string
	JSON      bool
}

func newConfirmCommand(g *Globals) *cobra.Command {
	o := &ConfirmOptions{}
	cmd := &cobra.Command{
		Use:   "confirm [--boot]",
		Short: "Confirm the booted generation: a trial becomes the default",
		Long: `Record that the booted generation came up well: a trial becomes the default
and the last good generation. With --boot (what the cairn-confirm service runs
at the end of the boot) the generation's health checks run first, each retried
until its timeout, and OpenRC must report no failed service; if any check
fails, nothing is confirmed and the next boot falls back to the default.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runConfirm(cmd.Context(), o, g) },
	}
	addStoreFlags(cmd, &o.Store, true)
	f := cmd.Flags()
	f.BoolVar(&o.Boot, "boot", false, "run the health checks first (the cairn-confirm service)")
	f.StringVar(&o.Root, "root", "/", "the system whose health checks run")
	f.StringVar(&o.OpenRCDir, "openrc-dir", "/run/openrc", "OpenRC's state directory")
	f.BoolVar(&o.JSON, "json", false, "print the checks and the new state as JSON")
	return cmd
}

func runConfirm(ctx context.Context, o *ConfirmOptions, g *Globals) error {
	req := node.ConfirmRequest{Boot: o.Boot, Root: o.Root, OpenRCDir: o.OpenRCDir}
	var rep node.ConfirmReport
	var err error
	if o.Boot && node.RunsFromRAM(o.Root) {
		rep, err = node.CheckRAMSystem(ctx, req)
		var failed *node.ChecksFailedError
		msg, rerr := confirmRAM(g, o.Root, err == nil)
		if rerr != nil && (err == nil || errors.As(err, &failed)) {
			fmt.Fprintf(g.Stderr, "cairn: the RAM images on the boot media: %v\n", rerr)
		}
		if msg != "" {
			rep.Message = msg
			if errors.As(err, &failed) {
				err = &node.ChecksFailedError{Message: "this system runs from RAM and failed its health checks: " + msg}
			}
		}
	} else {
		ss, lerr := lockStore(ctx, g, &o.Store, fsckRepair)
		if lerr != nil {
			return lerr
		}
		defer ss.close()
		rep, err = ss.Confirm(ctx, req)
	}
	var failed *node.ChecksFailedError
	if o.JSON {
		if err != nil && !errors.As(err, &failed) {
			return err
		}
		if werr := writeJSON(g.Stdout, rep); werr != nil {
			return werr
		}
		return err
	}
	printChecks(g, rep.Checks)
	if err == nil {
		fmt.Fprintln(g.Stdout, rep.Message)
	}
	return err
}

// printChecks prints each health check's result, as the console shows
// them at boot.
func printChecks(g *Globals, checks []health.Result) {
	for _, r := range checks {
		if r.Passed {
			fmt.Fprintf(g.Stdout, "  ok    %s\n", r.Name)
		} else {
			fmt.Fprintf(g.Stdout, "  FAIL  %s: %s\n", r.Name, r.Detail)
		}
	}
}

// StatusOptions are the options of `cairn status`.
type StatusOptions struct {
	Store StoreOptions
	JSON  bool
}

func newStatusCommand(g *Globals) *cobra.Command {
	o := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the booted, default and trial generations and how the last trial went",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ramNode(cmd) {
				return runRAMStatus(g, &RAMOptions{Media: ramboot.DefaultDir, Cmdline: "/proc/cmdline", JSON: o.JSON})
			}
			n, err := o.Store.inspect(g)
			if err != nil {
				return err
			}
			rep, err := n.Status()
			if err != nil {
				return err
			}
			if o.JSON {
				return writeJSON(g.Stdout, rep)
			}
			gen := func(n int) string {
				if n == 0 {
					return "none"
				}
				return fmt.Sprintf("generation %d", n)
			}
			fmt.Fprintf(g.Stdout, "booted:     %s\ndefault:    %s\n", gen(rep.Booted), gen(rep.Default))
			if rep.Trial.Generation != 0 {
				fmt.Fprintf(g.Stdout, "trial:      generation %d, %s left\n", rep.Trial.Generation, plural(rep.Trial.TriesLeft, "boot"))
			}
			fmt.Fprintf(g.Stdout, "last good:  %s\nnext boot:  %s\nlast trial: %s\n", gen(rep.LastGood), gen(rep.NextBoot), rep.LastTrial)
			return nil
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the status as JSON")
	return cmd
}
