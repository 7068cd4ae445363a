package apktest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/apk"
)

// RawEntry is a data entry of a hand-made package: any header at all,
// including names the package writer refuses ("../x", "/etc/passwd").
type RawEntry struct {
	Header tar.Header
	Body   []byte
}

// RawFile is a regular file entry.
func RawFile(name, body string) RawEntry {
	return RawEntry{Header: tar.Header{Name: name, Mode: 0o644, Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}, Body: []byte(body)}
}

// RawDir is a directory entry.
func RawDir(name string) RawEntry {
	return RawEntry{Header: tar.Header{Name: name + "/", Mode: 0o755, Typeflag: tar.TypeDir, Uname: "root", Gname: "root"}}
}

// RawLink is a symlink (tar.TypeSymlink) or hard link (tar.TypeLink).
func RawLink(name, target string, typ byte) RawEntry {
	return RawEntry{Header: tar.Header{Name: name, Linkname: target, Mode: 0o777, Typeflag: typ, Uname: "root", Gname: "root"}}
}

// RawPackage builds a correctly signed v2 package holding arbitrary data
// entries, for tests of what a hostile or broken archive does. It returns
// the package bytes and the index record for them.
func RawPackage(t testing.TB, key *rsa.PrivateKey, keyName, name, version string, entries ...RawEntry) ([]byte, *apk.Package) {
	t.Helper()
	var data bytes.Buffer
	tw := tar.NewWriter(&data)
	for _, en := range entries {
		h := en.Header
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(en.Body))
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(DefaultBuildTime, 0)
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("apktest: raw package %s: %v", name, err)
		}
		tw.Write(en.Body)
	}
	tw.Close()
	return RawDataPackage(t, key, keyName, name, version, data.Bytes())
}

// RawDataPackage is RawPackage for a data part given as raw bytes, which
// need not even be a valid tar stream (for fuzzing).
func RawDataPackage(t testing.TB, key *rsa.PrivateKey, keyName, name, version string, data []byte) ([]byte, *apk.Package) {
	t.Helper()
	return RawGzipDataPackage(t, key, keyName, name, version, gzipBytes(data))
}

// RawGzipDataPackage is RawDataPackage for a data part given compressed,
// one or more gzip members (for data far larger than the test should hold).
// The package declares an installed size of 100 bytes.
func RawGzipDataPackage(t testing.TB, key *rsa.PrivateKey, keyName, name, version string, dataGz []byte) ([]byte, *apk.Package) {
	t.Helper()
	datahash := sha256.Sum256(dataGz)
	pkginfo := fmt.Sprintf("pkgname = %s\npkgver = %s\nsize = 100\narch = noarch\norigin = %s\nbuilddate = %d\nlicense = MIT\ndatahash = %x\n",
		name, version, name, DefaultBuildTime, datahash)
	ctlGz := gzipBytes(cutTar(t, ".PKGINFO", []byte(pkginfo)))
	digest := sha1.Sum(ctlGz)
	var sigGz []byte
	if key != nil { // a nil key makes an unsigned package
		sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, digest[:])
		if err != nil {
			t.Fatalf("apktest: sign %s: %v", name, err)
		}
		sigGz = gzipBytes(cutTar(t, ".SIGN.RSA."+keyName, sig))
	}
	file := slices.Concat(sigGz, ctlGz, dataGz)
	info := &apk.Package{
		Name: name, Version: version, Arch: "noarch", Origin: name, License: "MIT",
		InstalledSize: 100, BuildTime: DefaultBuildTime, Checksum: digest[:], Size: int64(len(file)),
	}
	return file, info
}

func gzipBytes(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// cutTar is a one-entry tar without its end blocks, as control and
// signature members are.
func cutTar(t testing.TB, name string, body []byte) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, Uname: "root", Gname: "root", ModTime: time.Unix(DefaultBuildTime, 0)}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Flush()
	return b.Bytes()
}
