package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/cairnlinux/cairn/internal/deliver"
	"github.com/cairnlinux/cairn/internal/fleet"
	"github.com/cairnlinux/cairn/internal/store"
)

// ErrRejected is returned for a generation a failed trial rejected.
var ErrRejected = errors.New("the generation was rejected by a failed trial")

// HaltedError says the rollout halted, and why.
type HaltedError struct {
	Node   string
	Reason string
	// Rejected is set when a failed trial rejected the generation (a
	// node that could not be reached halts without rejecting).
	Rejected bool
	// Recorded says the rejection is in a journal (not for a single
	// node's trial, whose journal is kept in memory).
	Recorded bool
	// Cause is the error behind Reason, when there is one (a delivery
	// the node refused: deliver's verification errors).
	Cause error
}

func (e *HaltedError) Unwrap() error { return e.Cause }

func (e *HaltedError) Error() string {
	if e.Rejected && e.Recorded {
		return fmt.Sprintf("rollout halted: %s: %s; the generation is recorded as rejected", e.Node, e.Reason)
	}
	if e.Rejected {
		return fmt.Sprintf("%s: the trial failed: %s", e.Node, e.Reason)
	}
	return fmt.Sprintf("rollout halted: %s: %s (run the rollout again to resume)", e.Node, e.Reason)
}

// Event is one step of a rollout, for progress reports.
type Event struct {
	Time    time.Time `json:"time"`
	Node    string    `json:"node,omitempty"`
	Phase   string    `json:"phase"`
	Message string    `json:"message"`
}

// Rollout takes one prepared generation through a fleet.
type Rollout struct {
	File     *fleet.File
	Nodes    []fleet.Node // one per File.Nodes, in the file's order
	Prepared *deliver.Prepared
	Journal  *Journal
	// Progress receives every step (may be nil).
	Progress func(Event)
	// Poll is the pause between two looks at a node during its trial,
	// and between two tries of a slot (default 5s).
	Poll time.Duration
	// Now and Sleep stand in for the clock in tests of reboot windows.
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	HTTP  *http.Client
	// NoWait ends each node's part once it reboots into its trial,
	// without waiting for the outcome (the rollout stays unfinished: run
	// it again to wait).
	NoWait bool
}

func (r *Rollout) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now().UTC()
}

func (r *Rollout) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *Rollout) poll() time.Duration {
	if r.Poll > 0 {
		return r.Poll
	}
	return 5 * time.Second
}

func (r *Rollout) emit(node, phase, format string, a ...any) {
	if r.Progress != nil {
		r.Progress(Event{Time: r.now(), Node: node, Phase: phase, Message: fmt.Sprintf(format, a...)})
	}
}

// Run runs the rollout, or resumes the journal's unfinished rollout of
// the same generation. It returns the rollout's record; a halted
// rollout's error is a *HaltedError.
func (r *Rollout) Run(ctx context.Context) (Record, error) {
	h := r.Prepared.Header()
	if rej, ok := r.Journal.Rejected(h.TreeDigest); ok {
		return Record{}, fmt.Errorf("generation %d (%s): %w on %s at %s: %s", h.Generation, short(h.TreeDigest), ErrRejected, rej.Node, rej.At.Format(time.RFC3339), rej.Reason)
	}
	rec, err := r.record(h)
	if err != nil {
		return Record{}, err
	}
	byName := map[string]fleet.Node{}
	for i, n := range r.Nodes {
		byName[r.File.Nodes[i].Name] = n
	}
	specs := map[string]fleet.NodeSpec{}
	for _, s := range r.File.Nodes {
		specs[s.Name] = s
	}
	spec := r.File.Rollout
	var todo []*NodeRecord
	for _, n := range rec.Nodes {
		if n.Phase != PhaseDone {
			todo = append(todo, n)
		}
	}
	for len(todo) > 0 && !r.NoWait {
		batch := todo[:min(spec.BatchSize, len(todo))]
		todo = todo[len(batch):]
		names := make([]string, len(batch))
		for i, n := range batch {
			names[i] = n.Name
		}
		if len(rec.Nodes) > 1 {
			r.emit("", "batch", "batch: %s", strings.Join(names, ", "))
		}
		if herr := r.runBatch(ctx, rec, batch, byName, specs); herr != nil {
			return r.finish(rec, herr)
		}
		if err := ctx.Err(); err != nil {
			return r.Journal.snapshot(rec), err
		}
	}
	if r.NoWait {
		for _, n := range rec.Nodes {
			if n.Phase != PhaseDone {
				if herr := r.runBatch(ctx, rec, []*NodeRecord{n}, byName, specs); herr != nil {
					return r.finish(rec, herr)
				}
			}
		}
		return r.Journal.snapshot(rec), nil
	}
	return r.finish(rec, nil)
}

// record returns the journal's unfinished rollout of this generation, or
// starts a new one.
func (r *Rollout) record(h deliver.Header) (*Record, error) {
	last := r.Journal.Last()
	if last != nil && last.Status == StatusRunning && last.TreeDigest != h.TreeDigest {
		return nil, fmt.Errorf("the rollout of generation %d (%s), begun %s, is unfinished: run it again to resume it, or move %s away to abandon it",
			last.Generation, short(last.TreeDigest), last.Started.Format(time.RFC3339), r.Journal.Path())
	}
	seq := r.File.Sequence()
	var rec *Record
	resumed := last != nil && last.Status == StatusRunning
	err := r.Journal.update(func(d *journalData) {
		if resumed {
			rec = last
		} else {
			rec = &Record{Generation: h.Generation, TreeDigest: h.TreeDigest, Description: h.Meta.Description, Status: StatusRunning, Started: r.now()}
			d.Rollouts = append(d.Rollouts, rec)
		}
		// The fleet file may have changed since: its nodes, in its
		// order, keep what they had done.
		had := rec.Nodes
		rec.Nodes = nil
		for _, s := range seq {
			i := slices.IndexFunc(had, func(n *NodeRecord) bool { return n.Name == s.Name })
			if i >= 0 {
				rec.Nodes = append(rec.Nodes, had[i])
			} else {
				rec.Nodes = append(rec.Nodes, &NodeRecord{Name: s.Name, Phase: PhasePending, Updated: r.now()})
			}
		}
	})
	if err != nil {
		return nil, err
	}
	if resumed {
		r.emit("", "resume", "resuming the rollout of generation %d begun %s", rec.Generation, rec.Started.Format(time.RFC3339))
	} else {
		r.emit("", "start", "rolling out generation %d (%s, %s) to %s, %d at a time", rec.Generation, rec.Description, short(rec.TreeDigest), nodesText(len(rec.Nodes)), r.File.Rollout.BatchSize)
	}
	return rec, nil
}

func (r *Rollout) finish(rec *Record, herr *HaltedError) (Record, error) {
	status, reason := StatusDone, ""
	if herr != nil {
		status, reason = StatusHalted, herr.Node+": "+herr.Reason
	}
	err := r.Journal.update(func(d *journalData) {
		rec.Status, rec.Reason, rec.Ended = status, reason, r.now()
		if herr != nil && herr.Rejected {
			d.Rejected = append(d.Rejected, Rejection{TreeDigest: rec.TreeDigest, Generation: rec.Generation, Description: rec.Description,
				Node: herr.Node, Reason: herr.Reason, At: r.now()})
		}
	})
	if err != nil {
		return r.Journal.snapshot(rec), err
	}
	if herr != nil {
		herr.Recorded = herr.Rejected && r.Journal.Path() != ""
		r.emit(herr.Node, "halted", "%s", herr.Error())
		return r.Journal.snapshot(rec), herr
	}
	r.emit("", "done", "generation %d (%s) runs on every node", rec.Generation, rec.Description)
	return r.Journal.snapshot(rec), nil
}

// runBatch runs a batch's nodes, at most MaxUnavailable of them on trial
// at once. It returns why the rollout halts, if it does.
func (r *Rollout) runBatch(ctx context.Context, rec *Record, batch []*NodeRecord, nodes map[string]fleet.Node, specs map[string]fleet.NodeSpec) *HaltedError {
	bctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, r.File.Rollout.MaxUnavailable)
	var (
		mu    sync.Mutex
		first *HaltedError
		wg    sync.WaitGroup
	)
	for _, nr := range batch {
		wg.Go(func() {
			herr := r.runNode(bctx, sem, nr, nodes[nr.Name], specs[nr.Name])
			if herr == nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if first == nil || (herr.Rejected && !first.Rejected) {
				first = herr
			}
			if r.File.Rollout.OnFailure == fleet.OnFailureHaltNow {
				cancel()
			}
		})
	}
	wg.Wait()
	return first
}

// set records a node's progress.
func (r *Rollout) set(nr *NodeRecord, change func(*NodeRecord)) error {
	return r.Journal.update(func(*journalData) {
		change(nr)
		nr.Updated = r.now()
	})
}

// runNode takes one node from where its record stands to done, or says
// why the rollout halts.
func (r *Rollout) runNode(ctx context.Context, sem chan struct{}, nr *NodeRecord, node fleet.Node, spec fleet.NodeSpec) *HaltedError {
	fail := func(reason string, trial bool) *HaltedError {
		if ctx.Err() != nil {
			return nil // interrupted: the journal says where it stood
		}
		r.set(nr, func(n *NodeRecord) {
			n.Error = reason
			if trial {
				n.Phase, n.Outcome = PhaseFailed, "failed"
			}
		})
		r.emit(nr.Name, PhaseFailed, "%s", reason)
		return &HaltedError{Node: nr.Name, Reason: reason, Rejected: trial}
	}
	if nr.Phase == PhaseFailed {
		return &HaltedError{Node: nr.Name, Reason: nr.Error, Rejected: true}
	}
	if nr.Phase == PhasePending {
		st, err := node.Status(ctx)
		if err != nil {
			return fail(fmt.Sprintf("cannot read the node: %v", err), false)
		}
		d, err := node.Deliver(ctx, r.Prepared)
		if err != nil {
			herr := fail(fmt.Sprintf("delivery: %v", err), false)
			if herr != nil {
				herr.Cause = err
			}
			return herr
		}
		gen := d.Generation
		if st.LastTrial.Generation == gen && st.LastTrial.Outcome == store.TrialFellBack {
			return fail(fmt.Sprintf("the node holds this generation as %d, whose trial fell back before", gen), true)
		}
		phase := PhaseDelivered
		if st.Booted == gen && st.Default == gen {
			phase = PhaseDone
		}
		r.set(nr, func(n *NodeRecord) {
			n.Phase, n.Generation, n.Method, n.BytesOnWire = phase, gen, d.Method, d.BytesSent+d.BytesReceived
		})
		if phase == PhaseDone {
			r.emit(nr.Name, PhaseDone, "already runs it as generation %d", gen)
			return nil
		}
		r.emit(nr.Name, PhaseDelivered, "delivered as generation %d: %s, %s on the wire", gen, d.Method, bytesText(nr.BytesOnWire))
	}
	select {
	case sem <- struct{}{}:
		defer func() { <-sem }()
	case <-ctx.Done():
		return nil
	}
	gen := nr.Generation
	if nr.Phase == PhaseDelivered {
		if err := r.waitWindow(ctx, nr.Name); err != nil {
			return nil
		}
		if err := r.slot(ctx, node, nr.Name, spec, true); err != nil {
			return nil
		}
		if err := r.set(nr, func(n *NodeRecord) { n.Phase = PhaseSlot }); err != nil {
			return fail(err.Error(), false)
		}
	}
	if nr.Phase == PhaseSlot {
		if err := node.SwitchTrial(ctx, gen); err != nil {
			return fail(fmt.Sprintf("switch to %d as a trial: %v", gen, err), false)
		}
		// Recorded before the reboot, so that a resumed rollout waits
		// for this boot instead of rebooting the node again.
		if err := r.set(nr, func(n *NodeRecord) { n.Phase = PhaseRebooting }); err != nil {
			return fail(err.Error(), false)
		}
		r.emit(nr.Name, PhaseRebooting, "rebooting into generation %d on trial", gen)
		if err := node.Reboot(ctx); err != nil {
			return fail(fmt.Sprintf("reboot: %v", err), false)
		}
		if r.NoWait {
			return nil
		}
	}
	if nr.Phase == PhaseRebooting {
		outcome, st, err := r.waitTrial(ctx, node, gen)
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case outcome == store.TrialConfirmed:
			if reason := r.outsideChecks(ctx, spec); reason != "" {
				r.emit(nr.Name, "rollback", "%s: rolling the node back", reason)
				if err := r.rollBack(ctx, node, gen); err != nil {
					return fail(fmt.Sprintf("%s; rolling back: %v (the node keeps its reboot slot)", reason, err), true)
				}
				r.slot(ctx, node, nr.Name, spec, false)
				return fail(reason+"; the node was rolled back", true)
			}
			r.set(nr, func(n *NodeRecord) { n.Phase, n.Outcome = PhaseConfirmed, store.TrialConfirmed })
			r.emit(nr.Name, PhaseConfirmed, "generation %d confirmed", gen)
		case outcome == store.TrialFellBack:
			r.slot(ctx, node, nr.Name, spec, false)
			return fail(fmt.Sprintf("the trial of generation %d fell back to %d", gen, st.Default), true)
		case err == nil && st.Booted == gen:
			// Up on the trial but never confirmed: its health checks
			// failed. Its next boot falls back; the rollout makes it
			// now, so that the node runs its good generation again.
			reason := fmt.Sprintf("generation %d booted but was not confirmed within %s (its health checks failed)", gen, r.File.Rollout.TrialTimeoutDuration())
			r.emit(nr.Name, "fallback", "%s: rebooting into the default", reason)
			if err := node.Reboot(ctx); err == nil {
				if o, st2, _ := r.waitTrial(ctx, node, gen); o == store.TrialFellBack {
					r.slot(ctx, node, nr.Name, spec, false)
					return fail(fmt.Sprintf("%s; it fell back to %d", reason, st2.Default), true)
				}
			}
			return fail(reason+"; it did not come back on its default (the node keeps its reboot slot)", true)
		default:
			why := "it did not come back"
			if err != nil {
				why += ": " + err.Error()
			}
			return fail(fmt.Sprintf("generation %d: no outcome within %s: %s (the node keeps its reboot slot)", gen, r.File.Rollout.TrialTimeoutDuration(), why), true)
		}
	}
	if nr.Phase == PhaseConfirmed {
		if err := r.slot(ctx, node, nr.Name, spec, false); err != nil {
			return nil
		}
		r.set(nr, func(n *NodeRecord) { n.Phase = PhaseDone })
		r.emit(nr.Name, PhaseDone, "runs generation %d; reboot slot given back", gen)
	}
	return nil
}

// waitTrial polls the node until its last trial names gen (confirmed or
// fell back), or the trial timeout. It returns the last status read.
func (r *Rollout) waitTrial(ctx context.Context, node fleet.Node, gen int) (string, fleet.NodeStatus, error) {
	deadline := r.now().Add(r.File.Rollout.TrialTimeoutDuration())
	var (
		st  fleet.NodeStatus
		err error
	)
	for {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		st, err = node.Status(sctx)
		cancel()
		if err == nil && st.LastTrial.Generation == gen && (st.Trial.Generation != gen || st.Trial.TriesLeft == 0) {
			return st.LastTrial.Outcome, st, nil
		}
		if ctx.Err() != nil || !r.now().Before(deadline) {
			return "", st, err
		}
		if r.sleep(ctx, r.poll()) != nil {
			return "", st, err
		}
	}
}

// rollBack makes a node that confirmed gen go back to its previous good
// generation (cairn rollback) and reboots it, waiting until it runs
// another generation.
func (r *Rollout) rollBack(ctx context.Context, node fleet.Node, gen int) error {
	if err := node.Rollback(ctx); err != nil {
		return err
	}
	if err := node.Reboot(ctx); err != nil {
		return err
	}
	deadline := r.now().Add(r.File.Rollout.TrialTimeoutDuration())
	for {
		st, err := node.Status(ctx)
		if err == nil && st.Booted != gen && st.Booted != 0 {
			return nil
		}
		if !r.now().Before(deadline) {
			return fmt.Errorf("still on generation %d after %s", gen, r.File.Rollout.TrialTimeoutDuration())
		}
		if err := r.sleep(ctx, r.poll()); err != nil {
			return err
		}
	}
}

// slot takes or gives back a node's reboot slot, as the node, trying
// again until the server grants it (its slots full, or its store such as
// etcd unreachable, are reasons to wait, not to fail). Without a
// FleetLock server there are no slots.
func (r *Rollout) slot(ctx context.Context, node fleet.Node, name string, spec fleet.NodeSpec, take bool) error {
	if r.File.FleetLock == "" {
		return nil
	}
	what := map[bool]string{true: "take", false: "give back"}[take]
	said := false
	for {
		err := node.Slot(ctx, r.File.FleetLock, take)
		if err == nil {
			if take {
				r.emit(name, PhaseSlot, "holds a reboot slot of group %s", spec.Group)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !said {
			r.emit(name, "waiting", "waiting to %s its reboot slot: %v", what, err)
			said = true
		}
		if err := r.sleep(ctx, r.poll()); err != nil {
			return err
		}
	}
}

// waitWindow waits for a reboot window.
func (r *Rollout) waitWindow(ctx context.Context, name string) error {
	now := r.now()
	next := r.File.Rollout.NextReboot(now)
	if !next.After(now) {
		return nil
	}
	r.emit(name, "waiting", "waiting for the reboot window at %s", next.Format(time.RFC3339))
	return r.sleep(ctx, next.Sub(now))
}

func nodesText(n int) string {
	if n == 1 {
		return "1 node"
	}
	return fmt.Sprintf("%d nodes", n)
}

func short(digest string) string {
	if len(digest) > 12 {
		return digest[:12]
	}
	return digest
}

func bytesText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
