package apkfile

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"io"
	"testing"
)

// gzipTar compresses a tar stream of files (name, body), cut without its
// end blocks when cut is set, as apk's control members are.
func gzipTar(t *testing.T, cut bool, files ...string) []byte {
	t.Helper()
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for i := 0; i < len(files); i += 2 {
		if err := tw.WriteHeader(&tar.Header{Name: files[i], Mode: 0o644, Size: int64(len(files[i+1])), Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[i+1]))
	}
	tw.Flush()
	data := tb.Bytes()
	if !cut {
		tw.Close()
		data = tb.Bytes()
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(data)
	zw.Close()
	return gz.Bytes()
}

// A package without datahash (as abuild made them before apk-tools 2.x
// added it): its identity is the SHA-1 of the control and data members,
// known only once the data is read.
func TestLegacyPackage(t *testing.T) {
	control := gzipTar(t, true, ".PKGINFO", "pkgname = old\npkgver = 1-r0\n")
	data := gzipTar(t, false, "usr/share/old", "hello\n")
	file := append(append([]byte(nil), control...), data...)
	want := sha1.Sum(file)

	rd, err := Open(bytes.NewReader(file), Options{AllowUntrusted: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := rd.Next()
	if err != nil || h.Name != "usr/share/old" {
		t.Fatalf("entry %v, %v", h, err)
	}
	body, _ := io.ReadAll(rd)
	if string(body) != "hello\n" {
		t.Errorf("body %q", body)
	}
	if _, err := rd.Next(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	if !bytes.Equal(rd.Info.Checksum, want[:]) {
		t.Errorf("identity %x, want %x", rd.Info.Checksum, want)
	}

	// A byte changed in the data changes the identity.
	bad := append([]byte(nil), file...)
	bad[len(bad)-8] ^= 1 // in the data member's CRC-32
	rd, err = Open(bytes.NewReader(bad), Options{AllowUntrusted: true})
	if err == nil {
		for err == nil {
			_, err = rd.Next()
		}
	}
	if err == io.EOF {
		t.Error("a damaged legacy package read to the end")
	}
}
