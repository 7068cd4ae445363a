package compose

import (
	"bytes"
	"fmt"
	"io"
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

// splitRel splits a root-relative path into its parent and last component.
func splitRel(rel string) (parent, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

func joinRel(dir, name string) string {
	if dir == "" || dir == "." {
		return name
	}
	if name == "" {
		return dir
	}
	return dir + "/" + name
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }
