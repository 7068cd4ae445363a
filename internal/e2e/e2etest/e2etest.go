// Package e2etest builds what cairn's end-to-end and boot tests are made
// of: the real cairn and cairn-init binaries, built static; a signed local
// repository with Debian's static busybox and Debian's cloud kernel
// packaged as linux-virt; and manifests of small test systems whose init
// says on the console which generation came up.
package e2etest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/initramfs/debtest"
	"github.com/cairnlinux/cairn/internal/nosync"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// Binaries builds cairn and cairn-init static into one directory, so that
// cairn finds cairn-init beside it as on an installed system, and returns
// cairn's path.
func Binaries(t testing.TB) (cairn string) {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cairn != "" {
		return shared.cairn
	}
	dir := sharedDir(t)
	for _, name := range []string{"cairn", "cairn-init"} {
		GoBuild(t, "./cmd/"+name, filepath.Join(dir, name))
	}
	if shared.dir != "" {
		shared.cairn = filepath.Join(dir, "cairn")
	}
	return filepath.Join(dir, "cairn")
}

// GoBuild builds the main package pkg (a path relative to the module's
// root) into a static binary at out.
func GoBuild(t testing.TB, pkg, out string) {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = "go"
	}
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = testutil.ModuleRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, output)
	}
}

// Run runs a command and fails the test when it fails; it returns the
// combined output.
func Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	return runCommand(t, exec.Command(name, args...), name, args)
}

func runCommand(t testing.TB, cmd *exec.Cmd, name string, args []string) string {
	t.Helper()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// RunNoSync is Run with the program's sync(2) made a no-op
// (nosync.Command): extlinux's installer syncs every file system on
// the machine, the store a disk image test of another package is writing
// at that moment too, whose bytes then change. The test binary must call
// reexec.Init in its TestMain.
func RunNoSync(t testing.TB, name string, args ...string) string {
	t.Helper()
	return runCommand(t, nosync.Command(context.Background(), name, args...), name, args)
}

// CopyFile copies a file's content, giving the copy mode.
func CopyFile(t testing.TB, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, mode); err != nil {
		t.Fatal(err)
	}
}

// Repo is a signed local repository with what the test systems are made
// of: Debian's static busybox as "busybox" and Debian's cloud kernel, with
// the modules a virtual machine's disk and btrfs need, as "linux-virt";
// and Alpine's alpine-baselayout-data from the fixtures.
type Repo struct {
	// Dir is the repository (Dir/x86_64/APKINDEX.tar.gz); Keys the
	// directory of the keys that sign it.
	Dir, Keys string
}

// Applets are the busybox applets the test systems have as commands
// (busybox itself has them all).
var Applets = []string{"sh", "cat", "echo", "test", "[", "sync", "poweroff", "mount", "ls", "df"}

// MakeRepo builds the repository with the cairn binary at cairn.
func MakeRepo(t testing.TB, cairn string) Repo {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.repo != nil && shared.cairn == cairn {
		return *shared.repo
	}
	r := makeRepo(t, cairn)
	if shared.dir != "" && shared.cairn == cairn {
		shared.repo = &r
	}
	return r
}

func makeRepo(t testing.TB, cairn string) Repo {
	t.Helper()
	b := newRepoBuilder(t, cairn)
	busybox := debtest.Busybox(t)
	bb := filepath.Join(b.work, "busybox")
	os.MkdirAll(filepath.Join(bb, "bin"), 0o755)
	CopyFile(t, busybox, filepath.Join(bb, "bin", "busybox"), 0o755)
	for _, app := range Applets {
		if err := os.Symlink("busybox", filepath.Join(bb, "bin", app)); err != nil {
			t.Fatal(err)
		}
	}
	b.mkpkg("busybox", "1.35.0-r0", bb, "--provides", "cmd:sh")
	b.kernel(KernelModules)

	// Alpine's real base layout (passwd, group, the directory tree),
	// signed by Alpine.
	fx := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	CopyFile(t, filepath.Join(fx, "packages", "alpine-baselayout-data-3.4.3-r2.apk"), filepath.Join(b.arch, "alpine-baselayout-data-3.4.3-r2.apk"), 0o644)
	return b.index()
}

// KernelModules are the parts of the Debian cloud kernel's modules
// (paths under lib/modules/VERSION) that the test systems' linux-virt
// carries: what a virtual machine's disk and btrfs need.
var KernelModules = []string{"kernel/lib", "kernel/crypto", "kernel/arch", "kernel/block", "kernel/fs/btrfs", "kernel/drivers/block", "kernel/drivers/virtio", "kernel/drivers/scsi"}

// repoBuilder makes a signed local repository.
type repoBuilder struct {
	t     testing.TB
	cairn string
	work  string
	arch  string // the repository's x86_64 directory
	key   string // the private signing key
	// keyName is the public key's file name, which signatures name.
	keyName string
	r       Repo
}

func newRepoBuilder(t testing.TB, cairn string) *repoBuilder {
	return newRepoBuilderKey(t, cairn, "e2e")
}

// newRepoBuilderKey makes a builder whose key is NAME.rsa.pub: two
// repositories of one system sign with keys of different names.
func newRepoBuilderKey(t testing.TB, cairn, name string) *repoBuilder {
	t.Helper()
	work := sharedDir(t)
	b := &repoBuilder{t: t, cairn: cairn, work: work, key: filepath.Join(work, name+".rsa"), keyName: name + ".rsa.pub",
		r: Repo{Dir: filepath.Join(work, "repo"), Keys: filepath.Join(work, "keys")}}
	b.arch = filepath.Join(b.r.Dir, "x86_64")
	for _, d := range []string{b.arch, b.r.Keys} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	Run(t, "openssl", "genrsa", "-out", b.key, "2048")
	Run(t, "openssl", "rsa", "-in", b.key, "-pubout", "-out", filepath.Join(b.r.Keys, b.keyName))
	// Alpine's keys too: the repositories beside this one are Alpine's.
	alpineKeys, _ := filepath.Glob(filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "keys", "*.rsa.pub"))
	for _, k := range alpineKeys {
		CopyFile(t, k, filepath.Join(b.r.Keys, filepath.Base(k)), 0o644)
	}
	return b
}

// mkpkg packages the tree dir as name-version, signed.
func (b *repoBuilder) mkpkg(name, version, dir string, extra ...string) {
	b.t.Helper()
	args := append([]string{"apk", "mkpkg", "--name", name, "--version", version, "--arch", "x86_64",
		"--sign-key", b.key, "--key-name", b.keyName, "-o", filepath.Join(b.arch, name+"-"+version+".apk")}, extra...)
	Run(b.t, b.cairn, append(args, dir)...)
}

// kernel packages Debian's cloud kernel as Alpine's linux-virt lays it
// out (/boot/vmlinuz-virt, /lib/modules/VERSION), with the module
// directories or files mods and the kernel's module lists.
func (b *repoBuilder) kernel(mods []string) {
	b.t.Helper()
	b.kernelPackage(debtest.CloudKernel(b.t), "virt", "6.1.0-r0", mods)
}

// kernelPackage packages k as Alpine's linux-FLAVOR, version version.
func (b *repoBuilder) kernelPackage(k debtest.Kernel, flavor, version string, mods []string) {
	b.t.Helper()
	kd := filepath.Join(b.work, "kernel-"+flavor)
	os.MkdirAll(filepath.Join(kd, "boot"), 0o755)
	CopyFile(b.t, k.Vmlinuz, filepath.Join(kd, "boot", "vmlinuz-"+flavor), 0o644)
	dst := filepath.Join(kd, "lib", "modules", k.Version)
	for _, sub := range mods {
		if _, err := os.Stat(filepath.Join(k.Modules, sub)); err != nil {
			continue
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dst, sub)), 0o755)
		Run(b.t, "cp", "-a", filepath.Join(k.Modules, sub), filepath.Join(dst, sub))
	}
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo", "modules.order"} {
		CopyFile(b.t, filepath.Join(k.Modules, f), filepath.Join(dst, f), 0o644)
	}
	b.mkpkg("linux-"+flavor, version, kd)
}

// index writes the repository's signed index and returns the repository.
func (b *repoBuilder) index() Repo {
	b.t.Helper()
	var apks []string
	entries, _ := os.ReadDir(b.arch)
	for _, e := range entries {
		apks = append(apks, filepath.Join(b.arch, e.Name()))
	}
	Run(b.t, b.cairn, append([]string{"apk", "index", "--keys-dir", b.r.Keys, "--rewrite-arch", "x86_64", "--sign-key", b.key, "--key-name", b.keyName,
		"-o", filepath.Join(b.arch, "APKINDEX.tar.gz")}, apks...)...)
	return b.r
}

// TestInit is the init of the test systems: it says which generation came
// up, fails when the generation is marked broken, and otherwise runs what
// the cairn-confirm service runs, then powers off.
const TestInit = `#!/bin/sh
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

// System is a test system.
type System struct {
	// Marker is written to /etc/e2e-marker and is the description.
	Marker string
	// Broken marks the generation (/etc/e2e-broken): TestInit then
	// fails.
	Broken bool
	// Init is /sbin/init; TestInit when empty.
	Init string
	// Skeleton is a directory copied into the root (the manifest's
	// skeleton).
	Skeleton string
	// Persist are the manifest's persistent directories.
	Persist []string
}

// Manifest writes the manifest of s into dir (system.yaml) and returns
// its path.
func (r Repo) Manifest(t testing.TB, dir string, s System) string {
	t.Helper()
	init := s.Init
	if init == "" {
		init = TestInit
	}
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
  cmdline: [console=ttyS0, panic=-1, printk.time=1, no_timer_check]
hostname: e2e
health:
  - name: marker
    command: test -s /etc/e2e-marker
    timeout: 10s
`, s.Marker, r.Dir, r.Keys)
	if len(s.Persist) > 0 {
		fmt.Fprintf(&b, "persist: [%s]\n", strings.Join(s.Persist, ", "))
	}
	fmt.Fprintf(&b, `files:
`)
	if s.Skeleton != "" {
		fmt.Fprintf(&b, "  skeleton: %s\n", s.Skeleton)
	}
	fmt.Fprintf(&b, `  inline:
    - path: /etc/e2e-marker
      content: "%s\n"
    - path: /sbin/init
      mode: "0755"
      content: |
`, s.Marker)
	for _, line := range strings.Split(strings.TrimSuffix(init, "\n"), "\n") {
		b.WriteString("        " + line + "\n")
	}
	if s.Broken {
		b.WriteString("    - path: /etc/e2e-broken\n      content: \"yes\\n\"\n")
	}
	p := filepath.Join(dir, "system.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// ReadState reads state.json of the store whose top directory is top.
func ReadState(t testing.TB, top string) store.State {
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

// Mounted reports whether dir is a mount point.
func Mounted(dir string) bool {
	data, _ := os.ReadFile("/proc/self/mountinfo")
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && f[4] == dir {
			return true
		}
	}
	return false
}
