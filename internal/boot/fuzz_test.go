package boot

import (
	"fmt"
	"strings"
	"testing"
)

// parsedEntry is what a loader reads back of an entry.
type parsedEntry struct {
	id, title, kernel, initrd, options string
}

// restOf returns the value of a "keyword value" line (the keyword matched
// without case, as the loaders do), the spaces and tabs around the value
// dropped.
func restOf(line, keyword string) (string, bool) {
	t := strings.TrimLeft(line, " \t")
	if len(t) < len(keyword) || !strings.EqualFold(t[:len(keyword)], keyword) {
		return "", false
	}
	rest := t[len(keyword):]
	if rest != "" && rest[0] != ' ' && rest[0] != '\t' {
		return "", false
	}
	return strings.Trim(rest, " \t"), true
}

func parseExtlinux(text string) []parsedEntry {
	var out []parsedEntry
	for _, line := range strings.Split(text, "\n") {
		if v, ok := restOf(line, "LABEL"); ok {
			out = append(out, parsedEntry{id: v})
			continue
		}
		if len(out) == 0 {
			continue
		}
		e := &out[len(out)-1]
		for _, f := range []struct {
			kw  string
			dst *string
		}{{"MENU LABEL", &e.title}, {"LINUX", &e.kernel}, {"INITRD", &e.initrd}, {"APPEND", &e.options}} {
			if v, ok := restOf(line, f.kw); ok {
				*f.dst = v
			}
		}
	}
	return out
}

// grubWords splits a line of grub.cfg into words as grub's lexer does for
// the characters cairn writes: single-quoted strings; white space between
// words. ok is false when the line holds anything grub would interpret
// (other quotes, escapes, variables, separators, blocks, comments).
func grubWords(line string) (words []string, ok bool) {
	var cur strings.Builder
	in := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, false
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			in = true
		case c == '\\' && i+1 < len(line) && line[i+1] == '\'':
			cur.WriteByte('\'')
			i++
			in = true
		case c == ' ' || c == '\t':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case strings.IndexByte("\"\\$;&|<>{}", c) >= 0, c == '#' && !in:
			return nil, false
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, true
}

func parseGrub(t *testing.T, text string) []parsedEntry {
	var out []parsedEntry
	for _, line := range strings.Split(text, "\n") {
		trimmed := strings.Trim(line, " \t")
		switch {
		case strings.HasPrefix(trimmed, "menuentry "):
			w, ok := grubWords(strings.TrimSuffix(trimmed, " {"))
			if !ok || len(w) != 4 || w[2] != "--id" {
				t.Fatalf("grub reads %q otherwise", line)
			}
			out = append(out, parsedEntry{title: w[1], id: w[3]})
		case strings.HasPrefix(trimmed, "linux "), strings.HasPrefix(trimmed, "initrd "):
			w, ok := grubWords(trimmed)
			if !ok || len(out) == 0 {
				t.Fatalf("grub reads %q otherwise", line)
			}
			e := &out[len(out)-1]
			if w[0] == "initrd" {
				e.initrd = strings.Join(w[1:], " ")
			} else {
				e.kernel, e.options = w[1], strings.Join(w[2:], " ")
			}
		}
	}
	return out
}

func parseSystemdBoot(files map[string][]byte, m Menu) []parsedEntry {
	var out []parsedEntry
	for _, e := range m.Entries {
		text, ok := files["loader/entries/"+e.ID+".conf"]
		if !ok {
			continue
		}
		p := parsedEntry{id: e.ID}
		for _, line := range strings.Split(string(text), "\n") {
			for _, f := range []struct {
				kw  string
				dst *string
			}{{"title", &p.title}, {"linux", &p.kernel}, {"initrd", &p.initrd}, {"options", &p.options}} {
				if v, ok := restOf(line, f.kw); ok {
					*f.dst = v
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// FuzzRender renders menus with arbitrary titles and kernel command lines
// for each loader and reads the files back as the loader would: every
// entry must come back with the fields it was given (white space around
// a value aside, which no loader keeps, and grub's word splitting of the
// command line), and no other entry may appear.
func FuzzRender(f *testing.F) {
	m := testMenu()
	for i := range 3 {
		f.Add(uint8(i), m.Entries[1].Title, m.Entries[1].Options, uint16(3), uint8(3), true)
	}
	f.Add(uint8(1), "it's '$x'", "root=/dev/sda1 init=/bin/sh;reboot", uint16(7), uint8(0), false)
	f.Add(uint8(0), "x\nLABEL evil", "quiet\rAPPEND init=/bin/sh", uint16(1), uint8(1), false)
	f.Add(uint8(2), "  spaced  ", "  a=b   c  ", uint16(0), uint8(9), true)
	f.Fuzz(func(t *testing.T, which uint8, title, options string, gen uint16, timeout uint8, serial bool) {
		loader := []string{Extlinux, Grub, SystemdBoot}[which%3]
		m := Menu{Timeout: int(timeout), Serial: serial, Entries: []Entry{
			{ID: "cairn", Title: title, Kernel: "/cairn/vmlinuz-0a1b", Initrd: "/cairn/initrd-2c3d", Options: options, Generation: int(gen)},
			{ID: fmt.Sprintf("cairn-%d", gen), Title: "Alpine (cairn generation)", Kernel: "/cairn/vmlinuz-0a1b", Initrd: "/cairn/initrd-2c3d", Options: "ro quiet", Generation: int(gen)},
		}}
		files, err := Render(loader, m)
		if err != nil {
			return
		}
		var got []parsedEntry
		switch loader {
		case Extlinux:
			got = parseExtlinux(string(files["extlinux/extlinux.conf"]))
		case Grub:
			got = parseGrub(t, string(files["grub/grub.cfg"]))
		case SystemdBoot:
			got = parseSystemdBoot(files, m)
		}
		if len(got) != len(m.Entries) {
			t.Fatalf("%s: %d entries read back, %d written:\n%q", loader, len(got), len(m.Entries), files)
		}
		for i, e := range m.Entries {
			// The loaders drop the spaces and tabs around a value.
			want := parsedEntry{id: e.ID, title: strings.Trim(e.Title, " \t"), kernel: e.Kernel, initrd: e.Initrd, options: strings.Trim(e.Options, " \t")}
			if loader == Grub {
				want.title = e.Title
				want.options = strings.Join(strings.FieldsFunc(e.Options, func(r rune) bool { return r == ' ' || r == '\t' }), " ")
			}
			if got[i] != want {
				t.Fatalf("%s: entry %d reads back as %+v, written as %+v:\n%q", loader, i, got[i], want, files)
			}
		}
	})
}
