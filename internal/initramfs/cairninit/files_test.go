package cairninit

import (
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/layout"
)

// The store's layout, as the tests make it by hand.
const (
	stateFile      = layout.StatePath
	generationsDir = layout.StoreDir + "/" + layout.GenerationsDir
)

// fakeStore makes the store layout by hand: generation directories and a
// state.json.
func fakeStore(t *testing.T, gens []int, state string) string {
	t.Helper()
	top := t.TempDir()
	for _, n := range gens {
		dir := filepath.Join(top, generationsDir, strconv.Itoa(n))
		for _, d := range []string{"sbin", "run", "tmp", "etc/cairn"} {
			if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	os.MkdirAll(filepath.Join(top, generationsDir), 0o755)
	if state != "" {
		if err := os.WriteFile(filepath.Join(top, stateFile), []byte(state), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return top
}

// superblock makes an image with a btrfs or ext4 superblock.
func superblock(fstype string, uuid [16]byte, label string) []byte {
	img := make([]byte, probeSize+4096)
	switch fstype {
	case "btrfs":
		sb := img[btrfsSuperOffset:]
		copy(sb[btrfsFsidOffset:], uuid[:])
		copy(sb[btrfsMagicOffset:], btrfsMagic)
		copy(sb[btrfsLabelOffset:], label)
	case "ext4":
		sb := img[extSuperOffset:]
		binary.LittleEndian.PutUint16(sb[extMagicOffset:], extMagic)
		copy(sb[extUUIDOffset:], uuid[:])
		copy(sb[extLabelOffset:], label)
	}
	return img
}

func TestProbe(t *testing.T) {
	uuid := [16]byte{0x2d, 0xf7, 0x10, 0xa3, 0xb7, 0x06, 0x4c, 0xee, 0x8c, 0x09, 0x21, 0x7c, 0xbd, 0xba, 0xe7, 0x91}
	for _, fstype := range []string{"btrfs", "ext4"} {
		fs, err := Probe(strings.NewReader(string(superblock(fstype, uuid, "cairn"))))
		if err != nil {
			t.Fatal(err)
		}
		want := FS{Type: fstype, UUID: "2df710a3-b706-4cee-8c09-217cbdbae791", Label: "cairn"}
		if fs != want {
			t.Errorf("%s: %+v", fstype, fs)
		}
	}
	if _, err := Probe(strings.NewReader(strings.Repeat("\x00", probeSize))); err != ErrUnknownFS {
		t.Errorf("zeros: %v", err)
	}
	if _, err := Probe(strings.NewReader("short")); err != ErrUnknownFS {
		t.Errorf("a short device: %v", err)
	}
}

// TestProbeReal probes file systems made by mkfs.btrfs and mkfs.ext4, and
// finds them through a fake /sys/class/block and /dev, as cairn-init
// does.
func TestProbeReal(t *testing.T) {
	mkbtrfs := debtest.Tool(t, "mkfs.btrfs", "btrfs-progs")
	mkext4 := debtest.Tool(t, "mkfs.ext4", "e2fsprogs")
	dev := t.TempDir()
	sys := t.TempDir()
	uuid := "5a0c2d3e-0000-4000-8000-00000000cafe"
	images := map[string][]string{
		"vda":  {mkbtrfs, "-q", "-f", "-L", "cairn-root", "-U", uuid},
		"vdb":  {mkext4, "-q", "-F", "-L", "other", "-U", "11111111-2222-4333-8444-555555555555"},
		"vdc":  {mkbtrfs, "-q", "-f", "-L", "twin"},
		"vdd":  {mkbtrfs, "-q", "-f", "-L", "twin"},
		"sr0":  nil, // no medium: size 0
		"zram": nil, // no file system
	}
	for name, mkfs := range images {
		img := filepath.Join(dev, name)
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		size := int64(128 << 20)
		if name == "sr0" {
			size = 0
		}
		f.Truncate(size)
		f.Close()
		os.MkdirAll(filepath.Join(sys, name), 0o755)
		os.WriteFile(filepath.Join(sys, name, "size"), []byte(strconv.FormatInt(size/512, 10)+"\n"), 0o644)
		if mkfs != nil {
			if out, err := exec.Command(mkfs[0], append(mkfs[1:], img)...).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v: %s", mkfs[0], err, out)
			}
		}
	}
	sc := Scanner{SysBlock: sys, Dev: dev}
	found, seen, err := sc.Find(RootSpec{UUID: strings.ToUpper(uuid)})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 1 || found[0].Path != filepath.Join(dev, "vda") || found[0].FS != (FS{Type: "btrfs", UUID: uuid, Label: "cairn-root"}) {
		t.Errorf("found %+v; saw %q", found, seen)
	}
	if len(seen) != 5 {
		t.Errorf("saw %q: want every device with a size", seen)
	}
	found, _, _ = sc.Find(RootSpec{Label: "other"})
	if len(found) != 1 || found[0].FS.Type != "ext4" || found[0].FS.UUID != "11111111-2222-4333-8444-555555555555" {
		t.Errorf("by ext4 label: %+v", found)
	}
	found, _, _ = sc.Find(RootSpec{Label: "twin"})
	if len(found) != 2 || sameFS(RootSpec{Label: "twin"}, found) == nil {
		t.Errorf("two file systems labelled twin: %+v", found)
	}
	found, _, _ = sc.Find(RootSpec{Label: "nowhere"})
	if len(found) != 0 {
		t.Errorf("found %+v for a missing label", found)
	}
	found, _, err = sc.Find(RootSpec{Path: filepath.Join(dev, "vdb")})
	if err != nil || len(found) != 1 || found[0].FS.Label != "other" {
		t.Errorf("by path: %+v %v", found, err)
	}
	if _, _, err := sc.Find(RootSpec{Path: filepath.Join(dev, "zram")}); err == nil {
		t.Error("a device without a file system was accepted")
	}
}

func TestEnsurePersist(t *testing.T) {
	top := t.TempDir()
	gen := t.TempDir()
	src := filepath.Join(gen, "var", "lib", "app")
	for _, d := range []string{"data/deep", "empty"} {
		if err := os.MkdirAll(filepath.Join(src, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(src, "data", "deep", "file"), []byte("seed"), 0o640)
	os.Symlink("data/deep/file", filepath.Join(src, "link"))
	os.Chmod(filepath.Join(src, "data"), 0o750)
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chtimes(filepath.Join(src, "data", "deep", "file"), old, old)
	if os.Geteuid() == 0 {
		os.Lchown(filepath.Join(src, "data", "deep", "file"), 123, 456)
	}
	// An interrupted seed from an earlier boot.
	leftover := layout.PersistPath(top, "/var/lib/app") + ".new"
	os.MkdirAll(filepath.Join(leftover, "half"), 0o755)

	dir, created, err := EnsurePersist(top, gen, "/var/lib/app")
	if err != nil {
		t.Fatal(err)
	}
	if !created || dir != filepath.Join(top, "@cairn", "persist", "var-lib-app") {
		t.Fatalf("dir %s created %v", dir, created)
	}
	if _, err := os.Stat(leftover); !os.IsNotExist(err) {
		t.Errorf("the interrupted seed is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "half")); !os.IsNotExist(err) {
		t.Error("the interrupted seed's content was kept")
	}
	data, err := os.ReadFile(filepath.Join(dir, "link"))
	if err != nil || string(data) != "seed" {
		t.Errorf("seeded link: %q %v", data, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "data", "deep", "file"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 || !fi.ModTime().Equal(old) {
		t.Errorf("seeded file: %v %v", fi.Mode(), fi.ModTime())
	}
	if st := fi.Sys().(*syscall.Stat_t); os.Geteuid() == 0 && (st.Uid != 123 || st.Gid != 456) {
		t.Errorf("seeded file owner %d:%d", st.Uid, st.Gid)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "data")); fi.Mode().Perm() != 0o750 {
		t.Errorf("seeded directory mode %v", fi.Mode())
	}
	if _, err := os.Stat(filepath.Join(dir, "empty")); err != nil {
		t.Error(err)
	}

	// Later boots keep what is there, whatever the generation has.
	os.WriteFile(filepath.Join(dir, "state"), []byte("kept"), 0o644)
	os.RemoveAll(src)
	dir2, created, err := EnsurePersist(top, gen, "/var/lib/app")
	if err != nil || created || dir2 != dir {
		t.Fatalf("second boot: %s %v %v", dir2, created, err)
	}
	if data, _ := os.ReadFile(filepath.Join(dir, "state")); string(data) != "kept" {
		t.Error("persistent data lost")
	}

	// A path the generation lacks starts empty.
	dir3, created, err := EnsurePersist(top, gen, "/srv/new")
	if err != nil || !created {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(dir3); len(entries) != 0 {
		t.Errorf("new persistent directory not empty: %v", entries)
	}
}

func TestFindInit(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"bin", "sbin", "usr/bin", "etc"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	os.WriteFile(filepath.Join(root, "bin/busybox"), []byte("#!"), 0o755)
	os.WriteFile(filepath.Join(root, "etc/notexec"), []byte("x"), 0o644)
	os.Symlink("/bin/busybox", filepath.Join(root, "sbin/init"))         // absolute: inside root
	os.Symlink("../../bin/busybox", filepath.Join(root, "usr/bin/init")) // relative
	os.Symlink("../../../../../../bin/busybox", filepath.Join(root, "sbin/deep"))
	os.Symlink("/etc/notexec", filepath.Join(root, "sbin/plain"))
	os.Symlink("loop2", filepath.Join(root, "sbin/loop1"))
	os.Symlink("loop1", filepath.Join(root, "sbin/loop2"))
	// A link pointing at a host path that exists outside root must not
	// count.
	os.Symlink("/usr/bin/env", filepath.Join(root, "sbin/host"))

	for _, ok := range []string{"/sbin/init", "/usr/bin/init", "/sbin/deep", "/bin/busybox"} {
		if got, err := findInit(root, []string{ok}); err != nil || got != ok {
			t.Errorf("findInit(%s) = %q, %v", ok, got, err)
		}
	}
	for _, bad := range []string{"/sbin/plain", "/sbin/loop1", "/sbin/host", "/sbin/none", "sbin/init", "/etc"} {
		if got, err := findInit(root, []string{bad}); err == nil {
			t.Errorf("findInit(%s) = %q", bad, got)
		}
	}
	got, err := findInit(root, []string{"/sbin/none", "/usr/bin/init"})
	if err != nil || got != "/usr/bin/init" {
		t.Errorf("second candidate: %q %v", got, err)
	}
	if _, err := findInit(root, []string{"/a", "/b"}); err == nil || !strings.Contains(err.Error(), "/a") || !strings.Contains(err.Error(), "/b") {
		t.Errorf("error names neither candidate: %v", err)
	}
}

func TestModuleOrder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(`kernel/fs/btrfs/btrfs.ko: kernel/crypto/xor.ko kernel/lib/libcrc32c.ko
kernel/crypto/xor.ko:
kernel/lib/libcrc32c.ko:
kernel/crypto/xxhash_generic.ko:
kernel/drivers/block/virtio_blk.ko: kernel/drivers/virtio/virtio.ko
kernel/drivers/virtio/virtio.ko:
`), 0o644)
	os.WriteFile(filepath.Join(dir, "modules.softdep"), []byte("softdep btrfs pre: xxhash_generic\n"), 0o644)
	got, err := ModuleOrder(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range got {
		rel, _ := filepath.Rel(dir, p)
		names = append(names, rel)
	}
	want := "kernel/lib/libcrc32c.ko kernel/crypto/xor.ko kernel/crypto/xxhash_generic.ko kernel/fs/btrfs/btrfs.ko kernel/drivers/virtio/virtio.ko kernel/drivers/block/virtio_blk.ko"
	if strings.Join(names, " ") != want {
		t.Errorf("order %q\nwant %s", names, want)
	}
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte("kernel/a.ko.xz:\n"), 0o644)
	if _, err := ModuleOrder(dir); err == nil {
		t.Error("a compressed module was accepted")
	}
	if _, err := ModuleOrder(t.TempDir()); err == nil {
		t.Error("no modules.dep accepted")
	}
}
