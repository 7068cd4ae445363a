package install

import (
	"archive/tar"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// A stagedPkg is a package whose data phase 1 has extracted to temporary
// names beside the final paths. Nothing of it is visible under its real
// names until phase 2 renames the files into place.
type stagedPkg struct {
	pkg      *solver.Pkg
	meta     apkfile.Metadata
	dirs     []*stagedDir  // archive order
	files    []*stagedFile // archive order
	dirIndex map[string]*stagedDir
	byPath   map[string]*stagedFile
}

func newStagedPkg(p *solver.Pkg) *stagedPkg {
	return &stagedPkg{
		pkg:      p,
		dirIndex: map[string]*stagedDir{},
		byPath:   map[string]*stagedFile{},
	}
}

func (sp *stagedPkg) name() string { return sp.pkg.Name.Name }

// entryOwner is the owner, mode and attributes an archive entry asks for.
// The names are resolved against the root's etc/passwd and etc/group in
// phase 2, right before the files are moved into place, since an earlier
// package or this package's pre-install script may add them.
type entryOwner struct {
	Mode         uint32 // permission bits (07777)
	UID, GID     int    // from the header, used when the root lacks the name
	Uname, Gname string
	Xattrs       []rootfs.Xattr
	XattrSum     apk.Checksum
}

func ownerOf(h *tar.Header) entryOwner {
	xs := entryXattrs(h)
	return entryOwner{
		Mode:     uint32(h.Mode) & 0o7777,
		UID:      h.Uid,
		GID:      h.Gid,
		Uname:    h.Uname,
		Gname:    h.Gname,
		Xattrs:   xs,
		XattrSum: xattrChecksum(xs),
	}
}

// resolved returns the ACL apk records, with the ids the root's user and
// group databases give the names.
func (o entryOwner) resolved(ids *idCache) apk.ACL {
	return apk.ACL{
		UID:           ids.uid(o.Uname, o.UID),
		GID:           ids.gid(o.Gname, o.GID),
		Mode:          o.Mode,
		XattrChecksum: o.XattrSum,
	}
}

// A stagedDir is a directory entry of a package (F: in the database); the
// root directory has path "" and is implied by files at the top level.
type stagedDir struct {
	path  string
	owner entryOwner
	acl   apk.ACL // resolved in phase 2
}

// A stagedFile is a non-directory entry, extracted as tmp in its
// directory.
type stagedFile struct {
	dir   *stagedDir
	name  string
	tmp   string
	kind  uint32 // rootfs.TypeReg, rootfs.TypeLink, rootfs.TypeChar, rootfs.TypeBlock or rootfs.TypeFIFO
	owner entryOwner
	csum  apk.Checksum // Z: content digest; symlinks: of the target
	link  *stagedFile  // hard link target in the same package
	acl   apk.ACL      // resolved in phase 2

	// Set by the plan.
	skip bool       // a package with a higher replaces_priority keeps it
	prev *fileOwner // who owned the path before this package took it
}

func (f *stagedFile) path() string { return joinPath(f.dir.path, f.name) }
