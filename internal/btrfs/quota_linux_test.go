package btrfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
)

// qgroupShow parses `btrfs qgroup show -re --raw` into
// qgroupid -> [rfer excl max_rfer max_excl] ("none" limits as 0).
func qgroupShow(t *testing.T, mnt string) map[string][4]uint64 {
	t.Helper()
	out := map[string][4]uint64{}
	for _, line := range strings.Split(btrfstest.Progs(t, "qgroup", "show", "-re", "--raw", "--sync", mnt), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || !strings.Contains(f[0], "/") || strings.HasPrefix(f[0], "-") {
			continue
		}
		var row [4]uint64
		for i := range row {
			if f[i+1] == "none" {
				continue
			}
			n, err := strconv.ParseUint(f[i+1], 10, 64)
			if err != nil {
				t.Fatalf("qgroup show: %q", line)
			}
			row[i] = n
		}
		out[f[0]] = row
	}
	return out
}

func writeRandom(t *testing.T, path string, size int) []byte {
	t.Helper()
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*7919 + i>>8*31 + i>>16)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestQuota(t *testing.T) {
	mnt := btrfstest.NewFS(t, btrfstest.Options{})
	if st, err := btrfs.Quota(mnt); err != nil || st.Enabled {
		t.Fatalf("Quota before enabling = %+v, %v", st, err)
	}
	if _, err := btrfs.Qgroup(mnt, btrfs.QgroupID(0, 5)); !errors.Is(err, btrfs.ErrNoQgroup) {
		t.Fatalf("Qgroup with quotas off: %v, want ErrNoQgroup", err)
	}
	if err := btrfs.EnableQuota(mnt); err != nil {
		t.Fatal(err)
	}
	if st, err := btrfs.Quota(mnt); err != nil || !st.Enabled || st.Inconsistent || st.Rescanning {
		t.Fatalf("Quota after enabling = %+v, %v", st, err)
	}

	sub := filepath.Join(mnt, "sub")
	snap := filepath.Join(mnt, "snap")
	if err := btrfs.CreateSubvolume(sub); err != nil {
		t.Fatal(err)
	}
	writeRandom(t, filepath.Join(sub, "shared"), 4<<20)
	if err := btrfs.Snapshot(sub, snap, true); err != nil {
		t.Fatal(err)
	}
	writeRandom(t, filepath.Join(sub, "own"), 1<<20)
	if err := btrfs.Sync(mnt); err != nil {
		t.Fatal(err)
	}
	subID, snapID := mustID(t, sub), mustID(t, snap)
	subQ, err := btrfs.Qgroup(mnt, btrfs.QgroupID(0, subID))
	if err != nil {
		t.Fatal(err)
	}
	snapQ, err := btrfs.Qgroup(mnt, btrfs.QgroupID(0, snapID))
	if err != nil {
		t.Fatal(err)
	}
	if subQ.Referenced < 5<<20 || subQ.Exclusive < 1<<20 || subQ.Exclusive > 2<<20 {
		t.Errorf("sub: %+v; want referenced >= 5 MiB, exclusive about 1 MiB", subQ)
	}
	if snapQ.Referenced < 4<<20 || snapQ.Exclusive > 1<<20 {
		t.Errorf("snapshot: %+v; want referenced >= 4 MiB, exclusive under 1 MiB", snapQ)
	}
	if got := btrfstest.ExclusiveBytes(t, sub); got != int64(subQ.Exclusive) {
		t.Errorf("btrfstest.ExclusiveBytes = %d, Qgroup says %d", got, subQ.Exclusive)
	}

	if err := btrfs.CreateQgroup(mnt, btrfs.QgroupID(1, 0)); err != nil {
		t.Fatal(err)
	}
	limit := btrfs.QgroupLimit{MaxReferenced: 512 << 20}
	if err := btrfs.LimitQgroup(mnt, btrfs.QgroupID(0, subID), limit); err != nil {
		t.Fatal(err)
	}
	rows := qgroupShow(t, mnt)
	subRow := rows["0/"+strconv.FormatUint(subID, 10)]
	if subRow[0] != subQ.Referenced || subRow[1] != subQ.Exclusive {
		t.Errorf("btrfs qgroup show has rfer %d excl %d for sub, Qgroup says %+v", subRow[0], subRow[1], subQ)
	}
	if subRow[2] != 512<<20 || subRow[3] != 0 {
		t.Errorf("limits shown: max_rfer %d max_excl %d; want %d and none", subRow[2], subRow[3], 512<<20)
	}
	if got, err := btrfs.QgroupLimits(mnt, btrfs.QgroupID(0, subID)); err != nil || got != limit {
		t.Errorf("QgroupLimits = %+v, %v; want %+v", got, err, limit)
	}
	if got, err := btrfs.QgroupLimits(mnt, btrfs.QgroupID(0, snapID)); err != nil || got != (btrfs.QgroupLimit{}) {
		t.Errorf("QgroupLimits of a group never limited = %+v, %v; want none", got, err)
	}
	if _, err := btrfs.QgroupLimits(mnt, btrfs.QgroupID(0, 9999)); !errors.Is(err, btrfs.ErrNoQgroup) {
		t.Errorf("QgroupLimits of a missing group: %v, want ErrNoQgroup", err)
	}
	if _, ok := rows["1/0"]; !ok {
		t.Errorf("qgroup 1/0 not shown: %v", rows)
	}
	if _, err := btrfs.Qgroup(mnt, btrfs.QgroupID(0, 9999)); !errors.Is(err, btrfs.ErrNoQgroup) {
		t.Errorf("missing qgroup: %v, want ErrNoQgroup", err)
	}
}

// TestSimpleQuota enables simple quotas where the kernel has them (Linux
// 6.7) and checks that a kernel without them refuses: cairn picks the
// mode by SimpleQuotaSupported, so both answers must be right.
func TestSimpleQuota(t *testing.T) {
	mnt := btrfstest.NewFS(t, btrfstest.Options{})
	err := btrfs.EnableSimpleQuota(mnt)
	if !btrfs.SimpleQuotaSupported() {
		if err == nil {
			t.Fatalf("EnableSimpleQuota succeeded on a kernel without %s", btrfs.SimpleQuotaFeature)
		}
		if st, err := btrfs.Quota(mnt); err != nil || st.Enabled {
			t.Errorf("after the refusal: %+v, %v", st, err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	st, err := btrfs.Quota(mnt)
	if err != nil || !st.Enabled || !st.Simple {
		t.Fatalf("Quota after enabling simple quotas = %+v, %v", st, err)
	}
	sub := filepath.Join(mnt, "sub")
	if err := btrfs.CreateSubvolume(sub); err != nil {
		t.Fatal(err)
	}
	id := mustID(t, sub)
	limit := btrfs.QgroupLimit{MaxReferenced: 8 << 20}
	if err := btrfs.LimitQgroup(mnt, btrfs.QgroupID(0, id), limit); err != nil {
		t.Fatal(err)
	}
	if got, err := btrfs.QgroupLimits(mnt, btrfs.QgroupID(0, id)); err != nil || got != limit {
		t.Errorf("QgroupLimits = %+v, %v; want %+v", got, err, limit)
	}
	writeRandom(t, filepath.Join(sub, "data"), 2<<20)
	if err := btrfs.Sync(mnt); err != nil {
		t.Fatal(err)
	}
	if u, err := btrfs.Qgroup(mnt, btrfs.QgroupID(0, id)); err != nil || u.Referenced < 2<<20 {
		t.Errorf("usage under simple quotas = %+v, %v; want at least 2 MiB", u, err)
	}
}
