package gpt

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

const mib = 1 << 20

func testTable() *Table {
	return &Table{
		DiskGUID: MustParseGUID("11111111-2222-4333-8444-555555555555"),
		BootCode: bytes.Repeat([]byte{0xfa}, 440),
		Partitions: []Partition{
			{Number: 1, Type: TypeESP, GUID: MustParseGUID("AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE"), First: 2048, Last: 2048 + 64*2048 - 1, Attributes: AttrLegacyBIOSBootable, Name: "ESP"},
			{Number: 2, Type: TypeLinuxData, GUID: MustParseGUID("01234567-89AB-4DEF-8123-456789ABCDEF"), First: 2048 + 64*2048, Last: 99*2048 - 1, Name: "cairn"},
		},
	}
}

func writeImage(t *testing.T, size int64, tab *Table) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	if err := tab.Write(f, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func readImage(t *testing.T, p string) *Table {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	tab, err := Read(f, fi.Size(), 0)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestGUID(t *testing.T) {
	g := TypeESP
	if g.String() != "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" {
		t.Fatal(g)
	}
	// The UEFI specification's on-disk bytes of the ESP type.
	want := []byte{0x28, 0x73, 0x2a, 0xc1, 0x1f, 0xf8, 0xd2, 0x11, 0xba, 0x4b, 0x00, 0xa0, 0xc9, 0x3e, 0xc9, 0x3b}
	if b := g.encode(); !bytes.Equal(b[:], want) {
		t.Fatalf("encoded % x", b)
	}
	if decodeGUID(want) != g {
		t.Fatal("decode")
	}
	if _, err := ParseGUID("nonsense"); err == nil {
		t.Fatal("no error for a bad GUID")
	}
	a, b := DerivedGUID([]byte("seed"), "esp"), DerivedGUID([]byte("seed"), "esp")
	if a != b || a == DerivedGUID([]byte("seed"), "root") || a == DerivedGUID([]byte("other"), "esp") {
		t.Fatal("derived GUIDs are not a function of seed and name")
	}
	if a[6]>>4 != 4 || a[8]>>6 != 2 {
		t.Fatalf("%s is not a version 4 GUID", a)
	}
}

func TestRoundTrip(t *testing.T) {
	tab := testTable()
	p := writeImage(t, 100*mib, tab)
	got := readImage(t, p)
	if got.DiskGUID != tab.DiskGUID || len(got.Partitions) != 2 || got.FirstUsable != 34 || got.LastUsable != 100*2048-34 || got.Alternate != 100*2048-1 {
		t.Fatalf("read %+v", got)
	}
	for i, p := range got.Partitions {
		if p != tab.Partitions[i] {
			t.Errorf("partition %d: read %+v, wrote %+v", i+1, p, tab.Partitions[i])
		}
	}
	if !bytes.Equal(got.BootCode, tab.BootCode) {
		t.Error("boot code changed")
	}

	// The backup alone is enough.
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	f.WriteAt(make([]byte, 512), 512)
	f.Close()
	if got := readImage(t, p); len(got.Partitions) != 2 || got.Alternate != 1 {
		t.Fatalf("from the backup: %+v", got)
	}
}

func TestWriteRefuses(t *testing.T) {
	for name, change := range map[string]func(*Table){
		"overlap":     func(t *Table) { t.Partitions[1].First = t.Partitions[0].Last },
		"beyond":      func(t *Table) { t.Partitions[1].Last = 200 * 2048 },
		"before":      func(t *Table) { t.Partitions[0].First = 10 },
		"number":      func(t *Table) { t.Partitions[1].Number = 1 },
		"no type":     func(t *Table) { t.Partitions[1].Type = GUID{} },
		"long name":   func(t *Table) { t.Partitions[1].Name = strings.Repeat("x", 37) },
		"boot code":   func(t *Table) { t.BootCode = make([]byte, 441) },
		"sector size": func(t *Table) { t.SectorSize = 1024 },
	} {
		tab := testTable()
		change(tab)
		f, _ := os.Create(filepath.Join(t.TempDir(), "img"))
		f.Truncate(100 * mib)
		if err := tab.Write(f, 100*mib); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
		f.Close()
	}
}

// sgdisk (gdisk) checks what Write and Grow wrote.
func sgdisk(t *testing.T, args ...string) string {
	t.Helper()
	tool := debtest.Tool(t, "sgdisk", "gdisk")
	out, err := exec.Command(tool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("sgdisk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestSgdiskAgrees(t *testing.T) {
	tab := testTable()
	p := writeImage(t, 100*mib, tab)
	if out := sgdisk(t, "-v", p); !strings.Contains(out, "No problems found") {
		t.Fatalf("sgdisk -v:\n%s", out)
	}
	out := sgdisk(t, "-i", "1", p)
	for _, want := range []string{"C12A7328-F81F-11D2-BA4B-00A0C93EC93B", "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE", "First sector: 2048", "Attribute flags: 0000000000000004", "Partition name: 'ESP'"} {
		if !strings.Contains(out, want) {
			t.Errorf("sgdisk -i 1 lacks %q:\n%s", want, out)
		}
	}
	out = sgdisk(t, "-p", p)
	if !strings.Contains(out, "11111111-2222-4333-8444-555555555555") {
		t.Errorf("sgdisk -p: disk GUID missing:\n%s", out)
	}
}

func TestGrow(t *testing.T) {
	tab := testTable()
	p := writeImage(t, 100*mib, tab)
	if err := os.Truncate(p, 300*mib+512*3); err != nil { // not a whole MiB: the end is aligned down
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size := int64(300*mib + 512*3)
	res, err := Grow(f, size, 0, 2, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Moved || !res.Grown() || res.New.Last != 299*2048-1 || res.New.First != res.Old.First {
		t.Fatalf("grow: %+v", res)
	}
	if out := sgdisk(t, "-v", p); !strings.Contains(out, "No problems found") {
		t.Fatalf("sgdisk -v after growing:\n%s", out)
	}
	got := readImage(t, p)
	if q, _ := got.Partition(2); q.Last != res.New.Last || got.Alternate != uint64(size/512)-1 {
		t.Fatalf("after growing: %+v", got)
	}
	if !bytes.Equal(got.BootCode, tab.BootCode) {
		t.Error("boot code lost")
	}
	// The old backup header is gone.
	old := make([]byte, 8)
	f.ReadAt(old, (100*2048-1)*512)
	if string(old) == signature {
		t.Error("the old backup header is still there")
	}
	// Again: nothing to do.
	res, err = Grow(f, size, 0, 2, 2048)
	if err != nil || res.Moved || res.Grown() {
		t.Fatalf("second grow: %+v, %v", res, err)
	}
	// Partition 1 is not the last one: only the backup would move.
	if res, err := Grow(f, size, 0, 1, 2048); err != nil || res.Grown() {
		t.Fatalf("grow partition 1: %+v, %v", res, err)
	}
	if _, err := Grow(f, size, 0, 3, 2048); err == nil {
		t.Fatal("no error for a missing partition")
	}
}

func TestGrowShrunkDisk(t *testing.T) {
	p := writeImage(t, 100*mib, testTable())
	os.Truncate(p, 50*mib)
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	defer f.Close()
	_, err := Grow(f, 50*mib, 0, 2, 2048)
	if err == nil {
		t.Fatal("no error on a disk smaller than its table")
	}
	t.Log(err)
}

// failingDevice stops writing after a number of writes, as a crash would.
type failingDevice struct {
	*os.File
	left int
}

var errCrash = errors.New("crash")

func (d *failingDevice) WriteAt(b []byte, off int64) (int, error) {
	if d.left == 0 {
		return 0, errCrash
	}
	d.left--
	return d.File.WriteAt(b, off)
}

// TestGrowCrash stops Grow after every write: the disk always holds a
// valid table, the old one or the new one.
func TestGrowCrash(t *testing.T) {
	for writes := 0; ; writes++ {
		p := writeImage(t, 100*mib, testTable())
		os.Truncate(p, 200*mib)
		f, _ := os.OpenFile(p, os.O_RDWR, 0)
		_, err := Grow(&failingDevice{File: f, left: writes}, 200*mib, 0, 2, 2048)
		f.Close()
		got := readImage(t, p)
		q, _ := got.Partition(2)
		if q.Last != 99*2048-1 && q.Last != 199*2048-1 {
			t.Fatalf("after %d writes: partition 2 ends at %d", writes, q.Last)
		}
		if err == nil {
			if q.Last != 199*2048-1 {
				t.Fatal("finished, but the partition did not grow")
			}
			break
		}
		if !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
	}
}

// TestGrowNoGPT: an MBR disk gives ErrNoGPT, which callers take as
// "nothing to grow", and is left as it is.
func TestGrowNoGPT(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mbr.img")
	mbr := make([]byte, 512)
	mbr[446+4], mbr[510], mbr[511] = 0x83, 0x55, 0xaa
	os.WriteFile(p, mbr, 0o644)
	os.Truncate(p, 10*mib)
	f, _ := os.OpenFile(p, os.O_RDWR, 0)
	defer f.Close()
	if _, err := Grow(f, 10*mib, 0, 1, 2048); !errors.Is(err, ErrNoGPT) {
		t.Fatalf("got %v, want ErrNoGPT", err)
	}
	got := make([]byte, 512)
	f.ReadAt(got, 0)
	if !bytes.Equal(got, mbr) {
		t.Fatal("the MBR changed")
	}
}
