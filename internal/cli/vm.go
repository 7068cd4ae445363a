package cli

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/vm"
)

// VMOptions are the options of `cairn vm`.
type VMOptions struct {
	Config  vm.Config
	KVM     bool
	UEFI    string
	Expect  string
	Timeout time.Duration
	Keep    bool
}

// ExitNoMatch is cairn vm's exit code when the expected line did not come.
const ExitNoMatch = ExitFailure

func newVMCommand(g *Globals) *cobra.Command {
	o := &VMOptions{}
	cmd := &cobra.Command{
		Use:   "vm [DISK.img...] [--kernel K --initrd I --append A] [--expect REGEX --timeout 5m]",
		Short: "Boot a disk image (or a kernel and initramfs) under qemu, its serial console on stdout",
		Long: `Boot under qemu: the first disk through its firmware (BIOS, or UEFI with
--uefi OVMF_CODE.fd), or a kernel and initramfs directly. The serial console
goes to standard output. With --expect, cairn vm waits for a console line
matching the regular expression and stops the machine: exit 0 when it came,
1 when the machine stopped or --timeout passed first. Software emulation
(TCG) works everywhere; --kvm uses KVM.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			for _, a := range args {
				o.Config.Disks = append(o.Config.Disks, vm.Disk{Path: a})
			}
			return runVM(cmd.Context(), o, g)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Config.Kernel, "kernel", "", "boot this kernel directly")
	f.StringVar(&o.Config.Initrd, "initrd", "", "with --kernel: this initramfs")
	f.StringVar(&o.Config.Append, "append", "", "with --kernel: this command line")
	f.IntVar(&o.Config.MemoryMiB, "memory", 512, "memory in MiB")
	f.IntVar(&o.Config.CPUs, "cpus", 1, "processors")
	f.BoolVar(&o.Config.NoReboot, "no-reboot", false, "stop the machine when it reboots or panics")
	f.BoolVar(&o.KVM, "kvm", false, "use KVM instead of software emulation")
	f.StringVar(&o.UEFI, "uefi", "", "boot through UEFI with this OVMF firmware (OVMF_CODE.fd)")
	f.StringVar(&o.Expect, "expect", "", "wait for a console line matching this regular expression, then stop")
	f.DurationVar(&o.Timeout, "timeout", 10*time.Minute, "with --expect: how long to wait")
	return cmd
}

func runVM(ctx context.Context, o *VMOptions, g *Globals) error {
	if len(o.Config.Disks) == 0 && o.Config.Kernel == "" {
		return usagef("give a disk image or --kernel")
	}
	var re *regexp.Regexp
	if o.Expect != "" {
		var err error
		if re, err = regexp.Compile(o.Expect); err != nil {
			return usagef("--expect %q: %v", o.Expect, err)
		}
	}
	if o.KVM {
		o.Config.Accel = "kvm"
	}
	if o.UEFI != "" {
		o.Config.Args = append(o.Config.Args, "-bios", o.UEFI)
	}
	o.Config.Log = g.Stdout
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	m, err := vm.Start(ctx, o.Config)
	if err != nil {
		return err
	}
	defer m.Close()
	if re == nil {
		return m.Wait(365 * 24 * time.Hour)
	}
	if _, err := m.Expect(re, o.Timeout); err != nil {
		var te *vm.TimeoutError
		var ee *vm.ExitedError
		switch {
		case errors.As(err, &te):
			return withCode(ExitNoMatch, fmt.Errorf("no console line matched %q within %s", o.Expect, o.Timeout))
		case errors.As(err, &ee):
			return withCode(ExitNoMatch, fmt.Errorf("the machine stopped before a console line matched %q", o.Expect))
		}
		return err
	}
	fmt.Fprintf(g.Stderr, "cairn vm: matched %q; stopping the machine\n", o.Expect)
	return nil
}
