package cairninit

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
)

// DefaultRootWait is how long cairn-init waits for the root device when
// the command line does not say (cairn.rootwait=SECONDS).
const DefaultRootWait = 30 * time.Second

// Cmdline is what cairn-init takes from the kernel command line.
type Cmdline struct {
	// Root names the device holding the store: UUID=<fs uuid>,
	// LABEL=<fs label>, or a device path (/dev/vda).
	Root string
	// RootFSType is the store's file system type; found by probing
	// when empty.
	RootFSType string
	// RootFlags are extra mount options for the store's file system
	// (subvol= and subvolid= are dropped: cairn-init mounts the top
	// level).
	RootFlags string
	// RootWait bounds the wait for the root device.
	RootWait time.Duration
	// Gen is cairn.gen=N: boot generation N, leaving the default and
	// the trial as they are. 0 when not given.
	Gen int
	// Default is cairn.default=N, which the loader's default entry
	// carries: the default generation when the entries were written,
	// booted when state.json is unusable. 0 when not given.
	Default int
	// Init is init=: the program to start in the generation.
	Init string
	// Break is cairn.break (or rd.break): start a shell once the store
	// is mounted, before choosing; boot goes on when it exits.
	Break bool
	// Quiet is quiet: only problems are printed.
	Quiet bool
	// RAM is cairn.ram: boot the system the initramfs holds (an
	// initramfs image) from RAM, even when root= is given.
	RAM bool
	// Persist is cairn.persist=: the device holding a RAM system's
	// persistent directories (UUID=, LABEL= or /dev/...), checked by
	// ParseDevice; "" for none.
	Persist string
	// Problems are parameters cairn-init could not use, to report.
	Problems []string
}

// ParseCmdline reads a kernel command line (/proc/cmdline). It never
// fails: a bad value is reported in Problems and ignored, because a
// typing error on the loader's command line must not stop the boot.
func ParseCmdline(line string) Cmdline {
	c := Cmdline{RootWait: DefaultRootWait}
	for _, p := range splitCmdline(line) {
		if p == "--" {
			break // the rest is for init
		}
		key, value, hasValue := strings.Cut(p, "=")
		switch key {
		case "root":
			c.Root = value
		case "rootfstype":
			c.RootFSType = value
		case "rootflags":
			c.RootFlags = value
		case "init":
			c.Init = value
		case "quiet":
			c.Quiet = true
		case layout.ParamGen:
			n, err := strconv.Atoi(value)
			if err != nil || n <= 0 {
				c.Problems = append(c.Problems, fmt.Sprintf("%s: not a generation number (ignored)", p))
				continue
			}
			c.Gen = n
		case layout.ParamDefault:
			n, err := strconv.Atoi(value)
			if err != nil || n <= 0 {
				c.Problems = append(c.Problems, fmt.Sprintf("%s: not a generation number (ignored)", p))
				continue
			}
			c.Default = n
		case "cairn.rootwait":
			s, err := strconv.ParseFloat(value, 64)
			if err != nil || s < 0 || s > 3600 {
				c.Problems = append(c.Problems, fmt.Sprintf("%s: want seconds, 0 to 3600 (ignored)", p))
				continue
			}
			c.RootWait = time.Duration(s * float64(time.Second))
		case "cairn.ram":
			c.RAM = !hasValue || (value != "0" && value != "no")
		case layout.ParamPersist:
			if _, err := ParseDevice(layout.ParamPersist, value); err != nil {
				c.Problems = append(c.Problems, fmt.Sprintf("%v (ignored: nothing persists)", err))
				continue
			}
			c.Persist = value
		case "cairn.break", "rd.break":
			// rd.break=<stage> is dracut's; any stage means the one
			// break cairn-init has.
			c.Break = !hasValue || (value != "0" && value != "no")
		}
	}
	return c
}

// splitCmdline splits the command line on spaces as the kernel does
// (lib/cmdline.c next_arg): double quotes group, and are removed.
func splitCmdline(line string) []string {
	var out []string
	var cur strings.Builder
	in, quoted := false, false
	for _, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
			in = true
		case !quoted && (r == ' ' || r == '\t' || r == '\n'):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

// topFlags returns the mount options for the store's top level from
// rootflags: everything but subvol= and subvolid=, which would mount a
// subvolume instead of the top level, and ro (the state must be
// writable). It also returns what it dropped.
func topFlags(rootflags string) (keep string, dropped []string) {
	var opts []string
	for _, o := range strings.Split(rootflags, ",") {
		switch {
		case o == "":
		case strings.HasPrefix(o, "subvol=") || strings.HasPrefix(o, "subvolid=") || o == "ro":
			dropped = append(dropped, o)
		default:
			opts = append(opts, o)
		}
	}
	return strings.Join(opts, ","), dropped
}
