// Package unixmode converts between Go's fs.FileMode and the permission
// bits of a Unix st_mode (07777: permissions, setuid, setgid, sticky),
// which Go keeps in separate flags. Archives (tar, cpio), apk's database
// and the kernel all speak st_mode.
package unixmode

import "io/fs"

// Perm returns m's permission bits with setuid, setgid and sticky as
// st_mode has them; the file type is left out.
func Perm(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// FileMode is Perm's inverse: st_mode's bits 07777 as an fs.FileMode
// (other bits are ignored).
func FileMode(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	if m&0o4000 != 0 {
		mode |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		mode |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		mode |= fs.ModeSticky
	}
	return mode
}
