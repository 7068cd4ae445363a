package secrets

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

func TestReadIdentities(t *testing.T) {
	dir := t.TempDir()
	ageFile, alice := ageKey(t, dir, "alice")
	sshFile, bob := sshKey(t, dir, "bob")
	ids := identities(t, ageFile, sshFile)
	if len(ids) != 2 || ids[0].Recipient.Key != alice.Key || ids[1].Recipient.Key != bob.Key || ids[1].File != sshFile {
		t.Fatalf("identities: %+v", ids)
	}

	// A passphrase-protected key asks when it is used.
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "carol", []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	protected := filepath.Join(dir, "carol")
	os.WriteFile(protected, pem.EncodeToMemory(block), 0o600)
	if _, err := ReadIdentities(protected, nil); err == nil || !strings.Contains(err.Error(), "protected by a passphrase") {
		t.Errorf("a protected key without a way to ask: %v", err)
	}
	asked := 0
	pids, err := ReadIdentities(protected, func(string) ([]byte, error) { asked++; return []byte("pw"), nil })
	if err != nil {
		t.Fatal(err)
	}
	ct, _ := Encrypt([]byte("x"), []Recipient{pids[0].Recipient})
	if got, err := Decrypt(ct, ageIdentities(pids)); err != nil || string(got) != "x" || asked != 1 {
		t.Errorf("decrypt with the protected key: %q %v, asked %d times", got, err, asked)
	}

	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("hello\n"), 0o600)
	if _, err := ReadIdentities(bad, nil); err == nil || !strings.Contains(err.Error(), "not an age identity file or an OpenSSH private key") {
		t.Errorf("not a key: %v", err)
	}
}

func TestDefaultIdentityFiles(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }
	if got := DefaultIdentityFiles(getenv); len(got) != 0 {
		t.Errorf("nothing there: %q", got)
	}
	writeFile(t, filepath.Join(home, ".ssh/id_ed25519"), "x")
	writeFile(t, filepath.Join(home, ".config/cairn/identity"), "x")
	if got := DefaultIdentityFiles(getenv); len(got) != 2 || !strings.HasSuffix(got[0], ".config/cairn/identity") || !strings.HasSuffix(got[1], ".ssh/id_ed25519") {
		t.Errorf("defaults: %q", got)
	}
	env["CAIRN_IDENTITY"] = "/a:/b"
	if got := DefaultIdentityFiles(getenv); len(got) != 2 || got[0] != "/a" || got[1] != "/b" {
		t.Errorf("CAIRN_IDENTITY: %q", got)
	}
}

// TestNodeIdentities: a node reads a provisioned identity and its SSH
// host key; the key CreateNodeKey makes is one ssh-keygen (and so sshd)
// reads, private to root.
func TestNodeIdentities(t *testing.T) {
	root := t.TempDir()
	if ids, err := NodeIdentities(root); err != nil || len(ids) != 0 {
		t.Fatalf("no identity yet: %v %v", ids, err)
	}
	id, err := CreateNodeKey(root, "node-1")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(root, NodeSSHKey)
	if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key's mode: %v %v", fi.Mode(), err)
	}
	pub, _ := os.ReadFile(key + ".pub")
	if !strings.HasPrefix(string(pub), id.Recipient.Key+" root@node-1\n") {
		t.Errorf(".pub %q, key %s", pub, id.Recipient.Key)
	}
	keygen := debtest.Tool(t, "ssh-keygen", "openssh-client")
	out, err := exec.Command(keygen, "-y", "-f", key).CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), id.Recipient.Key) {
		t.Errorf("ssh-keygen -y: %s %v", out, err)
	}

	prov, provR := ageKey(t, t.TempDir(), "prov")
	data, _ := os.ReadFile(prov)
	writeFile(t, filepath.Join(root, "/run/cairn/persist", ProvisionedIdentity), string(data))
	ids, err := NodeIdentities(root)
	if err != nil || len(ids) != 2 || ids[0].Recipient.Key != provR.Key || ids[0].File != "/run/cairn/persist/@cairn/identity" || ids[1].File != NodeSSHKey {
		t.Errorf("node identities: %+v %v", ids, err)
	}
	writeFile(t, filepath.Join(root, "/run/cairn/store", ProvisionedIdentity), "garbage")
	if _, err := NodeIdentities(root); err == nil || !strings.Contains(err.Error(), "/run/cairn/store/@cairn/identity") {
		t.Errorf("an unreadable identity: %v", err)
	}
}

// TestScanHostKey: the key comes from the SSH server's key exchange.
func TestScanHostKey(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, _ := ssh.NewSignerFromKey(priv)
	cfg := &ssh.ServerConfig{NoClientAuth: false, PasswordCallback: func(ssh.ConnMetadata, []byte) (*ssh.Permissions, error) {
		return nil, errors.New("no")
	}}
	cfg.AddHostKey(signer)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				ssh.NewServerConn(c, cfg)
				c.Close()
			}()
		}
	}()
	r, err := ScanHostKey(context.Background(), l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	want := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if r.Key != want {
		t.Errorf("scanned %s, want %s", r.Key, want)
	}
	if _, err := ScanHostKey(context.Background(), "127.0.0.1:1"); err == nil {
		t.Errorf("no server: no error")
	}
}
