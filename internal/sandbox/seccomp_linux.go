package sandbox

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Refused are the system calls a sandboxed program gets EPERM for
// (docs/security.md, "The sandbox"): with them it could widen the kernel
// surface it reaches past what the capability set allows. New user
// namespaces (unshare, setns, and clone with a CLONE_NEW* flag, below)
// give a process every capability over the namespace and with them far
// more of the kernel; keyctl and its kin reach the keyrings, root's
// shared with every root process of the host; bpf, perf events,
// userfaultfd and io_uring are large kernel surfaces no install script
// needs; kexec and module loading are refused by the capability set
// already, and here too. Docker's default profile refuses the same.
var Refused = []struct {
	Name string
	Nr   uintptr
}{
	{"unshare", unix.SYS_UNSHARE},
	{"setns", unix.SYS_SETNS},
	{"keyctl", unix.SYS_KEYCTL},
	{"add_key", unix.SYS_ADD_KEY},
	{"request_key", unix.SYS_REQUEST_KEY},
	{"bpf", unix.SYS_BPF},
	{"perf_event_open", unix.SYS_PERF_EVENT_OPEN},
	{"userfaultfd", unix.SYS_USERFAULTFD},
	{"io_uring_setup", unix.SYS_IO_URING_SETUP},
	{"io_uring_enter", unix.SYS_IO_URING_ENTER},
	{"io_uring_register", unix.SYS_IO_URING_REGISTER},
	{"kexec_load", unix.SYS_KEXEC_LOAD},
	{"kexec_file_load", unix.SYS_KEXEC_FILE_LOAD},
	{"init_module", unix.SYS_INIT_MODULE},
	{"finit_module", unix.SYS_FINIT_MODULE},
	{"delete_module", unix.SYS_DELETE_MODULE},
}

// newNamespaces are clone's flags that make new namespaces.
const newNamespaces = unix.CLONE_NEWUSER | unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWNET |
	unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWCGROUP

// auditArch is the seccomp architecture of the running program, 0 where
// cairn has no filter for it.
func auditArch() uint32 {
	switch runtime.GOARCH {
	case "amd64":
		return unix.AUDIT_ARCH_X86_64
	case "arm64":
		return unix.AUDIT_ARCH_AARCH64
	}
	return 0
}

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArg0 = 16 // the low 32 bits of args[0] on a little-endian machine
)

// filter is the seccomp program. A system call of another architecture
// than the program's (a 32-bit program on a 64-bit kernel) kills the
// process: its numbers mean other calls. x32's calls (the 0x40000000
// bit on x86-64) and clone3, whose flags lie in memory a filter cannot
// read, get ENOSYS, so that C libraries fall back to clone.
func filter(arch uint32) []unix.SockFilter {
	const (
		ld   = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq  = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge  = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		jset = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
		ret  = unix.BPF_RET | unix.BPF_K
	)
	allow := unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ALLOW}
	eperm := unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)}
	enosys := unix.SockFilter{Code: ret, K: unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)}
	p := []unix.SockFilter{
		{Code: ld, K: offArch},
		{Code: jeq, K: arch, Jt: 1},
		{Code: ret, K: unix.SECCOMP_RET_KILL_PROCESS},
		{Code: ld, K: offNr},
	}
	if arch == unix.AUDIT_ARCH_X86_64 {
		p = append(p, unix.SockFilter{Code: jge, K: 0x40000000, Jf: 1}, enosys)
	}
	p = append(p, unix.SockFilter{Code: jeq, K: unix.SYS_CLONE3, Jf: 1}, enosys)
	// clone: its flags decide.
	p = append(p,
		unix.SockFilter{Code: jeq, K: unix.SYS_CLONE, Jf: 4},
		unix.SockFilter{Code: ld, K: offArg0},
		unix.SockFilter{Code: jset, K: newNamespaces, Jf: 1},
		eperm,
		allow,
	)
	for _, r := range Refused {
		p = append(p, unix.SockFilter{Code: jeq, K: uint32(r.Nr), Jf: 1}, eperm)
	}
	return append(p, allow)
}

// installFilter puts the seccomp filter on the calling thread, which
// must have no_new_privs; the programs it starts inherit it. Without a
// filter for the architecture it does nothing (security.md says so).
func installFilter() error {
	arch := auditArch()
	if arch == 0 {
		return nil
	}
	p := filter(arch)
	prog := unix.SockFprog{Len: uint16(len(p)), Filter: &p[0]}
	if err := unix.Prctl(unix.PR_SET_SECCOMP, unix.SECCOMP_MODE_FILTER, uintptr(unsafe.Pointer(&prog)), 0, 0); err != nil {
		return fmt.Errorf("install the seccomp filter: %w", err)
	}
	return nil
}
