package apkfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
)

// TestTreeFilesVerifyFile: a tree packaged from TreeFiles verifies with
// the key that signed it, and does not with another key, a ContentError.
func TestTreeFilesVerifyFile(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "usr/bin"), 0o755)
	os.WriteFile(filepath.Join(dir, "usr/bin/hi"), []byte("#!/bin/sh\necho hi\n"), 0o755)
	os.Symlink("hi", filepath.Join(dir, "usr/bin/hello"))
	files, err := TreeFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
		if f.Uname != "root" || f.Gname != "root" {
			t.Errorf("%s owned by %s:%s", f.Path, f.Uname, f.Gname)
		}
	}
	if got := strings.Join(paths, " "); got != "usr usr/bin usr/bin/hello usr/bin/hi" {
		t.Errorf("paths %q", got)
	}
	if files[2].Mode&fs.ModeSymlink == 0 || files[2].Link != "hi" || string(files[3].Data) != "#!/bin/sh\necho hi\n" {
		t.Errorf("entries %+v", files)
	}
	signer := testSigner(t, 0)
	data, _ := writeSpec(t, &PackageSpec{Info: apk.Package{Name: "hi", Version: "1-r0", Arch: "noarch", Description: "hi", License: "MIT"}, Files: files}, signer)
	pkg := filepath.Join(t.TempDir(), "hi-1-r0.apk")
	if err := os.WriteFile(pkg, data, 0o644); err != nil {
		t.Fatal(err)
	}
	info, by, size, err := VerifyFile(pkg, trusting(signer))
	if err != nil || info.NameVersion() != "hi-1-r0" || by != signer.Name || size != int64(len(data)) {
		t.Errorf("VerifyFile: %v %q %d %v", info, by, size, err)
	}
	if _, _, _, err := VerifyFile(pkg, trusting(testSigner(t, 1))); !IsContentError(err) {
		t.Errorf("another key: %v, want a ContentError", err)
	}
	if _, _, _, err := VerifyFile(filepath.Join(dir, "nothing"), trusting(signer)); err == nil || IsContentError(err) {
		t.Errorf("a missing file: %v", err)
	}
	if _, err := LoadTrust(filepath.Join(dir, "no-keys"), false); err == nil || !strings.Contains(err.Error(), "--allow-untrusted") {
		t.Errorf("no keys: %v", err)
	}
}
