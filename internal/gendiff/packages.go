package gendiff

import (
	"sort"

	"github.com/cairnlinux/cairn/internal/apk"
)

// diffPackages compares installed packages by name, versions with apk's
// ordering. The result is in apk's name order.
func diffPackages(a, b map[string]pkgVersion) []PackageChange {
	out := []PackageChange{}
	for name, old := range a {
		nw, ok := b[name]
		if !ok {
			out = append(out, PackageChange{Name: name, Change: Removed, Old: old.version})
			continue
		}
		c := PackageChange{Name: name, Old: old.version, New: nw.version}
		switch apk.CompareVersions(old.version, nw.version) {
		case apk.VersionLess:
			c.Change = Upgraded
		case apk.VersionGreater:
			c.Change = Downgraded
		default:
			if old.version == nw.version && (old.checksum == nw.checksum || old.checksum == "" || nw.checksum == "") {
				continue
			}
			c.Change = Rebuilt
		}
		out = append(out, c)
	}
	for name, nw := range b {
		if _, ok := a[name]; !ok {
			out = append(out, PackageChange{Name: name, Change: Added, New: nw.version})
		}
	}
	sort.Slice(out, func(i, j int) bool { return apk.CompareNames(out[i].Name, out[j].Name) < 0 })
	return out
}
