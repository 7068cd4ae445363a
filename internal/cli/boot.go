package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/store"
)

// syncBoot brings the boot directory in line with state and gens, when
// the store has a boot configuration (cairn boot setup): kernels and
// initramfs images copied, loader entries rewritten. Commands that change
// what boots call it before they write the new state, so that a failure
// (a full boot partition, a generation without a kernel) changes nothing.
//
// A boot directory that holds no cairn files yet (the boot partition is
// not mounted) is left alone with a warning, unless initial (boot setup
// and boot sync write it from scratch).
func syncBoot(g *Globals, s *store.Store, gens []store.Generation, state store.State) error {
	return syncBootDir(g, s, gens, state, false)
}

func syncBootDir(g *Globals, s *store.Store, gens []store.Generation, state store.State, initial bool) (err error) {
	cfg, err := boot.LoadConfig(s)
	if err != nil || cfg == nil {
		return err
	}
	loc, err := cfg.Locate()
	if err != nil {
		if initial {
			return fmt.Errorf("boot entries: %w", err)
		}
		fmt.Fprintf(g.Stderr, "cairn: warning: boot entries left as they are: %v; cairn boot sync writes them once it is there\n", err)
		return nil
	}
	defer func() {
		if rerr := loc.Release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	if !initial && !boot.Populated(loc.Dir) {
		fmt.Fprintf(g.Stderr, "cairn: warning: %s holds no boot entries of cairn's (is the boot partition mounted?): left as it is; cairn boot sync writes them\n", loc.How)
		return nil
	}
	hook, err := crashHook(g)
	if err != nil {
		return err
	}
	if gens == nil {
		if gens, err = s.Generations(); err != nil {
			return err
		}
	}
	opts := cfg.Options(hook)
	opts.BootDir = loc.Dir
	if err := boot.Sync(opts, gens, state); err != nil {
		return fmt.Errorf("boot entries in %s: %w", loc.How, err)
	}
	return nil
}

// changeState applies change to the store's state: the boot directory
// is synced with the state to be first, then the state is written.
func changeState(g *Globals, s *store.Store, change func(store.State) (store.State, error)) (store.State, error) {
	return changeStateBoot(g, s, change, false)
}

// changeStateBoot is changeState; with entriesMayLag, a failure to
// bring the boot entries in line (a full boot partition) is a warning
// and the state is written all the same. Only a change that keeps the
// next boot's generation and kernel, whose files the entries name
// already, may let them lag: confirming the booted trial.
func changeStateBoot(g *Globals, s *store.Store, change func(store.State) (store.State, error), entriesMayLag bool) (store.State, error) {
	cur, err := s.State()
	if err != nil {
		return cur, err
	}
	next, err := change(cur)
	if err != nil {
		return cur, err
	}
	if err := syncBoot(g, s, nil, next); err != nil {
		if !entriesMayLag {
			return cur, err
		}
		fmt.Fprintf(g.Stderr, "cairn: warning: %v: the entries stay as they are and still boot generation %d (cairn-init follows the state); make room (cairn gc), then run cairn boot sync\n", err, next.NextBoot())
	}
	return s.UpdateState(change)
}

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
			st, err := ss.s.State()
			if err != nil {
				return err
			}
			if o.Config.BootFS == "" {
				if err := o.Config.RecordFS(); err != nil {
					return err
				}
			}
			if err := boot.SaveConfig(ss.s, &o.Config); err != nil {
				return err
			}
			if err := syncBootDir(g, ss.s, nil, st, true); err != nil {
				return err
			}
			if o.JSON {
				return writeJSON(g.Stdout, bootReport{Store: ss.s.Dir(), Config: &o.Config, NextBoot: st.NextBoot()})
			}
			fmt.Fprintf(g.Stdout, "boot entries written to %s (%s); generation %d boots next\n", o.Config.BootDir, o.Config.Loader, st.NextBoot())
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
	cmd.AddCommand(setup, sync)
	return cmd
}

// bootReport is what cairn boot setup and sync print with --json.
type bootReport struct {
	Store    string       `json:"store"`
	Config   *boot.Config `json:"config"`
	NextBoot int          `json:"nextBoot"`
}

func runBootSync(ctx context.Context, g *Globals, o *StoreOptions, asJSON bool) error {
	ss, err := lockStore(ctx, g, o, fsckRepair)
	if err != nil {
		return err
	}
	defer ss.close()
	cfg, err := boot.LoadConfig(ss.s)
	if err != nil {
		return err
	}
	if cfg == nil {
		return fmt.Errorf("store %s has no boot configuration: run cairn boot setup first", ss.s.Dir())
	}
	st, err := ss.s.State()
	if err != nil {
		return err
	}
	if err := syncBootDir(g, ss.s, nil, st, true); err != nil {
		return err
	}
	if asJSON {
		return writeJSON(g.Stdout, bootReport{Store: ss.s.Dir(), Config: cfg, NextBoot: st.NextBoot()})
	}
	fmt.Fprintf(g.Stdout, "boot entries in %s are in line with the store\n", cfg.BootDir)
	return nil
}

// survivors lists gens without the numbers in drop.
func survivors(gens []store.Generation, drop []int) []store.Generation {
	return slices.DeleteFunc(slices.Clone(gens), func(g store.Generation) bool { return slices.Contains(drop, g.Number) })
}
