package store

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/cairnlinux/cairn/internal/layout"
)

var (
	// ErrNotStore is returned by Open for a directory that holds no store.
	ErrNotStore = errors.New("not a cairn store")
	// ErrExists is returned by Init for a directory that holds a store.
	ErrExists = errors.New("a cairn store already exists")
	// ErrLocked is returned by Lock without waiting when another writer
	// holds the store.
	ErrLocked = errors.New("store is locked by another cairn")
	// ErrNotLocked is returned by every change made without holding the
	// lock (see Lock).
	ErrNotLocked = errors.New("store not locked for writing (call Lock first)")
	// ErrNotFound is returned for a generation that does not exist.
	ErrNotFound = errors.New("no such generation")
	// ErrNotBtrfs is returned for what only a btrfs store can do.
	ErrNotBtrfs = errors.New("only a store on btrfs can do this")
	// ErrNoRollback is returned by State.Rollback when no good generation
	// is older than the next boot's (layout.ErrNoRollback).
	ErrNoRollback = layout.ErrNoRollback
)

// ProtectedError is returned by Delete for a generation that must stay.
type ProtectedError struct {
	Generation int
	Reasons    string // "booted, default", "pinned", ...
}

func (e *ProtectedError) Error() string {
	return fmt.Sprintf("generation %d is protected (%s)", e.Generation, e.Reasons)
}

func notFound(n int) error {
	return fmt.Errorf("generation %d: %w", n, ErrNotFound)
}

// isNotExist is errors.Is(err, fs.ErrNotExist).
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
