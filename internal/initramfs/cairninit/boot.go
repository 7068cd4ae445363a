// Package cairninit is cairn-init, the /init of cairn's initramfs, as a
// library: cmd/cairn-init only calls Run with the real machine. It mounts
// the kernel file systems, loads the initramfs's modules, waits for the
// store's device, chooses a generation from @cairn/state.json (counting a
// trial's try down before it boots), mounts that generation read-only as
// the new root with tmpfs /run and /tmp and its persistent directories,
// and switches root to its init. In an initramfs that holds a whole
// system (a RAM system, layout.RAMDir) it starts that system instead: moved
// into a tmpfs, with its persistent directories from the device
// cairn.persist= names. docs/boot.md tells the whole story.
//
// Side effects go through Machine, so the sequence (what is written
// before what is mounted, the fallbacks, the rescue shell) is tested with
// a fake; the choice itself is the pure Choose.
package cairninit

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Machine is what cairn-init does to the system, step by step. The real
// one (NewMachine) works on the initramfs's own root as PID 1.
type Machine interface {
	// MountKernelFS mounts /proc, /sys and a devtmpfs on /dev.
	MountKernelFS() error
	// Cmdline returns the kernel command line.
	Cmdline() (string, error)
	// Uptime returns the time since the kernel started.
	Uptime() (time.Duration, error)
	// LoadModules loads the initramfs's modules in dependency order,
	// reporting each failure to log (a missing driver may not matter).
	LoadModules(log *Log) error
	// FindRoot waits up to wait for the device root names and returns
	// the devices of its file system.
	FindRoot(root RootSpec, wait time.Duration, log *Log) ([]Device, error)
	// MountStore mounts the file system's top level read-write and
	// returns where.
	MountStore(devs []Device, fstype, flags string) (string, error)
	// Prepare mounts generation n of the store at top as the new root
	// (read-only, tmpfs /run and /tmp, persistent directories, /run's
	// records of the boot) and returns the init to start in it: init
	// when given, else the first of DefaultInits that exists.
	Prepare(top string, n int, init string, log *Log) (string, error)
	// Undo unmounts what Prepare mounted.
	Undo() error
	// GrowStore fits the store's partition and file system to its disk
	// (disk.Grow): dev is the device mounted read-write at top. It
	// returns what it did, "" when there was nothing to do.
	GrowStore(dev, top string) (string, error)
	// SwitchRoot makes the prepared root "/" and executes init in it. It
	// returns only when that failed.
	SwitchRoot(init string, args []string) error
	// RAMImage reports whether the initramfs holds a whole system to
	// start from RAM (layout.RAMDir exists).
	RAMImage() bool
	// PrepareRAM makes the new root of a RAM system: a tmpfs (with the
	// mount options flags, rootflags=) into which the initramfs's files
	// are moved, with tmpfs /run and /tmp, and returns the init to start
	// in it, as Prepare does. Called again after a failure, it does not
	// move anything twice.
	PrepareRAM(flags, init string, log *Log) (string, error)
	// MountPersist mounts the persistence device (its devices devs,
	// file system fstype) at layout.RAMPersist in the new root and mounts the
	// system's persistent directories from it.
	MountPersist(devs []Device, fstype string, log *Log) error
	// Shell runs the initramfs's shell on the console and returns when
	// it exits; ErrNoShell when the initramfs has none.
	Shell() error
	// Halt stops for good: it never returns on a real machine.
	Halt()
}

// ErrNoShell says the initramfs has no /bin/sh.
var ErrNoShell = errors.New("the initramfs has no shell (/bin/sh)")

// Run is cairn-init: it boots a generation through m, writing its lines
// to console; args are passed on to the generation's init. It returns
// only when nothing could boot, no shell was there to repair things, and
// m.Halt returned (a real Halt does not).
func Run(m Machine, console io.Writer, args []string) error {
	log := &Log{W: console}
	kernelErr := m.MountKernelFS()
	line, err := m.Cmdline()
	if err != nil {
		log.Errorf("read the kernel command line: %v", err)
	}
	c := ParseCmdline(line)
	log.Quiet = c.Quiet
	if up, err := m.Uptime(); err == nil {
		log.Infof("started %.2f s after the kernel", up.Seconds())
	}
	if kernelErr != nil {
		log.Errorf("mount /proc, /sys, /dev: %v", kernelErr)
	}
	for _, p := range c.Problems {
		log.Errorf("kernel command line: %s", p)
	}
	mode := ChooseMode(c, m.RAMImage())
	if mode.Problem != "" {
		log.Errorf("%s", mode.Problem)
	}
	if mode.Note != "" {
		log.Infof("%s", mode.Note)
	}
	if err := m.LoadModules(log); err != nil {
		log.Errorf("load modules: %v", err)
	}
	if mode.Mode == RAMMode {
		return runRAM(m, c, args, log)
	}
	top, err := mountStore(m, c, log)
	if err != nil {
		log.Errorf("%v", err)
	}
	if c.Break {
		log.Errorf("cairn.break: starting a shell; the store is mounted at %s (empty if not); exit to go on booting", top)
		if err := m.Shell(); err != nil {
			log.Errorf("cairn.break: %v", err)
		}
	}
	for {
		if top != "" {
			err = bootFrom(m, top, c, args, log)
			log.Errorf("nothing can boot: %v", err)
		}
		log.Errorf("starting a rescue shell; exit it to try booting again")
		if serr := m.Shell(); serr != nil {
			log.Errorf("%v; halting", serr)
			m.Halt()
			return fmt.Errorf("nothing can boot: %w", err)
		}
		if top == "" {
			if top, err = mountStore(m, c, log); err != nil {
				log.Errorf("%v", err)
			}
		}
	}
}

// mountStore finds the root device and mounts its top level.
func mountStore(m Machine, c Cmdline, log *Log) (string, error) {
	spec, err := ParseRoot(c.Root)
	if err != nil {
		return "", err
	}
	devs, err := m.FindRoot(spec, c.RootWait, log)
	if err != nil {
		return "", fmt.Errorf("root device %s: %w", spec, err)
	}
	flags, dropped := topFlags(c.RootFlags)
	if len(dropped) > 0 {
		log.Infof("rootflags: ignoring %v: cairn-init mounts the store's top level and chooses the generation itself", dropped)
	}
	fstype := c.RootFSType
	if fstype == "" {
		fstype = devs[0].FS.Type
	}
	top, err := m.MountStore(devs, fstype, flags)
	if err != nil {
		return "", fmt.Errorf("mount %s (%s) read-write: %w", devs[0].Path, fstype, err)
	}
	if err := layout.IsStore(top); err != nil {
		return top, fmt.Errorf("%s on %s: %w", spec, devs[0].Path, err)
	}
	log.Infof("store on %s (%s %s)", devs[0].Path, fstype, spec)
	// An image written to a larger disk, or a virtual disk enlarged,
	// grows here, before anything else writes to the store. A failure
	// leaves the disk as it was (or grown) and the boot goes on.
	if msg, err := m.GrowStore(devs[0].Path, top); err != nil {
		log.Errorf("grow the store on %s: %v (booting on at its present size)", devs[0].Path, err)
	} else if msg != "" {
		log.Infof("%s", msg)
	}
	return top, nil
}

// bootFrom chooses a generation of the store at top and switches to it,
// falling back through the decision's candidates. It returns only when
// none could be started.
func bootFrom(m Machine, top string, c Cmdline, args []string, log *Log) error {
	if err := layout.IsStore(top); err != nil {
		return err
	}
	present, err := layout.Generations(top)
	if err != nil {
		return fmt.Errorf("list generations: %w", err)
	}
	st, _, stErr := layout.ReadState(top)
	d := Choose(Inputs{State: st, StateErr: stErr, Present: present, Explicit: c.Gen, Default: c.Default})
	for _, n := range d.Notes {
		log.Errorf("%s", n)
	}
	if len(d.Candidates) == 0 {
		return errors.New("the store has no generation")
	}
	log.Infof("choosing %s", d.Why)
	for i, n := range d.Candidates {
		if i > 0 {
			log.Errorf("falling back to generation %d", n)
		}
		if next, ok := d.StateFor(n); ok {
			if err := layout.WriteState(top, next); err != nil {
				log.Errorf("record the boot of generation %d in state.json: %v", n, err)
				if i == 0 && d.Counted {
					// Booting a trial whose try is not counted could
					// loop forever on a generation that hangs.
					log.Errorf("not booting trial generation %d: its try could not be counted", n)
					continue
				}
			}
		}
		init, err := m.Prepare(top, n, c.Init, log)
		if err != nil {
			log.Errorf("generation %d: %v", n, err)
			if uerr := m.Undo(); uerr != nil {
				log.Errorf("undo the mounts of generation %d: %v", n, uerr)
			}
			continue
		}
		up, _ := m.Uptime()
		log.Infof("switching root to generation %d, %s, %.2f s after the kernel started", n, init, up.Seconds())
		err = m.SwitchRoot(init, args)
		log.Errorf("switch root to generation %d: %v", n, err)
		if uerr := m.Undo(); uerr != nil {
			log.Errorf("undo the mounts of generation %d: %v", n, uerr)
		}
	}
	return errors.New("no generation could be started")
}
