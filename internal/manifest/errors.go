package manifest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Error is one problem in a manifest: where it is, the path of the key
// (services.define.nomad.respawn.delay, users[0].uid) and what to do.
// File and Line are empty for problems found in a System built in Go
// rather than parsed; Column is 0 when the YAML parser gave no column.
type Error struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Path   string `json:"path,omitempty"`
	Msg    string `json:"message"`
	// other is the path of a second place the problem involves (the first
	// of two duplicates); refer names it in Msg.
	other string
}

// refer completes Msg with the place of e.other: file:line:column when
// positions know it, else its path.
func (e *Error) refer(positions map[string]position) {
	if e.other == "" {
		return
	}
	where := e.other
	for p := e.other; positions != nil; p = parentPath(p) {
		if pos, ok := positions[p]; ok {
			where = fmt.Sprintf("%s:%d:%d", pos.file, pos.line, pos.column)
			break
		}
		if p == "" {
			break
		}
	}
	e.Msg += " (first at " + where + ")"
	e.other = ""
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" || e.Line > 0 {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
			if e.Column > 0 {
				fmt.Fprintf(&b, ":%d", e.Column)
			}
		}
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are all the problems found in a manifest, reported together. The
// error returned by Parse, Load and Validate is always of this type.
type Errors []*Error

// Error prints one problem per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find the individual problems.
func (es Errors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// err returns es as an error, or nil when there is no problem (never a
// non-nil interface holding an empty list).
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	return es
}

// sortByPosition orders problems by file, line and column; problems
// without a position keep their order after those with one.
func (es Errors) sortByPosition() {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(
			cmp.Compare(a.File, b.File),
			cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Column, b.Column),
		)
	})
}
