package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/cairnlinux/cairn/internal/store"
)

// crashEnv names a crash point (store.CrashPoints) at which cairn kills
// itself with SIGKILL: the crash tests' hook.
const crashEnv = "CAIRN_CRASH_AT"

// openStoreToWrite opens the store in dir, takes its writer lock (waiting
// for it, with a message, unless noWait) and repairs what an interrupted
// run left (fsck). The caller calls unlock when done.
func openStoreToWrite(ctx context.Context, g *Globals, dir string, noWait bool) (*store.Store, func(), error) {
	st, err := store.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	if point := g.Getenv(crashEnv); point != "" {
		st.SetCrashHook(func(p string) error {
			if p == point {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal arrives
			}
			return nil
		})
	}
	unlock, err := st.Lock(ctx, false)
	if errors.Is(err, store.ErrLocked) {
		if noWait {
			return nil, nil, withCode(ExitFailure, err)
		}
		fmt.Fprintf(g.Stderr, "%v; waiting for it\n", err)
		unlock, err = st.Lock(ctx, true)
	}
	if err != nil {
		return nil, nil, err
	}
	rep, err := st.Fsck(true)
	if err != nil {
		unlock()
		return nil, nil, err
	}
	for _, p := range rep.Problems {
		state := "repaired"
		if !p.Repaired {
			state = "NOT repaired"
		}
		fmt.Fprintf(g.Stderr, "store: %s: %s (%s: %s)\n", p.Path, p.Problem, state, p.Repair)
	}
	return st, unlock, nil
}
