package liveroot

import (
	"slices"
	"strings"
	"testing"
)

// A booted cairn node's mount table (trimmed): the generation on /, the
// kernel file systems, /run with the store, the persistent /var and the
// console's inittab.
const nodeMountinfo = `1 1 0:2 / / rw - rootfs rootfs rw
20 1 0:30 /@cairn/generations/1 / ro,relatime - btrfs /dev/vda2 rw
21 20 0:5 / /dev rw,nosuid - devtmpfs devtmpfs rw
22 21 0:31 / /dev/pts rw - devpts devpts rw
23 20 0:4 / /proc rw - proc proc rw
24 20 0:20 / /sys rw - sysfs sysfs rw
25 20 0:32 / /run rw,nosuid,nodev - tmpfs tmpfs rw
26 25 0:30 / /run/cairn/store rw - btrfs /dev/vda2 rw
27 20 0:33 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw
28 20 0:30 /@cairn/persist/var /var rw - btrfs /dev/vda2 rw
29 20 0:32 /cairn/console/inittab /etc/inittab ro - tmpfs tmpfs rw
30 20 0:34 / /srv/my\040data rw - ext4 /dev/vdb rw
`

func TestRootChildren(t *testing.T) {
	ms, err := ParseMountinfo(strings.NewReader(nodeMountinfo))
	if err != nil {
		t.Fatal(err)
	}
	got := RootChildren(ms)
	want := []string{"/dev", "/proc", "/sys", "/run", "/tmp", "/var", "/etc/inittab", "/srv/my data"}
	if !slices.Equal(got, want) {
		t.Errorf("RootChildren = %q, want %q", got, want)
	}
}

func TestParseMountinfoBad(t *testing.T) {
	for _, in := range []string{"1 2 3\n", "x 1 0:2 / / rw\n"} {
		if _, err := ParseMountinfo(strings.NewReader(in)); err == nil {
			t.Errorf("ParseMountinfo(%q) = nil error", in)
		}
	}
}
