package node

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cairnlinux/cairn/internal/health"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// ConfirmRequest says how to confirm the booted generation.
type ConfirmRequest struct {
	// Boot runs the health checks first: what the cairn-confirm
	// service does at the end of a boot.
	Boot bool
	// Root is the system whose health checks run (its
	// layout.HealthFile); / on a booted system.
	Root string
	// OpenRCDir is OpenRC's state directory (/run/openrc).
	OpenRCDir string
}

func (r ConfirmRequest) root() string {
	if r.Root == "" {
		return "/"
	}
	return r.Root
}

// ConfirmReport is what Confirm (or CheckRAMSystem) did.
type ConfirmReport struct {
	Generation int             `json:"generation"`
	Checks     []health.Result `json:"checks"`
	Confirmed  bool            `json:"confirmed"`
	Message    string          `json:"message"`
	State      store.State     `json:"state"`
}

// Confirm records that the booted generation came up well: a trial
// becomes the default and the last good generation. With req.Boot the
// generation's health checks run first; if one fails, nothing is
// confirmed (the next boot falls back to the default) and the error is a
// ChecksFailedError, returned with the report of the checks. A
// generation booted by hand (cairn.gen=N), neither the trial nor the
// default, is not confirmed. With another error, the report says which
// checks ran.
func (ss *Session) Confirm(ctx context.Context, req ConfirmRequest) (ConfirmReport, error) {
	st, err := ss.Store.State()
	if err != nil {
		return ConfirmReport{}, err
	}
	rep := ConfirmReport{Generation: ss.Booted(st), Checks: []health.Result{}, State: st}
	if rep.Generation == 0 {
		return ConfirmReport{}, errors.New("confirm: no generation is recorded as booted: cairn confirm runs on a system cairn-init booted")
	}
	var failed error
	if req.Boot {
		h, err := layout.ReadHealth(req.root())
		if err != nil {
			return ConfirmReport{}, fmt.Errorf("confirm: %w", err)
		}
		rep.Checks = runChecks(ctx, req, h)
		if !health.Passed(rep.Checks) {
			fallback := st.Default
			rep.Message = fmt.Sprintf("generation %d failed its health checks and is not confirmed", rep.Generation)
			if rep.Generation == st.Trial.Generation && fallback != 0 {
				rep.Message += fmt.Sprintf(": the next boot falls back to generation %d", fallback)
			}
			failed = &ChecksFailedError{Message: rep.Message}
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
		next, err := ss.changeStateBoot(func(cur store.State) (store.State, error) { return cur.Confirm(rep.Generation) }, true)
		if err != nil {
			return rep, changeError("confirm", err)
		}
		rep.State, rep.Confirmed = next, true
		rep.Message = fmt.Sprintf("generation %d is confirmed: it is the default and the last good generation", rep.Generation)
	}
	return rep, failed
}

func runChecks(ctx context.Context, req ConfirmRequest, h layout.Health) []health.Result {
	runner := &health.Runner{OpenRCDir: req.OpenRCDir, Ignore: []string{"cairn-confirm"}, Root: req.Root}
	return runner.Run(ctx, h)
}

// RunsFromRAM reports whether the system rooted at root runs from RAM (an
// initramfs image, docs/boot.md "RAM systems"): it has no store.
func RunsFromRAM(root string) bool {
	_, err := os.Stat(layout.InTree(root, layout.RAMMarker))
	return err == nil
}

// CheckRAMSystem is Confirm with req.Boot on a system running from RAM
// (RunsFromRAM): there is no store, no trial and nothing to fall back
// to, so the checks only report; a failure is a ChecksFailedError, which
// OpenRC shows as a failed cairn-confirm.
func CheckRAMSystem(ctx context.Context, req ConfirmRequest) (ConfirmReport, error) {
	h, err := layout.ReadHealth(req.root())
	if err != nil {
		return ConfirmReport{}, fmt.Errorf("confirm: %w", err)
	}
	rep := ConfirmReport{Checks: runChecks(ctx, req, h)}
	rep.Message = "this system runs from RAM: its health checks passed (there is no generation to confirm)"
	if !health.Passed(rep.Checks) {
		rep.Message = "this system runs from RAM and failed its health checks (there is nothing to fall back to: the image itself needs fixing)"
		return rep, &ChecksFailedError{Message: rep.Message}
	}
	return rep, nil
}

// Status is what boots: the booted, default and trial generations, and
// how the last trial went.
type Status struct {
	Store     string      `json:"store"`
	Booted    int         `json:"booted"`
	Default   int         `json:"default"`
	Trial     store.Trial `json:"trial"`
	LastGood  int         `json:"lastGood"`
	NextBoot  int         `json:"nextBoot"`
	LastTrial string      `json:"lastTrial"`
}

// Status says what boots.
func (n *Node) Status() (Status, error) {
	st, err := n.Store.State()
	if err != nil {
		return Status{}, err
	}
	booted := n.Booted(st)
	return Status{Store: n.Store.Dir(), Booted: booted, Default: st.Default, Trial: st.Trial,
		LastGood: st.LastGood, NextBoot: st.NextBoot(), LastTrial: trialOutcome(st, booted)}, nil
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
