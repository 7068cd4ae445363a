package boot

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// checkSpace makes sure dir's file system has need bytes free, and some
// room for the configuration besides.
func checkSpace(dir string, need int64) error {
	if need == 0 {
		return nil
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return fmt.Errorf("boot directory %s: %w", dir, err)
	}
	free := int64(st.Bavail) * st.Bsize
	if need+1<<20 > free {
		return fmt.Errorf("boot directory %s: %.1f MB free, but the new kernels and initramfs images need %.1f MB: remove old generations with cairn gc (or make the boot partition larger), then try again; nothing was changed",
			dir, float64(free)/1e6, float64(need+1<<20)/1e6)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path, mode 0644.
func writeFileAtomic(path string, data []byte) error {
	return rootfs.WriteFileAt(path, data, rootfs.WriteOptions{Perm: 0o644, Sync: true})
}

func syncDir(dir string) error { return rootfs.SyncDir(dir) }
