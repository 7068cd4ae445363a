package compose

import (
	"strings"
)

// colonFile is one of /etc/passwd, /etc/group, /etc/shadow or
// /etc/gshadow: lines of colon-separated fields keyed by the first. Lines
// that are not entries of the expected width (comments, blank lines, NIS
// "+" lines, damaged entries) are kept verbatim and in place.
type colonFile struct {
	width int
	lines []colonLine
	index map[string]int // entry name -> line; the first entry of a name wins
}

type colonLine struct {
	raw    string
	fields []string // nil for a line kept verbatim
}

func parseColonFile(data []byte, width int) *colonFile {
	f := &colonFile{width: width, index: map[string]int{}}
	text := strings.TrimSuffix(string(data), "\n")
	if text == "" {
		return f
	}
	for _, line := range strings.Split(text, "\n") {
		fields := strings.Split(line, ":")
		if len(fields) != width || fields[0] == "" || strings.ContainsAny(fields[0][:1], "#+-") {
			f.lines = append(f.lines, colonLine{raw: line})
			continue
		}
		if _, dup := f.index[fields[0]]; !dup {
			f.index[fields[0]] = len(f.lines)
		}
		f.lines = append(f.lines, colonLine{fields: fields})
	}
	return f
}

// get returns the fields of the entry called name, or nil. The slice is
// the entry's own: changing it changes the file.
func (f *colonFile) get(name string) []string {
	i, ok := f.index[name]
	if !ok {
		return nil
	}
	return f.lines[i].fields
}

// add appends an entry and returns its fields.
func (f *colonFile) add(fields ...string) []string {
	if len(fields) != f.width {
		panic("compose: colon file entry of the wrong width")
	}
	if _, dup := f.index[fields[0]]; !dup {
		f.index[fields[0]] = len(f.lines)
	}
	f.lines = append(f.lines, colonLine{fields: fields})
	return fields
}

// entries calls fn for every entry in file order.
func (f *colonFile) entries(fn func(fields []string)) {
	for _, l := range f.lines {
		if l.fields != nil {
			fn(l.fields)
		}
	}
}

func (f *colonFile) bytes() []byte {
	var b strings.Builder
	for _, l := range f.lines {
		if l.fields == nil {
			b.WriteString(l.raw)
		} else {
			b.WriteString(strings.Join(l.fields, ":"))
		}
		b.WriteByte('\n')
	}
	return []byte(b.String())
}

// listField splits a comma-separated member list.
func listField(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// addToList appends name to a comma-separated list unless it is there.
func addToList(list, name string) string {
	for _, m := range listField(list) {
		if m == name {
			return list
		}
	}
	if list == "" {
		return name
	}
	return list + "," + name
}
