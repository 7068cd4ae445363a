//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
)

// FuzzExtract installs packages whose data part is arbitrary bytes (most
// are not even tar) into a root that already holds a package. Whatever
// happens, nothing may appear outside the root, the installer must not
// panic, and a refused package must leave the root as it was.
func FuzzExtract(f *testing.F) {
	seed := func(entries ...apktest.RawEntry) []byte {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, en := range entries {
			h := en.Header
			if h.Typeflag == tar.TypeReg {
				h.Size = int64(len(en.Body))
			}
			h.ModTime = time.Unix(apktest.DefaultBuildTime, 0)
			tw.WriteHeader(&h)
			tw.Write(en.Body)
		}
		tw.Close()
		return b.Bytes()
	}
	f.Add(seed(apktest.RawDir("etc"), apktest.RawFile("etc/x", "x")))
	f.Add(seed(apktest.RawFile("../escape", "x")))
	f.Add(seed(apktest.RawLink("l", "/", tar.TypeSymlink), apktest.RawFile("l/escape", "x")))
	f.Add(seed(apktest.RawLink("h", "../../../etc/passwd", tar.TypeLink)))
	f.Add([]byte("not a tar at all"))

	// All packages are unsigned: RSA key generation and signing in a
	// coverage-instrumented binary would take all the fuzzing time.
	baseData, baseInfo := apktest.RawPackage(f, nil, "", "base", "1", apktest.RawDir("etc"), apktest.RawFile("etc/base.conf", "base\n"))

	f.Fuzz(func(t *testing.T, data []byte) {
		outside := t.TempDir()
		e := &env{t: t, root: t.TempDir(), files: map[string][]byte{}}
		e.verify.AllowUntrusted = true
		e.addRaw(baseInfo, baseData)
		e.mustAdd("base")
		before := snapshot(t, e.root)

		pkg, info := apktest.RawDataPackage(t, nil, "", "fuzzed", "1", data)
		e.addRaw(info, pkg)
		_, err := e.addWorld("base", "fuzzed")

		if entries, _ := os.ReadDir(outside); len(entries) != 0 {
			t.Fatalf("something was written outside the root: %v", entries)
		}
		if err != nil {
			if after := snapshot(t, e.root); !equalSnapshots(before, after) {
				t.Fatalf("refused package changed the root: %v", err)
			}
			return
		}
		// Accepted: every recorded file is inside the root.
		for _, ip := range e.installedDB() {
			for _, d := range ip.Dirs {
				for _, fl := range d.Files {
					p := filepath.Join(e.root, d.Path, fl.Name)
					if rel, err := filepath.Rel(e.root, p); err != nil || rel == ".." || len(rel) > 2 && rel[:3] == "../" {
						t.Fatalf("recorded file %s is outside the root", p)
					}
				}
			}
		}
	})
}

func equalSnapshots(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
