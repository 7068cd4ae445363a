package apk

// Package is the metadata apk keeps for a package: one record of an
// APKINDEX, of lib/apk/db/installed, or the .PKGINFO of an .apk file.
type Package struct {
	Name             string
	Version          string
	Arch             string
	Description      string
	URL              string
	License          string
	Origin           string
	Maintainer       string
	Commit           string
	BuildTime        int64
	Size             int64 // size of the .apk file
	InstalledSize    int64 // 0 makes a virtual (meta) package
	ProviderPriority int
	Checksum         Checksum // identity: SHA-1 of the control member
	Depends          []Dependency
	Provides         []Dependency
	InstallIf        []Dependency

	// Uninstallable is set when the record carries an upper-case field this
	// apk version does not know: apk refuses to install such packages.
	Uninstallable bool
}

// NameVersion renders "name-version", apk's usual way to name a package.
func (p *Package) NameVersion() string { return p.Name + "-" + p.Version }

// FileName is the package's file name in a repository.
func (p *Package) FileName() string { return p.Name + "-" + p.Version + ".apk" }

// CompareNames orders package names as apk displays and sorts them: by
// strcasecmp (ASCII case folded), then byte-wise.
func CompareNames(a, b string) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		ca, cb := lowerASCII(a[i]), lowerASCII(b[i])
		if ca != cb {
			if ca < cb {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(a) < len(b):
		return -1
	case len(a) > len(b):
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
