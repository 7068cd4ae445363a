package snapshots_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"github.com/cairnlinux/cairn/internal/initramfs/cairninit"
	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/snapshots"
)

// TestScheduleOnBtrfs keeps the snapshots of /home, a persistent
// subvolume as cairn-init makes it, on the cluster guide's btrbk
// schedule (hourly, preserve_min 6h, preserve 48h 7d 4w 12m), with cron
// running every hour of five simulated weeks, /home/data rewritten each
// hour; then restores one file, and the whole directory.
func TestScheduleOnBtrfs(t *testing.T) {
	top := btrfstest.NewFS(t, btrfstest.Options{})
	home, created, err := cairninit.EnsurePersist(top, t.TempDir(), "/home")
	if err != nil || !created {
		t.Fatalf("EnsurePersist: %v %v", created, err)
	}
	st := snapshots.Store{Top: top, PersistDir: func(p string) string { return layout.PersistPath(top, p) }, Escape: layout.EscapePath}
	sched := []snapshots.Schedule{{Path: "/home", Every: "1h", PreserveMin: "6h", Preserve: "48h 7d 4w 12m"}}

	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) // a Thursday
	end := time.Date(2026, 2, 5, 12, 0, 0, 0, time.UTC)  // a Thursday too
	for now := start; !now.After(end); now = now.Add(time.Hour) {
		if err := os.WriteFile(filepath.Join(home, "data"), []byte(now.Format(time.RFC3339)), 0o644); err != nil {
			t.Fatal(err)
		}
		res, err := st.Take(sched, now, true)
		if err != nil {
			t.Fatalf("%s: %v", now, err)
		}
		if len(res) != 1 || res[0].Taken == "" {
			t.Fatalf("%s: nothing taken: %+v", now, res)
		}
		// cron's next run, 15 minutes on: not due.
		res, err = st.Take(sched, now.Add(15*time.Minute), true)
		if err != nil || res[0].Taken != "" || res[0].Skipped == "" {
			t.Fatalf("%s + 15m: %+v %v", now, res, err)
		}
	}

	// What the rules keep at the end (Thursday 5 February, 12:00):
	// every hour of the last 48 clock hours (3 February 13:00 to
	// 5 February 12:00, which covers the 6 h of preserveMin); the first
	// of each of the last 7 days (30 January to 5 February, 00:00: 4 and
	// 5 February are hourly already); the first of each of the last 4
	// ISO weeks (Mondays 12, 19, 26 January and 2 February, 00:00); the
	// first of each of the last 12 months (1 January and 1 February).
	var want []string
	for h := time.Date(2026, 2, 3, 13, 0, 0, 0, time.UTC); !h.After(end); h = h.Add(time.Hour) {
		want = append(want, h.Format("20060102T150405Z"))
	}
	want = append(want,
		"20260130T000000Z", "20260131T000000Z", "20260201T000000Z", "20260202T000000Z", "20260203T000000Z", // daily
		"20260112T000000Z", "20260119T000000Z", "20260126T000000Z", // weekly (2 February is daily already)
		"20260101T000000Z", // monthly (1 February is daily already)
	)
	slices.Sort(want)
	list, err := st.List("/home")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, sn := range list {
		got = append(got, sn.Name)
		if ro, err := btrfs.ReadOnly(sn.Dir); err != nil || !ro {
			t.Errorf("%s is not a read-only subvolume: %v", sn.Dir, err)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("kept %d snapshots:\n%q\nwant %d:\n%q", len(got), got, len(want), want)
	}

	// One file back from the snapshot of Monday 19 January.
	sn, err := st.Find("/home", "20260119T000000Z")
	if err != nil {
		t.Fatal(err)
	}
	kept, err := st.RestoreFile(sn, "/home/data")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "data")); string(b) != "2026-01-19T00:00:00Z" {
		t.Errorf("/home/data restored: %q", b)
	}
	if b, _ := os.ReadFile(kept); string(b) != end.Format(time.RFC3339) {
		t.Errorf("the replaced /home/data, kept as %s: %q", kept, b)
	}
	if _, err := st.RestoreFile(sn, "/etc/passwd"); err == nil {
		t.Error("restoring a file outside /home was not refused")
	}

	// The whole of /home from the snapshot of 1 January.
	sn, err = st.Find("/home", "20260101T000000Z")
	if err != nil {
		t.Fatal(err)
	}
	aside, err := st.RestoreAll(sn, end)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(home, "data")); string(b) != "2026-01-01T00:00:00Z" {
		t.Errorf("/home restored whole: data is %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(aside, "data")); string(b) != "2026-01-19T00:00:00Z" {
		t.Errorf("the replaced /home, kept as %s: data is %q", aside, b)
	}
	if ro, err := btrfs.ReadOnly(home); err != nil || ro {
		t.Errorf("the restored /home is not writable: %v %v", ro, err)
	}
}
