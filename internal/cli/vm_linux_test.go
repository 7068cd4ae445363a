package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// TestVM boots Debian's cloud kernel with an initramfs whose init prints a
// line and exits: cairn vm --expect finds the line (exit 0), and a line
// that never comes fails once the machine stops (exit 1).
func TestVM(t *testing.T) {
	vmtest.QEMU(t)
	k := debtest.CloudKernel(t)
	dir := t.TempDir()
	init := filepath.Join(dir, "init")
	if err := os.WriteFile(init, []byte("#!/bin/sh\necho \"CAIRN VM SAYS $((6*7)) TIMES\"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, "initramfs.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := initramfs.Build(f, initramfs.Options{Init: init, Shell: debtest.Busybox(t), Want: []string{}}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	args := []string{"vm", "--kernel", k.Vmlinuz, "--initrd", f.Name(), "--append", "console=ttyS0 panic=-1", "--no-reboot", "--timeout", "5m"}

	code, out, errOut := run(t, append(args, "--expect", `CAIRN VM SAYS (\d+) TIMES`)...)
	if code != 0 || !strings.Contains(out, "CAIRN VM SAYS 42 TIMES") || !strings.Contains(errOut, "matched") {
		t.Errorf("expect a line that comes: exit %d\n%s\n%s", code, tail(out), errOut)
	}
	code, out, errOut = run(t, append(args, "--expect", "NEVER SAID")...)
	if code != ExitFailure || !strings.Contains(errOut, "the machine stopped before a console line matched") {
		t.Errorf("expect a line that never comes: exit %d\n%s\n%s", code, tail(out), errOut)
	}
	if code, _, errOut := run(t, "vm"); code != ExitUsage || !strings.Contains(errOut, "give a disk image or --kernel") {
		t.Errorf("no machine: exit %d: %s", code, errOut)
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
