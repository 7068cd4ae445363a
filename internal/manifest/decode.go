package manifest

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// leadingZero matches integers YAML reads as octal (0100 is 64).
var leadingZero = lazy(`^[-+]?0[0-9_]+$`)

// maxProblems is the most problems reported for one manifest; beyond it,
// the first ones are what to fix.
const maxProblems = 500

// maxNodes bounds the work of decoding one manifest, so that aliases
// expanding into each other cannot make it run for ever.
const maxNodes = 1 << 20

// position is where a key path was found: a file, a 1-based line and
// column, and the node standing for the path.
type position struct {
	file         string
	line, column int
	node         *yaml.Node
}

// decoder fills Go values from a YAML node tree strictly: unknown keys,
// keys given twice and values of the wrong type are problems, and it
// collects every one of them instead of stopping at the first.
type decoder struct {
	fileOf func(*yaml.Node) string
	errs   Errors
	// positions, when not nil, receives the position of every key path.
	positions map[string]position
	// nodePaths, when not nil, receives the key path of every node that
	// stands for one.
	nodePaths map[*yaml.Node]string
	// failures counts problems, also those beyond maxProblems.
	failures  int
	budget    int
	exhausted bool
}

func newDecoder(fileOf func(*yaml.Node) string, positions map[string]position) *decoder {
	return &decoder{fileOf: fileOf, positions: positions, budget: maxNodes}
}

func (d *decoder) errorf(n *yaml.Node, path, format string, args ...any) {
	d.failures++
	if len(d.errs) >= maxProblems {
		return // result() says that more were found
	}
	d.errs = append(d.errs, &Error{File: d.fileOf(n), Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// value decodes n into v. at is the node whose position stands for path
// (the key of a mapping entry, or n itself).
func (d *decoder) value(n, at *yaml.Node, v reflect.Value, path string) {
	if d.budget--; d.budget < 0 {
		if !d.exhausted {
			d.exhausted = true
			d.errorf(n, path, "the manifest is too large (aliases expanding into each other?)")
		}
		return
	}
	if d.positions != nil {
		d.positions[path] = position{d.fileOf(at), at.Line, at.Column, at}
	}
	if d.nodePaths != nil {
		d.nodePaths[at] = path
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(n, path, "alias to an unknown anchor")
			return
		}
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // nothing given: the zero value
	}
	switch v.Kind() {
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		before := d.failures
		d.value(n, at, p.Elem(), path)
		if d.failures == before {
			v.Set(p)
		}
	case reflect.String:
		if s, ok := d.scalar(n, path, "a string"); ok {
			v.SetString(s)
		}
	case reflect.Int, reflect.Int64:
		d.integer(n, v, path)
	case reflect.Bool:
		if !d.want(n, path, "true or false", n.Kind == yaml.ScalarNode && n.ShortTag() == "!!bool") {
			return
		}
		var b bool
		if err := n.Decode(&b); err != nil {
			d.errorf(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Slice:
		d.list(n, v, path)
	case reflect.Map:
		d.mapping(n, v, path)
	case reflect.Struct:
		d.structure(n, v, path)
	default:
		panic("manifest: cannot decode into " + v.Type().String())
	}
}

// want reports a value of the wrong kind.
func (d *decoder) want(n *yaml.Node, path, what string, ok bool) bool {
	if !ok {
		d.errorf(n, path, "expected %s, got %s", what, describe(n))
	}
	return ok
}

// scalar returns the text of a scalar. Strings take any plain scalar as it
// is written, so that mode: 0755 and version: 3.19 keep their spelling.
func (d *decoder) scalar(n *yaml.Node, path, what string) (string, bool) {
	if n.Kind != yaml.ScalarNode {
		hint := ""
		if n.Kind == yaml.SequenceNode {
			hint = " (only one value goes here)"
		}
		d.errorf(n, path, "expected %s, got %s%s", what, describe(n), hint)
		return "", false
	}
	switch n.ShortTag() {
	case "!!str", "!!int", "!!float", "!!bool", "!!timestamp":
		return n.Value, true
	}
	d.errorf(n, path, "expected %s, got %s", what, describe(n))
	return "", false
}

func (d *decoder) integer(n *yaml.Node, v reflect.Value, path string) {
	if !d.want(n, path, "a whole number", n.Kind == yaml.ScalarNode && n.ShortTag() == "!!int") {
		return
	}
	if leadingZero.MatchString(n.Value) {
		d.errorf(n, path, "write %s without the leading 0: YAML would read it as an octal number", strings.TrimLeft(n.Value, "0"))
		return
	}
	var i int64
	if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
		d.errorf(n, path, "%s is out of range", n.Value)
		return
	}
	v.SetInt(i)
}

func (d *decoder) list(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		hint := ""
		if n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf(" (for a single entry write [%s] or a line \"- %s\")", n.Value, n.Value)
		}
		d.errorf(n, path, "expected a list, got %s%s", describe(n), hint)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.value(item, item, s.Index(i), indexPath(path, i))
	}
	v.Set(s)
}

// key returns the text of a mapping key, refusing what cairn does not
// read: merge keys and keys that are not scalars.
func (d *decoder) key(k *yaml.Node, path string) (string, bool) {
	if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
		d.errorf(k, path, "YAML merge keys (<<) are not supported: write the keys out, or share them with include:")
		return "", false
	}
	if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!null" {
		d.errorf(k, path, "a key must be a plain word, got %s", describe(k))
		return "", false
	}
	return k.Value, true
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, path string) {
	if !d.want(n, path, "a mapping (key: value)", n.Kind == yaml.MappingNode) {
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.key(k, path)
		if !ok || d.duplicate(seen, k, key, path) {
			continue
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		d.value(val, at(k, val), elem, keyPath(path, key))
		m.SetMapIndex(reflect.ValueOf(key), elem)
	}
	v.Set(m)
}

func (d *decoder) duplicate(seen map[string]*yaml.Node, k *yaml.Node, key, path string) bool {
	if first, ok := seen[key]; ok {
		d.errorf(k, keyPath(path, key), "set twice (first on line %d): keep one", first.Line)
		return true
	}
	seen[key] = k
	return false
}

func (d *decoder) structure(n *yaml.Node, v reflect.Value, path string) {
	if !d.want(n, path, "a mapping (key: value)", n.Kind == yaml.MappingNode) {
		return
	}
	t := v.Type()
	fields := structFields(t)
	byName := map[string]field{}
	var inline *field
	for i, f := range fields {
		if f.inline {
			inline = &fields[i]
			continue
		}
		byName[f.name] = f
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key, ok := d.key(k, path)
		if !ok || d.duplicate(seen, k, key, path) {
			continue
		}
		if f, ok := byName[key]; ok {
			d.value(val, at(k, val), v.Field(f.index), keyPath(path, key))
			continue
		}
		if inline == nil {
			d.errorf(k, keyPath(path, key), "%s", unknownKey(key, fields))
			continue
		}
		d.inlineEntry(k, val, v.Field(inline.index), path, key, inlineNoun(t, *inline), fields)
	}
}

// inlineEntry decodes an entry of an inline map (a runlevel of services).
// A key that is neither a field nor a valid entry is most likely a typo of
// a field, so the message says both.
func (d *decoder) inlineEntry(k, val *yaml.Node, m reflect.Value, path, key, noun string, fields []field) {
	elemType := m.Type().Elem()
	if elemType.Kind() == reflect.Slice {
		if n := deref(val); n.Kind != yaml.SequenceNode && !(n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null") {
			var msg string
			if s := suggest(key, fieldNames(fields)); s != "" {
				msg = fmt.Sprintf("%q is not a key here, so it is read as a %s, which must be a list, but this is %s; did you mean %s?", key, noun, describe(n), s)
			} else {
				msg = fmt.Sprintf("a %s is a list, got %s", noun, describe(n))
				if n.Kind == yaml.ScalarNode {
					msg += fmt.Sprintf(" (for one entry write [%s])", n.Value)
				}
			}
			d.errorf(k, keyPath(path, key), "%s", msg)
			return
		}
	}
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	elem := reflect.New(elemType).Elem()
	d.value(val, at(k, val), elem, keyPath(path, key))
	m.SetMapIndex(reflect.ValueOf(key), elem)
}

// at is the node standing for a mapping entry's path: the value when it is
// a scalar (so a message points at the bad value), else the key.
func at(k, val *yaml.Node) *yaml.Node {
	if dv := deref(val); dv.Kind == yaml.ScalarNode && dv.ShortTag() != "!!null" {
		return val
	}
	return k
}

func deref(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		return n.Alias
	}
	return n
}

func fieldNames(fields []field) []string {
	var names []string
	for _, f := range fields {
		if !f.inline {
			names = append(names, f.name)
		}
	}
	return names
}

func unknownKey(key string, fields []field) string {
	names := fieldNames(fields)
	msg := "unknown key"
	if s := suggest(key, names); s != "" {
		msg += "; did you mean " + s + "?"
	}
	return msg + " (valid here: " + strings.Join(names, ", ") + ")"
}

// suggest returns the candidate closest to key when it is close enough to
// be a likely typo, or "": a candidate key starts, or the Closest.
func suggest(key string, candidates []string) string {
	if len(key) > 64 {
		return ""
	}
	for _, c := range candidates {
		if len(key) >= 3 && strings.HasPrefix(strings.ToLower(c), strings.ToLower(key)) {
			return c
		}
	}
	return Closest(key, candidates)
}

// Closest returns the candidate with the fewest edits from key (ignoring
// case) when that is few enough to be a typo (a third of the shorter
// length, at least one), or "". Of equally close ones the first wins.
func Closest(key string, candidates []string) string {
	best, bestDist := "", 0
	if len(key) > 64 {
		return ""
	}
	for _, c := range candidates {
		limit := max(1, min(len(c), len(key))/3)
		if d := len(c) - len(key); d > limit || -d > limit {
			continue // more edits than that apart
		}
		dist := editDistance(strings.ToLower(key), strings.ToLower(c))
		if dist <= limit && (best == "" || dist < bestDist) {
			best, bestDist = c, dist
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// quoted is strconv.Quote, for messages.
func quoted(s string) string { return strconv.Quote(s) }
