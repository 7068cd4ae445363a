//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"crypto/sha1"
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// capNetRaw is a security.capability value (VFS_CAP_REVISION_2) granting
// cap_net_raw, effective.
var capNetRaw = []byte{0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}

func TestOwnersModesXattrs(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (to chown and set security.capability)")
	e := newEnv(t)
	// The root's own users: names resolve to these ids, not the
	// builder's numbers in the archive.
	e.writeFile("etc/passwd", "root:x:0:0:root:/root:/bin/sh\nsvc:x:1234:1234:svc:/:/bin/false\n")
	e.writeFile("etc/group", "root:x:0:root\nsvc:x:1234:\nshadow:x:42:\n")
	xattrs := map[string][]byte{"security.capability": capNetRaw, "user.cairn": []byte("yes")}
	e.add(spec("owned", "1",
		apkfile.FileSpec{Path: "srv", Mode: fs.ModeDir | 0o750, UID: 99, GID: 99, Uname: "svc", Gname: "svc"},
		apkfile.FileSpec{Path: "srv/data", Mode: 0o640, UID: 99, GID: 42, Uname: "svc", Gname: "shadow", Data: []byte("secret")},
		apkfile.FileSpec{Path: "srv/ping", Mode: fs.ModeSetuid | 0o755, UID: 99, GID: 99, Uname: "svc", Gname: "svc", Data: []byte("#!/bin/sh\n"), Xattrs: xattrs},
		apkfile.FileSpec{Path: "srv/nobody", Mode: 0o644, UID: 4321, GID: 4321, Uname: "ghost", Gname: "ghost", Data: []byte("n")},
		apkfile.FileSpec{Path: "srv/link", Mode: fs.ModeSymlink | 0o777, UID: 99, GID: 99, Uname: "svc", Gname: "svc", Link: "data"},
	))
	e.mustAdd("owned")

	for rel, want := range map[string]struct {
		uid, gid int
		mode     uint32
	}{
		"srv":        {1234, 1234, unix.S_IFDIR | 0o750},
		"srv/data":   {1234, 42, unix.S_IFREG | 0o640},
		"srv/ping":   {1234, 1234, unix.S_IFREG | unix.S_ISUID | 0o755},
		"srv/nobody": {4321, 4321, unix.S_IFREG | 0o644}, // unknown names keep the numbers
		"srv/link":   {1234, 1234, unix.S_IFLNK | 0o777},
	} {
		var st unix.Stat_t
		if err := unix.Lstat(e.path(rel), &st); err != nil {
			t.Fatal(err)
		}
		if int(st.Uid) != want.uid || int(st.Gid) != want.gid || st.Mode != want.mode {
			t.Errorf("%s: %d:%d %o, want %d:%d %o", rel, st.Uid, st.Gid, st.Mode, want.uid, want.gid, want.mode)
		}
	}
	// chown drops security.capability; it must be there all the same.
	for name, want := range xattrs {
		buf := make([]byte, 64)
		n, err := unix.Lgetxattr(e.path("srv/ping"), name, buf)
		if err != nil || !bytes.Equal(buf[:n], want) {
			t.Errorf("srv/ping %s = %x, %v; want %x", name, buf[:max(n, 0)], err, want)
		}
	}

	db := e.readFile("lib/apk/db/installed")
	sum := independentXattrSum(xattrs)
	for _, want := range []string{
		"F:srv\nM:1234:1234:750\n",
		"R:data\na:1234:42:640\n",
		"R:ping\na:1234:1234:4755:" + sum + "\n",
		"R:nobody\na:4321:4321:644\n",
		"R:link\na:1234:1234:777\n",
	} {
		if !strings.Contains(db, want) {
			t.Errorf("installed db lacks %q:\n%s", want, db)
		}
	}
}

// independentXattrSum computes apk's xattr digest the long way round.
func independentXattrSum(xs map[string][]byte) string {
	names := []string{}
	for n := range xs {
		names = append(names, n)
	}
	if len(names) == 2 && names[0] > names[1] {
		names[0], names[1] = names[1], names[0]
	}
	var b bytes.Buffer
	for _, n := range names {
		b.Write([]byte{0, 0, 0, byte(len(n))})
		b.WriteString(n)
		b.Write([]byte{0, 0, 0, byte(len(xs[n]))})
		b.Write(xs[n])
	}
	s := sha1.Sum(b.Bytes())
	return apk.Checksum(s[:]).String()
}

func TestNoChown(t *testing.T) {
	e := newEnv(t)
	e.noChown = true
	e.add(spec("owned", "1", apkfile.FileSpec{Path: "srv", Mode: fs.ModeDir | 0o755}, apkfile.FileSpec{Path: "srv/f", Mode: 0o600, UID: 5, GID: 5, Data: []byte("f")}))
	e.mustAdd("owned")
	var st unix.Stat_t
	unix.Lstat(e.path("srv/f"), &st)
	if int(st.Uid) != os.Geteuid() || st.Mode&0o7777 != 0o600 {
		t.Errorf("srv/f: uid %d mode %o", st.Uid, st.Mode)
	}
	if !strings.Contains(e.readFile("lib/apk/db/installed"), "R:f\na:5:5:600\n") {
		t.Error("the database must record the package's owner even when not applied")
	}
}

func TestSpecialFiles(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (to make device nodes)")
	e := newEnv(t)
	fifo := rawEntry{Header: tar.Header{Name: "run/fifo", Mode: 0o600, Typeflag: tar.TypeFifo, Uname: "root", Gname: "root"}}
	dev := rawEntry{Header: tar.Header{Name: "run/null", Mode: 0o666, Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3, Uname: "root", Gname: "root"}}
	e.addRawPackage("special", "1", dirEntry("run"), fifo, dev)
	e.mustAdd("special")
	var st unix.Stat_t
	if err := unix.Lstat(e.path("run/fifo"), &st); err != nil || st.Mode != unix.S_IFIFO|0o600 {
		t.Errorf("run/fifo: %o %v", st.Mode, err)
	}
	if err := unix.Lstat(e.path("run/null"), &st); err != nil || st.Mode != unix.S_IFCHR|0o666 || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("run/null: %o %x %v", st.Mode, st.Rdev, err)
	}
	if db := e.readFile("lib/apk/db/installed"); !strings.Contains(db, "R:fifo\na:0:0:600\nR:null\na:0:0:666\n\n") {
		t.Errorf("special files must have no Z: line:\n%s", db)
	}
}
