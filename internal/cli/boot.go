package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/kexec"
)

// BootSetupOptions are the options of `cairn boot setup`.
type BootSetupOptions struct {
	Store  StoreOptions
	Config boot.Config
	JSON   bool
}

func newBootCommand(g *Globals) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "boot",
		Short: "Make the store's generations bootable: loader entries, kernels, initramfs",
	}
	o := &BootSetupOptions{}
	setup := &cobra.Command{
		Use:   "setup --boot-dir DIR --loader LOADER --root UUID=...|LABEL=...",
		Short: "Say where the boot directory is and how the loader boots the store, and write its entries",
		Long: `Record the boot configuration in the store (@cairn/boot.json) and write the
boot directory: each generation's kernel and initramfs (cairn-init with the
modules the root device needs), once per content, and the loader's entries:
"cairn", which boots the trial while it has tries and the default otherwise,
and one entry per generation (cairn.gen=N). From then on build, switch,
rollback, gc and confirm keep the entries in line with the store.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Config.Check(); err != nil {
				return asUsage(err)
			}
			ss, err := lockStore(cmd.Context(), g, &o.Store, fsckRepair)
			if err != nil {
				return err
			}
			defer ss.close()
			rep, err := ss.BootSetup(o.Config)
			if err != nil {
				return err
			}
			if o.JSON {
				return writeJSON(g.Stdout, rep)
			}
			fmt.Fprintf(g.Stdout, "boot entries written to %s (%s); generation %d boots next\n", rep.Config.BootDir, rep.Config.Loader, rep.NextBoot)
			return nil
		},
	}
	addStoreFlags(setup, &o.Store, true)
	f := setup.Flags()
	f.StringVar(&o.Config.BootDir, "boot-dir", "", "the boot directory: the mounted ESP or /boot partition")
	f.StringVar(&o.Config.BootFS, "boot-fs", "", "the file system holding the boot directory, UUID=... or LABEL=... (default: the one mounted at --boot-dir, when it is mounted there)")
	f.StringVar(&o.Config.PathPrefix, "path-prefix", "", "where the boot directory lies on its partition (\"/boot\" when it is a directory of the root partition)")
	f.StringVar(&o.Config.Loader, "loader", boot.Extlinux, "extlinux, grub or systemd-boot")
	f.StringVar(&o.Config.Root, "root", "", "root= for the kernel: UUID=... or LABEL=... of the store's btrfs")
	f.IntVar(&o.Config.Timeout, "timeout", 0, "seconds the menu waits")
	f.BoolVar(&o.Config.Serial, "serial", false, "the loader also uses the serial console ttyS0")
	f.StringSliceVar(&o.Config.Modules, "modules", nil, "kernel modules the initramfs carries besides the default ones")
	f.BoolVar(&o.JSON, "json", false, "print the boot configuration as JSON")
	f.StringVar(&o.Config.Initramfs, "initramfs", boot.InitramfsCairn, "cairn (cairn-init: trial boots that fall back) or mkinitfs (each generation's own /boot/initramfs-<flavor>, no trials)")

	var syncStore StoreOptions
	var syncJSON bool
	sync := &cobra.Command{
		Use:   "sync",
		Short: "Rewrite the boot directory from the store",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBootSync(cmd.Context(), g, &syncStore, syncJSON)
		},
	}
	addStoreFlags(sync, &syncStore, true)
	sync.Flags().BoolVar(&syncJSON, "json", false, "print the boot configuration as JSON")
	cmd.AddCommand(setup, sync, newKexecRebootCommand(g))
	return cmd
}

// newKexecRebootCommand is what `cairn switch --now --kexec` starts, in a
// session of its own with the console as its outputs, once the next
// boot's kernel is loaded: OpenRC's shutdown, then the loaded kernel.
func newKexecRebootCommand(g *Globals) *cobra.Command {
	return &cobra.Command{
		Use:   "kexec-reboot",
		Short: "Shut the system down and start the kernel loaded for kexec",
		Long: `Stop the system as its init does before a reboot (openrc shutdown), then
start the kernel cairn switch --now --kexec loaded. If it cannot be started
the system reboots through the firmware, which boots the same entry.
cairn switch --now --kexec runs it; it is not meant to be run by hand.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return kexec.Reboot(cmd.Context(), kexec.System{Output: g.Stderr}, g.Stderr)
		},
	}
}

func runBootSync(ctx context.Context, g *Globals, o *StoreOptions, asJSON bool) error {
	ss, err := lockStore(ctx, g, o, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	rep, err := ss.BootSync()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(g.Stdout, rep)
	}
	fmt.Fprintf(g.Stdout, "boot entries in %s are in line with the store\n", rep.Config.BootDir)
	return nil
}
