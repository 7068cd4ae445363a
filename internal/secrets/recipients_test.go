package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseRecipient(t *testing.T) {
	dir := t.TempDir()
	_, ageR := ageKey(t, dir, "alice")
	_, sshR := sshKey(t, dir, "bob")
	for _, tc := range []struct {
		in, want, name, kind, err string
	}{
		{in: ageR.Key, want: ageR.Key, kind: KindAge},
		{in: sshR.Key + " bob@laptop", want: sshR.Key, name: "bob@laptop", kind: KindSSHEd25519},
		{in: "  " + sshR.Key + "  ", want: sshR.Key, kind: KindSSHEd25519},
		{in: "age1notakey", err: `"age1notakey" is not an age public key`},
		{in: "ssh-ed25519 AAAA", err: "is not an OpenSSH public key line"},
		{in: "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=", err: "is not a public key"},
		{in: "AGE-SECRET-KEY-1QQQ", err: "this is a private key"},
		{in: "-----BEGIN OPENSSH PRIVATE KEY-----", err: "this is a private key"},
		{in: "hello world", err: `"hello" is not a public key`},
	} {
		r, err := ParseRecipient(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRecipient(%.30q): error %v, want %q", tc.in, err, tc.err)
			}
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("the error repeats a private key: %v", err)
			}
			continue
		}
		if err != nil || r.Key != tc.want || r.Name != tc.name || r.Kind() != tc.kind {
			t.Errorf("ParseRecipient(%.30q) = %+v (kind %s), %v; want key %.30q name %q kind %s", tc.in, r, r.Kind(), err, tc.want, tc.name, tc.kind)
		}
	}
	if fp := sshR.Fingerprint(); !strings.HasPrefix(fp, "SHA256:") {
		t.Errorf("SSH fingerprint %q", fp)
	}
}

func TestRecipientsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "secrets", RecipientsFileName)
	_, alice := ageKey(t, dir, "alice")
	_, node := sshKey(t, dir, "node-1")

	if _, err := ReadRecipients(file); err == nil || !strings.Contains(err.Error(), "cairn secrets add-key") {
		t.Errorf("a missing recipients file: %v", err)
	}
	for _, r := range []Recipient{alice, node} {
		if added, err := AddRecipient(file, r); err != nil || !added {
			t.Fatalf("add %s: %v %v", r.Name, added, err)
		}
	}
	if added, err := AddRecipient(file, alice); err != nil || added {
		t.Errorf("adding alice again: %v %v, want nothing done", added, err)
	}
	other := node
	other.Name = "node-2"
	if _, err := AddRecipient(file, other); err == nil || !strings.Contains(err.Error(), `has this key already, as "node-1"`) {
		t.Errorf("node-1's key as node-2: %v", err)
	}
	_, alice2 := ageKey(t, dir, "alice")
	if _, err := AddRecipient(file, alice2); err == nil || !strings.Contains(err.Error(), "cairn secrets remove-key alice") {
		t.Errorf("another key named alice: %v", err)
	}
	if _, err := AddRecipient(file, Recipient{Key: alice2.Key, Name: "two words"}); err == nil {
		t.Errorf("a name with a space was accepted")
	}

	data, _ := os.ReadFile(file)
	text := string(data)
	if !strings.Contains(text, "# alice\n"+alice.Key+"\n") || !strings.Contains(text, node.Key+" node-1\n") || !strings.HasPrefix(text, "# Who the secrets") {
		t.Errorf("the file:\n%s", text)
	}
	got, err := ReadRecipients(file)
	if err != nil || len(got) != 2 || got[0] != alice || got[1] != node {
		t.Fatalf("read back: %+v %v", got, err)
	}

	// remove by name, then by fingerprint
	if removed, err := RemoveRecipient(file, "alice"); err != nil || !removed {
		t.Fatalf("remove alice: %v %v", removed, err)
	}
	data, _ = os.ReadFile(file)
	if strings.Contains(string(data), "alice") {
		t.Errorf("alice's comment stayed:\n%s", data)
	}
	if removed, err := RemoveRecipient(file, node.Fingerprint()); err != nil || !removed {
		t.Fatalf("remove node-1 by fingerprint: %v %v", removed, err)
	}
	if removed, err := RemoveRecipient(file, "nobody"); err != nil || removed {
		t.Errorf("remove nobody: %v %v", removed, err)
	}
	if _, err := ReadRecipients(file); err == nil || !strings.Contains(err.Error(), "no recipients") {
		t.Errorf("an empty recipients file: %v", err)
	}
}

func TestRecipientsFileErrors(t *testing.T) {
	dir := t.TempDir()
	_, alice := ageKey(t, dir, "alice")
	for _, tc := range []struct{ name, content, want string }{
		{"bad line", "# ok\n" + alice.Key + "\nnot-a-key\n", ":3: \"not-a-key\" is not a public key"},
		{"twice", alice.Key + "\n\n" + alice.Key + "\n", ":3: the key of line 1 again"},
		{"private key", "AGE-SECRET-KEY-1ABCDEF\n", ":1: this is a private key"},
	} {
		file := filepath.Join(dir, tc.name)
		writeFile(t, file, tc.content)
		_, err := ReadRecipients(file)
		var re *RecipientsError
		if !errors.As(err, &re) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	// Names: an age key by the comment just above, not across a blank line.
	file := filepath.Join(dir, "names")
	writeFile(t, file, "# operators\n\n# alice\n"+alice.Key+"\n")
	rs, err := ReadRecipients(file)
	if err != nil || len(rs) != 1 || rs[0].Name != "alice" {
		t.Errorf("names: %+v %v", rs, err)
	}
}

// TestAddRemoveKey: a key goes into the files that lack it and out of
// those that have it, and the change says which was which.
func TestAddRemoveKey(t *testing.T) {
	dir := t.TempDir()
	_, alice := ageKey(t, dir, "alice")
	_, node := sshKey(t, dir, "node-1")
	a, b := filepath.Join(dir, "a", RecipientsFileName), filepath.Join(dir, "b", RecipientsFileName)
	if _, err := AddRecipient(a, alice); err != nil {
		t.Fatal(err)
	}
	if _, err := AddRecipient(b, node); err != nil {
		t.Fatal(err)
	}
	ch, err := AddKey(node, []string{a, b})
	if err != nil || strings.Join(ch.Files, ",") != a || strings.Join(ch.Unchanged, ",") != b {
		t.Errorf("add: %+v %v", ch, err)
	}
	ch, err = RemoveKey("alice", []string{a, b})
	if err != nil || strings.Join(ch.Files, ",") != a || strings.Join(ch.Unchanged, ",") != b || ch.Recipient.Name != "alice" {
		t.Errorf("remove: %+v %v", ch, err)
	}
	r, err := ParseKeyFile([]byte("# node-1's key\n\n" + node.Key + " root@node-1\n"))
	if err != nil || r.Key != node.Key {
		t.Errorf("key file: %+v %v", r, err)
	}
}
