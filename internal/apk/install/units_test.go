//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
)

func TestEntryPath(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		skip, bad  bool
	}{
		{name: "etc/", want: "etc"},
		{name: "usr/bin/foo", want: "usr/bin/foo"},
		{name: ".PKGINFO", skip: true},
		{name: ".dummy", skip: true},
		{name: "./etc/foo", skip: true},
		{name: "../etc/passwd", bad: true},
		{name: "..", bad: true},
		{name: "usr/../../x", bad: true},
		{name: "usr/..", bad: true},
		{name: "/etc/passwd", bad: true},
		{name: "usr//bin", bad: true},
		{name: "usr/./bin", bad: true},
		{name: "usr/b\x01n", bad: true},
		{name: "usr/b\x7fn", bad: true},
		{name: "", bad: true},
		{name: "usr/.hidden", want: "usr/.hidden"},
	} {
		got, skip, err := entryPath(tc.name)
		if (err != nil) != tc.bad || skip != tc.skip || got != tc.want {
			t.Errorf("entryPath(%q) = %q, %v, %v", tc.name, got, skip, err)
		}
	}
}

func TestTmpNameIsApks(t *testing.T) {
	// sha256("busybox\x00bin/busybox")[:24] in hex, as apk names it.
	if got := tmpName("busybox", "bin", "busybox"); len(got) != len(".apk.")+48 || got[:5] != ".apk." {
		t.Errorf("tmpName = %q", got)
	}
	if tmpName("a", "", "x") == tmpName("b", "", "x") {
		t.Error("tmpName ignores the package")
	}
}

func TestScriptsTarFormat(t *testing.T) {
	pkg := &apk.Package{Name: "busybox", Version: "1.36.1-r15", BuildTime: 1700000000, Checksum: make(apk.Checksum, 20)}
	data := formatScriptsTar([]scriptsEntry{{Pkg: pkg, Scripts: map[string][]byte{
		"trigger": []byte("#!/bin/sh\n"), "post-install": []byte("#!/bin/sh\necho hi\n"),
	}}}, 0)
	// Header, 512-byte body, header, 512-byte body, two end blocks.
	if len(data) != 6*512 {
		t.Fatalf("%d bytes", len(data))
	}
	h := data[:512]
	for _, f := range []struct {
		name   string
		off, n int
		want   string
	}{
		{"name", 0, 63, "busybox-1.36.1-r15.Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=.post-install\x00"},
		{"mode", 100, 8, "0000755\x00"},
		{"uid", 108, 8, "0000000\x00"},
		{"size", 124, 12, "000000000022"}, // apk: 12 digits, no NUL
		{"mtime", 136, 12, "014524770400"},
		{"magic", 257, 8, "ustar  \x00"},
		{"uname", 265, 5, "root\x00"},
	} {
		if got := string(h[f.off : f.off+f.n]); got != f.want {
			t.Errorf("%s = %q, want %q", f.name, got, f.want)
		}
	}
	tr := tar.NewReader(bytes.NewReader(data))
	var names []string
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, hdr.Name)
		if hdr.ModTime.Unix() != 1700000000 || hdr.Mode != 0o755 {
			t.Errorf("%s: mtime %v mode %o", hdr.Name, hdr.ModTime, hdr.Mode)
		}
	}
	if want := []string{
		"busybox-1.36.1-r15.Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=.post-install",
		"busybox-1.36.1-r15.Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=.trigger",
	}; !reflect.DeepEqual(names, want) {
		t.Errorf("entries %q", names)
	}
	back, err := parseScriptsTar(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := back[pkg.Checksum.String()]; string(got["post-install"]) != "#!/bin/sh\necho hi\n" || len(got) != 2 {
		t.Errorf("read back %q", got)
	}
}

func TestTriggerDirs(t *testing.T) {
	known := map[string]bool{"": true, "usr": true, "usr/lib": true, "usr/lib/modules": true, "usr/lib/modules/6.6": true, "usr/share/fonts": true, "usr/share/fonts/ttf": true}
	modified := map[string]bool{"usr/lib/modules/6.6": true, "usr/share/fonts": true}
	globs := []string{"/usr/lib/modules/*", "/usr/share/fonts/*", "relative/ignored"}
	if got := triggerDirs(globs, false, known, modified); !reflect.DeepEqual(got, []string{"/usr/lib/modules/6.6"}) {
		t.Errorf("modified only: %q", got)
	}
	if got := triggerDirs(globs, true, known, modified); !reflect.DeepEqual(got, []string{"/usr/lib/modules/6.6", "/usr/share/fonts/ttf"}) {
		t.Errorf("all: %q", got)
	}
	if got := triggerDirs([]string{"/"}, true, known, modified); !reflect.DeepEqual(got, []string{"/"}) {
		t.Errorf("root: %q", got)
	}
}

func TestMaterializes(t *testing.T) {
	p := &apk.Package{Name: "foo", Version: "1.2-r0", Checksum: make(apk.Checksum, 20)}
	for dep, want := range map[string]bool{
		"foo":                         true,
		"foo<2":                       true,
		"foo>2":                       false,
		"foo~1.2":                     true,
		"bar":                         false,
		"!foo":                        false,
		"!bar":                        true,
		"foo><" + p.Checksum.String(): true,
	} {
		d, err := apk.ParseDependency(dep)
		if err != nil {
			t.Fatal(err)
		}
		if got := materializes(d, p); got != want {
			t.Errorf("%s: %v", dep, got)
		}
	}
}

func TestMergeDirACL(t *testing.T) {
	a := mergeDirACL(apk.ACL{}, false, apk.ACL{UID: 5, GID: 5, Mode: 0o775})
	a = mergeDirACL(a, true, apk.ACL{UID: 0, GID: 0, Mode: 0o755}) // lower owner wins
	a = mergeDirACL(a, true, apk.ACL{UID: 0, GID: 0, Mode: 0o750}) // same owner: modes intersect
	a = mergeDirACL(a, true, apk.ACL{UID: 9, GID: 0, Mode: 0o777}) // higher owner: ignored
	if a.UID != 0 || a.GID != 0 || a.Mode != 0o750 {
		t.Errorf("merged %+v", a)
	}
}

func TestIDCache(t *testing.T) {
	files := map[string]string{
		"etc/passwd": "root:x:0:0::/root:/bin/sh\nsvc:x:100:101::/:/bin/false\nsvc:x:999:999::/:\nbroken\n",
		"etc/group":  "root:x:0:\nsvc:x:101:\n",
	}
	ids := newIDCache(func(f string) ([]byte, error) { return []byte(files[f]), nil })
	if ids.uid("svc", 7) != 100 || ids.gid("svc", 7) != 101 || ids.uid("ghost", 7) != 7 || ids.uid("", 3) != 3 {
		t.Error("lookup")
	}
	files["etc/passwd"] = "svc:x:200:200::/:\n"
	if ids.uid("svc", 7) != 100 {
		t.Error("cached until reset")
	}
	ids.reset()
	if ids.uid("svc", 7) != 200 {
		t.Error("reset")
	}
}
