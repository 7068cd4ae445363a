package manifest

import (
	"strings"

	"go.yaml.in/yaml/v3"
)

// locate gives a problem found by Validate the position of its path, or
// of the nearest enclosing key that was written, and names the path as it
// is in that file (localPaths may be nil).
func locate(e *Error, positions map[string]position, localPaths map[*yaml.Node]string) {
	for p := e.Path; ; p = parentPath(p) {
		if pos, ok := positions[p]; ok {
			e.File, e.Line, e.Column = pos.file, pos.line, pos.column
			if local, ok := localPaths[pos.node]; ok {
				rest := e.Path[len(p):]
				if local == "" {
					// the top of an included UserProfile
					rest = strings.TrimPrefix(rest, ".")
				}
				e.Path = local + rest
			}
			return
		}
		if p == "" {
			return
		}
	}
}

// covered reports whether a decoding problem was already reported at path
// or below or above it: a value that could not be decoded is then empty,
// and validation would only repeat the problem in other words.
func covered(path string, errs Errors) bool {
	for _, e := range errs {
		if e.Path == "" {
			continue
		}
		if within(path, e.Path) || within(e.Path, path) {
			return true
		}
	}
	return false
}

// within reports whether path p is q or inside it.
func within(p, q string) bool {
	if p == q {
		return true
	}
	return strings.HasPrefix(p, q) && (p[len(q)] == '.' || p[len(q)] == '[')
}
