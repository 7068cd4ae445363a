package disk

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Size returns the size in bytes of a block device or file.
func Size(f *os.File) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Mode().IsRegular() {
		return fi.Size(), nil
	}
	var size uint64
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKGETSIZE64, uintptr(unsafe.Pointer(&size))); e != 0 {
		return 0, fmt.Errorf("size of %s: %w", f.Name(), e)
	}
	return int64(size), nil
}

// SectorSize returns a block device's logical sector size (512 for a
// file).
func SectorSize(f *os.File) (int, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if fi.Mode().IsRegular() {
		return 512, nil
	}
	n, err := unix.IoctlGetInt(int(f.Fd()), unix.BLKSSZGET)
	if err != nil {
		return 0, fmt.Errorf("sector size of %s: %w", f.Name(), err)
	}
	return n, nil
}

// blockName returns the kernel's name of a block device path (sda,
// vda2, loop0) from its device number, and the number.
func blockName(dev string) (name string, rdev uint64, err error) {
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return "", 0, fmt.Errorf("%s: %w", dev, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return "", 0, fmt.Errorf("%s: %w", dev, ErrNotBlockDevice)
	}
	link, err := os.Readlink(fmt.Sprintf("/sys/dev/block/%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev)))
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w (is /sys mounted?)", dev, err)
	}
	return filepath.Base(link), st.Rdev, nil
}

// Partition says which disk a partition device belongs to.
type Partition struct {
	// Disk is the whole disk's device (/dev/vda); Number the partition's
	// number on it (2 for /dev/vda2). Number is 0 when the device is a
	// whole disk.
	Disk   string
	Number int
}

// PartitionOf looks up a block device in /sys: the disk it is a
// partition of, and its number.
func PartitionOf(dev string) (Partition, error) {
	name, _, err := blockName(dev)
	if err != nil {
		return Partition{}, err
	}
	sys := filepath.Join("/sys/class/block", name)
	data, err := os.ReadFile(filepath.Join(sys, "partition"))
	if errors.Is(err, os.ErrNotExist) {
		return Partition{Disk: dev}, nil
	}
	if err != nil {
		return Partition{}, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return Partition{}, fmt.Errorf("%s/partition: %w", sys, err)
	}
	real, err := filepath.EvalSymlinks(sys)
	if err != nil {
		return Partition{}, err
	}
	return Partition{Disk: "/dev/" + filepath.Base(filepath.Dir(real)), Number: n}, nil
}

const blkpg = 0x1269 // _IO(0x12, 105)

// blkpgPartition is struct blkpg_partition.
type blkpgPartition struct {
	Start, Length int64
	Pno           int32
	Devname       [64]byte
	Volname       [64]byte
	_             [4]byte
}

// ResizePartition tells the kernel that partition n of the disk open as
// f now has length bytes (BLKPG_RESIZE_PARTITION), which works while the
// partition is in use; its start cannot change.
func ResizePartition(f *os.File, n int, start, length int64) error {
	p := blkpgPartition{Start: start, Length: length, Pno: int32(n)}
	arg := unix.BlkpgIoctlArg{Op: unix.BLKPG_RESIZE_PARTITION, Datalen: int32(unsafe.Sizeof(p)), Data: (*byte)(unsafe.Pointer(&p))}
	_, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), blkpg, uintptr(unsafe.Pointer(&arg)))
	runtime.KeepAlive(&p)
	if e != 0 {
		return fmt.Errorf("tell the kernel that %s partition %d has %d bytes (BLKPG): %w", f.Name(), n, length, e)
	}
	return nil
}

// RereadPartitions asks the kernel to read the disk's partition table
// again (BLKRRPART); it fails while a partition is in use, and on loop
// devices without partition scanning.
func RereadPartitions(f *os.File) error {
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), unix.BLKRRPART, 0); e != 0 {
		return fmt.Errorf("re-read the partition table of %s: %w", f.Name(), e)
	}
	return nil
}

// InUse lists why a block device must not be overwritten: it or one of
// its partitions is mounted, used as swap, held by another device
// (device mapper, md, bcache), or backs a loop device. An empty list
// means nothing on this machine uses it.
func InUse(dev string) ([]string, error) {
	name, rdev, err := blockName(dev)
	if err != nil {
		return nil, err
	}
	// The device and its partitions: name -> "major:minor".
	devs := map[string]string{name: fmt.Sprintf("%d:%d", unix.Major(rdev), unix.Minor(rdev))}
	sys := filepath.Join("/sys/class/block", name)
	entries, _ := os.ReadDir(sys)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), name) {
			continue
		}
		if data, err := os.ReadFile(filepath.Join(sys, e.Name(), "dev")); err == nil {
			devs[e.Name()] = strings.TrimSpace(string(data))
		}
	}
	byNumber := map[string]string{}
	for n, num := range devs {
		byNumber[num] = n
	}
	var why []string
	mounts, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer mounts.Close()
	sc := bufio.NewScanner(mounts)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		// The device number (field 3) is an anonymous one for btrfs:
		// the mount source after the " - " separator names the device.
		f := strings.Fields(sc.Text())
		if len(f) < 5 {
			continue
		}
		n, ok := byNumber[f[2]]
		if i := slices.Index(f, "-"); !ok && i > 0 && i+2 < len(f) && strings.HasPrefix(f[i+2], "/dev/") {
			if src, _, err := blockName(unescapeMount(f[i+2])); err == nil && devs[src] != "" {
				n, ok = src, true
			}
		}
		if ok {
			why = append(why, fmt.Sprintf("/dev/%s is mounted on %s", n, unescapeMount(f[4])))
		}
	}
	if swaps, err := os.ReadFile("/proc/swaps"); err == nil {
		for _, line := range strings.Split(string(swaps), "\n")[1:] {
			f := strings.Fields(line)
			if len(f) > 0 {
				if n, _, err := blockName(f[0]); err == nil && devs[n] != "" {
					why = append(why, fmt.Sprintf("/dev/%s is used as swap", n))
				}
			}
		}
	}
	for n := range devs {
		holders, _ := os.ReadDir(filepath.Join("/sys/class/block", n, "holders"))
		for _, h := range holders {
			why = append(why, fmt.Sprintf("/dev/%s is held by /dev/%s (device mapper, RAID or bcache)", n, h.Name()))
		}
	}
	for loop, backing := range loopBacking() {
		for n := range devs {
			if backing == "/dev/"+n {
				why = append(why, fmt.Sprintf("/dev/%s backs the loop device %s", n, loop))
			}
		}
	}
	return why, nil
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
