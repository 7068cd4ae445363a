package manifest

import (
	"reflect"
	"strings"
)

// field is one YAML key of a struct, from its `yaml` and `doc` tags. The
// decoder, the schema generator and the canonical form used for digests
// all read the types through this one table.
type field struct {
	name      string // the YAML key
	index     int
	omitEmpty bool
	// inline marks the map field that takes every key the struct does not
	// name itself (the runlevels of Services).
	inline bool
	doc    string
	// text is the field's `text` tag: "", "lines" or "any" (see System).
	text string
}

// structFields lists the YAML keys of struct type t in declaration order.
func structFields(t reflect.Type) []field {
	var fs []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("yaml")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		f := field{name: name, index: i, doc: sf.Tag.Get("doc"), text: sf.Tag.Get("text")}
		for _, o := range strings.Split(opts, ",") {
			switch o {
			case "omitempty":
				f.omitEmpty = true
			case "inline":
				f.inline = true
			}
		}
		if f.name == "" && !f.inline {
			f.name = strings.ToLower(sf.Name)
		}
		fs = append(fs, f)
	}
	return fs
}

// inlineNoun names one entry of an inline map field from the field's Go
// name: Runlevels -> "runlevel".
func inlineNoun(t reflect.Type, f field) string {
	return strings.TrimSuffix(strings.ToLower(t.Field(f.index).Name), "s")
}
