package apkfile

import (
	"bytes"
	"io/fs"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestIndexTarMatchesApk rebuilds the tar archive of Alpine's ISO
// repository index from its records and compares it byte for byte.
func TestIndexTarMatchesApk(t *testing.T) {
	data := readFile(t, filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "iso-x86_64-APKINDEX.tar.gz"))
	ms := splitMembers(t, data)
	if len(ms) != 2 {
		t.Fatalf("%d members", len(ms))
	}
	orig := ms[1].plain
	pkgs, err := apk.ParseIndex(string(extractEntry(t, orig, "APKINDEX")))
	if err != nil {
		t.Fatal(err)
	}
	desc := string(extractEntry(t, orig, "DESCRIPTION"))
	got := indexTar(pkgs, desc, parseOctal(orig[136:148]))
	if !bytes.Equal(got, orig) {
		t.Errorf("index archive differs from apk's: %s", firstDiff(orig, got))
	}
	sorted := append([]*apk.Package(nil), pkgs...)
	SortIndex(sorted)
	if !reflect.DeepEqual(sorted, pkgs) {
		t.Errorf("SortIndex reorders Alpine's index")
	}
}

// testRecords writes a few packages and returns their index records.
func testRecords(t testing.TB) []*apk.Package {
	t.Helper()
	var recs []*apk.Package
	for _, spec := range []*PackageSpec{
		sampleSpec(t),
		{Info: apk.Package{Name: "hello-doc", Version: "2.12.1-r0", BuildTime: 1700000100, InstallIf: deps(t, "hello=2.12.1-r0", "docs")},
			Files: []FileSpec{{Path: "usr", Mode: fs.ModeDir | 0o755}}},
		{Info: apk.Package{Name: "meta", Version: "1-r0", Depends: deps(t, "hello", "hello-doc")}},
	} {
		_, rec := writeSpec(t, spec, testSigner(t, 0))
		recs = append(recs, rec)
	}
	return recs
}

func signedIndex(t testing.TB, recs []*apk.Package, signers ...Signer) []byte {
	t.Helper()
	unsigned, err := BuildIndexArchive(recs, "v3.19.1-643-g1234567")
	if err != nil {
		t.Fatal(err)
	}
	signed, err := SignIndexArchive(unsigned, signers...)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

func TestIndexRoundTrip(t *testing.T) {
	recs := testRecords(t)
	signer := testSigner(t, 0)
	rsa256 := Signer{Key: testSigner(t, 1).Key, Name: "other-256.rsa.pub", SHA256: true}
	for _, tt := range []struct {
		name    string
		signers []Signer
		trust   Options
		want    string
	}{
		{"SHA-1", []Signer{signer}, trusting(signer), signer.Name},
		{"SHA-256", []Signer{rsa256}, trusting(rsa256), rsa256.Name},
		{"two signers", []Signer{rsa256, signer}, trusting(signer), signer.Name},
	} {
		t.Run(tt.name, func(t *testing.T) {
			idx, err := ReadIndex(signedIndex(t, recs, tt.signers...), tt.trust)
			if err != nil {
				t.Fatal(err)
			}
			if idx.Signer != tt.want || idx.Description != "v3.19.1-643-g1234567" {
				t.Errorf("signer %q description %q", idx.Signer, idx.Description)
			}
			got, err := apk.ParseIndex(idx.Text)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, recs) {
				t.Errorf("records read back\n%+v\nwant\n%+v", got, recs)
			}
		})
	}
}

func TestIndexWithoutDescription(t *testing.T) {
	data, err := BuildIndexArchive(testRecords(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if names := headerNames(splitMembers(t, data)[0].plain); !reflect.DeepEqual(names, []string{"APKINDEX"}) {
		t.Errorf("entries %q", names)
	}
	idx, err := ReadIndex(data, Options{AllowUntrusted: true})
	if err != nil || idx.Description != "" || idx.Signer != "" {
		t.Fatalf("%+v %v", idx, err)
	}
}

func TestSignIndexReplacesSignature(t *testing.T) {
	recs := testRecords(t)
	first, second := testSigner(t, 0), testSigner(t, 1)
	once := signedIndex(t, recs, first)
	twice, err := SignIndexArchive(once, second)
	if err != nil {
		t.Fatal(err)
	}
	ms := splitMembers(t, twice)
	if len(ms) != 2 {
		t.Fatalf("re-signed index has %d members, want signature and index", len(ms))
	}
	if names := headerNames(ms[0].plain); !reflect.DeepEqual(names, []string{".SIGN.RSA.stranger-2.rsa.pub"}) {
		t.Errorf("signatures %q", names)
	}
	if _, err := ReadIndex(twice, trusting(first)); !IsUntrusted(err) {
		t.Errorf("old key still verifies: %v", err)
	}
	if _, err := ReadIndex(twice, trusting(second)); err != nil {
		t.Error(err)
	}
	if again, _ := SignIndexArchive(once, first); !bytes.Equal(again, once) {
		t.Error("signing again with the same key changed the file")
	}
}

func TestIndexUntrusted(t *testing.T) {
	data := signedIndex(t, testRecords(t), testSigner(t, 1))
	_, err := ReadIndex(data, trusting(testSigner(t, 0)))
	if !IsUntrusted(err) || !strings.Contains(err.Error(), "stranger-2.rsa.pub (not trusted)") {
		t.Fatalf("error %v", err)
	}
	unsigned, _ := BuildIndexArchive(testRecords(t), "x")
	if _, err := ReadIndex(unsigned, trusting(testSigner(t, 0))); !IsUntrusted(err) {
		t.Fatalf("unsigned index: error %v", err)
	}
}

// TestIndexDetectsEveryFlippedByte flips each byte of a signed index in
// turn. Only the MTIME, XFL and OS fields of the signature member's gzip
// header (bytes 4 to 9) are covered by nothing: not by the signature,
// which starts after that member, and not by gzip, which checksums only
// the decompressed data. apk-tools has the same blind spot, and those
// bytes carry no meaning.
func TestIndexDetectsEveryFlippedByte(t *testing.T) {
	signer := testSigner(t, 0)
	data := signedIndex(t, testRecords(t), signer)
	sigEnd := len(splitMembers(t, data)[0].raw)
	for pos := range data {
		if pos >= 4 && pos < 10 {
			continue
		}
		damaged := bytes.Clone(data)
		damaged[pos] ^= 0xff
		if _, err := ReadIndex(damaged, trusting(signer)); err == nil {
			where := "signature member"
			if pos >= sigEnd {
				where = "index member"
			}
			t.Errorf("byte %d of %d (%s) flipped: the index still verifies", pos, len(data), where)
		}
	}
}

func TestIndexTruncated(t *testing.T) {
	signer := testSigner(t, 0)
	data := signedIndex(t, testRecords(t), signer)
	sigEnd := len(splitMembers(t, data)[0].raw)
	for _, n := range []int{0, 5, 20, sigEnd - 1, sigEnd, sigEnd + 10, len(data) - 8, len(data) - 1} {
		if _, err := ReadIndex(data[:n], trusting(signer)); err == nil {
			t.Errorf("cut to %d bytes: the index still verifies", n)
		}
	}
	// Past the signature, only a reader that gets beyond the signature
	// check can say what is wrong. (ReadIndex stops at the tar end
	// blocks and never reads the gzip trailer, so without a signature a
	// cut in the last bytes goes unnoticed; cuts before are reported.)
	for _, n := range []int{5, 20, sigEnd - 1, sigEnd, sigEnd + 10, sigEnd + 100} {
		_, err := ReadIndex(data[:n], Options{AllowUntrusted: true})
		if err == nil || !(strings.Contains(err.Error(), "truncated index") || strings.Contains(err.Error(), "not gzip data")) {
			t.Errorf("cut to %d bytes: error %v, want a truncation error", n, err)
		}
	}
}

func TestBuildIndexRefusesBadRecords(t *testing.T) {
	good := testRecords(t)[0]
	noSum := *good
	noSum.Checksum = nil
	badName := *good
	badName.Name = "-x"
	newline := *good
	newline.Description = "a\nP:evil"
	_, err := BuildIndexArchive([]*apk.Package{good, &noSum, nil, &badName, &newline}, "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"hello-2.12.1-r0: no identity checksum", "record 2 is nil", `package -x-2.12.1-r0: name: "-x" must start with a letter or digit`, "field T: contains a line break"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

func TestSignIndexRefusesOtherFiles(t *testing.T) {
	signer := testSigner(t, 0)
	pkg, _ := writeSpec(t, sampleSpec(t))
	unsigned, _ := BuildIndexArchive(testRecords(t), "")
	for _, tt := range []struct {
		name    string
		data    []byte
		signers []Signer
		want    string
	}{
		{"no key", unsigned, nil, "no signing key"},
		{"not gzip", []byte("APKINDEX"), []Signer{signer}, "not a gzip file"},
		{"a package", pkg, []Signer{signer}, "not an index archive"},
		{"only a signature", signedIndex(t, testRecords(t), signer)[:len(splitMembers(t, signedIndex(t, testRecords(t), signer))[0].raw)], []Signer{signer}, "no index after the signature"},
		{"truncated", unsigned[:len(unsigned)/2], []Signer{signer}, "truncated index"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SignIndexArchive(tt.data, tt.signers...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSortIndex(t *testing.T) {
	var pkgs []*apk.Package
	for _, nv := range [][2]string{{"b", "1"}, {"abc", "1.10"}, {"Abc", "2"}, {"abc", "1.9"}, {"ab_c", "1"}, {"abd", "1_rc1"}, {"abd", "1"}} {
		pkgs = append(pkgs, &apk.Package{Name: nv[0], Version: nv[1]})
	}
	SortIndex(pkgs)
	var got []string
	for _, p := range pkgs {
		got = append(got, p.NameVersion())
	}
	want := []string{"ab_c-1", "Abc-2", "abc-1.9", "abc-1.10", "abd-1_rc1", "abd-1", "b-1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}
