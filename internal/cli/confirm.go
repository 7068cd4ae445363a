package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/compose"
	"github.com/cairnlinux/cairn/internal/health"
	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
	"github.com/cairnlinux/cairn/internal/store"
)

// bootedFile is where cairn-init records the generation it booted.
const bootedFile = "/run/cairn/booted"

// bootedGeneration is the generation this machine runs: cairn-init's
// record of this boot, else what the state says booted last.
func bootedGeneration(st store.State) int {
	if n := recordedBoot(); n > 0 {
		return n
	}
	return st.Booted
}

// recordedBoot is the generation cairn-init recorded booting in
// bootedFile; 0 when there is no usable record.
func recordedBoot() int {
	data, err := os.ReadFile(bootedFile)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

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

type confirmReport struct {
	Generation int             `json:"generation"`
	Checks     []health.Result `json:"checks"`
	Confirmed  bool            `json:"confirmed"`
	Message    string          `json:"message"`
	State      store.State     `json:"state"`
}

func runConfirm(ctx context.Context, o *ConfirmOptions, g *Globals) error {
	if o.Boot {
		if _, err := os.Stat(filepath.Join(o.Root, cairninit.RAMMarker)); err == nil {
			return checkRAMSystem(ctx, o, g)
		}
	}
	ss, err := lockStore(ctx, g, &o.Store, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	st, err := ss.s.State()
	if err != nil {
		return err
	}
	rep := confirmReport{Generation: bootedGeneration(st), Checks: []health.Result{}, State: st}
	if rep.Generation == 0 {
		return errors.New("confirm: no generation is recorded as booted: cairn confirm runs on a system cairn-init booted")
	}
	var failed error
	if o.Boot {
		h, err := health.Load(o.Root)
		if err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		rep.Checks = runChecks(ctx, o, g, h)
		if !health.Passed(rep.Checks) {
			fallback := st.Default
			rep.Message = fmt.Sprintf("generation %d failed its health checks and is not confirmed", rep.Generation)
			if rep.Generation == st.Trial.Generation && fallback != 0 {
				rep.Message += fmt.Sprintf(": the next boot falls back to generation %d", fallback)
			}
			failed = errors.New(rep.Message)
		}
	}
	switch {
	case failed != nil:
	case rep.Generation != st.Trial.Generation && rep.Generation != st.Default:
		rep.Message = fmt.Sprintf("generation %d was booted by hand (cairn.gen=%d), neither the trial nor the default: nothing to confirm", rep.Generation, rep.Generation)
	default:
		// The booted generation's kernel is in the boot directory: it
		// just booted from it. Entries that cannot be rewritten (a
		// full boot partition) must not cost the confirmation.
		next, err := changeStateBoot(g, ss.s, func(cur store.State) (store.State, error) { return cur.Confirm(rep.Generation) }, true)
		if err != nil {
			return changeError("confirm", err)
		}
		rep.State, rep.Confirmed = next, true
		rep.Message = fmt.Sprintf("generation %d is confirmed: it is the default and the last good generation", rep.Generation)
	}
	if o.JSON {
		if err := writeJSON(g.Stdout, rep); err != nil {
			return err
		}
	} else if failed == nil {
		fmt.Fprintln(g.Stdout, rep.Message)
	}
	if failed != nil {
		return failed
	}
	return nil
}

// runChecks runs the health checks h and, on a terminal, prints each
// result.
func runChecks(ctx context.Context, o *ConfirmOptions, g *Globals, h compose.Health) []health.Result {
	runner := &health.Runner{OpenRCDir: o.OpenRCDir, Ignore: []string{"cairn-confirm"}, Root: o.Root}
	results := runner.Run(ctx, h)
	if !o.JSON {
		for _, r := range results {
			if r.Passed {
				fmt.Fprintf(g.Stdout, "  ok    %s\n", r.Name)
			} else {
				fmt.Fprintf(g.Stdout, "  FAIL  %s: %s\n", r.Name, r.Detail)
			}
		}
	}
	return results
}

// checkRAMSystem is `cairn confirm --boot` on a system running from RAM
// (an initramfs image, docs/boot.md "RAM systems"): there is no store,
// no trial and nothing to fall back to, so the checks only report; a
// failure makes the exit status non-zero, which OpenRC shows as a
// failed cairn-confirm.
func checkRAMSystem(ctx context.Context, o *ConfirmOptions, g *Globals) error {
	h, err := health.Load(o.Root)
	if err != nil {
		return fmt.Errorf("confirm: %w", err)
	}
	rep := confirmReport{Checks: runChecks(ctx, o, g, h)}
	rep.Message = "this system runs from RAM: its health checks passed (there is no generation to confirm)"
	var failed error
	if !health.Passed(rep.Checks) {
		rep.Message = "this system runs from RAM and failed its health checks (there is nothing to fall back to: the image itself needs fixing)"
		failed = errors.New(rep.Message)
	}
	if o.JSON {
		if err := writeJSON(g.Stdout, rep); err != nil {
			return err
		}
	} else if failed == nil {
		fmt.Fprintln(g.Stdout, rep.Message)
	}
	return failed
}

// StatusOptions are the options of `cairn status`.
type StatusOptions struct {
	Store StoreOptions
	JSON  bool
}

type statusReport struct {
	Store     string      `json:"store"`
	Booted    int         `json:"booted"`
	Default   int         `json:"default"`
	Trial     store.Trial `json:"trial"`
	LastGood  int         `json:"lastGood"`
	NextBoot  int         `json:"nextBoot"`
	LastTrial string      `json:"lastTrial"`
}

func newStatusCommand(g *Globals) *cobra.Command {
	o := &StatusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the booted, default and trial generations and how the last trial went",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := o.Store.open(g)
			if err != nil {
				return err
			}
			st, err := s.State()
			if err != nil {
				return err
			}
			rep := statusReport{Store: s.Dir(), Booted: bootedGeneration(st), Default: st.Default, Trial: st.Trial,
				LastGood: st.LastGood, NextBoot: st.NextBoot(), LastTrial: trialOutcome(st, bootedGeneration(st))}
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
			if st.Trial.Generation != 0 {
				fmt.Fprintf(g.Stdout, "trial:      generation %d, %s left\n", st.Trial.Generation, plural(st.Trial.TriesLeft, "boot"))
			}
			fmt.Fprintf(g.Stdout, "last good:  %s\nnext boot:  %s\nlast trial: %s\n", gen(rep.LastGood), gen(rep.NextBoot), rep.LastTrial)
			return nil
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	cmd.Flags().BoolVar(&o.JSON, "json", false, "print the status as JSON")
	return cmd
}

// trialOutcome says how the last trial went, as far as the state tells.
func trialOutcome(st store.State, booted int) string {
	t := st.Trial
	switch {
	case t.Generation == 0 && st.LastTrial.Outcome == store.TrialFellBack:
		return fmt.Sprintf("generation %d failed: it was tried and not confirmed; generation %d booted instead and is confirmed", st.LastTrial.Generation, st.LastGood)
	case t.Generation == 0 && st.LastTrial.Outcome == store.TrialConfirmed:
		return fmt.Sprintf("generation %d was confirmed", st.LastTrial.Generation)
	case t.Generation == 0 && st.LastGood != 0 && st.LastGood == st.Default:
		return fmt.Sprintf("none pending (generation %d is confirmed good)", st.LastGood)
	case t.Generation == 0:
		return "none pending"
	case t.TriesLeft > 0:
		return fmt.Sprintf("generation %d boots next, on trial", t.Generation)
	case booted == t.Generation:
		return fmt.Sprintf("generation %d is booted on trial, not confirmed yet: unless cairn confirm runs, the next boot falls back to generation %d", t.Generation, st.Default)
	default:
		return fmt.Sprintf("generation %d failed: it was tried and not confirmed, so generation %d booted instead", t.Generation, booted)
	}
}
