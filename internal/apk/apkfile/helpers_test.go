package apkfile

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"crypto/rsa"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// Two RSA keys per test process: generating them is the slow part.
var (
	testKeysOnce sync.Once
	testKeys     [2]*rsa.PrivateKey
	testKeysErr  error
)

// testSigner returns a signer with test key i (0 or 1), named like an
// abuild key.
func testSigner(t testing.TB, i int) Signer {
	t.Helper()
	testKeysOnce.Do(func() {
		for j := range testKeys {
			testKeys[j], testKeysErr = rsa.GenerateKey(rand.Reader, 2048)
			if testKeysErr != nil {
				return
			}
		}
	})
	if testKeysErr != nil {
		t.Fatal(testKeysErr)
	}
	return Signer{Key: testKeys[i], Name: []string{"builder-1.rsa.pub", "stranger-2.rsa.pub"}[i]}
}

// trusting returns verification options trusting the given signers.
func trusting(signers ...Signer) Options {
	kr := NewKeyring()
	for _, s := range signers {
		kr.AddKey(s.Name, &s.Key.PublicKey)
	}
	return Options{Keys: kr}
}

// member is one gzip member of a file: its compressed bytes and what
// they decompress to.
type member struct {
	raw, plain []byte
}

// splitMembers splits concatenated gzip members.
func splitMembers(t testing.TB, data []byte) []member {
	t.Helper()
	var out []member
	br := bytes.NewReader(data)
	for br.Len() > 0 {
		start := len(data) - br.Len()
		zr, err := gzip.NewReader(br)
		if err != nil {
			t.Fatalf("member at %d: %v", start, err)
		}
		zr.Multistream(false)
		plain, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("member at %d: %v", start, err)
		}
		out = append(out, member{raw: data[start : len(data)-br.Len()], plain: plain})
	}
	return out
}

func fixturePackages(t testing.TB) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "packages", "*.apk"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture packages (%v)", err)
	}
	return files
}

// alpineKeys trusts Alpine's release keys.
func alpineKeys(t testing.TB) *Keyring {
	t.Helper()
	kr, err := LoadKeyring(filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "keys"))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
