package tenant

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/layout"
)

// The places of a booted cairn node.
const (
	cgroupMount = "/sys/fs/cgroup"
	netnsDir    = "/run/netns"
)

// Booted is the node cairn runs on.
func Booted() *Node {
	return &Node{Root: "/", Cgroups: cgroupMount, Store: layout.RunStore, Netns: netnsDir,
		Quotas: BtrfsQuotas{}, Network: &Netns{Dir: netnsDir}, IsCgroup2: IsCgroup2, Now: time.Now}
}

// IsCgroup2 reports whether dir is the mount of a cgroup2 hierarchy.
func IsCgroup2(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, err
	}
	return st.Type == unix.CGROUP2_SUPER_MAGIC, nil
}

// BtrfsQuotas are the homes' quotas on btrfs: simple quotas where the
// kernel has them (Linux 6.7), which charge each extent to the subvolume
// that wrote it and cost nothing on snapshots and deletions; full qgroups
// otherwise, which Debian's and Alpine's 6.1 and 6.6 kernels have.
type BtrfsQuotas struct{}

func (BtrfsQuotas) Subvolume(dir string) (uint64, error) {
	ok, err := btrfs.IsSubvolume(dir)
	switch {
	case err != nil:
		return 0, err
	case !ok:
		return 0, errors.New("not the root of a subvolume")
	}
	return btrfs.SubvolumeID(dir)
}

func (BtrfsQuotas) Enable(dir string) (string, error) {
	st, err := btrfs.Quota(dir)
	if err != nil {
		return "", err
	}
	if !st.Enabled {
		if btrfs.SimpleQuotaSupported() {
			err = btrfs.EnableSimpleQuota(dir)
		} else {
			err = btrfs.EnableQuota(dir)
		}
		if err != nil {
			return "", err
		}
		if st, err = btrfs.Quota(dir); err != nil {
			return "", err
		}
	}
	if st.Simple {
		return "simple", nil
	}
	return "qgroups", nil
}

func (BtrfsQuotas) SetLimit(dir string, id, bytes uint64) error {
	return btrfs.LimitQgroup(dir, btrfs.QgroupID(0, id), btrfs.QgroupLimit{MaxReferenced: bytes})
}

func (BtrfsQuotas) Limit(dir string, id uint64) (uint64, error) {
	st, err := btrfs.Quota(dir)
	if err != nil {
		return 0, err
	}
	if !st.Enabled {
		return 0, errors.New("quotas are off on its file system")
	}
	l, err := btrfs.QgroupLimits(dir, btrfs.QgroupID(0, id))
	return l.MaxReferenced, err
}

func (BtrfsQuotas) Usage(dir string, id uint64) (uint64, error) {
	if err := btrfs.Sync(dir); err != nil {
		return 0, err
	}
	u, err := btrfs.Qgroup(dir, btrfs.QgroupID(0, id))
	return u.Referenced, err
}

func (BtrfsQuotas) Snapshot(src, dst string) error {
	if err := btrfs.Snapshot(src, dst, true); err != nil {
		return fmt.Errorf("snapshot %s: %w", src, err)
	}
	return nil
}

func (BtrfsQuotas) Delete(path string) error { return btrfs.DeleteSubvolume(path) }
