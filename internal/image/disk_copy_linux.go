//go:build linux

package image

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// copyTree copies the tree at src into dst, an existing empty directory,
// as Walk reads it: every kind of entry a generation holds (sockets
// aside, which no image stores), hard links as links, owners, modes with
// setuid, setgid and sticky, the extended attributes images keep, and
// modification times (clamped to epoch, as the build left them).
// Directories get their attributes after their contents. dst is on
// btrfs, which s paces.
func copyTree(ctx context.Context, src, dst string, epoch time.Time, s *settler) error {
	var dirs []*Entry
	err := Walk(ctx, src, epoch, func(e *Entry) error {
		target := filepath.Join(dst, filepath.FromSlash(e.Path))
		var err error
		switch e.Kind {
		case Dir:
			if e.Path != "." {
				err = os.Mkdir(target, 0o700)
			}
			dirs = append(dirs, e)
			if err != nil {
				return err
			}
			return nil
		case Regular:
			err = copyFileEntry(e, target, s)
		case Symlink:
			err = os.Symlink(e.Link, target)
		case HardLink:
			if err := os.Link(filepath.Join(dst, filepath.FromSlash(e.Link)), target); err != nil {
				return err
			}
			return s.entry()
		case CharDevice:
			err = unix.Mknod(target, unix.S_IFCHR|0o600, int(unix.Mkdev(e.DevMajor, e.DevMinor)))
		case BlockDevice:
			err = unix.Mknod(target, unix.S_IFBLK|0o600, int(unix.Mkdev(e.DevMajor, e.DevMinor)))
		case FIFO:
			err = unix.Mkfifo(target, 0o600)
		case Socket:
			return nil
		}
		if err != nil {
			return fmt.Errorf("copy %s: %w", e.Path, err)
		}
		if err := setAttrs(target, e); err != nil {
			return err
		}
		return s.entry()
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := setAttrs(filepath.Join(dst, filepath.FromSlash(dirs[i].Path)), dirs[i]); err != nil {
			return err
		}
		if err := s.entry(); err != nil {
			return err
		}
	}
	return nil
}

func copyFileEntry(e *Entry, target string, s *settler) error {
	in, err := e.Open()
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	var n int64
	for {
		m, cerr := io.CopyN(out, in, settleDataBytes)
		n += m
		if m > 0 {
			if err = s.wrote(out, m); err != nil {
				break
			}
		}
		if cerr != nil {
			if cerr != io.EOF {
				err = cerr
			}
			break
		}
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != e.Size {
		err = fmt.Errorf("%d bytes read, %d expected: the generation changed while it was copied", n, e.Size)
	}
	return err
}

// setAttrs gives target e's owner, mode, extended attributes and time,
// in that order (a change of owner clears setuid bits and file
// capabilities).
func setAttrs(target string, e *Entry) error {
	wrap := func(op string, err error) error {
		return fmt.Errorf("copy %s: %s: %w", e.Path, op, err)
	}
	if err := unix.Lchown(target, int(e.UID), int(e.GID)); err != nil {
		return wrap("chown", err)
	}
	if e.Kind != Symlink {
		if err := unix.Fchmodat(unix.AT_FDCWD, target, e.Mode&0o7777, 0); err != nil {
			return wrap("chmod", err)
		}
	}
	for _, x := range e.Xattrs {
		if err := unix.Lsetxattr(target, x.Name, x.Value, 0); err != nil {
			return wrap("set xattr "+x.Name, err)
		}
	}
	t := unix.NsecToTimespec(e.ModTime.UnixNano())
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, target, []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return wrap("set times", err)
	}
	return nil
}
