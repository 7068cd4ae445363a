package manifest

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode"
)

// Every string of a manifest ends up somewhere a control character does
// harm: a file with one line per entry (passwd, fstab, conf.d), a loader
// entry, the generation's record, a terminal that `cairn generations`
// prints to. So text is checked once, here, for every key: one line
// without control characters, unless the key's `text` tag allows line
// breaks (scripts, /etc/network/interfaces) or anything (file content).
// Bidirectional controls are refused too: they make text display in
// another order than it is stored.

// textProblem says what is wrong with s under rule, or "".
func textProblem(s, rule string) string {
	if rule == "any" {
		return ""
	}
	for _, r := range s {
		switch {
		case rule == "lines" && (r == '\n' || r == '\t'):
		case r == '\n' || r == '\r':
			return "must be one line, but it contains a line break: write it on one line"
		case unicode.Is(unicode.Cc, r):
			return fmt.Sprintf("contains the control character %U: remove it", r)
		case isBidiControl(r):
			return fmt.Sprintf("contains the bidirectional control %U, which makes text display in another order than it is written: remove it", r)
		}
	}
	return ""
}

func isBidiControl(r rune) bool {
	return r == '\u061C' || r == '\u200E' || r == '\u200F' || (r >= '\u202A' && r <= '\u202E') || (r >= '\u2066' && r <= '\u2069')
}

// text checks every string (and map key) in v, a value of the manifest
// at path. Paths with a problem are remembered, so that other checks of
// the same value stay quiet.
func (v *validator) text(val reflect.Value, path, rule string) {
	switch val.Kind() {
	case reflect.Pointer:
		if !val.IsNil() {
			v.text(val.Elem(), path, rule)
		}
	case reflect.String:
		if msg := textProblem(val.String(), rule); msg != "" {
			v.add(path, "%s", msg)
			v.bad = append(v.bad, path)
		}
	case reflect.Slice:
		for i := range val.Len() {
			v.text(val.Index(i), indexPath(path, i), rule)
		}
	case reflect.Map:
		keys := val.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			p := keyPath(path, k.String())
			if msg := textProblem(k.String(), ""); msg != "" {
				v.add(p, "the key %s", msg)
				v.bad = append(v.bad, p)
				continue
			}
			v.text(val.MapIndex(k), p, rule)
		}
	case reflect.Struct:
		for _, f := range structFields(val.Type()) {
			p := path
			if !f.inline {
				p = keyPath(path, f.name)
			}
			v.text(val.Field(f.index), p, f.text)
		}
	}
}
