package gendiff

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/btrfs"
	"github.com/cairnlinux/cairn/internal/btrfs/btrfstest"
)

// On btrfs, files sharing their extents (reflinks, as builds make them
// from the package cache) are equal without reading them; copies of the
// same bytes and files that differ are read and compared; small files
// stored inline prove nothing and are read.
func TestSameContentOnBtrfs(t *testing.T) {
	mnt := btrfstest.NewFS(t, btrfstest.Options{})
	big := bytes.Repeat([]byte("cairn generation data\n"), 20000) // 440 kB: not inline
	path := func(name string) string { return filepath.Join(mnt, name) }
	write := func(name string, data []byte) {
		if err := os.WriteFile(path(name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("a", big)
	if err := btrfs.CloneFile(path("reflink"), path("a")); err != nil {
		t.Fatal(err)
	}
	write("copy", big)
	other := bytes.Clone(big)
	other[len(other)-2] = '!'
	write("other", other)
	write("small", []byte("tiny\n"))
	write("small2", []byte("tiny\n"))
	if err := btrfs.Sync(mnt); err != nil {
		t.Fatal(err)
	}

	if !sameExtents(path("a"), path("reflink")) {
		t.Error("a reflink does not share its extents")
	}
	for _, name := range []string{"copy", "other"} {
		if sameExtents(path("a"), path(name)) {
			t.Errorf("%s shares extents with a", name)
		}
	}
	if sameExtents(path("small"), path("small2")) {
		t.Error("inline files taken as sharing extents")
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"a", "reflink", true}, {"a", "copy", true}, {"a", "other", false}, {"small", "small2", true}} {
		ia, err := os.Lstat(path(tc.a))
		if err != nil {
			t.Fatal(err)
		}
		ib, err := os.Lstat(path(tc.b))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := sameContent(path(tc.a), path(tc.b), ia, ib); err != nil || got != tc.want {
			t.Errorf("sameContent(%s, %s) = %v, %v; want %v", tc.a, tc.b, got, err, tc.want)
		}
	}
}
