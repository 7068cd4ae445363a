package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/store"
)

// plainStore makes a plain store in a temporary directory (no root
// needed) and opens it twice, as two cairn processes would.
func plainStore(t *testing.T) (a, b *store.Store) {
	t.Helper()
	dir := t.TempDir()
	a, err := store.Init(dir, store.InitOptions{Backend: store.BackendPlain})
	if err != nil {
		t.Fatal(err)
	}
	b, err = store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestLockNoWait(t *testing.T) {
	a, b := plainStore(t)
	unlock, err := a.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Lock(context.Background(), false)
	if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Errorf("second Lock without waiting: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if _, err := a.Lock(context.Background(), false); err == nil {
		t.Error("a Store locked twice")
	}
	unlock()
	unlock() // harmless
	unlockB, err := b.Lock(context.Background(), false)
	if err != nil {
		t.Fatalf("Lock after the holder unlocked: %v", err)
	}
	unlockB()
}

func TestLockWaits(t *testing.T) {
	a, b := plainStore(t)
	unlockA, err := a.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	var released atomic.Bool
	got := make(chan error)
	go func() {
		unlockB, err := b.Lock(context.Background(), true)
		if err == nil {
			if !released.Load() {
				err = errors.New("got the lock while the first holder still had it")
			}
			unlockB()
		}
		got <- err
	}()
	waitForBlockedFlock(t, filepath.Join(a.Dir(), "@cairn", "lock"))
	released.Store(true)
	unlockA()
	if err := <-got; err != nil {
		t.Error(err)
	}
}

// waitForBlockedFlock returns once /proc/locks shows a process blocked
// waiting for the flock on path (a line with "->"), so that the test
// releases the lock while the waiter really waits.
func waitForBlockedFlock(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	ino := fmt.Sprintf(":%d ", fi.Sys().(*syscall.Stat_t).Ino)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile("/proc/locks")
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "->") && strings.Contains(line, "FLOCK") && strings.Contains(line, ino) {
				return
			}
		}
		runtime.Gosched()
	}
	t.Fatal("the second Lock never blocked waiting for the first")
}

func TestLockWaitCancelled(t *testing.T) {
	a, b := plainStore(t)
	unlockA, err := a.Lock(context.Background(), false)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error)
	go func() {
		_, err := b.Lock(ctx, true)
		got <- err
	}()
	waitForBlockedFlock(t, filepath.Join(a.Dir(), "@cairn", "lock"))
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled wait: %v, want context.Canceled", err)
	}
	unlockA()
	// The abandoned waiter lets go of the lock as soon as it gets it.
	unlockB, err := b.Lock(context.Background(), true)
	if err != nil {
		t.Fatal(err)
	}
	unlockB()
}
