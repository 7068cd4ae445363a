package cli

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/store"
)

// An interrupted cairn exits with 130: here the real binary, waiting for
// a store lock the test holds, gets SIGINT.
func TestCancelledExitCode(t *testing.T) {
	s := testStore(t, 2)
	unlock, err := holdLock(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	cmd := exec.Command(cairnBinary(t), "switch", "1", "--store", s.Dir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(stderr)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.Contains(line, "waiting for the store lock") {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("first line %q, %v; want it to wait for the lock", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(rd)
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != ExitCancelled || string(rest) != "cairn: cancelled\n" {
		t.Errorf("after SIGINT: %v, stderr %q; want exit %d and cairn: cancelled", err, rest, ExitCancelled)
	}
}

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{context.Canceled, ExitCancelled},
		{usagef("bad"), ExitUsage},
		{&node.ManifestError{File: "x"}, ExitUsage},
		{store.ErrLocked, ExitLocked},
		{withCode(ExitFailure, usagef("explicit wins")), ExitFailure},
		{errors.New("anything else"), ExitFailure},
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
}
