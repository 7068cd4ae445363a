package btrfsnorm

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

var (
	testEpoch = time.Date(2024, 3, 9, 12, 0, 0, 0, time.UTC)
	testSeed  = []byte("btrfsnorm test")
)

const (
	testUUID = "5b0c5bd3-2f6e-4d7c-9b1a-6f3e2d1c0b9a"
	testSize = 256 << 20
)

// testTree makes a directory tree with a little of everything: files
// inline and not, a hard link, a symbolic link, an extended attribute,
// a file newer than the epoch and one older.
func testTree(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	r := rand.New(rand.NewPCG(7, 8))
	blob := make([]byte, 3<<20)
	for i := range blob {
		blob[i] = byte(r.Uint32())
	}
	files := map[string][]byte{
		"etc/hostname": []byte("test\n"),
		"usr/bin/big":  blob,
		"var/lib/seed": []byte("seed\n"),
		"new":          []byte("written during the build\n"),
	}
	for name, data := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.Link(filepath.Join(root, "usr/bin/big"), filepath.Join(root, "usr/bin/big-link")))
	must(os.Symlink("big", filepath.Join(root, "usr/bin/big-symlink")))
	must(unix.Setxattr(filepath.Join(root, "etc/hostname"), "user.test", []byte("x"), 0))
	old := unix.NsecToTimespec(time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	for _, p := range []string{"etc/hostname", "usr/bin/big", "var/lib/seed", "usr/bin/big-symlink", "etc", "usr/bin", "usr", "var/lib", "var"} {
		must(unix.UtimesNanoAt(unix.AT_FDCWD, filepath.Join(root, p), []unix.Timespec{old, old}, unix.AT_SYMLINK_NOFOLLOW))
	}
	return root
}

// mkfsImage makes a btrfs image file holding root, written by mkfs.btrfs
// alone (--rootdir), which needs no privileges.
func mkfsImage(t testing.TB, root string, args ...string) string {
	t.Helper()
	mkfs := debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	img := filepath.Join(t.TempDir(), "fs.img")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(img, testSize); err != nil {
		t.Fatal(err)
	}
	args = append([]string{"-q", "-U", testUUID, "-L", "test", "--rootdir", root}, args...)
	if out, err := exec.Command(mkfs, append(args, img)...).CombinedOutput(); err != nil {
		t.Fatalf("mkfs.btrfs %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return img
}

func normalizeFile(t testing.TB, img string, opts Options) (Report, error) {
	t.Helper()
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return Normalize(f, 0, fi.Size(), opts)
}

func fileSum(t testing.TB, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// btrfsCheck runs `btrfs check --readonly` on a file system.
func btrfsCheck(t testing.TB, img string) {
	t.Helper()
	out, err := exec.Command(debtest.Tool(t, "btrfs", "btrfs-progs"), "check", "--readonly", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "no error found") {
		t.Errorf("btrfs check --readonly %s: %v\n%s", img, err, out)
	}
}

func inspect(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(debtest.Tool(t, "btrfs", "btrfs-progs"), append([]string{"inspect-internal"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("btrfs inspect-internal %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func uuidText(u uuid) string {
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

var timeLine = regexp.MustCompile(`(?m)^\s+([acmo]time|[sr]time) (-?\d+)\.(\d+) `)

// checkDump checks what dump-tree and dump-super show of a normalized
// file system: the derived identifiers, no time after the epoch, no
// change counter.
func checkDump(t testing.TB, img string, seed []byte) {
	t.Helper()
	tree := inspect(t, "dump-tree", img)
	super := inspect(t, "dump-super", "-f", img)
	chunk, dev := uuidText(derive(seed, "btrfs chunk tree")), uuidText(derive(seed, "btrfs device 1"))
	for _, want := range []string{"dev_item.uuid\t\t" + dev, "dev_uuid " + dev} {
		if !strings.Contains(super, want) {
			t.Errorf("dump-super lacks %q:\n%s", want, super)
		}
	}
	for _, m := range regexp.MustCompile(`chunk uuid (\S+)`).FindAllStringSubmatch(tree, -1) {
		if m[1] != chunk {
			t.Fatalf("a tree block has chunk tree UUID %s, want %s", m[1], chunk)
		}
	}
	if !strings.Contains(tree, "chunk_tree_uuid "+chunk) {
		t.Error("no device extent has the derived chunk tree UUID")
	}
	mtime := ""
	for _, m := range timeLine.FindAllStringSubmatch(tree, -1) {
		sec, _ := strconv.ParseInt(m[2], 10, 64)
		if sec > testEpoch.Unix() || (m[1] == "ctime" || m[1] == "otime") && sec != 0 && sec != testEpoch.Unix() {
			t.Fatalf("%s %s.%s", m[1], m[2], m[3])
		}
		// dump-tree prints an inode's atime, ctime, mtime, otime.
		switch m[1] {
		case "atime":
			mtime = m[2] + "." + m[3]
		case "mtime":
			if m[2]+"."+m[3] != mtime {
				t.Fatalf("an inode's access time %s is not its modification time %s.%s", mtime, m[2], m[3])
			}
		}
	}
	if regexp.MustCompile(`(?m)^\s+sequence [1-9][0-9]* flags`).MatchString(tree) {
		t.Error("an inode kept its change counter")
	}
}

// TestNormalizeMkfs makes a tree into a btrfs twice with mkfs.btrfs
// (random chunk tree and device UUIDs, its clock's times, the source's
// change times) and checks that the normalized images are identical,
// valid, carry the derived identifiers and clamped times, and that
// normalizing again changes nothing. (One tree for both: mkfs.btrfs
// copies in the order the source's directories list their entries.)
func TestNormalizeMkfs(t *testing.T) {
	root := testTree(t)
	a := mkfsImage(t, root)
	b := mkfsImage(t, root)
	if fileSum(t, a) == fileSum(t, b) {
		t.Fatal("two mkfs.btrfs runs gave identical images; the test proves nothing")
	}
	opts := Options{Seed: testSeed, Epoch: testEpoch, Since: time.Now().Add(-time.Hour)}
	for _, img := range []string{a, b} {
		rep, err := normalizeFile(t, img, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", filepath.Base(filepath.Dir(img)), rep)
		if rep.Subvolumes != 1 || rep.Inodes < 10 || rep.TreeBlocks == 0 {
			t.Errorf("report %+v", rep)
		}
	}
	sum := fileSum(t, a)
	if got := fileSum(t, b); got != sum {
		t.Fatalf("normalized images differ: %s, %s", sum, got)
	}
	btrfsCheck(t, a)
	checkDump(t, a, testSeed)

	if _, err := normalizeFile(t, a, opts); err != nil {
		t.Fatal(err)
	}
	if fileSum(t, a) != sum {
		t.Error("normalizing a normalized image changed it")
	}

	other := Options{Seed: []byte("another seed"), Epoch: testEpoch}
	if _, err := normalizeFile(t, b, other); err != nil {
		t.Fatal(err)
	}
	if fileSum(t, b) == sum {
		t.Error("another seed gave the same image")
	}
	btrfsCheck(t, b)
	checkDump(t, b, other.Seed)
}

// TestNormalizeRefuses: what Normalize does not know, it refuses before
// writing.
func TestNormalizeRefuses(t *testing.T) {
	root := testTree(t)
	opts := Options{Seed: testSeed, Epoch: testEpoch}

	img := mkfsImage(t, root, "--csum", "xxhash")
	sum := fileSum(t, img)
	if _, err := normalizeFile(t, img, opts); err == nil || !strings.Contains(err.Error(), "checksum type xxhash64: only crc32c") {
		t.Errorf("xxhash: %v", err)
	}
	if fileSum(t, img) != sum {
		t.Error("a refused file system was changed")
	}

	img = mkfsImage(t, root)
	for _, c := range []struct {
		opts Options
		want string
	}{
		{Options{Epoch: testEpoch}, "no seed"},
		{Options{Seed: testSeed}, "no epoch"},
	} {
		if _, err := normalizeFile(t, img, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.opts, err, c.want)
		}
	}
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := Normalize(f, 0, testSize/2, opts); err == nil || !strings.Contains(err.Error(), "its partition") {
		t.Errorf("a partition smaller than the file system: %v", err)
	}
	if _, err := Normalize(f, 1<<20, testSize-1<<20, opts); err == nil || !strings.Contains(err.Error(), "not btrfs") {
		t.Errorf("at the wrong offset: %v", err)
	}

	// A tree block with a bad checksum: the root tree's.
	sb := make([]byte, superSize)
	if _, err := f.ReadAt(sb, superOffset); err != nil {
		t.Fatal(err)
	}
	var m chunkMap
	m.devid = u64(sb, sbDevItem+devItemDevid)
	if err := sysChunks(sb, m.add); err != nil {
		t.Fatal(err)
	}
	phys, err := m.physical(u64(sb, sbChunkRoot), 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range phys {
		c := make([]byte, 1)
		if _, err := f.ReadAt(c, int64(p)+200); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{c[0] ^ 0xff}, int64(p)+200); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Normalize(f, 0, testSize, opts); err == nil || !strings.Contains(err.Error(), "bad checksum") {
		t.Errorf("a corrupt chunk tree: %v", err)
	}
}

// TestClock: the time rule.
func TestClock(t *testing.T) {
	since := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := clock{epoch: testEpoch, since: since}
	for _, tc := range []struct {
		in, want time.Time
	}{
		{time.Unix(0, 0), time.Unix(0, 0)},
		{time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC), time.Date(2020, 1, 2, 3, 4, 5, 6, time.UTC)},
		{testEpoch, testEpoch},
		{testEpoch.Add(time.Nanosecond), testEpoch},
		{since.Add(time.Hour), testEpoch},
	} {
		b := make([]byte, timespecSize)
		put64(b, 0, uint64(tc.in.Unix()))
		b[8], b[9], b[10], b[11] = byte(tc.in.Nanosecond()), byte(tc.in.Nanosecond()>>8), byte(tc.in.Nanosecond()>>16), byte(tc.in.Nanosecond()>>24)
		c.fix(b, 0)
		if got := time.Unix(int64(u64(b, 0)), int64(u32(b, 8))); !got.Equal(tc.want) {
			t.Errorf("%v: %v, want %v", tc.in, got, tc.want)
		}
	}
	// An epoch in the future: what the build stamped becomes it all the same.
	future := clock{epoch: since.Add(24 * time.Hour), since: since}
	b := make([]byte, timespecSize)
	put64(b, 0, uint64(since.Add(time.Minute).Unix()))
	future.fix(b, 0)
	if got := int64(u64(b, 0)); got != future.epoch.Unix() {
		t.Errorf("with a future epoch, a build time became %d", got)
	}
}

// TestUUIDLeaf: re-keying the UUID tree's entries keeps the leaf sorted
// and its data with its keys.
func TestUUIDLeaf(t *testing.T) {
	old := []uuid{{0xff, 1}, {0x01, 2}, {0x80, 3}}
	n := &normalizer{subvols: map[uuid]uuid{}}
	b := make([]byte, 4096)
	end := len(b)
	for i, u := range old {
		n.subvols[u] = derive(testSeed, fmt.Sprint(i))
		k := key{objectid: u64(u[:], 0), typ: keyUUIDSubvol, offset: u64(u[:], 8)}
		end -= 8
		putKey(b, hdrSize+i*itemSize, k)
		put64(b, end, uint64(256+i))
		b[hdrSize+i*itemSize+keySize] = byte(end - hdrSize)
		b[hdrSize+i*itemSize+keySize+1] = byte((end - hdrSize) >> 8)
		b[hdrSize+i*itemSize+keySize+4] = 8
	}
	b[hdrNritems] = byte(len(old))
	its, err := items(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := n.fixUUIDLeaf(b, its); err != nil {
		t.Fatal(err)
	}
	its, err = items(b)
	if err != nil {
		t.Fatal(err)
	}
	for i, it := range its {
		if i > 0 && its[i-1].key.compare(it.key) >= 0 {
			t.Errorf("items %d and %d out of order", i-1, i)
		}
		id := u64(b, it.off) - 256
		want := n.subvols[old[id]]
		if it.key.objectid != u64(want[:], 0) || it.key.offset != u64(want[:], 8) {
			t.Errorf("subvolume %d's entry has key %+v", 256+id, it.key)
		}
	}
}

// BenchmarkNormalize normalizes a 256 MiB btrfs holding 48 MiB in 300
// files, the shape of the disk boot test's store (mkfs.btrfs writes it,
// so no root is needed; every iteration does the whole work again: all
// tree blocks rewritten, all free space read).
func BenchmarkNormalize(b *testing.B) {
	root := b.TempDir()
	r := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 160<<10)
	for i := range 300 {
		for j := range data {
			data[j] = byte(r.Uint32())
		}
		p := filepath.Join(root, fmt.Sprintf("d%02d/f%03d", i/20, i))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	img := mkfsImage(b, root)
	opts := Options{Seed: testSeed, Epoch: testEpoch}
	for b.Loop() {
		if _, err := normalizeFile(b, img, opts); err != nil {
			b.Fatal(err)
		}
	}
}
