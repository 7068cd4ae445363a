package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/vm"
)

// VMOptions are the options of `cairn vm`.
type VMOptions struct {
	Config vm.Config
	KVM    bool
	UEFI   string
	// Forwards are --forward's values, [tcp:|udp:][HOSTADDR:]HOSTPORT:GUESTPORT.
	Forwards []string
	Expect   string
	Timeout  time.Duration
	Keep     bool
}

// ExitNoMatch is cairn vm's exit code when the expected line did not come.
const ExitNoMatch = ExitFailure

// escapeKey stops the machine from an interactive console: Ctrl-], as in
// telnet and virsh console.
const escapeKey = 0x1d

func newVMCommand(g *Globals) *cobra.Command {
	o := &VMOptions{}
	cmd := &cobra.Command{
		Use:   "vm [DISK.img...] [--kernel K --initrd I --append A] [--forward 2222:22] [--expect REGEX --timeout 5m]",
		Short: "Boot a disk image (or a kernel and initramfs) under qemu, its serial console on stdout",
		Long: `Boot under qemu: the first disk through its firmware (BIOS, or UEFI with
--uefi OVMF_CODE.fd), or a kernel and initramfs directly. The serial console
goes to standard output as it comes (a login prompt shows at once). When
standard input and output are a terminal, what you type goes to the console
as typed (Ctrl-C too); Ctrl-] stops the machine. Input from a pipe goes to
the console as it is.

With --expect, cairn vm waits for console output matching the regular
expression and stops the machine: exit 0 when it came, 1 when the machine
stopped or --timeout passed first. Lines are matched one at a time without
their line ends, the line still being written as far as it has come, so
--expect 'login: $' stops at a login prompt.

--net gives the machine a virtio-net NIC on qemu's user-mode network: the
guest takes 10.0.2.15/24 by DHCP (gateway 10.0.2.2, the host's network
through NAT; DNS 10.0.2.3). --forward HOSTPORT:GUESTPORT (repeatable, implies
--net) forwards a port of the host to the guest, e.g. --forward 2222:22 and
then ssh -p 2222 user@127.0.0.1. Forwards listen on 127.0.0.1 unless the
value names another address (0.0.0.0:2222:22); udp:5353:53 forwards UDP; a
host port of 0 takes a free one (cairn vm says which). The guest needs the
virtio_net driver: a module of Debian's kernels and Alpine's linux-virt,
with failover and net_failover, on virtio_pci; and something that brings
eth0 up (dhcpcd, udhcpc, ifupdown's "iface eth0 inet dhcp").

Software emulation (TCG) works everywhere; --kvm uses KVM.`,
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
	f.BoolVar(&o.Config.Net, "net", false, "a virtio-net NIC on qemu's user-mode network")
	f.StringArrayVar(&o.Forwards, "forward", nil, "forward `[tcp:|udp:][HOSTADDR:]HOSTPORT:GUESTPORT` of the host (127.0.0.1) to the guest; repeatable")
	f.StringVar(&o.Config.QEMU, "qemu", "qemu-system-x86_64", "the emulator")
	f.BoolVar(&o.KVM, "kvm", false, "use KVM instead of software emulation")
	f.StringVar(&o.UEFI, "uefi", "", "boot through UEFI with this OVMF firmware (OVMF_CODE.fd)")
	f.StringVar(&o.Expect, "expect", "", "wait for console output matching this regular expression, then stop")
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
	for _, s := range o.Forwards {
		fw, err := vm.ParseForward(s)
		if err != nil {
			return withCode(ExitUsage, fmt.Errorf("--forward: %w", err))
		}
		o.Config.Forwards = append(o.Config.Forwards, fw)
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
	for _, fw := range m.Forwards() {
		fmt.Fprintf(g.Stderr, "cairn vm: forwarding %s\n", fw)
	}
	escaped := make(chan struct{})
	restore, err := connectInput(g, m, escaped)
	if err != nil {
		return err
	}
	defer restore()
	stoppedByKey := func() bool {
		select {
		case <-escaped:
			fmt.Fprintln(g.Stderr, "\r\ncairn vm: Ctrl-]: the machine is stopped")
			return true
		default:
			return false
		}
	}
	if re == nil {
		err := m.Wait(365 * 24 * time.Hour)
		if err != nil && stoppedByKey() {
			return nil
		}
		return err
	}
	if _, err := m.Expect(re, o.Timeout); err != nil {
		if stoppedByKey() {
			return nil
		}
		var te *vm.TimeoutError
		var ee *vm.ExitedError
		switch {
		case errors.As(err, &te):
			return withCode(ExitNoMatch, fmt.Errorf("no console output matched %q within %s", o.Expect, o.Timeout))
		case errors.As(err, &ee):
			return withCode(ExitNoMatch, fmt.Errorf("the machine stopped before console output matched %q", o.Expect))
		}
		return err
	}
	fmt.Fprintf(g.Stderr, "cairn vm: matched %q; stopping the machine\n", o.Expect)
	return nil
}

// connectInput copies standard input to the machine's console. A
// terminal (with the output a terminal too: a person at the console) is
// put in raw mode, and Ctrl-] stops the machine, closing escaped. A
// terminal whose output goes elsewhere (a script's pipe) is not read: the
// keys stay with whoever runs the script. restore undoes the raw mode.
func connectInput(g *Globals, m *vm.VM, escaped chan struct{}) (restore func(), err error) {
	restore = func() {}
	if g.Stdin == nil {
		return restore, nil
	}
	raw := false
	if in, ok := g.Stdin.(*os.File); ok && isTerminal(in) {
		out, ok := g.Stdout.(*os.File)
		if !ok || !isTerminal(out) {
			return restore, nil
		}
		if restore, err = rawTerminal(in); err != nil {
			return nil, fmt.Errorf("the console's terminal: %w", err)
		}
		raw = true
		fmt.Fprint(g.Stderr, "cairn vm: the console is yours; Ctrl-] stops the machine\r\n")
	}
	go copyInput(g.Stdin, m, raw, escaped)
	return restore, nil
}

// copyInput sends what is read to the console until the input ends or,
// when escape is set, the escape key comes; then it stops the machine.
func copyInput(r io.Reader, m *vm.VM, escape bool, escaped chan struct{}) {
	buf := make([]byte, 256)
	for {
		n, err := r.Read(buf)
		data := buf[:n]
		if i := bytes.IndexByte(data, escapeKey); escape && i >= 0 {
			m.Send(string(data[:i]))
			close(escaped)
			m.Close()
			return
		}
		if n > 0 && m.Send(string(data)) != nil {
			return // the machine is gone
		}
		if err != nil {
			return
		}
	}
}
