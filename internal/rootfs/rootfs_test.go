package rootfs_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	. "github.com/cairnlinux/cairn/internal/rootfs"
	"github.com/cairnlinux/cairn/internal/rootfs/rootfstest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// roots returns the implementations a test runs on: memory everywhere,
// and a directory on disk where the system has one (Linux).
func roots(t *testing.T) map[string]func(t *testing.T) Root {
	rs := map[string]func(t *testing.T) Root{
		"memory": func(*testing.T) Root { return NewMemory() },
	}
	if _, err := OpenRoot(t.TempDir()); err == nil {
		rs["disk"] = func(t *testing.T) Root {
			// The root is a directory below a parent the tests plant
			// decoys in: nothing may reach them.
			parent := t.TempDir()
			if err := os.WriteFile(filepath.Join(parent, "outside"), []byte("outside"), 0o644); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(parent, "root")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			r, err := OpenRoot(dir)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { r.Close() })
			return r
		}
	}
	return rs
}

// at runs op on the open directory dir of r.
func at(r Root, dir string, op func(Dir) error) error {
	d, err := r.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return op(d)
}

func write(r Root, rel, data string) error {
	dir, name := Split(rel)
	return at(r, dir, func(d Dir) error {
		return WriteFile(d, name, strings.NewReader(data), WriteOptions{Perm: 0o644})
	})
}

// seed makes the tree every case starts from:
//
//	etc/           dir
//	etc/hostname   "root's"
//	tmp/           dir
//	abs -> /tmp    absolute symlink
//	up -> ../../.. relative symlink climbing above the root
//	loop -> loop   symlink to itself
//	file           "in root"
func seed(t *testing.T, r Root) {
	t.Helper()
	steps := []error{
		at(r, "", func(d Dir) error { return d.Mkdir("etc", 0o755) }),
		at(r, "", func(d Dir) error { return d.Mkdir("tmp", 0o755) }),
		write(r, "etc/hostname", "root's"),
		write(r, "file", "in root"),
		at(r, "", func(d Dir) error { return d.Symlink("/tmp", "abs") }),
		at(r, "", func(d Dir) error { return d.Symlink("../../..", "up") }),
		at(r, "", func(d Dir) error { return d.Symlink("loop", "loop") }),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
}

// errno names the errno err carries, "" for none.
func errno(err error) string {
	var e syscall.Errno
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Error()
	case errors.Is(err, ErrNotComponent):
		return "not a component"
	case errors.Is(err, ErrNotRegular):
		return "not regular"
	}
	return err.Error()
}

// TestResolveInRoot: whatever a path says, it is resolved inside the root,
// as chroot would.
func TestResolveInRoot(t *testing.T) {
	cases := []struct {
		rel  string
		want string // the contents read, or the errno
	}{
		{"file", "in root"},
		{"../file", "in root"},
		{"../../../../file", "in root"},
		{"/file", "in root"},
		{"../outside", syscall.ENOENT.Error()},
		{"etc/../../outside", syscall.ENOENT.Error()},
		{"up/file", "in root"},
		{"up/outside", syscall.ENOENT.Error()},
		{"abs/../file", "in root"},
		{"abs/../etc/hostname", "root's"},
		{"etc/hostname/x", syscall.ENOTDIR.Error()},
		{"loop", syscall.ELOOP.Error()},
		{"etc", "not regular"},
	}
	for impl, open := range roots(t) {
		t.Run(impl, func(t *testing.T) {
			r := open(t)
			seed(t, r)
			for _, c := range cases {
				data, err := r.ReadFile(c.rel, 1<<20)
				got := string(data)
				if err != nil {
					got = errno(err)
				}
				if got != c.want {
					t.Errorf("ReadFile(%q) = %q, want %q", c.rel, got, c.want)
				}
			}
		})
	}
}

// TestWritesStayInRoot: writing through a symlink that points out of the
// root, absolutely or by "..", lands inside it.
func TestWritesStayInRoot(t *testing.T) {
	for impl, open := range roots(t) {
		t.Run(impl, func(t *testing.T) {
			r := open(t)
			seed(t, r)
			if err := write(r, "abs/new", "x"); err != nil {
				t.Fatal(err)
			}
			if err := write(r, "up/outside", "x"); err != nil {
				t.Fatal(err)
			}
			for _, rel := range []string{"tmp/new", "outside"} {
				if data, err := r.ReadFile(rel, 10); err != nil || string(data) != "x" {
					t.Errorf("%s: %q, %v; want the file written through the symlink", rel, data, err)
				}
			}
			if _, err := r.MkdirAll("up/a/b", 0o755, nil); err != nil {
				t.Fatal(err)
			}
			if st, err := r.Stat("a/b"); err != nil || !st.IsDir() {
				t.Errorf("MkdirAll through up: a/b: %v, %v", st, err)
			}
			if p := r.Path(); p != "" {
				if data, _ := os.ReadFile(filepath.Join(p, "..", "outside")); string(data) != "outside" {
					t.Errorf("the file beside the root was changed: %q", data)
				}
				if _, err := os.Stat(filepath.Join(p, "..", "a")); err == nil {
					t.Error("MkdirAll made a directory beside the root")
				}
			}
		})
	}
}

// TestDirOpsRefuseNames: a Dir's methods take one path component and
// never follow a symlink in it.
func TestDirOpsRefuseNames(t *testing.T) {
	ops := map[string]func(d Dir, name string) error{
		"create":  func(d Dir, n string) error { _, err := d.Create(n, 0o644); return err },
		"mkdir":   func(d Dir, n string) error { return d.Mkdir(n, 0o755) },
		"symlink": func(d Dir, n string) error { return d.Symlink("x", n) },
		"remove":  func(d Dir, n string) error { return d.Remove(n) },
		"rename":  func(d Dir, n string) error { return d.Rename("file", n) },
		"lstat":   func(d Dir, n string) error { _, err := d.Lstat(n); return err },
		"open":    func(d Dir, n string) error { _, err := d.Open(n); return err },
		"write": func(d Dir, n string) error {
			return WriteFile(d, n, strings.NewReader("x"), WriteOptions{Perm: 0o644})
		},
	}
	for impl, open := range roots(t) {
		t.Run(impl, func(t *testing.T) {
			r := open(t)
			seed(t, r)
			for op, f := range ops {
				for _, name := range []string{"", ".", "..", "etc/hostname", "../outside", "a\x00b"} {
					err := at(r, "", func(d Dir) error { return f(d, name) })
					if !errors.Is(err, ErrNotComponent) {
						t.Errorf("%s(%q) = %v, want %v", op, name, err, ErrNotComponent)
					}
				}
			}
			// Following a symlink in the last component is refused.
			if err := at(r, "", func(d Dir) error { _, err := d.Open("abs"); return err }); errno(err) != syscall.ELOOP.Error() {
				t.Errorf("Open of a symlink: %v, want ELOOP", err)
			}
			if err := at(r, "", func(d Dir) error { return d.Chmod("abs", 0o600) }); errno(err) != syscall.ELOOP.Error() {
				t.Errorf("Chmod of a symlink: %v, want ELOOP", err)
			}
		})
	}
}

// TestMagicLinksRefused: /proc/self/root and its kind lead anywhere; a
// root on disk refuses them even when the root is "/".
func TestMagicLinksRefused(t *testing.T) {
	r, err := OpenRoot("/")
	testutil.Require(t, err == nil, fmt.Sprintf("a root on disk (Linux's openat2): %v", err))
	defer r.Close()
	_, err = r.Stat("proc/self")
	testutil.Require(t, err == nil, fmt.Sprintf("/proc mounted: %v", err))
	for _, rel := range []string{"proc/self/root", "proc/self/root/etc", "proc/self/cwd", "proc/self/exe"} {
		if _, err := r.Stat(rel); errno(err) != syscall.ELOOP.Error() {
			t.Errorf("Stat(%q) = %v, want ELOOP", rel, err)
		}
	}
}

// step is one operation of the agreement script.
type step struct {
	name string
	do   func(r Root) error
	want string // errno, "" for success
}

// script is a sequence of operations whose results (errors and the tree
// they leave) the implementations must agree on.
var script = []step{
	{"mkdirall", func(r Root) error { _, err := r.MkdirAll("usr/lib/x", 0o750, nil); return err }, ""},
	{"mkdirall over a file", func(r Root) error { _, err := r.MkdirAll("file/x", 0o755, nil); return err }, syscall.ENOTDIR.Error()},
	{"mkdir existing", func(r Root) error { return at(r, "", func(d Dir) error { return d.Mkdir("etc", 0o755) }) }, syscall.EEXIST.Error()},
	{"create replaces a leftover", func(r Root) error {
		return at(r, "etc", func(d Dir) error {
			f, err := d.Create("hostname", 0o640)
			if err == nil {
				_, err = f.Write([]byte("new"))
				err = errors.Join(err, f.Close())
			}
			return err
		})
	}, ""},
	{"create over a directory", func(r Root) error {
		return at(r, "", func(d Dir) error { _, err := d.Create("etc", 0o644); return err })
	}, syscall.EEXIST.Error()},
	{"atomic write with mode and times", func(r Root) error {
		return at(r, "usr/lib", func(d Dir) error {
			return WriteFile(d, "f", strings.NewReader("data"), WriteOptions{Perm: 0o4755, Mtime: time.Unix(1700000000, 5), Sync: true, SyncDir: true})
		})
	}, ""},
	{"atomic write replaces a symlink, never follows it", func(r Root) error {
		return at(r, "", func(d Dir) error { return WriteFile(d, "abs", strings.NewReader("x"), WriteOptions{Perm: 0o600}) })
	}, ""},
	{"atomic write over a directory", func(r Root) error {
		return at(r, "", func(d Dir) error { return WriteFile(d, "etc", strings.NewReader("x"), WriteOptions{Perm: 0o600}) })
	}, syscall.EISDIR.Error()},
	{"symlink replaces", func(r Root) error { return at(r, "", func(d Dir) error { return d.Symlink("etc/hostname", "file") }) }, ""},
	{"hard link", func(r Root) error {
		return at(r, "usr/lib", func(d Dir) error {
			return at(r, "", func(top Dir) error { return d.Link(top, "abs", "hard") })
		})
	}, ""},
	{"mknod fifo", func(r Root) error {
		return at(r, "tmp", func(d Dir) error { return d.Mknod("fifo", TypeFIFO|0o600, 0, 0) })
	}, ""},
	{"rename", func(r Root) error { return at(r, "tmp", func(d Dir) error { return d.Rename("fifo", "pipe") }) }, ""},
	{"rename a file over a directory", func(r Root) error {
		return at(r, "", func(d Dir) error { return d.Rename("abs", "usr") })
	}, syscall.EISDIR.Error()},
	{"rename no-replace onto an entry", func(r Root) error {
		return at(r, "", func(d Dir) error {
			return at(r, "usr", func(u Dir) error { return d.RenameNoReplace("abs", u, "lib") })
		})
	}, syscall.EEXIST.Error()},
	{"rename no-replace", func(r Root) error {
		return at(r, "", func(d Dir) error {
			return at(r, "usr", func(u Dir) error { return d.RenameNoReplace("loop", u, "loop2") })
		})
	}, ""},
	{"remove a directory as a file", func(r Root) error { return at(r, "", func(d Dir) error { return d.Remove("tmp") }) }, syscall.EISDIR.Error()},
	{"remove a full directory", func(r Root) error { return at(r, "", func(d Dir) error { return d.RemoveDir("usr") }) }, syscall.ENOTEMPTY.Error()},
	{"remove missing", func(r Root) error { return at(r, "", func(d Dir) error { return d.Remove("nothing") }) }, syscall.ENOENT.Error()},
	{"remove directory", func(r Root) error { return at(r, "usr/lib", func(d Dir) error { return d.RemoveDir("x") }) }, ""},
	{"chmod the directory itself", func(r Root) error { return at(r, "etc", func(d Dir) error { return d.Chmod("", 0o1750) }) }, ""},
	{"chmod", func(r Root) error { return at(r, "etc", func(d Dir) error { return d.Chmod("hostname", 0o600) }) }, ""},
	{"set times of a symlink", func(r Root) error {
		return at(r, "", func(d Dir) error { return d.SetTimes("file", time.Unix(1600000000, 0)) })
	}, ""},
	{"set times of the directory", func(r Root) error {
		return at(r, "tmp", func(d Dir) error { return d.SetTimes("", time.Unix(1500000000, 7)) })
	}, ""},
	{"readlink a file", func(r Root) error {
		return at(r, "", func(d Dir) error { _, err := d.Readlink("abs"); return err })
	}, syscall.EINVAL.Error()},
	{"open a directory missing", func(r Root) error { _, err := r.OpenDir("usr/nothing"); return err }, syscall.ENOENT.Error()},
	{"open a file as a directory", func(r Root) error { _, err := r.OpenDir("etc/hostname"); return err }, syscall.ENOTDIR.Error()},
}

// tree lists r, with the times the script set (the others are the
// clock's).
func tree(t *testing.T, r Root) string {
	return rootfstest.Tree(t, r, "", false, func(st Stat) bool { return st.Mtime.Year() < 2024 })
}

// TestImplementationsAgree runs one script of operations on every
// implementation: each step must give the error expected, and the trees
// left must be the same.
func TestImplementationsAgree(t *testing.T) {
	trees := map[string]string{}
	for impl, open := range roots(t) {
		t.Run(impl, func(t *testing.T) {
			r := open(t)
			if m, ok := r.(*Memory); ok {
				m.Umask = umask(t)
			}
			seed(t, r)
			for _, s := range script {
				if got := errno(s.do(r)); got != s.want {
					t.Errorf("%s: %q, want %q", s.name, got, s.want)
				}
			}
			trees[impl] = tree(t, r)
		})
	}
	mem := trees["memory"]
	if disk, ok := trees["disk"]; ok && disk != mem {
		t.Errorf("the trees differ:\nmemory:\n%s\n\ndisk:\n%s", mem, disk)
	}
	for _, want := range []string{
		"etc 41750", `etc/hostname 100600 "new"`, `usr/lib/f 104755 2023-11-14T22:13:20.000000005Z "data"`,
		`abs 100600 "x"`, "usr/lib/hard 100600", "file 120777 2020-09-13T12:26:40Z -> etc/hostname",
		"tmp/pipe 10600", "tmp 40755 2017-07-14T02:40:00.000000007Z", "usr/loop2 120777 -> loop",
	} {
		if !strings.Contains(mem, want) {
			t.Errorf("the tree lacks %q:\n%s", want, mem)
		}
	}
}

// umask reads the process's umask, which the disk implementation gets.
func umask(t *testing.T) uint32 {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, nil, 0o777); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return 0o777 &^ uint32(fi.Mode().Perm())
}

func TestLock(t *testing.T) {
	for impl, open := range roots(t) {
		t.Run(impl, func(t *testing.T) {
			r := open(t)
			d, err := r.OpenDir("")
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			release, err := d.Lock("lock")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Lock("lock"); !errors.Is(err, ErrLocked) {
				t.Errorf("second lock: %v, want %v", err, ErrLocked)
			}
			release()
			release, err = d.Lock("lock")
			if err != nil {
				t.Fatalf("lock after release: %v", err)
			}
			release()
		})
	}
}

// TestWriteFileAt: the host write leaves the new contents and mode and no
// temporary file; a failing BeforeRename leaves the old contents.
func TestWriteFileAt(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := WriteFileAt(p, []byte("old"), WriteOptions{Perm: 0o644, Sync: true, SyncDir: true}); err != nil {
		t.Fatal(err)
	}
	crash := errors.New("crash")
	err := WriteFileAt(p, []byte("new"), WriteOptions{Perm: 0o600, Temp: "state.json.tmp", BeforeRename: func() error { return crash }})
	if !errors.Is(err, crash) {
		t.Fatalf("got %v, want the crash", err)
	}
	if data, _ := os.ReadFile(p); !bytes.Equal(data, []byte("old")) {
		t.Errorf("after a crash before the rename: %q, want the old contents", data)
	}
	if err := WriteFileAt(p, []byte("new"), WriteOptions{Perm: 0o600, Temp: "state.json.tmp"}); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(p); string(data) != "new" || fi.Mode().Perm() != 0o600 {
		t.Errorf("got %q %v, want \"new\" -rw-------", data, fi.Mode())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the directory: %v, want state.json alone", entries)
	}
	// A directory at the temporary name is not a leftover to remove:
	// the write fails and leaves it.
	if err := os.Mkdir(p+".tmp", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAt(p, []byte("newer"), WriteOptions{Perm: 0o600, Temp: "state.json.tmp"}); err == nil {
		t.Error("a directory at the temporary name was replaced")
	}
	if fi, err := os.Stat(p + ".tmp"); err != nil || !fi.IsDir() {
		t.Errorf("the directory at the temporary name: %v, %v", fi, err)
	}
	if data, _ := os.ReadFile(p); string(data) != "new" {
		t.Errorf("after the failed write: %q", data)
	}
	if err := SyncDir(dir); err != nil {
		t.Error(err)
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("SyncDir of a missing directory succeeded")
	}
}

// TestWriteFileAtConcurrent: writers of one file without a fixed
// temporary name never share one, so the file always holds one writer's
// whole contents and no temporary is left.
func TestWriteFileAtConcurrent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "index")
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := bytes.Repeat([]byte{byte('a' + i)}, 1<<16)
			errs[i] = WriteFileAt(p, data, WriteOptions{Perm: 0o644})
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 1<<16 || bytes.Count(data, data[:1]) != len(data) {
		t.Errorf("the file mixes writers or is cut: %d bytes starting %q", len(data), data[:min(8, len(data))])
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
}
