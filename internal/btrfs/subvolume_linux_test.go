package btrfs_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
	"golang.org/x/sys/unix"
)

// show parses `btrfs subvolume show PATH` into its "Key: value" lines.
func show(t *testing.T, path string) map[string]string {
	t.Helper()
	fields := map[string]string{}
	for _, line := range strings.Split(btrfstest.Progs(t, "subvolume", "show", path), "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok {
			fields[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return fields
}

// listed returns the paths `btrfs subvolume list` prints, by id.
func listed(t *testing.T, mnt string) map[uint64]string {
	t.Helper()
	out := map[uint64]string{}
	for _, line := range strings.Split(strings.TrimSpace(btrfstest.Progs(t, "subvolume", "list", mnt)), "\n") {
		f := strings.Fields(line) // ID 256 gen 7 top level 5 path a
		if len(f) < 9 {
			continue
		}
		id, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			t.Fatalf("subvolume list: %q", line)
		}
		out[id] = f[8]
	}
	return out
}

func mustID(t *testing.T, path string) uint64 {
	t.Helper()
	id, err := btrfs.SubvolumeID(path)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSubvolumes(t *testing.T) {
	mnt := btrfstest.NewFS(t, btrfstest.Options{})
	sub := filepath.Join(mnt, "sub")
	snap := filepath.Join(mnt, "snap")
	plain := filepath.Join(mnt, "plain")

	if err := btrfs.CreateSubvolume(sub); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "file"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(plain, 0o755); err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	if err := btrfs.Snapshot(sub, snap, true); err != nil {
		t.Fatal(err)
	}

	t.Run("IsSubvolume", func(t *testing.T) {
		for path, want := range map[string]bool{mnt: true, sub: true, snap: true, plain: false, filepath.Join(sub, "file"): false} {
			got, err := btrfs.IsSubvolume(path)
			if err != nil || got != want {
				t.Errorf("IsSubvolume(%s) = %t, %v; want %t", path, got, err, want)
			}
		}
		if got, err := btrfs.IsSubvolume(t.TempDir()); err != nil || got {
			t.Errorf("IsSubvolume(dir on another file system) = %t, %v", got, err)
		}
	})

	t.Run("ids and info agree with btrfs subvolume show", func(t *testing.T) {
		ids := listed(t, mnt)
		for _, path := range []string{sub, snap} {
			info, err := btrfs.Info(path)
			if err != nil {
				t.Fatal(err)
			}
			want := show(t, path)
			if got := strconv.FormatUint(mustID(t, path), 10); got != want["Subvolume ID"] {
				t.Errorf("%s: SubvolumeID %s, btrfs says %s", path, got, want["Subvolume ID"])
			}
			checks := map[string]string{
				"Subvolume ID": strconv.FormatUint(info.ID, 10),
				"Parent ID":    strconv.FormatUint(info.ParentID, 10),
				"UUID":         info.UUID.String(),
				"Parent UUID":  info.ParentUUID.String(),
				"Name":         info.Name,
			}
			for k, got := range checks {
				if got != want[k] {
					t.Errorf("%s: %s = %q, btrfs subvolume show says %q", path, k, got, want[k])
				}
			}
			if ids[info.ID] != filepath.Base(path) {
				t.Errorf("btrfs subvolume list has %q for id %d, want %q", ids[info.ID], info.ID, filepath.Base(path))
			}
			if info.Created.Before(before) || info.Created.After(time.Now().Add(time.Second)) {
				t.Errorf("%s: created %v, not around now", path, info.Created)
			}
		}
		subInfo, _ := btrfs.Info(sub)
		snapInfo, _ := btrfs.Info(snap)
		if snapInfo.ParentUUID != subInfo.UUID {
			t.Errorf("snapshot's parent UUID %v, want the source's %v", snapInfo.ParentUUID, subInfo.UUID)
		}
		if subInfo.ReadOnly() || !snapInfo.ReadOnly() {
			t.Errorf("read-only flags: sub %t snap %t, want false true", subInfo.ReadOnly(), snapInfo.ReadOnly())
		}
		if top, err := btrfs.SubvolumeID(mnt); err != nil || top != btrfs.TopLevelID {
			t.Errorf("SubvolumeID(top level) = %d, %v", top, err)
		}
	})

	t.Run("read-only snapshot refuses writes with EROFS", func(t *testing.T) {
		err := os.WriteFile(filepath.Join(snap, "new"), []byte("x"), 0o644)
		if !errors.Is(err, unix.EROFS) {
			t.Errorf("create in read-only snapshot: %v, want EROFS", err)
		}
		err = os.WriteFile(filepath.Join(snap, "file"), []byte("x"), 0o644)
		if !errors.Is(err, unix.EROFS) {
			t.Errorf("overwrite in read-only snapshot: %v, want EROFS", err)
		}
		if data, err := os.ReadFile(filepath.Join(snap, "file")); err != nil || string(data) != "hello\n" {
			t.Errorf("snapshot content %q, %v", data, err)
		}
	})

	t.Run("read-only flag", func(t *testing.T) {
		ro, err := btrfs.ReadOnly(snap)
		if err != nil || !ro {
			t.Fatalf("ReadOnly(snap) = %t, %v", ro, err)
		}
		if got := btrfstest.Progs(t, "property", "get", "-ts", snap, "ro"); strings.TrimSpace(got) != "ro=true" {
			t.Errorf("btrfs property get: %q", got)
		}
		if err := btrfs.SetReadOnly(snap, false); err != nil {
			t.Fatal(err)
		}
		if got := btrfstest.Progs(t, "property", "get", "-ts", snap, "ro"); strings.TrimSpace(got) != "ro=false" {
			t.Errorf("after SetReadOnly(false), btrfs property get: %q", got)
		}
		if err := os.WriteFile(filepath.Join(snap, "new"), []byte("x"), 0o644); err != nil {
			t.Errorf("write after SetReadOnly(false): %v", err)
		}
		if err := btrfs.SetReadOnly(snap, true); err != nil {
			t.Fatal(err)
		}
		if ro, err := btrfs.ReadOnly(snap); err != nil || !ro {
			t.Errorf("ReadOnly after SetReadOnly(true) = %t, %v", ro, err)
		}
	})

	t.Run("errors name the path", func(t *testing.T) {
		err := btrfs.CreateSubvolume(filepath.Join(mnt, "missing", "x"))
		if err == nil || !strings.Contains(err.Error(), "missing/x") || !errors.Is(err, unix.ENOENT) {
			t.Errorf("create under a missing directory: %v", err)
		}
		err = btrfs.DeleteSubvolume(plain)
		if err == nil || !strings.Contains(err.Error(), "not a subvolume") {
			t.Errorf("delete a plain directory: %v", err)
		}
		err = btrfs.Snapshot(sub, filepath.Join(mnt, "snap"), true)
		if !errors.Is(err, unix.EEXIST) {
			t.Errorf("snapshot onto an existing name: %v, want EEXIST", err)
		}
	})

	t.Run("delete by id, read-only included", func(t *testing.T) {
		id := mustID(t, snap)
		if err := btrfs.DeleteSubvolume(snap); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(snap); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("snapshot still there: %v", err)
		}
		if path, ok := listed(t, mnt)[id]; ok {
			t.Errorf("btrfs subvolume list still has %d (%s)", id, path)
		}
	})
}

func TestDefaultSubvolume(t *testing.T) {
	mnt := btrfstest.NewFS(t, btrfstest.Options{})
	sub := filepath.Join(mnt, "gen1")
	if err := btrfs.CreateSubvolume(sub); err != nil {
		t.Fatal(err)
	}
	if id, err := btrfs.DefaultSubvolume(mnt); err != nil || id != btrfs.TopLevelID {
		t.Fatalf("DefaultSubvolume of a new file system = %d, %v; want 5", id, err)
	}
	id := mustID(t, sub)
	if err := btrfs.SetDefaultSubvolume(mnt, id); err != nil {
		t.Fatal(err)
	}
	got, err := btrfs.DefaultSubvolume(sub) // any path on the file system
	if err != nil || got != id {
		t.Errorf("DefaultSubvolume = %d, %v; want %d", got, err, id)
	}
	// "ID 256 gen 8 top level 5 path gen1"
	if f := strings.Fields(btrfstest.Progs(t, "subvolume", "get-default", mnt)); len(f) < 2 || f[1] != strconv.FormatUint(id, 10) {
		t.Errorf("btrfs subvolume get-default says %v, want id %d", f, id)
	}
	if err := btrfs.DeleteSubvolume(sub); !errors.Is(err, unix.EPERM) {
		t.Errorf("deleting the default subvolume: %v, want EPERM", err)
	}
	if err := btrfs.SetDefaultSubvolume(mnt, btrfs.TopLevelID); err != nil {
		t.Fatal(err)
	}
	if err := btrfs.DeleteSubvolume(sub); err != nil {
		t.Errorf("delete once no longer default: %v", err)
	}
}
