package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/secrets"
)

// secretsProject is a manifest declaring two secrets, in a directory of
// its own.
func secretsProject(t *testing.T) (dir, mf string) {
	t.Helper()
	dir = t.TempDir()
	mf = filepath.Join(dir, "system.yaml")
	writeFile(t, mf, []byte(`apiVersion: cairn/v1
kind: System
alpine:
  repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]
packages: [alpine-base]
secrets:
  - name: app-env
    file: secrets/app-env.age
    services: [app]
  - name: db
    file: secrets/db.age
    owner: nobody:nobody
`))
	return dir, mf
}

// runIn runs cairn in-process with stdin.
func runIn(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, Stdio{Stdin: strings.NewReader(stdin), Stdout: &stdout, Stderr: &stderr})
	return code, stdout.String(), stderr.String()
}

func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, out, errOut := runIn(t, stdin, args...)
	if code != 0 {
		t.Fatalf("cairn %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestSecretsCommands is an operator's day with secrets: an identity, a
// recipients file, two secrets (one set from standard input, one edited
// in $EDITOR), a node's key added and the secrets rekeyed for it, then
// taken away again; list says at each step what each secret is
// encrypted to, and fails while one is not in line.
func TestSecretsCommands(t *testing.T) {
	dir, mf := secretsProject(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("HOME", t.TempDir())
	aliceKey := filepath.Join(t.TempDir(), "alice.key")
	alice := strings.TrimSpace(mustRun(t, "", "secrets", "keygen", "-o", aliceKey))
	if !strings.HasPrefix(alice, "age1") {
		t.Fatalf("keygen printed %q", alice)
	}
	if fi, err := os.Stat(aliceKey); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the identity's mode: %v %v", fi, err)
	}
	if code, _, errOut := runIn(t, "", "secrets", "keygen", "-o", aliceKey); code != 1 || !strings.Contains(errOut, "does not overwrite") {
		t.Errorf("keygen over an identity: %d %s", code, errOut)
	}
	t.Setenv("CAIRN_IDENTITY", aliceKey)

	out := mustRun(t, "", "secrets", "add-key", "-f", mf, "--name", "alice", "--key", alice)
	if !strings.Contains(out, "added alice (age "+alice+") to "+filepath.Join(dir, "secrets", "recipients")) {
		t.Errorf("add-key: %s", out)
	}
	// A secret set from standard input, one from the editor.
	out = mustRun(t, "API_TOKEN=t0k3n\n", "secrets", "edit", "-f", mf, "app-env", "--from", "-")
	if !strings.Contains(out, "secrets/app-env.age: created, encrypted to alice") {
		t.Errorf("edit --from -: %s", out)
	}
	editorScript := filepath.Join(t.TempDir(), "editor")
	writeFile(t, editorScript, []byte("#!/bin/sh\nstat -c '%a' \"$1\" \"$(dirname \"$1\")\" > \""+tmp+"-modes\"\nprintf 'hunter2' > \"$1\"\n"))
	os.Chmod(editorScript, 0o755)
	t.Cleanup(func() { os.Remove(tmp + "-modes") })
	t.Setenv("EDITOR", editorScript)
	mustRun(t, "", "secrets", "edit", "-f", mf, "db")
	if modes, _ := os.ReadFile(tmp + "-modes"); string(modes) != "600\n700\n" {
		t.Errorf("the editor's file and directory: %q", modes)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left in $TMPDIR: %v", entries)
	}

	list := func(wantCode int) []secrets.Info {
		t.Helper()
		code, out, errOut := runIn(t, "", "secrets", "list", "-f", mf, "--json")
		if code != wantCode {
			t.Fatalf("list: exit %d, want %d\n%s%s", code, wantCode, out, errOut)
		}
		var rep struct{ Secrets []secrets.Info }
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("list --json: %v\n%s", err, out)
		}
		for _, s := range []string{"t0k3n", "hunter2"} {
			if strings.Contains(out+errOut, s) {
				t.Errorf("list shows a secret's plaintext")
			}
		}
		return rep.Secrets
	}
	infos := list(0)
	if len(infos) != 2 || !infos[0].InLine || infos[1].Owner != "nobody:nobody" || len(infos[1].EncryptedTo.To) != 1 || infos[1].EncryptedTo.To[0].Name != "alice" {
		t.Errorf("list: %+v", infos)
	}

	// A node's key, from its .pub file; list fails until the rekey.
	node := t.TempDir()
	if _, err := secrets.CreateNodeKey(node, "node-1"); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "secrets", "add-key", "-f", mf, "--name", "node-1", "--key-file", filepath.Join(node, secrets.NodeSSHKey+".pub"))
	if infos := list(1); infos[0].InLine || !strings.Contains(infos[0].Problem, "cairn secrets rekey") {
		t.Errorf("list after add-key: %+v", infos[0])
	}
	code, text, _ := runIn(t, "", "secrets", "list", "-f", mf)
	if code != 1 || !strings.Contains(text, "app-env: secrets/app-env.age -> /run/secrets/app-env (root:root 0400), for app\n  encrypted to: alice (age "+alice+")\n  PROBLEM: not encrypted to the recipients file's keys") {
		t.Errorf("list text (exit %d):\n%s", code, text)
	}
	out = mustRun(t, "", "secrets", "rekey", "-f", mf)
	if !strings.Contains(out, "app-env: rekeyed, encrypted to alice (age "+alice+"), node-1 (ssh-ed25519 SHA256:") {
		t.Errorf("rekey: %s", out)
	}
	infos = list(0)
	nodeIDs, err := secrets.NodeIdentities(node)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "secrets/db.age"))
	for _, id := range nodeIDs {
		if enc, _ := secrets.Describe(data, nil); !enc.Same([]secrets.Recipient{{Key: alice}, id.Recipient}) {
			t.Errorf("db after the rekey is encrypted to %s", enc)
		}
	}
	if out := mustRun(t, "", "secrets", "rekey", "-f", mf); !strings.Contains(out, "app-env: in line") {
		t.Errorf("rekey again: %s", out)
	}

	// The node leaves.
	mustRun(t, "", "secrets", "remove-key", "-f", mf, "node-1")
	list(1)
	mustRun(t, "", "secrets", "rekey", "-f", mf, "--json")
	if infos := list(0); len(infos[1].EncryptedTo.To) != 1 {
		t.Errorf("after the node left: %+v", infos[1].EncryptedTo)
	}

	// Without an identity of the recipients, no edit.
	other := filepath.Join(t.TempDir(), "other.key")
	mustRun(t, "", "secrets", "keygen", "-o", other)
	code, _, errOut := runIn(t, "", "secrets", "edit", "-f", mf, "db", "-i", other)
	if code != 1 || !strings.Contains(errOut, "none of your identities decrypts it") {
		t.Errorf("edit with another identity: %d %s", code, errOut)
	}
	if code, _, errOut := runIn(t, "", "secrets", "edit", "-f", mf, "nope"); code != 2 || !strings.Contains(errOut, `no secret "nope" (it declares app-env, db)`) {
		t.Errorf("edit nope: %d %s", code, errOut)
	}
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("left in $TMPDIR: %v", entries)
	}
}
