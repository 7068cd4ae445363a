package nosync

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestCommand: a program started through Command that calls
// sync(2) gets success, and the kernel never sees the call: the tracing
// event of sync's entry, which fires after seccomp has let a call
// through, records nothing for that process.
func TestCommand(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (tracefs)")
	tracing := "/sys/kernel/tracing"
	if _, err := os.Stat(filepath.Join(tracing, "events")); err != nil {
		if err := unix.Mount("nodev", tracing, "tracefs", 0, ""); err != nil {
			t.Fatalf("mount tracefs: %v", err)
		}
		t.Cleanup(func() { unix.Unmount(tracing, 0) })
	}
	event := filepath.Join(tracing, "events", "syscalls", "sys_enter_sync", "enable")
	write := func(p, v string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(v), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(event, "1")
	t.Cleanup(func() { os.WriteFile(event, []byte("0"), 0o644) })
	write(filepath.Join(tracing, "trace"), "")

	// The shell says its pid, then becomes coreutils' sync with it.
	out, err := Command(context.Background(), "sh", "-c", `echo $$; exec sync`).CombinedOutput()
	if err != nil {
		t.Fatalf("sync under the filter: %v\n%s", err, out)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("pid %q: %v", out, err)
	}
	trace, err := os.ReadFile(filepath.Join(tracing, "trace"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(trace), "-"+strconv.Itoa(pid)+" ") {
		t.Errorf("sync(2) of pid %d reached the kernel:\n%s", pid, trace)
	}

	// Other calls go through: the program ran and wrote its output.
	marker := filepath.Join(t.TempDir(), "ran")
	if out, err := Command(context.Background(), "sh", "-c", "echo yes > "+marker).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if data, err := os.ReadFile(marker); err != nil || string(data) != "yes\n" {
		t.Errorf("the program under the filter did not run: %q %v", data, err)
	}
	if out, err := Command(context.Background(), "/nonexistent/program").CombinedOutput(); err == nil || !strings.Contains(string(out), "nosync") {
		t.Errorf("a missing program: %v %s", err, out)
	}
}
