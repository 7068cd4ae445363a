package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/store"
)

// DefaultStore is where a running cairn system has its store: cairn-init
// mounts the btrfs top level (subvolid 5), which holds @cairn, there.
// $CAIRN_STORE overrides it, --store overrides both.
const DefaultStore = "/run/cairn/store"

// crashAtEnv names a crash point (store.CrashPoints) at which cairn kills
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

// open opens the store o names, with the crash hook of $CAIRN_CRASH_AT
// installed. Reading needs nothing more; see lockStore for writing.
func (o *StoreOptions) open(g *Globals) (*store.Store, error) {
	dir, implicit := o.Path, false
	if dir == "" {
		dir = g.Getenv("CAIRN_STORE")
	}
	if dir == "" {
		dir, implicit = DefaultStore, true
	}
	hook, err := crashHook(g)
	if err != nil {
		return nil, err
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) && implicit:
		return nil, fmt.Errorf("no store at %s: this is not a running cairn system, or its store is not mounted there (give --store DIR or set CAIRN_STORE)", dir)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store %s: no such directory", dir)
	case err != nil:
		return nil, fmt.Errorf("store: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("store %s: not a directory (--store names the directory holding @cairn)", dir)
	}
	s, err := store.Open(dir)
	if errors.Is(err, store.ErrNotStore) {
		return nil, fmt.Errorf("%s is not a cairn store: it has no @cairn/store.json (--store names the directory holding @cairn)", dir)
	}
	if err != nil {
		return nil, err
	}
	if hook != nil {
		s.SetCrashHook(hook)
	}
	return s, nil
}

// crashHook returns the hook that kills this process at the crash point
// $CAIRN_CRASH_AT names, or nil when it is not set.
func crashHook(g *Globals) (func(string) error, error) {
	point := g.Getenv(crashAtEnv)
	if point == "" {
		return nil, nil
	}
	known := append(store.CrashPoints(), boot.PointFilesWritten, boot.PointConfigWritten)
	if !slices.Contains(known, point) {
		return nil, usagef("%s=%s: no such crash point (known: %s)", crashAtEnv, point, strings.Join(known, ", "))
	}
	return func(at string) error {
		if at != point {
			return nil
		}
		self, err := os.FindProcess(os.Getpid())
		if err == nil {
			err = self.Kill() // SIGKILL: no deferred function, no cleanup runs
		}
		return fmt.Errorf("crash point %s: cairn could not kill itself: %v", at, err)
	}, nil
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

// session is an open store held for writing.
type session struct {
	s      *store.Store
	unlock func()
	// report is what the check on opening found (and repaired).
	report store.Report
}

func (ss *session) close() { ss.unlock() }

// lockStore opens the store, takes its writer lock (waiting, after saying
// so once on standard error, unless --no-wait) and checks it: every
// command that writes repairs what an interrupted cairn left first.
func lockStore(ctx context.Context, g *Globals, o *StoreOptions, mode fsckMode) (*session, error) {
	s, err := o.open(g)
	if err != nil {
		return nil, err
	}
	unlock, err := s.Lock(ctx, false)
	if errors.Is(err, store.ErrLocked) && !o.NoWait {
		fmt.Fprintf(g.Stderr, "cairn: waiting for the store lock held by %s\n", lockHolder(s))
		unlock, err = s.Lock(ctx, true)
	}
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: --no-wait was given; try again when it is done", err)
	}
	if err != nil {
		return nil, err
	}
	ss := &session{s: s, unlock: unlock}
	if mode == fsckNone {
		return ss, nil
	}
	report, err := s.FsckWith(store.FsckOptions{Repair: mode != fsckCheck, Booted: runningGeneration(s)})
	ss.report = report
	if mode == fsckRepair {
		printProblems(g, report.Problems, true)
	}
	if err != nil {
		unlock()
		return nil, fmt.Errorf("%w (the store needs repairs that failed: see cairn fsck)", err)
	}
	return ss, nil
}

// runningStore is where cairn-init leaves the store of the running
// system.
const runningStore = "/run/cairn/store"

// runningGeneration is the generation this machine booted from s, when s
// is the running system's store (cairn-init's record); else 0.
func runningGeneration(s *store.Store) int {
	// Off a booted cairn system (tests, image builds) the first stat
	// fails and nothing more is read.
	running, err := os.Stat(runningStore)
	if err != nil {
		return 0
	}
	if dir, err := os.Stat(s.Dir()); err != nil || !os.SameFile(dir, running) {
		return 0
	}
	return recordedBoot()
}

// lockHolder names the process holding the store's lock, from the pid it
// writes into @cairn/lock.
func lockHolder(s *store.Store) string {
	data, err := os.ReadFile(filepath.Join(s.Dir(), "@cairn", "lock"))
	pid := strings.TrimSpace(string(data))
	if _, aerr := strconv.Atoi(pid); err != nil || aerr != nil {
		return "another cairn"
	}
	return "pid " + pid
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

// changeError explains an error of a change to the store; on a full file
// system the change was not made (the state is replaced whole or not at
// all).
func changeError(what string, err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%s: %w (the file system holding the store is full; nothing was changed: free some space, for example with `cairn gc`, and try again)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// fullHint adds hint to err when a file system was full (ENOSPC,
// EDQUOT): the bare error names a file deep in the tree, not what to do.
func fullHint(err error, hint string) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return fmt.Errorf("%w (%s)", err, hint)
	}
	return err
}

// parseGeneration reads a generation number argument.
func parseGeneration(arg string) (int, error) {
	n, err := strconv.Atoi(arg)
	if err != nil || n <= 0 {
		return 0, usagef("%q is not a generation number (cairn generations lists them)", arg)
	}
	return n, nil
}

// requireGeneration fails with one clear message when n does not exist.
func requireGeneration(s *store.Store, n int) error {
	_, err := s.Get(n)
	if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	gens, lerr := s.Generations()
	if lerr != nil {
		return fmt.Errorf("generation %d does not exist in %s", n, s.Dir())
	}
	if len(gens) == 0 {
		return fmt.Errorf("generation %d does not exist: the store %s has no generations (cairn build makes them)", n, s.Dir())
	}
	nums := make([]int, len(gens))
	for i, gen := range gens {
		nums[i] = gen.Number
	}
	return fmt.Errorf("generation %d does not exist in %s (it has %s)", n, s.Dir(), numberRanges(nums))
}

// numberRanges writes sorted numbers compactly: "1-3, 5, 7-9".
func numberRanges(nums []int) string {
	var parts []string
	for i := 0; i < len(nums); {
		j := i
		for j+1 < len(nums) && nums[j+1] == nums[j]+1 {
			j++
		}
		if j > i {
			parts = append(parts, fmt.Sprintf("%d-%d", nums[i], nums[j]))
		} else {
			parts = append(parts, strconv.Itoa(nums[i]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
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
