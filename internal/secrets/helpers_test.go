package secrets

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// ageKey makes an age identity file in dir and returns its path and
// recipient, named name.
func ageKey(t *testing.T, dir, name string) (string, Recipient) {
	t.Helper()
	text, r, err := NewAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name+".key")
	if err := os.WriteFile(file, text, 0o600); err != nil {
		t.Fatal(err)
	}
	r.Name = name
	return file, r
}

// sshKey makes an unprotected OpenSSH ed25519 private key in dir and
// returns its path and recipient, named name.
func sshKey(t *testing.T, dir, name string) (string, Recipient) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, name)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	spk, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	r, err := ParseRecipient(strings.TrimSpace(string(ssh.MarshalAuthorizedKey(spk))) + " " + name)
	if err != nil {
		t.Fatal(err)
	}
	return file, r
}

// identities reads identity files, failing the test.
func identities(t *testing.T, files ...string) []Identity {
	t.Helper()
	var out []Identity
	for _, f := range files {
		ids, err := ReadIdentities(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ids...)
	}
	return out
}

func writeFile(t *testing.T, file, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
