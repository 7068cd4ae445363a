package disk

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// Mount is a mounted file system, as /proc/self/mountinfo lists it.
type Mount struct {
	// Point is where it is mounted; Root the directory of the file
	// system mounted there ("/" for the whole file system).
	Point, Root string
	// Source is the mount source (/dev/vda1); Type the file system type.
	Source, Type string
	// Dev is the device number (major:minor) the kernel gives it.
	Dev string
}

// Mounts reads /proc/self/mountinfo.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Mount
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if len(fields) < 5 || sep < 0 || sep+2 >= len(fields) {
			continue
		}
		out = append(out, Mount{
			Dev: fields[2], Root: unescapeMount(fields[3]), Point: unescapeMount(fields[4]),
			Type: fields[sep+1], Source: unescapeMount(fields[sep+2]),
		})
	}
	return out, sc.Err()
}

// MountOf returns the mount that holds path: the mount point that is the
// longest prefix of it (the last one mounted there, when several are).
func MountOf(mounts []Mount, path string) (Mount, bool) {
	path = filepath.Clean(path)
	best, found := Mount{}, false
	for _, m := range mounts {
		if !within(path, m.Point) {
			continue
		}
		if !found || len(m.Point) >= len(best.Point) {
			best, found = m, true
		}
	}
	return best, found
}

func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}

// FSSpec says which file system the block device dev holds, as fstab
// and root= name it: UUID=… when it has a UUID, else LABEL=….
func FSSpec(dev string) (string, Signature, error) {
	sig, err := probeDevice(dev)
	if err != nil {
		return "", sig, err
	}
	switch {
	case sig.UUID != "":
		return "UUID=" + sig.UUID, sig, nil
	case sig.Label != "":
		return "LABEL=" + sig.Label, sig, nil
	}
	return "", sig, fmt.Errorf("%s: its %s file system has neither UUID nor label", dev, sig.Kind)
}

// probeDevice reads the file system signature at the start of dev.
func probeDevice(dev string) (Signature, error) {
	f, err := os.Open(dev)
	if err != nil {
		return Signature{}, err
	}
	defer f.Close()
	size, err := Size(f)
	if err != nil {
		return Signature{}, err
	}
	head, err := readAt(f, 0, probeLen, size)
	if err != nil {
		return Signature{}, fmt.Errorf("%s: %w", dev, err)
	}
	sig, ok := probeFS(head)
	if !ok {
		return Signature{}, fmt.Errorf("%s: no file system found", dev)
	}
	return sig, nil
}

// FindFS finds the block device that holds the file system spec names
// (UUID=… or LABEL=…) among this machine's block devices
// (/sys/class/block), as findfs does. Devices that cannot be read are
// passed over; none found is ErrNoSuchFS.
func FindFS(spec string) (string, Signature, error) {
	if !strings.HasPrefix(spec, "UUID=") && !strings.HasPrefix(spec, "LABEL=") {
		return "", Signature{}, fmt.Errorf("%q: name a file system as UUID=… or LABEL=…", spec)
	}
	entries, err := os.ReadDir("/sys/class/block")
	if err != nil {
		return "", Signature{}, fmt.Errorf("list block devices: %w (is /sys mounted?)", err)
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	// Partitions before the disks they are on, so that a file system on
	// a partition is found there and not through a whole-disk probe.
	sort.Slice(names, func(i, j int) bool {
		pi, pj := isPartition(names[i]), isPartition(names[j])
		if pi != pj {
			return pi
		}
		return names[i] < names[j]
	})
	for _, name := range names {
		dev, err := devNode(name)
		if err != nil {
			continue
		}
		sig, err := probeDevice(dev)
		if err == nil && sig.Matches(spec) {
			return dev, sig, nil
		}
	}
	return "", Signature{}, fmt.Errorf("%s: %w", spec, ErrNoSuchFS)
}

func isPartition(name string) bool {
	_, err := os.Stat(filepath.Join("/sys/class/block", name, "partition"))
	return err == nil
}

// devNode returns the /dev path of the block device the kernel calls
// name (devtmpfs, udev and mdev all name it so); empty devices are
// passed over.
func devNode(name string) (string, error) {
	if size, err := os.ReadFile(filepath.Join("/sys/class/block", name, "size")); err == nil && strings.TrimSpace(string(size)) == "0" {
		return "", errors.New("empty device")
	}
	dev := "/dev/" + name
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err == nil && st.Mode&unix.S_IFMT == unix.S_IFBLK {
		return dev, nil
	}
	return "", fmt.Errorf("%s: no device node", dev)
}

// DevicesOf returns the mounts of the file system on the block device
// dev: the mounts whose source is dev or whose device number is dev's.
func DevicesOf(mounts []Mount, dev string) ([]Mount, error) {
	var st unix.Stat_t
	if err := unix.Stat(dev, &st); err != nil {
		return nil, err
	}
	num := fmt.Sprintf("%d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	var out []Mount
	for _, m := range mounts {
		if m.Dev == num {
			out = append(out, m)
			continue
		}
		// btrfs mounts carry an anonymous device number: the source
		// names the device.
		var sst unix.Stat_t
		if strings.HasPrefix(m.Source, "/dev/") && unix.Stat(m.Source, &sst) == nil && sst.Rdev == st.Rdev && sst.Mode&unix.S_IFMT == unix.S_IFBLK {
			out = append(out, m)
		}
	}
	return out, nil
}
