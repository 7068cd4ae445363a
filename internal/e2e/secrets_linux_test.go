package e2e

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/cairnlinux/cairn/internal/e2e/e2etest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// secretServices are two services that each need a secret: app sources
// its environment file, reader reads its token; each notes every start,
// with what it read, in /tmp.
const secretServices = `app:
  description: reads its environment from a secret
  command: /bin/sh
  args: ["-c", ". /run/secrets/app-env && echo \"start $API_TOKEN\" >> /tmp/app-starts && exec sleep 1000000"]
  user: app
reader:
  description: reads a token from a secret
  command: /bin/sh
  args: ["-c", "echo \"start $(cat /run/secrets/reader-token)\" >> /tmp/reader-starts && exec sleep 1000000"]
  user: reader
`

// secretsSystem is the real Alpine system with the two services, their
// users and their secrets; the reader's token is read from readerFile.
func secretsSystem(desc, key, readerFile string) e2etest.AlpineSystem {
	return e2etest.AlpineSystem{
		Description: desc, Motd: desc, Key: key,
		Default: []string{"app", "reader"},
		Define:  secretServices,
		Users:   "- name: app\n  system: true\n- name: reader\n  system: true\n",
		Extra: `secrets:
  - name: app-env
    file: secrets/app-env.age
    owner: app:app
    services: [app]
  - name: reader-token
    file: ` + readerFile + `
    owner: reader:reader
    mode: "0400"
    services: [reader]
`,
	}
}

// TestRealAlpineSecrets is issue 15's acceptance test on the real Alpine
// system, booted three times from one disk image:
//
//  1. generation 1 (the image) has two secrets encrypted to the operator
//     and to the node's key, made in advance with cairn secrets keygen
//     and put on the disk's store file system as @cairn/identity: both
//     are in /run/secrets with their owners and mode 0400, alice cannot
//     read them, each service saw its value; the node's SSH host key,
//     fetched with add-key --from-host, is the one cairn secrets
//     identity prints on the node; activating generation 2 (the app's
//     secret changed) on the running node replaces that secret and
//     restarts the app only;
//  2. generation 3, whose reader token is encrypted to another key, boots
//     as a trial: cairn-secrets names the secret, the trial is not
//     confirmed;
//  3. the next boot is generation 1 again, confirmed, the trial recorded
//     as fallen back.
func TestRealAlpineSecrets(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (loop devices, mounts)")
	e2etest.DiskTools(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeAlpineRepo(t, cairn)
	key, pub := e2etest.SSHKey(t)
	work := t.TempDir()
	aliceKey, nodeKey, otherKey := filepath.Join(work, "alice.key"), filepath.Join(work, "node-1.key"), filepath.Join(work, "other.key")
	alice := strings.TrimSpace(e2etest.Run(t, cairn, "secrets", "keygen", "-o", aliceKey))
	node := strings.TrimSpace(e2etest.Run(t, cairn, "secrets", "keygen", "-o", nodeKey))
	other := strings.TrimSpace(e2etest.Run(t, cairn, "secrets", "keygen", "-o", otherKey))
	secret := func(mf, name, value string) {
		t.Helper()
		cmd := exec.Command(cairn, "secrets", "edit", "-f", mf, name, "--from", "-", "-i", aliceKey)
		cmd.Stdin = strings.NewReader(value)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cairn secrets edit %s: %v\n%s", name, err, out)
		}
	}
	project := func(name, desc, readerFile string) string {
		t.Helper()
		dir := filepath.Join(work, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		return r.Manifest(t, dir, secretsSystem(desc, pub, readerFile))
	}

	// Generation 1: both secrets, for alice and the node.
	mf1 := project("g1", "generation one", "secrets/reader-token.age")
	e2etest.Run(t, cairn, "secrets", "add-key", "-f", mf1, "--name", "alice", "--key", alice)
	e2etest.Run(t, cairn, "secrets", "add-key", "-f", mf1, "--name", "node-1", "--key", node)
	secret(mf1, "app-env", "API_TOKEN=one\n")
	secret(mf1, "reader-token", "r3ad3r\n")
	img := filepath.Join(work, "disk.img")
	e2etest.Run(t, cairn, "image", "-f", mf1, "--format", "disk", "--firmware", "bios", "--size", "1536M", "-o", img)

	// Generation 2: the app's secret changed. Generation 3: the reader's
	// token encrypted to another key only.
	mf2 := project("g2", "generation two", "secrets/reader-token.age")
	e2etest.Run(t, "cp", "-a", filepath.Join(work, "g1", "secrets"), filepath.Join(work, "g2"))
	secret(mf2, "app-env", "API_TOKEN=two\n")
	mf3 := project("g3", "generation three", "other/reader-token.age")
	e2etest.Run(t, "cp", "-a", filepath.Join(work, "g1", "secrets"), filepath.Join(work, "g3"))
	e2etest.Run(t, cairn, "secrets", "add-key", "-f", mf3, "--name", "other", "--key", other, "--recipients", filepath.Join(work, "g3", "other", "recipients"))
	secret(mf3, "reader-token", "r3ad3r\n")
	if out := e2etest.Run(t, cairn, "secrets", "list", "-f", mf3); !strings.Contains(out, "reader-token: other/reader-token.age -> /run/secrets/reader-token (reader:reader 0400), for reader\n  encrypted to: other (age "+other+")") {
		t.Errorf("cairn secrets list for generation 3:\n%s", out)
	}

	// The node's key goes onto its store's file system before its first
	// boot; generations 2 and 3 into its store.
	top, undo := e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	e2etest.CopyFile(t, nodeKey, filepath.Join(top, "@cairn", "identity"), 0o600)
	e2etest.Run(t, cairn, "build", "-f", mf2, "--store", top)
	e2etest.Run(t, cairn, "build", "-f", mf3, "--store", top)
	undo()

	// 1. Generation 1.
	n := bootAlpine(t, img, key)
	lines := n.checkConsole("generation 1")
	if !regexp.MustCompile(`\* Decrypting secrets into /run/secrets \.\.\. *\[ ok \]`).MatchString(strings.Join(lines, "\n")) {
		t.Errorf("generation 1: cairn-secrets did not start [ ok ]:\n%s", grepLines(lines, "ecrypt"))
	}
	if got := n.ssh("doas stat -c '%U:%G %a %n' /run/secrets /run/secrets/app-env /run/secrets/reader-token"); got != "root:root 751 /run/secrets\napp:app 400 /run/secrets/app-env\nreader:reader 400 /run/secrets/reader-token\n" {
		t.Errorf("the secrets' owners and modes:\n%s", got)
	}
	if out, err := e2etest.SSH(n.addr, "alice", n.key, "cat /run/secrets/app-env; ls /run/secrets"); err == nil || strings.Contains(out, "API_TOKEN") || strings.Contains(out, "reader-token") {
		t.Errorf("alice reads the secrets: %v\n%s", err, out)
	}
	if got := n.ssh("cat /tmp/app-starts /tmp/reader-starts"); got != "start one\nstart r3ad3r\n" {
		t.Errorf("what the services read: %q", got)
	}
	if out := n.ssh("awk '$2 == \"/run\" {print $3}' /proc/mounts"); out != "tmpfs\n" {
		t.Errorf("/run is %q", out)
	}
	if out := n.ssh("doas cairn confirm --boot --json"); !strings.Contains(out, `"name": "secrets",`) {
		t.Errorf("cairn confirm --boot does not check the secrets:\n%s", out)
	}

	// The node's keys: the provisioned one, and its SSH host key, which
	// the operator fetches from its SSH server.
	ids := strings.Split(strings.TrimSpace(n.ssh("doas cairn secrets identity")), "\n")
	if len(ids) != 2 || ids[0] != node || !strings.HasPrefix(ids[1], "ssh-ed25519 ") {
		t.Fatalf("cairn secrets identity on the node: %q", ids)
	}
	e2etest.Run(t, cairn, "secrets", "add-key", "-f", mf1, "--name", "node-1-ssh", "--from-host", n.addr)
	recipients, _ := os.ReadFile(filepath.Join(work, "g1", "secrets", "recipients"))
	if !strings.Contains(string(recipients), ids[1]+" node-1-ssh\n") {
		t.Errorf("the host key add-key fetched is not the node's %s:\n%s", ids[1], recipients)
	}

	// Generation 2's secrets, live: only the app restarts.
	var rep struct {
		Secrets []struct {
			Name, State string
		}
		Restarted []string
	}
	out := n.ssh("doas cairn secrets activate --generation 2 --json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("cairn secrets activate --generation 2: %v\n%s", err, out)
	}
	if len(rep.Secrets) != 2 || rep.Secrets[0].State != "written" || rep.Secrets[1].State != "unchanged" || !slices.Equal(rep.Restarted, []string{"app"}) {
		t.Errorf("activate generation 2: %s", out)
	}
	if got := n.ssh("cat /tmp/app-starts; echo; cat /tmp/reader-starts"); got != "start one\nstart two\n\nstart r3ad3r\n" {
		t.Errorf("after the live change, the services' starts: %q", got)
	}
	if strings.Contains(out, "two") || strings.Contains(out, "r3ad3r") {
		t.Errorf("activate --json shows a secret:\n%s", out)
	}
	n.poweroff()

	// 2. Generation 3 on trial: the node cannot read its reader token.
	top, undo = e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	e2etest.Run(t, cairn, "switch", "--store", top, "3")
	undo()
	n = bootAlpine(t, img, key)
	console := strings.Join(n.v.Lines(), "\n")
	for _, want := range []string{
		"cairn-init: choosing generation 3 on trial",
		"secret reader-token: this node cannot decrypt it: it is encrypted to age " + other,
		"FAIL  secrets: secret reader-token: this node cannot decrypt it",
		"generation 3 failed its health checks and is not confirmed",
	} {
		if !strings.Contains(console, want) {
			t.Errorf("generation 3: no %q on the console:\n%s", want, grepLines(n.v.Lines(), "secret"))
		}
	}
	if got := n.ssh("doas cat /run/secrets/app-env"); got != "API_TOKEN=one\n" {
		t.Errorf("generation 3's good secret: %q", got)
	}
	n.poweroff()

	// 3. Back on generation 1 with no command in between.
	n = bootAlpine(t, img, key)
	n.checkConsole("after generation 3")
	if st := n.status(); st["booted"] != 1.0 || st["default"] != 1.0 {
		t.Errorf("after the failed trial: %v", st)
	}
	if got := n.ssh("cat /tmp/app-starts"); got != "start one\n" {
		t.Errorf("generation 1's app read %q", got)
	}
	n.poweroff()
	top, undo = e2etest.MountPartition(t, img, 2, "btrfs", "subvolid=5")
	st := e2etest.ReadState(t, top)
	undo()
	if st.Default != 1 || st.LastTrial != (store.TrialOutcome{Generation: 3, Outcome: store.TrialFellBack}) {
		t.Errorf("state.json after generation 3's trial: %+v", st)
	}
}

// TestSecretsNeverInPlaintext is issue 15's leak test: an operator sets
// two secrets (one from standard input, one in $EDITOR), then locks,
// builds into a tree and into a store, and writes the system in every
// image format (tar, OCI, initramfs, disk), every command with --json
// and its output kept. Every file any of it wrote (the manifest's
// directory with the lock, the tree, the store with its metadata and
// cache, the download cache, the images, the outputs and logs) and the
// commands' temporary directory ($TMPDIR) are searched for both
// plaintexts, gzip and zstd files also decompressed: nothing. The same
// search finds, in each image, a marker written in plain text by the
// manifest and the secret's encrypted file: it does see the files'
// contents.
func TestSecretsNeverInPlaintext(t *testing.T) {
	t.Parallel()
	testutil.Require(t, os.Geteuid() == 0, "root (owners of the system's files, loop devices)")
	e2etest.DiskTools(t)
	cairn := e2etest.Binaries(t)
	r := e2etest.MakeRepo(t, cairn)
	work := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(filepath.Join(work, "store")) }) // sealed generations are immutable
	tmp, logs := filepath.Join(work, "tmp"), filepath.Join(work, "logs")
	for _, d := range []string{tmp, logs, filepath.Join(work, "out"), filepath.Join(work, "home")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	plain1, plain2, marker := "pl41n-"+randomHex(t), "3d1t3d-"+randomHex(t), "v1s1bl3-"+randomHex(t)
	proj := filepath.Join(work, "proj")
	os.MkdirAll(proj, 0o755)
	mf := r.Manifest(t, proj, e2etest.System{Marker: marker})
	f, err := os.OpenFile(mf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("secrets:\n  - name: token\n    file: secrets/token.age\n  - name: db\n    file: secrets/db.age\n    owner: root:root\n    mode: \"0440\"\n")
	f.Close()
	editor := filepath.Join(work, "editor")
	os.WriteFile(editor, []byte("#!/bin/sh\nprintf '%s' \""+plain2+"\" > \"$1\"\n"), 0o755)
	env := append(os.Environ(), "TMPDIR="+tmp, "XDG_RUNTIME_DIR=", "HOME="+filepath.Join(work, "home"), "EDITOR="+editor,
		"CAIRN_IDENTITY="+filepath.Join(work, "alice.key"))
	step := 0
	cairnRun := func(stdin string, args ...string) string {
		t.Helper()
		step++
		cmd := exec.Command(cairn, args...)
		cmd.Env, cmd.Stdin = env, strings.NewReader(stdin)
		var out, errOut strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		os.WriteFile(filepath.Join(logs, strings.Join([]string{itoa(step), args[0], args[1]}, "-")+".out"), []byte(out.String()), 0o644)
		os.WriteFile(filepath.Join(logs, strings.Join([]string{itoa(step), args[0], args[1]}, "-")+".err"), []byte(errOut.String()), 0o644)
		if err != nil {
			t.Fatalf("cairn %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errOut.String())
		}
		return out.String()
	}
	alice := strings.TrimSpace(cairnRun("", "secrets", "keygen", "-o", filepath.Join(work, "alice.key")))
	cairnRun("", "secrets", "add-key", "-f", mf, "--name", "alice", "--key", alice, "--json")
	cairnRun(plain1, "secrets", "edit", "-f", mf, "token", "--from", "-", "--json")
	cairnRun("", "secrets", "edit", "-f", mf, "db", "--json")
	cairnRun("", "secrets", "list", "-f", mf, "--json")
	cairnRun("", "secrets", "rekey", "-f", mf, "--all", "--json")
	cache := filepath.Join(work, "cache")
	cairnRun("", "lock", "-f", mf, "--cache-dir", cache, "--json")
	cairnRun("", "build", "-f", mf, "--root", filepath.Join(work, "root"), "--cache-dir", cache, "--json")
	cairnRun("", "init", filepath.Join(work, "store"), "--json")
	cairnRun("", "build", "-f", mf, "--store", filepath.Join(work, "store"), "--json")
	cairnRun("", "generations", "--store", filepath.Join(work, "store"), "--json")
	cairnRun("", "diff", "--store", filepath.Join(work, "store"), "1", "1", "--json")
	images := map[string]string{
		"tar":       filepath.Join(work, "out", "system.tar"),
		"oci":       filepath.Join(work, "out", "oci"),
		"initramfs": filepath.Join(work, "out", "ram"),
		"disk":      filepath.Join(work, "out", "disk.img"),
	}
	for _, format := range []string{"tar", "oci", "initramfs", "disk"} {
		args := []string{"image", "-f", mf, "--format", format, "-o", images[format], "--cache-dir", cache, "--json"}
		if format == "disk" {
			args = append(args, "--firmware", "bios")
		}
		cairnRun("", args...)
	}

	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("left in $TMPDIR: %v", names)
	}
	ct, err := os.ReadFile(filepath.Join(proj, "secrets", "token.age"))
	if err != nil {
		t.Fatal(err)
	}
	// What the search finds, by file: whether the plaintexts, the marker
	// and the encrypted file are in it (or in what it decompresses to).
	type found struct{ plain, marker, ct bool }
	hits := map[string]found{}
	files := 0
	err = filepath.WalkDir(work, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() || p == editor {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files++
		for _, view := range views(data) {
			h := hits[p]
			h.plain = h.plain || strings.Contains(string(view), plain1) || strings.Contains(string(view), plain2)
			h.marker = h.marker || strings.Contains(string(view), marker)
			h.ct = h.ct || strings.Contains(string(view), string(ct))
			hits[p] = h
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p, h := range hits {
		if h.plain {
			t.Errorf("a secret's plaintext is in %s", p)
		}
	}
	for format, out := range images {
		var marked, encrypted bool
		for p, h := range hits {
			if p == out || strings.HasPrefix(p, out+"/") {
				marked, encrypted = marked || h.marker, encrypted || h.ct
			}
		}
		if !marked || !encrypted {
			t.Errorf("the %s image: the search finds the marker %v, the encrypted secret %v; it must find both", format, marked, encrypted)
		}
	}
	t.Logf("searched %d files", files)
}

// views are data and, for a gzip or zstd stream, what it decompresses
// to.
func views(data []byte) [][]byte {
	out := [][]byte{data}
	switch {
	case len(data) > 2 && data[0] == 0x1f && data[1] == 0x8b:
		if r, err := gzip.NewReader(bytes.NewReader(data)); err == nil {
			if d, err := io.ReadAll(r); err == nil {
				out = append(out, d)
			}
		}
	case len(data) > 4 && bytes.Equal(data[:4], []byte{0x28, 0xb5, 0x2f, 0xfd}):
		if r, err := zstd.NewReader(bytes.NewReader(data)); err == nil {
			if d, err := io.ReadAll(r); err == nil {
				out = append(out, d)
			}
			r.Close()
		}
	}
	return out
}

func randomHex(t *testing.T) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func itoa(i int) string { return strconv.Itoa(i) }
