package compose

import (
	"fmt"
	"path"
	"strings"
)

// rootRel turns an absolute path of the system being built into a path
// relative to its root ("" for "/"). It refuses relative paths and any
// ".." component, even one that would stay inside the root: a manifest
// names places plainly.
func rootRel(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("%q is not an absolute path", p)
	}
	if strings.ContainsRune(p, 0) {
		return "", fmt.Errorf("%q contains a NUL byte", p)
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." {
			return "", fmt.Errorf("%q contains ..", p)
		}
	}
	return strings.TrimPrefix(path.Clean(p), "/"), nil
}
