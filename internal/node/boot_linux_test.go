package node_test

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/node"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestReadOnlyBootDir: a boot directory that has gone read-only (Linux
// remounts a damaged FAT file system so) fails the switch with an error
// that says why it may be and what to do, and the state stays as it was.
func TestReadOnlyBootDir(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (a read-only bind mount)")
	o, bootDir := newNode(t, true, true)
	if err := unix.Mount(bootDir, bootDir, "", unix.MS_BIND, ""); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(bootDir, 0) })
	if err := unix.Mount("", bootDir, "", unix.MS_BIND|unix.MS_REMOUNT|unix.MS_RDONLY, ""); err != nil {
		t.Fatal(err)
	}
	ss := open(t, o)
	defer ss.Close()
	// Made the default at once: the entries change (a trial alone
	// would not change them, and writes nothing).
	_, err := ss.Switch(node.SwitchRequest{Generation: 2, Permanent: true})
	if err == nil || !strings.Contains(err.Error(), "read-only file system") || !strings.Contains(err.Error(), "fsck.vfat -a") {
		t.Fatalf("switch with a read-only boot directory: %v", err)
	}
	t.Log(err)
	if st, _ := ss.Store.State(); st.NextBoot() != 1 || st.Default != 1 || st.Trial.Generation != 0 {
		t.Errorf("the failed switch changed the state: %+v", st)
	}
}
