package openrc

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Debian's openrc package is the real OpenRC the rendered scripts are
// checked with. It is fetched with apt-get download (never installed:
// it would take over the host's init) and unpacked with its two
// libraries into the user's cache, once per machine.

var debianOpenRCOnce = sync.OnceValues(fetchDebianOpenRC)

// debianOpenRC returns the directory Debian's openrc, librc and libeinfo
// packages are unpacked in.
func debianOpenRC() (string, error) { return debianOpenRCOnce() }

func fetchDebianOpenRC() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = "/var/cache" // no $HOME, as in some CI containers
	}
	dir := filepath.Join(cache, "cairn-test", "debian-openrc")
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	for _, tool := range []string{"apt-get", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			return "", fmt.Errorf("%s: %w", tool, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	work, err := os.MkdirTemp(filepath.Dir(dir), "debian-openrc-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	debs := filepath.Join(work, "debs")
	tree := filepath.Join(work, "tree")
	if err := os.MkdirAll(debs, 0o755); err != nil {
		return "", err
	}
	if err := aptDownload(ctx, debs, "openrc"); err != nil {
		return "", err
	}
	libs, err := libraryPackages(ctx, debs)
	if err != nil {
		return "", err
	}
	if err := aptDownload(ctx, debs, libs...); err != nil {
		return "", err
	}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	var names []string
	for _, deb := range files {
		if out, err := exec.CommandContext(ctx, "dpkg-deb", "-x", deb, tree).CombinedOutput(); err != nil {
			return "", fmt.Errorf("dpkg-deb -x %s: %v: %s", filepath.Base(deb), err, out)
		}
		names = append(names, filepath.Base(deb))
	}
	for _, tool := range []string{"openrc-run", "rc-update"} {
		if _, err := findTool(tree, tool); err != nil {
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

// aptDownload fetches the .deb files of pkgs into dir.
func aptDownload(ctx context.Context, dir string, pkgs ...string) error {
	cmd := exec.CommandContext(ctx, "apt-get", append([]string{"-q", "download"}, pkgs...)...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("apt-get download %s: %v: %s", strings.Join(pkgs, " "), err, out)
	}
	return nil
}

// libraryPackages reads which librc and libeinfo packages the openrc
// package in dir depends on (librc1 on Debian 12, librc1t64 later).
func libraryPackages(ctx context.Context, dir string) ([]string, error) {
	debs, _ := filepath.Glob(filepath.Join(dir, "openrc_*.deb"))
	if len(debs) != 1 {
		return nil, fmt.Errorf("apt-get download openrc gave %d packages", len(debs))
	}
	out, err := exec.CommandContext(ctx, "dpkg-deb", "-f", debs[0], "Depends").Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb -f %s Depends: %w", debs[0], err)
	}
	var libs []string
	for _, dep := range strings.Split(string(out), ",") {
		name, _, _ := strings.Cut(strings.TrimSpace(dep), " ")
		if strings.HasPrefix(name, "librc") || strings.HasPrefix(name, "libeinfo") {
			libs = append(libs, name)
		}
	}
	if len(libs) != 2 {
		return nil, fmt.Errorf("openrc depends on %q: want one librc and one libeinfo package", out)
	}
	return libs, nil
}

// findTool returns the path of an OpenRC program (openrc-run,
// rc-update) in an unpacked tree.
func findTool(tree, name string) (string, error) {
	for _, dir := range []string{"sbin", "usr/sbin", "bin", "usr/bin"} {
		p := filepath.Join(tree, dir, name)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("the openrc package holds no %s", name)
}
