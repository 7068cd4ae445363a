package store_test

import (
	"os"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
	"golang.org/x/sys/unix"
)

// tmpfs mounts a tmpfs of the given size for the test.
func tmpfs(t *testing.T, size string) string {
	testutil.Require(t, os.Geteuid() == 0, "root (mounting a tmpfs)")
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("unmount tmpfs: %v", err)
		}
	})
	return dir
}

// The one conformance suite, against every backend and the file systems
// they run on.
func TestConformance(t *testing.T) {
	t.Run("btrfs", func(t *testing.T) {
		storetest.Run(t, storetest.Btrfs(t, btrfstest.Options{Size: 1 << 30}, store.InitOptions{}))
	})
	t.Run("btrfs-quota", func(t *testing.T) {
		storetest.Run(t, storetest.Btrfs(t, btrfstest.Options{Size: 1 << 30}, store.InitOptions{Quota: true}))
	})
	t.Run("plain-ext4", func(t *testing.T) {
		// The test machines' temporary directories are on ext4.
		storetest.Run(t, storetest.Plain(""))
	})
	t.Run("plain-tmpfs", func(t *testing.T) {
		storetest.Run(t, storetest.Plain(tmpfs(t, "256m")))
	})
}
