// Package sandboxtest holds what tests and benchmarks compare the sandbox
// with: Chroot, the way cairn ran package scripts before it had a sandbox
// (and the way apk-tools runs them).
package sandboxtest

import (
	"context"
	"fmt"
	"os"
	"path"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/reexec"
	"github.com/cairnlinux/cairn/internal/sandbox"
)

// child is the name of the re-executed child that enters the root.
const child = "sandboxtest-chroot"

func init() { reexec.Register(child, runChild) }

// Chroot runs c chrooted into its root as full root, in a mount
// namespace of its own with proc, sysfs and the host's /dev mounted
// inside the root: no other confinement. c.Network, c.Hostname and c.Caps
// are ignored. It never runs scripts outside tests: it is the reference
// the sandbox must give the same trees as, and the cost it is measured
// against.
func Chroot(ctx context.Context, c sandbox.Command) error {
	args := append([]string{c.Root, c.Path, strconv.Itoa(len(c.Env))}, c.Env...)
	args = append(args, c.Args...)
	cmd := reexec.Command(child, args...)
	cmd.Stdout, cmd.Stderr = c.Stdout, c.Stderr
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS, // Go also makes / private in it
		Pdeathsig:    syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	stop()
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return sandbox.ExitError(err)
}

// runChild runs in the re-executed child, already in its own mount
// namespace: args are the root, the program's path inside it, the number
// of environment entries, those entries, and the program's argv.
func runChild(args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "sandboxtest-chroot: usage: ROOT PROGRAM NENV ENV... ARGV0 [ARG...]")
		return 127
	}
	root, prog := args[0], args[1]
	n, err := strconv.Atoi(args[2])
	if err != nil || n < 0 || 3+n > len(args) {
		fmt.Fprintln(os.Stderr, "sandboxtest-chroot: bad environment count")
		return 127
	}
	env, argv := args[3:3+n], args[3+n:]
	if len(argv) == 0 {
		argv = []string{prog}
	}
	if err := enterRoot(root); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path.Base(prog), err)
		return 127
	}
	unix.Umask(0o022)
	err = unix.Exec(prog, argv, env)
	fmt.Fprintf(os.Stderr, "%s: exec: %v\n", path.Base(prog), err)
	return 127
}

// enterRoot mounts proc, sysfs and the host's /dev inside root and
// chroots into it.
func enterRoot(root string) error {
	rootfd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", root, err)
	}
	defer unix.Close(rootfd)
	mounts := []struct {
		dir, source, fstype string
		flags               uintptr
	}{
		{"proc", "proc", "proc", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC},
		{"sys", "sysfs", "sysfs", unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY},
		{"dev", "/dev", "", unix.MS_BIND | unix.MS_REC},
	}
	for _, m := range mounts {
		if err := mountInRoot(rootfd, m.dir, m.source, m.fstype, m.flags); err != nil {
			return err
		}
	}
	if err := unix.Fchdir(rootfd); err != nil {
		return fmt.Errorf("chdir %s: %w", root, err)
	}
	if err := unix.Chroot("."); err != nil {
		return fmt.Errorf("chroot %s: %w", root, err)
	}
	return unix.Chdir("/")
}

// mountInRoot mounts onto dir of the root, resolved inside it.
func mountInRoot(rootfd int, dir, source, fstype string, flags uintptr) error {
	if err := unix.Mkdirat(rootfd, dir, 0o755); err != nil && err != unix.EEXIST {
		return fmt.Errorf("mkdir /%s: %w", dir, err)
	}
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	fd, err := unix.Openat2(rootfd, dir, &how)
	if err != nil {
		return fmt.Errorf("open /%s: %w", dir, err)
	}
	defer unix.Close(fd)
	target := fmt.Sprintf("/proc/self/fd/%d", fd)
	if err := unix.Mount(source, target, fstype, flags, ""); err != nil {
		return fmt.Errorf("mount %s on /%s: %w", source, dir, err)
	}
	return nil
}
