package manifest

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Load reads the manifest at path, merges the manifests it includes, and
// validates the result (see Parse). Defaults are not applied: call
// ApplyDefaults on the result.
func Load(path string) (*System, error) {
	f, err := LoadFile(path)
	if err != nil {
		return nil, err
	}
	return f.System, nil
}

// File is a manifest read from a file, valid, with the place where each
// of its values was written: problems found later, by the build or
// against the packages, name a key path (services.default[2]), and
// Locate gives them their file:line:column.
type File struct {
	*System
	Path string
	// Sources are the files the manifest was read from, as they were
	// read: the top file first, then each included one.
	Sources []Source
	// positions and localPaths are the loader's (see loader).
	positions  map[string]position
	localPaths map[*yaml.Node]string
}

// LoadFile is Load, keeping where each value was written.
func LoadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load manifest: %w", err)
	}
	return parseFile(path, data, os.ReadFile)
}

// Locate gives every *Error in err's tree (errors.Join, %w) that has a
// key path but no file the position of that path, or of the nearest
// enclosing key that was written. Errors of other packages about a key
// of the manifest take part through a method ManifestError() *Error. It returns the problems found, in the
// order of the tree; none when err holds no *Error.
func (f *File) Locate(err error) Errors {
	var out Errors
	var walk func(error)
	walk = func(err error) {
		switch e := err.(type) {
		case nil:
			return
		case *Error:
			if e.File == "" && e.Path != "" {
				e.refer(f.positions)
				locate(e, f.positions, f.localPaths)
			}
			out = append(out, e)
			return
		case interface{ ManifestError() *Error }:
			if me := e.ManifestError(); me != nil {
				walk(me)
			}
			return
		case Errors:
			for _, x := range e {
				walk(x)
			}
			return
		case interface{ Unwrap() []error }:
			for _, x := range e.Unwrap() {
				walk(x)
			}
		case interface{ Unwrap() error }:
			walk(e.Unwrap())
		}
	}
	walk(err)
	return out
}

// Parse reads data as the manifest named name (the name appears in
// messages, and includes are read relative to its directory), merges its
// includes and validates the result. Every problem found is returned at
// once as Errors, each naming file:line:column and the key path.
//
// After Parse, paths in the manifest that are relative (alpine.keys,
// repository and artifact URLs, files.skeleton, setup[].file) are relative
// to the directory of name, also where an included manifest wrote them
// relative to itself.
func Parse(name string, data []byte) (*System, error) {
	return parse(name, data, os.ReadFile)
}

func parse(name string, data []byte, readFile func(string) ([]byte, error)) (*System, error) {
	f, err := parseFile(name, data, readFile)
	if err != nil {
		return nil, err
	}
	return f.System, nil
}

func parseFile(name string, data []byte, readFile func(string) ([]byte, error)) (*File, error) {
	l := &loader{readFile: readFile, files: map[*yaml.Node]string{}, localPaths: map[*yaml.Node]string{}, done: map[string]bool{}, topDir: filepath.Dir(name)}
	l.enter(name)
	root := l.file(name, data)
	if root == nil || l.fatal {
		return nil, l.result()
	}
	s, positions := l.decode(root)
	if s == nil {
		return nil, l.result()
	}
	l.validate(s, positions)
	if err := l.result(); err != nil {
		return nil, err
	}
	return &File{System: s, Path: name, Sources: l.sources, positions: positions, localPaths: l.localPaths}, nil
}

// decode decodes the merged tree, recording the position of every key
// path; it returns nil when the tree is too large to decode.
func (l *loader) decode(root *yaml.Node) (*System, map[string]position) {
	var s System
	positions := map[string]position{}
	dec := newDecoder(l.fileOf, positions)
	dec.value(root, root, reflect.ValueOf(&s).Elem(), "")
	switch {
	case dec.exhausted:
		l.errs = append(l.errs, dec.errs...)
		return nil, nil
	case len(l.errs) == 0:
		// Each file decoded cleanly on its own, so this finds only what
		// merging made; otherwise it would repeat the same problems.
		l.errs = append(l.errs, dec.errs...)
	}
	return &s, positions
}

// validate adds the problems Validate finds, placed where their values
// were written, leaving out those about values that did not decode.
func (l *loader) validate(s *System, positions map[string]position) {
	decodeErrs := slices.Clone(l.errs)
	problems := s.problems()
	for _, e := range problems {
		if !covered(e.Path, decodeErrs) {
			e.refer(positions)
			locate(e, positions, l.localPaths)
			l.errs = append(l.errs, e)
		}
	}
	for _, e := range s.skeletonScripts(l.topDir) {
		locate(e, positions, l.localPaths)
		l.errs = append(l.errs, e)
	}
	// Where a path stays in the manifest's directory as written, a
	// symlink may still lead out of it.
	for _, lp := range s.localPaths() {
		if lp.problem() != "" || covered(lp.path, decodeErrs) {
			continue
		}
		if _, err := ResolveLocal(l.topDir, lp.value); err != nil {
			e := &Error{Path: lp.path, Msg: err.Error()}
			locate(e, positions, l.localPaths)
			l.errs = append(l.errs, e)
		}
	}
}

// loader reads a manifest and the manifests it includes.
type loader struct {
	readFile func(string) ([]byte, error)
	// files records which file each YAML node came from, so that
	// positions in the merged tree name the right file.
	files map[*yaml.Node]string
	// localPaths records the key path of nodes within their own file:
	// users[0] of an included file may be users[3] of the merged manifest,
	// and messages name the path in the file they point into.
	localPaths map[*yaml.Node]string
	// done holds the absolute paths already read: a file included twice
	// (by two bases sharing a third) is merged once, where first included.
	done map[string]bool
	// active is the chain of files being read, to detect include cycles.
	active, activeNames []string
	errs                Errors
	// fatal is set when a file could not be read or parsed at all: the
	// merged manifest is then incomplete and is not validated.
	fatal bool
	nodes int
	// topDir is the directory of the manifest being built: what any of
	// the files names stays inside it.
	topDir string
	// sources are the files read, in order.
	sources []Source
}

// Source is one file of a manifest: its path relative to the directory of
// the top manifest (slash-separated; included files lie in it or below),
// and its bytes.
type Source struct {
	Path string
	Data []byte
}

func (l *loader) result() error {
	l.errs.sortByPosition()
	if len(l.errs) > maxProblems {
		last := l.errs[maxProblems-1]
		l.errs = append(l.errs[:maxProblems:maxProblems], &Error{File: last.File, Line: last.Line, Column: last.Column,
			Msg: "too many problems: these are the first; fix them and validate again"})
	}
	return l.errs.err()
}

func (l *loader) fileOf(n *yaml.Node) string { return l.files[n] }

func (l *loader) enter(name string) {
	abs, err := filepath.Abs(name)
	if err != nil {
		abs = name
	}
	l.done[abs] = true
	l.active = append(l.active, abs)
	l.activeNames = append(l.activeNames, name)
}

func (l *loader) leave() {
	l.active = l.active[:len(l.active)-1]
	l.activeNames = l.activeNames[:len(l.activeNames)-1]
}

// file parses one manifest, checks it on its own, and returns its tree
// with its includes merged under it, or nil when it cannot be read.
func (l *loader) file(name string, data []byte) *yaml.Node {
	l.sources = append(l.sources, Source{Path: l.relToTop(name), Data: data})
	root, errs := readDocument(name, data)
	if errs != nil {
		l.errs = append(l.errs, errs...)
		l.fatal = true
		return nil
	}
	l.register(root, name)
	if len(l.active) > 1 && kindOf(root) == KindUserProfile {
		return l.profile(name, root)
	}
	if !l.checkHeader(root) {
		l.fatal = true
		return nil
	}
	// Decode this file alone, so that each wrong key or type is reported
	// once, in the file that has it.
	var scratch System
	dec := newDecoder(l.fileOf, nil)
	dec.nodePaths = l.localPaths
	dec.value(root, root, reflect.ValueOf(&scratch).Elem(), "")
	l.errs = append(l.errs, dec.errs...)
	if dec.exhausted {
		l.fatal = true
	}

	base := l.includes(name, root)
	if base == nil {
		return root
	}
	return l.merge(base, root)
}

// relToTop names a file read relative to the top manifest's directory.
func (l *loader) relToTop(name string) string {
	top, err1 := filepath.Abs(l.topDir)
	abs, err2 := filepath.Abs(name)
	if err1 == nil && err2 == nil {
		if rel, err := filepath.Rel(top, abs); err == nil && !leavesDir(rel) {
			return filepath.ToSlash(rel)
		}
	}
	return filepath.Base(name)
}

// register records the file of every node of a parsed tree.
func (l *loader) register(n *yaml.Node, name string) {
	l.files[n] = name
	for _, c := range n.Content {
		l.register(c, name)
	}
}

func (l *loader) errorf(n *yaml.Node, path, format string, args ...any) {
	l.errs = append(l.errs, &Error{File: l.fileOf(n), Line: n.Line, Column: n.Column, Path: path, Msg: fmt.Sprintf(format, args...)})
}

// checkHeader checks apiVersion and kind. A manifest of another version or
// kind is not decoded further: its keys would mean something else.
func (l *loader) checkHeader(root *yaml.Node) bool {
	ok := true
	for _, h := range []struct{ key, want, help string }{
		{"apiVersion", APIVersion, "this cairn reads " + APIVersion},
		{"kind", KindSystem, "this cairn reads kind: " + KindSystem},
	} {
		k, v := mappingEntry(root, h.key)
		switch {
		case v == nil:
			l.errorf(root, h.key, "missing: add %s: %s at the top of the file", h.key, h.want)
		case deref(v).Kind != yaml.ScalarNode:
			l.errorf(v, h.key, "expected %s, got %s", h.want, describe(v))
			ok = false
		case h.key == "kind" && deref(v).Value == KindUserProfile:
			l.errorf(at(k, v), h.key, "a UserProfile is not built on its own: include it from a System manifest (include: [%s])", filepath.Base(l.fileOf(root)))
			ok = false
		case deref(v).Value != h.want:
			l.errorf(at(k, v), h.key, "%s is not supported (%s)", quoted(deref(v).Value), h.help)
			ok = false
		}
	}
	return ok
}

// kindOf returns the kind a manifest's top mapping names, or "".
func kindOf(root *yaml.Node) string {
	if _, v := mappingEntry(root, "kind"); v != nil && deref(v).Kind == yaml.ScalarNode {
		return deref(v).Value
	}
	return ""
}

// profile checks an included kind: UserProfile document on its own and
// returns it as a System listing it in tenants, which merges like any
// included manifest (the lists are joined).
func (l *loader) profile(name string, root *yaml.Node) *yaml.Node {
	k, v := mappingEntry(root, "apiVersion")
	switch {
	case v == nil:
		l.errorf(root, "apiVersion", "missing: add apiVersion: %s at the top of the file", ProfileAPIVersion)
		l.fatal = true
		return nil
	case deref(v).Kind != yaml.ScalarNode || !slices.Contains(profileAPIVersions, deref(v).Value):
		l.errorf(at(k, v), "apiVersion", "%s is not supported for a UserProfile (this cairn reads %s)", describe(v), strings.Join(profileAPIVersions, " or "))
		l.fatal = true
		return nil
	}
	// Decode it alone, so that each wrong key or type is reported once,
	// at its path in this file.
	var scratch UserProfile
	dec := newDecoder(l.fileOf, nil)
	dec.nodePaths = l.localPaths
	dec.value(root, root, reflect.ValueOf(&scratch).Elem(), "")
	l.errs = append(l.errs, dec.errs...)
	if dec.exhausted {
		l.fatal = true
	}
	key := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "tenants", Line: root.Line, Column: root.Column}
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: []*yaml.Node{root}, Line: root.Line, Column: root.Column}
	wrapper := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: []*yaml.Node{key, list}, Line: root.Line, Column: root.Column}
	for _, n := range []*yaml.Node{key, list, wrapper} {
		l.files[n] = name
	}
	return wrapper
}

// mappingEntry returns the key and value nodes of key in mapping n.
func mappingEntry(n *yaml.Node, key string) (k, v *yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		return nil, nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i], n.Content[i+1]
		}
	}
	return nil, nil
}
