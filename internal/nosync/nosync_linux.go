// Package nosync runs helper programs with sync(2) made a no-op.
//
// syslinux's and extlinux's installers end with sync(2), which commits
// every file system on the machine, the store of a disk image being
// written at that moment too: the store's transactions then end elsewhere
// than its writer decided, and that image's bytes change (see package
// image's settler). So cairn runs such programs under a seccomp filter
// that makes sync a no-op returning success, and syncs what they wrote
// itself.
package nosync

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/reexec"
)

// child is the reexec handler's name.
const child = "nosync"

func init() { reexec.Register(child, runNoSync) }

// Command is exec.CommandContext(ctx, name, args...) whose program
// runs with sync(2) doing nothing (and returning success). The running
// binary must call reexec.Init first thing (cairn does; a test binary
// does in its TestMain).
func Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return reexec.CommandContext(ctx, child, append([]string{name}, args...)...)
}

// runNoSync installs the filter on every thread and executes args[0]; the
// filter survives execve.
func runNoSync(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "nosync: no program")
		return 2
	}
	if err := filterSync(); err != nil {
		fmt.Fprintf(os.Stderr, "nosync: %v\n", err)
		return 126
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fmt.Fprintf(os.Stderr, "nosync: %v\n", err)
		return 127
	}
	err = unix.Exec(path, args, os.Environ())
	fmt.Fprintf(os.Stderr, "nosync: exec %s: %v\n", path, err)
	return 126
}

// auditArch is the seccomp architecture of this build's system calls.
func auditArch() (uint32, error) {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64, nil
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64, nil
	case "riscv64":
		return unix.AUDIT_ARCH_RISCV64, nil
	case "386":
		return unix.AUDIT_ARCH_I386, nil
	case "arm":
		return unix.AUDIT_ARCH_ARM, nil
	}
	return 0, fmt.Errorf("no seccomp architecture known for %s", runtime.GOARCH)
}

// filterSync makes sync(2) return 0 without doing anything, for this
// process and what it executes. Other architectures' system calls (a
// 32-bit program on a 64-bit kernel) are left alone.
func filterSync() error {
	arch, err := auditArch()
	if err != nil {
		return err
	}
	// struct seccomp_data: nr at offset 0, arch at offset 4.
	prog := []unix.SockFilter{
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 4},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 3, K: arch},
		{Code: unix.BPF_LD | unix.BPF_W | unix.BPF_ABS, K: 0},
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: uint32(unix.SYS_SYNC)},
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ERRNO}, // errno 0: success
		{Code: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW},
	}
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		return fmt.Errorf("seccomp: %w", e)
	}
	return nil
}
