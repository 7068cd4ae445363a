package cairninit

import (
	"bytes"
	"strings"
)

// Consoles gives a system the login prompts Alpine gives it: Alpine's
// initramfs (mkinitfs, setup_inittab_console) adds a getty to the new
// root's /etc/inittab for every console the kernel writes to (console=
// on the command line) that has none yet, and names it in
// /etc/securetty; Alpine's installer keeps that line for installed
// systems. A cairn generation is read-only, so cairn-init gives the
// running system amended copies instead of editing the generation
// (Prepare, PrepareRAM).

// ConsoleDevices lists the terminals behind the kernel's console, as
// Alpine's list_console_devices does: "console" and every alias (tty0)
// is resolved through active, which returns the contents of
// /sys/class/tty/NAME/active and whether NAME has such a file; names
// without one are devices. The order is the kernel's; no name twice.
func ConsoleDevices(active func(name string) (string, bool)) []string {
	var out []string
	seen := map[string]bool{}
	var walk func(name string, depth int)
	walk = func(name string, depth int) {
		list, ok := active(name)
		if !ok || depth > 4 {
			if !seen[name] {
				seen[name] = true
				out = append(out, name)
			}
			return
		}
		for _, dev := range strings.Fields(list) {
			walk(dev, depth+1)
		}
	}
	walk("console", 0)
	return out
}

// gettyTerm is the terminal type Alpine's initramfs gives a console's
// getty.
const gettyTerm = "vt100"

// ConsoleInittab returns inittab with a getty for each tty in ttys that
// inittab has no line for (a line beginning "tty:"), in Alpine's words:
// "tty::respawn:/sbin/getty -L 0 tty vt100" (speed 0 keeps the kernel's
// settings), after a comment. It returns the ttys it added; none means
// inittab is returned unchanged. The null console gets no getty.
func ConsoleInittab(inittab []byte, ttys []string) ([]byte, []string) {
	var added []string
	out := bytes.Clone(inittab)
	for _, tty := range ttys {
		if tty == "" || tty == "null" || !safeTTY(tty) || hasInittabID(out, tty) {
			continue
		}
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, "# enable login on alternative console (added by cairn-init, as Alpine's initramfs does)\n"...)
		out = append(out, tty+"::respawn:/sbin/getty -L 0 "+tty+" "+gettyTerm+"\n"...)
		added = append(added, tty)
	}
	return out, added
}

// ConsoleSecuretty returns securetty with each tty of ttys it does not
// name appended, one a line, and whether it added any.
func ConsoleSecuretty(securetty []byte, ttys []string) ([]byte, bool) {
	have := map[string]bool{}
	for _, line := range strings.Split(string(securetty), "\n") {
		for _, w := range strings.Fields(line) {
			have[w] = true
		}
	}
	out := bytes.Clone(securetty)
	changed := false
	for _, tty := range ttys {
		if tty == "" || tty == "null" || !safeTTY(tty) || have[tty] {
			continue
		}
		if len(out) > 0 && out[len(out)-1] != '\n' {
			out = append(out, '\n')
		}
		out = append(out, tty+"\n"...)
		have[tty] = true
		changed = true
	}
	return out, changed
}

// hasInittabID reports whether inittab has a line for the id tty.
func hasInittabID(inittab []byte, tty string) bool {
	for _, line := range strings.Split(string(inittab), "\n") {
		if strings.HasPrefix(line, tty+":") {
			return true
		}
	}
	return false
}

// safeTTY reports whether name can be written into inittab as it is: a
// device name of letters, digits and the few signs kernels use.
func safeTTY(name string) bool {
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return name != ""
}
