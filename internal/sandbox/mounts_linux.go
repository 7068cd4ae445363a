//go:build linux

package sandbox

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// devices are the nodes of the sandbox's /dev, as a container runtime
// gives them: nothing that reaches hardware or the kernel's memory.
var devices = []struct {
	name         string
	major, minor uint32
}{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// devLinks are /dev's symbolic links.
var devLinks = [][2]string{
	{"ptmx", "pts/ptmx"},
	{"fd", "/proc/self/fd"},
	{"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"},
	{"stderr", "/proc/self/fd/2"},
}

// makeDev mounts a small tmpfs on the root's /dev and fills it: the
// devices above, a devpts instance of its own (ptmx, pts), a tmpfs for
// shm, the fd links. The host's /dev is not visible.
func makeDev(rootfd int) error {
	const flags = unix.MS_NOSUID | unix.MS_NOEXEC
	if err := mountIn(rootfd, "dev", true, "tmpfs", "tmpfs", flags, "mode=0755,size=1m,nr_inodes=64"); err != nil {
		return err
	}
	dev, err := openIn(rootfd, "dev", true)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	for _, d := range devices {
		if err := unix.Mknodat(dev, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor))); err != nil {
			return fmt.Errorf("mknod /dev/%s: %w", d.name, err)
		}
	}
	for _, l := range devLinks {
		if err := unix.Symlinkat(l[1], dev, l[0]); err != nil {
			return fmt.Errorf("symlink /dev/%s: %w", l[0], err)
		}
	}
	for _, d := range []string{"pts", "shm"} {
		if err := unix.Mkdirat(dev, d, 0o755); err != nil {
			return fmt.Errorf("mkdir /dev/%s: %w", d, err)
		}
	}
	// gid 5 is Alpine's tty group.
	if err := mountIn(dev, "pts", true, "devpts", "devpts", flags, "newinstance,ptmxmode=0666,mode=0620,gid=5"); err != nil {
		return err
	}
	return mountIn(dev, "shm", true, "shm", "tmpfs", flags|unix.MS_NODEV, "mode=1777,size=64m")
}

// procReadOnly are the parts of /proc that change the kernel when
// written (sysctls, sysrq, interrupt routing): read-only in the sandbox.
var procReadOnly = []string{"sys", "sysrq-trigger", "irq", "bus", "fs"}

// procMasked are the parts of /proc that show the host's kernel memory,
// keys or timers: hidden under an empty file or directory.
var procMasked = []string{"kcore", "keys", "timer_list", "sched_debug", "latency_stats", "acpi", "scsi"}

// mountProc mounts a proc of the sandbox's PID namespace on the root's
// /proc, with the parts above made read-only or masked (as Docker does).
// Masked parts also keep a nested user namespace from mounting a proc of
// its own (the kernel allows that only where a proc is fully visible).
func mountProc(rootfd int) error {
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	if err := mountIn(rootfd, "proc", true, "proc", "proc", flags, ""); err != nil {
		return err
	}
	proc, err := openIn(rootfd, "proc", true)
	if err != nil {
		return err
	}
	defer unix.Close(proc)
	for _, p := range procReadOnly {
		if err := bindReadOnly(proc, p); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("/proc/%s: %w", p, err)
		}
	}
	null, err := openIn(rootfd, "dev/null", false)
	if err != nil {
		return err
	}
	defer unix.Close(null)
	for _, p := range procMasked {
		if err := mask(proc, p, null); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("/proc/%s: %w", p, err)
		}
	}
	return nil
}

// mountSys mounts sysfs read-only on the root's /sys. In a network
// namespace of its own it shows only that namespace's interfaces.
func mountSys(rootfd int) error {
	const flags = unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC | unix.MS_RDONLY
	return mountIn(rootfd, "sys", true, "sysfs", "sysfs", flags, "")
}

// openIn opens name below dirfd as a path, resolved inside dirfd as if
// it were the root: a symbolic link in the root cannot lead a mount out
// to the host.
func openIn(dirfd int, name string, dir bool) (int, error) {
	how := unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if dir {
		how.Flags |= unix.O_DIRECTORY
	}
	fd, err := unix.Openat2(dirfd, name, &how)
	if err != nil {
		return -1, fmt.Errorf("open /%s: %w", name, err)
	}
	return fd, nil
}

// fdPath names an open file for mount(2).
func fdPath(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }

// mountIn mounts a file system on name below dirfd (a directory, made
// when missing, as chroot runners have always made /proc, /sys and /dev
// in a root that lacked them).
func mountIn(dirfd int, name string, mkdir bool, source, fstype string, flags uintptr, data string) error {
	if mkdir {
		if err := unix.Mkdirat(dirfd, name, 0o755); err != nil && err != unix.EEXIST {
			return fmt.Errorf("mkdir /%s: %w", name, err)
		}
	}
	fd, err := openIn(dirfd, name, true)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Mount(source, fdPath(fd), fstype, flags, data); err != nil {
		return fmt.Errorf("mount %s on /%s: %w", fstype, name, err)
	}
	return nil
}

// bindReadOnly makes name below dirfd a read-only bind mount of itself.
func bindReadOnly(dirfd int, name string) error {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW}
	fd, err := unix.Openat2(dirfd, name, &how)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.Mount(fdPath(fd), fdPath(fd), "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return err
	}
	// Reopen: the descriptor above names the file below the new mount.
	top, err := unix.Openat2(dirfd, name, &how)
	if err != nil {
		return err
	}
	defer unix.Close(top)
	const ro = unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC
	return unix.Mount("", fdPath(top), "", ro, "")
}

// mask hides name below dirfd: a file under the empty device null, a
// directory under an empty read-only tmpfs.
func mask(dirfd int, name string, null int) error {
	how := unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW}
	fd, err := unix.Openat2(dirfd, name, &how)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		return unix.Mount("tmpfs", fdPath(fd), "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=0555")
	}
	return unix.Mount(fdPath(null), fdPath(fd), "", unix.MS_BIND, "")
}
