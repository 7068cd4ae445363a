package e2e

import (
	"encoding/binary"
	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A BIOS disk as Alpine installs one: an MBR with syslinux's boot code,
// partition 1 an ext4 /boot holding extlinux, partition 2 the btrfs file
// system whose top level holds the cairn store.
const (
	mib       = 1 << 20
	bootStart = 1 * mib
	bootSize  = 64 * mib
	rootStart = bootStart + bootSize
	diskSize  = 1024 * mib
	rootLabel = "cairn-e2e"
)

type disk struct {
	t     *testing.T
	image string
	// boot and top are where the partitions are mounted while attached.
	boot, top string
	detachFn  func()
}

// newDisk makes the image: partition table, file systems, extlinux.
func newDisk(t *testing.T) *disk {
	t.Helper()
	image := filepath.Join(t.TempDir(), "disk.img")
	f, err := os.Create(image)
	if err != nil {
		t.Fatal(err)
	}
	mbr, err := os.ReadFile("/usr/lib/syslinux/mbr/mbr.bin")
	if err != nil {
		t.Fatalf("syslinux's MBR boot code (Debian package syslinux-common): %v", err)
	}
	writeMBR(t, f, mbr)
	if err := f.Truncate(diskSize); err != nil {
		t.Fatal(err)
	}
	f.Close()

	d := &disk{t: t, image: image, boot: filepath.Join(t.TempDir(), "boot"), top: filepath.Join(t.TempDir(), "top")}
	os.Mkdir(d.boot, 0o755)
	os.Mkdir(d.top, 0o755)
	bootDev, rootDev := d.loops()
	e2etest.Run(t, "mkfs.ext4", "-q", "-O", "^64bit", "-L", "cairn-boot", bootDev)
	e2etest.Run(t, "mkfs.btrfs", "-q", "-L", rootLabel, rootDev)
	d.detach()
	d.attach()
	if err := os.MkdirAll(filepath.Join(d.boot, "extlinux"), 0o755); err != nil {
		t.Fatal(err)
	}
	e2etest.RunNoSync(t, "extlinux", "--install", filepath.Join(d.boot, "extlinux"))
	return d
}

// writeMBR writes the disk's master boot record to f: the boot code
// (its first 440 bytes at most), an active Linux partition for /boot and
// one for the store after it, up to the end of the disk.
func writeMBR(t *testing.T, f *os.File, code []byte) {
	t.Helper()
	sector := make([]byte, 512)
	copy(sector, code[:min(len(code), 440)])
	entry := func(i int, active bool, start, size int64) {
		e := sector[446+16*i:]
		if active {
			e[0] = 0x80
		}
		copy(e[1:4], []byte{0xfe, 0xff, 0xff}) // CHS beyond reach: use the LBA fields
		e[4] = 0x83                            // Linux
		copy(e[5:8], []byte{0xfe, 0xff, 0xff})
		binary.LittleEndian.PutUint32(e[8:], uint32(start/512))
		binary.LittleEndian.PutUint32(e[12:], uint32(size/512))
	}
	entry(0, true, bootStart, bootSize)
	entry(1, false, rootStart, diskSize-rootStart)
	sector[510], sector[511] = 0x55, 0xaa
	if _, err := f.WriteAt(sector, 0); err != nil {
		t.Fatal(err)
	}
}

// loops attaches a loop device to each partition (this machine's kernel
// does not scan partitions of loop devices).
func (d *disk) loops() (bootDev, rootDev string) {
	t := d.t
	t.Helper()
	attach := func(off, size int64) string {
		args := []string{"-f", "--show", "-o", strconv.FormatInt(off, 10)}
		if size > 0 {
			args = append(args, "--sizelimit", strconv.FormatInt(size, 10))
		}
		dev := strings.TrimSpace(e2etest.Run(t, "losetup", append(args, d.image)...))
		return dev
	}
	bootDev = attach(bootStart, bootSize)
	rootDev = attach(rootStart, 0)
	done := false
	d.detachFn = func() {
		if done {
			return
		}
		done = true
		for _, mnt := range []string{d.boot, d.top} {
			if e2etest.Mounted(mnt) {
				if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
					t.Errorf("umount %s: %v: %s", mnt, err, out)
					exec.Command("umount", "-l", mnt).Run()
				}
			}
		}
		for _, dev := range []string{bootDev, rootDev} {
			if out, err := exec.Command("losetup", "-d", dev).CombinedOutput(); err != nil {
				t.Errorf("losetup -d %s: %v: %s", dev, err, out)
			}
		}
	}
	t.Cleanup(d.detach)
	return bootDev, rootDev
}

// attach mounts both partitions; detach undoes it, as qemu must never
// see the file systems mounted on the host.
func (d *disk) attach() {
	d.t.Helper()
	if d.detachFn != nil {
		return // attached
	}
	bootDev, rootDev := d.loops()
	e2etest.Run(d.t, "mount", bootDev, d.boot)
	e2etest.Run(d.t, "mount", "-o", "subvolid=5", rootDev, d.top)
}

func (d *disk) detach() {
	if d.detachFn != nil {
		d.detachFn()
		d.detachFn = nil
	}
}
