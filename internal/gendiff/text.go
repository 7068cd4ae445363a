package gendiff

import (
	"fmt"
	"strings"
)

// Text renders the diff for a terminal: packages as `apk upgrade` names
// its steps, then one line per change, "+" added, "-" removed, "~"
// changed. An empty diff renders as "".
func (d *Diff) Text() string {
	var b strings.Builder
	if len(d.Manifest) > 0 {
		fmt.Fprintf(&b, "manifest:\n")
		for _, m := range d.Manifest {
			fmt.Fprintf(&b, "  %s %s\n", mark(m.Change), m.Path)
			for _, l := range m.Lines {
				fmt.Fprintf(&b, "      %s\n", l)
			}
		}
	}
	if len(d.Packages) > 0 {
		fmt.Fprintf(&b, "packages:\n")
		width := 0
		for _, p := range d.Packages {
			width = max(width, len(packageVerb(p.Change)))
		}
		for _, p := range d.Packages {
			versions := p.New
			switch p.Change {
			case Removed:
				versions = p.Old
			case Upgraded, Downgraded:
				versions = p.Old + " -> " + p.New
			}
			fmt.Fprintf(&b, "  %-*s %s (%s)\n", width, packageVerb(p.Change), p.Name, versions)
		}
	}
	if d.Kernel != nil {
		fmt.Fprintf(&b, "kernel: %s -> %s\n", orNone(d.Kernel.Old), orNone(d.Kernel.New))
	}
	if d.Cmdline != nil {
		fmt.Fprintf(&b, "kernel command line:\n  - %s\n  + %s\n", orNone(d.Cmdline.Old), orNone(d.Cmdline.New))
	}
	if len(d.Services) > 0 {
		fmt.Fprintf(&b, "services:\n")
		for _, s := range d.Services {
			line := s.Runlevel + "/" + s.Service
			if s.Change == Changed {
				line += fmt.Sprintf(": link %s -> %s", orNone(s.Old), orNone(s.New))
			}
			fmt.Fprintf(&b, "  %s %s\n", mark(s.Change), line)
		}
	}
	if len(d.Users) > 0 {
		fmt.Fprintf(&b, "users:\n")
		for _, u := range d.Users {
			fmt.Fprintf(&b, "  %s %s\n", mark(u.Change), userLine(u))
		}
	}
	if len(d.Groups) > 0 {
		fmt.Fprintf(&b, "groups:\n")
		for _, g := range d.Groups {
			fmt.Fprintf(&b, "  %s %s\n", mark(g.Change), groupLine(g))
		}
	}
	if len(d.Mounts) > 0 {
		fmt.Fprintf(&b, "mounts:\n")
		for _, m := range d.Mounts {
			switch m.Change {
			case Added:
				fmt.Fprintf(&b, "  + %s: %s\n", m.Mountpoint, m.New)
			case Removed:
				fmt.Fprintf(&b, "  - %s: %s\n", m.Mountpoint, m.Old)
			default:
				fmt.Fprintf(&b, "  ~ %s: %s\n      -> %s\n", m.Mountpoint, m.Old, m.New)
			}
		}
	}
	if len(d.Files) > 0 {
		fmt.Fprintf(&b, "files not from packages:\n")
		for _, f := range d.Files {
			fmt.Fprintf(&b, "  %s %s\n", mark(f.Change), fileLine(f))
		}
	}
	return b.String()
}

func packageVerb(change string) string {
	switch change {
	case Added:
		return "Installing"
	case Removed:
		return "Purging"
	case Upgraded:
		return "Upgrading"
	case Downgraded:
		return "Downgrading"
	default:
		return "Replacing"
	}
}

func mark(change string) string {
	switch change {
	case Added:
		return "+"
	case Removed:
		return "-"
	default:
		return "~"
	}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func userLine(u UserChange) string {
	switch u.Change {
	case Added:
		return fmt.Sprintf("%s (uid %s, gid %s, home %s, shell %s)", u.Name, u.New.UID, u.New.GID, orNone(u.New.Home), orNone(u.New.Shell))
	case Removed:
		return fmt.Sprintf("%s (uid %s)", u.Name, u.Old.UID)
	}
	var parts []string
	for _, f := range u.Fields {
		var o, n string
		switch f {
		case "uid":
			o, n = u.Old.UID, u.New.UID
		case "gid":
			o, n = u.Old.GID, u.New.GID
		case "comment":
			o, n = u.Old.Comment, u.New.Comment
		case "home":
			o, n = u.Old.Home, u.New.Home
		case "shell":
			o, n = u.Old.Shell, u.New.Shell
		}
		parts = append(parts, fmt.Sprintf("%s %s -> %s", f, orNone(o), orNone(n)))
	}
	return u.Name + ": " + strings.Join(parts, ", ")
}

func groupLine(g GroupChange) string {
	switch g.Change {
	case Added:
		return fmt.Sprintf("%s (gid %s%s)", g.Name, g.New.GID, membersSuffix(g.New.Members))
	case Removed:
		return fmt.Sprintf("%s (gid %s)", g.Name, g.Old.GID)
	}
	var parts []string
	for _, f := range g.Fields {
		switch f {
		case "gid":
			parts = append(parts, fmt.Sprintf("gid %s -> %s", g.Old.GID, g.New.GID))
		case "members":
			parts = append(parts, fmt.Sprintf("members %s -> %s", orNone(strings.Join(g.Old.Members, ",")), orNone(strings.Join(g.New.Members, ","))))
		}
	}
	return g.Name + ": " + strings.Join(parts, ", ")
}

func membersSuffix(m []string) string {
	if len(m) == 0 {
		return ""
	}
	return ", members " + strings.Join(m, ",")
}

func fileLine(f FileChange) string {
	line := f.Path
	if fi := f.New; f.Change != Changed {
		if f.Change == Removed {
			fi = f.Old
		}
		switch fi.Type {
		case "dir":
			line += "/"
		case "symlink":
			line += " -> " + fi.Target
		case "file":
		default:
			line += " (" + fi.Type + ")"
		}
	}
	var parts []string
	for _, w := range f.What {
		switch w {
		case "type":
			parts = append(parts, fmt.Sprintf("type %s -> %s", f.Old.Type, f.New.Type))
		case "mode":
			parts = append(parts, fmt.Sprintf("mode %s -> %s", f.Old.Mode, f.New.Mode))
		case "owner":
			parts = append(parts, fmt.Sprintf("owner %d:%d -> %d:%d", f.Old.UID, f.Old.GID, f.New.UID, f.New.GID))
		case "target":
			parts = append(parts, fmt.Sprintf("link %s -> %s", f.Old.Target, f.New.Target))
		case "content":
			parts = append(parts, "content")
		}
	}
	if len(parts) > 0 {
		line += ": " + strings.Join(parts, ", ")
	}
	if f.Package != "" {
		line += fmt.Sprintf(" (differs from package %s)", f.Package)
	}
	return line
}
