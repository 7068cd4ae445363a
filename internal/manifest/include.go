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
	if filepath.IsAbs(rel) {
		l.errorf(item, path, "%s is an absolute path: include manifests by paths relative to this file, inside the directory of the manifest you build", quoted(rel))
		l.fatal = true
		return nil
	}
	target := filepath.Join(filepath.Dir(name), rel)
	abs, err := filepath.Abs(target)
	if err != nil {
		abs = target
	}
	if msg := l.outside(rel, target); msg != "" {
		l.errorf(item, path, "%s", msg)
		l.fatal = true
		return nil
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

// outside says why the included file target (rel as written) lies
// outside the top manifest's directory, or "".
func (l *loader) outside(rel, target string) string {
	top, err1 := filepath.Abs(l.topDir)
	abs, err2 := filepath.Abs(target)
	if err1 != nil || err2 != nil {
		return ""
	}
	fromTop, err := filepath.Rel(top, abs)
	if err != nil || leavesDir(fromTop) {
		return (&OutsideError{Path: rel, Dir: top}).Error()
	}
	if _, err := ResolveLocal(top, fromTop); err != nil {
		var oe *OutsideError
		if errors.As(err, &oe) {
			oe.Path = rel
		}
		return err.Error()
	}
	return ""
}
