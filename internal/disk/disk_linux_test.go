package disk

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/disk/fat"
	"github.com/cairnlinux/cairn/internal/disk/gpt"
	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

const mib = 1 << 20

func requireRoot(t *testing.T) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	_, err := os.Stat("/dev/loop-control")
	testutil.Require(t, err == nil, "/dev/loop-control (loop devices)")
}

func sparse(t *testing.T, size int64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		t.Fatal(err)
	}
	return p
}

func attach(t *testing.T, backing string, off, size int64) *Loop {
	t.Helper()
	l, err := AttachLoop(backing, off, size)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := l.Detach(); err != nil {
			t.Error(err)
		}
	})
	return l
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

func mount(t *testing.T, dev, fstype, opts string) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount(dev, dir, fstype, 0, opts); err != nil {
		t.Fatalf("mount %s: %v", dev, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
			unix.Unmount(dir, unix.MNT_DETACH)
		}
	})
	return dir
}

// gptDisk makes an image with a GPT, a FAT ESP and a btrfs partition.
func gptDisk(t *testing.T) string {
	t.Helper()
	img := sparse(t, 400*mib)
	f, err := os.OpenFile(img, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tab := &gpt.Table{Partitions: []gpt.Partition{
		{Number: 1, Type: gpt.TypeESP, First: 2048, Last: 2048 + 64*2048 - 1, Name: "ESP"},
		{Number: 2, Type: gpt.TypeLinuxData, First: 65 * 2048, Last: 399*2048 - 1, Name: "cairn"},
	}}
	if err := tab.Write(f, 400*mib); err != nil {
		t.Fatal(err)
	}
	if _, err := fat.Write(f, mib, fat.Options{Size: 64 * mib, Label: "CAIRN-ESP", VolumeID: 0xdeadbeef}, fstest.MapFS{"a": {Data: []byte("a")}}); err != nil {
		t.Fatal(err)
	}
	l := attach(t, img, 65*mib, 334*mib)
	run(t, debtest.Tool(t, "mkfs.btrfs", "btrfs-progs"), "-q", "-L", "store", "-U", "01234567-89ab-4cde-8f01-23456789abcd", l.Dev)
	l.Detach()
	return img
}

func signatures(t *testing.T, path string) []Signature {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	size, err := Size(f)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := Signatures(f, size)
	if err != nil {
		t.Fatal(err)
	}
	return sigs
}

func TestSignatures(t *testing.T) {
	requireRoot(t)
	img := gptDisk(t)
	var got []string
	for _, s := range signatures(t, img) {
		got = append(got, s.String())
	}
	want := []string{
		"a GPT partition table",
		`a vfat file system labelled "CAIRN-ESP" (UUID DEAD-BEEF) in partition 1`,
		`a btrfs file system labelled "store" (UUID 01234567-89ab-4cde-8f01-23456789abcd) in partition 2`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("signatures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A whole-device ext4, and an empty device.
	plain := sparse(t, 64*mib)
	run(t, debtest.Tool(t, "mkfs.ext4", "e2fsprogs"), "-q", "-L", "data", plain)
	if s := signatures(t, plain); len(s) != 1 || s[0].Kind != "ext4" || s[0].Label != "data" {
		t.Fatalf("ext4: %v", s)
	}
	if s := signatures(t, sparse(t, 64*mib)); len(s) != 0 {
		t.Fatalf("empty: %v", s)
	}
}

func TestInUse(t *testing.T) {
	requireRoot(t)
	img := sparse(t, 200*mib)
	l := attach(t, img, 0, 0)
	if why, err := InUse(l.Dev); err != nil || len(why) != 0 {
		t.Fatalf("a fresh loop device: %v, %v", why, err)
	}
	run(t, debtest.Tool(t, "mkfs.btrfs", "btrfs-progs"), "-q", l.Dev)
	mnt := mount(t, l.Dev, "btrfs", "")
	why, err := InUse(l.Dev)
	if err != nil || len(why) != 1 || !strings.Contains(why[0], "is mounted on "+mnt) {
		t.Fatalf("mounted: %v, %v", why, err)
	}
	// A loop device over it counts too.
	inner := attach(t, l.Dev, mib, mib)
	why, _ = InUse(l.Dev)
	if !strings.Contains(strings.Join(why, "\n"), "backs the loop device "+inner.Dev) {
		t.Fatalf("loop over it: %v", why)
	}
	if _, err := InUse(img); err == nil {
		t.Fatal("InUse of a regular file: no error")
	}
}

// TestGrowFileSystem grows a btrfs that fills a whole (loop) device
// after the device grew: step 2 of Grow. (Partitions of loop devices are
// not available on every machine; the boot test grows a partition.)
func TestGrowFileSystem(t *testing.T) {
	requireRoot(t)
	img := sparse(t, 300*mib)
	l := attach(t, img, 0, 0)
	run(t, debtest.Tool(t, "mkfs.btrfs", "btrfs-progs"), "-q", l.Dev)
	mnt := mount(t, l.Dev, "btrfs", "")
	res, err := Grow(l.Dev, mnt)
	if err != nil || res.Changed() {
		t.Fatalf("nothing to grow: %+v, %v", res, err)
	}
	if err := os.Truncate(img, 700*mib); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(l.Dev)
	err = unix.IoctlSetInt(int(f.Fd()), unix.LOOP_SET_CAPACITY, 0)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	res, err = Grow(l.Dev, mnt)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(res)
	if res.FSBefore != 300*mib || res.FSAfter != 700*mib || res.Partition != 0 {
		t.Fatalf("%+v", res)
	}
	var st unix.Statfs_t
	unix.Statfs(mnt, &st)
	if total := int64(st.Blocks) * st.Bsize; total < 600*mib {
		t.Fatalf("statfs says %d bytes after growing", total)
	}
	if res, err := Grow(l.Dev, mnt); err != nil || res.Changed() {
		t.Fatalf("again: %+v, %v", res, err)
	}
}
