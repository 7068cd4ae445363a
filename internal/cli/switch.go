package cli

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/store"
)

// stateReport is the --json output of the commands that change the
// state: the new state, and what the next boot starts.
type stateReport struct {
	Store string `json:"store"`
	store.State
	NextBoot int `json:"nextBoot"`
}

func writeState(g *Globals, s *store.Store, st store.State) error {
	return writeJSON(g.Stdout, stateReport{Store: s.Dir(), State: st, NextBoot: st.NextBoot()})
}

// SwitchOptions are the options of `cairn switch`.
type SwitchOptions struct {
	Store     StoreOptions
	Permanent bool
	Tries     int
	JSON      bool
}

// Validate checks the options.
func (o *SwitchOptions) Validate() error {
	if o.Tries < 1 {
		return usagef("--tries must be at least 1, not %d", o.Tries)
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
	s := ss.s
	if n == 0 {
		if n, err = newestGeneration(s); err != nil {
			return fmt.Errorf("switch: %w", err)
		}
	} else if err := requireGeneration(s, n); err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	before, err := s.State()
	if err != nil {
		return fmt.Errorf("switch: %w", err)
	}
	if !o.Permanent {
		if cfg, err := boot.LoadConfig(s); err == nil && cfg != nil && cfg.Mkinitfs() {
			return usagef("switch: a trial boot needs cairn-init, and this store boots with mkinitfs images (cairn boot setup --initramfs mkinitfs): "+
				"use cairn switch --permanent %d, or try it once from the loader menu's entry cairn-%d", n, n)
		}
	}
	after := before
	if changes := o.Permanent || n != before.Default || before.Trial.Generation != 0; changes {
		after, err = changeState(g, s, func(st store.State) (store.State, error) {
			if o.Permanent {
				return st.SwitchPermanent(n)
			}
			return st.Switch(n, o.Tries)
		})
		if err != nil {
			return changeError(fmt.Sprintf("switch to generation %d", n), err)
		}
	}
	if o.JSON {
		return writeState(g, s, after)
	}
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

// newestGeneration finds the newest generation without reading every
// generation's metadata: numbers are never reused, so it is the highest
// present at or below the last number sealed (which the check on opening
// keeps at least as high as the newest).
func newestGeneration(s *store.Store) (int, error) {
	st, err := s.State()
	if err != nil {
		return 0, err
	}
	for n := st.LastSealed; n > 0; n-- {
		_, err := s.Get(n)
		if err == nil {
			return n, nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return 0, err
		}
	}
	return 0, fmt.Errorf("the store %s has no generations (cairn build makes them)", s.Dir())
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
	before, err := ss.s.State()
	if err != nil {
		return fmt.Errorf("rollback: %w", err)
	}
	after, err := changeState(g, ss.s, func(st store.State) (store.State, error) { return st.Rollback() })
	if errors.Is(err, store.ErrNoRollback) {
		good := "none"
		if len(before.Good) > 0 {
			good = numberRanges(before.Good)
		}
		return fmt.Errorf("%w (good generations: %s; cairn switch N picks any generation)", err, good)
	}
	if err != nil {
		return changeError("rollback", err)
	}
	if o.JSON {
		return writeState(g, ss.s, after)
	}
	fmt.Fprintf(g.Stdout, "rolled back: generation %d boots next, as the default (generation %d would have)\n", after.NextBoot(), before.NextBoot())
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
	verb := map[bool]string{true: "pin", false: "unpin"}[pin]
	ss, err := lockStore(ctx, g, &o.Store, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	s := ss.s
	if err := requireGeneration(s, n); err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	st, err := s.State()
	if err != nil {
		return fmt.Errorf("%s: %w", verb, err)
	}
	pinned := slices.Contains(st.Pinned, n)
	msg := ""
	switch {
	case pin && pinned:
		msg = fmt.Sprintf("generation %d is pinned already", n)
	case !pin && !pinned:
		msg = fmt.Sprintf("generation %d is not pinned: nothing to change", n)
	default:
		st, err = s.UpdateState(func(st store.State) (store.State, error) {
			if pin {
				return st.Pin(n), nil
			}
			return st.Unpin(n), nil
		})
		if err != nil {
			return changeError(fmt.Sprintf("%s generation %d", verb, n), err)
		}
		msg = fmt.Sprintf("generation %d %sned", n, verb)
	}
	if o.JSON {
		return writeState(g, s, st)
	}
	fmt.Fprintln(g.Stdout, msg)
	return nil
}
