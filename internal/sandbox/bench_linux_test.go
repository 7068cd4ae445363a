//go:build linux

package sandbox_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/sandbox"
	"github.com/cairnlinux/cairn/internal/sandbox/sandboxtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// BenchmarkScript is the cost of running one short script (busybox sh
// running echo) in the sandbox, beside the plain chroot cairn used before
// (sandboxtest.Chroot, as apk-tools does it): the difference is what
// every package script, trigger and setup step pays (docs/benchmarks.md).
func BenchmarkScript(b *testing.B) {
	testutil.Require(b, os.Geteuid() == 0, "root (namespaces and mounts)")
	bb, err := os.ReadFile("/bin/busybox")
	testutil.Require(b, err == nil, "/bin/busybox (apt-get install busybox-static)")
	root := b.TempDir()
	os.MkdirAll(filepath.Join(root, "bin"), 0o755)
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755); err != nil {
		b.Fatal(err)
	}
	os.Symlink("busybox", filepath.Join(root, "bin/sh"))
	cmd := sandbox.Command{Root: root, Path: "/bin/sh", Args: []string{"sh", "-c", "echo hello"},
		Env: []string{"PATH=/bin"}, Stdout: io.Discard, Stderr: io.Discard}
	for _, r := range []struct {
		name string
		run  func(context.Context, sandbox.Command) error
	}{
		{"chroot", sandboxtest.Chroot},
		{"sandbox", sandbox.Run},
		{"sandbox-network", func(ctx context.Context, c sandbox.Command) error {
			c.Network = true
			return sandbox.Run(ctx, c)
		}},
	} {
		b.Run(r.name, func(b *testing.B) {
			before := childrenCPU()
			for b.Loop() {
				if err := r.run(context.Background(), cmd); err != nil {
					b.Fatal(err)
				}
			}
			// CPU time, unlike wall time, does not depend on what else
			// the machine runs.
			b.ReportMetric(float64((childrenCPU()-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// childrenCPU is the user and system time of this process's waited-for
// children so far.
func childrenCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
