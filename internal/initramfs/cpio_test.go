package initramfs

import (
	"bytes"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// sampleArchive has one entry of every kind, added out of order, with
// implied parent directories.
func sampleArchive(t *testing.T) *Archive {
	t.Helper()
	a := NewArchive(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC))
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.AddSymlink("bin/sh", "busybox"))
	must(a.AddFile("init", 0o755, []byte("#!/bin/sh\necho hello\n")))
	must(a.AddCharDevice("/dev/console", 0o600, 5, 1))
	must(a.AddFile("etc/motd", 0o644, []byte("odd size!")))
	must(a.AddDir("tmp", 0o1777|os.ModeSticky))
	must(a.AddDir("root", 0o700))
	must(a.AddFile("etc/empty", 0o600, nil))
	must(a.AddFile("usr/lib/cairn/deep/file", 0o644, []byte("four")))
	must(a.AddDir("dev", 0o755)) // after its child: order does not matter
	must(a.SetOwner("etc/motd", 4242, 4243))
	return a
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/initramfs -run %s -update writes it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from what was written (%d bytes, want %d); if the change is intended, run with -update", path, len(got), len(want))
	}
}

func TestArchiveGolden(t *testing.T) {
	data, err := sampleArchive(t).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "sample.cpio", data)
	if len(data)%512 != 0 {
		t.Errorf("archive of %d bytes is not padded to 512", len(data))
	}
}

func TestArchiveCanonical(t *testing.T) {
	hs, err := ReadArchive(bytes.NewReader(mustBytes(t, sampleArchive(t))))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for i, h := range hs {
		names = append(names, h.Name)
		if h.Ino != uint32(i+1) {
			t.Errorf("%s: inode %d, want %d", h.Name, h.Ino, i+1)
		}
		if h.MTime != uint32(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).Unix()) {
			t.Errorf("%s: mtime %d", h.Name, h.MTime)
		}
		if h.Name != "etc/motd" && (h.UID != 0 || h.GID != 0) {
			t.Errorf("%s: owner %d:%d", h.Name, h.UID, h.GID)
		}
	}
	want := "bin bin/sh dev dev/console etc etc/empty etc/motd init root tmp usr usr/lib usr/lib/cairn usr/lib/cairn/deep usr/lib/cairn/deep/file"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("entries:\n got %s\nwant %s", got, want)
	}
	byName := map[string]Header{}
	for _, h := range hs {
		byName[h.Name] = h
	}
	checks := []struct {
		name string
		mode uint32
		data string
	}{
		{"bin/sh", 0o120777, "busybox"},
		{"dev/console", 0o020600, ""},
		{"etc/motd", 0o100644, "odd size!"},
		{"tmp", 0o041777, ""},
		{"usr/lib", 0o040755, ""},
		{"init", 0o100755, "#!/bin/sh\necho hello\n"},
	}
	for _, c := range checks {
		h := byName[c.name]
		if h.Mode != c.mode || string(h.Data) != c.data {
			t.Errorf("%s: mode %o data %q, want %o %q", c.name, h.Mode, h.Data, c.mode, c.data)
		}
	}
	if h := byName["dev/console"]; h.RdevMajor != 5 || h.RdevMinor != 1 {
		t.Errorf("dev/console: device %d,%d", h.RdevMajor, h.RdevMinor)
	}
}

func mustBytes(t *testing.T, a *Archive) []byte {
	t.Helper()
	data, err := a.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestArchiveErrors(t *testing.T) {
	a := NewArchive(time.Time{})
	if err := a.AddFile("a", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if err := a.AddFile("/a", 0o644, []byte("x")); err == nil {
		t.Error("adding a twice succeeded")
	}
	if err := a.AddDir("d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := a.AddDir("d/", 0o755); err != nil {
		t.Errorf("adding the same directory twice: %v", err)
	}
	if err := a.AddDir("d", 0o700); err == nil {
		t.Error("adding d with another mode succeeded")
	}
	if err := a.AddFile("/", 0o644, nil); err == nil {
		t.Error("adding the root succeeded")
	}
	if err := a.AddSymlink("l", ""); err == nil {
		t.Error("empty link target accepted")
	}
	if err := a.AddFile("a/b", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bytes(); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file under a file: %v", err)
	}
	// Paths are cleaned: "../x" cannot leave the archive's root.
	b := NewArchive(time.Time{})
	if err := b.AddFile("../../x", 0o644, nil); err != nil {
		t.Fatal(err)
	}
	if got := b.Paths(); len(got) != 1 || got[0] != "x" {
		t.Errorf("../../x stored as %q", got)
	}
}

func TestArchiveFileFrom(t *testing.T) {
	src := filepath.Join(t.TempDir(), "big")
	content := bytes.Repeat([]byte("0123456789"), 100_000)
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	a := NewArchive(time.Time{})
	if err := a.AddFileFrom("big", 0o644, src); err != nil {
		t.Fatal(err)
	}
	hs, err := ReadArchive(bytes.NewReader(mustBytes(t, a)))
	if err != nil {
		t.Fatal(err)
	}
	if len(hs) != 1 || !bytes.Equal(hs[0].Data, content) {
		t.Fatalf("big file not archived whole")
	}
	// A file that changes size between adding and writing is refused.
	if err := os.WriteFile(src, []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Bytes(); err == nil {
		t.Error("a file that shrank was archived")
	}
}

func TestCompressedDeterministic(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd, None} {
		t.Run(string(c), func(t *testing.T) {
			var one, two bytes.Buffer
			if _, err := sampleArchive(t).WriteCompressed(&one, c); err != nil {
				t.Fatal(err)
			}
			if _, err := sampleArchive(t).WriteCompressed(&two, c); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(one.Bytes(), two.Bytes()) {
				t.Error("two writes differ")
			}
			plain := decompress(t, one.Bytes(), c)
			if !bytes.Equal(plain, mustBytes(t, sampleArchive(t))) {
				t.Error("decompressed archive differs")
			}
		})
	}
}

func decompress(t *testing.T, data []byte, c Compression) []byte {
	t.Helper()
	var r io.Reader
	switch c {
	case Gzip:
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case Zstd:
		zr, err := zstd.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		r = zr
	default:
		return data
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGNUCpioReads has Debian's GNU cpio list and extract what the
// writer makes, compressed the way the kernel is given it.
func TestGNUCpioReads(t *testing.T) {
	cpio := debtest.Tool(t, "cpio", "cpio")
	for _, c := range []Compression{Gzip, Zstd} {
		t.Run(string(c), func(t *testing.T) {
			tool := debtest.Tool(t, string(c), string(c))
			var compressed bytes.Buffer
			if _, err := sampleArchive(t).WriteCompressed(&compressed, c); err != nil {
				t.Fatal(err)
			}
			// The compressor's own tool must accept the stream, as the
			// kernel's decompressor will.
			dec := exec.Command(tool, "-dc")
			dec.Stdin = &compressed
			plain, err := dec.Output()
			if err != nil {
				t.Fatalf("%s -dc: %v", c, err)
			}
			list := exec.Command(cpio, "-itv", "--quiet")
			list.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
			list.Stdin = bytes.NewReader(plain)
			out, err := list.CombinedOutput()
			if err != nil {
				t.Fatalf("cpio -itv: %v: %s", err, out)
			}
			want := []string{
				"drwxr-xr-x 2 root root 0 Mar 1 2024 bin",
				"lrwxrwxrwx 1 root root 7 Mar 1 2024 bin/sh -> busybox",
				"drwxr-xr-x 2 root root 0 Mar 1 2024 dev",
				"crw------- 1 root root 5, 1 Mar 1 2024 dev/console",
				"drwxr-xr-x 2 root root 0 Mar 1 2024 etc",
				"-rw------- 1 root root 0 Mar 1 2024 etc/empty",
				"-rw-r--r-- 1 4242 4243 9 Mar 1 2024 etc/motd",
				"-rwxr-xr-x 1 root root 21 Mar 1 2024 init",
				"drwx------ 2 root root 0 Mar 1 2024 root",
				"drwxrwxrwt 2 root root 0 Mar 1 2024 tmp",
				"drwxr-xr-x 2 root root 0 Mar 1 2024 usr",
				"drwxr-xr-x 2 root root 0 Mar 1 2024 usr/lib",
				"drwxr-xr-x 2 root root 0 Mar 1 2024 usr/lib/cairn",
				"drwxr-xr-x 2 root root 0 Mar 1 2024 usr/lib/cairn/deep",
				"-rw-r--r-- 1 root root 4 Mar 1 2024 usr/lib/cairn/deep/file",
			}
			var got []string
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				// Users without a name are printed as numbers.
				got = append(got, strings.Join(strings.Fields(line), " "))
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("cpio -itv:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
			}

			// Extract (without the device node, which needs root) and
			// compare the tree.
			a := sampleArchive(t)
			delete(a.entries, "dev/console")
			dir := t.TempDir()
			extract := exec.Command(cpio, "-idm", "--quiet", "--no-absolute-filenames")
			extract.Dir = dir
			extract.Stdin = bytes.NewReader(mustBytes(t, a))
			if out, err := extract.CombinedOutput(); err != nil {
				t.Fatalf("cpio -idm: %v: %s", err, out)
			}
			for p, content := range map[string]string{"init": "#!/bin/sh\necho hello\n", "etc/motd": "odd size!", "usr/lib/cairn/deep/file": "four"} {
				data, err := os.ReadFile(filepath.Join(dir, p))
				if err != nil || string(data) != content {
					t.Errorf("extracted %s: %q, %v", p, data, err)
				}
			}
			if target, err := os.Readlink(filepath.Join(dir, "bin/sh")); err != nil || target != "busybox" {
				t.Errorf("extracted bin/sh -> %q, %v", target, err)
			}
			fi, err := os.Stat(filepath.Join(dir, "init"))
			if err != nil || fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)) {
				t.Errorf("extracted init: %v %v", fi, err)
			}
		})
	}
}
