package fat

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

// located is a file's directory entry and chain in an image.
type located struct {
	at       int64 // the short entry's offset
	clusters []uint32
}

// lookup finds p ("/"-separated, from the root) in the file system on
// f, reading it as Check does.
func lookup(t *testing.T, f *os.File, p string) located {
	t.Helper()
	v, err := readVolume(f)
	if err != nil {
		t.Fatal(err)
	}
	c := &checker{v: v, owner: make([]int32, v.clusters+2), paths: []string{""}}
	var dir []uint32
	if v.bits == 32 {
		dir, _ = c.chain(v.rootCluster, 1)
	}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	for k, part := range parts {
		ents, err := c.readDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for i, e := range ents {
			if e.raw[0] == 0 || e.raw[0] == 0xe5 || e.raw[11] == 0x0f || e.raw[11]&0x08 != 0 {
				continue
			}
			if name, ok := entryName(ents, i); !ok || name != part {
				continue
			}
			first := uint32(binary.LittleEndian.Uint16(e.raw[26:])) | uint32(binary.LittleEndian.Uint16(e.raw[20:]))<<16
			c.owner = make([]int32, v.clusters+2)
			clusters, _ := c.chain(first, 2)
			if k == len(parts)-1 {
				return located{at: e.at, clusters: clusters}
			}
			dir, found = clusters, true
			break
		}
		if !found {
			t.Fatalf("%s: no %s", p, path.Join(parts[:k+1]...))
		}
	}
	panic("unreachable")
}

// fatAt writes FAT entry n (32-bit) in copy i.
func fatAt(t *testing.T, f *os.File, copyIndex int, n, value uint32) {
	t.Helper()
	v, err := readVolume(f)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint32(nil, value)
	if _, err := f.WriteAt(b, v.fatStart+int64(copyIndex)*v.fatSize+4*int64(n)); err != nil {
		t.Fatal(err)
	}
}

func writeAt(t *testing.T, f *os.File, b []byte, at int64) {
	t.Helper()
	if _, err := f.WriteAt(b, at); err != nil {
		t.Fatal(err)
	}
}

// freeCluster is a cluster no file holds in an image Write made.
func freeCluster(t *testing.T, f *os.File) uint32 {
	t.Helper()
	v, err := readVolume(f)
	if err != nil {
		t.Fatal(err)
	}
	for n := v.clusters + 1; n >= 2; n-- {
		if v.entry(n) == free {
			return n
		}
	}
	t.Fatal("no free cluster")
	return 0
}

// TestRepair damages a file system as a power cut can — each case one
// kind of damage, both FATs written as Linux writes them — and checks
// that Check finds it without changing a byte, repairs it, finds nothing
// after, and that dosfstools' fsck.fat and mtools agree: nothing left to
// fix, every file not named damaged still whole.
func TestRepair(t *testing.T) {
	const vmlinuz = "/cairn/vmlinuz-0123456789abcdef"
	for _, c := range []struct {
		name string
		// damage damages the image; gone are the files the repair
		// removes.
		damage func(t *testing.T, f *os.File)
		gone   []string
		want   string // in a problem's text
	}{
		{name: "chain into a free cluster", gone: []string{vmlinuz}, want: vmlinuz + ": damaged: its cluster", damage: func(t *testing.T, f *os.File) {
			l := lookup(t, f, vmlinuz)
			for i := range 2 {
				fatAt(t, f, i, l.clusters[5], free)
			}
		}},
		{name: "chain out of the file system", gone: []string{vmlinuz}, want: "outside the file system", damage: func(t *testing.T, f *os.File) {
			l := lookup(t, f, vmlinuz)
			for i := range 2 {
				fatAt(t, f, i, l.clusters[1], 0x0ffffff0)
			}
		}},
		{name: "two names for one file (a rename cut short)", gone: []string{"/loader/entries/cairn.conf"}, want: "belongs to /loader/entries/cairn-1.conf too", damage: func(t *testing.T, f *os.File) {
			// cairn.conf's entry, sorted after cairn-1.conf's, now
			// names cairn-1.conf's chain: the new name written, the
			// old not yet removed.
			from, to := lookup(t, f, "/loader/entries/cairn-1.conf"), lookup(t, f, "/loader/entries/cairn.conf")
			e := make([]byte, entryBytes)
			f.ReadAt(e, from.at)
			tail := make([]byte, 12)
			copy(tail, e[20:32])
			writeAt(t, f, tail, to.at+20)
		}},
		{name: "chain longer than the size", want: "its chain has 2 clusters, its 2 bytes need 1", damage: func(t *testing.T, f *os.File) {
			l := lookup(t, f, "/longname1.txt")
			extra := freeCluster(t, f)
			for i := range 2 {
				fatAt(t, f, i, l.clusters[0], extra)
				fatAt(t, f, i, extra, endChain)
			}
		}},
		{name: "size beyond the chain", gone: []string{"/UPPER.TXT"}, want: "/UPPER.TXT: damaged", damage: func(t *testing.T, f *os.File) {
			l := lookup(t, f, "/UPPER.TXT")
			writeAt(t, f, binary.LittleEndian.AppendUint32(nil, 1<<20), l.at+28)
		}},
		{name: "lost clusters", want: "3 clusters in use that no file holds", damage: func(t *testing.T, f *os.File) {
			n := freeCluster(t, f)
			for i := range 2 {
				fatAt(t, f, i, n-2, n-1)
				fatAt(t, f, i, n-1, n)
				fatAt(t, f, i, n, endChain)
			}
		}},
		{name: "second FAT changed alone", want: "FAT copy 2 differs", damage: func(t *testing.T, f *os.File) {
			fatAt(t, f, 1, freeCluster(t, f), endChain)
		}},
		{name: "dirty flag", want: "not unmounted cleanly", damage: func(t *testing.T, f *os.File) {
			writeAt(t, f, []byte{1}, 65)
		}},
		{name: "FSInfo count", want: "FSInfo counts 7 free clusters", damage: func(t *testing.T, f *os.File) {
			writeAt(t, f, binary.LittleEndian.AppendUint32(nil, 7), 512+488)
		}},
		{name: "garbage entry", want: "garbage", damage: func(t *testing.T, f *os.File) {
			// A directory cluster Linux had not yet zeroed: an entry of
			// old file data after the real ones.
			l := lookup(t, f, "/emptydir")
			v, _ := readVolume(f)
			writeAt(t, f, []byte("\x01\x02GARBAGE!  \x3fxxxxxxxxxxxxxxxxxxxx"), v.clusterOffset(l.clusters[0])+5*entryBytes)
		}},
		{name: "a chain cut runs into a healthy file", want: "/longname1.txt: its chain has 2 clusters", damage: func(t *testing.T, f *os.File) {
			// longname1.txt's chain goes on into longname2.txt's, walked
			// after it: cutting the first must not free the second's.
			one, two := lookup(t, f, "/longname1.txt"), lookup(t, f, "/longname2.txt")
			for i := range 2 {
				fatAt(t, f, i, one.clusters[0], two.clusters[0])
			}
		}},
		{name: "a directory made when the power went", gone: []string{"/emptydir"}, want: "/emptydir: a directory whose first cluster does not start with its . and ..", damage: func(t *testing.T, f *os.File) {
			// emptydir's cluster holds old bytes: a copy of d1/d2's
			// entries, walked before the real d1/d2 (breadth first),
			// would take d3 from it.
			src, dst := lookup(t, f, "/d1/d2"), lookup(t, f, "/emptydir")
			v, _ := readVolume(f)
			b := make([]byte, v.clusterSize)
			f.ReadAt(b, v.clusterOffset(src.clusters[0]))
			writeAt(t, f, b, v.clusterOffset(dst.clusters[0]))
		}},
		{name: "a replacement cut short", want: "/extlinux/extlinux.conf: its one cluster", damage: func(t *testing.T, f *os.File) {
			// The replaced file's cluster freed, the directory still
			// naming it: the menu is kept, its bytes whole.
			l := lookup(t, f, "/extlinux/extlinux.conf")
			for i := range 2 {
				fatAt(t, f, i, l.clusters[0], free)
			}
		}},
		{name: "a delete cut short", gone: []string{"/longname2.txt"}, want: "/: 1 long-name entries that belong to no file", damage: func(t *testing.T, f *os.File) {
			// longname2.txt's short entry marked deleted and its
			// cluster freed, its long-name entry not yet.
			l := lookup(t, f, "/longname2.txt")
			writeAt(t, f, []byte{0xe5}, l.at)
			for i := range 2 {
				fatAt(t, f, i, l.clusters[0], free)
			}
		}},
		{name: "mirroring flags (ignored, as by Linux)", gone: []string{vmlinuz}, want: vmlinuz + ": damaged", damage: func(t *testing.T, f *os.File) {
			writeAt(t, f, []byte{0x81}, 40)
			writeAt(t, f, []byte{0x81}, 6*512+40) // the backup boot sector
			fatAt(t, f, 0, lookup(t, f, vmlinuz).clusters[3], free)
		}},
		{name: "directory chain broken", want: "/many: a directory whose chain is broken", damage: func(t *testing.T, f *os.File) {
			l := lookup(t, f, "/many")
			for i := range 2 {
				fatAt(t, f, i, l.clusters[len(l.clusters)-1], free)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			tree := testTree()
			addMany(tree)
			img, _ := writeImage(t, 64<<20, 0, tree, 0)
			f, err := os.OpenFile(img, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c.damage(t, f)
			before, _ := os.ReadFile(img)

			r, err := Check(f, false)
			if err != nil {
				t.Fatal(err)
			}
			var found []string
			for _, p := range r.Problems {
				found = append(found, p.String())
			}
			if !strings.Contains(strings.Join(found, "\n"), c.want) {
				t.Errorf("problems found:\n%s\nwant one saying %q", strings.Join(found, "\n"), c.want)
			}
			if after, _ := os.ReadFile(img); !bytes.Equal(before, after) {
				t.Fatal("a check without repair changed the image")
			}
			if _, err := Check(f, true); err != nil {
				t.Fatal(err)
			}
			if r, err := Check(f, false); err != nil || len(r.Problems) > 0 {
				t.Fatalf("after the repair: %v %v", r.Problems, err)
			}
			fsck(t, img)
			if c.name == "directory chain broken" {
				// Its entries past the break are lost with it: the
				// rest must read.
				for name := range tree {
					if strings.HasPrefix(name, "many/") {
						delete(tree, name)
					}
				}
				tree["many"] = &fstest.MapFile{Mode: os.ModeDir}
			}
			for _, g := range c.gone {
				delete(tree, strings.TrimPrefix(g, "/"))
			}
			extractSome(t, img, tree)
		})
	}
}

// TestUnreadableDirectory: a directory the device cannot read stops the
// check with an error and nothing changed; what it holds is not taken for
// lost clusters.
func TestUnreadableDirectory(t *testing.T) {
	tree := testTree()
	img, _ := writeImage(t, 64<<20, 0, tree, 0)
	data, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(img)
	l := lookup(t, f, "/d1/d2")
	v, _ := readVolume(f)
	f.Close()
	bad := v.clusterOffset(l.clusters[0])
	dev := &failingDevice{memDevice: memDevice{b: bytes.Clone(data)}, from: bad, to: bad + v.clusterSize}
	dev.b[65] |= 1 // dirty: there would be something to repair
	before := bytes.Clone(dev.b)
	if _, err := Check(dev, true); err == nil || !strings.Contains(err.Error(), "/d1/d2") {
		t.Fatalf("Check with /d1/d2 unreadable: %v, want an error naming it", err)
	}
	if !bytes.Equal(before, dev.b) {
		t.Fatal("Check changed the file system although a directory could not be read")
	}
}

// failingDevice fails reads that touch [from, to).
type failingDevice struct {
	memDevice
	from, to int64
}

func (d *failingDevice) ReadAt(p []byte, off int64) (int, error) {
	if off < d.to && off+int64(len(p)) > d.from {
		return 0, errors.New("input/output error")
	}
	return d.memDevice.ReadAt(p, off)
}

// extractSome is extract for a tree some of whose files may be gone: the
// ones there must be whole.
func extractSome(t *testing.T, img string, tree fstest.MapFS) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out")
	os.Mkdir(out, 0o755)
	tool(t, "mcopy", "mtools", "-s", "-n", "-m", "-i", img, "::*", out)
	for name, f := range tree {
		if f.Mode.IsDir() {
			continue
		}
		got, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			if !strings.HasPrefix(name, "many/") {
				t.Errorf("%s: %v", name, err)
			}
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("%s: content differs (%d bytes, want %d)", name, len(got), len(f.Data))
		}
	}
}

// TestCheckOtherWidths: file systems dosfstools makes, FAT12, FAT16 and
// FAT32, with files mtools copied in, check clean; with a chain cut they
// are repaired as fsck.fat agrees.
func TestCheckOtherWidths(t *testing.T) {
	for _, c := range []struct {
		bits int
		size string // in KiB, for mkfs.fat
	}{{12, "4096"}, {16, "65536"}, {32, "131072"}} {
		t.Run("FAT"+strconv.Itoa(c.bits), func(t *testing.T) {
			dir := t.TempDir()
			img := filepath.Join(dir, "fat.img")
			tool(t, "mkfs.fat", "dosfstools", "-C", "-F", strconv.Itoa(c.bits), img, c.size)
			src := filepath.Join(dir, "f")
			os.WriteFile(src, random(50_000, 7), 0o644)
			tool(t, "mmd", "mtools", "-i", img, "::/sub")
			tool(t, "mcopy", "mtools", "-i", img, src, "::/sub/a-long-file-name.bin")
			tool(t, "mcopy", "mtools", "-i", img, src, "::/KEEP.BIN")
			f, err := os.OpenFile(img, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := Check(f, false)
			if err != nil || r.Bits != c.bits || len(r.Problems) != 0 {
				t.Fatalf("fresh FAT%d: %+v %v", c.bits, r, err)
			}
			// Free the file's third cluster in every copy of the FAT.
			l := lookup(t, f, "/sub/a-long-file-name.bin")
			v, _ := readVolume(f)
			v.setEntry(l.clusters[2], free)
			for i := range v.nFATs {
				writeAt(t, f, v.fat, v.fatStart+int64(i)*v.fatSize)
			}
			r, err = Check(f, true)
			if err != nil || len(r.Problems) == 0 || !strings.Contains(r.Problems[0].String(), "/sub/a-long-file-name.bin: damaged") {
				t.Fatalf("FAT%d with a cut chain: %+v %v", c.bits, r, err)
			}
			if r, err := Check(f, false); err != nil || len(r.Problems) > 0 {
				t.Fatalf("after the repair: %v %v", r.Problems, err)
			}
			out := tool(t, "fsck.fat", "dosfstools", "-n", img)
			for _, bad := range []string{"differ", "wrong", "Fix", "invalid", "Invalid", "orphan", "Free cluster summary"} {
				if strings.Contains(out, bad) {
					t.Fatalf("fsck.fat after the repair (%q):\n%s", bad, out)
				}
			}
			got := filepath.Join(dir, "got")
			tool(t, "mcopy", "mtools", "-n", "-i", img, "::/KEEP.BIN", got)
			if a, b := readFile(t, got), readFile(t, src); !bytes.Equal(a, b) {
				t.Error("KEEP.BIN changed")
			}
		})
	}
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzCheck: whatever a power cut or a bad disk makes of a file
// system's metadata, Check does not panic, and what a repair leaves
// checks clean. The input picks one of three file systems dosfstools
// made (FAT12, FAT16, FAT32, each with files and directories mtools
// copied in) and patches bytes of it: offset (3 bytes, folded into the
// boot sector, FATs, directories and first clusters) and value.
func FuzzCheck(f *testing.F) {
	dir := f.TempDir()
	src := filepath.Join(dir, "src")
	os.WriteFile(src, random(3000, 11), 0o644)
	var bases [][]byte
	var regions []int64
	for _, fs := range []struct{ bits, kib string }{{"12", "256"}, {"16", "4200"}, {"32", "34000"}} {
		img := filepath.Join(dir, "fat"+fs.bits)
		tool(f, "mkfs.fat", "dosfstools", "-C", "-s", "1", "-F", fs.bits, img, fs.kib)
		tool(f, "mmd", "mtools", "-i", img, "::/d", "::/d/e")
		for i, name := range []string{"::/d/a-long-name.txt", "::/d/e/B.TXT", "::/C", "::/yet-another-long-name"} {
			os.WriteFile(src, random(700*(i+1), uint64(i)), 0o644)
			tool(f, "mcopy", "mtools", "-i", img, src, name)
		}
		data, err := os.ReadFile(img)
		if err != nil {
			f.Fatal(err)
		}
		v, err := readVolume(&memDevice{b: data})
		if err != nil {
			f.Fatal(err)
		}
		bases = append(bases, data)
		regions = append(regions, v.dataStart+64*v.clusterSize)
	}
	f.Add(uint8(0), []byte{})
	f.Add(uint8(1), []byte{0, 0x41, 0, 1})
	f.Add(uint8(2), []byte{0, 0x40, 0x40, 0})
	f.Fuzz(func(t *testing.T, which uint8, patches []byte) {
		k := int(which) % len(bases)
		img := &memDevice{b: bytes.Clone(bases[k])}
		for i := 0; i+4 <= len(patches); i += 4 {
			off := (int64(patches[i])<<16 | int64(patches[i+1])<<8 | int64(patches[i+2])) % regions[k]
			img.b[off] = patches[i+3]
		}
		if _, err := Check(img, true); err != nil {
			return // not a FAT file system any more, or a device error
		}
		r, err := Check(img, false)
		if err != nil || len(r.Problems) > 0 {
			t.Fatalf("after a repair: %+v %v", r.Problems, err)
		}
	})
}

// memDevice is a file system image in memory.
type memDevice struct{ b []byte }

func (m *memDevice) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(m.b)) {
		return 0, os.ErrInvalid
	}
	n := copy(p, m.b[off:])
	if n < len(p) {
		return n, os.ErrInvalid
	}
	return n, nil
}

func (m *memDevice) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m.b)) {
		return 0, os.ErrInvalid
	}
	return copy(m.b[off:], p), nil
}

// BenchmarkCheck: what checking a 256 MiB ESP (the disk images' size,
// holding the test tree) costs each time cairn mounts it, beside
// dosfstools' fsck.fat -n on the same image, the tool an operator would
// run.
func BenchmarkCheck(b *testing.B) {
	p := filepath.Join(b.TempDir(), "esp.img")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	f.Truncate(256 << 20)
	tree := testTree()
	addMany(tree)
	if _, err := Write(f, 0, Options{Size: 256 << 20, Time: epoch}, tree); err != nil {
		b.Fatal(err)
	}
	b.Run("cairn", func(b *testing.B) {
		for b.Loop() {
			if r, err := Check(f, false); err != nil || len(r.Problems) > 0 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("fsck.fat", func(b *testing.B) {
		fsck := debtest.Tool(b, "fsck.fat", "dosfstools")
		for b.Loop() {
			if out, err := exec.Command(fsck, "-n", p).CombinedOutput(); err != nil {
				b.Fatal(err, string(out))
			}
		}
	})
}
