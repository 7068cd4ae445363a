package install

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"strings"
	"time"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/rootfs"
)

// copyBufferSize is the size of the buffer file contents are copied
// through: large enough that a big file costs few write calls.
const copyBufferSize = 256 << 10

// extract streams package p into temporary names in the root (phase 1),
// copying file contents through buf. The stagedPkg is registered with the
// transaction before any file is made, so that a rollback removes what a
// failed extraction left. Packages are extracted concurrently.
func (t *txn) extract(ctx context.Context, p *solver.Pkg, buf []byte) (*stagedPkg, error) {
	rc, err := t.in.Open(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("open package: %w", err)
	}
	defer rc.Close()
	rd, err := apkfile.Open(rc, t.in.Verify)
	if err != nil {
		return nil, err
	}
	if rd.DataHash != nil {
		if err := checkIdentity(p, rd.Info); err != nil {
			return nil, err
		}
	}
	sp := newStagedPkg(p)
	t.mu.Lock()
	t.staged = append(t.staged, sp)
	t.mu.Unlock()
	x := &extractor{t: t, sp: sp, rd: rd, buf: buf, fds: map[string]rootfs.Dir{}}
	defer x.closeDirs()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if err := x.entry(h); err != nil {
			return nil, err
		}
	}
	// For a legacy package the identity is only known at the end.
	if err := checkIdentity(p, rd.Info); err != nil {
		return nil, err
	}
	sp.meta = rd.Metadata
	return sp, nil
}

// checkIdentity makes sure the file is the package the index describes.
func checkIdentity(p *solver.Pkg, got *apk.Package) error {
	if len(p.Checksum) > 0 {
		if !bytes.Equal(p.Checksum, got.Checksum) {
			return &IdentityError{Want: p.Checksum, Got: got.Checksum}
		}
		return nil
	}
	if got.Name != p.Name.Name || got.Version != p.Version {
		return fmt.Errorf("the file holds %s", got.NameVersion())
	}
	return nil
}

// extractor extracts the data entries of one package.
type extractor struct {
	t   *txn
	sp  *stagedPkg
	rd  *apkfile.Reader
	buf []byte
	fds map[string]rootfs.Dir // open directories, by path
}

func (x *extractor) closeDirs() {
	for _, d := range x.fds {
		d.Close()
	}
}

func (x *extractor) dirFD(dir string) (rootfs.Dir, error) {
	if d, ok := x.fds[dir]; ok {
		return d, nil
	}
	x.t.mu.Lock()
	d, err := x.t.openPkgDir(dir)
	x.t.mu.Unlock()
	if err != nil {
		return nil, err
	}
	x.fds[dir] = d
	return d, nil
}

func (x *extractor) entry(h *tar.Header) error {
	p, skip, err := entryPath(h.Name)
	if err != nil || skip {
		return err
	}
	switch h.Typeflag {
	case tar.TypeDir:
		return x.dir(p, h)
	case tar.TypeReg, '\x00', tar.TypeCont, tar.TypeLink:
		return x.file(p, h, rootfs.TypeReg)
	case tar.TypeSymlink:
		return x.file(p, h, rootfs.TypeLink)
	case tar.TypeChar:
		return x.file(p, h, rootfs.TypeChar)
	case tar.TypeBlock:
		return x.file(p, h, rootfs.TypeBlock)
	case tar.TypeFifo:
		return x.file(p, h, rootfs.TypeFIFO)
	case tar.TypeXGlobalHeader:
		return nil
	}
	return fmt.Errorf("%s: unsupported tar entry type %q", p, h.Typeflag)
}

func (x *extractor) dir(p string, h *tar.Header) error {
	if _, isFile := x.sp.byPath[p]; isFile {
		return fmt.Errorf("%s: both a directory and a file in the package", p)
	}
	if err := x.checkParents(p); err != nil {
		return err
	}
	d := x.sp.dirIndex[p]
	if d == nil {
		d = &stagedDir{path: p}
		x.sp.dirs = append(x.sp.dirs, d)
		x.sp.dirIndex[p] = d
	}
	d.owner = ownerOf(h)
	return x.t.prepareDir(p)
}

// checkParents refuses an entry below something the package itself makes
// a file or symlink: the real root must never be reached through a link
// the package brings.
func (x *extractor) checkParents(p string) error {
	for d := parentDir(p); d != ""; d = parentDir(d) {
		if _, ok := x.sp.byPath[d]; ok {
			return &UnsafePathError{Name: p, Reason: fmt.Sprintf("its parent %s is not a directory in the package", d)}
		}
	}
	return nil
}

func (x *extractor) file(p string, h *tar.Header, kind uint32) error {
	dir, base := splitPath(p)
	if len(base) > 6 && strings.HasPrefix(base, ".keep_") {
		return nil
	}
	if _, dup := x.sp.byPath[p]; dup {
		return fmt.Errorf("%s: duplicate entry in the package", p)
	}
	if _, isDir := x.sp.dirIndex[p]; isDir {
		return fmt.Errorf("%s: both a directory and a file in the package", p)
	}
	if err := x.checkParents(p); err != nil {
		return err
	}
	d := x.sp.dirIndex[dir]
	if d == nil {
		if dir != "" {
			return fmt.Errorf("%s: the package has no entry for its directory %s", p, dir)
		}
		d = &stagedDir{path: "", owner: entryOwner{Mode: 0o755}}
		x.sp.dirs = append(x.sp.dirs, d)
		x.sp.dirIndex[""] = d
	}
	dfd, err := x.dirFD(dir)
	if err != nil {
		return err
	}
	if st, err := dfd.Lstat(base); err == nil && st.IsDir() {
		return fmt.Errorf("%s: is a directory in the root; the package cannot replace it", p)
	}
	f := &stagedFile{
		dir:   d,
		name:  base,
		tmp:   tmpName(x.sp.name(), dir, base),
		kind:  kind,
		owner: ownerOf(h),
		csum:  paxChecksum(h),
	}
	// Registered first: a rollback removes a half-written temporary.
	x.sp.files = append(x.sp.files, f)
	x.sp.byPath[p] = f
	switch {
	case h.Typeflag == tar.TypeLink:
		return x.hardlink(f, dfd, h)
	case kind == rootfs.TypeReg:
		return x.regular(f, dfd, h)
	case kind == rootfs.TypeLink:
		if len(h.Linkname) >= maxPath || h.Linkname == "" {
			return fmt.Errorf("%s: bad symlink target", p)
		}
		if err := dfd.Symlink(h.Linkname, f.tmp); err != nil {
			return err
		}
		if f.csum == nil {
			s := sha1.Sum([]byte(h.Linkname))
			f.csum = s[:]
		}
		return nil
	default:
		f.csum = nil
		if err := dfd.Mknod(f.tmp, kind|f.owner.Mode, h.Devmajor, h.Devminor); err != nil {
			return err
		}
		// apk runs with umask 0: the mode is the archive's.
		if err := dfd.Chmod(f.tmp, f.owner.Mode); err != nil {
			return err
		}
		return dfd.SetTimes(f.tmp, time.Unix(h.ModTime.Unix(), 0))
	}
}

func (x *extractor) regular(f *stagedFile, dfd rootfs.Dir, h *tar.Header) error {
	w, err := dfd.Create(f.tmp, f.owner.Mode)
	if err != nil {
		return err
	}
	cache := x.t.files
	cached := cache.use(f.csum, h.Size)
	var sum hash.Hash
	if f.csum == nil || cached {
		sum = sha1.New()
	}
	// A cached file is cloned and its data in the package only hashed,
	// to make sure it is the content the cache holds under that key.
	to := w
	if cached {
		if src, ok := cache.source(f.csum); ok {
			if cerr := rootfs.CloneFrom(w, src); cerr == nil {
				to = nil
			} else if rootfs.CannotClone(cerr) {
				cache.disabled.Store(true)
			}
		}
	}
	_, err = copyEntry(to, x.rd, x.buf, h.Size, sum)
	if err == nil && cached && !bytes.Equal(sum.Sum(nil), f.csum) {
		err = &apkfile.FormatError{Msg: "the file's content does not match the checksum the package gives for it"}
	}
	if err == nil {
		// The mode again: apk runs with umask 0, and setuid bits.
		err = w.Chmod(f.owner.Mode)
	}
	if err == nil && len(f.owner.Xattrs) > 0 {
		err = w.SetXattrs(f.owner.Xattrs)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", f.path(), err)
	}
	if f.csum == nil {
		f.csum = sum.Sum(nil)
	}
	if cached && to != nil {
		if err := cache.add(f.csum, dfd, f.tmp); err != nil && rootfs.CannotClone(err) {
			cache.disabled.Store(true)
		} else if err != nil {
			return fmt.Errorf("%s: file cache: %w", f.path(), err)
		}
	}
	return dfd.SetTimes(f.tmp, time.Unix(h.ModTime.Unix(), 0))
}

func (x *extractor) hardlink(f *stagedFile, dfd rootfs.Dir, h *tar.Header) error {
	target, skip, err := entryPath(h.Linkname)
	if err != nil {
		return fmt.Errorf("%s: hard link: %w", f.path(), err)
	}
	tf := x.sp.byPath[target]
	if skip || tf == nil {
		return &UnsafePathError{Name: f.path(), Reason: fmt.Sprintf("hard link target %s is not an earlier file of the package", h.Linkname)}
	}
	tdfd, err := x.dirFD(tf.dir.path)
	if err != nil {
		return err
	}
	if err := dfd.Link(tdfd, tf.tmp, f.tmp); err != nil {
		return err
	}
	f.link = tf
	f.kind = tf.kind
	f.csum = tf.csum
	return nil
}

// paxChecksum returns the SHA-1 abuild records for an entry
// (APK-TOOLS.checksum.SHA1), or nil.
func paxChecksum(h *tar.Header) apk.Checksum {
	v, ok := h.PAXRecords["APK-TOOLS.checksum.SHA1"]
	if !ok {
		return nil
	}
	b, err := hex.DecodeString(v)
	if err != nil || len(b) != sha1.Size {
		return nil
	}
	return b
}

// copyEntry copies the current entry's size bytes from r to w through buf,
// filling the buffer before each write so that large files take few
// system calls. sum, when not nil, hashes the contents; w nil only reads
// them.
func copyEntry(w rootfs.File, r io.Reader, buf []byte, size int64, sum hash.Hash) (int64, error) {
	var total int64
	for total < size {
		chunk := buf
		if rem := size - total; rem < int64(len(chunk)) {
			chunk = chunk[:rem]
		}
		n, err := io.ReadFull(r, chunk)
		if n > 0 {
			if sum != nil {
				sum.Write(chunk[:n])
			}
			if w != nil {
				if _, werr := w.Write(chunk[:n]); werr != nil {
					return total, werr
				}
			}
			total += int64(n)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				err = &apkfile.FormatError{Msg: "truncated package: the file ends early"}
			}
			return total, err
		}
	}
	return total, nil
}
