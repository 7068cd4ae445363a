package secrets

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// project is a manifest directory with two secrets in secrets/ and the
// operator alice in its recipients file.
type project struct {
	dir        string
	declared   []Declared
	aliceKey   string
	alice      Recipient
	recipients string
}

func newProject(t *testing.T) *project {
	t.Helper()
	p := &project{dir: t.TempDir()}
	p.aliceKey, p.alice = ageKey(t, t.TempDir(), "alice")
	sys := &manifest.System{Secrets: []manifest.Secret{
		{Name: "app-env", File: "secrets/app-env.age", Services: []string{"app"}},
		{Name: "db", File: "secrets/db.age", Owner: "postgres:postgres"},
	}}
	sys.ApplyDefaults()
	p.declared = DeclaredIn(sys, p.dir)
	p.recipients = filepath.Join(p.dir, "secrets", RecipientsFileName)
	if _, err := AddRecipient(p.recipients, p.alice); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *project) set(t *testing.T, name, content string) EditResult {
	t.Helper()
	d, err := Find(p.declared, name)
	if err != nil {
		t.Fatal(err)
	}
	e := &Edit{Secret: d, Identities: identities(t, p.aliceKey), Content: []byte(content)}
	res, err := e.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (p *project) plain(t *testing.T, name, key string) string {
	t.Helper()
	d, _ := Find(p.declared, name)
	data, err := os.ReadFile(d.Encrypted)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Decrypt(data, ageIdentities(identities(t, key)))
	if err != nil {
		t.Fatalf("decrypt %s with %s: %v", name, key, err)
	}
	return string(out)
}

func TestDeclared(t *testing.T) {
	p := newProject(t)
	if d := p.declared[0]; d.Encrypted != filepath.Join(p.dir, "secrets/app-env.age") || d.Recipients != p.recipients || d.Path != "/run/secrets/app-env" {
		t.Errorf("declared: %+v", d)
	}
	if files := RecipientsFiles(p.declared); len(files) != 1 || files[0] != p.recipients {
		t.Errorf("recipients files: %q", files)
	}
	if _, err := Find(p.declared, "nope"); err == nil || !strings.Contains(err.Error(), "it declares app-env, db") {
		t.Errorf("Find nope: %v", err)
	}
}

// TestEditPrivateTemp: the editor gets the plaintext in a 0600 file in a
// 0700 directory of its own, which is gone afterwards, also when the
// editor fails; then the secret is encrypted to the recipients.
func TestEditPrivateTemp(t *testing.T) {
	p := newProject(t)
	tmp := t.TempDir()
	d, _ := Find(p.declared, "app-env")
	var seen string
	edit := func(content string, fail bool) Editor {
		return func(path string) error {
			seen = path
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("the temporary file's mode: %v %v", fi.Mode(), err)
			}
			di, err := os.Stat(filepath.Dir(path))
			if err != nil || di.Mode().Perm() != 0o700 || filepath.Dir(filepath.Dir(path)) != tmp {
				t.Errorf("its directory %s: %v %v", filepath.Dir(path), di.Mode(), err)
			}
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			if fail {
				return errors.New("exit status 1")
			}
			return nil
		}
	}
	ids := identities(t, p.aliceKey)
	run := func(content string, fail bool) (EditResult, error) {
		e := &Edit{Secret: d, Identities: ids, Editor: edit(content, fail), TempDir: tmp}
		res, err := e.Run(context.Background())
		if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
			t.Errorf("the temporary directory is still there: %v", entries)
		}
		if _, err := os.Stat(seen); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the plaintext file %s is still there", seen)
		}
		return res, err
	}

	res, err := run("TOKEN=one\n", false)
	if err != nil || res.State != "created" || len(res.To) != 1 {
		t.Fatalf("create: %+v %v", res, err)
	}
	if got := p.plain(t, "app-env", p.aliceKey); got != "TOKEN=one\n" {
		t.Errorf("after create: %q", got)
	}
	before, _ := os.ReadFile(d.Encrypted)
	if _, err := run("TOKEN=lost\n", true); err == nil || !strings.Contains(err.Error(), "the secret is left as it was") {
		t.Errorf("a failing editor: %v", err)
	}
	if after, _ := os.ReadFile(d.Encrypted); !bytes.Equal(before, after) {
		t.Errorf("a failed edit changed the file")
	}
	if res, err := run("TOKEN=one\n", false); err != nil || res.State != "unchanged" {
		t.Errorf("an edit changing nothing: %+v %v", res, err)
	}
	if after, _ := os.ReadFile(d.Encrypted); !bytes.Equal(before, after) {
		t.Errorf("an unchanged edit rewrote the file")
	}
	if res, err := run("TOKEN=two\n", false); err != nil || res.State != "changed" {
		t.Errorf("a change: %+v %v", res, err)
	}
	if got := p.plain(t, "app-env", p.aliceKey); got != "TOKEN=two\n" {
		t.Errorf("after change: %q", got)
	}

	// Someone without a key of the recipients cannot edit it.
	otherKey, _ := ageKey(t, t.TempDir(), "mallory")
	e := &Edit{Secret: d, Identities: identities(t, otherKey), Editor: edit("x", false), TempDir: tmp}
	if _, err := e.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "none of your identities decrypts it") || !strings.Contains(err.Error(), "alice") {
		t.Errorf("mallory's edit: %v", err)
	}
}

// TestRekey: a new recipient gets every secret after a rekey; secrets
// already in line are left alone unless all are asked for; a removed
// recipient can no longer decrypt.
func TestRekey(t *testing.T) {
	p := newProject(t)
	p.set(t, "app-env", "A=1\n")
	p.set(t, "db", "pw\n")
	ids := identities(t, p.aliceKey)
	res, err := Rekey(context.Background(), p.declared, ids, false)
	if err != nil || res[0].State != "inLine" || res[1].State != "inLine" {
		t.Fatalf("rekey with nothing to do: %+v %v", res, err)
	}
	if info := Inspect(p.declared[0]); !info.InLine || info.Problem != "" || len(info.EncryptedTo.To) != 1 || info.EncryptedTo.To[0].Name != "alice" {
		t.Errorf("inspect: %+v", info)
	}

	nodeKey, node := sshKey(t, t.TempDir(), "node-1")
	if _, err := AddRecipient(p.recipients, node); err != nil {
		t.Fatal(err)
	}
	if info := Inspect(p.declared[0]); info.InLine || !strings.Contains(info.Problem, "cairn secrets rekey") {
		t.Errorf("inspect after add-key: %+v", info)
	}
	res, err = Rekey(context.Background(), p.declared, ids, false)
	if err != nil || res[0].State != "rekeyed" || res[1].State != "rekeyed" || len(res[0].To) != 2 {
		t.Fatalf("rekey: %+v %v", res, err)
	}
	if got := p.plain(t, "db", nodeKey); got != "pw\n" {
		t.Errorf("the node decrypts %q", got)
	}
	before, _ := os.ReadFile(p.declared[1].Encrypted)
	res, _ = Rekey(context.Background(), p.declared, ids, true)
	after, _ := os.ReadFile(p.declared[1].Encrypted)
	if res[1].State != "rekeyed" || bytes.Equal(before, after) {
		t.Errorf("rekey --all left a secret alone: %+v", res)
	}

	// Key rotation: alice leaves, the node stays.
	if _, err := RemoveRecipient(p.recipients, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := Rekey(context.Background(), p.declared, ids, false); err != nil {
		t.Fatal(err)
	}
	d, _ := Find(p.declared, "db")
	data, _ := os.ReadFile(d.Encrypted)
	if _, err := Decrypt(data, ageIdentities(ids)); !noMatch(err) {
		t.Errorf("alice still decrypts after her removal: %v", err)
	}
	if got := p.plain(t, "db", nodeKey); got != "pw\n" {
		t.Errorf("the node after rotation: %q", got)
	}
}

func TestRekeyFailures(t *testing.T) {
	p := newProject(t)
	p.set(t, "app-env", "A=1\n")
	// db has no file yet: it fails, app-env is still done.
	_, node := sshKey(t, t.TempDir(), "node-1")
	AddRecipient(p.recipients, node)
	res, err := Rekey(context.Background(), p.declared, identities(t, p.aliceKey), false)
	if err == nil || !strings.Contains(err.Error(), "secret db:") || res[0].State != "rekeyed" || res[1].State != "failed" {
		t.Errorf("rekey with a missing file: %+v %v", res, err)
	}
	// A plaintext file where a secret should be is refused, not encrypted.
	writeFile(t, p.declared[1].Encrypted, "password=hunter2\n")
	info := Inspect(p.declared[1])
	if info.EncryptedTo != nil || !strings.Contains(info.Problem, "not an age-encrypted file") {
		t.Errorf("inspect of a plaintext: %+v", info)
	}
	if strings.Contains(info.Problem, "hunter2") {
		t.Errorf("the problem quotes the plaintext: %s", info.Problem)
	}
}
