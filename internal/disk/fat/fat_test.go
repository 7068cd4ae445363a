package fat

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

var epoch = time.Date(2024, 3, 9, 12, 34, 57, 0, time.UTC)

func random(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func testTree() fstest.MapFS {
	return fstest.MapFS{
		"EFI/BOOT/BOOTX64.EFI":                                           {Data: random(100_000, 1)},
		"EFI/systemd/systemd-bootx64.efi":                                {Data: random(90_000, 2)},
		"loader/loader.conf":                                             {Data: []byte("default cairn.conf\ntimeout 0\n")},
		"loader/entries/cairn.conf":                                      {Data: []byte("title cairn\n")},
		"loader/entries/cairn-1.conf":                                    {Data: []byte("title cairn 1\n")},
		"cairn/vmlinuz-0123456789abcdef":                                 {Data: random(3<<20+17, 3)},
		"cairn/initrd-fedcba9876543210":                                  {Data: random(1<<20, 4)},
		"cairn/index.json":                                               {Data: []byte("{}\n")},
		"extlinux/extlinux.conf":                                         {Data: []byte("DEFAULT cairn\n")},
		"a-very-long-file-name-that-needs-several-long-name-entries.txt": {Data: []byte("long\n")},
		"Mixed.Case":                                                     {Data: []byte("mixed\n")},
		"x.tar.gz":                                                       {Data: []byte("two dots\n")},
		"longname1.txt":                                                  {Data: []byte("1\n")},
		"longname2.txt":                                                  {Data: []byte("2\n")},
		"empty":                                                          {Data: nil},
		"UPPER.TXT":                                                      {Data: []byte("upper\n")},
		"emptydir":                                                       {Mode: os.ModeDir | 0o755},
		"d1/d2/d3/deep":                                                  {Data: []byte("deep\n")},
		// Enough entries to need a second cluster in one directory.
		"many/" + strings.Repeat("n", 40) + "-00": {Data: []byte("0")},
	}
}

func addMany(m fstest.MapFS) {
	for i := 0; i < 200; i++ {
		m[filepath.Join("many", strings.Repeat("n", 40)+"-"+string(rune('a'+i%26))+string(rune('a'+i/26)))] = &fstest.MapFile{Data: []byte{byte(i)}}
	}
}

func writeImage(t *testing.T, size, off int64, tree fstest.MapFS, fill byte) (string, Stats) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fat.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if fill != 0 {
		if _, err := f.Write(bytes.Repeat([]byte{fill}, int(off+size))); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Truncate(off + size); err != nil {
		t.Fatal(err)
	}
	st, err := Write(f, off, Options{Size: size, Label: "CAIRN-ESP", VolumeID: 0x12345678, Time: epoch, HiddenSectors: uint32(off / 512)}, tree)
	if err != nil {
		t.Fatal(err)
	}
	return p, st
}

func tool(t testing.TB, name, pkg string, args ...string) string {
	t.Helper()
	cmd := exec.Command(debtest.Tool(t, name, pkg), args...)
	cmd.Env = append(os.Environ(), "MTOOLS_SKIP_CHECK=1", "TZ=UTC")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// fsck runs dosfstools' checker, which must find nothing to repair.
func fsck(t *testing.T, img string) {
	t.Helper()
	out := tool(t, "fsck.fat", "dosfstools", "-n", "-v", img)
	for _, bad := range []string{"differ", "wrong", "Fix", "invalid", "Invalid", "orphan", "Free cluster summary"} {
		if strings.Contains(out, bad) {
			t.Fatalf("fsck.fat found problems (%q):\n%s", bad, out)
		}
	}
	if !strings.Contains(out, "32 bit entries") {
		t.Fatalf("fsck.fat does not see FAT32:\n%s", out)
	}
}

// extract copies the whole file system out with mtools and compares it
// with the tree.
func extract(t *testing.T, img string, off int64, tree fstest.MapFS) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	os.Mkdir(out, 0o755)
	spec := img
	if off != 0 {
		spec = img + "@@" + strconv.FormatInt(off, 10)
	}
	tool(t, "mcopy", "mtools", "-s", "-n", "-m", "-i", spec, "::*", out)
	for name, f := range tree {
		p := filepath.Join(out, name)
		if f.Mode.IsDir() {
			if fi, err := os.Stat(p); err != nil || !fi.IsDir() {
				t.Errorf("directory %s missing: %v", name, err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s: content differs (%d bytes, want %d)", name, len(got), len(f.Data))
		}
		fi, _ := os.Stat(p)
		if !fi.ModTime().Equal(epoch.Add(-time.Second)) && !fi.ModTime().Equal(epoch) {
			t.Errorf("%s: time %v, want %v (FAT keeps even seconds)", name, fi.ModTime().UTC(), epoch)
		}
	}
	n := 0
	filepath.WalkDir(out, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	want := 0
	for _, f := range tree {
		if !f.Mode.IsDir() {
			want++
		}
	}
	if n != want {
		t.Errorf("mcopy extracted %d files, the tree has %d", n, want)
	}
}

func TestWriteReadByTools(t *testing.T) {
	tree := testTree()
	addMany(tree)
	img, st := writeImage(t, 64<<20, 0, tree, 0)
	t.Logf("%+v", st)
	if st.ClusterSize != 512 {
		t.Errorf("64 MiB: cluster size %d, want 512 (131,000 clusters)", st.ClusterSize)
	}
	fsck(t, img)
	extract(t, img, 0, tree)
	out := tool(t, "mdir", "mtools", "-i", img, "::/")
	for _, want := range []string{"CAIRN-ESP", "longname1.txt", "LONGNA~1", "LONGNA~2", "UPPER    TXT"} {
		if !strings.Contains(out, want) {
			t.Errorf("mdir lacks %q:\n%s", want, out)
		}
	}
	out = tool(t, "minfo", "mtools", "-i", img, "::")
	if !strings.Contains(out, "serial number: 12345678") {
		t.Errorf("minfo: no volume ID 12345678:\n%s", out)
	}
}

func TestOffsetAndDirtyRegion(t *testing.T) {
	tree := testTree()
	off := int64(1 << 20)
	img, _ := writeImage(t, 300<<20, off, tree, 0xa5)
	extract(t, img, off, tree)
	// fsck.fat needs the file system alone.
	data, _ := os.ReadFile(img)
	alone := filepath.Join(t.TempDir(), "alone.img")
	os.WriteFile(alone, data[off:], 0o644)
	fsck(t, alone)
}

func TestReproducible(t *testing.T) {
	sum := func(fill byte) [32]byte {
		img, _ := writeImage(t, 80<<20, 4096, testTree(), fill)
		data, _ := os.ReadFile(img)
		return sha256.Sum256(data)
	}
	if sum(0) != sum(0) {
		t.Fatal("two writes of the same tree differ")
	}
}

func TestGeometry(t *testing.T) {
	for _, c := range []struct {
		size int64
		spc  uint32
	}{
		{MinSize, 1}, {64 << 20, 1}, {256 << 20, 4}, {512 << 20, 8}, {8 << 30, 8}, {9 << 30, 16}, {20 << 30, 32}, {100 << 30, 64},
	} {
		l, err := geometry(c.size)
		if err != nil {
			t.Errorf("%d: %v", c.size, err)
			continue
		}
		if l.spc != c.spc || l.clusters < minClusters || (l.fatSecs*sectorSize/4) < l.clusters+2 || l.dataStart%max(8, l.spc) != 0 {
			t.Errorf("%d bytes: %+v (want %d sectors per cluster)", c.size, l, c.spc)
		}
	}
	if _, err := geometry(MinSize - 512); err == nil {
		t.Error("no error below MinSize")
	}
}

func TestTooSmall(t *testing.T) {
	tree := fstest.MapFS{"big": {Data: random(40<<20, 9)}}
	p := filepath.Join(t.TempDir(), "img")
	f, _ := os.Create(p)
	defer f.Close()
	_, err := Write(f, 0, Options{Size: 36 << 20}, tree)
	var tse *TooSmallError
	if !errors.As(err, &tse) {
		t.Fatalf("error %v, want a TooSmallError", err)
	}
	t.Log(err)
	f.Truncate(tse.Need)
	if _, err := Write(f, 0, Options{Size: tse.Need}, tree); err != nil {
		t.Fatalf("with the size the error gave (%d): %v", tse.Need, err)
	}
}

func TestBadNames(t *testing.T) {
	for name, tree := range map[string]fstest.MapFS{
		"colon":   {"a:b": {}},
		"case":    {"abc": {}, "ABC": {}},
		"dot end": {"abc.": {}},
		"symlink": {"link": {Mode: os.ModeSymlink}},
		"label":   nil,
	} {
		o := Options{Size: 40 << 20}
		if name == "label" {
			o.Label = "lower"
		}
		p := filepath.Join(t.TempDir(), "img")
		f, _ := os.Create(p)
		_, err := Write(f, 0, o, tree)
		f.Close()
		if err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

func TestShortNames(t *testing.T) {
	taken := map[[11]byte]bool{}
	for _, c := range []struct{ in, want string }{
		{"vmlinuz-0123456789abcdef", "VMLINU~1   "},
		{"vmlinuz-fedcba", "VMLINU~2   "},
		{"x.tar.gz", "XTAR~1  GZ "},
		{".hidden", "HIDDEN~1   "},
		{"a+b", "A_B~1      "},
	} {
		got := alias(c.in, taken)
		taken[got] = true
		if string(got[:]) != c.want {
			t.Errorf("alias(%q) = %q, want %q", c.in, got[:], c.want)
		}
	}
	for _, c := range []struct {
		in string
		ok bool
	}{{"EFI", true}, {"BOOTX64.EFI", true}, {"bootx64.efi", false}, {"TOOLONGNAME", false}, {"A.B.C", false}, {"A.", false}, {"ABC.DEFG", false}} {
		if _, ok := shortName(c.in); ok != c.ok {
			t.Errorf("shortName(%q) ok = %v", c.in, ok)
		}
	}
}
