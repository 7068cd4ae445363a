// Package vmtest starts qemu machines for tests: qemu is installed from
// Debian when missing (a failure in CI when that cannot be done), the
// machine is killed when the test ends whatever its outcome, and a failed
// test's log gets the machine's console.
package vmtest

import (
	"context"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/vm"
)

// QEMU returns qemu-system-x86_64, installing Debian's qemu-system-x86
// when it is missing.
func QEMU(t testing.TB) string {
	t.Helper()
	return debtest.Tool(t, "qemu-system-x86_64", "qemu-system-x86")
}

// Start starts a machine that lives until the test ends.
func Start(t testing.TB, c vm.Config) *vm.VM {
	t.Helper()
	if c.QEMU == "" {
		c.QEMU = QEMU(t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	v, err := vm.Start(ctx, c)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := v.Close(); err != nil {
			t.Errorf("stop qemu (pid %d): %v", v.Pid(), err)
		}
		cancel()
		if t.Failed() {
			t.Logf("qemu %s\nconsole:\n%s", strings.Join(v.CommandLine(), " "), strings.Join(v.Lines(), "\n"))
		}
	})
	return v
}
