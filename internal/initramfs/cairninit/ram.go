package cairninit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
)

// A RAM system is a whole generation packed into the initramfs (the
// `initramfs` image format): cairn-init is its /init, and instead of a
// generation from a store it starts the system the initramfs holds,
// after moving it into a tmpfs. docs/boot.md ("RAM systems") has the
// story. The paths the image and cairn-init share are layout's
// (layout.RAMDir, RAMModules, RAMMarker, RAMPersist).

// Mode is what cairn-init boots.
type Mode int

const (
	// StoreMode boots a generation of the store on root=.
	StoreMode Mode = iota
	// RAMMode starts the system the initramfs holds, from RAM.
	RAMMode
)

func (m Mode) String() string {
	if m == RAMMode {
		return "RAM"
	}
	return "store"
}

// ModeChoice is what ChooseMode decided, and what to say about it.
type ModeChoice struct {
	Mode Mode
	// Note explains a choice the operator may not expect; Problem says
	// that the command line asked for something that cannot be.
	Note, Problem string
}

// ChooseMode decides between booting the store and starting the system
// in the initramfs. ramImage says whether the initramfs holds one
// (layout.RAMDir exists). cairn.ram asks for the RAM system; without it, a RAM
// image boots from RAM unless root= names a store to boot instead, so
// that one initramfs serves both (its cairn-init and modules can boot a
// store). An initramfs without a system always boots the store.
func ChooseMode(c Cmdline, ramImage bool) ModeChoice {
	switch {
	case c.RAM && !ramImage:
		return ModeChoice{Mode: StoreMode, Problem: "cairn.ram: this initramfs holds no system (it was not made by cairn image --format initramfs); booting the store on root="}
	case c.RAM && c.Root != "":
		return ModeChoice{Mode: RAMMode, Note: "cairn.ram: starting the system in the initramfs; root=" + c.Root + " is not used"}
	case c.RAM, ramImage && c.Root == "":
		return ModeChoice{Mode: RAMMode}
	case ramImage:
		return ModeChoice{Mode: StoreMode, Note: "root= given: booting the store's generations, not the system in this initramfs (add cairn.ram to start that one)"}
	}
	return ModeChoice{Mode: StoreMode}
}

// runRAM starts the RAM system, and when that fails runs the rescue
// shell and tries again; it returns only when there is no shell.
func runRAM(m Machine, c Cmdline, args []string, log *Log) error {
	for {
		err := bootRAM(m, c, args, log)
		log.Errorf("cannot start the system from RAM: %v", err)
		log.Errorf("starting a rescue shell; exit it to try again")
		if serr := m.Shell(); serr != nil {
			log.Errorf("%v; halting", serr)
			m.Halt()
			return fmt.Errorf("cannot start the system from RAM: %w", err)
		}
	}
}

// bootRAM moves the system into its tmpfs, mounts the persistent
// directories and switches to its init. It returns only on failure.
func bootRAM(m Machine, c Cmdline, args []string, log *Log) error {
	init, err := m.PrepareRAM(c.RootFlags, c.Init, log)
	if err != nil {
		return err
	}
	persistRAM(m, c, log)
	if c.Break {
		log.Errorf("cairn.break: starting a shell; the system is at /sysroot, exit to go on booting")
		if err := m.Shell(); err != nil {
			log.Errorf("cairn.break: %v", err)
		}
	}
	up, _ := m.Uptime()
	log.Infof("starting %s from RAM, %.2f s after the kernel started", init, up.Seconds())
	if err := m.SwitchRoot(init, args); err != nil {
		return fmt.Errorf("switch root: %w", err)
	}
	return errors.New("switch root returned")
}

// persistRAM mounts the persistence device cairn.persist= names. Without
// one, or when it cannot be mounted, the system still starts: what it
// writes to its persistent directories then lives in RAM only, and
// cairn-init says so.
func persistRAM(m Machine, c Cmdline, log *Log) {
	const lost = "the persistent directories stay in RAM: what is written there is lost at shutdown"
	if c.Persist == "" {
		// Not a problem: a RAM system may keep nothing on purpose.
		log.Infof("no cairn.persist= on the kernel command line: %s", lost)
		return
	}
	spec, err := ParseDevice(layout.ParamPersist, c.Persist)
	if err != nil {
		log.Errorf("%v: %s", err, lost)
		return
	}
	devs, err := m.FindRoot(spec, c.RootWait, log)
	if err != nil {
		log.Errorf("persistence device %s: %v: %s", spec, err, lost)
		return
	}
	log.Infof("persistence on %s (%s %s)", devs[0].Path, devs[0].FS.Type, spec)
	if err := m.MountPersist(devs, devs[0].FS.Type, log); err != nil {
		log.Errorf("persistence device %s on %s: %v: %s", spec, devs[0].Path, err, lost)
	}
}

// ModuleList is the content of layout.RAMModules: the kernel release the
// modules belong to, and their files in load order.
type ModuleList struct {
	Kernel string
	Paths  []string
}

// ReadModuleList reads a module list: '#' comments, one line
// "kernel RELEASE", then one absolute path a line, each module after
// those it needs.
func ReadModuleList(r io.Reader) (ModuleList, error) {
	var l ModuleList
	sc := bufio.NewScanner(r)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if release, ok := strings.CutPrefix(line, "kernel "); ok {
			if l.Kernel != "" {
				return l, fmt.Errorf("line %d: a second kernel line", n)
			}
			l.Kernel = strings.TrimSpace(release)
			continue
		}
		if !strings.HasPrefix(line, "/") || path.Clean(line) != line {
			return l, fmt.Errorf("line %d: %q is not a clean absolute path", n, line)
		}
		l.Paths = append(l.Paths, line)
	}
	if err := sc.Err(); err != nil {
		return l, err
	}
	if l.Kernel == "" && len(l.Paths) > 0 {
		return l, errors.New("no kernel line: cannot tell which kernel the modules are for")
	}
	return l, nil
}

// FormatModuleList writes a module list that ReadModuleList reads.
func FormatModuleList(l ModuleList) []byte {
	var b strings.Builder
	b.WriteString("# Modules cairn-init loads when it starts this system from RAM, in order.\n")
	if l.Kernel != "" {
		fmt.Fprintf(&b, "kernel %s\n", l.Kernel)
	}
	for _, p := range l.Paths {
		b.WriteString(p + "\n")
	}
	return []byte(b.String())
}
