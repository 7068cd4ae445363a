//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// installedBase gives a root a first package, so that refusals are
// checked against a root with a database and files.
func installedBase(t *testing.T) *env {
	t.Helper()
	e := newEnv(t)
	e.add(spec("base", "1", dir("etc"), file("etc/base.conf", "base\n"), dir("usr"), dir("usr/share"), file("usr/share/base", "b")))
	e.mustAdd("base")
	return e
}

// bigSpec is a package whose data is large enough that extraction is well
// under way when a damaged end is noticed.
func bigSpec(name string) apkfile.PackageSpec {
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	return spec(name, "1", dir("usr"), dir("usr/lib"), dir("usr/lib/"+name),
		file("usr/lib/"+name+"/a", "first"),
		apkfile.FileSpec{Path: "usr/lib/" + name + "/big", Mode: 0o644, Data: big},
		file("usr/lib/"+name+"/z", "last"))
}

func expectRefused(t *testing.T, e *env, name, wantErr string) {
	t.Helper()
	before := snapshot(t, e.root)
	_, err := e.addWorld(name)
	if err == nil {
		t.Fatalf("installing %s succeeded", name)
	}
	t.Logf("refused: %v", err)
	if !strings.Contains(err.Error(), wantErr) {
		t.Errorf("error %q does not say %q", err, wantErr)
	}
	if !strings.HasPrefix(err.Error(), "install "+name+"-") {
		t.Errorf("error %q does not name the package", err)
	}
	assertUnchanged(t, before, e.root)
	if e.out.Len() != 0 {
		t.Errorf("printed although nothing was done:\n%s", e.out.String())
	}
}

func TestRefuseDamagedPackages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, data []byte) []byte
		want   string
	}{
		{"datahash", func(t *testing.T, data []byte) []byte {
			// The gzip header's OS byte: the data still decompresses,
			// only the datahash can tell.
			offs := memberOffsets(t, data)
			data[offs[2]+9] ^= 0xff
			return data
		}, "datahash mismatch"},
		{"flipped-byte", func(t *testing.T, data []byte) []byte {
			data[len(data)-5] ^= 0x01 // in the gzip trailer's size
			return data
		}, "gzip"},
		{"flipped-control", func(t *testing.T, data []byte) []byte {
			offs := memberOffsets(t, data)
			data[offs[1]+9] ^= 0xff
			return data
		}, "UNTRUSTED"},
		{"truncated", func(t *testing.T, data []byte) []byte {
			return data[:len(data)*2/3]
		}, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := installedBase(t)
			info := e.add(bigSpec("victim"))
			key := string(info.Checksum)
			e.files[key] = tc.damage(t, bytes.Clone(e.files[key]))
			expectRefused(t, e, "victim", tc.want)
		})
	}
}

func TestRefuseWrongKey(t *testing.T) {
	e := installedBase(t)
	e.add(bigSpec("victim"))
	e.verify = apkfile.Options{Keys: apkfile.NewKeyring()}
	expectRefused(t, e, "victim", "UNTRUSTED signature")
}

func TestRefuseWrongIdentity(t *testing.T) {
	e := installedBase(t)
	good := e.add(bigSpec("victim"))
	other := e.add(spec("victim", "1", dir("etc"), file("etc/other", "x")))
	// The index promises one package, the mirror serves another (signed
	// and intact, but not the one the index lists).
	e.files[string(good.Checksum)] = e.files[string(other.Checksum)]
	e.avail = e.avail[:len(e.avail)-1]
	expectRefused(t, e, "victim", "does not match")
}

func TestRefusePathEscapes(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries []rawEntry
		want    string
	}{
		{"dotdot", []rawEntry{dirEntry("usr"), regEntry("usr/../../escaped", "x")}, "'..' component"},
		{"leading-dotdot", []rawEntry{regEntry("../escaped", "x")}, "'..' component"},
		{"absolute", []rawEntry{regEntry("/tmp/escaped", "x")}, "absolute path"},
		{"control-char", []rawEntry{regEntry("bad\nname", "x")}, "control character"},
		{"symlinked-parent", []rawEntry{
			dirEntry("usr"),
			linkEntry("usr/evil", "/HOST", tar.TypeSymlink),
			regEntry("usr/evil/escaped", "x"),
		}, "not a directory in the package"},
		{"symlinked-parent-dir-entry", []rawEntry{
			linkEntry("evil", "../../../../HOST", tar.TypeSymlink),
			dirEntry("evil"),
			regEntry("evil/escaped", "x"),
		}, "both a directory and a file"},
		{"hardlink-outside", []rawEntry{dirEntry("etc"), linkEntry("etc/pw", "../../../../etc/passwd", tar.TypeLink)}, "'..' component"},
		{"hardlink-absolute", []rawEntry{dirEntry("etc"), linkEntry("etc/pw", "/etc/passwd", tar.TypeLink)}, "absolute path"},
		{"hardlink-unknown", []rawEntry{dirEntry("etc"), linkEntry("etc/pw", "etc/passwd", tar.TypeLink)}, "not an earlier file of the package"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := installedBase(t)
			host := t.TempDir()
			os.WriteFile(filepath.Join(host, "sentinel"), []byte("host"), 0o644)
			for i := range tc.entries {
				tc.entries[i].Header.Linkname = strings.ReplaceAll(tc.entries[i].Header.Linkname, "HOST", strings.TrimPrefix(host, "/"))
			}
			// Real files first, so that something is extracted before
			// the bad entry.
			entries := append([]rawEntry{dirEntry("opt"), regEntry("opt/first", "1")}, tc.entries...)
			e.addRawPackage("evil", "1", entries...)
			hostBefore := snapshot(t, host)
			expectRefused(t, e, "evil", tc.want)
			assertUnchanged(t, hostBefore, host)
			var upe *UnsafePathError
			if _, err := e.addWorld("evil"); !errors.As(err, &upe) && tc.name != "symlinked-parent-dir-entry" {
				t.Errorf("error %v is not an UnsafePathError", err)
			}
		})
	}
}

// A symlink already in the root is followed inside the root, never to the
// host: chroot semantics.
func TestSymlinkInRootStaysInRoot(t *testing.T) {
	e := newEnv(t)
	host := t.TempDir()
	os.WriteFile(filepath.Join(host, "sentinel"), []byte("host"), 0o644)
	hostBefore := snapshot(t, host)
	// ROOT/data -> /<host> and ROOT/rel -> ../../../<host>, as an
	// unpacked image could hold them.
	os.MkdirAll(e.path(host), 0o755)
	os.Symlink(host, e.path("data"))
	os.Symlink("../../../../../../../.."+host, e.path("rel"))
	e.add(spec("pkg", "1", dir("data"), file("data/file", "in root"), dir("rel"), file("rel/other", "also")))
	e.mustAdd("pkg")
	assertUnchanged(t, hostBefore, host)
	for _, p := range []string{"file", "other"} {
		if _, err := os.Stat(filepath.Join(e.root, host, p)); err != nil {
			t.Errorf("%s did not land inside the root: %v", p, err)
		}
	}
}

func TestRefuseConflict(t *testing.T) {
	e := installedBase(t)
	e.add(spec("intruder", "1", dir("opt"), file("opt/mine", "m"), dir("etc"), file("etc/base.conf", "mine")))
	before := snapshot(t, e.root)
	_, err := e.addWorld("intruder")
	var ce *ConflictError
	if !errors.As(err, &ce) || ce.Path != "etc/base.conf" || ce.Owner != "base-1" {
		t.Fatalf("error %v, want a conflict on etc/base.conf with base-1", err)
	}
	if want := "install intruder-1: trying to overwrite etc/base.conf owned by base-1"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	assertUnchanged(t, before, e.root)

	// Two new packages of one commit conflict just the same.
	e.add(spec("twin-a", "1", dir("opt"), file("opt/twin", "a")))
	e.add(spec("twin-b", "1", dir("opt"), file("opt/twin", "b")))
	if _, err := e.addWorld("twin-a", "twin-b"); !errors.As(err, &ce) {
		t.Fatalf("error %v, want a conflict", err)
	}
	assertUnchanged(t, before, e.root)
}

func TestOverwriteAllowed(t *testing.T) {
	t.Run("replaces", func(t *testing.T) {
		e := installedBase(t)
		s := spec("newbase", "1", dir("etc"), file("etc/base.conf", "new\n"))
		s.Replaces = deps("base")
		e.add(s)
		e.mustAdd("newbase")
		if e.readFile("etc/base.conf") != "new\n" {
			t.Error("etc/base.conf was not replaced")
		}
		// The file moved from base's record to newbase's.
		if r := e.record("base"); r == nil || hasFile(r, "etc", "base.conf") {
			t.Errorf("base still owns etc/base.conf: %+v", r)
		}
		if r := e.record("newbase"); !hasFile(r, "etc", "base.conf") {
			t.Error("newbase does not own etc/base.conf")
		}
		// Removing base now leaves the file alone.
		if _, err := e.del("base"); err != nil {
			t.Fatal(err)
		}
		if e.readFile("etc/base.conf") != "new\n" {
			t.Error("removing base removed newbase's file")
		}
	})
	t.Run("same-origin", func(t *testing.T) {
		e := newEnv(t)
		a := spec("lib-a", "1", dir("usr"), file("usr/shared", "a"))
		a.Info.Origin = "lib"
		b := spec("lib-b", "1", dir("usr"), file("usr/shared", "b"))
		b.Info.Origin = "lib"
		e.add(a)
		e.add(b)
		e.mustAdd("lib-a")
		e.mustAdd("lib-b")
		if e.readFile("usr/shared") != "b" {
			t.Error("same-origin package did not overwrite")
		}
	})
	t.Run("priority-keeps", func(t *testing.T) {
		e := newEnv(t)
		keeper := spec("keeper", "1", dir("etc"), file("etc/x", "keeper"))
		keeper.Replaces, keeper.ReplacesPriority = deps("other"), 10
		other := spec("other", "1", dir("etc"), file("etc/x", "other"), file("etc/y", "y"))
		other.Replaces, other.ReplacesPriority = deps("keeper"), 1
		e.add(keeper)
		e.add(other)
		e.mustAdd("keeper")
		e.mustAdd("other")
		if e.readFile("etc/x") != "keeper" || e.readFile("etc/y") != "y" {
			t.Error("the higher replaces_priority did not keep its file")
		}
		if hasFile(e.record("other"), "etc", "x") {
			t.Error("other recorded a file it did not install")
		}
		leftovers(t, e.root)
	})
	t.Run("force", func(t *testing.T) {
		e := installedBase(t)
		e.add(spec("intruder", "1", dir("etc"), file("etc/base.conf", "forced")))
		e.force = true
		e.mustAdd("intruder")
		if !strings.Contains(e.errOut.String(), "WARNING: intruder-1: overwriting etc/base.conf owned by base-1.") {
			t.Errorf("no warning: %q", e.errOut.String())
		}
	})
}

func hasFile(r *apk.InstalledPackage, dir, name string) bool {
	if r == nil {
		return false
	}
	for _, d := range r.Dirs {
		if d.Path == dir {
			for _, f := range d.Files {
				if f.Name == name {
					return true
				}
			}
		}
	}
	return false
}

func TestRefuseDiskFull(t *testing.T) {
	testutil.Require(t, os.Geteuid() == 0, "root (to mount a small tmpfs)")
	e := newEnv(t)
	e.root = t.TempDir()
	if err := unix.Mount("tmpfs", e.root, "tmpfs", 0, "size=256k,mode=755"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(e.root, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", e.root, err)
		}
	})
	e.add(spec("small", "1", dir("etc"), file("etc/small", "s")))
	e.mustAdd("small")
	e.add(bigSpec("huge")) // 1 MiB into 256 KiB
	expectRefused(t, e, "huge", "no space left on device")
}
