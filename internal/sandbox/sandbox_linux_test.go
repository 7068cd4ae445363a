//go:build linux

package sandbox

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlinux/cairn/internal/reexec"
	"github.com/cairnlinux/cairn/internal/testutil"
)

func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}

// newRoot is a root with Debian's static busybox as its every command.
func newRoot(t testing.TB) string {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (the sandbox needs namespaces and mounts)")
	bb, err := os.ReadFile("/bin/busybox")
	testutil.Require(t, err == nil, "/bin/busybox (apt-get install busybox-static)")
	root := t.TempDir()
	for _, d := range []string{"bin", "tmp", "mnt", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(root, "bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "cat", "ls", "echo", "grep", "ip", "hostname", "env", "sleep", "mount",
		"kill", "mknod", "dd", "nc", "test", "pwd", "id", "sort", "tr", "readlink", "wc", "awk", "timeout", "unshare", "umount"} {
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// sh runs a shell script in a sandbox on root and returns its output.
func sh(t testing.TB, root, script string, c Command) (string, error) {
	t.Helper()
	var out bytes.Buffer
	c.Root, c.Path, c.Args = root, "/bin/sh", []string{"sh", "-c", script}
	if c.Env == nil {
		c.Env = []string{"PATH=/bin"}
	}
	c.Stdout, c.Stderr = &out, &out
	err := Run(context.Background(), c)
	return out.String(), err
}

// What a program sees: its own processes only, a minimal /dev, no mount
// of the host, lo, its capabilities and no_new_privs, a neutral host
// name, exactly the environment it was given.
func TestWhatAProgramSees(t *testing.T) {
	root := newRoot(t)
	script := `
echo "pids: $(ls -d /proc/[0-9]* | tr '\n' ' ')"
echo "dev: $(ls -A /dev | tr '\n' ' ')"
echo "pts: $(ls -A /dev/pts | tr '\n' ' ')"
echo "mounts: $(awk '{print $5}' /proc/self/mountinfo | sort | tr '\n' ' ')"
echo "links: $(ip -o link | awk '{print $2 $3}' | tr '\n' ' ')"
grep -E '^(CapBnd|CapEff|CapInh|CapAmb|NoNewPrivs|Groups):' /proc/self/status | tr -s '\t ' ' '
echo "hostname: $(hostname)"
echo "id: $(id)"
echo "cwd: $(pwd)"
echo "env: $(env | sort | tr '\n' ' ')"
echo "to stderr" >&2
`
	out, err := sh(t, root, script, Command{Env: []string{"PATH=/bin", "A=b"}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		// the sandbox's init, the shell, the subshell, ls and tr
		"pids: /proc/1 /proc/",
		"dev: fd full null ptmx pts random shm stderr stdin stdout tty urandom zero \n",
		"pts: ptmx \n",
		"mounts: / /dev /dev/pts /dev/shm /proc /proc/acpi /proc/bus /proc/fs /proc/irq /proc/keys /proc/sys /proc/timer_list /sys \n",
		"links: lo:<LOOPBACK,UP,LOWER_UP> \n",
		fmt.Sprintf("CapInh: 0000000000000000\nCapEff: %016x\nCapBnd: %016x\nCapAmb: 0000000000000000\nNoNewPrivs: 1\n", uint64(DefaultCaps), uint64(DefaultCaps)),
		"Groups: \n",
		"hostname: localhost\n",
		"id: uid=0 gid=0\n",
		"cwd: /\n",
		"env: A=b PATH=/bin PWD=/ SHLVL=1 \n",
		"to stderr\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out[:strings.Index(out, "\n")], "/proc/"); n > 6 {
		t.Errorf("the sandbox's /proc shows %d processes", n)
	}
}

// A descriptor cairn inherited (here: one of the test, on a directory of
// the host, not close-on-exec) does not reach the program: it would lead
// out of the root.
func TestNoDescriptorsLeak(t *testing.T) {
	root := newRoot(t)
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "host-secret"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	fd, err := syscall.Open(host, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	// ls lists the shell's descriptors (a glob would list its own too).
	// (No pipeline: its pipe would be the shell's for a moment.)
	out, err := sh(t, root, `ls -l /proc/$$/fd; for f in /proc/$$/fd/*; do ls $f/ 2>/dev/null; done; true`, Command{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, host) || strings.Contains(out, "host-secret") {
		t.Errorf("the program got a descriptor of the host's %s:\n%s", host, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 3 || fields[len(fields)-2] != "->" {
			continue
		}
		n, target := fields[len(fields)-3], fields[len(fields)-1]
		// busybox sh may keep a copy of its standard input of its own.
		if n != "0" && n != "1" && n != "2" && target != "/dev/null" {
			t.Errorf("descriptor %s -> %s reached the program", n, target)
		}
	}
}

// checkNoMounts fails the test when the host has a mount at or below
// root. (The rest of the host's mount table is not compared: other
// processes of the machine mount and unmount as they please.)
func checkNoMounts(t *testing.T, root string) {
	t.Helper()
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(info), "\n") {
		if f := strings.Fields(line); len(f) > 4 && (f[4] == root || strings.HasPrefix(f[4], root+"/")) {
			t.Errorf("the host has a mount on the sandbox's root: %s", line)
		}
	}
}

// The mounts of the sandbox never appear on the host, and leave nothing
// behind in the root.
func TestNoMountsLeft(t *testing.T) {
	root := newRoot(t)
	if out, err := sh(t, root, "test -c /dev/null && test -d /proc/1 && test -d /sys/kernel", Command{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkNoMounts(t, root)
	for _, d := range []string{"dev", "proc", "sys"} {
		if names, _ := os.ReadDir(filepath.Join(root, d)); len(names) != 0 {
			t.Errorf("/%s of the root is not empty afterwards", d)
		}
	}
}

// Exit statuses and signals are reported as before.
func TestExitStatus(t *testing.T) {
	root := newRoot(t)
	for script, want := range map[string]string{
		"exit 3":     "exited with error 3",
		"kill -9 $$": "killed by signal 9 (killed)",
		"true":       "",
	} {
		_, err := sh(t, root, script, Command{})
		if got := fmt.Sprint(err); (want == "" && err != nil) || (want != "" && got != want) {
			t.Errorf("%s: error %v, want %q", script, err, want)
		}
	}
	// A program that is not there: the child says so and exits 127.
	var out bytes.Buffer
	err := Run(context.Background(), Command{Root: root, Path: "/bin/nothing", Stdout: &out, Stderr: &out})
	if fmt.Sprint(err) != "exited with error 127" || !strings.Contains(out.String(), "nothing: exec: no such file or directory") {
		t.Errorf("error %v, output %q", err, out.String())
	}
}

// What a script leaves running dies with it: the script is PID 1 of its
// namespace.
func TestLeftoversDie(t *testing.T) {
	root := newRoot(t)
	if out, err := sh(t, root, "sleep 987654 & sleep 987654 & echo started", Command{}); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if data, _ := os.ReadFile(p); strings.Contains(string(data), "987654") {
			t.Errorf("%s is still running: %q", filepath.Dir(p), data)
		}
	}
}

// Cancelling the context kills the program and its children.
func TestCancel(t *testing.T) {
	root := newRoot(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Command{Root: root, Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 987655 & echo ready; wait"},
			Stdout: pw, Stderr: pw})
		pw.Close()
	}()
	line, _ := bufio.NewReader(pr).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("read %q", line)
	}
	cancel()
	go io.Copy(io.Discard, pr)
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		if data, _ := os.ReadFile(p); strings.Contains(string(data), "987655") {
			t.Errorf("%s is still running: %q", filepath.Dir(p), data)
		}
	}
}
