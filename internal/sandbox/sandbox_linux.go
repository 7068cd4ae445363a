//go:build linux

package sandbox

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/reexec"
)

// child is the name of the re-executed child that builds the sandbox.
const child = "sandbox-exec"

func init() { reexec.Register(child, runChild) }

// spec is what the parent tells the child, as JSON in its only argument.
type spec struct {
	Root     string   `json:"root"`
	Path     string   `json:"path"`
	Args     []string `json:"args"`
	Env      []string `json:"env"`
	Network  bool     `json:"network,omitempty"`
	Hostname string   `json:"hostname"`
	Caps     Caps     `json:"caps"`
}

// namespaces are the namespaces every sandbox gets; CLONE_NEWNET is added
// unless the caller keeps the host's network.
const namespaces = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWIPC |
	unix.CLONE_NEWUTS | unix.CLONE_NEWCGROUP

func run(ctx context.Context, c Command) error {
	s := spec{Root: c.Root, Path: c.Path, Args: c.Args, Env: c.Env, Network: c.Network,
		Hostname: c.Hostname, Caps: DefaultCaps}
	if s.Hostname == "" {
		s.Hostname = "localhost"
	}
	if c.Caps != nil {
		s.Caps = *c.Caps
	}
	if s.Env == nil {
		s.Env = []string{}
	}
	arg, err := json.Marshal(s)
	if err != nil {
		return err
	}
	flags := uintptr(namespaces)
	if !c.Network {
		flags |= unix.CLONE_NEWNET
	}
	// The child reports the program's wait status on this pipe.
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer statusR.Close()
	cmd := reexec.Command(child, string(arg))
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	cmd.Env = []string{}
	cmd.ExtraFiles = []*os.File{statusW}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: flags,
		// The child is PID 1 of its namespace: when it dies, the kernel
		// kills everything left in the namespace.
		Pdeathsig: syscall.SIGKILL,
		// A session of its own, without a controlling terminal: /dev/tty
		// does not open the terminal cairn runs in, whose input a
		// script could otherwise fill with commands (TIOCSTI).
		Setsid: true,
	}
	err = cmd.Start()
	statusW.Close()
	if err != nil {
		return fmt.Errorf("start the sandbox: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	stop()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	var ws [4]byte
	if n, _ := io.ReadFull(statusR, ws[:]); n == len(ws) {
		return statusError(syscall.WaitStatus(binary.NativeEndian.Uint32(ws[:])))
	}
	// The sandbox failed before the program ran (it said why on stderr).
	return ExitError(err)
}

// runChild runs in the re-executed child, PID 1 of its new namespaces: it
// builds the sandbox, starts the program and waits for it, reaping what
// else ends in the namespace; on its exit the kernel kills whatever the
// program left running. The program is not PID 1 itself, so signals
// reach it as they reach any process (PID 1 ignores those it has no
// handler for).
func runChild(args []string) int {
	// Capabilities and no_new_privs belong to a thread: the one that
	// drops them must be the one that starts the program.
	runtime.LockOSThread()
	var s spec
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &s) != nil {
		fmt.Fprintln(os.Stderr, "sandbox-exec: usage: SPEC (JSON)")
		return 127
	}
	// Descriptors cairn inherited from whatever started it (a shell's
	// 3>file, a CI runner's pipes) are open here too, without
	// close-on-exec: one naming a directory of the host would lead the
	// program back out of the root. None passes to the program.
	if err := closeOnExec(); err != nil {
		fmt.Fprintf(os.Stderr, "sandbox-exec: %v\n", err)
		return 127
	}
	status := os.NewFile(3, "status")
	argv := s.Args
	if len(argv) == 0 {
		argv = []string{s.Path}
	}
	if err := enter(&s); err != nil {
		fmt.Fprintf(os.Stderr, "%s: sandbox: %v\n", path.Base(s.Path), err)
		return 127
	}
	// Not dumpable: the program, without cap_sys_ptrace, cannot open
	// this process's /proc/1/exe (the host's cairn binary), fds, memory
	// or root, nor trace it.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		fmt.Fprintf(os.Stderr, "%s: sandbox: %v\n", path.Base(s.Path), err)
		return 127
	}
	// Last, on this thread, which starts the program: the filter also
	// binds what this process does from here on (waiting, one write).
	if err := installFilter(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: sandbox: %v\n", path.Base(s.Path), err)
		return 127
	}
	unix.Umask(0o022)
	pid, err := syscall.ForkExec(s.Path, argv, &syscall.ProcAttr{
		Dir:   "/",
		Env:   s.Env,
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: exec: %v\n", path.Base(s.Path), err)
		return 127
	}
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: sandbox: wait: %v\n", path.Base(s.Path), err)
			return 127
		}
		if wpid == pid {
			var b [4]byte
			binary.NativeEndian.PutUint32(b[:], uint32(ws))
			status.Write(b[:])
			return 0
		}
	}
}

// closeOnExec marks every descriptor but 0, 1 and 2 close-on-exec.
func closeOnExec() error {
	err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC)
	if err == nil {
		return nil
	}
	// Kernels before 5.11: one by one.
	entries, rerr := os.ReadDir("/proc/self/fd")
	if rerr != nil {
		return fmt.Errorf("close_range: %v; list the descriptors: %w", err, rerr)
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
	return nil
}

// enter builds the sandbox around this process: the root with its own
// /dev, /proc and /sys as the only file system tree, the network and host
// name, then the reduced privileges.
func enter(s *spec) error {
	unix.Umask(0)
	// Nothing mounted here may propagate to the host's mount table.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mounts private: %w", err)
	}
	// The root becomes a mount of its own, to pivot into; mounts already
	// below it (the caller's) come along.
	if err := unix.Mount(s.Root, s.Root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind %s: %w", s.Root, err)
	}
	rootfd, err := unix.Open(s.Root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", s.Root, err)
	}
	defer unix.Close(rootfd)
	lastCap, err := lastCap()
	if err != nil {
		return err
	}
	if err := makeDev(rootfd); err != nil {
		return err
	}
	if err := mountProc(rootfd); err != nil {
		return err
	}
	if err := mountSys(rootfd); err != nil {
		return err
	}
	if err := pivot(rootfd); err != nil {
		return err
	}
	if !s.Network {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
		return fmt.Errorf("set the host name: %w", err)
	}
	// The host's supplementary groups mean nothing in the root, and would
	// make what a script may open depend on the build host.
	if err := unix.Setgroups(nil); err != nil {
		return fmt.Errorf("clear the supplementary groups: %w", err)
	}
	return dropPrivileges(s.Caps, lastCap)
}

// pivot makes the directory rootfd the root of the mount namespace and
// detaches the host's tree: unlike chroot, no file descriptor or path
// leads back to it.
func pivot(rootfd int) error {
	if err := unix.Fchdir(rootfd); err != nil {
		return fmt.Errorf("chdir into the root: %w", err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one;
	// unmounting "." then detaches it (runc does the same).
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the host's mounts: %w", err)
	}
	return unix.Chdir("/")
}

// loopbackUp brings up lo, the only interface of a new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	return nil
}
