package secrets

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/armor"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
)

// TestEncryptDescribe: a file cairn encrypts says in its header which
// keys it is for, by name through the recipients file, and each of them
// decrypts it.
func TestEncryptDescribe(t *testing.T) {
	dir := t.TempDir()
	aliceKey, alice := ageKey(t, dir, "alice")
	nodeKey, node := sshKey(t, dir, "node-1")
	_, other := ageKey(t, dir, "other")
	plain := []byte("api-token=s3cr3t\n")
	ct, err := Encrypt(plain, []Recipient{alice, node})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(ct, plain) {
		t.Fatal("the plaintext is in the encrypted file")
	}
	for _, key := range []string{aliceKey, nodeKey} {
		got, err := Decrypt(ct, ageIdentities(identities(t, key)))
		if err != nil || !bytes.Equal(got, plain) {
			t.Errorf("decrypt with %s: %q %v", key, got, err)
		}
	}
	_, err = Decrypt(ct, ageIdentities(identities(t, filepath.Join(dir, "other.key"))))
	if !noMatch(err) {
		t.Errorf("another key: %v, want no identity matching", err)
	}

	// Without names, the header still says the keys.
	enc, err := Describe(ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !enc.Labeled || len(enc.To) != 2 || enc.To[0].Key != alice.Key || enc.To[1].Key != node.Key || len(enc.Unknown) != 0 {
		t.Errorf("Describe without known keys: %+v", enc)
	}
	// With the recipients file's keys, names come along.
	enc, _ = Describe(ct, []Recipient{node, alice})
	if enc.String() != alice.String()+", "+node.String() || !enc.Same([]Recipient{node, alice}) {
		t.Errorf("Describe: %s", enc)
	}
	if enc.Same([]Recipient{alice}) || enc.Same([]Recipient{alice, node, other}) || enc.Same([]Recipient{alice, other}) {
		t.Errorf("Same is true for other lists")
	}

	// Armored, as age -a writes it: the same.
	var arm bytes.Buffer
	w := armor.NewWriter(&arm)
	w.Write(ct)
	w.Close()
	if got, err := Decrypt(arm.Bytes(), ageIdentities(identities(t, aliceKey))); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("armored: %q %v", got, err)
	}
	if enc, err := Describe(arm.Bytes(), nil); err != nil || len(enc.To) != 2 {
		t.Errorf("armored Describe: %+v %v", enc, err)
	}
}

// TestDescribeForeign: a file age itself made (no labels) tells its SSH
// keys by their tags, and no more than that an X25519 key is there.
func TestDescribeForeign(t *testing.T) {
	dir := t.TempDir()
	_, alice := ageKey(t, dir, "alice")
	_, node := sshKey(t, dir, "node-1")
	var rs []age.Recipient
	for _, r := range []Recipient{alice, node} {
		a, err := r.age()
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, a)
	}
	var buf bytes.Buffer
	w, err := age.Encrypt(&buf, rs...)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	w.Close()
	enc, err := Describe(buf.Bytes(), []Recipient{node})
	if err != nil {
		t.Fatal(err)
	}
	if enc.Labeled || len(enc.To) != 1 || enc.To[0] != node || len(enc.Unknown) != 1 || !strings.Contains(enc.Unknown[0], "X25519") {
		t.Errorf("Describe of age's own file: %+v", enc)
	}
	if enc.Same([]Recipient{alice, node}) {
		t.Errorf("a file with an unknown key is in line")
	}
	enc, _ = Describe(buf.Bytes(), nil)
	if len(enc.To) != 0 || len(enc.Unknown) != 2 || !strings.Contains(enc.Unknown[1], "ssh-ed25519 key with tag") {
		t.Errorf("Describe without known keys: %+v", enc)
	}
}

func TestNotAge(t *testing.T) {
	for _, data := range []string{"", "password=hunter2\n", "age-encryption.org/v1\n-> X25519\n", "-----BEGIN AGE ENCRYPTED FILE-----\nnot base64\n"} {
		if _, err := Describe([]byte(data), nil); !errors.Is(err, ErrNotAge) {
			t.Errorf("Describe(%q): %v, want ErrNotAge", data, err)
		}
		if IsAge([]byte(data)) {
			t.Errorf("IsAge(%q)", data)
		}
	}
}

// TestAgeCLI: the age command (Debian's) decrypts what cairn encrypts,
// to an age key and to an SSH key, and reads the recipients file as its
// -R file; cairn decrypts and describes what age encrypts.
func TestAgeCLI(t *testing.T) {
	ageTool := debtest.Tool(t, "age", "age")
	dir := t.TempDir()
	aliceKey, alice := ageKey(t, dir, "alice")
	nodeKey, node := sshKey(t, dir, "node-1")
	recipients := filepath.Join(dir, RecipientsFileName)
	for _, r := range []Recipient{alice, node} {
		if _, err := AddRecipient(recipients, r); err != nil {
			t.Fatal(err)
		}
	}
	plain := []byte("token: 42\n")
	ct, err := Encrypt(plain, []Recipient{alice, node})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "token.age")
	if err := os.WriteFile(file, ct, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{aliceKey, nodeKey} {
		out, err := exec.Command(ageTool, "-d", "-i", key, file).CombinedOutput()
		if err != nil || !bytes.Equal(out, plain) {
			t.Errorf("age -d -i %s: %q %v", filepath.Base(key), out, err)
		}
	}
	cmd := exec.Command(ageTool, "-e", "-R", recipients, "-o", filepath.Join(dir, "byage.age"))
	cmd.Stdin = bytes.NewReader(plain)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("age -e -R recipients: %v\n%s", err, out)
	}
	byAge, _ := os.ReadFile(filepath.Join(dir, "byage.age"))
	if got, err := Decrypt(byAge, ageIdentities(identities(t, nodeKey))); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("cairn decrypting age's file: %q %v", got, err)
	}
	rs, _ := ReadRecipients(recipients)
	if enc, err := Describe(byAge, rs); err != nil || len(enc.To) != 1 || enc.To[0].Name != "node-1" || len(enc.Unknown) != 1 {
		t.Errorf("Describe of age's file: %+v %v", enc, err)
	}
}
