package install

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxPath is the longest entry name apk accepts (PATH_MAX less its margin).
const maxPath = 4096 - 10

// UnsafePathError reports an archive entry whose name would leave the root
// or is not a plain relative path.
type UnsafePathError struct {
	Name   string
	Reason string
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("unsafe path %q: %s", e.Name, e.Reason)
}

// entryPath checks the name of a data entry and returns it as a clean path
// relative to the root, without a trailing slash. skip is set for the
// names apk ignores: those starting with '.' (".PKGINFO" and friends in
// packages that mix control and data, ".dummy" in meta packages).
func entryPath(name string) (p string, skip bool, err error) {
	bad := func(reason string) (string, bool, error) {
		return "", false, &UnsafePathError{Name: name, Reason: reason}
	}
	p = strings.TrimSuffix(name, "/")
	switch {
	case p == "":
		return bad("empty name")
	case len(p) >= maxPath:
		return bad("name too long")
	case p[0] == '/':
		return bad("absolute path")
	}
	for i := 0; i < len(p); i++ {
		if c := p[i]; c < 0x20 || c == 0x7f {
			return bad("control character in name")
		}
	}
	parts := strings.Split(p, "/")
	for _, c := range parts {
		if c == ".." {
			return bad("'..' component")
		}
	}
	if p[0] == '.' {
		return "", true, nil
	}
	for _, c := range parts {
		switch {
		case c == "":
			return bad("empty path component")
		case c == ".":
			return bad("'.' component")
		case len(c) > 255:
			return bad("component longer than 255 bytes")
		}
	}
	return p, false, nil
}

// splitPath splits a clean relative path into its directory ("" for the
// root) and base name.
func splitPath(p string) (dir, base string) {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", p
	}
	return p[:i], p[i+1:]
}

// joinPath joins a directory ("" for the root) and a name.
func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// parentDir returns the directory above dir; "" for a top-level one.
func parentDir(dir string) string {
	d, _ := splitPath(dir)
	return d
}

// rootedName is the absolute name of a directory as apk shows it to
// trigger globs: "/" for the root.
func rootedName(dir string) string { return "/" + dir }

// tmpName is the name apk extracts a file to before it is renamed into
// place: ".apk." and 48 hex digits of SHA-256 over the package name, a NUL,
// and the file's path, in the file's own directory.
func tmpName(pkgName, dir, base string) string {
	h := sha256.New()
	h.Write([]byte(pkgName))
	h.Write([]byte{0})
	h.Write([]byte(dir))
	h.Write([]byte{'/'})
	h.Write([]byte(base))
	return ".apk." + hex.EncodeToString(h.Sum(nil)[:24])
}
