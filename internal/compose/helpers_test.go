//go:build linux

package compose

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// needRoot stops tests that chown: they need root (as in CI).
func needRoot(t *testing.T) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "running as root (the tests chown files)")
}

// baselayoutFiles are the files of alpine-baselayout-data a seeded root
// gets.
var baselayoutFiles = map[string]bool{
	"etc/passwd": true, "etc/group": true, "etc/shadow": true,
	"etc/fstab": true, "etc/hosts": true, "etc/hostname": true,
}

// seedRoot makes a temporary root holding the account, fstab and hosts
// files of Alpine 3.19's alpine-baselayout-data, with their modes and
// owners, and /root as Alpine has it; every path dated seedTime.
func seedRoot(t *testing.T) string {
	t.Helper()
	needRoot(t)
	root := t.TempDir()
	apkPath := filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "packages", "alpine-baselayout-data-3.4.3-r2.apk")
	f, err := os.Open(apkPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := apkfile.Open(f, apkfile.Options{AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	mustMkdir(t, filepath.Join(root, "etc"), 0o755)
	mustMkdir(t, filepath.Join(root, "root"), 0o700)
	for {
		h, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !baselayoutFiles[h.Name] {
			continue
		}
		data, err := io.ReadAll(rd)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(root, h.Name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		gid := 0
		if h.Gname == "shadow" {
			gid = 42 // shadow in the fixture's /etc/group
		}
		if err := os.Chown(p, 0, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, fs.FileMode(h.Mode).Perm()); err != nil {
			t.Fatal(err)
		}
	}
	for name := range baselayoutFiles {
		if _, err := os.Stat(filepath.Join(root, name)); err != nil {
			t.Fatalf("fixture lacks %s: %v", name, err)
		}
	}
	stampAll(t, root, seedTime)
	return root
}

func mustMkdir(t *testing.T, p string, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(p, perm); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, perm); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, p, content string, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), perm); err != nil {
		t.Fatal(err)
	}
}

// appendTo adds lines to a file of the root, as a package script would.
func appendTo(t *testing.T, p, lines string) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(lines); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// stampAll dates every path under root (symlinks themselves included).
func stampAll(t *testing.T, root string, when time.Time) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() {
			dirs = append(dirs, p) // after their contents
			return nil
		}
		return lutimes(p, when)
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := lutimes(dirs[i], when); err != nil {
			t.Fatal(err)
		}
	}
}

func lutimes(p string, when time.Time) error {
	ts := unix.NsecToTimespec(when.UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}

// entry is what the tests know about one path of a root.
type entry struct {
	mode     fs.FileMode
	uid, gid uint32
	mtime    time.Time
	target   string // symlinks
	sum      string // regular files: size and SHA-256
}

// scan describes every path of root, keyed by its path in the root.
func scan(t *testing.T, root string) map[string]entry {
	t.Helper()
	out := map[string]entry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		e := entry{mode: info.Mode(), uid: st.Uid, gid: st.Gid, mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec)}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			if e.target, err = os.Readlink(p); err != nil {
				return err
			}
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.sum = fmt.Sprintf("%d %x", len(data), sha256.Sum256(data))
		}
		rel, _ := filepath.Rel(root, p)
		out["/"+filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	delete(out, "/.")
	return out
}

// listing renders a scan, one sorted line per path, for golden files:
// mode, owner, "new" when dated buildTime (else "old"), path, and the
// symlink target or the file's size and digest prefix.
func listing(s map[string]entry) []byte {
	var b bytes.Buffer
	for _, p := range sortedKeys(s) {
		e := s[p]
		stamp := "old"
		if e.mtime.Equal(buildTime) {
			stamp = "new"
		}
		fmt.Fprintf(&b, "%s %d:%d %s %s", e.mode, e.uid, e.gid, stamp, p)
		switch {
		case e.target != "":
			fmt.Fprintf(&b, " -> %s", e.target)
		case e.sum != "":
			fmt.Fprintf(&b, " %s", e.sum[:strings.IndexByte(e.sum, ' ')+13])
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// checkStamps requires every path that is new or changed since before to
// be dated buildTime, and every other path to keep its date.
func checkStamps(t *testing.T, before, after map[string]entry) {
	t.Helper()
	for p, a := range after {
		b, existed := before[p]
		changed := !existed || a.sum != b.sum || a.target != b.target || a.mode != b.mode || a.uid != b.uid || a.gid != b.gid
		if changed && !a.mtime.Equal(buildTime) {
			t.Errorf("%s changed but is dated %s, not the build time", p, a.mtime.UTC())
		}
		if !changed && !a.mtime.Equal(b.mtime) && !a.mtime.Equal(buildTime) {
			t.Errorf("%s is dated %s, neither its old date nor the build time", p, a.mtime.UTC())
		}
	}
	for p := range before {
		if _, ok := after[p]; !ok {
			t.Errorf("%s disappeared", p)
		}
	}
}

// golden compares got with testdata/name.golden, or rewrites it under
// -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", filepath.FromSlash(name)+".golden")
	if *update {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func readRootFile(t *testing.T, root, p string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, p))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wantOwnerMode checks one path's type and permission bits and owner.
func wantOwnerMode(t *testing.T, root, p string, mode fs.FileMode, uid, gid uint32) {
	t.Helper()
	info, err := os.Lstat(filepath.Join(root, p))
	if err != nil {
		t.Error(err)
		return
	}
	st := info.Sys().(*syscall.Stat_t)
	if info.Mode() != mode || st.Uid != uid || st.Gid != gid {
		t.Errorf("%s: %s %d:%d, want %s %d:%d", p, info.Mode(), st.Uid, st.Gid, mode, uid, gid)
	}
}

// wantErr requires an error containing every one of parts.
func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}

// emptyDir requires dir to hold nothing.
func emptyDir(t *testing.T, dir string) {
	t.Helper()
	names, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	for _, n := range names {
		t.Errorf("%s was written outside the root", filepath.Join(dir, n.Name()))
	}
}
