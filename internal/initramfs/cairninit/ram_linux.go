package cairninit

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/layout"
)

// initramfsOnly are the initramfs's own entries that a RAM system does
// not keep: /init (a link to the system's cairn-init) and /sysroot, where
// its tmpfs is mounted.
var initramfsOnly = map[string]bool{"init": true, "sysroot": true}

func (m *machine) RAMImage() bool {
	fi, err := os.Stat(layout.RAMDir)
	return err == nil && fi.IsDir()
}

func (m *machine) PrepareRAM(flags, init string, log *Log) (string, error) {
	if !m.ramMoved {
		if err := os.MkdirAll(sysroot, 0o755); err != nil {
			return "", err
		}
		if err := unix.Mount("tmpfs", sysroot, "tmpfs", 0, joinOpts("mode=0755", flags)); err != nil {
			if flags == "" {
				return "", fmt.Errorf("mount a tmpfs on %s: %w", sysroot, err)
			}
			log.Errorf("mount a tmpfs with rootflags=%s: %v; mounting it without them", flags, err)
			if err := unix.Mount("tmpfs", sysroot, "tmpfs", 0, "mode=0755"); err != nil {
				return "", fmt.Errorf("mount a tmpfs on %s: %w", sysroot, err)
			}
		}
		// From here on the system is (partly) in the tmpfs: never again
		// unmounted, never moved twice.
		m.ramMoved = true
		start := time.Now()
		st, err := moveTree("/", sysroot, initramfsOnly)
		if err != nil {
			return "", fmt.Errorf("move the system into the tmpfs: %w", err)
		}
		log.Infof("system moved into a tmpfs: %d entries, %.1f MB, in %.2f s", st.Entries, float64(st.Bytes)/1e6, time.Since(start).Seconds())
	}
	candidates := DefaultInits
	if init != "" {
		candidates = []string{init}
	}
	init, err := findInit(sysroot, candidates)
	if err != nil {
		return "", err
	}
	if !m.ramMounted {
		for _, t := range []struct {
			dir  string
			mode os.FileMode
			data string
		}{{"/run", 0o755, "mode=0755"}, {"/tmp", 0o1777, "mode=1777"}} {
			dst := filepath.Join(sysroot, t.dir)
			if err := os.MkdirAll(dst, t.mode); err != nil {
				return "", err
			}
			if err := m.mount("tmpfs", dst, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, t.data); err != nil {
				return "", err
			}
		}
		m.ramMounted = true
		m.addConsoles(sysroot, log)
		marker := layout.InTree(sysroot, layout.RAMMarker)
		if err := os.MkdirAll(filepath.Dir(marker), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(marker, []byte("this system runs from RAM: only its persistent directories are kept\n"), 0o644); err != nil {
			return "", err
		}
	}
	return init, nil
}

func (m *machine) MountPersist(devs []Device, fstype string, log *Log) error {
	if m.ramPersisted {
		return nil
	}
	dir := layout.InTree(sysroot, layout.RAMPersist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	data := ""
	if fstype == "btrfs" {
		data = "subvolid=5"
	}
	if err := m.mount(devs[0].Path, dir, fstype, unix.MS_NOSUID|unix.MS_NODEV, data); err != nil {
		return err
	}
	m.ramPersisted = true
	m.persist(dir, "the system", log)
	applyDeclared(sysroot, log)
	return nil
}

// moveStats counts what moveTree moved.
type moveStats struct {
	Entries int
	Bytes   int64
}

// moveTree moves the tree at src into the directory dst on another file
// system, entry by entry, each removed from src as soon as it is copied,
// so that moving a RAM system from the initramfs into a tmpfs needs
// memory for one file more, not for a second copy. It keeps owners,
// modes (setuid, setgid, sticky), times, symbolic links, hard links,
// device nodes and fifos (sockets are left out). It does not cross into
// other file systems: a directory that is a mount point (/dev, /proc,
// dst itself) is made in dst, empty, and left alone in src. Names in
// skip, at the top of src, are left where they are.
func moveTree(src, dst string, skip map[string]bool) (moveStats, error) {
	var st moveStats
	var root unix.Stat_t
	if err := unix.Lstat(src, &root); err != nil {
		return st, fmt.Errorf("%s: %w", src, err)
	}
	var dstSt unix.Stat_t
	if err := unix.Lstat(dst, &dstSt); err != nil {
		return st, fmt.Errorf("%s: %w", dst, err)
	}
	mv := &mover{dev: root.Dev, dstDev: dstSt.Dev, dstIno: dstSt.Ino, links: map[uint64]string{}, st: &st}
	entries, err := os.ReadDir(src)
	if err != nil {
		return st, err
	}
	for _, e := range entries {
		if skip[e.Name()] {
			continue
		}
		if err := mv.move(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
			return st, err
		}
	}
	return st, nil
}

type mover struct {
	dev            uint64
	dstDev, dstIno uint64
	// links maps the inode of a file with several names to its first
	// name in dst.
	links map[uint64]string
	st    *moveStats
}

func (mv *mover) move(src, dst string) error {
	var s unix.Stat_t
	if err := unix.Lstat(src, &s); err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if s.Dev == mv.dstDev && s.Ino == mv.dstIno {
		return nil // dst itself
	}
	mv.st.Entries++
	mode := uint32(s.Mode & 0o7777)
	switch s.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		if err := os.Mkdir(dst, 0o700); err != nil {
			return err
		}
		if s.Dev != mv.dev {
			return setAttrs(dst, &s, mode) // a mount point: made, not entered
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if err := mv.move(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				return err
			}
		}
		if err := setAttrs(dst, &s, mode); err != nil {
			return err
		}
		if err := unix.Rmdir(src); err != nil && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf("remove %s: %w", src, err)
		}
		return nil
	case unix.S_IFSOCK:
		mv.st.Entries--
		return nil
	}
	// A later name of a file seen before: its first name, already
	// moved, is unlinked, so the count no longer tells; the inode
	// cannot have been reused, since nothing is made in src.
	if first, ok := mv.links[s.Ino]; ok {
		if err := os.Link(first, dst); err != nil {
			return err
		}
		return unlink(src)
	}
	if s.Nlink > 1 {
		mv.links[s.Ino] = dst
	}
	switch s.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		n, err := copyContent(src, dst)
		if err != nil {
			return err
		}
		mv.st.Bytes += n
	case unix.S_IFLNK:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
	case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO:
		if err := unix.Mknod(dst, s.Mode&unix.S_IFMT|0o600, int(s.Rdev)); err != nil {
			return fmt.Errorf("mknod %s: %w", dst, err)
		}
	default:
		return fmt.Errorf("%s: unknown file type %#o", src, s.Mode&unix.S_IFMT)
	}
	if err := setAttrs(dst, &s, mode); err != nil {
		return err
	}
	return unlink(src)
}

func unlink(p string) error {
	if err := unix.Unlink(p); err != nil {
		return fmt.Errorf("remove %s: %w", p, err)
	}
	return nil
}

func copyContent(src, dst string) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("copy %s: %w", src, err)
	}
	return n, nil
}

// setAttrs gives dst the owner, mode and modification time of s; the
// mode after the owner, since chown clears setuid and setgid. A
// symbolic link has no mode of its own.
func setAttrs(dst string, s *unix.Stat_t, mode uint32) error {
	if err := unix.Lchown(dst, int(s.Uid), int(s.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", dst, err)
	}
	if s.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := unix.Chmod(dst, mode); err != nil {
			return fmt.Errorf("chmod %s: %w", dst, err)
		}
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, dst, []unix.Timespec{s.Atim, s.Mtim}, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set the times of %s: %w", dst, err)
	}
	return nil
}
