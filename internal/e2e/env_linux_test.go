package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// binaries builds cairn and cairn-init static into one directory, so that
// cairn finds cairn-init beside it as on an installed system.
func binaries(t *testing.T) (cairn string) {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	dir := t.TempDir()
	root := testutil.ModuleRoot(t)
	for _, name := range []string{"cairn", "cairn-init"} {
		cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", filepath.Join(dir, name), "./cmd/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", name, err, out)
		}
	}
	return filepath.Join(dir, "cairn")
}

// run runs a command and fails the test when it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// repo is a signed local repository with what the test systems are made
// of: Debian's static busybox as "busybox" and Debian's cloud kernel, with
// the modules a virtual machine's disk and btrfs need, as "linux-virt".
type repo struct {
	dir, keys string
}

func makeRepo(t *testing.T, cairn string) repo {
	t.Helper()
	k := debtest.CloudKernel(t)
	busybox := debtest.Busybox(t)
	work := t.TempDir()
	r := repo{dir: filepath.Join(work, "repo"), keys: filepath.Join(work, "keys")}
	arch := filepath.Join(r.dir, "x86_64")
	for _, d := range []string{arch, r.keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	key := filepath.Join(work, "e2e.rsa")
	run(t, "openssl", "genrsa", "-out", key, "2048")
	run(t, "openssl", "rsa", "-in", key, "-pubout", "-out", filepath.Join(r.keys, "e2e.rsa.pub"))

	// busybox, with the applets the test init uses.
	bb := filepath.Join(work, "busybox")
	os.MkdirAll(filepath.Join(bb, "bin"), 0o755)
	copyFile(t, busybox, filepath.Join(bb, "bin", "busybox"), 0o755)
	for _, app := range []string{"sh", "cat", "echo", "test", "[", "sync", "poweroff", "mount", "ls"} {
		if err := os.Symlink("busybox", filepath.Join(bb, "bin", app)); err != nil {
			t.Fatal(err)
		}
	}
	mkpkg := func(name, version, dir string, extra ...string) {
		args := append([]string{"apk", "mkpkg", "--name", name, "--version", version, "--arch", "x86_64",
			"--sign-key", key, "--key-name", "e2e.rsa.pub", "-o", filepath.Join(arch, name+"-"+version+".apk")}, extra...)
		run(t, cairn, append(args, dir)...)
	}
	mkpkg("busybox", "1.35.0-r0", bb, "--provides", "cmd:sh")

	// The kernel, as Alpine's linux-virt lays it out.
	kd := filepath.Join(work, "kernel")
	os.MkdirAll(filepath.Join(kd, "boot"), 0o755)
	copyFile(t, k.Vmlinuz, filepath.Join(kd, "boot", "vmlinuz-virt"), 0o644)
	mods := filepath.Join(kd, "lib", "modules", k.Version)
	for _, sub := range []string{"kernel/lib", "kernel/crypto", "kernel/arch", "kernel/block", "kernel/fs/btrfs", "kernel/drivers/block", "kernel/drivers/virtio", "kernel/drivers/scsi"} {
		if _, err := os.Stat(filepath.Join(k.Modules, sub)); err != nil {
			continue
		}
		os.MkdirAll(filepath.Dir(filepath.Join(mods, sub)), 0o755)
		run(t, "cp", "-a", filepath.Join(k.Modules, sub), filepath.Join(mods, sub))
	}
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		copyFile(t, filepath.Join(k.Modules, f), filepath.Join(mods, f), 0o644)
	}
	mkpkg("linux-virt", "6.1.0-r0", kd)

	// Alpine's real base layout (passwd, group, the directory tree),
	// signed by Alpine.
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	copyFile(t, filepath.Join(fx, "packages", "alpine-baselayout-data-3.4.3-r2.apk"), filepath.Join(arch, "alpine-baselayout-data-3.4.3-r2.apk"), 0o644)
	alpineKeys, _ := filepath.Glob(filepath.Join(fx, "keys", "*.rsa.pub"))
	for _, k := range alpineKeys {
		copyFile(t, k, filepath.Join(r.keys, filepath.Base(k)), 0o644)
	}

	var apks []string
	entries, _ := os.ReadDir(arch)
	for _, e := range entries {
		apks = append(apks, filepath.Join(arch, e.Name()))
	}
	run(t, cairn, append([]string{"apk", "index", "--keys-dir", r.keys, "--rewrite-arch", "x86_64", "--sign-key", key, "--key-name", "e2e.rsa.pub",
		"-o", filepath.Join(arch, "APKINDEX.tar.gz")}, apks...)...)
	return r
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// testInit is the init of the test systems: it says which generation
// came up, fails when the generation is marked broken, and otherwise
// runs what the cairn-confirm service runs, then powers off.
const testInit = `#!/bin/sh
echo "E2E GENERATION $(cat /run/cairn/booted) UP: $(cat /etc/e2e-marker)"
if [ -e /etc/e2e-broken ]; then
	echo "E2E BROKEN: init exits"
	exit 1
fi
/usr/sbin/cairn confirm --boot
echo "E2E CONFIRM EXIT $? AT $(cat /proc/uptime)"
sync
poweroff -f
`

// manifest is a test system: marker names it; broken makes its init fail.
func (r repo) manifest(t *testing.T, dir, marker string, broken bool) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: cairn/v1
kind: System
name: e2e
description: %s
alpine:
  arch: x86_64
  repositories: [{url: %s}]
  keys: [%s]
packages: [alpine-baselayout-data, busybox]
kernel:
  package: linux-virt
  cmdline: [console=ttyS0, panic=-1, printk.time=1]
hostname: e2e
health:
  - name: marker
    command: test -s /etc/e2e-marker
    timeout: 10s
files:
  inline:
    - path: /etc/e2e-marker
      content: "%s\n"
    - path: /sbin/init
      mode: "0755"
      content: |
`, marker, r.dir, r.keys, marker)
	for _, line := range strings.Split(strings.TrimSuffix(testInit, "\n"), "\n") {
		b.WriteString("        " + line + "\n")
	}
	if broken {
		b.WriteString("    - path: /etc/e2e-broken\n      content: \"yes\\n\"\n")
	}
	p := filepath.Join(dir, "system.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// readState reads state.json from a mounted store.
func readState(t *testing.T, top string) store.State {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(top, "@cairn", "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	var st store.State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	return st
}
