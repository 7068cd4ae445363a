package manifest

import (
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"slices"
)

// Validate checks a manifest and returns every problem at once as Errors,
// each naming the key path and what would be valid. It reads nothing but
// s: files the manifest names are checked when they are used. Validate
// accepts both a manifest as written and one completed by ApplyDefaults.
func (s *System) Validate() error {
	errs := s.problems()
	for _, e := range errs {
		e.refer(nil)
	}
	return errs.err()
}

// problems runs every check; duplicates name their first place in
// Error.other, for the caller to describe.
func (s *System) problems() Errors {
	v := &validator{}
	v.text(reflect.ValueOf(s).Elem(), "", "")
	v.header(s)
	v.alpine(&s.Alpine)
	v.packages(s.Packages, s.Alpine.Repositories)
	v.artifacts(s.Artifacts)
	v.services(&s.Services)
	v.containers(s)
	v.users(s.Users)
	v.groups(s.Groups)
	v.tenants(s)
	v.host(s)
	v.health(s.Health)
	v.network(&s.Network)
	v.fstab(s.Fstab)
	v.persist(s.Persist)
	v.kernel(s)
	v.files(&s.Files)
	v.states(s)
	v.snapshots(s)
	v.setup(s.Setup)
	v.secrets(s.Secrets)
	v.localPaths(s)
	v.ownScripts(s)
	return v.errs
}

// validator collects problems.
type validator struct {
	errs Errors
	// bad are the paths of text that failed the text check: other checks
	// of these values would only say the same in other words.
	bad []string
}

func (v *validator) add(path, format string, args ...any) {
	v.addRef(path, "", format, args...)
}

// addRef reports a problem that also involves the value at path other.
func (v *validator) addRef(path, other, format string, args ...any) {
	for _, b := range v.bad {
		if within(path, b) {
			return
		}
	}
	v.errs = append(v.errs, &Error{Path: path, Msg: fmt.Sprintf(format, args...), other: other})
}

// absPath checks an absolute path that must be given.
func (v *validator) absPath(path, p, example string) {
	if msg := absPathProblem(p, example); msg != "" {
		v.add(path, "%s", msg)
	}
}

// optAbsPath checks an absolute path that may be left out.
func (v *validator) optAbsPath(path, p, example string) {
	if p != "" {
		v.absPath(path, p, example)
	}
}

func (v *validator) mode(path, m string) {
	if m != "" && !octalMode.MatchString(m) {
		v.add(path, "%s is not an octal mode: write 3 or 4 octal digits like 0644 or 0755", quoted(m))
	}
}

func (v *validator) owner(path, o string) {
	if o != "" && !validOwner(o) {
		v.add(path, "%s is not an owner: write user:group, like root:root or nomad:nomad", quoted(o))
	}
}

func (v *validator) id(path string, id *int, what string) {
	if id != nil && (*id < 0 || *id > maxID) {
		v.add(path, "%d is out of range: a %s is between 0 and %d", *id, what, maxID)
	}
}

// unique reports entries of a list that repeat an earlier one.
type unique map[string]string

func (u unique) seen(v *validator, path, key, what string) {
	if first, ok := u[key]; ok {
		v.addRef(path, first, "%s %s is declared twice: keep one", what, quoted(key))
		return
	}
	u[key] = path
}

func (v *validator) header(s *System) {
	if s.APIVersion != APIVersion {
		if s.APIVersion == "" {
			v.add("apiVersion", "missing: add apiVersion: %s", APIVersion)
		} else {
			v.add("apiVersion", "%s is not supported (this cairn reads %s)", quoted(s.APIVersion), APIVersion)
		}
	}
	if s.Kind != KindSystem {
		if s.Kind == "" {
			v.add("kind", "missing: add kind: %s", KindSystem)
		} else {
			v.add("kind", "%s is not supported (this cairn reads kind: %s)", quoted(s.Kind), KindSystem)
		}
	}
	for i, inc := range s.Include {
		p := indexPath("include", i)
		switch {
		case inc == "":
			v.add(p, "empty: give a manifest path relative to this file")
		case filepath.IsAbs(inc):
			v.add(p, "%s is an absolute path: include manifests by paths relative to this file, inside the directory of the manifest you build", quoted(inc))
		case leavesDir(inc):
			v.add(p, "%s", (&OutsideError{Path: inc}).Error())
		}
	}
}

// sortedKeys returns the keys of m in order, so that problems are found
// in the same order every time.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
