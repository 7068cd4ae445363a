//go:build linux

package install

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/solver"
	"github.com/cairnlinux/cairn/internal/sandbox"
	"github.com/cairnlinux/cairn/internal/sandbox/sandboxtest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

var capSweep = flag.Bool("capsweep", false, "measure which capabilities the ISO's scripts need (docs/security.md)")

// isoWorlds run every script and trigger of the Alpine 3.19 ISO's 100
// packages: the install scripts when installed, the upgrade scripts when
// isoReinstall's packages are reinstalled (apk fix -r), busybox's trigger
// each time.
var isoWorlds = [][]string{
	{"alpine-base", "openssh", "chrony"},
	{"alpine-base", "dhcpcd", "doas", "tiny-cloud-alpine", "e2fsprogs-extra", "wpa_supplicant-openrc"},
	{"alpine-base", "openntpd-openrc", "tiny-cloud-nocloud", "ppp-daemon", "ifupdown-ng-wifi", "busybox-suid", "busybox-mdev-openrc"},
}

// isoReinstall are the ISO's packages with upgrade scripts.
var isoReinstall = []string{"alpine-baselayout", "busybox", "chrony", "dhcpcd", "doas", "openrc", "tiny-cloud", "tiny-cloud-openrc"}

// newISOEnv is an empty root with the ISO's repository (its real signed
// index and packages) available.
func newISOEnv(t *testing.T, run func(context.Context, sandbox.Command) error) *env {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (scripts run in a sandbox)")
	dir := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	keys, err := apkfile.LoadKeyring(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, "iso", "x86_64", "APKINDEX.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := apkfile.ReadIndex(data, apkfile.Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := apk.ParseIndex(idx.Text)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t)
	e.verify = apkfile.Options{Keys: keys}
	e.runScript = run
	for _, p := range pkgs {
		apkData, err := os.ReadFile(filepath.Join(dir, "iso", "x86_64", p.FileName()))
		if err != nil {
			t.Fatal(err)
		}
		e.addRaw(p, apkData)
	}
	return e
}

// installISOWorld installs world, then reinstalls the packages of it that
// have upgrade scripts, and returns everything the installer printed.
func installISOWorld(t *testing.T, e *env, world []string) string {
	t.Helper()
	var out strings.Builder
	_, err := e.addWorld(world...)
	out.WriteString(e.out.String() + e.errOut.String())
	if err != nil {
		return out.String() + "error: " + err.Error() + "\n"
	}
	var fix []string
	for _, name := range isoReinstall {
		if e.record(name) != nil {
			fix = append(fix, name)
		}
	}
	_, err = e.run(func(s *solver.Session) error { return s.Fix(fix, solver.FixOptions{Reinstall: true}) })
	out.WriteString(e.out.String() + e.errOut.String())
	if err != nil {
		out.WriteString("error: " + err.Error() + "\n")
	}
	return out.String()
}

// describeRoot lists every path of root with its type, permissions,
// owner, size, content digest, link target and extended attributes (not
// its times: scripts write files at the time they run).
func describeRoot(t *testing.T, root string) string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := fmt.Sprintf("%s %o %d:%d", rel, st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			line += fmt.Sprintf(" %d %x", len(data), sha256.Sum256(data))
		case unix.S_IFLNK:
			target, _ := os.Readlink(p)
			line += " -> " + target
		case unix.S_IFCHR, unix.S_IFBLK:
			line += fmt.Sprintf(" dev %d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		buf := make([]byte, 64<<10)
		if n, err := unix.Llistxattr(p, buf); err == nil && n > 0 {
			names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
			sort.Strings(names)
			for _, name := range names {
				val := make([]byte, 64<<10)
				m, _ := unix.Lgetxattr(p, name, val)
				line += fmt.Sprintf(" %s=%x", name, val[:max(m, 0)])
			}
		}
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(lines, "\n") + "\n"
}

// isoResult is what installing the ISO's worlds gave: per world, the
// tree and the output.
type isoResult struct{ trees, outputs []string }

func installISOWorlds(t *testing.T, run func(context.Context, sandbox.Command) error) isoResult {
	t.Helper()
	var r isoResult
	for _, w := range isoWorlds {
		e := newISOEnv(t, run)
		r.outputs = append(r.outputs, installISOWorld(t, e, w))
		r.trees = append(r.trees, describeRoot(t, e.root))
	}
	return r
}

// diffLines says which lines of want and got differ, a few at most.
func diffLines(want, got string) string {
	w, g := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	var out []string
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	if len(out) > 12 {
		out = append(out[:12], fmt.Sprintf("... %d more", len(out)-12))
	}
	return strings.Join(out, "\n")
}

// compareISO reports how got differs from want, "" when it does not.
func compareISO(want, got isoResult) string {
	var out []string
	for i := range want.trees {
		if want.trees[i] != got.trees[i] {
			out = append(out, fmt.Sprintf("world %q, tree:\n%s", isoWorlds[i], diffLines(want.trees[i], got.trees[i])))
		}
		if want.outputs[i] != got.outputs[i] {
			out = append(out, fmt.Sprintf("world %q, output:\n%s", isoWorlds[i], diffLines(want.outputs[i], got.outputs[i])))
		}
	}
	return strings.Join(out, "\n")
}

// Every script and trigger of the real ISO packages gives, in the
// sandbox, the same trees and output as chrooted as full root (as apk-tools
// and cairn before its sandbox ran them).
func TestISOScriptsInSandbox(t *testing.T) {
	want := installISOWorlds(t, sandboxtest.Chroot)
	for i, out := range want.outputs {
		if !strings.Contains(out, "Executing busybox-1.36.1-r15.trigger") || strings.Contains(out, "error") {
			t.Fatalf("world %q did not install cleanly:\n%s", isoWorlds[i], out)
		}
	}
	got := installISOWorlds(t, sandbox.Run)
	if d := compareISO(want, got); d != "" {
		t.Errorf("the sandbox changed what the ISO's scripts did:\n%s", d)
	}
	if *capSweep {
		sweepCaps(t, want)
	}
}

// sweepCaps is the measurement behind sandbox.DefaultCaps (go test
// ./internal/apk/install -run TestISOScriptsInSandbox -capsweep -v): the
// ISO's worlds with no capability at all, with every capability but one,
// and with the default set but one.
func sweepCaps(t *testing.T, want isoResult) {
	last := 40
	if data, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		fmt.Sscan(string(data), &last)
	}
	with := func(c sandbox.Caps) func(context.Context, sandbox.Command) error {
		return func(ctx context.Context, cmd sandbox.Command) error {
			cmd.Caps = &c
			return sandbox.Run(ctx, cmd)
		}
	}
	report := func(what string, c sandbox.Caps) {
		if d := compareISO(want, installISOWorlds(t, with(c))); d != "" {
			t.Logf("%s: DIFFERS\n%s", what, d)
		} else {
			t.Logf("%s: same", what)
		}
	}
	var all sandbox.Caps
	for n := 0; n <= last; n++ {
		all |= 1 << n
	}
	report("no capabilities", 0)
	for n := 0; n <= last; n++ {
		report("all but "+sandbox.CapName(n), all&^(1<<n))
	}
	for n := 0; n <= last; n++ {
		if sandbox.DefaultCaps.Has(n) {
			report("default but "+sandbox.CapName(n), sandbox.DefaultCaps&^(1<<n))
		}
	}
}
