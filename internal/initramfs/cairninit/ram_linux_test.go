package cairninit

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestMoveTree moves a tree with every kind of entry from one file
// system to another and checks that the destination has each with its
// attributes, and the source nothing but what must stay.
func TestMoveTree(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (device nodes, owners, a tmpfs to move into)")
	src := t.TempDir()
	dst := t.TempDir()
	// dst on a file system of its own, as the RAM system's tmpfs is.
	if err := unix.Mount("tmpfs", dst, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dst, 0); err != nil {
			t.Errorf("unmount %s: %v", dst, err)
		}
	})
	// A mount point inside the source (as /dev, /proc are): made in
	// dst, not entered, not removed.
	mnt := filepath.Join(src, "dev")
	must(t, os.Mkdir(mnt, 0o755))
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(mnt, 0); err != nil {
			t.Errorf("unmount %s: %v", mnt, err)
		}
	})
	must(t, os.WriteFile(filepath.Join(mnt, "console"), []byte("on the mounted fs"), 0o600))

	old := time.Unix(1700000000, 0)
	write := func(rel, content string, mode os.FileMode) {
		p := filepath.Join(src, rel)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o600))
		must(t, os.Chmod(p, mode))
	}
	write("bin/busybox", "ELF busybox", 0o755)
	must(t, os.Symlink("busybox", filepath.Join(src, "bin", "sh")))
	write("bin/su", "setuid", 0o755)
	must(t, unix.Chmod(filepath.Join(src, "bin/su"), 0o4755))
	write("etc/shadow", "root:*:", 0o640)
	must(t, os.Lchown(filepath.Join(src, "etc/shadow"), 0, 42))
	write("usr/lib/a", "linked", 0o644)
	must(t, os.Link(filepath.Join(src, "usr/lib/a"), filepath.Join(src, "usr/lib/b")))
	must(t, os.MkdirAll(filepath.Join(src, "var/empty"), 0o755))
	must(t, os.Mkdir(filepath.Join(src, "tmp"), 0o755))
	must(t, unix.Chmod(filepath.Join(src, "tmp"), 0o1777))
	must(t, unix.Mkfifo(filepath.Join(src, "run-fifo"), 0o620))
	must(t, unix.Mknod(filepath.Join(src, "null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	l, err := net.Listen("unix", filepath.Join(src, "sock"))
	must(t, err)
	defer l.Close()
	write("init", "the initramfs's own", 0o755)
	for _, p := range []string{"bin/busybox", "etc/shadow", "usr/lib/a", "var/empty", "usr", "tmp"} {
		must(t, os.Chtimes(filepath.Join(src, p), old, old))
	}
	before := describeTree(t, src, "init", "sock", "dev/console")

	st, err := moveTree(src, dst, map[string]bool{"init": true})
	if err != nil {
		t.Fatal(err)
	}
	after := describeTree(t, dst, "", "", "")
	if before != after {
		t.Errorf("moved tree differs:\n%s\nwant:\n%s", after, before)
	}
	if st.Bytes != int64(len("ELF busybox")+len("setuid")+len("root:*:")+len("linked")) {
		t.Errorf("moved %d bytes", st.Bytes)
	}
	var left []string
	entries, _ := os.ReadDir(src)
	for _, e := range entries {
		left = append(left, e.Name())
	}
	if strings.Join(left, " ") != "dev init sock" {
		t.Errorf("left in the source: %v", left)
	}
	if _, err := os.Stat(filepath.Join(mnt, "console")); err != nil {
		t.Errorf("the mounted file system was entered: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dst, "dev", "console")); err == nil {
		t.Error("a file of the mounted file system was moved")
	}
}

// describeTree lists every entry under root with its type, mode, owner,
// time (for files and directories), link target and content, leaving
// out the given paths.
func describeTree(t *testing.T, root string, leaveOut ...string) string {
	t.Helper()
	var lines []string
	inodes := map[uint64]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		for _, l := range leaveOut {
			if l != "" && rel == l {
				return nil
			}
		}
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		must(t, unix.Lstat(p, &st))
		line := rel + " " + fi.Mode().String() + " " + itoa(st.Uid) + ":" + itoa(st.Gid)
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case fi.Mode().IsRegular():
			data, _ := os.ReadFile(p)
			line += " " + fi.ModTime().UTC().Format(time.RFC3339) + " " + string(data)
			if first, ok := inodes[st.Ino]; ok {
				line += " (same file as " + first + ")"
			}
			inodes[st.Ino] = rel
		case fi.IsDir():
			if rel != "dev" {
				line += " " + fi.ModTime().UTC().Format(time.RFC3339)
			}
		case fi.Mode()&os.ModeDevice != 0:
			line += " " + itoa(unix.Major(st.Rdev)) + "," + itoa(unix.Minor(st.Rdev))
		}
		lines = append(lines, line)
		if fi.IsDir() && rel == "dev" {
			return filepath.SkipDir
		}
		return nil
	})
	must(t, err)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func itoa[T uint32 | uint64](v T) string { return fmt.Sprint(v) }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
