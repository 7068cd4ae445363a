//go:build linux

package install

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// scriptEnv gives a root a shell: Debian's static busybox as /bin/sh.
func newScriptEnv(t *testing.T) *env {
	t.Helper()
	testutil.Require(t, os.Geteuid() == 0, "root (scripts run in a sandbox)")
	bb, err := os.ReadFile("/bin/busybox")
	testutil.Require(t, err == nil, "/bin/busybox (apt-get install busybox-static)")
	e := newEnv(t)
	os.MkdirAll(e.path("bin"), 0o755)
	os.MkdirAll(e.path("var/log"), 0o755)
	if err := os.WriteFile(e.path("bin/busybox"), bb, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, applet := range []string{"sh", "echo", "cat", "ls", "test", "[", "env"} {
		os.Symlink("busybox", e.path("bin/"+applet))
	}
	t.Cleanup(func() { checkNoMounts(t, e.root) })
	return e
}

// checkNoMounts fails when anything is mounted below root in this mount
// namespace.
func checkNoMounts(t *testing.T, root string) {
	t.Helper()
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(info), " "+root) {
		t.Errorf("mounts below %s are left:\n%s", root, info)
	}
}

const logScript = `#!/bin/sh
echo "$0 $*" >> /var/log/scripts
`

func TestScripts(t *testing.T) {
	e := newScriptEnv(t)
	pre := logScript + `[ -e /usr/share/hello/data ] || echo "data not yet there" >> /var/log/scripts
[ -c /dev/null ] && [ -r /proc/self/status ] && [ -d /sys/kernel ] && echo "dev proc sys" >> /var/log/scripts
echo "env: $(env | tr '\n' ' ')" >> /var/log/scripts
echo "hello from pre-install"
`
	post := logScript + `[ -e /usr/share/hello/data ] && echo "data there" >> /var/log/scripts
`
	s := spec("hello", "1.0-r0", dir("usr"), dir("usr/share"), dir("usr/share/hello"), file("usr/share/hello/data", "d"))
	s.Scripts = map[string][]byte{"pre-install": []byte(pre), "post-install": []byte(post)}
	e.add(s)
	e.mustAdd("hello")

	wantOut := "(1/1) Installing hello (1.0-r0)\nExecuting hello-1.0-r0.pre-install\nhello from pre-install\nExecuting hello-1.0-r0.post-install\nOK: 0 MiB in 1 packages\n"
	if got := e.out.String(); got != wantOut {
		t.Errorf("output:\n%s\nwant:\n%s", got, wantOut)
	}
	log := e.readFile("var/log/scripts")
	for _, want := range []string{
		"/lib/apk/exec/hello-1.0-r0.pre-install 1.0-r0\ndata not yet there\ndev proc sys\nenv: ",
		"/lib/apk/exec/hello-1.0-r0.post-install 1.0-r0\ndata there\n",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("script log lacks %q:\n%s", want, log)
		}
	}
	// Only PATH comes from the installer (the shell adds SHLVL and PWD).
	if env := log[strings.Index(log, "env: "):]; !strings.Contains(env, " PATH=/usr/sbin:/usr/bin:/sbin:/bin ") || strings.Contains(env, "HOME=") {
		t.Errorf("script environment: %s", env[:strings.IndexByte(env, '\n')])
	}
	if names, _ := os.ReadDir(e.path("lib/apk/exec")); len(names) != 0 {
		t.Errorf("scripts left in lib/apk/exec: %v", names)
	}
	if names, _ := os.ReadDir(e.path("proc")); len(names) != 0 {
		t.Error("proc is still mounted in the root")
	}

	// scripts.tar holds both scripts as apk names them.
	tr := tar.NewReader(bytes.NewReader([]byte(e.readFile("lib/apk/db/scripts.tar"))))
	rec := e.record("hello")
	var got []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got = append(got, h.Name)
		if h.Mode != 0o755 || h.ModTime.Unix() != rec.BuildTime || h.Uname != "root" {
			t.Errorf("%s: mode %o mtime %v owner %s", h.Name, h.Mode, h.ModTime, h.Uname)
		}
		if strings.HasSuffix(h.Name, ".pre-install") && string(body) != pre {
			t.Errorf("%s: wrong contents", h.Name)
		}
	}
	prefix := "hello-1.0-r0." + rec.Checksum.String() + "."
	if len(got) != 2 || got[0] != prefix+"pre-install" || got[1] != prefix+"post-install" {
		t.Errorf("scripts.tar entries %q", got)
	}

	// Upgrade and removal scripts get apk's arguments.
	s2 := spec("hello", "2.0-r0", dir("usr"), dir("usr/share"), dir("usr/share/hello"), file("usr/share/hello/data", "d2"))
	s2.Scripts = map[string][]byte{
		"pre-upgrade": []byte(logScript), "post-upgrade": []byte(logScript),
		"pre-deinstall": []byte(logScript), "post-deinstall": []byte(logScript),
	}
	e.add(s2)
	e.mustUpgrade("hello")
	if _, err := e.del("hello"); err != nil {
		t.Fatal(err)
	}
	log = e.readFile("var/log/scripts")
	if !strings.Contains(log, "hello-2.0-r0.pre-upgrade 2.0-r0 1.0-r0\n/lib/apk/exec/hello-2.0-r0.post-upgrade 2.0-r0 1.0-r0\n/lib/apk/exec/hello-2.0-r0.pre-deinstall 2.0-r0\n/lib/apk/exec/hello-2.0-r0.post-deinstall 2.0-r0\n") {
		t.Errorf("script log:\n%s", log)
	}
}

func TestTrigger(t *testing.T) {
	e := newScriptEnv(t)
	trig := `#!/bin/sh
echo "trigger $*" >> /var/log/scripts
`
	idx := spec("indexer", "1", dir("usr"), dir("usr/lib"), dir("usr/lib/plugins"), file("usr/lib/plugins/.keep_me", ""), dir("etc"), file("etc/indexer", "i"))
	idx.Triggers = []string{"/usr/lib/plugins", "/usr/share/doc/*"}
	idx.Scripts = map[string][]byte{"trigger": []byte(trig)}
	e.add(idx)
	e.add(spec("plugin", "1", dir("usr"), dir("usr/lib"), dir("usr/lib/plugins"), file("usr/lib/plugins/p.so", "p")))
	e.add(spec("docs", "1", dir("usr"), dir("usr/share"), dir("usr/share/doc"), dir("usr/share/doc/a"), file("usr/share/doc/a/README", "r"), dir("usr/share/doc/b"), file("usr/share/doc/b/README", "r")))
	e.add(spec("other", "1", dir("opt"), file("opt/x", "x")))

	// A new package's trigger sees every matching directory.
	e.mustAdd("indexer")
	if got := e.readFile("var/log/scripts"); got != "trigger /usr/lib/plugins\n" {
		t.Errorf("first trigger: %q", got)
	}
	if got := e.readFile("lib/apk/db/triggers"); got != e.record("indexer").Checksum.String()+" /usr/lib/plugins /usr/share/doc/*\n" {
		t.Errorf("triggers db: %q", got)
	}
	// Later, only directories the commit changed.
	e.mustAdd("plugin", "docs")
	if got := e.readFile("var/log/scripts"); !strings.HasSuffix(got, "trigger /usr/lib/plugins /usr/share/doc/a /usr/share/doc/b\n") {
		t.Errorf("second trigger: %q", got)
	}
	if !strings.Contains(e.out.String(), "Executing indexer-1.trigger\n") {
		t.Errorf("output:\n%s", e.out.String())
	}
	n := strings.Count(e.readFile("var/log/scripts"), "\n")
	e.mustAdd("other")
	if got := strings.Count(e.readFile("var/log/scripts"), "\n"); got != n {
		t.Error("the trigger ran for a commit that changed none of its directories")
	}
}

func TestFailingScript(t *testing.T) {
	e := newScriptEnv(t)
	s := spec("bad", "1", dir("etc"), file("etc/bad", "b"))
	s.Scripts = map[string][]byte{"post-install": []byte("#!/bin/sh\necho 'cannot configure bad' >&2\nexit 3\n")}
	e.add(s)
	rep, err := e.addWorld("bad")
	var ce *CommitError
	if !errors.As(err, &ce) {
		t.Fatalf("error %v, want a CommitError", err)
	}
	var se *ScriptError
	if !errors.As(err, &se) || se.Package != "bad-1" || se.Script != "post-install" || !strings.Contains(string(se.Output), "cannot configure bad") {
		t.Fatalf("error %v, want the failed script with its output", err)
	}
	if !strings.Contains(err.Error(), "bad-1: post-install script: exited with error 3; its output:\ncannot configure bad") {
		t.Errorf("message %q", err)
	}
	if rep.Errors != 1 || !strings.HasSuffix(e.out.String(), "1 error; 0 MiB in 1 packages\n") {
		t.Errorf("errors %d, output:\n%s", rep.Errors, e.out.String())
	}
	if !strings.Contains(e.errOut.String(), "ERROR: bad-1: post-install script: exited with error 3") {
		t.Errorf("stderr: %q", e.errOut.String())
	}
	if r := e.record("bad"); r == nil || !r.BrokenScript {
		t.Error("the package is not marked broken (f:s)")
	}
	if e.readFile("etc/bad") != "b" {
		t.Error("the package's files are not installed")
	}
}

func TestNoScripts(t *testing.T) {
	e := newEnv(t)
	e.noScr = true
	s := spec("scripted", "1", dir("etc"), file("etc/s", "s"))
	s.Scripts = map[string][]byte{"pre-install": []byte(logScript), "post-install": []byte(logScript)}
	e.add(s)
	e.add(spec("plain", "1", dir("etc"), file("etc/p", "p")))
	rep := e.mustAdd("scripted", "plain")
	if len(rep.ScriptsNotRun) != 1 || rep.ScriptsNotRun[0] != "scripted-1" {
		t.Errorf("ScriptsNotRun = %q", rep.ScriptsNotRun)
	}
	if strings.Contains(e.out.String(), "Executing") || e.exists("var/log/scripts") {
		t.Error("a script ran")
	}
	if r := e.record("scripted"); r == nil || r.BrokenScript {
		t.Error("skipped scripts must not mark the package broken")
	}
	// The scripts are in the database all the same.
	if !strings.Contains(e.readFile("lib/apk/db/scripts.tar"), "scripted-1.") {
		t.Error("scripts.tar lacks the scripts")
	}
}

// Without root, scripts cannot run in a sandbox: they are reported, and a
// warning says so.
func TestScriptsNotRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs as a user other than root (the root case is TestScripts)")
	}
	e := newEnv(t)
	s := spec("scripted", "1", dir("etc"), file("etc/s", "s"))
	s.Scripts = map[string][]byte{"post-install": []byte(logScript)}
	e.add(s)
	rep := e.mustAdd("scripted")
	if len(rep.ScriptsNotRun) != 1 || !strings.Contains(e.errOut.String(), "WARNING: not running as root: the scripts of 1 package(s) did not run: scripted-1") {
		t.Errorf("report %+v, stderr %q", rep, e.errOut.String())
	}
}
