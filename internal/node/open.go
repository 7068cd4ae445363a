package node

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/store"
)

// StoreOptions say which store an operation works on, and how.
type StoreOptions struct {
	// Dir is the directory holding @cairn; empty is the running
	// system's store (layout.RunStore).
	Dir string
	// NoWait fails at once (store.ErrLocked) when another cairn holds the
	// store's lock; otherwise Open waits, after calling Waiting.
	NoWait bool
	// Fsck is what Open does with the store's consistency check.
	Fsck FsckMode
	// CrashHook, when set, is called at every crash point of the store
	// and the boot entries (CrashHook makes one for the crash tests).
	CrashHook func(point string) error
	// Waiting is called once before Open waits for the lock, with who
	// holds it ("pid 1234").
	Waiting func(holder string)
	// Warn receives what an operation could not do and went on without
	// (boot entries left as they are), one sentence each; nil drops it.
	Warn func(msg string)
	// System is the running system's root, / when empty: where
	// cairn-init's records (layout.RunStore, layout.BootedFile) are.
	System string
}

// FsckMode says what Open does with the store's consistency check.
type FsckMode int

const (
	// FsckRepair repairs what an interrupted cairn left (Session.Fsck
	// says what): every operation that writes starts so.
	FsckRepair FsckMode = iota
	// FsckCheck only checks, for a dry run.
	FsckCheck
	// FsckNone skips the check (Session.Fsck runs its own).
	FsckNone
)

func (o *StoreOptions) system() string {
	if o.System == "" {
		return "/"
	}
	return o.System
}

func (o *StoreOptions) warn(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// Node is a store opened for reading, with what the running system
// says about it. Reading needs no lock.
type Node struct {
	Store *store.Store
	opts  StoreOptions
}

// Inspect opens the store o names for reading.
func Inspect(o StoreOptions) (*Node, error) {
	dir, implicit := o.Dir, false
	if dir == "" {
		dir, implicit = layout.RunStore, true
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
	if o.CrashHook != nil {
		s.SetCrashHook(o.CrashHook)
	}
	return &Node{Store: s, opts: o}, nil
}

// Session is a store held for writing: its lock taken, what an
// interrupted cairn left repaired. Close releases it.
type Session struct {
	*Node
	// Checked is what the check on opening found (and, with FsckRepair,
	// repaired).
	Checked store.Report
	unlock  func()
}

// Open opens the store o names, takes its writer lock (waiting, unless
// o.NoWait) and checks it as o.Fsck says: every operation that writes
// repairs what an interrupted cairn left first.
func Open(ctx context.Context, o StoreOptions) (*Session, error) {
	n, err := Inspect(o)
	if err != nil {
		return nil, err
	}
	s := n.Store
	unlock, err := s.Lock(ctx, false)
	if errors.Is(err, store.ErrLocked) && !o.NoWait {
		if o.Waiting != nil {
			o.Waiting(s.LockHolder())
		}
		unlock, err = s.Lock(ctx, true)
	}
	if errors.Is(err, store.ErrLocked) {
		return nil, fmt.Errorf("%w: --no-wait was given; try again when it is done", err)
	}
	if err != nil {
		return nil, err
	}
	ss := &Session{Node: n, unlock: unlock}
	if o.Fsck == FsckNone {
		return ss, nil
	}
	report, err := s.FsckWith(store.FsckOptions{Repair: o.Fsck != FsckCheck, Booted: n.Running()})
	ss.Checked = report
	if err != nil {
		unlock()
		return nil, &RepairError{Report: report, Err: err}
	}
	return ss, nil
}

// RepairError is Open's error when the store needs repairs that failed;
// Report says what the check found.
type RepairError struct {
	Report store.Report
	Err    error
}

func (e *RepairError) Error() string {
	return fmt.Sprintf("%v (the store needs repairs that failed: see cairn fsck)", e.Err)
}

func (e *RepairError) Unwrap() error { return e.Err }

// Close releases the store's lock.
func (ss *Session) Close() { ss.unlock() }

// IsRunning reports whether the store is the one the running system
// booted from (cairn-init mounted it at layout.RunStore).
func (n *Node) IsRunning() bool {
	// Off a booted cairn system (tests, image builds) the first stat
	// fails and nothing more is read.
	running, err := os.Stat(layout.InTree(n.opts.system(), layout.RunStore))
	if err != nil {
		return false
	}
	dir, err := os.Stat(n.Store.Dir())
	return err == nil && os.SameFile(dir, running)
}

// Running is the generation this machine booted from the store, when the
// store is the running system's (cairn-init's record); else 0.
func (n *Node) Running() int {
	if !n.IsRunning() {
		return 0
	}
	return layout.ReadBooted(n.opts.system())
}

// Booted is the generation this machine runs: cairn-init's record of
// this boot, else what the state st says booted last.
func (n *Node) Booted(st store.State) int {
	if b := layout.ReadBooted(n.opts.system()); b > 0 {
		return b
	}
	return st.Booted
}

// CrashPoints are the points CrashHook can stop at: the store's and the
// boot entries'.
func CrashPoints() []string {
	return append(store.CrashPoints(), boot.PointFilesWritten, boot.PointConfigWritten)
}

// CrashHook returns the hook that kills this process with SIGKILL (no
// deferred function, no cleanup runs) at the crash point named, for the
// crash tests; nil for "". A name CrashPoints does not list is an error.
func CrashHook(point string) (func(string) error, error) {
	if point == "" {
		return nil, nil
	}
	if !slices.Contains(CrashPoints(), point) {
		return nil, fmt.Errorf("no such crash point %q", point)
	}
	return func(at string) error {
		if at != point {
			return nil
		}
		self, err := os.FindProcess(os.Getpid())
		if err == nil {
			err = self.Kill()
		}
		return fmt.Errorf("crash point %s: cairn could not kill itself: %v", at, err)
	}, nil
}
