package gendiff

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/unixmode"
)

// diffFiles walks both trees and reports the differences the packages do
// not explain (see Compare).
func diffFiles(ta, tb *tree) ([]FileChange, error) {
	ea, err := walk(ta.root)
	if err != nil {
		return nil, err
	}
	eb, err := walk(tb.root)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(eb))
	for rel := range ea {
		paths = append(paths, rel)
	}
	for rel := range eb {
		if _, ok := ea[rel]; !ok {
			paths = append(paths, rel)
		}
	}
	sort.Strings(paths)
	out := []FileChange{}
	for _, rel := range paths {
		if ignored(rel) {
			continue
		}
		ia, inA := ea[rel]
		ib, inB := eb[rel]
		c := FileChange{Path: rel}
		switch {
		case inA && inB:
			what, err := differences(ta, tb, rel, ia, ib)
			if err != nil {
				return nil, err
			}
			if len(what) == 0 {
				continue
			}
			c.Change, c.What = Changed, what
		case inA:
			c.Change = Removed
		default:
			c.Change = Added
		}
		explained := true
		for _, side := range []struct {
			t  *tree
			fi fs.FileInfo
		}{{ta, ia}, {tb, ib}} {
			if side.fi == nil {
				continue
			}
			ok, pkg, err := side.t.pristine(rel, side.fi)
			if err != nil {
				return nil, err
			}
			if !ok {
				explained = false
				if c.Package == "" {
					c.Package = pkg
				}
			}
		}
		if explained {
			continue
		}
		if ia != nil {
			c.Old = info(ia, ta.root, rel)
		}
		if ib != nil {
			c.New = info(ib, tb.root, rel)
		}
		out = append(out, c)
	}
	return out, nil
}

// walk lists every path below root (not root itself) with its Lstat.
func walk(root string) (map[string]fs.FileInfo, error) {
	out := map[string]fs.FileInfo{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path == root {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = fi
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read tree %s: %w", root, err)
	}
	return out, nil
}

func typeName(fi fs.FileInfo) string {
	m := fi.Mode()
	switch {
	case m.IsRegular():
		return "file"
	case m.IsDir():
		return "dir"
	case m&fs.ModeSymlink != 0:
		return "symlink"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeCharDevice != 0:
		return "char"
	case m&fs.ModeDevice != 0:
		return "block"
	}
	return "unknown"
}

func info(fi fs.FileInfo, root, rel string) *FileInfo {
	uid, gid, _, _ := statIDs(fi)
	out := &FileInfo{Type: typeName(fi), Mode: fmt.Sprintf("%04o", unixmode.Perm(fi.Mode())), UID: uid, GID: gid}
	if fi.Mode().IsRegular() {
		out.Size = fi.Size()
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		out.Target, _ = os.Readlink(joinRoot(root, rel))
	}
	return out
}

// differences says what differs between rel in the two trees: "type",
// "mode", "owner", "target", "content".
func differences(ta, tb *tree, rel string, ia, ib fs.FileInfo) ([]string, error) {
	var what []string
	if typeName(ia) != typeName(ib) {
		what = append(what, "type")
	}
	symlink := ia.Mode()&fs.ModeSymlink != 0
	if !symlink && unixmode.Perm(ia.Mode()) != unixmode.Perm(ib.Mode()) {
		what = append(what, "mode") // a symbolic link's mode means nothing on Linux
	}
	ua, ga, _, _ := statIDs(ia)
	ub, gb, _, _ := statIDs(ib)
	if ua != ub || ga != gb {
		what = append(what, "owner")
	}
	if slices.Contains(what, "type") {
		return what, nil
	}
	pa, pb := joinRoot(ta.root, rel), joinRoot(tb.root, rel)
	switch {
	case symlink:
		la, err := os.Readlink(pa)
		if err != nil {
			return nil, err
		}
		lb, err := os.Readlink(pb)
		if err != nil {
			return nil, err
		}
		if la != lb {
			what = append(what, "target")
		}
	case ia.Mode().IsRegular():
		same, err := sameContent(pa, pb, ia, ib)
		if err != nil {
			return nil, err
		}
		if !same {
			what = append(what, "content")
		}
	}
	return what, nil
}

// sameContent compares two regular files' data, without reading it when
// the files are one inode (hard links, as plain stores share files) or
// share every data extent (reflinks and snapshots on btrfs).
func sameContent(pa, pb string, ia, ib fs.FileInfo) (bool, error) {
	if ia.Size() != ib.Size() {
		return false, nil
	}
	if ia.Size() == 0 {
		return true, nil
	}
	_, _, da, na := statIDs(ia)
	_, _, db, nb := statIDs(ib)
	if da == db && na == nb && na != 0 {
		return true, nil
	}
	if sameExtents(pa, pb) {
		return true, nil
	}
	fa, err := os.Open(pa)
	if err != nil {
		return false, err
	}
	defer fa.Close()
	fb, err := os.Open(pb)
	if err != nil {
		return false, err
	}
	defer fb.Close()
	bufA, bufB := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		n, errA := io.ReadFull(fa, bufA)
		m, errB := io.ReadFull(fb, bufB)
		if !bytes.Equal(bufA[:n], bufB[:m]) {
			return false, nil
		}
		eofA := errors.Is(errA, io.EOF) || errors.Is(errA, io.ErrUnexpectedEOF)
		eofB := errors.Is(errB, io.EOF) || errors.Is(errB, io.ErrUnexpectedEOF)
		switch {
		case errA != nil && !eofA:
			return false, errA
		case errB != nil && !eofB:
			return false, errB
		case eofA || eofB:
			return eofA && eofB, nil
		}
	}
}

// FIEMAP extent flags that make an extent's physical address no proof of
// identical data: unknown or not yet allocated places, data inline in
// metadata or packed with other files' tails, and encoded (compressed)
// extents, whose address is that of the whole compressed extent whatever
// part of it a file uses.
const untrustedExtent = 0x2 | 0x4 | 0x8 | 0x100 | 0x200 | 0x400

// sameExtents reports whether two files map the same data extents at the
// same offsets (FIEMAP): then their data is one and the same. False when
// it cannot tell.
func sameExtents(pa, pb string) bool {
	xa, err := btrfs.FileExtents(pa)
	if err != nil || len(xa) == 0 {
		return false
	}
	xb, err := btrfs.FileExtents(pb)
	if err != nil || len(xa) != len(xb) {
		return false
	}
	for i := range xa {
		a, b := xa[i], xb[i]
		if a.Flags&untrustedExtent != 0 || b.Flags&untrustedExtent != 0 || a.Physical == 0 ||
			a.Logical != b.Logical || a.Physical != b.Physical || a.Length != b.Length {
			return false
		}
	}
	return true
}

// pristine reports whether rel, as fi in t, is a package's file exactly
// as the package recorded it (checksum, mode, owner). When a package owns
// it but it differs, pkg names that package.
func (t *tree) pristine(rel string, fi fs.FileInfo) (ok bool, pkg string, err error) {
	for _, o := range t.owners[rel] {
		match, err := t.matches(o, rel, fi)
		if err != nil {
			return false, "", err
		}
		if match {
			return true, "", nil
		}
		if pkg == "" {
			pkg = o.pkg
		}
	}
	return false, pkg, nil
}

func (t *tree) matches(o owner, rel string, fi fs.FileInfo) (bool, error) {
	if o.dir != fi.IsDir() {
		return false, nil
	}
	uid, gid, _, _ := statIDs(fi)
	symlink := fi.Mode()&fs.ModeSymlink != 0
	if uid != uint32(o.acl.UID) || gid != uint32(o.acl.GID) || !symlink && unixmode.Perm(fi.Mode()) != o.acl.Mode {
		return false, nil
	}
	if o.dir || len(o.checksum) == 0 {
		return true, nil
	}
	var h hash.Hash
	switch {
	case len(o.checksum) == md5.Size:
		h = md5.New()
	case o.sha256:
		h = sha256.New()
	default:
		h = sha1.New()
	}
	path := joinRoot(t.root, rel)
	switch {
	case symlink:
		target, err := os.Readlink(path)
		if err != nil {
			return false, err
		}
		h.Write([]byte(target))
	case fi.Mode().IsRegular():
		f, err := os.Open(path)
		if err != nil {
			return false, err
		}
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return false, fmt.Errorf("read %s: %w", path, err)
		}
	default:
		return true, nil
	}
	sum := h.Sum(nil)
	return bytes.Equal(sum[:len(o.checksum)], o.checksum), nil
}
