// Package gendiff compares two generation roots (two directories holding
// a built root file system) and says what changed between them, in the
// terms an operator thinks in: the manifest they were built from; packages added, removed, upgraded or
// downgraded; the kernel and its command line; services per runlevel;
// users and groups; mounts; and files changed outside what the packages
// explain.
//
// It reads the trees only: the installed database (lib/apk/db/installed),
// cairn's generation record (usr/lib/cairn/generation.json), the runlevel
// directories, /etc/passwd, /etc/group, /etc/fstab and /etc/cairn/cmdline,
// and walks both trees for the files. See Compare for what counts as a
// file change.
package gendiff

import (
	"errors"
	"fmt"
)

// Kinds of change.
const (
	Added      = "added"
	Removed    = "removed"
	Changed    = "changed"
	Upgraded   = "upgraded"
	Downgraded = "downgraded"
	// Rebuilt is a package whose version stayed but whose package is
	// another one (its identity checksum changed).
	Rebuilt = "rebuilt"
)

// Diff is what changed from tree A to tree B. Every list is sorted and
// never nil, so the JSON form always has every key.
type Diff struct {
	// Manifest is what changed in the manifest the generations were
	// built from (the files they keep in usr/lib/cairn/manifest).
	Manifest []ManifestChange `json:"manifest"`
	Packages []PackageChange  `json:"packages"`
	// Kernel is the kernel package and version ("linux-virt 6.6.58-r0"),
	// nil when unchanged.
	Kernel *Change `json:"kernel,omitempty"`
	// Cmdline is the kernel command line (/etc/cairn/cmdline), nil when
	// unchanged.
	Cmdline  *Change         `json:"cmdline,omitempty"`
	Services []ServiceChange `json:"services"`
	Users    []UserChange    `json:"users"`
	Groups   []GroupChange   `json:"groups"`
	Mounts   []MountChange   `json:"mounts"`
	Files    []FileChange    `json:"files"`
}

// Change is a value before and after.
type Change struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// PackageChange is one package installed, removed or replaced.
type PackageChange struct {
	Name string `json:"name"`
	// Change is Added, Removed, Upgraded, Downgraded or Rebuilt.
	Change string `json:"change"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// ServiceChange is a service added to or removed from a runlevel
// (/etc/runlevels/<runlevel>/<service>), or whose link changed.
type ServiceChange struct {
	Runlevel string `json:"runlevel"`
	Service  string `json:"service"`
	// Change is Added, Removed or Changed (the link's target).
	Change string `json:"change"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// User is an /etc/passwd entry.
type User struct {
	Name    string `json:"name"`
	UID     string `json:"uid"`
	GID     string `json:"gid"`
	Comment string `json:"comment"`
	Home    string `json:"home"`
	Shell   string `json:"shell"`
}

// UserChange is a user added, removed or changed; Fields names what
// changed ("uid", "gid", "comment", "home", "shell").
type UserChange struct {
	Name   string   `json:"name"`
	Change string   `json:"change"`
	Old    *User    `json:"old,omitempty"`
	New    *User    `json:"new,omitempty"`
	Fields []string `json:"fields,omitempty"`
}

// Group is an /etc/group entry.
type Group struct {
	Name    string   `json:"name"`
	GID     string   `json:"gid"`
	Members []string `json:"members"`
}

// GroupChange is a group added, removed or changed; Fields names what
// changed ("gid", "members").
type GroupChange struct {
	Name   string   `json:"name"`
	Change string   `json:"change"`
	Old    *Group   `json:"old,omitempty"`
	New    *Group   `json:"new,omitempty"`
	Fields []string `json:"fields,omitempty"`
}

// MountChange is an /etc/fstab entry added, removed or changed. Entries
// are matched by mount point (swap entries by their whole line); Old and
// New are the entries with their fields separated by single spaces.
type MountChange struct {
	Mountpoint string `json:"mountpoint"`
	Change     string `json:"change"`
	Old        string `json:"old,omitempty"`
	New        string `json:"new,omitempty"`
}

// FileInfo is what Compare looks at in a file.
type FileInfo struct {
	// Type is "file", "dir", "symlink", "fifo", "socket", "char" or
	// "block".
	Type string `json:"type"`
	// Mode is the permission bits with setuid, setgid and sticky, in
	// octal ("0755").
	Mode   string `json:"mode"`
	UID    uint32 `json:"uid"`
	GID    uint32 `json:"gid"`
	Size   int64  `json:"size,omitempty"`
	Target string `json:"target,omitempty"`
}

// FileChange is a path that differs between the trees in a way the
// packages do not explain.
type FileChange struct {
	// Path is relative to the root, slash-separated.
	Path   string    `json:"path"`
	Change string    `json:"change"`
	Old    *FileInfo `json:"old,omitempty"`
	New    *FileInfo `json:"new,omitempty"`
	// What lists, for Changed, what differs: "type", "mode", "owner",
	// "content", "target".
	What []string `json:"what,omitempty"`
	// Package names the package that owns the path in a tree where the
	// file does not match that package's record: a package file that
	// was modified after installation.
	Package string `json:"package,omitempty"`
}

// Empty reports whether the trees do not differ in anything Diff covers.
func (d *Diff) Empty() bool {
	return len(d.Manifest) == 0 && len(d.Packages) == 0 && d.Kernel == nil && d.Cmdline == nil && len(d.Services) == 0 &&
		len(d.Users) == 0 && len(d.Groups) == 0 && len(d.Mounts) == 0 && len(d.Files) == 0
}

// Compare compares the generation roots a and b.
//
// Files: every path of either tree is compared by type, permission bits
// (with setuid, setgid, sticky), owner, content and symbolic link target;
// modification times are not compared (a rebuild from another lock moves
// every time stamp). A difference is reported unless the packages
// explain it: in each tree that has the path, a package owns it and the
// path matches that package's record (content checksum, mode, owner).
// So an upgraded package's files are not listed, but a package file
// edited afterwards (a manifest's /etc/hostname over alpine-baselayout's)
// is, with the package named. Paths with a section of their own, and
// apk's and cairn's own records, are left out of the files: see Ignored.
func Compare(a, b string) (*Diff, error) {
	ta, err := readTree(a)
	if err != nil {
		return nil, err
	}
	tb, err := readTree(b)
	if err != nil {
		return nil, err
	}
	d := &Diff{}
	if d.Manifest, err = diffManifest(a, b); err != nil {
		return nil, err
	}
	d.Packages = diffPackages(ta.packages, tb.packages)
	if ta.kernel != tb.kernel {
		d.Kernel = &Change{Old: ta.kernel, New: tb.kernel}
	}
	if ta.cmdline != tb.cmdline {
		d.Cmdline = &Change{Old: ta.cmdline, New: tb.cmdline}
	}
	if d.Services, err = diffServices(a, b); err != nil {
		return nil, err
	}
	if d.Users, d.Groups, err = diffAccounts(a, b); err != nil {
		return nil, err
	}
	if d.Mounts, err = diffMounts(a, b); err != nil {
		return nil, err
	}
	if d.Files, err = diffFiles(ta, tb); err != nil {
		return nil, err
	}
	return d, nil
}

// readOptional reads a file of the tree, "" when it does not exist.
func readOptional(root, rel string) (string, bool, error) {
	data, err := readFileIn(root, rel)
	if errors.Is(err, errMissing) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", joinRoot(root, rel), err)
	}
	return string(data), true, nil
}
