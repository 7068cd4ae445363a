package testutil

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// WaitForProcessesUsing waits until no process has dir in its command
// line, each through a pidfd (no polling of the process table): what a
// tool started (podman's conmon and its cleanup) may outlive the tool,
// and must be gone before dir is removed.
func WaitForProcessesUsing(t testing.TB, dir string) {
	t.Helper()
	for round := 0; round < 10; round++ {
		pids := processesUsing(dir)
		if len(pids) == 0 {
			return
		}
		for _, pid := range pids {
			fd, err := unix.PidfdOpen(pid, 0)
			if err != nil {
				continue // gone already
			}
			fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			n, err := unix.Poll(fds, 30_000)
			unix.Close(fd)
			if err != nil || n == 0 {
				t.Errorf("process %d still uses %s after 30 s", pid, dir)
			}
		}
	}
	t.Errorf("processes keep starting on %s", dir)
}

func processesUsing(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && bytes.Contains(cmdline, []byte(dir)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
