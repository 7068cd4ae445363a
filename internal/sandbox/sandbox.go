// Package sandbox runs a program confined to a root directory, as cairn
// runs every package script, trigger and setup step: it sees and changes
// the root, and cannot see or change the machine that builds it.
//
// The program runs in a re-executed child (internal/reexec) made in new
// mount, PID, IPC, UTS, cgroup and network namespaces. The child mounts a
// fresh /proc (showing only the sandbox's processes, its dangerous files
// masked or read-only), a read-only /sys and a minimal /dev (null, zero,
// full, random, urandom, tty, ptmx and pts, shm, fd links) inside the
// root, pivots into the root and detaches the host's mounts, brings up
// the loopback interface (the only one there is, unless the caller keeps
// the host's network), reduces the capability bounding set to
// DefaultCaps, sets no_new_privs and executes the program, which becomes
// PID 1 of its namespace: when it ends, anything it left running is
// killed with it, and the mounts vanish with the namespace.
//
// docs/security.md says what a sandboxed program sees, what it cannot do
// and what it is not protected against.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
)

// Command is a program to run inside Root.
type Command struct {
	Root string
	// Path is the program, absolute inside the root; Args its argv
	// (Args[0] included).
	Path string
	Args []string
	// Env is the whole environment.
	Env            []string
	Stdout, Stderr io.Writer
	// Network keeps the host's network namespace (its interfaces, routes
	// and abstract Unix sockets). Without it the program sees only a
	// loopback interface of its own.
	Network bool
	// Hostname is the host name inside the sandbox; "localhost" when
	// empty (never the build host's).
	Hostname string
	// Caps, when not nil, replaces DefaultCaps as the capability bounding
	// set. Only tests and the measurement in docs/security.md set it.
	Caps *Caps
}

// Caps is a set of Linux capabilities: bit n is capability n
// (CAP_CHOWN = 0, ...).
type Caps uint64

// Has reports whether c holds capability n.
func (c Caps) Has(n int) bool { return n >= 0 && n < 64 && c&(1<<n) != 0 }

// CapsOf makes a set of the capabilities numbered ns.
func CapsOf(ns ...int) Caps {
	var c Caps
	for _, n := range ns {
		c |= 1 << n
	}
	return c
}

// capNames are the capabilities' names, by number (linux/capability.h).
var capNames = [...]string{
	"chown", "dac_override", "dac_read_search", "fowner", "fsetid", "kill",
	"setgid", "setuid", "setpcap", "linux_immutable", "net_bind_service",
	"net_broadcast", "net_admin", "net_raw", "ipc_lock", "ipc_owner",
	"sys_module", "sys_rawio", "sys_chroot", "sys_ptrace", "sys_pacct",
	"sys_admin", "sys_boot", "sys_nice", "sys_resource", "sys_time",
	"sys_tty_config", "mknod", "lease", "audit_write", "audit_control",
	"setfcap", "mac_override", "mac_admin", "syslog", "wake_alarm",
	"block_suspend", "audit_read", "perfmon", "bpf", "checkpoint_restore",
}

// CapName is capability n's name as capsh prints it (cap_chown).
func CapName(n int) string {
	if n >= 0 && n < len(capNames) {
		return "cap_" + capNames[n]
	}
	return fmt.Sprintf("cap_%d", n)
}

// String lists the set's names, comma-separated.
func (c Caps) String() string {
	var names []string
	for n := 0; n < 64; n++ {
		if c.Has(n) {
			names = append(names, CapName(n))
		}
	}
	return strings.Join(names, ",")
}

// Capability numbers (linux/capability.h), named here so that the set
// below reads without the unix package on every platform.
const (
	capChown       = 0
	capDacOverride = 1
	capFowner      = 3
	capFsetid      = 4
	capKill        = 5
	capSetgid      = 6
	capSetuid      = 7
	capSetfcap     = 31
)

// DefaultCaps is the capability bounding set of every sandboxed program:
// what Alpine's package scripts need to set up users and files in the
// root (measured on the scripts of the Alpine 3.19 ISO's packages, see
// docs/security.md), and nothing that reaches past the root: no
// cap_sys_admin (mount, namespaces of the host), no cap_mknod (device
// nodes), no cap_sys_ptrace, cap_sys_module, cap_sys_rawio, cap_net_admin,
// cap_dac_read_search (open_by_handle_at), cap_sys_time, cap_sys_boot ...
const DefaultCaps Caps = 1<<capChown | 1<<capDacOverride | 1<<capFowner | 1<<capFsetid |
	1<<capKill | 1<<capSetgid | 1<<capSetuid | 1<<capSetfcap

// ExitError words how a program failed ("exited with error 1").
func ExitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	if !ok {
		return err
	}
	return statusError(ws)
}

// statusError words a wait status ("exited with error 1", "killed by
// signal 9 (killed)"), nil for success.
func statusError(ws syscall.WaitStatus) error {
	switch {
	case ws.Signaled():
		return fmt.Errorf("killed by signal %d (%v)", ws.Signal(), ws.Signal())
	case ws.Exited() && ws.ExitStatus() != 0:
		return fmt.Errorf("exited with error %d", ws.ExitStatus())
	case ws.Exited():
		return nil
	}
	return fmt.Errorf("wait status %v", ws)
}

// Run runs c in a sandbox and waits for it; cancelling ctx kills it and
// everything it started.
func Run(ctx context.Context, c Command) error {
	return run(ctx, c)
}
