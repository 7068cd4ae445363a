package apk

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// IndexError reports a malformed index or installed database line.
type IndexError struct {
	Line int
	Msg  string
}

func (e *IndexError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// recordLine is one "X:value" line of an index-format file.
type recordLine struct {
	Field byte
	Value string
	Line  int
}

// scanRecords splits index-format text into records (blocks separated by
// empty lines) and calls fn for each. The end of the text ends a record,
// as it does for apk.
func scanRecords(text string, fn func(lines []recordLine) error) error {
	var rec []recordLine
	lineNo := 0
	for len(text) > 0 {
		lineNo++
		var line string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			line, text = text[:i], text[i+1:]
		} else {
			line, text = text, ""
		}
		if len(line) < 2 {
			if len(rec) > 0 {
				if err := fn(rec); err != nil {
					return err
				}
				rec = rec[:0]
			}
			continue
		}
		if line[1] != ':' {
			return &IndexError{Line: lineNo, Msg: fmt.Sprintf("%q is not a \"X:value\" line", truncate(line, 40))}
		}
		rec = append(rec, recordLine{Field: line[0], Value: line[2:], Line: lineNo})
	}
	if len(rec) > 0 {
		return fn(rec)
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// ApplyField stores one index field (by its letter) in p.
func ApplyField(p *Package, field byte, value string) error {
	_, err := applyIndexField(p, recordLine{Field: field, Value: value})
	return err
}

// applyIndexField stores one standard index field in p. It returns false for
// fields that are not part of an index record (installed-database lines).
func applyIndexField(p *Package, l recordLine) (bool, error) {
	var err error
	v := l.Value
	switch l.Field {
	case 'P':
		p.Name = v
	case 'V':
		p.Version = v
	case 'T':
		p.Description = v
	case 'U':
		p.URL = v
	case 'L':
		p.License = v
	case 'A':
		p.Arch = v
	case 'D':
		// A field may repeat, adding entries. Like apk, keep the entries
		// before one that does not parse.
		p.Depends = appendDeps(p.Depends, v)
	case 'C':
		if v != "" { // apk writes an empty C: for packages without identity
			p.Checksum, err = ParseChecksum(v)
		}
	case 'S':
		p.Size, err = strconv.ParseInt(v, 10, 64)
	case 'I':
		p.InstalledSize, err = strconv.ParseInt(v, 10, 64)
	case 'p':
		p.Provides = appendDeps(p.Provides, v)
	case 'i':
		p.InstallIf = appendDeps(p.InstallIf, v)
	case 'o':
		p.Origin = v
	case 'm':
		p.Maintainer = v
	case 't':
		p.BuildTime, err = strconv.ParseInt(v, 10, 64)
	case 'c':
		p.Commit = v
	case 'k':
		var k int64
		k, err = strconv.ParseInt(v, 10, 32)
		p.ProviderPriority = int(k)
	case 'F', 'M', 'R', 'Z', 'r', 'q', 'a', 's', 'f':
		return false, nil
	default:
		// Lower-case fields are optional extensions; an unknown upper-case
		// field means the package needs a newer apk.
		if !(l.Field >= 'a' && l.Field <= 'z') {
			p.Uninstallable = true
		}
	}
	if err != nil {
		return true, &IndexError{Line: l.Line, Msg: fmt.Sprintf("field %c: %v", l.Field, err)}
	}
	return true, nil
}

func appendDeps(deps []Dependency, v string) []Dependency {
	more, _ := ParseDependencies(v)
	return append(deps, more...)
}

// ParseIndex parses the text of an APKINDEX. Records without a name or
// version are refused, as apk refuses them.
func ParseIndex(text string) ([]*Package, error) {
	var pkgs []*Package
	err := scanRecords(text, func(lines []recordLine) error {
		p := &Package{}
		for _, l := range lines {
			if _, err := applyIndexField(p, l); err != nil {
				return err
			}
		}
		if p.Name == "" || p.Version == "" {
			return &IndexError{Line: lines[0].Line, Msg: "record has no P: name or V: version"}
		}
		pkgs = append(pkgs, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pkgs, nil
}

// ReadIndex reads and parses an APKINDEX text stream.
func ReadIndex(r io.Reader) ([]*Package, error) {
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		return nil, err
	}
	return ParseIndex(buf.String())
}

// writeIndexHeader writes the index fields of p in apk's order.
func writeIndexHeader(w *bytes.Buffer, p *Package) {
	fmt.Fprintf(w, "C:%s\nP:%s\nV:%s\n", p.Checksum, p.Name, p.Version)
	if p.Arch != "" {
		fmt.Fprintf(w, "A:%s\n", p.Arch)
	}
	fmt.Fprintf(w, "S:%d\nI:%d\nT:%s\nU:%s\nL:%s\n", p.Size, p.InstalledSize, p.Description, p.URL, p.License)
	if p.Origin != "" {
		fmt.Fprintf(w, "o:%s\n", p.Origin)
	}
	if p.Maintainer != "" {
		fmt.Fprintf(w, "m:%s\n", p.Maintainer)
	}
	if p.BuildTime != 0 {
		fmt.Fprintf(w, "t:%d\n", p.BuildTime)
	}
	if p.Commit != "" {
		fmt.Fprintf(w, "c:%s\n", p.Commit)
	}
	if p.ProviderPriority != 0 {
		fmt.Fprintf(w, "k:%d\n", p.ProviderPriority)
	}
	for _, l := range []struct {
		key  string
		deps []Dependency
	}{{"D:", p.Depends}, {"p:", p.Provides}, {"i:", p.InstallIf}} {
		if len(l.deps) > 0 {
			w.WriteString(l.key)
			w.WriteString(FormatDependencies(l.deps))
			w.WriteByte('\n')
		}
	}
}

// FormatIndex renders packages as APKINDEX text, in the order given.
func FormatIndex(pkgs []*Package) []byte {
	var w bytes.Buffer
	for _, p := range pkgs {
		writeIndexHeader(&w, p)
		w.WriteByte('\n')
	}
	return w.Bytes()
}
