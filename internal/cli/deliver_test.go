package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/remote/sshtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// twoStores makes a store with three generations to deliver from and a
// node's store with one, and a key the node trusts.
func twoStores(t *testing.T) (src, node *store.Store, key, trusted string) {
	t.Helper()
	requireRoot(t)
	var err error
	mk := func(n int) *store.Store {
		dir := t.TempDir()
		t.Cleanup(func() { storetest.Thaw(dir) })
		s, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, n)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	src, node = mk(3), mk(1)
	keys := t.TempDir()
	key = filepath.Join(keys, "fleet.key")
	if code, _, stderr := run(t, "key", "generate", key); code != 0 {
		t.Fatal(stderr)
	}
	trusted = filepath.Join(keys, "trusted")
	if err = os.Mkdir(trusted, 0o755); err != nil {
		t.Fatal(err)
	}
	pub, _ := os.ReadFile(key + ".pub")
	if err := os.WriteFile(filepath.Join(trusted, "fleet.pub"), pub, 0o644); err != nil {
		t.Fatal(err)
	}
	return src, node, key, trusted
}

// TestPushOverSSH: cairn push through a real OpenSSH server on a local
// port, to the node's cairn receive (the cairn binary), as an operator
// pushes to a node.
func TestPushOverSSH(t *testing.T) {
	src, node, key, trusted := twoStores(t)
	srv := sshtest.Start(t)
	bin := filepath.Join(t.TempDir(), "cairn")
	e2etest.GoBuild(t, "./cmd/cairn", bin)
	to := srv.Address(node.Dir()).String()
	remoteCairn := "env CAIRN_TRUSTED_KEYS=" + trusted + " " + bin
	code, stdout, stderr := run(t, "push", "3", "--store", src.Dir(), "--to", to, "--key", key,
		"--ssh", strings.Join(srv.SSH, " "), "--remote-cairn", remoteCairn, "--json")
	if code != 0 {
		t.Fatalf("push: exit %d\n%s", code, stderr)
	}
	var rep deliveryReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Generation != 3 || rep.NodeGeneration != 2 || rep.Method != "files" || rep.WireBytes == 0 || rep.WireBytes != rep.BytesSent+rep.BytesReceived {
		t.Errorf("push over ssh: %+v", rep)
	}
	g, err := node.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := src.Get(3)
	storetest.Check(t, g.Path, fixtureTree(3))
	if g.Meta.Description != want.Meta.Description {
		t.Errorf("node's generation 2: %+v", g.Meta)
	}
	t.Logf("pushed over ssh: %d bytes on the wire", rep.WireBytes)

	// Signed by a key the node does not trust: exit 4, as JSON.
	other := filepath.Join(t.TempDir(), "other.key")
	run(t, "key", "generate", other)
	code, stdout, _ = run(t, "push", "2", "--store", src.Dir(), "--to", to, "--key", other,
		"--ssh", strings.Join(srv.SSH, " "), "--remote-cairn", remoteCairn, "--json")
	if code != ExitUntrusted || !strings.Contains(stdout, "which this node does not trust") {
		t.Errorf("push signed by an untrusted key: exit %d\n%s", code, stdout)
	}
	if n := storetest.Numbers(t, node); len(n) != 2 {
		t.Errorf("the node has generations %v after a refused push", n)
	}
}

// TestServePull: cairn serve on a local port, cairn pull on the node;
// a node that trusts another key takes nothing (exit 4).
func TestServePull(t *testing.T) {
	src, node, key, trusted := twoStores(t)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"serve", "--store", src.Dir(), "--key", key, "--listen", "127.0.0.1:0"},
			Stdio{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: pw})
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		t.Fatal("cairn serve said nothing")
	}
	m := regexp.MustCompile(`serving generations of .* on (http://127\.0\.0\.1:[0-9]+/)$`).FindStringSubmatch(sc.Text())
	if m == nil {
		t.Fatalf("cairn serve: %q", sc.Text())
	}
	go io.Copy(io.Discard, pr)
	url := m[1]

	code, stdout, stderr := run(t, "pull", url, "--store", node.Dir(), "--trusted", trusted)
	if code != 0 {
		t.Fatalf("pull: exit %d\n%s", code, stderr)
	}
	if !regexp.MustCompile(`^pulled from http://.*: generation 2 of this store, by files \(\d+ files fetched, \d+ files taken from this store\)\n[0-9.]+ KiB on the wire\n$`).MatchString(stdout) {
		t.Errorf("pull said %q", stdout)
	}
	storetest.Check(t, filepath.Join(node.Dir(), "@cairn/generations/2"), fixtureTree(3))
	code, stdout, _ = run(t, "pull", url, "3", "--store", node.Dir(), "--trusted", trusted, "--json")
	if code != 0 || !strings.Contains(stdout, `"already": true`) {
		t.Errorf("pull again: exit %d, %s", code, stdout)
	}

	other := filepath.Join(t.TempDir(), "other.key")
	run(t, "key", "generate", other)
	before, _ := os.ReadFile(filepath.Join(node.Dir(), "@cairn/state.json"))
	code, _, stderr = run(t, "pull", url, "2", "--store", node.Dir(), "--trusted", other+".pub")
	if code != ExitUntrusted || !strings.Contains(stderr, "which this node does not trust") {
		t.Errorf("pull with another key trusted: exit %d\n%s", code, stderr)
	}
	after, _ := os.ReadFile(filepath.Join(node.Dir(), "@cairn/state.json"))
	if string(before) != string(after) || len(storetest.Numbers(t, node)) != 2 {
		t.Errorf("a refused pull changed the node's store")
	}
}
