// Package btrfstest makes real btrfs file systems for tests: a sparse
// image file, mkfs.btrfs, a loop device and a mount, all undone when the
// test ends. Tests that need it call Require or NewFS; with CI=true a
// missing prerequisite (root, mkfs.btrfs, loop devices, btrfs in the
// kernel) fails the test instead of skipping it.
package btrfstest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// Options shape a test file system.
type Options struct {
	// Size of the image in bytes; 512 MiB when zero. The image is sparse,
	// so only what is written takes space.
	Size int64
	// Quota enables quota accounting (qgroups) after mounting.
	Quota bool
}

// Require stops the test unless this machine can make a btrfs file
// system: a failure in CI, a skip elsewhere.
func Require(t testing.TB) {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices and mounts)")
	_, err := exec.LookPath("mkfs.btrfs")
	testutil.Require(t, err == nil, "mkfs.btrfs (Debian package btrfs-progs)")
	_, err = os.Stat("/dev/loop-control")
	testutil.Require(t, err == nil, "/dev/loop-control (loop devices)")
	testutil.Require(t, kernelHasBtrfs(), "btrfs in the kernel (/proc/filesystems)")
}

func kernelHasBtrfs() bool {
	if fsListed() {
		return true
	}
	// The module may just not be loaded yet.
	exec.Command("modprobe", "btrfs").Run()
	return fsListed()
}

func fsListed() bool {
	data, err := os.ReadFile("/proc/filesystems")
	return err == nil && bytes.Contains(data, []byte("\tbtrfs\n"))
}

// NewFS makes a btrfs file system on a loop device, mounts its top level
// (subvolid 5) on a temporary directory and returns that directory. The
// test's cleanup unmounts it and detaches the loop device, whatever the
// test's outcome.
func NewFS(t testing.TB, opts Options) string {
	t.Helper()
	Require(t)
	size := opts.Size
	if size == 0 {
		size = 512 << 20
	}
	work := t.TempDir()
	image := filepath.Join(work, "btrfs.img")
	mnt := filepath.Join(work, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := makeImage(image, size); err != nil {
		t.Fatal(err)
	}
	dev, err := mountLoop(image, mnt)
	if err != nil {
		t.Fatalf("mount btrfs image: %v", err)
	}
	t.Cleanup(func() {
		if err := unmountLoop(mnt, dev, image); err != nil {
			t.Errorf("cleanup of test btrfs: %v", err)
		}
	})
	if opts.Quota {
		if err := btrfs.EnableQuota(mnt); err != nil {
			t.Fatal(err)
		}
	}
	return mnt
}

func makeImage(image string, size int64) error {
	f, err := os.Create(image)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	out, err := exec.Command("mkfs.btrfs", "-f", "-q", image).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mkfs.btrfs: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// Progs runs `btrfs args...` from btrfs-progs and returns its standard
// output; a failure fails the test.
func Progs(t testing.TB, args ...string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("btrfs", args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("btrfs %s: %v: %s", strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.String()
}

// ExclusiveBytes returns the bytes that only the subvolume at path holds
// (what deleting it would free), from its level 0 quota group after
// committing the current transaction. The file system needs quotas
// (Options.Quota).
func ExclusiveBytes(t testing.TB, path string) int64 {
	t.Helper()
	u := qgroup(t, path)
	return int64(u.Exclusive)
}

// ReferencedBytes returns all the bytes the subvolume at path reaches,
// shared or not, like ExclusiveBytes.
func ReferencedBytes(t testing.TB, path string) int64 {
	t.Helper()
	u := qgroup(t, path)
	return int64(u.Referenced)
}

func qgroup(t testing.TB, path string) btrfs.QgroupUsage {
	t.Helper()
	if err := btrfs.Sync(path); err != nil {
		t.Fatal(err)
	}
	id, err := btrfs.SubvolumeID(path)
	if err != nil {
		t.Fatal(err)
	}
	u, err := btrfs.Qgroup(path, btrfs.QgroupID(0, id))
	if errors.Is(err, btrfs.ErrNoQgroup) {
		t.Fatalf("%v (is quota enabled? btrfstest.Options.Quota)", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// SubvolumeUUID is a subvolume's path below the file system's top level
// and its UUID, as `btrfs subvolume list -u` prints them.
type SubvolumeUUID struct{ Path, UUID string }

var subvolumeUUIDLine = regexp.MustCompile(`uuid ([0-9a-f-]{36}) path (\S+)`)

// SubvolumeUUIDs lists the subvolumes of the btrfs mounted at mnt with
// their UUIDs, and fails the test (without stopping it) for a zero UUID
// or one that two subvolumes share.
func SubvolumeUUIDs(t testing.TB, mnt string) []SubvolumeUUID {
	t.Helper()
	var subs []SubvolumeUUID
	seen := map[string]bool{}
	for _, m := range subvolumeUUIDLine.FindAllStringSubmatch(Progs(t, "subvolume", "list", "-u", mnt), -1) {
		if m[1] == "00000000-0000-0000-0000-000000000000" || seen[m[1]] {
			t.Errorf("subvolume %s has UUID %s", m[2], m[1])
		}
		seen[m[1]] = true
		subs = append(subs, SubvolumeUUID{Path: m[2], UUID: m[1]})
	}
	return subs
}
