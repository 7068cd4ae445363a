package kexec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Available says whether the running kernel can load an image: it has
// kexec (/sys/kernel/kexec_loaded) and loading is not disabled.
func Available() error {
	if _, err := os.Stat("/sys/kernel/kexec_loaded"); err != nil {
		return fmt.Errorf("%w: it was built without it (no /sys/kernel/kexec_loaded)", ErrUnavailable)
	}
	if b, err := os.ReadFile("/proc/sys/kernel/kexec_load_disabled"); err == nil && strings.TrimSpace(string(b)) != "0" {
		return fmt.Errorf("%w: kernel.kexec_load_disabled is set", ErrUnavailable)
	}
	return nil
}

// Load loads img as the kernel the next kexec starts, replacing one
// loaded before.
func Load(img Image) error {
	kernel, err := os.Open(img.Kernel)
	if err != nil {
		return err
	}
	defer kernel.Close()
	initrd, err := os.Open(img.Initrd)
	if err != nil {
		return err
	}
	defer initrd.Close()
	err = unix.KexecFileLoad(int(kernel.Fd()), int(initrd.Fd()), img.Cmdline, 0)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("%w: no kexec_file_load", ErrUnavailable)
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: loading is not permitted (kernel.kexec_load_disabled, or lockdown)", ErrUnavailable)
	case errors.Is(err, unix.EKEYREJECTED), errors.Is(err, unix.EBADMSG):
		return fmt.Errorf("load %s: the kernel demands a signed image and this one's signature was refused: %w", img.Kernel, err)
	default:
		return fmt.Errorf("load %s with kexec_file_load: %w", img.Kernel, err)
	}
}

// Unload drops a loaded image.
func Unload() error {
	if err := unix.KexecFileLoad(-1, -1, "", unix.KEXEC_FILE_UNLOAD|unix.KEXEC_FILE_NO_INITRAMFS); err != nil {
		return fmt.Errorf("unload the kexec image: %w", err)
	}
	return nil
}

// Loaded says whether an image is loaded.
func Loaded() bool {
	b, err := os.ReadFile("/sys/kernel/kexec_loaded")
	return err == nil && strings.TrimSpace(string(b)) == "1"
}

// Detach starts argv in a session of its own, with the console as its
// standard input and outputs, and does not wait for it: as init starts
// its shutdown actions. The caller's session (an ssh login) ends during
// the shutdown; the detached program does not.
func Detach(argv []string) error {
	console, err := os.OpenFile("/dev/console", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		if console, err = os.OpenFile(os.DevNull, os.O_RDWR, 0); err != nil {
			return err
		}
	}
	defer console.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = console, console, console
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", strings.Join(argv, " "), err)
	}
	return cmd.Process.Release()
}

// System is the running Linux system as a Machine.
type System struct {
	// ShutdownCommand stops the system as its init's shutdown action
	// does; ["openrc", "shutdown"] when empty.
	ShutdownCommand []string
	// Output takes the shutdown command's outputs (the console).
	Output io.Writer
}

// Shutdown runs the shutdown command.
func (s System) Shutdown(ctx context.Context) error {
	argv := s.ShutdownCommand
	if len(argv) == 0 {
		argv = []string{"openrc", "shutdown"}
	}
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = s.Output, s.Output
	return cmd.Run()
}

// Sync flushes every file system.
func (System) Sync() { unix.Sync() }

// Kexec starts the loaded kernel.
func (System) Kexec() error {
	if !Loaded() {
		return errors.New("no kernel is loaded")
	}
	return unix.Reboot(unix.LINUX_REBOOT_CMD_KEXEC)
}

// Restart reboots through the firmware.
func (System) Restart() error { return unix.Reboot(unix.LINUX_REBOOT_CMD_RESTART) }
