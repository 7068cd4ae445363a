package secrets

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"filippo.io/age"
	"filippo.io/age/agessh"
	"golang.org/x/crypto/ssh"

	"github.com/cairnlinux/cairn/internal/layout"
)

// Identity is a private key that decrypts secrets, with the recipient it
// answers to.
type Identity struct {
	// File is where it was read from.
	File      string
	Recipient Recipient
	id        age.Identity
}

// Passphrase asks for the passphrase of a protected SSH key (the
// terminal's business, so the caller's).
type Passphrase func(file string) ([]byte, error)

// ReadIdentities reads the identities of one file: an age identity file
// (AGE-SECRET-KEY-1... lines, as age-keygen writes them) or an OpenSSH
// private key (ed25519 or rsa; a passphrase-protected one asks pass when
// it is first used, and fails without pass).
func ReadIdentities(file string, pass Passphrase) ([]Identity, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	if bytes.Contains(data, []byte("-----BEGIN")) {
		id, err := sshIdentity(file, data, pass)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		return []Identity{id}, nil
	}
	ids, err := age.ParseIdentities(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: not an age identity file or an OpenSSH private key: %v", file, err)
	}
	var out []Identity
	for _, id := range ids {
		var r Recipient
		switch k := id.(type) {
		case *age.X25519Identity:
			r.Key = k.Recipient().String()
		case *age.HybridIdentity:
			r.Key = k.Recipient().String()
		}
		out = append(out, Identity{File: file, Recipient: r, id: id})
	}
	return out, nil
}

func sshIdentity(file string, data []byte, pass Passphrase) (Identity, error) {
	id, err := agessh.ParseIdentity(data)
	var missing *ssh.PassphraseMissingError
	switch {
	case errors.As(err, &missing) && missing.PublicKey != nil:
		if pass == nil {
			return Identity{}, errors.New("the key is protected by a passphrase and there is no terminal to ask it on: give an unprotected identity (an age key: cairn secrets keygen)")
		}
		r, err := ParseRecipient(string(ssh.MarshalAuthorizedKey(missing.PublicKey)))
		if err != nil {
			return Identity{}, err
		}
		eid, err := agessh.NewEncryptedSSHIdentity(missing.PublicKey, data, func() ([]byte, error) { return pass(file) })
		if err != nil {
			return Identity{}, err
		}
		return Identity{File: file, Recipient: r, id: eid}, nil
	case err != nil:
		return Identity{}, fmt.Errorf("not a usable OpenSSH private key: %v", err)
	}
	signer, err := ssh.ParsePrivateKey(data)
	if err != nil {
		return Identity{}, err
	}
	r, err := ParseRecipient(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if err != nil {
		return Identity{}, err
	}
	return Identity{File: file, Recipient: r, id: id}, nil
}

func ageIdentities(ids []Identity) []age.Identity {
	out := make([]age.Identity, 0, len(ids))
	for _, id := range ids {
		out = append(out, id.id)
	}
	return out
}

// DefaultIdentityFiles are the operator's identities when none are
// given: $CAIRN_IDENTITY (files separated by ':'), else those of
// ~/.config/cairn/identity, ~/.ssh/id_ed25519 and ~/.ssh/id_rsa that
// exist.
func DefaultIdentityFiles(getenv func(string) string) []string {
	if v := getenv("CAIRN_IDENTITY"); v != "" {
		return filepath.SplitList(v)
	}
	home := getenv("HOME")
	if home == "" {
		return nil
	}
	var out []string
	for _, rel := range []string{".config/cairn/identity", ".ssh/id_ed25519", ".ssh/id_rsa"} {
		if _, err := os.Stat(filepath.Join(home, rel)); err == nil {
			out = append(out, filepath.Join(home, rel))
		}
	}
	return out
}

// NewAgeIdentity makes a new age identity, as age-keygen does: the file
// text (a comment with the public key, then the private key) and its
// recipient.
func NewAgeIdentity() ([]byte, Recipient, error) {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return nil, Recipient{}, err
	}
	r := id.Recipient().String()
	return []byte("# public key: " + r + "\n" + id.String() + "\n"), Recipient{Key: r}, nil
}

// A node's identities, on the node (docs/secrets.md "A node's key").
const (
	// NodeSSHKey is the node's SSH host key (the cairn-ssh-keys service
	// and sshd use it), persistent under /var.
	NodeSSHKey = layout.SSHKeysDir + "/etc/ssh/ssh_host_ed25519_key"
	// ProvisionedIdentity is an identity put on the node's persistent
	// file system before its first boot (an age identity file or an
	// OpenSSH private key), at the top of the store's file system on a
	// disk node (cairn-init mounts it at /run/cairn/store) or of a RAM
	// node's persistence device (at /run/cairn/persist).
	ProvisionedIdentity = layout.StoreDir + "/" + layout.IdentityFile
)

// NodeIdentityFiles are the places a node's identities are read from,
// in order, as absolute paths on the node.
func NodeIdentityFiles() []string {
	var out []string
	for _, top := range layout.PersistentTops {
		out = append(out, top+"/"+ProvisionedIdentity)
	}
	return append(out, NodeSSHKey)
}

// NodeIdentities reads the identities the node at root has (see
// NodeIdentityFiles). A file that exists but cannot be read is an error.
func NodeIdentities(root string) ([]Identity, error) {
	var out []Identity
	for _, p := range NodeIdentityFiles() {
		file := filepath.Join(root, p)
		if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		ids, err := ReadIdentities(file, nil)
		if err != nil {
			return nil, fmt.Errorf("the node's identity %w", err)
		}
		for i := range ids {
			ids[i].File = p
		}
		out = append(out, ids...)
	}
	return out, nil
}

// CreateNodeKey makes the node's SSH host key (NodeSSHKey, and .pub
// beside it) as ssh-keygen would, for sshd to use too; hostname is its
// comment. It is written beside and renamed into place, so a crash
// leaves no half key.
func CreateNodeKey(root, hostname string) (Identity, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return Identity{}, err
	}
	comment := "root@" + strings.TrimSpace(hostname)
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return Identity{}, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return Identity{}, err
	}
	file := filepath.Join(root, NodeSSHKey)
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return Identity{}, err
	}
	pub := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " " + comment + "\n"
	if err := writeFileAtomic(file+".pub", []byte(pub), 0o644); err != nil {
		return Identity{}, err
	}
	if err := writeFileAtomic(file, pem.EncodeToMemory(block), 0o600); err != nil {
		return Identity{}, err
	}
	ids, err := ReadIdentities(file, nil)
	if err != nil {
		return Identity{}, err
	}
	ids[0].File = NodeSSHKey
	return ids[0], nil
}
