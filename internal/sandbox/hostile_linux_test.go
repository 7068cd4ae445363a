//go:build linux

package sandbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/reexec"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// host is what a hostile script attacks on the build host, and what the
// test checks afterwards.
type host struct {
	victim    *exec.Cmd // a process of the host
	marker    string    // a file of the host, with markerData
	forbidden string    // a path of the host that must not appear
	backing   string    // the file behind the loop device, all zeros
	loopMajor uint32
	loopMinor uint32
	sysFile   string // a sysfs file root can write on the host
	sysctl    string // a sysctl, relative to /proc/sys
	tcp       net.Listener
	tcpAddrs  []string // every address of the host the listener takes
	abstract  net.Listener
	before    hostState
}

const markerData = "the host's\n"

// hostState is what must not change.
type hostState struct {
	sysFile, sysctl, hostname string
}

func readHostState(t *testing.T, h *host) hostState {
	t.Helper()
	read := func(p string) string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	name, _ := os.Hostname()
	return hostState{sysFile: read(h.sysFile),
		sysctl: read("/proc/sys/" + h.sysctl), hostname: name}
}

func newHost(t *testing.T) *host {
	t.Helper()
	dir := t.TempDir()
	h := &host{
		marker:    filepath.Join(dir, "marker"),
		forbidden: filepath.Join(dir, "pwned"),
		backing:   filepath.Join(dir, "disk.img"),
		sysFile:   "/sys/module/printk/parameters/time",
		sysctl:    "kernel/printk_ratelimit",
	}
	_, err := os.Stat(h.sysFile)
	testutil.Require(t, err == nil, h.sysFile+" (a sysfs file root can write)")
	if err := os.WriteFile(h.marker, []byte(markerData), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(h.backing, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	loop, err := disk.AttachLoop(h.backing, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { loop.Detach() })
	var st unix.Stat_t
	if err := unix.Stat(loop.Dev, &st); err != nil {
		t.Fatal(err)
	}
	h.loopMajor, h.loopMinor = unix.Major(st.Rdev), unix.Minor(st.Rdev)

	h.victim = exec.Command("/bin/busybox", "sleep", "3600")
	if err := h.victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.victim.Process.Kill(); h.victim.Wait() })

	h.tcp, err = net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.tcp.Close() })
	port := h.tcp.Addr().(*net.TCPAddr).Port
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			h.tcpAddrs = append(h.tcpAddrs, net.JoinHostPort(ipn.IP.String(), strconv.Itoa(port)))
		}
	}
	h.abstract, err = net.Listen("unix", fmt.Sprintf("@cairn-sandbox-test-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.abstract.Close() })
	h.before = readHostState(t, h)
	return h
}

// check fails the test for everything of the host the attacks from a
// sandbox on root changed.
func (h *host) check(t *testing.T, root string) {
	t.Helper()
	checkNoMounts(t, root)
	if err := h.victim.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the host's process is gone: %v", err)
	}
	if status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", h.victim.Process.Pid)); !bytes.Contains(status, []byte("\nTracerPid:\t0\n")) {
		t.Errorf("the host's process is being traced:\n%s", status)
	}
	if data, err := os.ReadFile(h.marker); err != nil || string(data) != markerData {
		t.Errorf("the host's file changed: %q, %v", data, err)
	}
	if _, err := os.Lstat(h.forbidden); err == nil {
		t.Errorf("%s appeared on the host", h.forbidden)
		os.Remove(h.forbidden)
	}
	if data, _ := os.ReadFile(h.backing); !bytes.Equal(data, make([]byte, 1<<20)) {
		t.Error("the host's disk was written")
	}
	after := readHostState(t, h)
	if after.sysFile != h.before.sysFile {
		t.Errorf("%s changed from %q to %q", h.sysFile, h.before.sysFile, after.sysFile)
		os.WriteFile(h.sysFile, []byte(h.before.sysFile), 0)
	}
	if after.sysctl != h.before.sysctl {
		t.Errorf("/proc/sys/%s changed from %q to %q", h.sysctl, h.before.sysctl, after.sysctl)
		os.WriteFile("/proc/sys/"+h.sysctl, []byte(h.before.sysctl), 0)
	}
	if after.hostname != h.before.hostname {
		t.Errorf("the host name changed to %q", after.hostname)
	}
	// A connection the sandbox made would wait in the listeners' queues.
	for _, l := range []net.Listener{h.tcp, h.abstract} {
		if data, ok := queued(t, l); ok {
			t.Errorf("the sandbox connected to the host's %s and sent %q", l.Addr(), data)
		}
	}
}

// queued accepts a connection already waiting on l, without waiting for
// one, and returns what was sent on it.
func queued(t *testing.T, l net.Listener) (data []byte, ok bool) {
	t.Helper()
	rc, err := l.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) {
		c, _, err := unix.Accept4(int(fd), unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
		if err != nil {
			return
		}
		defer unix.Close(c)
		ok = true
		buf := make([]byte, 64)
		if n, err := unix.Read(c, buf); err == nil {
			data = buf[:n]
		}
	})
	return data, ok
}

// checkRefused fails the test for every attack the output does not show
// refused; want are the attacks expected.
func checkRefused(t *testing.T, out string, want []string) {
	t.Helper()
	for _, name := range want {
		if !strings.Contains(out, "\n"+name+": refused") && !strings.HasPrefix(out, name+": refused") {
			t.Errorf("attack %s was not refused", name)
		}
	}
	if strings.Contains(out, "SUCCEEDED") {
		t.Errorf("attacks succeeded inside the sandbox")
	}
	t.Logf("output:\n%s", out)
}

// A hostile program in the sandbox cannot reach the host: writing
// through /proc/*/root, mount, kill, ptrace and process_vm_writev of a
// host process, mknod of a disk and writing to it, writes to /sys and
// /proc/sys, chroot escapes, open_by_handle_at, loading a module,
// connecting to the host's sockets. Each attempt fails inside, and the
// host is unchanged afterwards.
func TestHostileProgram(t *testing.T) {
	root := newRoot(t)
	e2etest.GoBuild(t, "./internal/sandbox/testdata/hostile", filepath.Join(root, "bin/hostile"))
	h := newHost(t)
	var out bytes.Buffer
	err := Run(context.Background(), Command{
		Root: root, Path: "/bin/hostile",
		Args: []string{"hostile",
			"-pid", strconv.Itoa(h.victim.Process.Pid),
			"-file", h.forbidden, "-marker", h.marker,
			"-disk-major", fmt.Sprint(h.loopMajor), "-disk-minor", fmt.Sprint(h.loopMinor),
			"-sys", h.sysFile, "-sysctl", h.sysctl,
			"-tcp", strings.Join(h.tcpAddrs, ","),
			"-abstract", strings.TrimPrefix(h.abstract.Addr().String(), "@"),
		},
		Stdout: &out, Stderr: &out,
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	checkRefused(t, out.String(), []string{
		"proc-root-write", "see-host-processes", "mount", "umount-proc", "kill-host-process",
		"mknod-disk", "open-host-disk", "ptrace-host-process", "ptrace-init", "open-init-exe", "process-vm-write", "write-sys",
		"write-proc-sys", "sethostname", "chroot-escape", "open-by-handle", "load-module",
		"tcp-connect", "abstract-socket", "network-interfaces", "terminal-input",
		"keyctl", "io-uring",
	})
	h.check(t, root)
}

// The same attacks as a package script would make them, with busybox.
func TestHostileScript(t *testing.T) {
	root := newRoot(t)
	h := newHost(t)
	script := fmt.Sprintf(`
attempt() { name=$1; shift; if "$@" >/dev/null 2>&1; then echo "$name: SUCCEEDED"; else echo "$name: refused"; fi; }
for p in /proc/[0-9]*; do mkdir -p "$p/root%[1]s" 2>/dev/null; echo pwned > "$p/root%[2]s" 2>/dev/null; done
attempt proc-root-read cat /proc/*/root%[3]s
attempt see-host-process test -e /proc/%[4]d
attempt mount mount -t tmpfs none /mnt
attempt kill kill -9 %[4]d
attempt mknod-disk sh -c 'mknod /tmp/disk b %[5]d %[6]d && echo pwned | dd of=/tmp/disk conv=notrunc'
attempt write-sys sh -c 'echo N > %[7]s'
attempt write-proc-sys sh -c 'echo 7 > /proc/sys/%[8]s'
attempt hostname hostname pwned
attempt tcp sh -c 'for a in %[9]s; do echo pwned | timeout 5 nc ${a%%:*} ${a##*:} && exit 0; done; exit 1'
attempt other-interface sh -c 'ip -o link | grep -v ": lo:"'
# In a user namespace of its own the script has every capability, over
# that namespace: the kernel still refuses what would undo the sandbox.
attempt userns-proc unshare -Urmpf --mount-proc true
attempt userns-sysfs unshare -Urmn mount -t sysfs none /mnt
attempt userns-remount-proc-sys unshare -Urm mount -o remount,rw /proc/sys
attempt userns-remount-sys unshare -Urm mount -o remount,rw /sys
attempt userns-unmask unshare -Urm umount /proc/keys
# The seccomp filter refuses a user namespace outright.
attempt userns unshare -U true
exit 0
`, filepath.Dir(h.forbidden), h.forbidden, h.marker, h.victim.Process.Pid, h.loopMajor, h.loopMinor,
		h.sysFile, h.sysctl, strings.Join(h.tcpAddrs, " "))
	out, err := sh(t, root, script, Command{})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkRefused(t, out, []string{"proc-root-read", "see-host-process", "mount", "kill", "mknod-disk",
		"write-sys", "write-proc-sys", "hostname", "tcp", "other-interface", "userns-proc", "userns-sysfs",
		"userns-remount-proc-sys", "userns-remount-sys", "userns-unmask", "userns"})
	h.check(t, root)
}

// A setup step that declares it needs the network gets the host's; all
// else stays confined.
func TestNetwork(t *testing.T) {
	root := newRoot(t)
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var hostIP string
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil && !ipn.IP.IsLoopback() {
			hostIP = ipn.IP.String()
		}
	}
	testutil.Require(t, hostIP != "", "an IPv4 address besides loopback")
	port := l.Addr().(*net.TCPAddr).Port
	script := fmt.Sprintf("ip -o link | grep -qv ': lo:' && echo hello | nc %s %d && mount -t tmpfs none /mnt", hostIP, port)
	// nc ends when the host closes the connection, after reading.
	received := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			received <- err.Error()
			return
		}
		data, _ := io.ReadAll(io.LimitReader(c, 6))
		c.Close()
		received <- string(data)
	}()
	out, err := sh(t, root, script, Command{Network: true})
	l.Close() // ends the Accept above if nc never connected
	if got := <-received; got != "hello\n" {
		t.Errorf("the host received %q\n%s", got, out)
	}
	if err == nil || !strings.Contains(out, "mount: permission denied") {
		t.Errorf("mount with the network: %v\n%s", err, out)
	}
}

// inTerminal is a child of the test that runs a sandbox as cairn run in
// a terminal would: its controlling terminal is the test's pseudo-terminal.
// args are the root and the program's argv; the output goes to fd 3.
const inTerminal = "sandbox-test-in-terminal"

func init() {
	reexec.Register(inTerminal, func(args []string) int {
		out := os.NewFile(3, "out")
		err := Run(context.Background(), Command{Root: args[0], Path: args[1], Args: args[1:], Stdout: out, Stderr: out})
		if err != nil {
			fmt.Fprintln(out, err)
			return 1
		}
		return 0
	})
}

// A script cannot type into the terminal cairn runs in (TIOCSTI): it has
// no controlling terminal.
func TestHostileTerminalInput(t *testing.T) {
	root := newRoot(t)
	e2etest.GoBuild(t, "./internal/sandbox/testdata/hostile", filepath.Join(root, "bin/hostile"))
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	cmd := reexec.Command(inTerminal, root, "/bin/hostile", "-only", "terminal-input")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.ExtraFiles = []*os.File{outW}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	err = cmd.Run()
	outW.Close()
	out, _ := io.ReadAll(outR)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	checkRefused(t, string(out), []string{"terminal-input"})
	if queued, err := unix.IoctlGetInt(int(tty.Fd()), unix.TIOCINQ); err != nil || queued != 0 {
		t.Errorf("%d bytes wait in the terminal's input (%v)", queued, err)
	}
}
