package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/ramboot"
	"github.com/cairnlinux/cairn/internal/store"
)

// SwitchOptions are the options of `cairn switch`.
type SwitchOptions struct {
	Store     StoreOptions
	Permanent bool
	Tries     int
	JSON      bool
	// Now switches the running system (a live trial); Kexec lets it
	// boot another kernel with kexec.
	Now, Kexec bool
}

// Validate checks the options.
func (o *SwitchOptions) Validate() error {
	if o.Tries < 1 {
		return usagef("--tries must be at least 1, not %d", o.Tries)
	}
	if o.Now && o.Permanent {
		return usagef("--now runs the generation as a trial and confirms it by its health checks: it does not go with --permanent")
	}
	if o.Kexec && !o.Now {
		return usagef("--kexec goes with --now")
	}
	return nil
}

func newSwitchCommand(g *Globals) *cobra.Command {
	o := &SwitchOptions{}
	cmd := &cobra.Command{
		Use:   "switch [N] [--permanent]",
		Short: "Make a generation the next boot, as a trial or for good",
		Long: `Make generation N (default: the newest) the next boot. As a trial, it boots
--tries times (once by default) unless confirmed after a good boot; then the
default boots again. With --permanent it becomes the default at once.
Switching to the default cancels a trial.

With --now, on a running node, generation N becomes the running system
without a reboot, as a trial: the root is swapped, the services whose files
or definitions changed restart (cairn says which), its secrets are put in
place and its health checks run. Passed, it is confirmed; failed, the
previous generation is running again by itself. A generation with another
kernel needs a reboot; with --kexec its kernel is started without the
firmware (kexec): the system shuts down, the generation boots as a trial,
and its health checks confirm it or the previous generation boots again.
` + storeExitCodes,
		Args: argsUsage(0, 1, "switch [N]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Validate(); err != nil {
				return err
			}
			return runSwitch(cmd.Context(), o, g, args)
		},
	}
	addStoreFlags(cmd, &o.Store, true)
	f := cmd.Flags()
	f.BoolVar(&o.Permanent, "permanent", false, "make N the default now, without a trial")
	f.IntVar(&o.Tries, "tries", store.DefaultTries, "boots the trial gets before the default boots again")
	f.BoolVar(&o.JSON, "json", false, "print the new state as JSON")
	f.BoolVar(&o.Now, "now", false, "make N the running system now, without a reboot, as a trial confirmed by its health checks")
	f.BoolVar(&o.Kexec, "kexec", false, "with --now: boot a generation with another kernel through kexec")
	return cmd
}

func runSwitch(ctx context.Context, o *SwitchOptions, g *Globals, args []string) error {
	n := 0
	if len(args) == 1 {
		var err error
		if n, err = parseGeneration(args[0]); err != nil {
			return err
		}
	}
	ss, err := lockStore(ctx, g, &o.Store, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	if o.Now {
		req := node.LiveRequest{Generation: n, Kexec: o.Kexec}
		if o.Kexec {
			self, err := os.Executable()
			if err != nil {
				return fmt.Errorf("switch --now --kexec: the cairn binary: %w", err)
			}
			req.KexecReboot = []string{self, "boot", "kexec-reboot"}
		}
		rep, err := ss.Live(ctx, req)
		if perr := printLive(g, o, rep, err); perr != nil && err == nil {
			err = perr
		}
		return err
	}
	rep, err := ss.Switch(node.SwitchRequest{Generation: n, Permanent: o.Permanent, Tries: o.Tries})
	var noTrials *node.NoTrialsError
	if errors.As(err, &noTrials) {
		return asUsage(err)
	}
	if err != nil {
		return err
	}
	return printSwitch(g, o, rep)
}

// printSwitch says what a switch did.
func printSwitch(g *Globals, o *SwitchOptions, rep node.SwitchReport) error {
	if o.JSON {
		return writeJSON(g.Stdout, rep.After)
	}
	n, before, after := rep.Generation, rep.Before, rep.After
	switch {
	case o.Permanent:
		fmt.Fprintf(g.Stdout, "generation %d is the default: it boots from the next boot on\n", n)
	case n == before.Default && before.Trial.Generation != 0:
		fmt.Fprintf(g.Stdout, "generation %d is the default; the trial of generation %d is cancelled\n", n, before.Trial.Generation)
	case n == before.Default:
		fmt.Fprintf(g.Stdout, "generation %d is the default already: nothing to change\n", n)
	default:
		fmt.Fprintf(g.Stdout, "generation %d boots next, as a trial for %s", n, plural(o.Tries, "boot"))
		if after.Default != 0 {
			fmt.Fprintf(g.Stdout, "; unless it is confirmed, generation %d boots again after that\n", after.Default)
		} else {
			fmt.Fprintln(g.Stdout)
			fmt.Fprintf(g.Stderr, "cairn: warning: there is no default generation to fall back to if generation %d fails (cairn switch --permanent %d makes it the default)\n", n, n)
		}
	}
	return nil
}

// RollbackOptions are the options of `cairn rollback`.
type RollbackOptions struct {
	Store StoreOptions
	JSON  bool
}

func newRollbackCommand(g *Globals) *cobra.Command {
	o := &RollbackOptions{}
	cmd := &cobra.Command{
		Use:   "rollback",
		Short: "Make the previous good generation the next boot",
		Long: `Make the newest good generation older than the one the next boot would start
the default, and cancel any trial. Repeated, it walks back through the good
generations (those confirmed after a boot or made default with --permanent).
` + storeExitCodes,
		Args: noArgsUsage("rollback"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if ramNode(cmd) {
				return runRAMRollback(g, &RAMOptions{Media: ramboot.DefaultDir, Cmdline: "/proc/cmdline", JSON: o.JSON})
			}
			return runRollback(cmd.Context(), o, g)
		},
	}
	addStoreFlags(cmd, &o.Store, true)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the new state as JSON")
	return cmd
}

func runRollback(ctx context.Context, o *RollbackOptions, g *Globals) error {
	ss, err := lockStore(ctx, g, &o.Store, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	rep, err := ss.Rollback()
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(g.Stdout, rep.After)
	}
	fmt.Fprintf(g.Stdout, "rolled back: generation %d boots next, as the default (generation %d would have)\n", rep.After.NextBoot, rep.Before.NextBoot)
	return nil
}

// PinOptions are the options of `cairn pin` and `cairn unpin`.
type PinOptions struct {
	Store StoreOptions
	JSON  bool
}

func newPinCommand(g *Globals, pin bool) *cobra.Command {
	o := &PinOptions{}
	name, short, long := "pin", "Keep a generation whatever the retention rules say",
		"Pin generation N: gc never deletes it until it is unpinned.\n"
	if !pin {
		name, short, long = "unpin", "Let the retention rules decide about a generation again",
			"Unpin generation N: gc may delete it again when its rules do not keep it.\n"
	}
	cmd := &cobra.Command{
		Use:   name + " N",
		Short: short,
		Long:  long + storeExitCodes,
		Args:  argsUsage(1, 1, name+" N"),
		RunE: func(cmd *cobra.Command, args []string) error {
			n, err := parseGeneration(args[0])
			if err != nil {
				return err
			}
			return runPin(cmd.Context(), o, g, n, pin)
		},
	}
	addStoreFlags(cmd, &o.Store, true)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the new state as JSON")
	return cmd
}

func runPin(ctx context.Context, o *PinOptions, g *Globals, n int, pin bool) error {
	ss, err := lockStore(ctx, g, &o.Store, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	rep, err := ss.Pin(n, pin)
	if err != nil {
		return err
	}
	if o.JSON {
		return writeJSON(g.Stdout, rep.State)
	}
	switch {
	case rep.Changed:
		fmt.Fprintf(g.Stdout, "generation %d %sned\n", n, map[bool]string{true: "pin", false: "unpin"}[pin])
	case pin:
		fmt.Fprintf(g.Stdout, "generation %d is pinned already\n", n)
	default:
		fmt.Fprintf(g.Stdout, "generation %d is not pinned: nothing to change\n", n)
	}
	return nil
}

// printLive says what a live switch did.
func printLive(g *Globals, o *SwitchOptions, rep node.LiveReport, err error) error {
	if o.JSON {
		return writeJSON(g.Stdout, rep)
	}
	if rep.Generation == 0 {
		return nil
	}
	if rep.Kexec != nil {
		fmt.Fprintf(g.Stdout, "kexec: kernel %s loaded, command line %s\n", rep.Kexec.Kernel, rep.Kexec.Cmdline)
	} else if len(rep.Restarted) > 0 {
		fmt.Fprintf(g.Stdout, "restarted: %s\n", strings.Join(rep.Restarted, ", "))
	} else if rep.From != rep.Generation {
		fmt.Fprintln(g.Stdout, "restarted: none (no service's files or definition changed)")
	}
	if rep.Runlevel {
		fmt.Fprintln(g.Stdout, "runlevels changed: OpenRC started and stopped services to match")
	}
	for _, c := range rep.DeclaredFiles {
		fmt.Fprintf(g.Stdout, "declared file: %s\n", c)
	}
	printChecks(g, rep.Checks)
	if rep.Message != "" && err == nil { // an error says it itself
		fmt.Fprintln(g.Stdout, rep.Message)
	}
	return nil
}
