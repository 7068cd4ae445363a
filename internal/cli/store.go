package cli

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

// DefaultStore is where a running cairn system has its store: cairn-init
// mounts the btrfs top level (subvolid 5), which holds @cairn, there.
// $CAIRN_STORE overrides it, --store overrides both.
const DefaultStore = layout.RunStore

// crashAtEnv names a crash point (node.CrashPoints) at which cairn kills
// itself with SIGKILL, for the crash tests.
const crashAtEnv = "CAIRN_CRASH_AT"

// storeExitCodes is the exit code list of the store commands' help.
const storeExitCodes = `
Exit codes:
  0    success
  1    failure (the message says what; nothing was changed unless it says so)
  2    bad command line
  5    the store is locked by another cairn and --no-wait was given
  130  cancelled
`

// StoreOptions select the store a command works on and say whether to
// wait for its lock.
type StoreOptions struct {
	Path   string
	NoWait bool
}

// addStoreFlags adds --store, and --no-wait for commands that write.
func addStoreFlags(cmd *cobra.Command, o *StoreOptions, writes bool) {
	cmd.Flags().StringVar(&o.Path, "store", "", "the store: the `DIR` holding @cairn (default $CAIRN_STORE, else "+DefaultStore+")")
	if writes {
		cmd.Flags().BoolVar(&o.NoWait, "no-wait", false, "fail at once (exit 5) when another cairn holds the store's lock")
	}
}

// node is what o says for the node package: the store (--store, else
// $CAIRN_STORE, else the running system's), the crash hook of
// $CAIRN_CRASH_AT, and where waiting and warnings are said.
func (o *StoreOptions) node(g *Globals) (node.StoreOptions, error) {
	hook, err := crashHook(g)
	if err != nil {
		return node.StoreOptions{}, err
	}
	dir := o.Path
	if dir == "" {
		dir = g.Getenv("CAIRN_STORE")
	}
	return node.StoreOptions{
		Dir:       dir,
		NoWait:    o.NoWait,
		CrashHook: hook,
		Waiting: func(holder string) {
			fmt.Fprintf(g.Stderr, "cairn: waiting for the store lock held by %s\n", holder)
		},
		Warn: func(msg string) { fmt.Fprintf(g.Stderr, "cairn: warning: %s\n", msg) },
	}, nil
}

// open opens the store o names for reading.
func (o *StoreOptions) open(g *Globals) (*store.Store, error) {
	n, err := o.inspect(g)
	if err != nil {
		return nil, err
	}
	return n.Store, nil
}

// inspect opens the node o names for reading.
func (o *StoreOptions) inspect(g *Globals) (*node.Node, error) {
	no, err := o.node(g)
	if err != nil {
		return nil, err
	}
	return node.Inspect(no)
}

// crashHook returns the hook that kills this process at the crash point
// $CAIRN_CRASH_AT names, or nil when it is not set.
func crashHook(g *Globals) (func(string) error, error) {
	point := g.Getenv(crashAtEnv)
	hook, err := node.CrashHook(point)
	if err != nil {
		return nil, usagef("%s=%s: no such crash point (known: %s)", crashAtEnv, point, strings.Join(node.CrashPoints(), ", "))
	}
	return hook, nil
}

// fsckMode says what lockStore does with the store's consistency check.
type fsckMode int

const (
	// fsckRepair repairs and reports the repairs on standard error.
	fsckRepair fsckMode = iota
	// fsckRepairQuiet repairs and leaves the report to the command.
	fsckRepairQuiet
	// fsckCheck only checks (a dry run) and leaves the report to the
	// command.
	fsckCheck
	// fsckNone skips the check (the fsck command runs its own).
	fsckNone
)

// session is an open store held for writing (node.Session).
type session struct {
	*node.Session
	s *store.Store
}

func (ss *session) close() { ss.Close() }

// lockStore opens the store, takes its writer lock (waiting, after saying
// so once on standard error, unless --no-wait) and checks it: every
// command that writes repairs what an interrupted cairn left first.
func lockStore(ctx context.Context, g *Globals, o *StoreOptions, mode fsckMode) (*session, error) {
	no, err := o.node(g)
	if err != nil {
		return nil, err
	}
	switch mode {
	case fsckCheck:
		no.Fsck = node.FsckCheck
	case fsckNone:
		no.Fsck = node.FsckNone
	default:
		no.Fsck = node.FsckRepair
	}
	ns, err := node.Open(ctx, no)
	var repair *node.RepairError
	switch {
	case errors.As(err, &repair) && mode == fsckRepair:
		printProblems(g, repair.Report.Problems, true)
		return nil, err
	case err != nil:
		return nil, err
	case mode == fsckRepair:
		printProblems(g, ns.Checked.Problems, true)
	}
	return &session{Session: ns, s: ns.Store}, nil
}

// printProblems reports what a check found on standard error, one line
// each; repairing says whether it was asked to repair.
func printProblems(g *Globals, problems []store.Problem, repairing bool) {
	for _, p := range problems {
		fmt.Fprintf(g.Stderr, "cairn: fsck: %s\n", problemLine(p, repairing))
	}
}

// problemLine renders a problem: "repaired @cairn/x: what; what was
// done", "left alone ..." for what cairn does not touch, "NOT repaired
// ...; ... failed" when the repair failed, "found ...; repair: ..." for a
// check without repair.
func problemLine(p store.Problem, repairing bool) string {
	switch {
	case p.Repaired:
		return fmt.Sprintf("repaired %s: %s; %s", p.Path, p.Problem, p.Repair)
	case strings.HasPrefix(p.Repair, "none:"):
		return fmt.Sprintf("left alone %s: %s; %s", p.Path, p.Problem, strings.TrimSpace(strings.TrimPrefix(p.Repair, "none:")))
	case repairing:
		return fmt.Sprintf("NOT repaired %s: %s; the repair (%s) failed", p.Path, p.Problem, p.Repair)
	default:
		return fmt.Sprintf("found %s: %s; repair: %s", p.Path, p.Problem, p.Repair)
	}
}

// parseGeneration reads a generation number argument.
func parseGeneration(arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n <= 0 {
		return 0, usagef("%q is not a generation number (cairn generations lists them)", arg)
	}
	return n, nil
}

// argsUsage refuses more than max arguments as a usage error (exit 2).
func argsUsage(min, max int, what string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		switch {
		case len(args) < min:
			return usagef("%s: missing arguments", what)
		case len(args) > max:
			return usagef("%s: too many arguments, got %q", what, args)
		}
		return nil
	}
}
