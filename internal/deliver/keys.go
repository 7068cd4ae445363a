package deliver

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// A PrivateKey signs the generations an operator delivers: Ed25519, kept
// as a PKCS #8 PEM file ("PRIVATE KEY"), which `openssl genpkey
// -algorithm ed25519` also makes.
type PrivateKey struct {
	key ed25519.PrivateKey
	ID  string
}

// A PublicKey is a key a node trusts: a PKIX PEM file ("PUBLIC KEY").
type PublicKey struct {
	key ed25519.PublicKey
	ID  string
	// File is where the key was read from.
	File string
}

// keyID names a public key: the first 16 hex digits of the SHA-256 of
// its PKIX encoding.
func keyID(pub ed25519.PublicKey) string {
	der, _ := x509.MarshalPKIXPublicKey(pub)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:8])
}

// GenerateKey makes a key pair and writes the private key to path (mode
// 0600, refusing to overwrite) and the public key to path + ".pub".
func GenerateKey(path string) (PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return PrivateKey{}, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return PrivateKey{}, err
	}
	pubDER, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return PrivateKey{}, err
	}
	if err := writeNew(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return PrivateKey{}, err
	}
	if err := writeNew(path+".pub", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER}), 0o644); err != nil {
		os.Remove(path)
		return PrivateKey{}, err
	}
	return PrivateKey{key: priv, ID: keyID(pub)}, nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s exists: choose another name or remove it first", path)
		}
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// LoadPrivateKey reads a PKCS #8 PEM Ed25519 private key.
func LoadPrivateKey(path string) (PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("signing key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PRIVATE KEY" {
		return PrivateKey{}, fmt.Errorf("signing key %s: not a PEM \"PRIVATE KEY\" (make one with cairn key generate)", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return PrivateKey{}, fmt.Errorf("signing key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return PrivateKey{}, fmt.Errorf("signing key %s: a %T, not an Ed25519 key", path, k)
	}
	return PrivateKey{key: priv, ID: keyID(priv.Public().(ed25519.PublicKey))}, nil
}

// Public returns the private key's public half.
func (k PrivateKey) Public() PublicKey {
	pub := k.key.Public().(ed25519.PublicKey)
	return PublicKey{key: pub, ID: k.ID}
}

func (k PrivateKey) sign(msg []byte) []byte { return ed25519.Sign(k.key, msg) }

// ParsePublicKey reads one PKIX PEM Ed25519 public key.
func ParsePublicKey(data []byte, name string) (PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return PublicKey{}, fmt.Errorf("%s: not a PEM \"PUBLIC KEY\"", name)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return PublicKey{}, fmt.Errorf("%s: %w", name, err)
	}
	pub, ok := k.(ed25519.PublicKey)
	if !ok {
		return PublicKey{}, fmt.Errorf("%s: a %T, not an Ed25519 key", name, k)
	}
	return PublicKey{key: pub, ID: keyID(pub), File: name}, nil
}

// LoadTrusted reads the keys a node trusts: every *.pub and *.pem file
// of a directory, or one file. No key at all is an error: a node that
// trusts nothing accepts nothing, and saying so early is kinder.
func LoadTrusted(path string) ([]PublicKey, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("trusted keys: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("trusted keys: %w", err)
		}
		files = nil
		for _, e := range entries {
			if n := e.Name(); !e.IsDir() && (strings.HasSuffix(n, ".pub") || strings.HasSuffix(n, ".pem")) {
				files = append(files, filepath.Join(path, n))
			}
		}
		sort.Strings(files)
	}
	var keys []PublicKey
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("trusted keys: %w", err)
		}
		k, err := ParsePublicKey(data, f)
		if err != nil {
			return nil, fmt.Errorf("trusted keys: %w", err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("trusted keys: no *.pub or *.pem file in %s (copy the operator's public key there)", path)
	}
	return keys, nil
}
