// Package kexec starts another kernel without the firmware: the kernel
// and initramfs of a boot entry loaded with kexec_file_load(2), then the
// system shut down as its init would and the loaded kernel started
// (docs/live-switch.md, "Another kernel: kexec").
package kexec

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// Image is what a kexec boot loads: a boot entry's files and command line.
type Image struct {
	Kernel, Initrd, Cmdline string
}

// ErrUnavailable says the running kernel cannot kexec: built without it,
// or disabled (kernel.kexec_load_disabled, lockdown). A firmware reboot
// is the way then.
var ErrUnavailable = errors.New("kexec is not available on this kernel")

// Machine is what a kexec reboot does to the running system.
type Machine interface {
	// Shutdown stops the system as its init does before a reboot
	// (OpenRC's shutdown runlevel: services stopped, remaining
	// processes outside the caller's session killed, file systems
	// remounted read-only).
	Shutdown(ctx context.Context) error
	// Sync flushes every file system.
	Sync()
	// Kexec starts the loaded kernel; it returns only on failure.
	Kexec() error
	// Restart reboots through the firmware; it returns only on failure.
	Restart() error
}

// Reboot shuts the system down and starts the loaded kernel. The system
// is going down either way once the shutdown has begun: when the kernel
// cannot be started it reboots through the firmware, which boots the
// same entry the kexec would have (the loader's next boot). Progress is
// written to log (the console).
func Reboot(ctx context.Context, m Machine, log io.Writer) error {
	fmt.Fprintln(log, "cairn: shutting down to start the next boot's kernel with kexec")
	if err := m.Shutdown(ctx); err != nil {
		fmt.Fprintf(log, "cairn: shutdown: %v (going on: the system is going down)\n", err)
	}
	m.Sync()
	err := m.Kexec()
	fmt.Fprintf(log, "cairn: kexec: %v: rebooting through the firmware instead\n", err)
	m.Sync()
	rerr := m.Restart()
	return errors.Join(fmt.Errorf("kexec: %w", err), rerr)
}
