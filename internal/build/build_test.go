package build

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// artifactFile makes a tar.gz holding bin/tool and returns its path and
// sha256.
func artifactFile(t *testing.T) (string, string) {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	body := []byte("#!/bin/sh\necho tool\n")
	tw.WriteHeader(&tar.Header{Name: "tool-1.0/bin/tool", Mode: 0o755, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write(body)
	tw.Close()
	zw.Close()
	p := filepath.Join(t.TempDir(), "tool-1.0.tar.gz")
	os.WriteFile(p, b.Bytes(), 0o644)
	sum := sha256.Sum256(b.Bytes())
	return p, hex.EncodeToString(sum[:])
}

func artifactYAML(path, sum string) string {
	return `artifacts:
  - name: tool
    version: "1.0"
    url: ` + path + `
    sha256: ` + sum + `
    extract: tool-1.0/bin/tool
    path: /usr/local/bin/tool
    mode: "0750"
    owner: root:wheel
`
}

func TestBuildSystem(t *testing.T) {
	w := newWorld(t)
	art, sum := artifactFile(t)
	mp, sys := writeManifest(t, w.manifestText(artifactYAML(art, sum)))
	root := filepath.Join(t.TempDir(), "root")
	res, log, err := w.build(t, mp, sys, root, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(root, p))
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		return string(b)
	}

	if got := read("etc/apk/world"); got != "alpine-base\nhello\nopenssh\ntool\ntzdata\n" {
		t.Errorf("world: %q", got)
	}
	installed, err := apk.ParseInstalledDB(read("lib/apk/db/installed"))
	if err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for _, ip := range installed {
		for _, d := range ip.Dirs {
			for _, f := range d.Files {
				p := filepath.Join(d.Path, f.Name)
				owner[p] = ip.Name
				if _, err := os.Lstat(filepath.Join(root, p)); err != nil {
					t.Errorf("%s records %s, which is missing", ip.Name, p)
				}
			}
		}
	}
	if owner["usr/local/bin/tool"] != "tool" {
		t.Errorf("the artifact is not owned by its package: %q", owner["usr/local/bin/tool"])
	}
	if read("usr/local/bin/tool") != "#!/bin/sh\necho tool\n" {
		t.Error("artifact content")
	}
	if len(res.Lock.Packages) < 8 || len(res.Lock.Artifacts) != 1 {
		t.Errorf("lock: %+v", res.Lock)
	}

	// Services: linked in their runlevels, the defined one rendered.
	for _, l := range []struct{ level, svc string }{{"boot", "hostname"}, {"default", "sshd"}, {"default", "greeter"}} {
		target, err := os.Readlink(filepath.Join(root, "etc/runlevels", l.level, l.svc))
		if err != nil || target != "/etc/init.d/"+l.svc {
			t.Errorf("runlevel %s/%s: %q %v", l.level, l.svc, target, err)
		}
	}
	if out, err := exec.Command("sh", "-n", filepath.Join(root, "etc/init.d/greeter")).CombinedOutput(); err != nil {
		t.Errorf("greeter init script: %v\n%s", err, out)
	}
	if !strings.Contains(read("etc/conf.d/greeter"), "memory.max 64M") {
		t.Errorf("greeter conf.d lacks the cgroup limit:\n%s", read("etc/conf.d/greeter"))
	}

	// Accounts, settings, files, setup, record.
	if !strings.Contains(read("etc/passwd"), "\nalice:x:1000:") || !strings.Contains(read("etc/group"), "wheel:") {
		t.Errorf("accounts:\n%s\n%s", read("etc/passwd"), read("etc/group"))
	}
	if !strings.HasPrefix(read("etc/shadow"), "root:") || !strings.Contains(read("etc/shadow"), "\nalice:*:") {
		t.Errorf("shadow:\n%s", read("etc/shadow"))
	}
	if read("home/alice/.ssh/authorized_keys") != "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAA alice@laptop\n" {
		t.Error("authorized_keys")
	}
	if read("etc/hostname") != "node1\n" {
		t.Errorf("hostname %q", read("etc/hostname"))
	}
	if target, _ := os.Readlink(filepath.Join(root, "etc/localtime")); !strings.Contains(target, "Europe/Berlin") {
		t.Errorf("localtime -> %q", target)
	}
	fi, err := os.Stat(filepath.Join(root, "etc/motd"))
	if err != nil || fi.Mode().Perm() != 0o640 || read("etc/motd") != "welcome\n" {
		t.Errorf("motd: %v %v", fi, err)
	}
	if read("etc/setup-ran") != "set up\n" {
		t.Error("the setup script did not run")
	}
	var gen map[string]any
	if err := json.Unmarshal([]byte(read("usr/lib/cairn/generation.json")), &gen); err != nil {
		t.Errorf("generation.json: %v", err)
	}
	// Ownership of the artifact by the group wheel.
	st, _ := os.Lstat(filepath.Join(root, "usr/local/bin/tool"))
	if s, ok := st.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 && s.Gid == 0 {
		t.Error("artifact owner root:wheel not applied")
	}
	// Nothing left beside the root.
	entries, _ := os.ReadDir(filepath.Dir(root))
	if len(entries) != 1 {
		t.Errorf("left beside the root: %v", entries)
	}
}

func TestBuildReproducible(t *testing.T) {
	w := newWorld(t)
	art, sum := artifactFile(t)
	mp, sys := writeManifest(t, w.manifestText(artifactYAML(art, sum)))
	a := filepath.Join(t.TempDir(), "a")
	res, log, err := w.build(t, mp, sys, a, nil)
	if err != nil {
		t.Fatalf("build a: %v\n%s", err, log)
	}
	b := filepath.Join(t.TempDir(), "b")
	if _, log, err := w.build(t, mp, sys, b, res.Lock); err != nil {
		t.Fatalf("build b: %v\n%s", err, log)
	}
	if d := diffStates(treeState(t, a), treeState(t, b)); len(d) > 0 {
		t.Errorf("two builds of the same manifest and lock differ in %d paths: %v", len(d), d)
	}
}

func TestBuildLockPinsOnePackage(t *testing.T) {
	w := newWorld(t)
	mp, sys := writeManifest(t, w.manifestText(""))
	a := filepath.Join(t.TempDir(), "a")
	res, log, err := w.build(t, mp, sys, a, nil)
	if err != nil {
		t.Fatalf("build: %v\n%s", err, log)
	}
	// The lock took hello 2.0; pin 1.0 instead.
	lock := *res.Lock
	lock.Packages = append([]manifest.LockedPackage(nil), res.Lock.Packages...)
	old := w.synthRepo.Index()
	for i, p := range lock.Packages {
		if p.Name != "hello" {
			continue
		}
		for _, ip := range old {
			if ip.Name == "hello" && ip.Version == "1.0-r0" {
				lock.Packages[i].Version, lock.Packages[i].Checksum = ip.Version, ip.Checksum.String()
			}
		}
	}
	b := filepath.Join(t.TempDir(), "b")
	if _, log, err := w.build(t, mp, sys, b, &lock); err != nil {
		t.Fatalf("build with hello 1.0: %v\n%s", err, log)
	}
	for _, p := range diffStates(treeState(t, a), treeState(t, b)) {
		switch {
		case strings.HasPrefix(p, "lib/apk/db/"), p == "usr/lib/cairn/generation.json",
			p == "usr/bin/hello", strings.HasPrefix(p, "usr/share/hello"):
		default:
			t.Errorf("changing hello changed %s too", p)
		}
	}
}

func TestBuildFailuresLeaveNothing(t *testing.T) {
	w := newWorld(t)
	art, sum := artifactFile(t)
	for _, tc := range []struct {
		name, extra, text, want string
	}{
		{"failing setup script", "", strings.Replace(w.manifestText(""), "echo set up > /etc/setup-ran", "exit 3", 1), "setup[0] (mark): exited with error 3"},
		{"wrong sha256", artifactYAML(art, strings.Repeat("0", 64)), "", "sha256 is " + sum},
		{"missing package", "", strings.Replace(w.manifestText(""), "hello]", "hello, no-such-package]", 1), "packages[4]: no package no-such-package in the repositories"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.text
			if text == "" {
				text = w.manifestText(tc.extra)
			}
			mp, sys := writeManifest(t, text)
			parent := t.TempDir()
			root := filepath.Join(parent, "root")
			_, log, err := w.build(t, mp, sys, root, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q\n%s", err, tc.want, log)
			}
			if entries, _ := os.ReadDir(parent); len(entries) != 0 {
				t.Errorf("a failed build left %v", entries)
			}
		})
	}
}
