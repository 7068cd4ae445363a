package boot

import (
	"fmt"
	"strings"
)

// Loaders.
const (
	Extlinux    = "extlinux"
	Grub        = "grub"
	SystemdBoot = "systemd-boot"
)

// Entry is one boot menu entry.
type Entry struct {
	// ID names the entry: "cairn" for the one that follows the store's
	// state, "cairn-N" for generation N.
	ID    string
	Title string
	// Kernel and Initrd are absolute paths on the boot partition.
	Kernel, Initrd string
	// Options is the kernel command line.
	Options string
	// Generation is the generation the entry boots (for the "cairn"
	// entry: the one it boots next).
	Generation int
}

// Menu is what a loader's configuration holds: entries in menu order, the
// first being the default.
type Menu struct {
	Entries []Entry
	// Timeout is how long the menu waits, in seconds; 0 boots the
	// default at once (the menu appears on a key press where the loader
	// allows it).
	Timeout int
	// Serial adds a serial console (ttyS0, 115200) to the loader itself.
	Serial bool
}

const header = "Written by cairn: changes here are lost at the next cairn switch, rollback or gc."

// Render returns the files the loader reads, by path relative to the boot
// directory.
func Render(loader string, m Menu) (map[string][]byte, error) {
	if len(m.Entries) == 0 {
		return nil, fmt.Errorf("%s: no entries", loader)
	}
	for _, e := range m.Entries {
		if strings.ContainsAny(e.Options+e.Kernel+e.Initrd+e.Title, "\n\r") {
			return nil, fmt.Errorf("entry %s: a line break in its fields", e.ID)
		}
		if i := strings.IndexFunc(e.Options+e.Kernel+e.Initrd+e.Title, func(r rune) bool { return (r < 0x20 && r != '\t') || r == 0x7f }); i >= 0 {
			return nil, fmt.Errorf("entry %s: a control character in its fields", e.ID)
		}
		if loader == Grub {
			for _, f := range []string{e.Kernel, e.Initrd, e.Options} {
				if c, bad := grubSpecial(f); bad {
					return nil, fmt.Errorf("entry %s: %q holds %q, which grub.cfg would not pass on as it is (remove it or use another loader)", e.ID, f, c)
				}
			}
		}
	}
	switch loader {
	case Extlinux:
		return map[string][]byte{"extlinux/extlinux.conf": renderExtlinux(m)}, nil
	case Grub:
		return map[string][]byte{"grub/grub.cfg": renderGrub(m)}, nil
	case SystemdBoot:
		return renderSystemdBoot(m), nil
	}
	return nil, fmt.Errorf("unknown loader %q (want %s, %s or %s)", loader, Extlinux, Grub, SystemdBoot)
}

func renderExtlinux(m Menu) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", header)
	if m.Serial {
		b.WriteString("SERIAL 0 115200\n")
	}
	fmt.Fprintf(&b, "DEFAULT %s\n", m.Entries[0].ID)
	if m.Timeout > 0 {
		fmt.Fprintf(&b, "PROMPT 1\nTIMEOUT %d\n", m.Timeout*10)
	} else {
		b.WriteString("PROMPT 0\nTIMEOUT 0\n")
	}
	for _, e := range m.Entries {
		fmt.Fprintf(&b, "\nLABEL %s\n  MENU LABEL %s\n  LINUX %s\n  INITRD %s\n  APPEND %s\n", e.ID, e.Title, e.Kernel, e.Initrd, e.Options)
	}
	return []byte(b.String())
}

// grubSpecial finds a character grub's lexer would interpret in an
// unquoted word of grub.cfg (the kernel, initrd and command line are
// written unquoted): quotes, escapes, variables, command separators,
// blocks, and a comment sign starting a word.
func grubSpecial(s string) (string, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if strings.IndexByte("\"'\\$;&|<>{}", c) >= 0 || (c == '#' && (i == 0 || s[i-1] == ' ' || s[i-1] == '\t')) {
			return string(c), true
		}
	}
	return "", false
}

// grubQuote quotes s for grub.cfg: in single quotes, each quote inside
// closed, escaped with a backslash and reopened.
func grubQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func renderGrub(m Menu) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", header)
	if m.Serial {
		b.WriteString("serial --unit=0 --speed=115200\nterminal_input serial console\nterminal_output serial console\n")
	}
	fmt.Fprintf(&b, "set default=%s\nset timeout=%d\n", grubQuote(m.Entries[0].ID), m.Timeout)
	for _, e := range m.Entries {
		fmt.Fprintf(&b, "\nmenuentry %s --id %s {\n  linux %s %s\n  initrd %s\n}\n", grubQuote(e.Title), grubQuote(e.ID), e.Kernel, e.Options, e.Initrd)
	}
	return []byte(b.String())
}

// renderSystemdBoot writes Boot Loader Specification type #1 entries.
// The entry that follows the state sorts first; generations follow,
// newest first (systemd-boot sorts by sort-key, then version, descending).
func renderSystemdBoot(m Menu) map[string][]byte {
	files := map[string][]byte{}
	var loader strings.Builder
	fmt.Fprintf(&loader, "# %s\ndefault %s.conf\ntimeout %d\n", header, m.Entries[0].ID, m.Timeout)
	files["loader/loader.conf"] = []byte(loader.String())
	for i, e := range m.Entries {
		var b strings.Builder
		fmt.Fprintf(&b, "# %s\ntitle %s\n", header, e.Title)
		if i == 0 {
			b.WriteString("sort-key cairn-0\n")
		} else {
			fmt.Fprintf(&b, "sort-key cairn-1\nversion %d\n", e.Generation)
		}
		fmt.Fprintf(&b, "linux %s\ninitrd %s\noptions %s\n", e.Kernel, e.Initrd, e.Options)
		files["loader/entries/"+e.ID+".conf"] = []byte(b.String())
	}
	return files
}
