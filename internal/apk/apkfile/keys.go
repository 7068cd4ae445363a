// Package apkfile reads, verifies and writes Alpine's v2 package format
// (.apk files) and signed repository indexes (APKINDEX.tar.gz).
//
// A v2 package is three concatenated gzip members that together hold one
// tar stream: the signature (.SIGN.* entries), the control part (.PKGINFO
// and scripts) and the data (the file tree). The package's identity is the
// SHA-1 of the compressed control member; its signature covers the same
// bytes, and .PKGINFO's datahash is the SHA-256 of the compressed data.
// Reading is streaming: the data member is never held in memory.
package apkfile

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Keyring holds trusted RSA public keys by file name, as /etc/apk/keys
// holds them.
type Keyring struct {
	keys map[string]*rsa.PublicKey
}

// NewKeyring returns an empty keyring.
func NewKeyring() *Keyring { return &Keyring{keys: map[string]*rsa.PublicKey{}} }

// LoadKeyring reads every PEM public key in dir. Files that are not RSA
// public keys are an error: a keys directory holds nothing else.
func LoadKeyring(dir string) (*Keyring, error) {
	kr := NewKeyring()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read keys: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("read key: %w", err)
		}
		if err := kr.Add(e.Name(), data); err != nil {
			return nil, fmt.Errorf("key %s: %w", filepath.Join(dir, e.Name()), err)
		}
	}
	return kr, nil
}

// Add trusts a PEM encoded RSA public key under name.
func (k *Keyring) Add(name string, pemData []byte) error {
	pub, err := ParsePublicKey(pemData)
	if err != nil {
		return err
	}
	k.keys[name] = pub
	return nil
}

// AddKey trusts pub under name.
func (k *Keyring) AddKey(name string, pub *rsa.PublicKey) { k.keys[name] = pub }

// Lookup returns the key with the given file name.
func (k *Keyring) Lookup(name string) *rsa.PublicKey {
	if k == nil {
		return nil
	}
	return k.keys[name]
}

// Names lists the trusted key names, sorted.
func (k *Keyring) Names() []string {
	var names []string
	if k != nil {
		for n := range k.keys {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// ParsePublicKey decodes a PEM "PUBLIC KEY" (PKIX) or "RSA PUBLIC KEY".
func ParsePublicKey(pemData []byte) (*rsa.PublicKey, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("no PEM data")
	}
	switch block.Type {
	case "PUBLIC KEY":
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rsaPub, ok := pub.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("not an RSA key (%T)", pub)
		}
		return rsaPub, nil
	case "RSA PUBLIC KEY":
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	return nil, fmt.Errorf("PEM block %q is not a public key", block.Type)
}

// ParsePrivateKey decodes a PEM RSA private key (PKCS#1 or PKCS#8), as
// abuild-keygen writes them.
func ParsePrivateKey(pemData []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemData)
	if block == nil {
		return nil, errors.New("no PEM data")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("not an RSA key (%T)", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
}

// signatureAlgorithm decodes a ".SIGN.<ALG>.<keyname>" entry name.
func signatureAlgorithm(entry string) (hash crypto.Hash, key string, ok bool) {
	rest, found := strings.CutPrefix(entry, ".SIGN.")
	if !found {
		return 0, "", false
	}
	for _, a := range []struct {
		prefix string
		hash   crypto.Hash
	}{{"RSA512.", crypto.SHA512}, {"RSA256.", crypto.SHA256}, {"RSA.", crypto.SHA1}} {
		if k, found := strings.CutPrefix(rest, a.prefix); found {
			return a.hash, k, true
		}
	}
	return 0, "", false
}

// signature is one .SIGN entry of a package or index.
type signature struct {
	hash crypto.Hash
	key  string
	data []byte
}

// verifySignatures checks sigs over digests (one per hash algorithm) and
// returns the name of the first trusted key whose signature verifies.
func verifySignatures(sigs []signature, digests map[crypto.Hash][]byte, keys *Keyring) (string, error) {
	if len(sigs) == 0 {
		return "", ErrUnsigned
	}
	var tried []string
	for _, s := range sigs {
		pub := keys.Lookup(s.key)
		if pub == nil {
			tried = append(tried, s.key+" (not trusted)")
			continue
		}
		d, ok := digests[s.hash]
		if !ok {
			continue
		}
		if err := rsa.VerifyPKCS1v15(pub, s.hash, d, s.data); err != nil {
			tried = append(tried, s.key+" (bad signature)")
			continue
		}
		return s.key, nil
	}
	return "", &UntrustedError{Tried: tried}
}

// ErrUnsigned reports a package or index without any signature.
var ErrUnsigned = errors.New("UNTRUSTED signature: not signed")

// UntrustedError reports that no signature verified with a trusted key.
type UntrustedError struct {
	Tried []string
}

func (e *UntrustedError) Error() string {
	if len(e.Tried) == 0 {
		return "UNTRUSTED signature"
	}
	return "UNTRUSTED signature: " + strings.Join(e.Tried, ", ")
}

// IsUntrusted reports whether err is a signature trust failure.
func IsUntrusted(err error) bool {
	var ue *UntrustedError
	return errors.Is(err, ErrUnsigned) || errors.As(err, &ue)
}
