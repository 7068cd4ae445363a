//go:build linux

package install

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/reexec"
)

// scriptChild is the name of the re-executed child that runs a script.
const scriptChild = "apk-script"

func init() { reexec.Register(scriptChild, runScriptChild) }

// execScript writes a script to ROOT/lib/apk/exec and runs it chrooted
// into the root, with /proc, /sys and /dev mounted inside. The mounts are
// made by a re-executed child in a private mount namespace: they exist
// only for that child and the script it becomes, and vanish with them,
// however they end. It returns the script's combined output.
func (t *txn) execScript(ctx context.Context, name string, body []byte, argv []string) ([]byte, error) {
	if _, err := t.root.mkdirAll(scriptExecDir, 0o700, nil); err != nil {
		return nil, err
	}
	d, err := t.root.openDir(scriptExecDir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	w, err := d.createFile(name, 0o755)
	if err != nil {
		return nil, err
	}
	err = w.write(body)
	if err == nil {
		err = w.chmod(0o755)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	defer d.unlink(name)
	if err != nil {
		return nil, err
	}

	args := append([]string{t.root.path, "/" + scriptExecDir + "/" + name}, argv...)
	cmd := reexec.Command(scriptChild, args...)
	out := &tailBuffer{max: maxScriptOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = []string{}
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS, // Go also makes / private in it
		Pdeathsig:    syscall.SIGKILL,
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	stop()
	return out.Bytes(), exitError(err)
}

// exitError words a script's failure as apk does ("exited with error 1").
func exitError(err error) error {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	switch {
	case !ok:
		return err
	case ws.Signaled():
		return fmt.Errorf("killed by signal %d (%v)", ws.Signal(), ws.Signal())
	case ws.Exited():
		return fmt.Errorf("exited with error %d", ws.ExitStatus())
	}
	return err
}

// runScriptChild runs in the re-executed child, already in its own mount
// namespace: args are the root, the script's path inside it and the
// script's argv.
func runScriptChild(args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "apk-script: usage: ROOT SCRIPT ARGV0 [ARG...]")
		return 127
	}
	root, script, argv := args[0], args[1], args[2:]
	if err := enterRoot(root); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path.Base(script), err)
		return 127
	}
	unix.Umask(0o022)
	err := unix.Exec(script, argv, scriptEnv)
	fmt.Fprintf(os.Stderr, "%s: exec: %v\n", path.Base(script), err)
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

// mountInRoot mounts onto dir of the root, resolved inside it: the mount
// point is opened with RESOLVE_IN_ROOT and the mount goes onto that open
// directory, so a symlink in the root cannot send it to the host.
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
