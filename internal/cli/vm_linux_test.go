package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/initramfs"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/vm/vmtest"
)

// TestVM boots Debian's cloud kernel with an initramfs whose init prints a
// line and exits: cairn vm --expect finds the line (exit 0), and a line
// that never comes fails once the machine stops (exit 1). Booted again
// with cairnvm=prompt, init prints a login prompt without a newline and
// waits: --expect 'login: $' finds it, and it is on standard output as
// the last thing, with no newline after it.
func TestVM(t *testing.T) {
	vmtest.QEMU(t)
	k := debtest.CloudKernel(t)
	dir := t.TempDir()
	init := filepath.Join(dir, "init")
	// The kernel hands init unknown name=value words of its command line
	// as environment variables.
	script := `#!/bin/sh
echo "CAIRN VM SAYS $((6*7)) TIMES"
if [ "$cairnvm" = prompt ]; then
	printf 'cairn-vm login: '
	read -r name
	echo "got $name"
fi
exit 1
`
	if err := os.WriteFile(init, []byte(script), 0o755); err != nil {
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
	args := []string{"vm", "--kernel", k.Vmlinuz, "--initrd", f.Name(), "--no-reboot", "--timeout", "5m"}
	cmdline := "console=ttyS0 panic=-1 no_timer_check"

	code, out, errOut := run(t, append(args, "--append", cmdline, "--expect", `CAIRN VM SAYS (\d+) TIMES`)...)
	if code != 0 || !strings.Contains(out, "CAIRN VM SAYS 42 TIMES") || !strings.Contains(errOut, "matched") {
		t.Errorf("expect a line that comes: exit %d\n%s\n%s", code, tail(out), errOut)
	}
	code, out, errOut = run(t, append(args, "--append", cmdline, "--expect", "NEVER SAID")...)
	if code != ExitFailure || !strings.Contains(errOut, "the machine stopped before console output matched") {
		t.Errorf("expect a line that never comes: exit %d\n%s\n%s", code, tail(out), errOut)
	}
	// loglevel=0: no late kernel message after the prompt.
	code, out, errOut = run(t, append(args, "--append", cmdline+" loglevel=0 cairnvm=prompt", "--expect", `login: $`)...)
	if code != 0 || !strings.HasSuffix(out, "\ncairn-vm login: ") {
		t.Errorf("expect a prompt without a newline: exit %d, output ends %q\n%s", code, out[max(0, len(out)-200):], errOut)
	}
	if code, _, errOut := run(t, "vm"); code != ExitUsage || !strings.Contains(errOut, "give a disk image or --kernel") {
		t.Errorf("no machine: exit %d: %s", code, errOut)
	}
}

// fakeQEMU writes a shell script standing in for qemu.
func fakeQEMU(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qemu")
	writeFile(t, p, []byte("#!/bin/sh\n"+script+"\n"))
	if err := os.Chmod(p, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestVMInputAndForwards: input from a pipe goes to the console (the fake
// qemu, cat, echoes it); --forward reaches qemu's command line, 127.0.0.1
// unless told, a host port of 0 replaced by a free one that cairn vm
// names; a bad --forward is a usage error.
func TestVMInputAndForwards(t *testing.T) {
	qemu := fakeQEMU(t, `echo "ARGS $*"; exec cat`)
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), []string{"vm", "--qemu", qemu, "disk.img", "--forward", "2222:22", "--forward", "udp:0.0.0.0:0:53", "--expect", "typed on the console", "--timeout", "1m"},
		Stdio{Stdin: strings.NewReader("typed on the console\n"), Stdout: &stdout, Stderr: &stderr})
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout.String(), stderr.String())
	}
	var port int
	for _, l := range strings.Split(stderr.String(), "\n") {
		fmt.Sscanf(l, "cairn vm: forwarding udp 0.0.0.0:%d -> guest port 53", &port)
	}
	if port == 0 || !strings.Contains(stderr.String(), "cairn vm: forwarding tcp 127.0.0.1:2222 -> guest port 22\n") {
		t.Fatalf("the forwards are not named:\n%s", stderr.String())
	}
	want := fmt.Sprintf("-netdev user,id=net0,hostfwd=tcp:127.0.0.1:2222-:22,hostfwd=udp:0.0.0.0:%d-:53 -device virtio-net-pci,netdev=net0", port)
	if !strings.Contains(stdout.String(), want) {
		t.Errorf("qemu's arguments lack %q:\n%s", want, stdout.String())
	}
	for _, c := range []struct{ arg, msg string }{
		{"22", "HOSTPORT:GUESTPORT"},
		{"2222:0", "guest port 0"},
		{"localhost:2222:22", "IPv4"},
	} {
		if code, _, e := run(t, "vm", "--qemu", qemu, "disk.img", "--forward", c.arg); code != ExitUsage || !strings.Contains(e, c.msg) {
			t.Errorf("--forward %s: exit %d: %s", c.arg, code, e)
		}
	}
}

// signalWriter is a buffer that says on a channel when a text shows in it.
type signalWriter struct {
	mu   sync.Mutex
	b    bytes.Buffer
	want string
	seen chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.b.String(), w.want)
	w.b.Write(p)
	if !had && strings.Contains(w.b.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *signalWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// openPTY returns a pseudo-terminal's two ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

// TestVMTerminal: at a terminal, keys go to the console as typed, Ctrl-C
// included (the fake qemu, cat, echoes them, and the terminal itself
// echoes nothing); Ctrl-] stops the machine, cairn vm exits 0, and the
// terminal is as it was.
func TestVMTerminal(t *testing.T) {
	master, slave := openPTY(t)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	stderr := &signalWriter{want: "Ctrl-] stops the machine", seen: make(chan struct{})}
	done := make(chan int, 1)
	go func() {
		done <- Run(context.Background(), []string{"vm", "--qemu", fakeQEMU(t, "exec cat"), "disk.img"}, Stdio{Stdin: slave, Stdout: slave, Stderr: stderr})
	}()
	select {
	case <-stderr.seen:
	case code := <-done:
		t.Fatalf("cairn vm ended (exit %d) before taking the console: %s", code, stderr.String())
	case <-time.After(time.Minute):
		t.Fatalf("cairn vm did not take the console: %s", stderr.String())
	}
	if _, err := master.Write([]byte("hi\x03")); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 0, 16)
	buf := make([]byte, 16)
	master.SetReadDeadline(time.Now().Add(time.Minute))
	for len(got) < 3 {
		n, err := master.Read(buf)
		if err != nil {
			t.Fatalf("read the console after %q: %v", got, err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "hi\x03" {
		t.Errorf("the console shows %q, want the keys echoed once by the machine", got)
	}
	if _, err := master.Write([]byte{escapeKey}); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-done:
		if code != 0 || !strings.Contains(stderr.String(), "the machine is stopped") {
			t.Errorf("Ctrl-]: exit %d: %s", code, stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("Ctrl-] did not stop the machine")
	}
	after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("the terminal is not restored: %+v, was %+v", after, before)
	}
}

func tail(s string) string {
	lines := strings.Split(s, "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}
