//go:build linux

package image

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/image/ocitest"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

func requireRoot(t testing.TB) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (owners, device nodes, trusted.* xattrs, GNU tar -p)")
}

func requireCommand(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	testutil.Require(t, err == nil, name+" on PATH")
	return p
}

// tarSum writes the tar image of root with procs workers and returns the
// sha256 of the output.
func tarSum(t testing.TB, root string, c Compression, procs int) string {
	t.Helper()
	h := sha256.New()
	if _, err := writeTar(context.Background(), h, Source{Root: root, Epoch: testEpoch}, c, procs); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestWalkOrderKindsAndClamping(t *testing.T) {
	b := newTree(t)
	b.file("b", []byte("1"), 0o644)
	b.file("a-b", nil, 0o644)
	b.file("a/b", nil, 0o644)
	b.file("a/a", nil, 0o644)
	b.file("B", nil, 0o644)
	b.file("\u00e9", nil, 0o644)
	b.link("b", "c/second")
	b.link("b", "a/third")
	b.symlink("b", "s")
	b.check(unix.Mkfifo(b.path("fifo"), 0o600))
	b.mtime("B", testEpoch.Add(-3600e9))
	b.mtime("b", testEpoch.Add(3600e9))
	b.xattr("a", "user.z", []byte("2"))
	b.xattr("a", "user.a", []byte("1"))

	type seen struct {
		path string
		kind Kind
		link string
	}
	var got []seen
	err := Walk(context.Background(), b.root, testEpoch, func(e *Entry) error {
		got = append(got, seen{e.Path, e.Kind, e.Link})
		switch e.Path {
		case "B":
			if want := testEpoch.Unix() - 3600; e.ModTime.Unix() != want {
				t.Errorf("B: mtime %d, want %d (older than the epoch: kept)", e.ModTime.Unix(), want)
			}
		case "b":
			if !e.ModTime.Equal(testEpoch) {
				t.Errorf("b: mtime %v, want the epoch %v (newer: clamped)", e.ModTime, testEpoch)
			}
		case "a":
			if len(e.Xattrs) != 2 || e.Xattrs[0].Name != "user.a" || e.Xattrs[1].Name != "user.z" {
				t.Errorf("a: xattrs %v, want user.a and user.z in order", e.Xattrs)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []seen{
		{".", Dir, ""}, {"B", Regular, ""}, {"a", Dir, ""}, {"a/a", Regular, ""},
		{"a/b", Regular, ""}, {"a/third", Regular, ""}, {"a-b", Regular, ""},
		{"b", HardLink, "a/third"}, {"c", Dir, ""}, {"c/second", HardLink, "a/third"},
		{"fifo", FIFO, ""}, {"s", Symlink, "b"}, {"\u00e9", Regular, ""},
	}
	if len(got) != len(want) {
		t.Fatalf("walk gave %v\nwant %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d: %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestWalkStopsOnCancel(t *testing.T) {
	b := newTree(t)
	b.file("a", nil, 0o644)
	b.file("b", nil, 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err := Walk(ctx, b.root, testEpoch, func(e *Entry) error {
		n++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != 1 {
		t.Fatalf("Walk after cancel: %d entries, error %v; want 1 and context.Canceled", n, err)
	}
}

func TestTarReproducible(t *testing.T) {
	requireRoot(t)
	b := buildOrdinaryTree(t)
	for _, c := range []Compression{Gzip, Zstd, None} {
		t.Run(string(c), func(t *testing.T) {
			first := tarSum(t, b.root, c, 1)
			for _, procs := range []int{1, 2, 3, 8} {
				if got := tarSum(t, b.root, c, procs); got != first {
					t.Errorf("%d workers: sha256 %s, with 1 worker %s", procs, got, first)
				}
			}
			// And through the exported path, under another GOMAXPROCS.
			old := runtime.GOMAXPROCS(1)
			h := sha256.New()
			_, err := WriteTar(context.Background(), h, Source{Root: b.root, Epoch: testEpoch}, c)
			runtime.GOMAXPROCS(old)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(h.Sum(nil)); got != first {
				t.Errorf("GOMAXPROCS=1: sha256 %s, want %s", got, first)
			}
		})
	}
}

// TestCompressorsDeterministic compresses 40 MB of mixed data with
// different numbers of workers: the output must not change.
func TestCompressorsDeterministic(t *testing.T) {
	data := mixedData(40 << 20)
	for _, c := range []Compression{Gzip, Zstd} {
		var first []byte
		for _, procs := range []int{1, 2, 3, 4, 8, 16} {
			var out bytes.Buffer
			zw, err := compressor(&out, c, procs)
			if err != nil {
				t.Fatal(err)
			}
			// Odd write sizes: block boundaries must not follow them.
			for rest, n := data, 1; len(rest) > 0; n = (n*7 + 3) % (3 << 20) {
				k := min(n+1, len(rest))
				if _, err := zw.Write(rest[:k]); err != nil {
					t.Fatal(err)
				}
				rest = rest[k:]
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = out.Bytes()
				t.Logf("%s: %d bytes -> %d", c, len(data), len(first))
				continue
			}
			if !bytes.Equal(out.Bytes(), first) {
				t.Errorf("%s with %d workers differs from 1 worker (%d vs %d bytes)", c, procs, out.Len(), len(first))
			}
		}
		if c == Gzip {
			// RFC 1952 header: no flags (no name), mtime 0, OS Unix.
			if first[3] != 0 || !bytes.Equal(first[4:8], []byte{0, 0, 0, 0}) || first[9] != gzipOSUnix {
				t.Errorf("gzip header % x: want flags 0, mtime 0, OS 3", first[:10])
			}
		}
		zr, err := ocitest.Decompress(bytes.NewReader(first), string(c))
		if err != nil {
			t.Fatal(err)
		}
		back, err := io.ReadAll(zr)
		if err != nil || !bytes.Equal(back, data) {
			t.Fatalf("%s does not decompress to its input: %v", c, err)
		}
	}
}

// mixedData returns n bytes of text-like, random and zero runs.
func mixedData(n int) []byte {
	out := make([]byte, 0, n)
	seed := uint64(1)
	next := func() uint64 {
		seed ^= seed << 13
		seed ^= seed >> 7
		seed ^= seed << 17
		return seed
	}
	words := strings.Fields("alpine cairn generation boot store lock package kernel init the of and a to is in it")
	for len(out) < n {
		run := int(next()%(256<<10)) + 1
		switch next() % 3 {
		case 0:
			for i := 0; i < run; {
				w := words[next()%uint64(len(words))]
				out = append(out, w...)
				out = append(out, ' ')
				i += len(w) + 1
			}
		case 1:
			for i := 0; i < run; i += 8 {
				v := next()
				out = append(out, byte(v), byte(v>>8), byte(v>>16), byte(v>>24), byte(v>>32), byte(v>>40), byte(v>>48), byte(v>>56))
			}
		default:
			out = append(out, make([]byte, run)...)
		}
	}
	return out[:n]
}

// extractGNU extracts a tar image with GNU tar as the issue says, and
// fails the test on any message from tar.
func extractGNU(t testing.TB, image string, c Compression) string {
	t.Helper()
	requireCommand(t, "tar")
	dest := filepath.Join(t.TempDir(), "extracted")
	if err := os.Mkdir(dest, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"--xattrs", "--xattrs-include=*", "-xpf", image, "-C", dest}
	switch c {
	case Gzip:
		args = append([]string{"-z"}, args...)
	case Zstd:
		debtest.Tool(t, "zstd", "zstd")
		args = append([]string{"--zstd"}, args...)
	}
	cmd := exec.Command("tar", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("tar %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return dest
}

func writeTarImage(t testing.TB, root string, c Compression) (string, Result) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "rootfs.tar"+c.Ext())
	res, err := Tar{Compression: c}.Write(context.Background(), Source{Root: root, Epoch: testEpoch, Arch: "x86_64"}, out)
	if err != nil {
		t.Fatal(err)
	}
	return out, res
}

func TestTarExtractsToEqualTree(t *testing.T) {
	requireRoot(t)
	b := buildOrdinaryTree(t)
	want := snapshot(t, b.root, testEpoch)
	for _, c := range []Compression{Gzip, Zstd, None} {
		t.Run(string(c), func(t *testing.T) {
			image, res := writeTarImage(t, b.root, c)
			if len(res.Skipped) != 1 || res.Skipped[0] != "run/socket" {
				t.Errorf("skipped %v, want the socket run/socket", res.Skipped)
			}
			got := snapshot(t, extractGNU(t, image, c), testEpoch)
			compareTrees(t, want, got)
		})
	}
}

func TestTarHostileTree(t *testing.T) {
	requireRoot(t)
	const sparse = 300 << 20
	b := buildHostileTree(t, sparse)
	want := snapshot(t, b.root, testEpoch)
	image, res := writeTarImage(t, b.root, Gzip)
	fi, err := os.Stat(image)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d entries, tar %d bytes, gzip %d bytes", res.Entries, res.TarSize, fi.Size())
	if fi.Size() > 2<<20 {
		t.Errorf("image of a %d MB hole is %d bytes: zeros should compress to almost nothing", sparse>>20, fi.Size())
	}
	got := snapshot(t, extractGNU(t, image, Gzip), testEpoch)
	compareTrees(t, want, got)
	if first, again := tarSum(t, b.root, Gzip, 2), tarSum(t, b.root, Gzip, 2); first != again {
		t.Errorf("two builds of the hostile tree differ: %s, %s", first, again)
	}
}

func TestTarOutputFile(t *testing.T) {
	b := newTree(t)
	b.file("etc/hostname", []byte("node\n"), 0o644)
	dir := t.TempDir()
	out := filepath.Join(dir, "rootfs.tar.gz")
	src := Source{Root: b.root, Epoch: testEpoch}
	res, err := Tar{}.Write(context.Background(), src, out)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 || res.Size != fi.Size() || res.Entries != 3 || res.Outputs[0] != out {
		t.Errorf("output mode %v size %d, result %+v", fi.Mode(), fi.Size(), res)
	}
	data, _ := os.ReadFile(out)
	if data[0] != 0x1f || data[1] != 0x8b {
		t.Errorf("default compression is not gzip: % x", data[:4])
	}
	_, err = Tar{}.Write(context.Background(), src, out)
	if !errors.Is(err, fs.ErrExist) || !strings.Contains(err.Error(), out) {
		t.Errorf("second write to %s: %v, want an error saying it exists", out, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("the output directory holds %d entries, want only the image (no temporary files)", len(entries))
	}
	if _, err := (Tar{Compression: "xz"}).Write(context.Background(), src, filepath.Join(dir, "x.tar")); err == nil || !strings.Contains(err.Error(), "want gzip, zstd or none") {
		t.Errorf("compression xz: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x.tar")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a failed write left its output: %v", err)
	}
}

type fakeFile struct {
	io.Reader
}

func (fakeFile) Close() error { return nil }

func TestCopyContentNoticesChanges(t *testing.T) {
	for _, tc := range []struct {
		content string
		size    int64
		want    string
	}{
		{"short", 10, "shrank from 10 to 5 bytes"},
		{"longer than said", 6, "grew past 6 bytes"},
	} {
		e := &Entry{Path: "f", Kind: Regular, Size: tc.size, open: func() (File, error) {
			return fakeFile{strings.NewReader(tc.content)}, nil
		}}
		err := copyContent(io.Discard, e, make([]byte, 4))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("content %q size %d: %v, want %q", tc.content, tc.size, err, tc.want)
		}
	}
}
