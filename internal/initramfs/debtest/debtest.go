// Package debtest gives tests the real Debian pieces that boot tests
// need, fetched with Debian's own tools and kept in a cache shared by all
// tests and runs: the cloud kernel (vmlinuz and its modules), a static
// busybox, kmod's depmod, and host tools (cpio, qemu, mkfs.btrfs)
// installed with apt-get when missing. Nothing is fetched from anywhere
// but Debian's archive.
//
// With CI=true a missing prerequisite (no apt-get, no network to Debian,
// not root where installing is needed) fails the test; elsewhere it skips.
package debtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// CacheDir returns the directory downloads are kept in:
// $XDG_CACHE_HOME/cairn-test (~/.cache/cairn-test), or
// /var/cache/cairn-test without a home directory.
func CacheDir() string {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = "/var/cache"
	}
	return filepath.Join(cache, "cairn-test")
}

// aptTimeout bounds one apt-get or apt-cache run.
const aptTimeout = 5 * time.Minute

var aptUpdated sync.Once

// Tool returns the path of a program, installing the Debian package pkg
// with apt-get when the program is missing (this needs root).
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := lookTool(name); err == nil {
		return p
	}
	err := install(pkg)
	p, lerr := lookTool(name)
	if lerr != nil {
		why := fmt.Sprintf("%s (Debian package %s)", name, pkg)
		if err != nil {
			why += ": " + err.Error()
		}
		testutil.Require(t, false, why)
	}
	return p
}

// HostFile returns path, a file the Debian package pkg installs, for
// programs that look for it on the host themselves (systemd-boot's EFI
// program for cairn image), installing pkg with apt-get when the file is
// missing (this needs root).
func HostFile(t testing.TB, path, pkg string) string {
	t.Helper()
	if _, err := os.Stat(path); err == nil {
		return path
	}
	err := install(pkg)
	if _, serr := os.Stat(path); serr != nil {
		why := fmt.Sprintf("%s (Debian package %s)", path, pkg)
		if err != nil {
			why += ": " + err.Error()
		}
		testutil.Require(t, false, why)
	}
	return path
}

// lookTool finds a program on PATH or in the sbin directories, which a
// non-login root shell may not have on PATH.
func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin", "/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found", name)
}

var installMu sync.Mutex

func install(pkg string) error {
	if os.Geteuid() != 0 {
		return errors.New("not root, cannot apt-get install")
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return errors.New("no apt-get")
	}
	installMu.Lock()
	defer installMu.Unlock()
	// Test binaries run in parallel: wait for another one's dpkg lock
	// instead of failing.
	args := []string{"install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300", pkg}
	if _, err := apt("", "apt-get", args...); err == nil {
		return nil
	}
	aptUpdate()
	_, err := apt("", "apt-get", args...)
	return err
}

// aptUpdate refreshes the package lists once per test binary, when a
// look-up or download failed: a machine whose lists are missing or stale
// cannot name or fetch the current packages.
func aptUpdate() {
	aptUpdated.Do(func() {
		if os.Geteuid() == 0 {
			apt("", "apt-get", "update", "-q")
		}
	})
}

func apt(dir, tool string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), aptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v: %s", tool, strings.Join(args, " "), err, bytes.TrimSpace(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// Unpacked fetches Debian packages with apt-get download and unpacks
// them with dpkg-deb -x into one directory of the cache, named key, once
// per machine: later calls (from any test process) return the directory
// at once. check, when not nil, vets the unpacked tree before it is
// published.
func Unpacked(t testing.TB, key string, pkgs []string, check func(dir string) error) string {
	t.Helper()
	dir, err := unpacked(key, pkgs, check)
	if err != nil {
		testutil.Require(t, false, fmt.Sprintf("Debian packages %s: %v", strings.Join(pkgs, " "), err))
	}
	return dir
}

func unpacked(key string, pkgs []string, check func(string) error) (string, error) {
	dir := filepath.Join(CacheDir(), key)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%s: %w", tool, err)
		}
	}
	if err := os.MkdirAll(CacheDir(), 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(CacheDir(), "."+key+"-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	debs := filepath.Join(work, "debs")
	tree := filepath.Join(work, "tree")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", err
	}
	// apt-get download drops to the _apt user, which must be able to
	// write the directory.
	os.Chmod(work, 0o755)
	os.Chmod(debs, 0o777)
	args := append([]string{"download", "-q"}, pkgs...)
	if _, err := apt(debs, "apt-get", args...); err != nil {
		aptUpdate()
		if _, err := apt(debs, "apt-get", args...); err != nil {
			return "", err
		}
	}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	if len(files) != len(pkgs) {
		return "", fmt.Errorf("apt-get download %s gave %d packages", strings.Join(pkgs, " "), len(files))
	}
	var names []string
	for _, deb := range files {
		if out, err := exec.Command("dpkg-deb", "-x", deb, tree).CombinedOutput(); err != nil {
			return "", fmt.Errorf("dpkg-deb -x %s: %v: %s", filepath.Base(deb), err, out)
		}
		names = append(names, filepath.Base(deb))
	}
	if check != nil {
		if err := check(tree); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(tree, ".complete"), []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(tree, dir); err != nil {
		if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr == nil {
			return dir, nil // another test process was faster
		}
		return "", err
	}
	return dir, nil
}

// Kernel is Debian's cloud kernel, unpacked.
type Kernel struct {
	// Package is the versioned package (linux-image-6.1.0-56-cloud-amd64).
	Package string
	// Version is the kernel release (uname -r).
	Version string
	// Vmlinuz is the kernel image.
	Vmlinuz string
	// Modules is its module directory, as the package ships it (without
	// modules.dep: Debian's postinst runs depmod).
	Modules string
}

// CloudKernel fetches the kernel linux-image-cloud-amd64 depends on.
func CloudKernel(t testing.TB) Kernel {
	t.Helper()
	pkg, err := kernelPackage()
	if err != nil {
		testutil.Require(t, false, "the name of Debian's cloud kernel package: "+err.Error())
	}
	return cloudKernel(t, pkg)
}

// OtherCloudKernel fetches another build of Debian's cloud kernel than
// CloudKernel's, with another release (uname -r): the newest other
// linux-image-6.1.0-N-cloud-amd64 the package lists have.
func OtherCloudKernel(t testing.TB) Kernel {
	t.Helper()
	pkg, err := kernelPackage()
	if err != nil {
		testutil.Require(t, false, "the name of Debian's cloud kernel package: "+err.Error())
	}
	other, err := otherKernelPackage(pkg)
	if err != nil {
		testutil.Require(t, false, "another Debian cloud kernel than "+pkg+": "+err.Error())
	}
	return cloudKernel(t, other)
}

// otherKernelPackage picks, among the linux-image-6.1.0-N-cloud-amd64
// packages apt has a version of, the one with the highest N that is not
// pkg.
func otherKernelPackage(pkg string) (string, error) {
	out, err := apt("", "apt-cache", "pkgnames", "linux-image-6.1.0-")
	if err != nil {
		return "", err
	}
	re := regexp.MustCompile(`^linux-image-6\.1\.0-([0-9]+)-cloud-amd64$`)
	abi := map[string]int{}
	var names []string
	for _, name := range strings.Fields(string(out)) {
		if m := re.FindStringSubmatch(name); m != nil && name != pkg {
			abi[name], _ = strconv.Atoi(m[1])
			names = append(names, name)
		}
	}
	sort.Slice(names, func(i, j int) bool { return abi[names[i]] > abi[names[j]] })
	for _, name := range names {
		// A name may be only provided, or listed without a version.
		if out, err := apt("", "apt-cache", "madison", name); err == nil && len(bytes.TrimSpace(out)) > 0 {
			return name, nil
		}
	}
	return "", fmt.Errorf("apt has no linux-image-6.1.0-N-cloud-amd64 besides %s", pkg)
}

func cloudKernel(t testing.TB, pkg string) Kernel {
	t.Helper()
	version := strings.TrimPrefix(pkg, "linux-image-")
	dir := Unpacked(t, pkg, []string{pkg}, func(tree string) error {
		if _, err := os.Stat(filepath.Join(tree, "boot", "vmlinuz-"+version)); err != nil {
			return err
		}
		_, err := os.Stat(filepath.Join(tree, "lib", "modules", version, "kernel"))
		return err
	})
	return Kernel{
		Package: pkg,
		Version: version,
		Vmlinuz: filepath.Join(dir, "boot", "vmlinuz-"+version),
		Modules: filepath.Join(dir, "lib", "modules", version),
	}
}

var kernelPackageOnce = sync.OnceValues(func() (string, error) {
	name, err := resolveKernel()
	if err != nil {
		aptUpdate()
		name, err = resolveKernel()
	}
	return name, err
})

func kernelPackage() (string, error) { return kernelPackageOnce() }

// resolveKernel reads the versioned package the metapackage depends on.
func resolveKernel() (string, error) {
	out, err := apt("", "apt-cache", "depends", "linux-image-cloud-amd64")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(string(out), "\n") {
		dep, ok := strings.CutPrefix(strings.TrimSpace(line), "Depends: ")
		if ok && strings.HasPrefix(dep, "linux-image-") && strings.HasSuffix(dep, "-cloud-amd64") {
			return dep, nil
		}
	}
	return "", fmt.Errorf("apt-cache depends linux-image-cloud-amd64 names no linux-image-*-cloud-amd64: %q", out)
}

// Busybox returns Debian's static busybox (busybox-static).
func Busybox(t testing.TB) string {
	t.Helper()
	dir := Unpacked(t, "busybox-static", []string{"busybox-static"}, func(tree string) error {
		_, err := os.Stat(filepath.Join(tree, "bin", "busybox"))
		return err
	})
	return filepath.Join(dir, "bin", "busybox")
}

// Depmod returns a depmod command from Debian's kmod package, unpacked
// (not installed): kmod is one program that acts by the name it is called
// by, so the returned path is a symbolic link named depmod.
func Depmod(t testing.TB) string {
	t.Helper()
	dir := Unpacked(t, "kmod", []string{"kmod"}, func(tree string) error {
		kmod := filepath.Join(tree, "bin", "kmod")
		if _, err := os.Stat(kmod); err != nil {
			return err
		}
		return os.Symlink("kmod", filepath.Join(tree, "bin", "depmod"))
	})
	return filepath.Join(dir, "bin", "depmod")
}
