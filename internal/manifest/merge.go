package manifest

import (
	"path/filepath"

	"go.yaml.in/yaml/v3"
)

// merge lays over on top of base, the way an including manifest lies over
// what it includes: mappings are merged key by key, lists are joined (base
// first), and any other value of over wins. A null in over leaves base as
// it is. Neither tree is changed; shared subtrees are reused.
func (l *loader) merge(base, over *yaml.Node) *yaml.Node {
	if l.nodes++; l.nodes > maxNodes {
		if !l.fatal {
			l.errorf(over, "", "the manifest is too large (aliases expanding into each other?)")
			l.fatal = true
		}
		return over
	}
	b, o := deref(base), deref(over)
	switch {
	case o.Kind == yaml.ScalarNode && o.ShortTag() == "!!null":
		return base
	case b.Kind == yaml.MappingNode && o.Kind == yaml.MappingNode:
		out := l.derive(o)
		inOver := map[string]int{}
		for i := 0; i+1 < len(o.Content); i += 2 {
			inOver[o.Content[i].Value] = i
		}
		inBase := map[string]bool{}
		for i := 0; i+1 < len(b.Content); i += 2 {
			k, v := b.Content[i], b.Content[i+1]
			inBase[k.Value] = true
			if j, ok := inOver[k.Value]; ok {
				out.Content = append(out.Content, o.Content[j], l.merge(v, o.Content[j+1]))
			} else {
				out.Content = append(out.Content, k, v)
			}
		}
		for i := 0; i+1 < len(o.Content); i += 2 {
			if !inBase[o.Content[i].Value] {
				out.Content = append(out.Content, o.Content[i], o.Content[i+1])
			}
		}
		return out
	case b.Kind == yaml.SequenceNode && o.Kind == yaml.SequenceNode:
		out := l.derive(o)
		out.Content = append(append(out.Content, b.Content...), o.Content...)
		return out
	}
	return over
}

// derive makes an empty node like n, in n's file and at n's place.
func (l *loader) derive(n *yaml.Node) *yaml.Node {
	out := &yaml.Node{Kind: n.Kind, Tag: n.Tag, Style: n.Style, Line: n.Line, Column: n.Column}
	l.files[out] = l.files[n]
	return out
}

// withoutKey returns mapping n without key.
func (l *loader) withoutKey(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return n
	}
	out := l.derive(n)
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != key {
			out.Content = append(out.Content, n.Content[i], n.Content[i+1])
		}
	}
	return out
}

// rebase rewrites the relative paths of an included manifest, written
// relative to its directory from, to be relative to the directory to of
// the manifest including it.
func rebase(root *yaml.Node, from, to string) {
	absFrom, err1 := filepath.Abs(from)
	absTo, err2 := filepath.Abs(to)
	if err1 != nil || err2 != nil || absFrom == absTo {
		return
	}
	fix := func(n *yaml.Node) {
		if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" || !isLocalPath(n.Value) || filepath.IsAbs(n.Value) {
			return
		}
		p := filepath.Join(absFrom, n.Value)
		if rel, err := filepath.Rel(absTo, p); err == nil {
			p = rel
		}
		n.Value = p
	}
	each := func(list *yaml.Node, fn func(*yaml.Node)) {
		if list != nil && list.Kind == yaml.SequenceNode {
			for _, item := range list.Content {
				fn(item)
			}
		}
	}
	value := func(n *yaml.Node, key string) *yaml.Node { _, v := mappingEntry(n, key); return v }

	if alpine := value(root, "alpine"); alpine != nil {
		each(value(alpine, "keys"), fix)
		each(value(alpine, "repositories"), func(r *yaml.Node) { fix(value(r, "url")) })
	}
	each(value(root, "artifacts"), func(a *yaml.Node) { fix(value(a, "url")) })
	if files := value(root, "files"); files != nil {
		fix(value(files, "skeleton"))
	}
	each(value(root, "setup"), func(s *yaml.Node) { fix(value(s, "file")) })
	each(value(root, "secrets"), func(s *yaml.Node) { fix(value(s, "file")) })
	if containers := value(root, "containers"); containers != nil && containers.Kind == yaml.MappingNode {
		for i := 1; i < len(containers.Content); i += 2 {
			fix(value(containers.Content[i], "archive"))
		}
	}
}

var urlScheme = lazy(`^[A-Za-z][A-Za-z0-9+.-]*:`)

// isLocalPath reports whether s is a file path rather than a URL.
func isLocalPath(s string) bool { return s != "" && !urlScheme.MatchString(s) }
