package manifest

import (
	"strconv"
	"strings"
)

// Key paths name a value in a manifest the way a reader would write it:
// services.define.nomad.respawn.delay, users[0].uid,
// sysctl["net.ipv4.ip_forward"]. Keys that are not plain words are quoted
// in brackets so that the path stays unambiguous.

var plainKey = lazy(`^[A-Za-z0-9_-]+$`)

// KeyPath is the path of key inside the mapping at parent, for packages
// that report problems of a manifest's keys.
func KeyPath(parent, key string) string { return keyPath(parent, key) }

// IndexPath is the path of item i of the list at parent.
func IndexPath(parent string, i int) string { return indexPath(parent, i) }

// keyPath is the path of key inside the mapping at parent.
func keyPath(parent, key string) string {
	if !plainKey.MatchString(key) {
		return parent + "[" + strconv.Quote(key) + "]"
	}
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// indexPath is the path of item i of the list at parent.
func indexPath(parent string, i int) string {
	return parent + "[" + strconv.Itoa(i) + "]"
}

// parentPath strips the last element of a path made by keyPath and
// indexPath; the parent of a top-level key is "".
func parentPath(p string) string {
	if strings.HasSuffix(p, `"]`) {
		// A quoted key: strconv.Quote escapes every '"' inside it, so the
		// last `["` starts the element.
		if i := strings.LastIndex(p, `["`); i >= 0 {
			return p[:i]
		}
	}
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}
