package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/deliver"
	"github.com/cairnlinux/cairn/internal/fleet"
	"github.com/cairnlinux/cairn/internal/remote"
	"github.com/cairnlinux/cairn/internal/rollout"
	"github.com/cairnlinux/cairn/internal/store"
)

// RolloutOptions are the options of `cairn rollout`.
type RolloutOptions struct {
	Store       StoreOptions
	File        string
	Key         string
	SSH         string
	RemoteCairn string
	Poll        time.Duration
	JSON        bool
}

const trialExitHelp = `
Exit codes: 0 every node confirmed the generation; 6 a trial failed (the node
fell back, or was not confirmed in time; the generation is recorded as
rejected), or the generation was rejected before; 4 a node refused the
generation (untrusted or tampered); 1 any other failure (an unreachable node
halts the rollout without rejecting the generation).`

func newRolloutCommand(g *Globals) *cobra.Command {
	o := &RolloutOptions{}
	cmd := &cobra.Command{
		Use:   "rollout -f fleet.yaml [N] --key KEY",
		Short: "Take a generation through a fleet in batches, each node on trial, halting at a failure",
		Long: `Roll generation N of this store (default: the newest) out to the nodes of the
fleet file, in its rollout order, batch by batch (rollout.batchSize; at most
rollout.maxUnavailable of a batch on trial at once). For each node: deliver
the generation (only what the node lacks, signed with KEY), wait for a reboot
window, take the node's FleetLock slot (as the node: its own cairn fleetlock
lock), switch to the generation as a trial, reboot, wait until the trial is
confirmed (the node's own health checks) and the fleet file's outside checks
pass, then give the slot back. A trial that falls back or is not confirmed
within rollout.trialTimeout halts the rollout; the node is brought back to its
default, and the generation is recorded as rejected: no rollout offers it
again. Progress is written to the rollout's journal (rollout.state, default
FLEET.rollout.json beside the fleet file) after every step: run the same
command again to resume an interrupted rollout. --json prints each step as a
JSON line and ends with the rollout's record.
` + trialExitHelp,
		Args: argsUsage(0, 1, "rollout -f fleet.yaml [N]"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRollout(cmd.Context(), o, g, args)
		},
	}
	addStoreFlags(cmd, &o.Store, false)
	f := cmd.Flags()
	f.StringVarP(&o.File, "file", "f", "fleet.yaml", "the fleet file")
	f.StringVar(&o.Key, "key", "", "the signing key (cairn key generate)")
	f.StringVar(&o.SSH, "ssh", "", "the ssh command and its options, split at spaces (default: the fleet file's, else ssh)")
	f.StringVar(&o.RemoteCairn, "remote-cairn", "", "the cairn command on the nodes, split at spaces (default: the fleet file's, else cairn)")
	f.DurationVar(&o.Poll, "poll", 5*time.Second, "how often to look at a node on trial")
	f.BoolVar(&o.JSON, "json", false, "print each step and the rollout's record as JSON")
	return cmd
}

// JournalPath is where a fleet file's rollout journal is kept.
func JournalPath(fleetFile string, f *fleet.File) string {
	if f.Rollout.State != "" {
		if filepath.IsAbs(f.Rollout.State) {
			return f.Rollout.State
		}
		return filepath.Join(filepath.Dir(fleetFile), f.Rollout.State)
	}
	return strings.TrimSuffix(fleetFile, filepath.Ext(fleetFile)) + ".rollout.json"
}

func runRollout(ctx context.Context, o *RolloutOptions, g *Globals, args []string) error {
	file, err := fleet.Load(o.File)
	if err != nil {
		return usagef("%v", err)
	}
	if o.Key == "" {
		return usagef("rollout: --key is needed (the key the nodes trust)")
	}
	var sshCmd, cairn []string
	if o.SSH != "" {
		sshCmd = strings.Fields(o.SSH)
	}
	if o.RemoteCairn != "" {
		cairn = strings.Fields(o.RemoteCairn)
	}
	var nodes []fleet.Node
	for _, n := range file.SSHNodes(sshCmd, cairn) {
		nodes = append(nodes, n)
	}
	p, err := prepareGeneration(ctx, g, &o.Store, o.Key, args)
	if err != nil {
		return err
	}
	j, err := rollout.OpenJournal(JournalPath(o.File, file))
	if err != nil {
		return err
	}
	r := &rollout.Rollout{File: file, Nodes: nodes, Prepared: p, Journal: j, Poll: o.Poll, Progress: progressPrinter(g.Stdout, o.JSON)}
	rec, err := r.Run(ctx)
	if o.JSON && rec.TreeDigest != "" {
		if werr := writeJSONLine(g.Stdout, map[string]any{"rollout": rec}); werr != nil {
			return werr
		}
	}
	return trialError(err)
}

// prepareGeneration opens the builder's store and prepares generation
// args[0] (default: the newest) for delivery, signed with keyPath.
func prepareGeneration(ctx context.Context, g *Globals, so *StoreOptions, keyPath string, args []string) (*deliver.Prepared, error) {
	key, err := deliver.LoadPrivateKey(keyPath)
	if err != nil {
		return nil, err
	}
	nd, err := so.inspect(g)
	if err != nil {
		return nil, err
	}
	s := nd.Store
	n := 0
	if len(args) > 0 {
		if n, err = parseGeneration(args[0]); err != nil {
			return nil, err
		}
		if _, err := nd.Generation(n); err != nil {
			return nil, err
		}
	} else {
		gens, err := s.Generations()
		if err != nil {
			return nil, err
		}
		if len(gens) == 0 {
			return nil, fmt.Errorf("the store %s has no generation to roll out: %w", s.Dir(), store.ErrNotFound)
		}
		n = gens[len(gens)-1].Number
	}
	host, _ := os.Hostname()
	return (&deliver.Sender{Store: s, Key: key, Name: host}).Prepare(ctx, n)
}

// trialError maps a rollout's outcome to cairn's exit codes: a failed or
// rejected trial is 6, never a success.
func trialError(err error) error {
	var herr *rollout.HaltedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &herr) && herr.Rejected, errors.Is(err, rollout.ErrRejected):
		return withCode(ExitTrialFailed, err)
	}
	return err
}

// progressPrinter prints a rollout's steps: a line of text each, or a
// JSON object each.
func progressPrinter(w io.Writer, asJSON bool) func(rollout.Event) {
	var mu sync.Mutex
	return func(e rollout.Event) {
		mu.Lock()
		defer mu.Unlock()
		if asJSON {
			writeJSONLine(w, e)
			return
		}
		node := e.Node
		if node == "" {
			node = "-"
		}
		fmt.Fprintf(w, "%s  %-10s %-11s %s\n", e.Time.UTC().Format("15:04:05"), node, e.Phase, e.Message)
	}
}

func writeJSONLine(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// pushTrial is `cairn push --trial`: a rollout of one node, its journal
// kept in memory.
func pushTrial(ctx context.Context, o *PushOptions, g *Globals, addr remote.SSH, p *deliver.Prepared) error {
	spec := fleet.NodeSpec{Name: addr.Host, Address: addr.String(), Group: o.LockGroup, LockID: o.LockID}
	if spec.LockID == "" {
		spec.LockID = addr.Host
	}
	file := &fleet.File{APIVersion: "cairn/v1", Kind: "Fleet", FleetLock: o.FleetLock, Nodes: []fleet.NodeSpec{spec},
		Rollout: fleet.RolloutSpec{TrialTimeout: o.Wait.String(), Reboot: strings.Fields(o.Reboot)}}
	if o.Wait == 0 {
		file.Rollout.TrialTimeout = ""
	}
	if err := file.Check(); err != nil {
		return usagef("push: %v", err)
	}
	node := file.SSHNodes(strings.Fields(o.SSH), strings.Fields(o.RemoteCairn))[0]
	node.Addr = addr
	j, _ := rollout.OpenJournal("")
	r := &rollout.Rollout{File: file, Nodes: []fleet.Node{node}, Prepared: p, Journal: j, NoWait: o.Wait == 0,
		Poll: min(5*time.Second, max(o.Wait/20, 100*time.Millisecond)), Progress: progressPrinter(g.Stdout, o.JSON)}
	rec, err := r.Run(ctx)
	if o.JSON && rec.TreeDigest != "" {
		if werr := writeJSONLine(g.Stdout, map[string]any{"rollout": rec}); werr != nil {
			return werr
		}
	}
	var herr *rollout.HaltedError
	if errors.As(err, &herr) && herr.Rejected {
		// One node, no journal: nothing is recorded as rejected.
		return withCode(ExitTrialFailed, fmt.Errorf("the trial of generation %d on %s failed: %s", rec.Generation, addr.Host, herr.Reason))
	}
	if err == nil && o.Wait == 0 && len(rec.Nodes) == 1 && rec.Nodes[0].Phase == rollout.PhaseRebooting && !o.JSON {
		fmt.Fprintf(g.Stdout, "%s reboots into generation %d on trial; cairn fleet status (or push --wait) shows how it ends\n", addr.Host, rec.Nodes[0].Generation)
	}
	return trialError(err)
}
