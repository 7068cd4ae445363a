package tenant

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
)

// TestHomeQuotaOnBtrfs gives a home subvolume on a real btrfs its quota,
// in both kinds of quota: writing past it fails with EDQUOT, the trial's
// check reads it back, the report shows the usage, and snapshots are
// taken and pruned. Simple quotas are used where the kernel has them;
// qgroups when the file system has them on already (and on kernels before
// 6.7, as Alpine's and Debian's).
func TestHomeQuotaOnBtrfs(t *testing.T) {
	modes := []string{"qgroups"}
	if btrfs.SimpleQuotaSupported() {
		modes = append(modes, "simple")
	}
	for _, mode := range modes {
		t.Run(mode, func(t *testing.T) {
			mnt := btrfstest.NewFS(t, btrfstest.Options{Size: 512 << 20})
			if mode == "qgroups" {
				if err := btrfs.EnableQuota(mnt); err != nil {
					t.Fatal(err)
				}
			}
			root := filepath.Join(mnt, "root")
			home := filepath.Join(root, "home", "carol")
			if err := os.MkdirAll(filepath.Dir(home), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := btrfs.CreateSubvolume(home); err != nil {
				t.Fatal(err)
			}
			cg := newFakeCgroups(t, "cpu memory")
			cg.cgroup("tenants", map[string]string{"cgroup.controllers": "cpu memory", "cgroup.subtree_control": ""})
			cg.cgroup("tenants/carol", map[string]string{"memory.max": "max"})
			now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
			n := &Node{Root: root, Cgroups: cg.root, Store: mnt, Quotas: BtrfsQuotas{},
				IsCgroup2: func(string) (bool, error) { return true, nil }, Now: func() time.Time { return now }}
			p := Plan{Tenants: []Tenant{{Name: "carol", Home: "/home/carol", Subvolume: true, QuotaBytes: 16 << 20, Cgroup: "/tenants/carol",
				SnapshotEverySeconds: 3600, SnapshotRetention: "1"}}}
			if err := n.Apply(p); err != nil {
				t.Fatal(err)
			}
			if st, err := btrfs.Quota(mnt); err != nil || !st.Enabled || st.Simple != (mode == "simple") {
				t.Fatalf("quota status %+v, %v; want %s", st, err, mode)
			}
			if problems := n.Check(p); len(problems) != 0 {
				t.Errorf("check after apply: %v", problems)
			}

			err := fill(filepath.Join(home, "fill"), 64<<20)
			if !errors.Is(err, syscall.EDQUOT) {
				t.Fatalf("writing 64 MiB into a home with a 16 MiB quota: %v, want EDQUOT", err)
			}
			r := n.Report(p)
			if h := r.Tenants[0].HomeBytes; h == nil || *h < 8<<20 || *h > 17<<20 {
				t.Errorf("home bytes %v, want about the quota", h)
			}

			// Snapshots: one now, another an hour later; "1" keeps the newest.
			if _, err := n.SnapshotRound(p); err != nil {
				t.Fatal(err)
			}
			now = now.Add(time.Hour)
			if _, err := n.SnapshotRound(p); err != nil {
				t.Fatal(err)
			}
			snaps := n.snapshots(p.Tenants[0])
			if len(snaps) != 1 || snaps[0].Taken != now {
				t.Fatalf("snapshots %+v", snaps)
			}
			if ro, err := btrfs.ReadOnly(snaps[0].Path); err != nil || !ro {
				t.Errorf("the snapshot is not read-only: %v, %v", ro, err)
			}
			if _, err := os.Stat(filepath.Join(snaps[0].Path, "fill")); err != nil {
				t.Errorf("the snapshot does not hold the home's file: %v", err)
			}
		})
	}
}

// fill writes size bytes into path, in pieces, syncing at the end, and
// returns the first error.
func fill(path string, size int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	for i := range buf {
		buf[i] = byte(i * 7)
	}
	for written := 0; written < size; written += len(buf) {
		if _, err := f.Write(buf); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
