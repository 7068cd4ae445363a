package compose

import (
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// fstabUnescape decodes the octal escapes getmntent(3) decodes.
func fstabUnescape(s string) string {
	return strings.NewReplacer(`\040`, " ", `\011`, "\t", `\012`, "\n", `\134`, `\`).Replace(s)
}

// readFstab reads fstab text as getmntent(3) does: blank lines and lines
// whose first non-blank character is '#' are skipped, fields are split at
// spaces and tabs.
func readFstab(text string) [][]string {
	var out [][]string
	for _, line := range strings.Split(text, "\n") {
		f := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' })
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		for i := range f {
			f[i] = fstabUnescape(f[i])
		}
		out = append(out, f)
	}
	return out
}

// FuzzFstab renders a declared mount into an existing /etc/fstab and
// reads the result as getmntent(3) does: the declared entry must come
// back as the last entry with exactly its fields, once, and rendering the
// result again must change nothing.
func FuzzFstab(f *testing.F) {
	alpine := "/dev/cdrom\t/media/cdrom\tiso9660\tnoauto,ro 0 0\n/dev/usbdisk\t/media/usb\tvfat\tnoauto\t0 0\n"
	f.Add(alpine, "UUID=0f1e-2d3c", "/data", "ext4", "noatime", "", int8(0), int8(2))
	f.Add("# comment\n/dev/sda2 none swap sw 0 0\n", "/dev/sda2", "", "swap", "", "", int8(0), int8(0))
	f.Add(alpine, "LABEL=my disk", "/media/my data", "vfat", "uid=1000", "umask=022", int8(1), int8(0))
	f.Add("", `\\server\share`, "/mnt/a\tb", "cifs", "credentials=/etc/c", "", int8(0), int8(0))
	f.Fuzz(func(t *testing.T, existing, device, mountpoint, fstype, opt1, opt2 string, dump, pass int8) {
		m := manifest.Mount{Device: device, Mountpoint: mountpoint, Type: fstype, Dump: int(dump), Pass: int(pass)}
		for _, o := range []string{opt1, opt2} {
			if o != "" {
				m.Options = append(m.Options, o)
			}
		}
		out, err := renderFstab([]byte(existing), []manifest.Mount{m})
		if err != nil {
			return
		}
		again, err := renderFstab(out, []manifest.Mount{m})
		if err != nil || string(again) != string(out) {
			t.Fatalf("rendering again changes the file (%v):\n%q\n%q", err, out, again)
		}
		mp := mountpoint
		if mp == "" {
			mp = "none"
		}
		opts := "defaults"
		if len(m.Options) > 0 {
			opts = strings.Join(m.Options, ",")
		}
		want := []string{device, mp, fstype, opts, strconv.Itoa(int(dump)), strconv.Itoa(int(pass))}
		entries := readFstab(string(out))
		if len(entries) == 0 || strings.Join(entries[len(entries)-1], "\x00") != strings.Join(want, "\x00") {
			t.Fatalf("the declared mount reads back as %q, want %q:\n%q", entries, want, out)
		}
		n := 0
		for _, e := range entries {
			if len(e) > 1 && ((mp != "none" && e[1] == mp) || (mp == "none" && e[0] == device && e[1] == "none")) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d entries for %s:\n%q", n, mp, out)
		}
	})
}
