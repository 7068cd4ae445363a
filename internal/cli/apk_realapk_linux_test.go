package cli

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// realAPK is the real apk-tools 2.14 of ../shared/tools/real-apk, set up
// in its own chroot for one test.
type realAPK struct {
	script, dir string
}

func newRealAPK(t *testing.T) *realAPK {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (real-apk chroots)")
	for _, tool := range []string{"chroot", "tar", "gzip"} {
		_, err := exec.LookPath(tool)
		testutil.Require(t, err == nil, tool)
	}
	script := filepath.Join(testutil.Fixtures(t), "..", "tools", "real-apk")
	_, err := os.Stat(script)
	testutil.Require(t, err == nil, script)
	r := &realAPK{script: script, dir: filepath.Join(t.TempDir(), "real-apk")}
	if out, err := r.command("setup").CombinedOutput(); err != nil {
		t.Fatalf("real-apk setup: %v\n%s", err, out)
	}
	return r
}

func (r *realAPK) command(args ...string) *exec.Cmd {
	cmd := exec.Command(r.script, args...)
	cmd.Env = append(os.Environ(), "REAL_APK="+r.dir)
	return cmd
}

// apk runs apk in the chroot; paths in args are inside it.
func (r *realAPK) apk(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	cmd := r.command(append([]string{"apk"}, args...)...)
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// newRoot makes an empty root inside the chroot holding Alpine's keys,
// as real-apk's header shows, and returns its path inside the chroot.
func (r *realAPK) newRoot(t *testing.T, name string) string {
	t.Helper()
	keys := filepath.Join(r.dir, name, "etc", "apk", "keys")
	if err := os.MkdirAll(keys, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(r.dir, "etc", "apk", "keys")
	names, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		copyFile(t, filepath.Join(src, n.Name()), filepath.Join(keys, n.Name()))
	}
	return "/" + name
}

// TestAPKAddMatchesRealAPK installs worlds of the real ISO packages
// (scripts, users made by pre-install scripts, the busybox trigger) into
// empty roots with real apk-tools 2.14 and with `cairn apk add`, and
// asserts the same output, the same tree (every path, type, mode, owner,
// size, content, link target, device and xattr), a byte-identical
// lib/apk/db/installed and the same `apk audit` reports. Then both roots
// take an add and a del.
func TestAPKAddMatchesRealAPK(t *testing.T) {
	ra := newRealAPK(t)
	iso := filepath.Join(testutil.Fixtures(t), "alpine-v3.19", "iso")
	// apk 2.14 stamps scripts.tar with SOURCE_DATE_EPOCH, else the clock.
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")

	// Every ISO package but vlan, which ifupdown-ng breaks, and
	// network-extras, which depends on it.
	var every []string
	files, _ := filepath.Glob(filepath.Join(iso, "x86_64", "*.apk"))
	for _, f := range files {
		name := pkgNameOf(strings.TrimSuffix(filepath.Base(f), ".apk"))
		if name != "vlan" && name != "network-extras" {
			every = append(every, name)
		}
	}
	if len(every) != 98 {
		t.Fatalf("%d ISO packages, want 98 besides vlan and network-extras", len(every))
	}

	worlds := []struct {
		name  string
		world []string
		then  [][]string // further commands on both roots
	}{
		// chrony's pre-install adds a user whose home is a directory of
		// the package; openrc and busybox have post-install scripts.
		{"standard", []string{"alpine-base", "openssh", "chrony"}, [][]string{
			{"add", "dhcpcd", "doas"},
			{"del", "chrony"},
		}},
		// dhcpcd's pre-install adds a user with a home the package names.
		{"storage-net", []string{"alpine-base", "e2fsprogs", "e2fsprogs-extra", "dhcpcd", "dhcpcd-openrc", "doas", "openntpd-openrc"}, nil},
		// tiny-cloud-nocloud's post-install, ppp and wifi.
		{"wifi-cloud", []string{"alpine-base", "wpa_supplicant", "wpa_supplicant-openrc", "tiny-cloud-nocloud", "ppp-daemon", "ifupdown-ng-wifi"}, nil},
		{"every", every, nil},
	}
	for _, w := range worlds {
		t.Run(w.name, func(t *testing.T) {
			realRoot := ra.newRoot(t, "r-"+w.name)
			ourRoot := filepath.Join(ra.dir, ra.newRoot(t, "c-"+w.name))
			common := []string{"--no-network", "--arch", "x86_64"}
			rOut, rErr, err := ra.apk(t, append(append([]string{"--root", realRoot, "--initdb", "--repository", "/repo"}, common...), append([]string{"add"}, w.world...)...)...)
			if err != nil {
				t.Fatalf("real apk add: %v\n%s%s", err, rOut, rErr)
			}
			code, cOut, cErr := run(t, append(append([]string{"apk", "add", "--root", ourRoot, "--initdb", "--repository", iso}, common...), w.world...)...)
			if code != 0 {
				t.Fatalf("cairn apk add: exit %d\n%s%s", code, cOut, cErr)
			}
			compareRoots(t, ra, realRoot, ourRoot, rOut+rErr, cOut+cErr)
			for _, cmd := range w.then {
				rOut, rErr, err := ra.apk(t, append([]string{"--root", realRoot, "--repository", "/repo", "--no-network"}, cmd...)...)
				if err != nil {
					t.Fatalf("real apk %s: %v\n%s%s", strings.Join(cmd, " "), err, rOut, rErr)
				}
				code, cOut, cErr := run(t, append([]string{"apk", cmd[0], "--root", ourRoot, "--repository", iso, "--no-network"}, cmd[1:]...)...)
				if code != 0 {
					t.Fatalf("cairn apk %s: exit %d\n%s%s", strings.Join(cmd, " "), code, cOut, cErr)
				}
				t.Logf("then apk %s", strings.Join(cmd, " "))
				compareRoots(t, ra, realRoot, ourRoot, rOut+rErr, cOut+cErr)
			}
		})
	}
}

// pkgNameOf strips "-VERSION-rN" from a package file's base name.
func pkgNameOf(nameVersion string) string {
	parts := strings.Split(nameVersion, "-")
	if len(parts) < 3 {
		return nameVersion
	}
	return strings.Join(parts[:len(parts)-2], "-")
}

// compareRoots asserts that the root real apk made (realRoot, inside the
// chroot) and the one cairn made (ourRoot, on the host) are the same.
func compareRoots(t *testing.T, ra *realAPK, realRoot, ourRoot, realOut, ourOut string) {
	t.Helper()
	if realOut != ourOut {
		t.Errorf("output differs:\n%s", textDiff(realOut, ourOut))
	}
	want, got := describeTree(t, filepath.Join(ra.dir, realRoot)), describeTree(t, ourRoot)
	if w, g := strings.Join(want, "\n"), strings.Join(got, "\n"); w != g {
		t.Errorf("the trees differ (- apk-tools, + cairn):\n%s", textDiff(w, g))
	}
	db := "lib/apk/db/installed"
	a, err := os.ReadFile(filepath.Join(ra.dir, realRoot, db))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(ourRoot, db))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Errorf("%s differs (- apk-tools, + cairn):\n%s", db, textDiff(string(a), string(b)))
	}
	// apk audit lists in the order it reads directories: compare sets.
	ourInChroot := "/" + filepath.Base(ourRoot)
	for _, args := range [][]string{{"audit"}, {"audit", "--system"}, {"audit", "--full"}} {
		var reports [2]string
		for i, root := range []string{realRoot, ourInChroot} {
			out, errOut, err := ra.apk(t, append([]string{"--root", root}, args...)...)
			if err != nil {
				t.Fatalf("real apk %s on %s: %v\n%s%s", strings.Join(args, " "), root, err, out, errOut)
			}
			lines := strings.Split(strings.TrimSpace(out+errOut), "\n")
			sort.Strings(lines)
			reports[i] = strings.Join(lines, "\n")
		}
		if reports[0] != reports[1] {
			t.Errorf("apk %s differs (- apk-tools' root, + cairn's):\n%s", strings.Join(args, " "), textDiff(reports[0], reports[1]))
		}
	}
}

// describeTree lists every entry under root, sorted, one line each: path,
// type and mode, owner, size and SHA-256 of regular files, link targets,
// device numbers, link counts and extended attributes.
func describeTree(t *testing.T, root string) []string {
	t.Helper()
	var lines []string
	err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		line := fmt.Sprintf("%s %07o %d:%d", rel, st.Mode, st.Uid, st.Gid)
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFREG:
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(data)
			line += fmt.Sprintf(" size=%d sha256=%s links=%d", st.Size, hex.EncodeToString(sum[:8]), st.Nlink)
		case unix.S_IFLNK:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			line += " -> " + target
		case unix.S_IFCHR, unix.S_IFBLK:
			line += fmt.Sprintf(" dev=%d,%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
		}
		line += xattrsOf(p)
		lines = append(lines, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(lines)
	return lines
}

func xattrsOf(p string) string {
	buf := make([]byte, 64<<10)
	n, err := unix.Llistxattr(p, buf)
	if err != nil || n == 0 {
		return ""
	}
	names := strings.Split(strings.TrimRight(string(buf[:n]), "\x00"), "\x00")
	sort.Strings(names)
	var b strings.Builder
	for _, name := range names {
		v := make([]byte, 64<<10)
		m, err := unix.Lgetxattr(p, name, v)
		if err != nil {
			m = 0
		}
		fmt.Fprintf(&b, " xattr:%s=%x", name, v[:m])
	}
	return b.String()
}

// textDiff explains how two texts differ: the lines only in a (-) and
// only in b (+), or where their order differs.
func textDiff(a, b string) string {
	if d := lineDiff(a, b); d != "" {
		return d
	}
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return fmt.Sprintf("the same lines in another order, from line %d: %q and %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("the same lines, %d and %d of them", len(al), len(bl))
}
