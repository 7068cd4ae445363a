package cli

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
)

// maxBombRSS is the peak memory a cairn process may reach while refusing
// an archive that expands to hundreds of MiB: the process itself (this
// test binary) and tens of MiB. Before the bounds, an index expanding to
// 512 MiB took 925 MiB unsigned and 1.1 GiB signed.
const maxBombRSS = 48 << 20

// zeroTarMember is one gzip member holding a tar entry name of size
// bytes of zeros, cut after its data (no end blocks), as large as it is
// cheap to make and small to keep: 512 MiB compress to 650 KiB.
func zeroTarMember(t *testing.T, name string, size int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: size, Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}); err != nil {
		t.Fatal(err)
	}
	zero := make([]byte, 1<<20)
	for left := size; left > 0; left -= int64(len(zero)) {
		if _, err := tw.Write(zero[:min(left, int64(len(zero)))]); err != nil {
			t.Fatal(err)
		}
	}
	tw.Flush()
	zw.Close()
	return buf.Bytes()
}

// gzipTarMember is one gzip member holding one tar entry, cut after it.
func gzipTarMember(t *testing.T, name string, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg, Uname: "root", Gname: "root"}); err != nil {
		t.Fatal(err)
	}
	tw.Write(body)
	tw.Flush()
	zw.Close()
	return buf.Bytes()
}

// TestAPKBombsRefusedInBoundedMemory feeds cairn indexes and packages that
// expand to hundreds of MiB, as a cairn process of their own (so that its
// peak memory is its own, from the kernel's accounting), and asserts that
// each is refused with a message saying what is too large, within
// maxBombRSS.
func TestAPKBombsRefusedInBoundedMemory(t *testing.T) {
	cairn := cairnBinary(t)
	dir := t.TempDir()
	key := apktest.Key(t)
	keyName := apktest.KeyName(&key.PublicKey)
	keys := filepath.Join(dir, "keys")
	if err := os.Mkdir(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(keys, keyName), apktest.PublicKeyPEM(&key.PublicKey))
	signer := apkfile.Signer{Key: key, Name: keyName}

	// An index whose first (unsigned) member expands to 512 MiB.
	bomb := zeroTarMember(t, "APKINDEX", 512<<20)
	// The same, signed by a trusted key: the APKINDEX text is 512 MiB
	// without a line break. (cairn apk sign refuses to sign it.)
	if _, err := apkfile.SignIndexArchive(bomb, signer); err == nil || !strings.Contains(err.Error(), "larger than 256 MiB") {
		t.Errorf("signing the bomb: %v", err)
	}
	digest := sha1.Sum(bomb)
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA1, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	signed := append(gzipTarMember(t, ".SIGN.RSA."+keyName, sig), bomb...)
	// A signature part that expands to 64 MiB, before a small index.
	small, err := apkfile.BuildIndexArchive(nil, "")
	if err != nil {
		t.Fatal(err)
	}
	sigBomb := append(zeroTarMember(t, ".SIGN.RSA."+keyName, 64<<20), small...)
	// A signed package declaring 100 bytes whose data part holds a file
	// of 512 MiB (the same tar entry as the index's).
	pkg, _ := apktest.RawGzipDataPackage(t, key, keyName, "bomb", "1-r0", bomb)
	// An unsigned package whose control part expands to 64 MiB.
	ctlBomb := zeroTarMember(t, ".PKGINFO", 64<<20)

	files := map[string][]byte{"unsigned.tar.gz": bomb, "signed.tar.gz": signed, "sigbomb.tar.gz": sigBomb, "bomb-1-r0.apk": pkg, "ctlbomb-1-r0.apk": ctlBomb}
	for name, data := range files {
		writeFile(t, filepath.Join(dir, name), data)
	}
	resolve := func(index string) []string {
		return []string{"apk", "resolve", "--keys-dir", keys, "--repository", filepath.Join(dir, index), "x"}
	}
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"unsigned index", resolve("unsigned.tar.gz"), "index signature: UNTRUSTED signature: not signed"},
		{"signed index", resolve("signed.tar.gz"), "line longer than 1 MiB: refused"},
		{"signature part", resolve("sigbomb.tar.gz"), "the signature part of the index is larger than 64 KiB: refused"},
		{"package data", []string{"apk", "verify", "--keys-dir", keys, filepath.Join(dir, "bomb-1-r0.apk")}, "the package's files take more than 1.0 MiB, far more than the 100 bytes its .PKGINFO declares: refused"},
		{"package control", []string{"apk", "verify", "--allow-untrusted", "--keys-dir", keys, filepath.Join(dir, "ctlbomb-1-r0.apk")}, "the control part of the package is larger than 4 MiB: refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(cairn, tt.args...)
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("cairn %s succeeded:\n%s", strings.Join(tt.args, " "), out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			if !ok {
				t.Fatal("no resource usage for the child")
			}
			peak := ru.Maxrss << 10 // KiB on Linux
			t.Logf("peak RSS %.1f MiB", float64(peak)/(1<<20))
			if peak > maxBombRSS {
				t.Errorf("peak RSS %d MiB, more than %d MiB", peak>>20, maxBombRSS>>20)
			}
		})
	}
}
