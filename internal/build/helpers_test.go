package build

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/reexec"
	"github.com/cairnlinux/cairn/internal/testutil"
)

func TestMain(m *testing.M) {
	reexec.Init()
	os.Exit(m.Run())
}

// world is the test's package sources: the real Alpine data packages of
// the fixtures in one signed local repository, and packages made by
// apktest (Debian's static busybox as /bin/sh, an openssh with an init
// script, a meta alpine-base) in another.
type world struct {
	real, synth string
	keys        string
	synthRepo   *apktest.Repo
}

func newWorld(t testing.TB) *world {
	t.Helper()
	testutil.Require(t, fileExists("/bin/busybox"), "Debian's busybox-static (/bin/busybox)")
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	w := &world{keys: t.TempDir()}

	// Synthetic packages.
	r := apktest.NewRepo(t, "")
	bb, err := os.ReadFile("/bin/busybox")
	if err != nil {
		t.Fatal(err)
	}
	r.Add(
		apktest.Pkg("busybox", "1.36.1-r15").File("bin/busybox", 0o755, string(bb)).Symlink("bin/sh", "busybox").ProvidesCmd("sh"),
		apktest.Pkg("openrc", "0.52.1-r2").Dir("etc/init.d", 0o755).Dir("etc/conf.d", 0o755).Dir("etc/runlevels", 0o755).
			File("etc/init.d/hostname", 0o755, "#!/sbin/openrc-run\n"),
		apktest.Pkg("openssh", "9.6_p1-r0").File("etc/init.d/sshd", 0o755, "#!/sbin/openrc-run\ncommand=/usr/sbin/sshd\n").File("usr/sbin/sshd", 0o755, "#!/bin/sh\n"),
		apktest.Pkg("alpine-base", "3.19.1-r0").Depends("alpine-baselayout-data", "alpine-release", "busybox", "openrc").InstalledSize(0),
		apktest.Pkg("hello", "1.0-r0").File("usr/bin/hello", 0o755, "#!/bin/sh\necho hello 1\n"),
		apktest.Pkg("hello", "2.0-r0").File("usr/bin/hello", 0o755, "#!/bin/sh\necho hello 2\n").File("usr/share/hello/NEWS", 0o644, "2.0\n"),
	)
	r.Write()
	w.synth, w.synthRepo = r.URL(), r
	copyFiles(t, r.KeysDir, w.keys)

	// Real packages, indexed and signed with the apktest key.
	w.real = filepath.Join(t.TempDir(), "real")
	arch := filepath.Join(w.real, "x86_64")
	os.MkdirAll(arch, 0o755)
	keys, err := apkfile.LoadKeyring(filepath.Join(fx, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	var infos []*apk.Package
	for _, p := range []string{"alpine-baselayout-data-3.4.3-r2", "alpine-keys-2.4-r1", "alpine-release-3.19.1-r0", "tzdata-2023d-r0"} {
		data, err := os.ReadFile(filepath.Join(fx, "packages", p+".apk"))
		if err != nil {
			t.Fatal(err)
		}
		rd, err := apkfile.Open(bytes.NewReader(data), apkfile.Options{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := rd.Next(); err == io.EOF {
				break
			} else if err != nil {
				t.Fatal(err)
			}
		}
		info := *rd.Info
		info.Size, info.Arch = int64(len(data)), "x86_64"
		infos = append(infos, &info)
		os.WriteFile(filepath.Join(arch, p+".apk"), data, 0o644)
	}
	arc, err := apkfile.BuildIndexArchive(infos, "real")
	if err != nil {
		t.Fatal(err)
	}
	key := apktest.Key(t)
	arc, err = apkfile.SignIndexArchive(arc, apkfile.Signer{Key: key, Name: apktest.KeyName(&key.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(arch, "APKINDEX.tar.gz"), arc, 0o644)
	copyFiles(t, filepath.Join(fx, "keys"), w.keys)
	return w
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func copyFiles(t testing.TB, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// manifestText is a system using every part of the build.
func (w *world) manifestText(extra string) string {
	return `apiVersion: cairn/v1
kind: System
name: test-node
alpine:
  arch: x86_64
  repositories:
    - url: ` + w.real + `
    - url: ` + w.synth + `
  keys: [` + w.keys + `]
packages: [alpine-base, openssh, tzdata, hello]
hostname: node1
timezone: Europe/Berlin
users:
  - name: alice
    groups: [wheel]
    shell: /bin/sh
    sshAuthorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAAAA alice@laptop"]
groups:
  - name: wheel
services:
  boot: [hostname]
  default: [sshd, greeter]
  define:
    greeter:
      description: says hello
      command: /usr/bin/hello
      user: alice
      cgroup:
        memory.max: "64M"
files:
  inline:
    - path: /etc/motd
      content: "welcome\n"
      mode: "0640"
      owner: root:wheel
setup:
  - name: mark
    run: echo set up > /etc/setup-ran
` + extra
}

// writeManifest writes a manifest into a fresh directory and loads it.
func writeManifest(t *testing.T, text string) (string, *manifest.System) {
	t.Helper()
	dir := t.TempDir()
	p := filepath.Join(dir, "system.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	sys, err := manifest.Load(p)
	if err != nil {
		t.Fatal(err)
	}
	sys.ApplyDefaults()
	return p, sys
}

func (w *world) build(t *testing.T, manifestPath string, sys *manifest.System, root string, lock *manifest.Lock) (*Result, string, error) {
	t.Helper()
	var log bytes.Buffer
	res, err := Build(context.Background(), Request{
		Manifest: sys, ManifestPath: manifestPath, Root: root, Lock: lock,
		CacheDir: filepath.Join(t.TempDir(), "cache"), Out: &log, Err: &log, Version: "test",
	})
	return res, log.String(), err
}

// treeState lists every path of a tree with all its attributes.
func treeState(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		var b strings.Builder
		b.WriteString(fi.Mode().String())
		b.WriteString(" " + itoa(int(st.Uid)) + ":" + itoa(int(st.Gid)))
		b.WriteString(" mtime=" + fi.ModTime().UTC().String())
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b.WriteString(" content=" + string(apkfileSum(data)))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			b.WriteString(" -> " + target)
		}
		b.WriteString(" xattrs=" + xattrs(p))
		out[rel] = b.String()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffStates(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		if b[k] != v {
			d = append(d, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, k)
		}
	}
	sort.Strings(d)
	return d
}

func itoa(n int) string { return strconv.Itoa(n) }

func apkfileSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// xattrs lists a path's extended attributes and values, sorted.
func xattrs(p string) string {
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return ""
	}
	names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	sort.Strings(names)
	var parts []string
	for _, name := range names {
		v := make([]byte, 4096)
		m, _ := unix.Lgetxattr(p, name, v)
		if m < 0 {
			m = 0
		}
		parts = append(parts, name+"="+hex.EncodeToString(v[:m]))
	}
	return strings.Join(parts, ",")
}
