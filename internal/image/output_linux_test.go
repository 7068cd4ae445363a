//go:build linux

package image

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// checkOwnerOnly fails the test for any file of the output out (a file
// or a directory) that others than its owner may read: images hold the
// root's secrets.
func checkOwnerOnly(t *testing.T, out string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode(), want)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Errorf("%s: no output", out)
	}
}

// Every image format writes its outputs for their owner only (0600
// files, 0700 directories), even with a umask that takes nothing away.
func TestOutputsOwnerOnly(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	b := ramTree(t)
	b.file("etc/shadow", []byte("root:$6$salt$hash:19000:0:::::\n"), 0o640)
	src := Source{Root: b.root, Epoch: testEpoch, Arch: "x86_64"}
	dir := t.TempDir()
	for _, f := range []struct {
		name   string
		format Format
	}{
		{"rootfs.tar.gz", Tar{}},
		{"rootfs.tar", Tar{Compression: None}},
		{"oci", OCI{}},
		{"oci.tar", OCI{}},
		{"ram", Initramfs{}},
	} {
		out := filepath.Join(dir, f.name)
		if _, err := f.format.Write(context.Background(), src, out); err != nil {
			t.Fatalf("%s: %v", f.name, err)
		}
		checkOwnerOnly(t, out)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 5 {
		t.Errorf("the output directory holds %d entries, want the 5 images", len(entries))
	}
}
