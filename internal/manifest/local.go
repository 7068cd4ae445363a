package manifest

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
)

// What a manifest takes from the build machine stays in the manifest's
// directory: the skeleton, setup files, includes, trusted keys and local
// artifacts named by relative paths are resolved inside the directory of
// the manifest being built (the one given to cairn, not an included one)
// and may not leave it, by .. or by a symlink. A manifest kept in git
// then takes nothing from the machine that builds it that a reader of the
// repository does not see. Absolute paths are allowed only for keys (the
// build machine's /etc/apk/keys) and artifacts (whose SHA-256 the
// manifest pins); repositories may be anywhere, since what they hold must
// verify against the keys.

// OutsideError is a relative path that leads out of the manifest's
// directory.
type OutsideError struct {
	Path string // as the manifest writes it
	Dir  string // the manifest's directory
	// Target is where a symlink on the way leads; "" when .. leads out.
	Target string
}

func (e *OutsideError) Error() string {
	if e.Target != "" {
		return fmt.Sprintf("%s resolves to %s, outside the directory of the manifest you build (%s): keep what it uses in that directory or below, not behind a symlink", quoted(e.Path), e.Target, e.Dir)
	}
	return fmt.Sprintf("%s leads out of the directory of the manifest you build: keep what it uses in that directory or below", quoted(e.Path))
}

// ResolveLocal returns the path p names, relative to the manifest's
// directory dir (or absolute), with symlinks resolved: a relative p must
// stay inside dir, also where a symlink leads. Where p does not exist,
// the deepest part of it that does decides, and the rest is joined to it
// for its user to report.
func ResolveLocal(dir, p string) (string, error) {
	if filepath.IsAbs(p) {
		return p, nil
	}
	if leavesDir(p) {
		return "", &OutsideError{Path: p, Dir: dir}
	}
	joined := filepath.Join(dir, p)
	realDir, err := filepath.EvalSymlinks(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return joined, nil
	}
	if err != nil {
		return "", err
	}
	existing, rest := joined, ""
	real, err := filepath.EvalSymlinks(existing)
	for errors.Is(err, fs.ErrNotExist) && existing != filepath.Clean(dir) {
		rest = filepath.Join(filepath.Base(existing), rest)
		existing = filepath.Dir(existing)
		real, err = filepath.EvalSymlinks(existing)
	}
	if err != nil {
		return "", err
	}
	if !inDir(real, realDir) {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
		return "", &OutsideError{Path: p, Dir: dir, Target: filepath.Join(real, rest)}
	}
	return filepath.Join(real, rest), nil
}

// leavesDir reports whether the relative path p climbs out of the
// directory it is relative to.
func leavesDir(p string) bool {
	c := filepath.Clean(p)
	return c == ".." || strings.HasPrefix(c, ".."+string(filepath.Separator))
}

// inDir reports whether p is dir or below it (both clean, absolute).
func inDir(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && !leavesDir(rel) && !filepath.IsAbs(rel)
}

// localPaths lists the paths of s that name files of the build machine:
// key path, value, and whether an absolute path is allowed there.
func (s *System) localPaths() []localPath {
	var out []localPath
	for i, k := range s.Alpine.Keys {
		out = append(out, localPath{indexPath("alpine.keys", i), k, true})
	}
	for i, a := range s.Artifacts {
		if isLocalPath(a.URL) {
			out = append(out, localPath{keyPath(indexPath("artifacts", i), "url"), a.URL, true})
		}
	}
	if s.Files.Skeleton != "" {
		out = append(out, localPath{"files.skeleton", s.Files.Skeleton, false})
	}
	for i, sc := range s.Setup {
		if sc.File != "" {
			out = append(out, localPath{keyPath(indexPath("setup", i), "file"), sc.File, false})
		}
	}
	for i, sec := range s.Secrets {
		if sec.File != "" {
			out = append(out, localPath{keyPath(indexPath("secrets", i), "file"), sec.File, false})
		}
	}
	for _, name := range sortedKeys(s.Containers) {
		if a := s.Containers[name].Archive; a != "" {
			out = append(out, localPath{keyPath(keyPath("containers", name), "archive"), a, false})
		}
	}
	return out
}

type localPath struct {
	path, value string
	absOK       bool
}

// localProblem says what is wrong with a local path without looking at
// the disk, or "".
func (l localPath) problem() string {
	switch {
	case l.value == "":
		return ""
	case filepath.IsAbs(l.value) && !l.absOK:
		return fmt.Sprintf("%s is an absolute path, but this path is relative to the manifest and stays in its directory: copy what it names there", quoted(l.value))
	case !filepath.IsAbs(l.value) && leavesDir(l.value):
		return (&OutsideError{Path: l.value}).Error()
	}
	return ""
}

func (v *validator) localPaths(s *System) {
	for _, l := range s.localPaths() {
		if msg := l.problem(); msg != "" {
			v.add(l.path, "%s", msg)
		}
	}
}
