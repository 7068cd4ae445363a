package apk

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

func TestParseIndexRoundTrip(t *testing.T) {
	text := `C:Q1YCZ4e/kV0Uaynh14//zvTTyN7x8=
P:7zip
V:23.01-r0
A:x86_64
S:866787
I:1720320
T:File archiver with a high compression ratio
U:https://7-zip.org/
L:LGPL-2.0-only
o:7zip
m:Alex Xu (Hello71) <alex_y_xu@yahoo.ca>
t:1688146859
c:da4780262417a9446b7d13fe9bb7e83c54edb53d
k:100
D:so:libc.musl-x86_64.so.1 so:libgcc_s.so.1 so:libstdc++.so.6
p:7zip-virtual p7zip=23.01-r0 cmd:7z=23.01-r0 cmd:7zz=23.01-r0

C:Q19qUyV9TFS+tErPDBnvqG7VqyvyM=
P:7zip-doc
V:23.01-r0
A:x86_64
S:38269
I:155648
T:File archiver with a high compression ratio (documentation)
U:https://7-zip.org/
L:LGPL-2.0-only
o:7zip
m:Alex Xu (Hello71) <alex_y_xu@yahoo.ca>
t:1688146859
c:da4780262417a9446b7d13fe9bb7e83c54edb53d
k:100
i:docs 7zip=23.01-r0

`
	pkgs, err := ParseIndex(text)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 || pkgs[0].ProviderPriority != 100 || len(pkgs[0].Provides) != 4 || len(pkgs[1].InstallIf) != 2 {
		t.Fatalf("parsed %+v", pkgs)
	}
	if got := string(FormatIndex(pkgs)); got != text {
		t.Errorf("FormatIndex does not reproduce the record:\n%s", got)
	}
}

func TestParseIndexErrors(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"no colon", "P:a\nVx\n", "line 2:"},
		{"no version", "P:a\nS:1\n", "line 1: record has no P: name or V: version"},
		{"bad size", "P:a\nV:1\nS:x\n", "line 3: field S:"},
		{"bad checksum", "C:Q1notbase64!\nP:a\nV:1\n", "line 1: field C:"},
	} {
		_, err := ParseIndex(tc.text)
		if err == nil || !contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
}

func TestParseIndexUnknownFields(t *testing.T) {
	pkgs, err := ParseIndex("P:a\nV:1\nx:whatever\n\nP:b\nV:1\nX:needs-new-apk\n")
	if err != nil {
		t.Fatal(err)
	}
	if pkgs[0].Uninstallable || !pkgs[1].Uninstallable {
		t.Errorf("lower-case unknown fields are ignored, upper-case ones make the package uninstallable: %v %v", pkgs[0].Uninstallable, pkgs[1].Uninstallable)
	}
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && indexOf(s, sub) >= 0)
}

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

// TestInstalledDBRoundTrip parses a real Alpine installed database and
// writes it back byte for byte.
func TestInstalledDBRoundTrip(t *testing.T) {
	file := filepath.Join(testutil.Fixtures(t), "apk-tools-2.14", "installed-db-alpine-3.21.txt")
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := ParseInstalledDB(string(b))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 39 {
		t.Errorf("%d packages, want 39", len(pkgs))
	}
	shuffled := append([]*InstalledPackage(nil), pkgs...)
	for i, j := 0, len(shuffled)-1; i < j; i, j = i+1, j-1 {
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	SortInstalled(shuffled)
	if got := FormatInstalledDB(shuffled); string(got) != string(b) {
		t.Error("installed database does not round-trip byte for byte")
	}
}

// TestInstalledDBMetaLinesMove checks apk 2.14's way of writing the
// installed-only lines of a package without directories: they go out with
// the next package's first F: line, after that package's header and
// before its own such lines, and are lost after the last package.
func TestInstalledDBMetaLinesMove(t *testing.T) {
	meta := &InstalledPackage{Package: Package{Name: "alpine-base", Version: "1"}, Replaces: []Dependency{{Name: "old-base", Mask: DepMaskAny}}, RepositoryTag: "edge"}
	data := &InstalledPackage{Package: Package{Name: "data", Version: "2"}, Replaces: []Dependency{{Name: "x", Mask: DepMaskAny}}, BrokenScript: true,
		Dirs: []InstalledDir{{Path: "etc", ACL: DefaultDirACL}, {Path: "usr", ACL: DefaultDirACL}}}
	last := &InstalledPackage{Package: Package{Name: "zz-meta", Version: "3"}, ReplacesPriority: 5}
	got := string(FormatInstalledDB([]*InstalledPackage{meta, data, last}))
	hdr := func(name, version string) string {
		return "C:\nP:" + name + "\nV:" + version + "\nS:0\nI:0\nT:\nU:\nL:\n"
	}
	want := hdr("alpine-base", "1") + "\n" +
		hdr("data", "2") + "r:old-base\ns:edge\nr:x\nf:s\nF:etc\nF:usr\n\n" +
		hdr("zz-meta", "3") + "\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

func FuzzParseIndex(f *testing.F) {
	f.Add("C:Q1YCZ4e/kV0Uaynh14//zvTTyN7x8=\nP:a\nV:1\nD:b c>1\np:so:x=1\ni:d\n\nP:b\nV:2\n")
	f.Add("P:a\nV:1\nF:usr\nR:x\nZ:Q1YCZ4e/kV0Uaynh14//zvTTyN7x8=\na:0:0:755\n")
	f.Fuzz(func(t *testing.T, text string) {
		pkgs, err := ParseIndex(text)
		if err != nil {
			return
		}
		again, err := ParseIndex(string(FormatIndex(pkgs)))
		if err != nil {
			t.Fatalf("formatted index does not parse: %v", err)
		}
		if len(again) != len(pkgs) {
			t.Fatalf("%d packages became %d", len(pkgs), len(again))
		}
	})
}

func FuzzParseInstalledDB(f *testing.F) {
	f.Add("P:a\nV:1\nr:b\nq:10\ns:edge\nf:fs\nF:usr/bin\nM:0:0:1755\nR:x\na:0:0:755:Q1YCZ4e/kV0Uaynh14//zvTTyN7x8=\nZ:Q1YCZ4e/kV0Uaynh14//zvTTyN7x8=\n")
	f.Fuzz(func(t *testing.T, text string) {
		pkgs, err := ParseInstalledDB(text)
		if err != nil {
			return
		}
		FormatInstalledDB(pkgs)
	})
}

func TestScanIndexKeepsMetaPackageDescriptions(t *testing.T) {
	text := "C:Q1YCZ4e/kV0Uaynh14//zvTTyN7x8=\nP:meta\nV:1\nS:10\nI:0\nT:A meta package\nU:https://x\nL:MIT\nm:Someone\nc:abc\nD:a b\n\n" +
		"P:files\nV:2\nI:100\nT:Has files\nU:https://y\nm:Someone\nD:c\np:so:x=1\n"
	var got []*Package
	var raws []RawDeps
	err := ScanIndex(strings.NewReader(text), ScanOptions{DropDescriptive: true}, func(p *Package, raw RawDeps) error {
		cp := *p // the scanner reuses p
		got = append(got, &cp)
		raws = append(raws, raw)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d packages", len(got))
	}
	m, f := got[0], got[1]
	if m.Description != "A meta package" || m.URL != "https://x" || m.Maintainer != "Someone" || m.Commit != "abc" || m.License != "MIT" {
		t.Errorf("meta package lost its descriptive fields: %+v", m)
	}
	if f.Description != "" || f.URL != "" || f.Version != "2" || f.InstalledSize != 100 {
		t.Errorf("package with files: %+v", f)
	}
	if raws[0].Depends != "a b" || raws[1].Provides != "so:x=1" {
		t.Errorf("raw deps %+v", raws)
	}
	if m.Checksum.String() != "Q1YCZ4e/kV0Uaynh14//zvTTyN7x8=" {
		t.Errorf("checksum %s", m.Checksum)
	}
}
