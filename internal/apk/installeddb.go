package apk

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// ACL is the owner, mode and xattr digest apk records for an installed
// file (a:) or directory (M:). Mode holds permission bits only.
type ACL struct {
	UID, GID int
	Mode     uint32
	// XattrChecksum is the SHA-1 over the sorted xattrs, or nil.
	XattrChecksum Checksum
}

// Default ACLs are not written to the database.
var (
	DefaultDirACL  = ACL{Mode: 0o755}
	DefaultFileACL = ACL{Mode: 0o644}
)

func (a ACL) equal(b ACL) bool {
	return a.UID == b.UID && a.GID == b.GID && a.Mode == b.Mode && bytes.Equal(a.XattrChecksum, b.XattrChecksum)
}

// InstalledFile is one file (R:) of an installed package.
type InstalledFile struct {
	Name     string
	ACL      ACL
	Checksum Checksum // content digest; symlinks: digest of the target
}

// InstalledDir is one directory (F:) an installed package owns, with the
// files it owns in it. The root directory has Path "".
type InstalledDir struct {
	Path  string
	ACL   ACL
	Files []InstalledFile
}

// InstalledPackage is one record of lib/apk/db/installed.
type InstalledPackage struct {
	Package
	Replaces         []Dependency
	ReplacesPriority int
	// RepositoryTag is the tag (without '@') the package was installed
	// from, or "".
	RepositoryTag string
	BrokenFiles   bool
	BrokenScript  bool
	BrokenXattr   bool
	SHA256x160    bool
	Dirs          []InstalledDir
}

func parseACL(v string) (ACL, error) {
	parts := strings.SplitN(v, ":", 4)
	if len(parts) < 3 {
		return ACL{}, fmt.Errorf("%q is not uid:gid:mode", v)
	}
	uid, err1 := strconv.Atoi(parts[0])
	gid, err2 := strconv.Atoi(parts[1])
	mode, err3 := strconv.ParseUint(parts[2], 8, 32)
	if err1 != nil || err2 != nil || err3 != nil {
		return ACL{}, fmt.Errorf("%q is not uid:gid:mode", v)
	}
	a := ACL{UID: uid, GID: gid, Mode: uint32(mode)}
	if len(parts) == 4 {
		c, err := ParseChecksum(parts[3])
		if err != nil {
			return ACL{}, err
		}
		a.XattrChecksum = c
	}
	return a, nil
}

// ParseInstalledDB parses lib/apk/db/installed.
func ParseInstalledDB(text string) ([]*InstalledPackage, error) {
	var pkgs []*InstalledPackage
	err := scanRecords(text, func(lines []recordLine) error {
		ip := &InstalledPackage{}
		var dir *InstalledDir
		var file *InstalledFile
		for _, l := range lines {
			std, err := applyIndexField(&ip.Package, l)
			if err != nil {
				return err
			}
			if std {
				continue
			}
			bad := func(msg string) error {
				return &IndexError{Line: l.Line, Msg: fmt.Sprintf("entry '%c': %s", l.Field, msg)}
			}
			switch l.Field {
			case 'F':
				ip.Dirs = append(ip.Dirs, InstalledDir{Path: l.Value, ACL: DefaultDirACL})
				dir, file = &ip.Dirs[len(ip.Dirs)-1], nil
			case 'M':
				if dir == nil {
					return bad("M: before any F:")
				}
				if dir.ACL, err = parseACL(l.Value); err != nil {
					return bad(err.Error())
				}
			case 'R':
				if dir == nil {
					return bad("R: before any F:")
				}
				dir.Files = append(dir.Files, InstalledFile{Name: l.Value, ACL: DefaultFileACL})
				file = &dir.Files[len(dir.Files)-1]
			case 'a':
				if file == nil {
					return bad("a: before any R:")
				}
				if file.ACL, err = parseACL(l.Value); err != nil {
					return bad(err.Error())
				}
			case 'Z':
				if file == nil {
					return bad("Z: before any R:")
				}
				if file.Checksum, err = ParseChecksum(l.Value); err != nil {
					return bad(err.Error())
				}
			case 'r':
				ip.Replaces = appendDeps(ip.Replaces, l.Value)
			case 'q':
				if ip.ReplacesPriority, err = strconv.Atoi(l.Value); err != nil {
					return bad(err.Error())
				}
			case 's':
				ip.RepositoryTag = strings.TrimPrefix(l.Value, "@")
			case 'f':
				for _, c := range l.Value {
					switch c {
					case 'f':
						ip.BrokenFiles = true
					case 's':
						ip.BrokenScript = true
					case 'x':
						ip.BrokenXattr = true
					case 'S':
						ip.SHA256x160 = true
					default:
						return bad(fmt.Sprintf("unknown flag %q: written by a newer apk", c))
					}
				}
			}
		}
		if ip.Name == "" || ip.Version == "" {
			return &IndexError{Line: lines[0].Line, Msg: "record has no P: name or V: version"}
		}
		pkgs = append(pkgs, ip)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return pkgs, nil
}

func writeACL(w *bytes.Buffer, field byte, a ACL) {
	fmt.Fprintf(w, "%c:%d:%d:%o", field, a.UID, a.GID, a.Mode)
	if len(a.XattrChecksum) > 0 {
		fmt.Fprintf(w, ":%s", a.XattrChecksum)
	}
	w.WriteByte('\n')
}

// SortInstalled orders packages as apk 2.14 writes its database: by name
// (as apk displays names), then version.
func SortInstalled(pkgs []*InstalledPackage) {
	sort.SliceStable(pkgs, func(i, j int) bool {
		a, b := pkgs[i], pkgs[j]
		if a.Name != b.Name {
			return CompareNames(a.Name, b.Name) < 0
		}
		return CompareVersions(a.Version, b.Version) == VersionLess
	})
}

// FormatInstalledDB renders lib/apk/db/installed for pkgs, in the order
// given (use SortInstalled for apk's order), byte for byte as apk 2.14's
// apk_db_write_fdb does, including its quirk: the r:, q:, s: and f: lines
// are buffered and only written out with the next F: line, so those of a
// package without directories (a meta package) land in the next package
// that has one, after its own header, and are lost after the last one.
// apk reads them back that way, and so does cairn.
func FormatInstalledDB(pkgs []*InstalledPackage) []byte {
	var w, pending bytes.Buffer
	for _, ip := range pkgs {
		writeIndexHeader(&w, &ip.Package)
		if len(ip.Replaces) > 0 {
			fmt.Fprintf(&pending, "r:%s\n", FormatDependencies(ip.Replaces))
		}
		if ip.ReplacesPriority != 0 {
			fmt.Fprintf(&pending, "q:%d\n", ip.ReplacesPriority)
		}
		if ip.RepositoryTag != "" {
			fmt.Fprintf(&pending, "s:%s\n", ip.RepositoryTag)
		}
		if ip.BrokenFiles || ip.BrokenScript || ip.BrokenXattr {
			pending.WriteString("f:")
			for _, f := range []struct {
				set bool
				c   byte
			}{{ip.BrokenFiles, 'f'}, {ip.BrokenScript, 's'}, {ip.BrokenXattr, 'x'}, {ip.SHA256x160, 'S'}} {
				if f.set {
					pending.WriteByte(f.c)
				}
			}
			pending.WriteByte('\n')
		}
		for _, d := range ip.Dirs {
			w.Write(pending.Bytes())
			pending.Reset()
			fmt.Fprintf(&w, "F:%s\n", d.Path)
			if !d.ACL.equal(DefaultDirACL) {
				writeACL(&w, 'M', d.ACL)
			}
			for _, f := range d.Files {
				fmt.Fprintf(&w, "R:%s\n", f.Name)
				if !f.ACL.equal(DefaultFileACL) {
					writeACL(&w, 'a', f.ACL)
				}
				if len(f.Checksum) > 0 {
					fmt.Fprintf(&w, "Z:%s\n", f.Checksum)
				}
			}
		}
		w.WriteByte('\n')
	}
	return w.Bytes()
}
