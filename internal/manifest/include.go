package manifest

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// includes reads the files root includes and returns them merged in
// order, or nil when there are none.
func (l *loader) includes(name string, root *yaml.Node) *yaml.Node {
	_, list := mappingEntry(root, "include")
	if list == nil || deref(list).Kind != yaml.SequenceNode {
		return nil // absent, or a wrong type the decoder reported
	}
	var acc *yaml.Node
	for i, item := range deref(list).Content {
		if deref(item).Kind != yaml.ScalarNode || deref(item).ShortTag() == "!!null" {
			continue
		}
		child := l.include(name, item, indexPath("include", i))
		switch {
		case child == nil:
		case acc == nil:
			acc = child
		default:
			acc = l.merge(acc, child)
		}
	}
	return acc
}

// include reads one included file, relative to the including file name.
func (l *loader) include(name string, item *yaml.Node, path string) *yaml.Node {
	rel := deref(item).Value
	if rel == "" {
		l.errorf(item, path, "empty: give a manifest path relative to this file")
		return nil
	}
	target := rel
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(name), rel)
	}
	abs, err := filepath.Abs(target)
	if err != nil {
		abs = target
	}
	if i := slices.Index(l.active, abs); i >= 0 {
		chain := append(slices.Clone(l.activeNames[i:]), target)
		l.errorf(item, path, "include cycle %s: remove one of these includes", strings.Join(chain, " -> "))
		l.fatal = true
		return nil
	}
	if l.done[abs] {
		return nil
	}
	data, err := l.readFile(target)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		l.errorf(item, path, "cannot include %s: %v", target, err)
		l.fatal = true
		return nil
	}
	l.enter(target)
	child := l.file(target, data)
	l.leave()
	if child == nil {
		return nil
	}
	child = l.withoutKey(child, "include")
	rebase(child, filepath.Dir(target), filepath.Dir(name))
	return child
}
