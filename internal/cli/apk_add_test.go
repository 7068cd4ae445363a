package cli

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// realRepo is a local repository of real Alpine packages, indexed and
// signed by `cairn apk index` with a test key, and a keys directory that
// trusts it and Alpine.
type realRepo struct {
	dir, keys, keyFile, keyName string
}

var demoPackages = []string{"alpine-baselayout-data-3.4.3-r2", "alpine-keys-2.4-r1", "alpine-release-3.19.1-r0", "tzdata-2023d-r0"}

func newRealRepo(t *testing.T, pkgs ...string) *realRepo {
	t.Helper()
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	r := &realRepo{dir: filepath.Join(t.TempDir(), "repo"), keys: t.TempDir()}
	arch := filepath.Join(r.dir, "x86_64")
	if err := os.MkdirAll(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, p := range pkgs {
		copyFile(t, filepath.Join(fx, "packages", p+".apk"), filepath.Join(arch, p+".apk"))
		files = append(files, filepath.Join(arch, p+".apk"))
	}
	keys, _ := filepath.Glob(filepath.Join(fx, "keys", "*.rsa.pub"))
	for _, k := range keys {
		copyFile(t, k, filepath.Join(r.keys, filepath.Base(k)))
	}
	key := apktest.Key(t)
	r.keyName = apktest.KeyName(&key.PublicKey)
	r.keyFile = filepath.Join(t.TempDir(), "key.rsa")
	writeFile(t, r.keyFile, apktest.PrivateKeyPEM(key))
	writeFile(t, filepath.Join(r.keys, r.keyName), apktest.PublicKeyPEM(&key.PublicKey))
	args := append([]string{"apk", "index", "--keys-dir", r.keys, "--rewrite-arch", "x86_64",
		"--sign-key", r.keyFile, "--key-name", r.keyName, "-o", filepath.Join(arch, "APKINDEX.tar.gz")}, files...)
	if code, _, stderr := run(t, args...); code != 0 {
		t.Fatalf("apk index: exit %d: %s", code, stderr)
	}
	return r
}

func (r *realRepo) add(t *testing.T, root string, extra ...string) (int, string, string) {
	t.Helper()
	args := append([]string{"apk", "add", "--root", root, "--initdb", "--keys-dir", r.keys, "--repository", r.dir}, extra...)
	return run(t, args...)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, b)
}

func writeFile(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(name, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestAPKAddRealPackages installs real Alpine packages with `cairn apk
// add` and checks every entry of every archive against the root.
func TestAPKAddRealPackages(t *testing.T) {
	r := newRealRepo(t, demoPackages...)
	root := filepath.Join(t.TempDir(), "root")
	code, stdout, stderr := r.add(t, root, "alpine-release", "tzdata", "alpine-baselayout-data")
	if code != 0 {
		t.Fatalf("apk add: exit %d\n%s%s", code, stdout, stderr)
	}
	if !strings.HasSuffix(stdout, "OK: 3 MiB in 4 packages\n") {
		t.Errorf("summary: %q", stdout)
	}

	keys, err := apkfile.LoadKeyring(r.keys)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range demoPackages {
		f, err := os.Open(filepath.Join(r.dir, "x86_64", p+".apk"))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := apkfile.Open(f, apkfile.Options{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for {
			h, err := rd.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			n++
			checkEntry(t, root, h, rd)
		}
		f.Close()
		if n == 0 {
			t.Errorf("%s has no entries", p)
		}
	}

	if b, _ := os.ReadFile(filepath.Join(root, "etc/apk/world")); string(b) != "alpine-baselayout-data\nalpine-release\ntzdata\n" {
		t.Errorf("world: %q", b)
	}
	db, err := os.ReadFile(filepath.Join(root, "lib/apk/db/installed"))
	if err != nil {
		t.Fatal(err)
	}
	installed, err := apk.ParseInstalledDB(string(db))
	if err != nil {
		t.Fatalf("installed database: %v", err)
	}
	var names []string
	for _, ip := range installed {
		names = append(names, ip.NameVersion())
		for _, d := range ip.Dirs {
			for _, f := range d.Files {
				full := filepath.Join(root, d.Path, f.Name)
				if _, err := os.Lstat(full); err != nil {
					t.Errorf("%s records %s, which is missing", ip.Name, full)
				}
			}
		}
	}
	if got := strings.Join(names, " "); got != strings.Join(demoPackages, " ") {
		t.Errorf("installed: %s", got)
	}
	if string(apk.FormatInstalledDB(installed)) != string(db) {
		t.Error("the installed database does not round-trip")
	}
}

// checkEntry compares one archive entry with the file in root.
func checkEntry(t *testing.T, root string, h *tar.Header, r io.Reader) {
	t.Helper()
	name := strings.TrimSuffix(h.Name, "/")
	full := filepath.Join(root, name)
	fi, err := os.Lstat(full)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return
	}
	if got, want := fi.Mode().Perm(), fs.FileMode(h.Mode).Perm(); got != want {
		t.Errorf("%s: mode %v, archive says %v", name, got, want)
	}
	switch h.Typeflag {
	case tar.TypeReg:
		want, _ := io.ReadAll(r)
		got, err := os.ReadFile(full)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: content differs from the archive (err %v)", name, err)
		}
		if sum := h.PAXRecords["APK-TOOLS.checksum.SHA1"]; sum == "" {
			t.Errorf("%s: no checksum in the archive", name)
		}
	case tar.TypeSymlink:
		if got, _ := os.Readlink(full); got != h.Linkname {
			t.Errorf("%s: symlink to %q, archive says %q", name, got, h.Linkname)
		}
	case tar.TypeDir:
		if !fi.IsDir() {
			t.Errorf("%s: not a directory", name)
		}
	}
}

// snapshot records every path of a tree with its type, mode and content
// digest (directory mtimes change when temporary files come and go).
func snapshot(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := rel + " " + fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			line += " " + hex.EncodeToString(sum[:]) + " " + fi.ModTime().UTC().String()
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// TestAPKAddRefusals damages the repository in the ways the acceptance
// list names and checks that `cairn apk add` refuses with a clear error
// and leaves a root that already has packages exactly as it was.
func TestAPKAddRefusals(t *testing.T) {
	fresh := func(t *testing.T) (*realRepo, string) {
		r := newRealRepo(t, demoPackages...)
		root := filepath.Join(t.TempDir(), "root")
		if code, out, errOut := r.add(t, root, "alpine-baselayout-data"); code != 0 {
			t.Fatalf("first install: exit %d\n%s%s", code, out, errOut)
		}
		return r, root
	}
	pkgPath := func(r *realRepo, p string) string { return filepath.Join(r.dir, "x86_64", p+".apk") }
	flip := func(t *testing.T, file string, at func(n int) int) {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		b[at(len(b))] ^= 0x40
		writeFile(t, file, b)
	}

	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, r *realRepo)
		want   string
		code   int
	}{
		{"flipped byte in the data", func(t *testing.T, r *realRepo) {
			flip(t, pkgPath(r, "tzdata-2023d-r0"), func(n int) int { return n - 5000 })
		}, "tzdata-2023d-r0", ExitUntrusted},
		{"flipped byte in the control part", func(t *testing.T, r *realRepo) {
			flip(t, pkgPath(r, "tzdata-2023d-r0"), func(int) int { return 900 })
		}, "tzdata-2023d-r0", ExitUntrusted},
		{"truncated package", func(t *testing.T, r *realRepo) {
			p := pkgPath(r, "tzdata-2023d-r0")
			b, _ := os.ReadFile(p)
			writeFile(t, p, b[:len(b)/2])
		}, "tzdata-2023d-r0", ExitUntrusted},
		{"flipped byte in the index", func(t *testing.T, r *realRepo) {
			flip(t, filepath.Join(r.dir, "x86_64", "APKINDEX.tar.gz"), func(n int) int { return n / 2 })
		}, "index", ExitUntrusted},
		{"index signed by an untrusted key", func(t *testing.T, r *realRepo) {
			os.Remove(filepath.Join(r.keys, r.keyName))
		}, "UNTRUSTED", ExitUntrusted},
		{"package signed by an untrusted key", func(t *testing.T, r *realRepo) {
			os.Remove(filepath.Join(r.keys, "alpine-devel@lists.alpinelinux.org-6165ee59.rsa.pub"))
		}, "UNTRUSTED", ExitUntrusted},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, root := fresh(t)
			before := snapshot(t, root)
			tc.damage(t, r)
			code, stdout, stderr := run(t, "apk", "add", "--root", root, "--keys-dir", r.keys, "--repository", r.dir, "tzdata", "alpine-release")
			if code == 0 {
				t.Fatalf("damaged repository accepted:\n%s%s", stdout, stderr)
			}
			if code != tc.code {
				t.Errorf("exit %d, want %d", code, tc.code)
			}
			if !strings.HasPrefix(stderr, "ERROR: ") || !strings.Contains(stderr, tc.want) {
				t.Errorf("error does not say what is wrong (want %q): %s", tc.want, stderr)
			}
			if after := snapshot(t, root); after != before {
				t.Errorf("the root changed:\n%s", lineDiff(before, after))
			}
		})
	}
}

// TestAPKAddPathEscape: a package whose paths escape the root is refused,
// nothing lands outside the root, and the root is unchanged.
func TestAPKAddPathEscape(t *testing.T) {
	host := t.TempDir()
	key := apktest.Key(t)
	keyName := apktest.KeyName(&key.PublicKey)
	for _, tc := range []struct {
		name    string
		entries []apktest.RawEntry
		want    string
	}{
		{"dotdot", []apktest.RawEntry{apktest.RawFile("../../../../.."+host+"/escaped", "x")}, "'..'"},
		{"absolute", []apktest.RawEntry{apktest.RawFile(host+"/escaped", "x")}, "absolute"},
		{"symlinked parent", []apktest.RawEntry{apktest.RawLink("evil", host, tar.TypeSymlink), apktest.RawFile("evil/escaped", "x")}, "evil"},
		{"hard link outside", []apktest.RawEntry{apktest.RawLink("pw", "../../../../etc/passwd", tar.TypeLink)}, "'..'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := apktest.NewRepo(t, "")
			repo.Add(apktest.Pkg("base", "1").File("etc/base.conf", 0o644, "base\n"))
			data, info := apktest.RawPackage(t, key, keyName, "evil", "1", tc.entries...)
			repo.Write()
			info.Arch = repo.Arch
			writeFile(t, filepath.Join(repo.Dir, repo.Arch, "evil-1.apk"), data)
			idx := append(repo.Index(), info)
			arc, err := apkfile.BuildIndexArchive(idx, "test")
			if err != nil {
				t.Fatal(err)
			}
			arc, err = apkfile.SignIndexArchive(arc, apkfile.Signer{Key: key, Name: keyName})
			if err != nil {
				t.Fatal(err)
			}
			writeFile(t, repo.IndexPath(), arc)

			root := filepath.Join(t.TempDir(), "root")
			args := []string{"apk", "add", "--root", root, "--initdb", "--keys-dir", repo.KeysDir, "--repository", repo.URL()}
			if code, out, errOut := run(t, append(args, "base")...); code != 0 {
				t.Fatalf("base: exit %d\n%s%s", code, out, errOut)
			}
			before := snapshot(t, root)
			code, stdout, stderr := run(t, append(args, "evil")...)
			if code == 0 {
				t.Fatalf("escaping package accepted:\n%s%s", stdout, stderr)
			}
			if !strings.Contains(stderr, "evil-1") || !strings.Contains(stderr, tc.want) {
				t.Errorf("error does not name the package and the problem (%q): %s", tc.want, stderr)
			}
			if _, err := os.Lstat(filepath.Join(host, "escaped")); err == nil {
				t.Fatal("a file was written outside the root")
			}
			if after := snapshot(t, root); after != before {
				t.Errorf("the root changed:\n%s", lineDiff(before, after))
			}
		})
	}
}
