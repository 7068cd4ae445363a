package secrets

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// fakeServices records restarts; started are the services that run.
type fakeServices struct {
	started   []string
	restarted []string
}

func (f *fakeServices) Started(_ context.Context, name string) (bool, error) {
	return slices.Contains(f.started, name), nil
}

func (f *fakeServices) Restart(_ context.Context, name string) error {
	f.restarted = append(f.restarted, name)
	return nil
}

// node is a running system in a directory: /run a tmpfs of its own, a
// generation tree with secrets encrypted to the node's provisioned key.
type node struct {
	root, gen string
	key       Recipient // the node's provisioned identity
}

func newNode(t *testing.T) *node {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (a tmpfs, owners of the secrets)")
	n := &node{root: t.TempDir(), gen: t.TempDir()}
	run := filepath.Join(n.root, "run")
	os.MkdirAll(run, 0o755)
	if err := unix.Mount("tmpfs", run, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Unmount(run, unix.MNT_DETACH) })
	keyFile, key := ageKey(t, t.TempDir(), "node-1")
	data, _ := os.ReadFile(keyFile)
	writeFile(t, filepath.Join(n.root, "run/cairn/store", ProvisionedIdentity), string(data))
	n.key = key
	return n
}

// generation writes the generation's spec and encrypted files: each
// secret name -> content, encrypted to to.
func (n *node) generation(t *testing.T, entries []Entry, content map[string]string, to []Recipient) {
	t.Helper()
	for _, e := range entries {
		ct, err := Encrypt([]byte(content[e.Name]), to)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(n.gen, e.File), string(ct))
	}
	data, _ := Spec{Secrets: entries}.Marshal()
	writeFile(t, filepath.Join(n.gen, SpecPath), string(data))
}

func (n *node) activate(t *testing.T, boot bool, svc *fakeServices) (*Report, error) {
	t.Helper()
	a := &Activation{Root: n.root, Generation: n.gen, Boot: boot, Services: svc}
	return a.Run(context.Background())
}

var twoSecrets = []Entry{
	{Name: "app-env", File: CiphertextDir + "/app-env.age", Path: "/run/secrets/app-env", Owner: "app:app", UID: 1000, GID: 1000, Mode: "0400", Services: []string{"app"}},
	{Name: "db", File: CiphertextDir + "/db.age", Path: "/run/secrets/pg/db", Owner: "postgres:postgres", UID: 70, GID: 70, Mode: "0440", Services: []string{"postgresql"}},
}

func checkFile(t *testing.T, file, content string, uid, gid int, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(file)
	fi, serr := os.Stat(file)
	if err != nil || serr != nil {
		t.Fatalf("%s: %v %v", file, err, serr)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if string(data) != content || int(st.Uid) != uid || int(st.Gid) != gid || fi.Mode().Perm() != mode {
		t.Errorf("%s: %q %d:%d %v, want %q %d:%d %v", file, data, st.Uid, st.Gid, fi.Mode().Perm(), content, uid, gid, mode)
	}
}

// TestActivate: at boot the secrets appear with their owners and modes
// in /run/secrets (0751); activating again changes nothing and restarts
// nothing; a changed secret is replaced and only its running service
// restarted; a secret the generation no longer declares is removed.
func TestActivate(t *testing.T) {
	n := newNode(t)
	n.generation(t, twoSecrets, map[string]string{"app-env": "TOKEN=one\n", "db": "pw\n"}, []Recipient{n.key})
	svc := &fakeServices{started: []string{"app", "postgresql"}}
	rep, err := n.activate(t, true, svc)
	if err != nil {
		t.Fatal(err)
	}
	checkFile(t, filepath.Join(n.root, "run/secrets/app-env"), "TOKEN=one\n", 1000, 1000, 0o400)
	checkFile(t, filepath.Join(n.root, "run/secrets/pg/db"), "pw\n", 70, 70, 0o440)
	if fi, _ := os.Stat(filepath.Join(n.root, "run/secrets")); fi.Mode().Perm() != 0o751 {
		t.Errorf("/run/secrets is %v", fi.Mode())
	}
	if rep.Secrets[0].State != StateWritten || rep.Secrets[1].State != StateWritten || len(svc.restarted) != 0 || rep.Created != nil {
		t.Errorf("boot: %+v, restarted %v", rep, svc.restarted)
	}
	if len(rep.Identities) != 1 || rep.Identities[0].Name != "/run/cairn/store/@cairn/identity" {
		t.Errorf("identities: %+v", rep.Identities)
	}
	if p := Check(n.genRootForCheck(t)); len(p) != 0 {
		t.Errorf("check after boot: %v", p)
	}

	rep, err = n.activate(t, false, svc)
	if err != nil || rep.Secrets[0].State != StateUnchanged || rep.Secrets[1].State != StateUnchanged || len(svc.restarted) != 0 {
		t.Errorf("again: %+v %v, restarted %v", rep, err, svc.restarted)
	}

	n.generation(t, twoSecrets, map[string]string{"app-env": "TOKEN=two\n", "db": "pw\n"}, []Recipient{n.key})
	rep, err = n.activate(t, false, svc)
	if err != nil || rep.Secrets[0].State != StateWritten || rep.Secrets[1].State != StateUnchanged {
		t.Fatalf("changed: %+v %v", rep, err)
	}
	if !slices.Equal(svc.restarted, []string{"app"}) || !slices.Equal(rep.Restarted, []string{"app"}) {
		t.Errorf("restarted %v (report %v), want app only", svc.restarted, rep.Restarted)
	}
	checkFile(t, filepath.Join(n.root, "run/secrets/app-env"), "TOKEN=two\n", 1000, 1000, 0o400)

	// A changed mode counts as a change; a service not running is not
	// started by it.
	svc = &fakeServices{started: []string{"app"}}
	changedMode := slices.Clone(twoSecrets)
	changedMode[1].Mode = "0400"
	n.generation(t, changedMode, map[string]string{"app-env": "TOKEN=two\n", "db": "pw\n"}, []Recipient{n.key})
	rep, _ = n.activate(t, false, svc)
	if rep.Secrets[1].State != StateWritten || len(svc.restarted) != 0 {
		t.Errorf("mode change: %+v, restarted %v", rep.Secrets, svc.restarted)
	}

	n.generation(t, twoSecrets[:1], map[string]string{"app-env": "TOKEN=two\n"}, []Recipient{n.key})
	rep, err = n.activate(t, false, svc)
	if err != nil || !slices.Equal(rep.Removed, []string{"/run/secrets/pg/db"}) {
		t.Errorf("removed: %+v %v", rep, err)
	}
	if _, err := os.Stat(filepath.Join(n.root, "run/secrets/pg/db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed secret is still there: %v", err)
	}
	// No temporary file is left beside the secrets.
	filepath.Walk(filepath.Join(n.root, "run/secrets"), func(p string, fi os.FileInfo, _ error) error {
		if strings.Contains(p, "cairn-new") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}

// genRootForCheck copies the generation's spec into the root, as the
// booted generation has it at /.
func (n *node) genRootForCheck(t *testing.T) string {
	t.Helper()
	data, _ := os.ReadFile(filepath.Join(n.gen, SpecPath))
	writeFile(t, filepath.Join(n.root, SpecPath), string(data))
	return n.root
}

// TestActivateWrongKey: a secret encrypted to another key fails, named,
// with what it is encrypted to and the node's keys; the other secret is
// still put in place; the check at confirmation names it.
func TestActivateWrongKey(t *testing.T) {
	n := newNode(t)
	_, other := ageKey(t, t.TempDir(), "node-2")
	n.generation(t, twoSecrets[:1], map[string]string{"app-env": "A=1\n"}, []Recipient{n.key})
	ct, _ := Encrypt([]byte("pw\n"), []Recipient{other})
	writeFile(t, filepath.Join(n.gen, twoSecrets[1].File), string(ct))
	data, _ := Spec{Secrets: twoSecrets}.Marshal()
	writeFile(t, filepath.Join(n.gen, SpecPath), string(data))

	rep, err := n.activate(t, true, nil)
	var ae *ActivationError
	if !errors.As(err, &ae) || len(ae.Failed) != 1 || ae.Failed[0].Name != "db" {
		t.Fatalf("error %v", err)
	}
	for _, want := range []string{"secret db: this node cannot decrypt it: it is encrypted to age " + other.Key, "this node's keys are age " + n.key.Key + " (/run/cairn/store/@cairn/identity)", "cairn secrets add-key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q:\n%v", want, err)
		}
	}
	if rep.Secrets[0].State != StateWritten {
		t.Errorf("the good secret: %+v", rep.Secrets[0])
	}
	problems := Check(n.genRootForCheck(t))
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "secret db: this node cannot decrypt it") {
		t.Errorf("check: %q", problems)
	}
	// The report on the node holds no plaintext.
	status, _ := os.ReadFile(filepath.Join(n.root, StatusPath))
	if strings.Contains(string(status), "A=1") {
		t.Errorf("the status file holds a secret:\n%s", status)
	}
}

// TestActivateNewNode: a node without any identity gets its SSH host key
// at boot, before anything is decrypted; its secrets (encrypted before
// the key existed) fail by name and the report gives the new key.
func TestActivateNewNode(t *testing.T) {
	n := newNode(t)
	os.RemoveAll(filepath.Join(n.root, "run/cairn/store"))
	writeFile(t, filepath.Join(n.root, "etc/hostname"), "node-7\n")
	n.generation(t, twoSecrets[:1], map[string]string{"app-env": "A=1\n"}, []Recipient{n.key})
	a := &Activation{Root: n.root, Generation: n.gen}
	if _, err := a.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "this node has no key to decrypt it with") {
		t.Errorf("a live activation without a key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(n.root, NodeSSHKey)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a live activation made a key")
	}
	rep, err := n.activate(t, true, nil)
	if err == nil || rep.Created == nil || !strings.HasPrefix(rep.Created.Key, "ssh-ed25519 ") {
		t.Fatalf("boot of a new node: %+v %v", rep, err)
	}
	pub, _ := os.ReadFile(filepath.Join(n.root, NodeSSHKey+".pub"))
	if !strings.HasPrefix(string(pub), rep.Created.Key+" root@node-7") {
		t.Errorf("the new key %q, .pub %q", rep.Created.Key, pub)
	}
	// Once the secret is encrypted to the new key too, it works.
	n.generation(t, twoSecrets[:1], map[string]string{"app-env": "A=1\n"}, []Recipient{n.key, *rep.Created})
	if _, err := n.activate(t, true, nil); err != nil {
		t.Errorf("after adding the node's key: %v", err)
	}
}

// TestActivateMemoryOnly: /run/secrets on a file system other than tmpfs
// or ramfs (here /proc's, as the check sees it) is refused.
func TestActivateMemoryOnly(t *testing.T) {
	n := newNode(t)
	n.generation(t, twoSecrets[:1], map[string]string{"app-env": "A=1\n"}, []Recipient{n.key})
	a := &Activation{Root: n.root, Generation: n.gen, Boot: true, MemoryFS: func(string) error { return memoryFS("/proc") }}
	_, err := a.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not a memory file system") {
		t.Errorf("disk: %v", err)
	}
	if _, err := os.Stat(filepath.Join(n.root, "run/secrets/app-env")); err == nil {
		t.Errorf("the secret was written")
	}
	if err := memoryFS(filepath.Join(n.root, "run")); err != nil {
		t.Errorf("a tmpfs: %v", err)
	}
}
