package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Lock takes the store's writer lock, an flock(2) on @cairn/lock, so that
// one cairn at a time changes the store. Without wait, a lock held
// elsewhere gives an error wrapping ErrLocked that names the holder's
// process id; with wait, Lock blocks until the lock is free or ctx ends.
// The returned function releases the lock; calling it again does nothing.
// The kernel releases the lock if the process dies.
func (s *Store) Lock(ctx context.Context, wait bool) (unlock func(), err error) {
	s.mu.Lock()
	held := s.lock != nil
	s.mu.Unlock()
	if held {
		return nil, errors.New("lock store: this Store already holds the lock")
	}
	path := s.path(lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock store: %w", err)
	}
	err = tryLock(f)
	if errors.Is(err, errWouldBlock) && wait {
		var abandoned bool
		if abandoned, err = waitLock(ctx, f); abandoned {
			return nil, err // f now belongs to the abandoned wait
		}
	}
	if errors.Is(err, errWouldBlock) {
		holder := readHolder(f)
		f.Close()
		return nil, fmt.Errorf("%s: %w%s", s.top, ErrLocked, holder)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock store: %w", err)
	}
	// Record who holds it, for the message others get.
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	s.mu.Lock()
	s.lock = f
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.lock == f {
			s.lock = nil
			f.Truncate(0)
			f.Close() // closing the descriptor releases the flock
		}
	}, nil
}

// waitLock blocks in flock until it gets the lock or ctx ends. When ctx
// ends first, the blocked call is abandoned: it owns f from then on and
// closes it (dropping the lock) as soon as it returns.
func waitLock(ctx context.Context, f *os.File) (abandoned bool, err error) {
	got := make(chan error, 1)
	go func() { got <- blockLock(f) }()
	select {
	case err := <-got:
		return false, err
	case <-ctx.Done():
		go func() {
			<-got
			f.Close()
		}()
		return true, fmt.Errorf("waiting for the store lock: %w", ctx.Err())
	}
}

// LockHolder names the process holding the store's writer lock, from the
// pid the holder writes into @cairn/lock ("pid 1234"); "another cairn"
// when it cannot tell.
func (s *Store) LockHolder() string {
	data, err := os.ReadFile(s.path(lockFileName))
	pid := strings.TrimSpace(string(data))
	if _, aerr := strconv.Atoi(pid); err != nil || aerr != nil {
		return "another cairn"
	}
	return "pid " + pid
}

func readHolder(f *os.File) string {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid := string(bytes.TrimSpace(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return ""
	}
	return " (pid " + pid + ")"
}

// checkLocked returns ErrNotLocked unless this Store holds the lock.
func (s *Store) checkLocked() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lock == nil {
		return ErrNotLocked
	}
	return nil
}
