//go:build linux

package image

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testEpoch is the SOURCE_DATE_EPOCH of the test trees.
var testEpoch = time.Unix(1700000000, 0)

// capNetRaw is security.capability for cap_net_raw+ep (VFS_CAP_REVISION_2,
// effective), as `setcap cap_net_raw+ep` writes it.
var capNetRaw = []byte{0x01, 0, 0, 0x02, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

// treeBuilder makes test trees; every call fails the test on error.
type treeBuilder struct {
	t    testing.TB
	root string
}

func newTree(t testing.TB) *treeBuilder {
	t.Helper()
	root := filepath.Join(t.TempDir(), "root")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return &treeBuilder{t: t, root: root}
}

func (b *treeBuilder) path(p string) string { return filepath.Join(b.root, p) }

func (b *treeBuilder) check(err error) {
	b.t.Helper()
	if err != nil {
		b.t.Fatal(err)
	}
}

// Modes are Unix modes (0o4755), not os.FileMode: os.Chmod would drop
// setuid, setgid and sticky given as 0o7000 bits.

func (b *treeBuilder) dir(p string, mode uint32) {
	b.t.Helper()
	b.check(os.MkdirAll(b.path(p), 0o755))
	b.chmod(p, mode)
}

func (b *treeBuilder) file(p string, data []byte, mode uint32) {
	b.t.Helper()
	b.check(os.MkdirAll(filepath.Dir(b.path(p)), 0o755))
	b.check(os.WriteFile(b.path(p), data, 0o600))
	b.chmod(p, mode)
}

func (b *treeBuilder) symlink(target, p string) {
	b.t.Helper()
	b.check(os.MkdirAll(filepath.Dir(b.path(p)), 0o755))
	b.check(os.Symlink(target, b.path(p)))
}

func (b *treeBuilder) link(old, p string) {
	b.t.Helper()
	b.check(os.MkdirAll(filepath.Dir(b.path(p)), 0o755))
	b.check(os.Link(b.path(old), b.path(p)))
}

func (b *treeBuilder) mknod(p string, mode uint32, major, minor uint32) {
	b.t.Helper()
	b.check(os.MkdirAll(filepath.Dir(b.path(p)), 0o755))
	b.check(unix.Mknod(b.path(p), mode, int(unix.Mkdev(major, minor))))
	b.check(unix.Chmod(b.path(p), mode&0o7777))
}

func (b *treeBuilder) chown(p string, uid, gid int) {
	b.t.Helper()
	b.check(os.Lchown(b.path(p), uid, gid))
}

// chmod sets a mode; again after chown, which clears setuid and setgid.
func (b *treeBuilder) chmod(p string, mode uint32) {
	b.t.Helper()
	b.check(unix.Chmod(b.path(p), mode))
}

func (b *treeBuilder) xattr(p, name string, value []byte) {
	b.t.Helper()
	b.check(unix.Lsetxattr(b.path(p), name, value, 0))
}

func (b *treeBuilder) mtime(p string, t time.Time) {
	b.t.Helper()
	ts := unix.NsecToTimespec(t.UnixNano())
	b.check(unix.UtimesNanoAt(unix.AT_FDCWD, b.path(p), []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW))
}

// attrs is everything an image must keep of one name.
type attrs struct {
	kind    string
	mode    uint32 // 07777
	uid     uint32
	gid     uint32
	size    int64
	sha     string // content digest of regular files
	link    string // symlink target
	rdev    string // major:minor of devices
	xattrs  string // kept xattrs, name=hex sorted
	mtime   int64
	sibling string // the other names of a file with several, sorted
}

// snapshot reads a tree the way the tests compare trees: every name with
// the attributes an image keeps, times as an image records them (clamped
// to epoch), xattrs filtered by keepXattr, sockets left out.
func snapshot(t testing.TB, root string, epoch time.Time) map[string]attrs {
	t.Helper()
	out := map[string]attrs{}
	inodes := map[[2]uint64][]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		a := attrs{mode: st.Mode & 0o7777, uid: st.Uid, gid: st.Gid, mtime: clamp(st.Mtim.Sec, epoch).Unix()}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			a.kind, a.size = "file", st.Size
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			a.sha = hex.EncodeToString(sum[:])
		case unix.S_IFDIR:
			a.kind = "dir"
		case unix.S_IFLNK:
			a.kind = "symlink"
			if a.link, err = os.Readlink(p); err != nil {
				return err
			}
		case unix.S_IFCHR, unix.S_IFBLK:
			a.kind = map[bool]string{true: "char", false: "block"}[st.Mode&unix.S_IFMT == unix.S_IFCHR]
			a.rdev = fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		case unix.S_IFIFO:
			a.kind = "fifo"
		case unix.S_IFSOCK:
			return nil
		}
		xs, err := readXattrsForTest(p)
		if err != nil {
			return err
		}
		a.xattrs = xs
		if a.kind != "dir" && st.Nlink > 1 {
			id := [2]uint64{st.Dev, st.Ino}
			inodes[id] = append(inodes[id], rel)
		}
		out[rel] = a
		return nil
	})
	if err != nil {
		t.Fatalf("snapshot %s: %v", root, err)
	}
	for _, names := range inodes {
		sort.Strings(names)
		for _, n := range names {
			a := out[n]
			a.sibling = strings.Join(names, "\x00")
			out[n] = a
		}
	}
	return out
}

// readXattrsForTest lists kept xattrs with the system calls directly, not
// through the walker under test.
func readXattrsForTest(p string) (string, error) {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err == unix.ENOTSUP {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("llistxattr %s: %w", p, err)
	}
	var out []string
	for _, name := range bytes.Split(buf[:n], []byte{0}) {
		if len(name) == 0 || !keepXattr(string(name)) {
			continue
		}
		val := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, string(name), val)
		if err != nil {
			return "", fmt.Errorf("lgetxattr %s %s: %w", p, name, err)
		}
		out = append(out, string(name)+"="+hex.EncodeToString(val[:m]))
	}
	sort.Strings(out)
	return strings.Join(out, ","), nil
}

// compareTrees fails the test for every difference between two snapshots.
func compareTrees(t testing.TB, want, got map[string]attrs) {
	t.Helper()
	var names []string
	for n := range want {
		names = append(names, n)
	}
	for n := range got {
		if _, ok := want[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	bad := 0
	for _, n := range names {
		w, inWant := want[n]
		g, inGot := got[n]
		switch {
		case !inGot:
			t.Errorf("%q: missing from the extracted tree", n)
		case !inWant:
			t.Errorf("%q: extracted but not in the source", n)
		case w != g:
			t.Errorf("%q differs:\n source    %+v\n extracted %+v", n, w, g)
		default:
			continue
		}
		if bad++; bad > 20 {
			t.Fatal("too many differences")
		}
	}
}

// buildOrdinaryTree makes a tree with every kind of entry and attribute
// an image keeps. It needs root (owners, devices, trusted xattrs).
func buildOrdinaryTree(t testing.TB) *treeBuilder {
	b := newTree(t)
	old := time.Unix(1600000000, 0)
	future := testEpoch.Add(1000 * time.Hour)
	b.dir("bin", 0o755)
	b.dir("etc/apk", 0o755)
	b.dir("tmp", 0o1777)
	b.dir("root", 0o700)
	b.dir("srv/shared", 0o755)
	b.chown("srv/shared", 0, 1001)
	b.chmod("srv/shared", 0o2775)
	b.file("etc/alpine-release", []byte("3.19.1\n"), 0o644)
	b.file("etc/shadow", []byte("root:*::0:::::\n"), 0o640)
	b.chown("etc/shadow", 0, 42)
	b.file("bin/busybox", bytes.Repeat([]byte("\x7fELF busybox "), 5000), 0o755)
	b.symlink("busybox", "bin/sh")
	b.symlink("/bin/busybox", "bin/ls")
	b.symlink("../nowhere/at/all", "bin/dangling")
	b.file("bin/ping", []byte("ping"), 0o755)
	b.chown("bin/ping", 0, 0)
	// Setting a capability clears setuid: the mode comes after.
	b.xattr("bin/ping", "security.capability", capNetRaw)
	b.chmod("bin/ping", 0o4755)
	b.file("usr/bin/crontab", []byte("crontab"), 0o755)
	b.chown("usr/bin/crontab", 0, 16)
	b.chmod("usr/bin/crontab", 0o2755)
	b.file("home/alice/notes.txt", []byte("hello\n"), 0o600)
	b.chown("home/alice/notes.txt", 1000, 1000)
	b.chown("home/alice", 1000, 1000)
	b.file("home/nobody", nil, 0o644)
	b.chown("home/nobody", 65534, 65534)
	b.file("usr/lib/libc.so", bytes.Repeat([]byte{0, 1, 2, 3, 4, 5, 6, 7}, 100000), 0o755)
	b.link("usr/lib/libc.so", "usr/lib/ld-musl.so")
	b.link("usr/lib/libc.so", "lib/ld.so")
	b.xattr("etc/alpine-release", "user.cairn.note", []byte("kept"))
	b.xattr("etc", "user.dir", []byte{0, 1, 2, 255})
	b.xattr("usr/bin/crontab", "trusted.overlay.test", []byte("x"))
	b.file("etc/empty", nil, 0o644)
	b.mknod("dev/null", unix.S_IFCHR|0o666, 1, 3)
	b.mknod("dev/loop0", unix.S_IFBLK|0o660, 7, 0)
	b.chown("dev/loop0", 0, 6)
	b.mknod("run/initctl", unix.S_IFIFO|0o600, 0, 0)
	b.mknod("run/socket", unix.S_IFSOCK|0o755, 0, 0)
	b.file("var/old", []byte("old"), 0o644)
	b.mtime("var/old", old)
	b.file("var/new", []byte("new"), 0o644)
	b.mtime("var/new", future)
	b.file("var/fraction", []byte("x"), 0o644)
	b.mtime("var/fraction", old.Add(700*time.Millisecond))
	b.mtime("bin/sh", old)
	b.mtime("root", old)

	// The tree is what the tests think it is.
	snap := snapshot(t, b.root, testEpoch)
	for p, mode := range map[string]uint32{"tmp": 0o1777, "srv/shared": 0o2775, "bin/ping": 0o4755, "usr/bin/crontab": 0o2755} {
		if snap[p].mode != mode {
			t.Fatalf("test tree: %s has mode %#o, want %#o", p, snap[p].mode, mode)
		}
	}
	if snap["bin/ping"].xattrs == "" || snap["dev/null"].rdev != "1:3" || snap["usr/lib/libc.so"].sibling == "" || snap["var/new"].mtime != testEpoch.Unix() {
		t.Fatalf("test tree: not what buildOrdinaryTree means to make: %+v", snap)
	}
	return b
}

// buildHostileTree makes a tree of names and files that trip up archive
// writers: newlines, bytes that are not UTF-8, long paths and targets, an
// empty file, a big sparse file.
func buildHostileTree(t testing.TB, sparseSize int64) *treeBuilder {
	b := newTree(t)
	b.file("new\nline", []byte("newline\n"), 0o644)
	b.file("bad-\xff\xfe-utf8", []byte("latin1\n"), 0o644)
	b.file("caf\u00e9 \u2603 spaces", []byte("unicode\n"), 0o644)
	b.file("back\\slash", nil, 0o644)
	long100 := strings.Repeat("d", 60) + "/" + strings.Repeat("e", 60)
	b.file(long100+"/file", []byte("over 100"), 0o644)
	long255 := strings.Repeat("x", 250) + "/" + strings.Repeat("y", 250) + "/" + strings.Repeat("z", 200)
	b.file(long255, []byte("over 255"), 0o644)
	b.file(strings.Repeat("n", 255), []byte("a 255-byte name"), 0o644)
	b.symlink(strings.Repeat("../", 60)+strings.Repeat("t", 150), "long-target")
	b.link(long255, strings.Repeat("h", 200)+"-hardlink")
	b.file("PaxHeaders.0/x", []byte("a name the PAX writer uses"), 0o644)
	b.file("zero", nil, 0o644)
	b.file("a-b", nil, 0o644)
	b.file("a/b", nil, 0o644)
	f, err := os.Create(b.path("sparse"))
	b.check(err)
	b.check(f.Truncate(sparseSize))
	_, err = f.WriteAt([]byte("end"), sparseSize-3)
	b.check(err)
	b.check(f.Close())
	return b
}
