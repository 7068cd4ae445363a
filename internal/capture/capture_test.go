package capture_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/capture"
	"github.com/cairnlinux/cairn/internal/manifest"
)

const base = `apiVersion: cairn/v1
kind: System
# the node
name: node
alpine:
  repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]
files:
  inline:
    - path: /var/lib/app/app.conf
      content: "old\n"
`

func setup(t *testing.T, mf string, files map[string]string) (dir, root string) {
	t.Helper()
	dir, root = t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "system.yaml"), []byte(mf), 0o644); err != nil {
		t.Fatal(err)
	}
	for p, c := range files {
		full := filepath.Join(root, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, root
}

func TestCaptureInline(t *testing.T) {
	dir, root := setup(t, base, map[string]string{"/var/lib/app/app.conf": "new\nlines\n", "/var/lib/app/other": "other\n"})
	if err := os.Chmod(filepath.Join(root, "var/lib/app/other"), 0o600); err != nil {
		t.Fatal(err)
	}
	mf := filepath.Join(dir, "system.yaml")
	w, err := capture.Capture(capture.Request{Manifest: mf, Root: root, Paths: []string{"/var/lib/app/app.conf", "/var/lib/app/other"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range w {
		got = append(got, x.String())
	}
	if s := strings.Join(got, "; "); s != "/var/lib/app/app.conf: updated files.inline[0]; /var/lib/app/other: added files.inline[1]" {
		t.Errorf("written: %s", s)
	}
	data, _ := os.ReadFile(mf)
	if !strings.Contains(string(data), "# the node") {
		t.Errorf("the comment is lost:\n%s", data)
	}
	sys, err := manifest.Load(mf)
	if err != nil {
		t.Fatalf("the captured manifest does not load: %v\n%s", err, data)
	}
	in := sys.Files.Inline
	if len(in) != 2 || in[0].Content != "new\nlines\n" || in[1].Path != "/var/lib/app/other" || in[1].Content != "other\n" || in[1].Mode != "0600" {
		t.Errorf("inline entries: %+v\n%s", in, data)
	}
}

func TestCaptureSkeleton(t *testing.T) {
	mf := base + "  skeleton: root\n"
	dir, root := setup(t, mf, map[string]string{"/var/lib/app/bin.dat": "\x00\x01binary", "/var/lib/app/app.conf": "inline stays inline\n"})
	os.MkdirAll(filepath.Join(dir, "root"), 0o755)
	w, err := capture.Capture(capture.Request{Manifest: filepath.Join(dir, "system.yaml"), Root: root, Paths: []string{"/var/lib/app/bin.dat", "/var/lib/app/app.conf"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != 2 || w[0].Where != "root/var/lib/app/bin.dat" || w[1].Where != "files.inline[0]" {
		t.Errorf("written: %+v", w)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "root/var/lib/app/bin.dat")); string(b) != "\x00\x01binary" {
		t.Errorf("skeleton file: %q", b)
	}
}

func TestCaptureRefuses(t *testing.T) {
	dir, root := setup(t, base, map[string]string{"/var/bin.dat": "\x00binary"})
	mf := filepath.Join(dir, "system.yaml")
	for _, c := range []struct{ path, want string }{
		{"/var/bin.dat", "not text, so it cannot be an inline entry: give the manifest a files.skeleton"},
		{"var/x", "give the absolute path of a file"},
		{"/var", "not a regular file"},
		{"/var/none", "no such file"},
	} {
		_, err := capture.Capture(capture.Request{Manifest: mf, Root: root, Paths: []string{c.path}})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.path, err, c.want)
		}
	}
	if b, _ := os.ReadFile(mf); string(b) != base {
		t.Errorf("the manifest changed after refusals:\n%s", b)
	}
}
