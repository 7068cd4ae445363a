package sandbox

import (
	"encoding/binary"
	"runtime"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// TestFilter runs the seccomp program in x/net/bpf's machine over
// system calls a sandboxed program makes. The machine loads words big
// endian, as from a packet, where the kernel loads struct seccomp_data's
// in the host's order: the calls are written big endian here, so both
// read the same values.
func TestFilter(t *testing.T) {
	arch := auditArch()
	if arch == 0 {
		// No filter for this architecture (security.md says so):
		// installing it must then change nothing.
		if err := installFilter(); err != nil {
			t.Fatalf("installFilter without a filter for %s: %v", runtime.GOARCH, err)
		}
		return
	}
	raw := filter(arch)
	prog := make([]bpf.Instruction, len(raw))
	for i, f := range raw {
		prog[i] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}.Disassemble()
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	call := func(arch uint32, nr uint32, arg0 uint32) uint32 {
		data := make([]byte, 64)
		binary.BigEndian.PutUint32(data[offNr:], nr)
		binary.BigEndian.PutUint32(data[offArch:], arch)
		binary.BigEndian.PutUint32(data[offArg0:], arg0)
		out, err := vm.Run(data)
		if err != nil {
			t.Fatal(err)
		}
		return uint32(out)
	}
	const (
		allow  = unix.SECCOMP_RET_ALLOW
		eperm  = unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM)
		enosys = unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS)
	)
	for _, tc := range []struct {
		name      string
		arch, nr  uint32
		arg0, ret uint32
	}{
		{"read", arch, unix.SYS_READ, 0, allow},
		{"execve", arch, unix.SYS_EXECVE, 0, allow},
		{"fork (clone)", arch, unix.SYS_CLONE, uint32(unix.SIGCHLD), allow},
		{"a thread", arch, unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_THREAD, allow},
		{"vfork (clone)", arch, unix.SYS_CLONE, unix.CLONE_VM | unix.CLONE_VFORK | uint32(unix.SIGCHLD), allow},
		{"clone into a user namespace", arch, unix.SYS_CLONE, unix.CLONE_NEWUSER | uint32(unix.SIGCHLD), eperm},
		{"clone into a mount namespace", arch, unix.SYS_CLONE, unix.CLONE_NEWNS, eperm},
		{"clone3", arch, unix.SYS_CLONE3, 0, enosys},
		{"unshare", arch, unix.SYS_UNSHARE, unix.CLONE_NEWUSER, eperm},
		{"keyctl", arch, unix.SYS_KEYCTL, 0, eperm},
		{"bpf", arch, unix.SYS_BPF, 0, eperm},
		{"io_uring_setup", arch, unix.SYS_IO_URING_SETUP, 0, eperm},
		{"another architecture", unix.AUDIT_ARCH_I386, unix.SYS_READ, 0, unix.SECCOMP_RET_KILL_PROCESS},
	} {
		if got := call(tc.arch, tc.nr, tc.arg0); got != tc.ret {
			t.Errorf("%s: %#x, want %#x", tc.name, got, tc.ret)
		}
	}
	for _, r := range Refused {
		if got := call(arch, uint32(r.Nr), 0); got != eperm {
			t.Errorf("%s: %#x, want EPERM", r.Name, got)
		}
	}
	if arch == unix.AUDIT_ARCH_X86_64 {
		if got := call(arch, 0x40000000|unix.SYS_READ, 0); got != enosys {
			t.Errorf("an x32 call: %#x, want ENOSYS", got)
		}
	}
}
