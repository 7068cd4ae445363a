//go:build linux

package install

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
)

// A directory a package's pre-install script makes before the package is
// unpacked keeps the script's mode and owner, as with apk (chrony's and
// dhcpcd's users get their home made by adduser that way); the script
// does not see the directory before.
func TestDirectoryMadeByPreInstall(t *testing.T) {
	e := newScriptEnv(t)
	for _, applet := range []string{"mkdir", "chmod", "chown"} {
		os.Symlink("busybox", e.path("bin/"+applet))
	}
	pre := `#!/bin/sh
[ -e /var/lib/svc ] && echo "svc already there" >> /var/log/scripts
mkdir -p /var/lib/svc && chown 5:6 /var/lib/svc && chmod 2755 /var/lib/svc
`
	s := spec("svc", "1", dir("var"), dir("var/lib"), apkDir("var/lib/svc", 0o750), file("var/lib/svc/state", "s"))
	s.Scripts = map[string][]byte{"pre-install": []byte(pre)}
	e.add(s)
	e.mustAdd("svc")

	if log, err := os.ReadFile(e.path("var/log/scripts")); err == nil {
		t.Errorf("the script saw its directory before the package was unpacked: %s", log)
	}
	assertDir(t, e.path("var/lib/svc"), fs.ModeSetgid|0o755, 5, 6)
	if got := e.readFile("var/lib/svc/state"); got != "s" {
		t.Errorf("var/lib/svc/state = %q", got)
	}
	assertNoTemporaries(t, e.root)
}

// A directory phase 1 makes for a later package stays out of sight of the
// scripts of the packages before it (under a temporary name, as the
// later package's files are) and has its entry's mode in the end.
func TestDirectoryAppearsWithItsPackage(t *testing.T) {
	e := newScriptEnv(t)
	probe := `#!/bin/sh
[ -e /opt/late ] && echo "$1: opt/late there" >> /var/log/scripts
exit 0
`
	early := spec("early", "1", dir("opt"), file("opt/early", "e"))
	early.Scripts = map[string][]byte{"post-install": []byte(probe)}
	e.add(early)
	late := spec("late", "1", dir("opt"), apkDir("opt/late", 0o700), apkDir("opt/late/sub", 0o750), file("opt/late/sub/f", "f"))
	late.Info.Depends = deps("early")
	e.add(late)
	e.mustAdd("late")

	if log, err := os.ReadFile(e.path("var/log/scripts")); err == nil && strings.TrimSpace(string(log)) != "" {
		t.Errorf("early's script saw what late brings:\n%s", log)
	}
	assertDir(t, e.path("opt/late"), 0o700, 0, 0)
	assertDir(t, e.path("opt/late/sub"), 0o750, 0, 0)
	assertNoTemporaries(t, e.root)
}

// A failed commit removes the hidden directories it made.
func TestHiddenDirectoriesRolledBack(t *testing.T) {
	e := installedBase(t)
	before := snapshot(t, e.root)
	e.addRawPackage("evil", "1", dirEntry("new"), dirEntry("new/deeper"), regEntry("new/deeper/ok", "ok"), regEntry("../escape", "x"))
	if _, err := e.addWorld("evil"); err == nil {
		t.Fatal("installed")
	}
	assertUnchanged(t, before, e.root)
}

func apkDir(p string, mode fs.FileMode) apkfile.FileSpec {
	f := dir(p)
	f.Mode = fs.ModeDir | mode
	return f
}

func assertDir(t *testing.T, p string, mode fs.FileMode, uid, gid uint32) {
	t.Helper()
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || fi.Mode()&(fs.ModePerm|fs.ModeSetgid|fs.ModeSetuid|fs.ModeSticky) != mode || st.Uid != uid || st.Gid != gid {
		t.Errorf("%s: %v %d:%d, want a directory %v %d:%d", p, fi.Mode(), st.Uid, st.Gid, mode, uid, gid)
	}
}

// assertNoTemporaries fails when an ".apk." entry is left in the root.
func assertNoTemporaries(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".apk.") {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}
