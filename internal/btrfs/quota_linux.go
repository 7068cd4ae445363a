package btrfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EnableQuota turns on quota accounting for the file system holding path
// and waits for the initial rescan, after which every subvolume has a level
// 0 quota group with correct numbers. Enabling quotas twice is harmless.
func EnableQuota(path string) error {
	err := withDir(path, func(fd int) error {
		args := quotaCtlArgs{Cmd: quotaCtlEnable}
		if err := ioctl(fd, iocQuotaCtl, unsafe.Pointer(&args)); err != nil {
			return err
		}
		return ioctl(fd, iocQuotaRescanWait, nil)
	})
	if err != nil {
		return fmt.Errorf("enable quota on %s: %w", path, err)
	}
	return nil
}

// SimpleQuotaFeature is where a kernel with btrfs simple quotas (Linux
// 6.7 and later) says so.
const SimpleQuotaFeature = "/sys/fs/btrfs/features/simple_quota"

// SimpleQuotaSupported reports whether the running kernel has btrfs simple
// quotas (squota): its btrfs lists the feature in sysfs once the module is
// loaded.
func SimpleQuotaSupported() bool {
	_, err := os.Stat(SimpleQuotaFeature)
	return err == nil
}

// EnableSimpleQuota turns on simple quotas (Linux 6.7): every extent is
// charged to the subvolume that wrote it, with no rescan and none of full
// qgroups' cost on snapshots and deletions, but extents written before
// enabling are not counted. Enabling them on a file system where quotas
// are on already is harmless.
func EnableSimpleQuota(path string) error {
	err := withDir(path, func(fd int) error {
		args := quotaCtlArgs{Cmd: quotaCtlEnableSimple}
		return ioctl(fd, iocQuotaCtl, unsafe.Pointer(&args))
	})
	if err != nil {
		return fmt.Errorf("enable simple quotas on %s: %w", path, err)
	}
	return nil
}

// WaitQuotaRescan waits for a running quota rescan to finish.
func WaitQuotaRescan(path string) error {
	err := withDir(path, func(fd int) error {
		return ioctl(fd, iocQuotaRescanWait, nil)
	})
	if err != nil {
		return fmt.Errorf("wait for quota rescan on %s: %w", path, err)
	}
	return nil
}

// Quota reports whether quota accounting is on for the file system holding
// path, from the status item of the quota tree.
func Quota(path string) (QuotaStatus, error) {
	var st QuotaStatus
	err := withDir(path, func(fd int) error {
		key := [3]uint64{0, qgroupStatusKey, 0}
		var perr error
		err := treeSearch(fd, quotaTreeObjectID, key, key, func(_ searchHeader, item []byte) bool {
			// struct btrfs_qgroup_status_item: version, generation, flags, rescan.
			if len(item) < 24 {
				perr = errors.New("short quota status item")
				return false
			}
			flags := binary.LittleEndian.Uint64(item[16:])
			st = QuotaStatus{
				Enabled:      flags&qgroupStatusOn != 0,
				Rescanning:   flags&qgroupStatusRescan != 0,
				Inconsistent: flags&qgroupStatusIncons != 0,
				Simple:       flags&qgroupStatusSimple != 0,
			}
			return false
		})
		if errors.Is(err, unix.ENOENT) {
			return nil // no quota tree: quotas were never enabled
		}
		if err != nil {
			return err
		}
		return perr
	})
	if err != nil {
		return QuotaStatus{}, fmt.Errorf("quota status of %s: %w", path, err)
	}
	return st, nil
}

// CreateQgroup creates the quota group qgroupid (see QgroupID) on the file
// system holding path. Level 0 groups are made by the kernel with each
// subvolume; higher levels group them.
func CreateQgroup(path string, qgroupid uint64) error {
	err := withDir(path, func(fd int) error {
		args := qgroupCreateArgs{Create: 1, QgroupID: qgroupid}
		return ioctl(fd, iocQgroupCreate, unsafe.Pointer(&args))
	})
	if err != nil {
		return fmt.Errorf("create qgroup %s on %s: %w", formatQgroup(qgroupid), path, err)
	}
	return nil
}

// LimitQgroup sets the limits of quota group qgroupid; zero fields remove
// that limit.
func LimitQgroup(path string, qgroupid uint64, limit QgroupLimit) error {
	err := withDir(path, func(fd int) error {
		args := qgroupLimitArgs{
			QgroupID: qgroupid,
			Flags:    qgroupLimitMaxRfer | qgroupLimitMaxExcl,
			MaxRfer:  limit.MaxReferenced,
			MaxExcl:  limit.MaxExclusive,
		}
		// The kernel takes "no limit" as a maximum of all ones.
		if args.MaxRfer == 0 {
			args.MaxRfer = ^uint64(0)
		}
		if args.MaxExcl == 0 {
			args.MaxExcl = ^uint64(0)
		}
		return ioctl(fd, iocQgroupLimit, unsafe.Pointer(&args))
	})
	if err != nil {
		return fmt.Errorf("limit qgroup %s on %s: %w", formatQgroup(qgroupid), path, err)
	}
	return nil
}

// Qgroup returns what quota group qgroupid accounts, as of the last
// committed transaction (call Sync first for current numbers). It returns
// ErrNoQgroup when quotas are off or the group does not exist.
func Qgroup(path string, qgroupid uint64) (QgroupUsage, error) {
	var u QgroupUsage
	found := false
	err := withDir(path, func(fd int) error {
		key := [3]uint64{0, qgroupInfoKey, qgroupid}
		var perr error
		err := treeSearch(fd, quotaTreeObjectID, key, key, func(_ searchHeader, item []byte) bool {
			// struct btrfs_qgroup_info_item: generation, rfer, rfer_cmpr, excl, excl_cmpr.
			if len(item) < 40 {
				perr = errors.New("short qgroup info item")
				return false
			}
			u = QgroupUsage{
				Referenced: binary.LittleEndian.Uint64(item[8:]),
				Exclusive:  binary.LittleEndian.Uint64(item[24:]),
			}
			found = true
			return false
		})
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
		return perr
	})
	if err == nil && !found {
		err = ErrNoQgroup
	}
	if err != nil {
		return QgroupUsage{}, fmt.Errorf("qgroup %s on %s: %w", formatQgroup(qgroupid), path, err)
	}
	return u, nil
}

// QgroupLimits returns the limits set on quota group qgroupid, as the
// kernel keeps them (zero fields: no limit). It returns ErrNoQgroup when
// quotas are off or the group does not exist.
func QgroupLimits(path string, qgroupid uint64) (QgroupLimit, error) {
	var l QgroupLimit
	found := false
	err := withDir(path, func(fd int) error {
		key := [3]uint64{0, qgroupLimitKey, qgroupid}
		var perr error
		err := treeSearch(fd, quotaTreeObjectID, key, key, func(_ searchHeader, item []byte) bool {
			// struct btrfs_qgroup_limit_item: flags, max_rfer, max_excl, rsv_rfer, rsv_excl.
			if len(item) < 24 {
				perr = errors.New("short qgroup limit item")
				return false
			}
			flags := binary.LittleEndian.Uint64(item)
			if flags&qgroupLimitMaxRfer != 0 {
				l.MaxReferenced = noLimit(binary.LittleEndian.Uint64(item[8:]))
			}
			if flags&qgroupLimitMaxExcl != 0 {
				l.MaxExclusive = noLimit(binary.LittleEndian.Uint64(item[16:]))
			}
			found = true
			return false
		})
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		if err != nil {
			return err
		}
		return perr
	})
	if err == nil && !found {
		err = ErrNoQgroup
	}
	if err != nil {
		return QgroupLimit{}, fmt.Errorf("limits of qgroup %s on %s: %w", formatQgroup(qgroupid), path, err)
	}
	return l, nil
}

// noLimit reads the kernel's "no limit" (all ones) as 0.
func noLimit(v uint64) uint64 {
	if v == ^uint64(0) {
		return 0
	}
	return v
}

// formatQgroup writes a quota group id as btrfs-progs does: level/id.
func formatQgroup(id uint64) string {
	return fmt.Sprintf("%d/%d", id>>48, id&(1<<48-1))
}
