//go:build linux

package image

import (
	"context"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"time"

	"golang.org/x/sys/unix"
)

// walker reads a tree through directory file descriptors: every name is
// looked up relative to its directory without following a symlink, so
// the depth of a tree is not limited by PATH_MAX and a symlink never
// leads the walk out of the tree.
type walker struct {
	ctx   context.Context
	epoch time.Time
	fn    WalkFunc
	// first maps a file with several names to the first one walked.
	first map[fileID]string
}

type fileID struct{ dev, ino uint64 }

func walk(ctx context.Context, root string, epoch time.Time, fn WalkFunc) error {
	fd, err := unix.Open(root, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("walk %s: %w", root, &os.PathError{Op: "open", Path: root, Err: err})
	}
	dir := os.NewFile(uintptr(fd), root)
	defer dir.Close()
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("walk %s: %w", root, &os.PathError{Op: "stat", Path: root, Err: err})
	}
	w := &walker{ctx: ctx, epoch: epoch, fn: fn, first: map[fileID]string{}}
	e, err := w.entry(fd, root, ".", ".", &st)
	if err != nil {
		return err
	}
	if err := fn(e); err != nil {
		return err
	}
	return w.dir(dir, root, "")
}

// dir walks the entries of the open directory dir, whose path is abs on
// the host and rel in the tree ("" for the root).
func (w *walker) dir(dir *os.File, abs, rel string) error {
	names, err := dir.Readdirnames(-1)
	if err != nil {
		return fmt.Errorf("walk %s: %w", abs, err)
	}
	sort.Strings(names)
	fd := int(dir.Fd())
	for _, name := range names {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		childAbs := filepath.Join(abs, name)
		childRel := name
		if rel != "" {
			childRel = path.Join(rel, name)
		}
		var st unix.Stat_t
		if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("walk %s: %w", childAbs, &os.PathError{Op: "stat", Path: childAbs, Err: err})
		}
		e, err := w.entry(fd, childAbs, name, childRel, &st)
		if err != nil {
			return err
		}
		if err := w.fn(e); err != nil {
			return err
		}
		if e.Kind != Dir {
			continue
		}
		cfd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("walk %s: %w", childAbs, &os.PathError{Op: "open", Path: childAbs, Err: err})
		}
		child := os.NewFile(uintptr(cfd), childAbs)
		err = w.dir(child, childAbs, childRel)
		child.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// entry describes name in the directory dirfd. abs is its path on the
// host (for messages and, when short enough, for reading xattrs).
func (w *walker) entry(dirfd int, abs, name, rel string, st *unix.Stat_t) (*Entry, error) {
	e := &Entry{
		Path:    rel,
		Mode:    st.Mode & 0o7777,
		UID:     st.Uid,
		GID:     st.Gid,
		ModTime: clamp(st.Mtim.Sec, w.epoch),
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		e.Kind = Regular
		e.Size = st.Size
	case unix.S_IFDIR:
		e.Kind = Dir
	case unix.S_IFLNK:
		e.Kind = Symlink
		target, err := readlinkat(dirfd, name, st.Size)
		if err != nil {
			return nil, fmt.Errorf("walk %s: %w", abs, &os.PathError{Op: "readlink", Path: abs, Err: err})
		}
		e.Link = target
	case unix.S_IFCHR:
		e.Kind = CharDevice
	case unix.S_IFBLK:
		e.Kind = BlockDevice
	case unix.S_IFIFO:
		e.Kind = FIFO
	case unix.S_IFSOCK:
		e.Kind = Socket
	default:
		return nil, fmt.Errorf("walk %s: unknown file type %#o", abs, st.Mode&unix.S_IFMT)
	}
	if e.Kind == CharDevice || e.Kind == BlockDevice {
		e.DevMajor, e.DevMinor = unix.Major(st.Rdev), unix.Minor(st.Rdev)
	}
	if e.Kind != Dir && st.Nlink > 1 {
		id := fileID{dev: st.Dev, ino: st.Ino}
		if first, ok := w.first[id]; ok {
			e.Kind, e.Link, e.Size = HardLink, first, 0
			e.DevMajor, e.DevMinor = 0, 0
			return e, nil
		}
		w.first[id] = rel
	}
	xattrs, err := readXattrs(xattrPath(dirfd, abs, name))
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", abs, err)
	}
	e.Xattrs = xattrs
	if e.Kind == Regular {
		e.open = func() (File, error) {
			fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return nil, &os.PathError{Op: "open", Path: abs, Err: err}
			}
			return os.NewFile(uintptr(fd), abs), nil
		}
	}
	return e, nil
}

// xattrPath names a file for the path-based xattr calls (there are no
// *at variants): its host path, or, past PATH_MAX, the name under its
// directory's descriptor in /proc.
func xattrPath(dirfd int, abs, name string) string {
	if name == "." || len(abs) < unix.PathMax-1 {
		return abs
	}
	return fmt.Sprintf("/proc/self/fd/%d/%s", dirfd, name)
}

func readlinkat(dirfd int, name string, size int64) (string, error) {
	n := int(size) + 1
	if n < 64 {
		n = 64
	}
	for {
		buf := make([]byte, n)
		got, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if got < len(buf) {
			return string(buf[:got]), nil
		}
		n *= 2
	}
}
