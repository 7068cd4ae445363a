package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func writeFstab(r *rootFS, sys *manifest.System) error {
	if len(sys.Fstab) == 0 {
		return nil
	}
	existing, err := r.readFile("etc/fstab")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("fstab: %w", err)
	}
	data, err := renderFstab(existing, sys.Fstab)
	if err != nil {
		return err
	}
	if err := writeConfig(r, "etc/fstab", data); err != nil {
		return fmt.Errorf("fstab: %w", err)
	}
	return nil
}

// renderFstab keeps the root's /etc/fstab (Alpine's /media/cdrom and
// /media/usb lines, comments) and appends the declared entries in order,
// their six columns separated by tabs. An existing line for a declared
// mount point (for swap: the same device) gives way to the declaration,
// so rendering again is a no-op.
func renderFstab(existing []byte, mounts []manifest.Mount) ([]byte, error) {
	var add []string
	mountpoints := map[string]int{}
	swaps := map[string]int{}
	for i, m := range mounts {
		line, err := fstabLine(m)
		if err != nil {
			return nil, fmt.Errorf("fstab[%d]: %w", i, err)
		}
		f := strings.Split(line, "\t")
		if f[1] == "none" {
			if j, dup := swaps[f[0]]; dup {
				return nil, fmt.Errorf("fstab[%d]: %s is already declared by fstab[%d]", i, m.Device, j)
			}
			swaps[f[0]] = i
		} else {
			if j, dup := mountpoints[f[1]]; dup {
				return nil, fmt.Errorf("fstab[%d]: mount point %s is already declared by fstab[%d]", i, m.Mountpoint, j)
			}
			mountpoints[f[1]] = i
		}
		add = append(add, line)
	}

	var out []string
	text := strings.TrimSuffix(string(existing), "\n")
	if text != "" {
		for _, line := range strings.Split(text, "\n") {
			// As getmntent(3) splits them: at spaces and tabs.
			f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
			if len(f) >= 2 && !strings.HasPrefix(f[0], "#") {
				if _, ok := mountpoints[f[1]]; ok {
					continue
				}
				if _, ok := swaps[f[0]]; ok && f[1] == "none" {
					continue
				}
			}
			out = append(out, line)
		}
	}
	out = append(out, add...)
	return []byte(strings.Join(out, "\n") + "\n"), nil
}

func fstabLine(m manifest.Mount) (string, error) {
	if m.Device == "" {
		return "", errors.New("device: what to mount is needed (/dev/sda1, UUID=..., LABEL=..., tmpfs)")
	}
	if m.Type == "" {
		return "", errors.New("type: the file system type is needed (ext4, btrfs, vfat, tmpfs, swap...)")
	}
	mp := m.Mountpoint
	switch {
	case mp == "" && m.Type == "swap":
		mp = "none"
	case mp == "none":
	case !strings.HasPrefix(mp, "/"):
		return "", fmt.Errorf("mountpoint: %q is not an absolute path", m.Mountpoint)
	}
	opts := "defaults"
	if len(m.Options) > 0 {
		for j, o := range m.Options {
			if o == "" || strings.Contains(o, ",") {
				return "", fmt.Errorf("options[%d]: %q: one option per entry", j, o)
			}
		}
		opts = strings.Join(m.Options, ",")
	}
	if m.Dump < 0 || m.Pass < 0 {
		return "", errors.New("dump and pass may not be negative")
	}
	for _, f := range []struct{ name, value string }{{"device", m.Device}, {"mountpoint", mp}, {"type", m.Type}, {"options", opts}} {
		if strings.IndexFunc(f.value, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' || r == 0x7f }) >= 0 {
			return "", fmt.Errorf("%s: %q holds a control character", f.name, f.value)
		}
	}
	if strings.HasPrefix(m.Device, "#") {
		return "", fmt.Errorf("device: %q would make the line a comment", m.Device)
	}
	return strings.Join([]string{
		fstabEscape(m.Device), fstabEscape(mp), fstabEscape(m.Type), fstabEscape(opts),
		strconv.Itoa(m.Dump), strconv.Itoa(m.Pass),
	}, "\t"), nil
}

// fstabEscape writes white space and backslashes as fstab(5) octal
// escapes.
func fstabEscape(s string) string {
	return strings.NewReplacer(`\`, `\134`, " ", `\040`, "\t", `\011`, "\n", `\012`).Replace(s)
}
