package node

import (
	"errors"
	"fmt"
	"slices"
	"syscall"

	"github.com/cairnlinux/cairn/internal/boot"
	"github.com/cairnlinux/cairn/internal/store"
)

// BootReport is what BootSetup and BootSync did: the configuration the
// entries follow and what boots next.
type BootReport struct {
	Store    string       `json:"store"`
	Config   *boot.Config `json:"config"`
	NextBoot int          `json:"nextBoot"`
}

// BootSetup records cfg as the store's boot configuration
// (@cairn/boot.json) and writes the boot directory from scratch: each
// generation's kernel and initramfs, once per content, and the loader's
// entries. From then on every change of what boots keeps the entries in
// line. cfg must have passed cfg.Check; its BootFS is recorded when
// empty.
func (ss *Session) BootSetup(cfg boot.Config) (BootReport, error) {
	st, err := ss.Store.State()
	if err != nil {
		return BootReport{}, err
	}
	if cfg.BootFS == "" {
		if err := cfg.RecordFS(); err != nil {
			return BootReport{}, err
		}
	}
	if err := boot.SaveConfig(ss.Store, &cfg); err != nil {
		return BootReport{}, err
	}
	if err := ss.syncBootDir(nil, st, true); err != nil {
		return BootReport{}, err
	}
	return BootReport{Store: ss.Store.Dir(), Config: &cfg, NextBoot: st.NextBoot()}, nil
}

// BootSync rewrites the boot directory from the store.
func (ss *Session) BootSync() (BootReport, error) {
	cfg, err := boot.LoadConfig(ss.Store)
	if err != nil {
		return BootReport{}, err
	}
	if cfg == nil {
		return BootReport{}, fmt.Errorf("store %s has no boot configuration: run cairn boot setup first", ss.Store.Dir())
	}
	st, err := ss.Store.State()
	if err != nil {
		return BootReport{}, err
	}
	if err := ss.syncBootDir(nil, st, true); err != nil {
		return BootReport{}, err
	}
	return BootReport{Store: ss.Store.Dir(), Config: cfg, NextBoot: st.NextBoot()}, nil
}

// syncBoot brings the boot directory in line with state and gens (nil:
// the store's generations), when the store has a boot configuration
// (cairn boot setup): kernels and initramfs images copied, loader
// entries rewritten. Operations that change what boots call it before
// they write the new state, so that a failure (a full boot partition, a
// generation without a kernel) changes nothing.
//
// A boot directory taken at its word (no boot file system recorded) that
// holds no cairn files yet (the boot partition is not mounted) is left
// alone with a warning, unless initial (boot setup and boot sync write it
// from scratch).
func (ss *Session) syncBoot(gens []store.Generation, state store.State) error {
	return ss.syncBootDir(gens, state, false)
}

func (ss *Session) syncBootDir(gens []store.Generation, state store.State, initial bool) (err error) {
	s := ss.Store
	cfg, err := boot.LoadConfig(s)
	if err != nil || cfg == nil {
		return err
	}
	loc, err := ss.locateBoot(cfg)
	if err != nil {
		if initial {
			return fmt.Errorf("boot entries: %w", err)
		}
		ss.opts.warn("boot entries left as they are: %v; cairn boot sync writes them once it is there", err)
		return nil
	}
	defer func() {
		if rerr := loc.Release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	// A boot directory taken at its word may be an empty mount point:
	// without cairn's files in it, it is not written. One Locate found by
	// its file system's UUID is the boot file system, whatever it holds
	// (a repair after a power cut may have removed the index).
	if !initial && cfg.BootFS == "" && !boot.Populated(loc.Dir) {
		ss.opts.warn("%s holds no boot entries of cairn's (is the boot partition mounted?): left as it is; cairn boot sync writes them", loc.How)
		return nil
	}
	if gens == nil {
		if gens, err = s.Generations(); err != nil {
			return err
		}
	}
	opts := cfg.Options(ss.opts.CrashHook)
	opts.BootDir = loc.Dir
	if err := boot.Sync(opts, gens, state); err != nil {
		if errors.Is(err, syscall.EROFS) {
			// Linux remounts a FAT file system read-only when it meets
			// damage on it (FAT has no journal: a power cut during a
			// write leaves some). One cairn mounts itself it checks
			// and repairs first; one mounted by the system is not.
			return fmt.Errorf("boot entries in %s: %w (the boot file system is read-only: if it is FAT, Linux found damage on it, see dmesg; unmount it and run fsck.vfat -a on its device, or take it out of fstab and cairn checks and repairs it before each use)", loc.How, err)
		}
		return fmt.Errorf("boot entries in %s: %w", loc.How, err)
	}
	return nil
}

// nextBoot calls use with the boot entry the loader boots next for st,
// its files in the boot directory (mounted for the call when it was not).
func (ss *Session) nextBoot(st store.State, use func(boot.Entry) error) (err error) {
	cfg, err := boot.LoadConfig(ss.Store)
	if err != nil {
		return err
	}
	if cfg == nil {
		return fmt.Errorf("store %s has no boot configuration (cairn boot setup): nothing says which kernel boots next", ss.Store.Dir())
	}
	loc, err := ss.locateBoot(cfg)
	if err != nil {
		return fmt.Errorf("boot entries: %w", err)
	}
	defer func() {
		if rerr := loc.Release(); rerr != nil && err == nil {
			err = rerr
		}
	}()
	gens, err := ss.Store.Generations()
	if err != nil {
		return err
	}
	opts := cfg.Options(ss.opts.CrashHook)
	opts.BootDir = loc.Dir
	e, err := boot.NextBoot(opts, gens, st)
	if err != nil {
		return err
	}
	return use(e)
}

// changeState applies change to the store's state, keeping the node
// bootable at every instant: the boot directory is synced with the state
// to be first, then the state is written (one atomic rename). A failure
// to write the entries changes nothing.
func (ss *Session) changeState(change func(store.State) (store.State, error)) (store.State, error) {
	return ss.changeStateBoot(change, false)
}

// changeStateBoot is changeState; with entriesMayLag, a failure to
// bring the boot entries in line (a full boot partition) is a warning
// and the state is written all the same. Only a change that keeps the
// next boot's generation and kernel, whose files the entries name
// already, may let them lag: confirming the booted trial.
func (ss *Session) changeStateBoot(change func(store.State) (store.State, error), entriesMayLag bool) (store.State, error) {
	s := ss.Store
	cur, err := s.State()
	if err != nil {
		return cur, err
	}
	next, err := change(cur)
	if err != nil {
		return cur, err
	}
	if err := ss.syncBoot(nil, next); err != nil {
		if !entriesMayLag {
			return cur, err
		}
		ss.opts.warn("%v: the entries stay as they are and still boot generation %d (cairn-init follows the state); make room (cairn gc), then run cairn boot sync", err, next.NextBoot())
	}
	return s.UpdateState(change)
}

// survivors lists gens without the numbers in drop.
func survivors(gens []store.Generation, drop []int) []store.Generation {
	return slices.DeleteFunc(slices.Clone(gens), func(g store.Generation) bool { return slices.Contains(drop, g.Number) })
}

// locateBoot is cfg.Locate, saying as warnings what it repaired on the
// boot file system before mounting it.
func (ss *Session) locateBoot(cfg *boot.Config) (*boot.Located, error) {
	loc, err := cfg.Locate()
	if loc != nil {
		for _, p := range loc.Repaired {
			ss.opts.warn("fsck: repaired the boot file system %s: %s", cfg.BootFS, p)
		}
	}
	return loc, err
}

// fsckBoot checks and repairs the boot file system (a FAT one, when
// cairn mounts it itself: boot.Locate), as problems of the store's.
func (ss *Session) fsckBoot() []store.Problem {
	cfg, err := boot.LoadConfig(ss.Store)
	if err != nil || cfg == nil || cfg.BootFS == "" {
		return nil
	}
	loc, err := cfg.Locate()
	if err != nil {
		// Not on this machine (a build host without the disk): nothing
		// to check; the commands that write entries say so.
		return nil
	}
	var problems []store.Problem
	for _, p := range loc.Repaired {
		where := "boot file system " + cfg.BootFS
		if p.Path != "" {
			where += " " + p.Path
		}
		problems = append(problems, store.Problem{Path: where, Problem: p.What, Repair: p.Repair, Repaired: true})
	}
	if err := loc.Release(); err != nil {
		ss.opts.warn("%v", err)
	}
	return problems
}
