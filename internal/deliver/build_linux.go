package deliver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/store"
)

// builder makes a listing's tree in a staging tree: directories first
// (their metadata last, deepest first, since adding names changes a
// directory's time), files from the store's own generations where it has
// the content, else from the data stream, in listing order.
type builder struct {
	staging *store.Staging
	// local maps a content hash to a file of the store holding it.
	local map[string]string
	data  io.Reader
	// written maps a content hash to a file this build wrote.
	written          map[string]string
	received, reused int
}

func (b *builder) build(ctx context.Context, l *Listing) error {
	b.written = map[string]string{}
	root := b.staging.Dir()
	buf := make([]byte, 1<<20)
	var dirs []Entry
	for _, e := range l.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(root, filepath.FromSlash(e.Path))
		var err error
		switch e.Kind {
		case "d":
			dirs = append(dirs, e)
			if e.Path != "." {
				err = os.Mkdir(p, 0o700)
			}
		case "f":
			err = b.file(e, p, buf)
			if err == nil {
				err = setMeta(p, e)
			}
		case "l":
			err = os.Symlink(e.Link, p)
			if err == nil {
				err = setMeta(p, e)
			}
		case "c", "b", "p":
			mode := map[string]uint32{"c": unix.S_IFCHR, "b": unix.S_IFBLK, "p": unix.S_IFIFO}[e.Kind]
			err = unix.Mknod(p, mode|0o600, int(unix.Mkdev(e.Major, e.Minor)))
			if err != nil {
				err = &os.PathError{Op: "mknod", Path: p, Err: err}
			} else {
				err = setMeta(p, e)
			}
		}
		if err != nil {
			return fmt.Errorf("build %s: %w", e.Path, err)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		e := dirs[i]
		if err := setMeta(filepath.Join(root, filepath.FromSlash(e.Path)), e); err != nil {
			return fmt.Errorf("build %s: %w", e.Path, err)
		}
	}
	return nil
}

// file makes a regular file: empty, a copy of content already here, or
// the next bytes of the data stream, whose hash must match.
func (b *builder) file(e Entry, p string, buf []byte) error {
	rel := filepath.FromSlash(e.Path)
	if e.Size == 0 {
		f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		return f.Close()
	}
	if src := b.written[e.Hash]; src != "" {
		return b.staging.AddFile(rel, src)
	}
	if src := b.local[e.Hash]; src != "" {
		b.reused++
		return b.staging.AddFile(rel, src)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	h := sha256.New()
	n, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(b.data, e.Size), buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != e.Size {
		return fmt.Errorf("the data ended after %d of %d bytes: %w", n, e.Size, ErrTampered)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != e.Hash {
		return fmt.Errorf("content with SHA-256 %s, the signed listing says %s: %w", got, e.Hash, ErrTampered)
	}
	b.received++
	b.written[e.Hash] = p
	return nil
}

// setMeta gives p the entry's owner, mode, extended attributes and time,
// in that order: chown clears set-id bits, and each change moves ctime
// but not mtime.
func setMeta(p string, e Entry) error {
	if err := unix.Lchown(p, int(e.UID), int(e.GID)); err != nil {
		return &os.PathError{Op: "lchown", Path: p, Err: err}
	}
	if e.Kind != "l" {
		if err := unix.Fchmodat(unix.AT_FDCWD, p, e.Mode, 0); err != nil {
			return &os.PathError{Op: "chmod", Path: p, Err: err}
		}
	}
	for _, x := range e.Xattrs {
		if err := unix.Lsetxattr(p, x.Name, x.Value, 0); err != nil {
			return &os.PathError{Op: "setxattr " + x.Name, Path: p, Err: err}
		}
	}
	ts := []unix.Timespec{{Sec: e.Mtime}, {Sec: e.Mtime}}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "utimes", Path: p, Err: err}
	}
	return nil
}

// setDirMeta gives every directory of the tree at root the metadata the
// listing says, deepest first: applying a btrfs send stream can leave a
// directory with the time of the receive (btrfs receive creates new
// files under temporary names in the top directory and renames them into
// place, and the kernel sends no time for a directory it considers
// unchanged).
func setDirMeta(root string, l *Listing) error {
	for i := len(l.Entries) - 1; i >= 0; i-- {
		e := l.Entries[i]
		if e.Kind != "d" {
			continue
		}
		if err := setMeta(filepath.Join(root, filepath.FromSlash(e.Path)), e); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	return nil
}
