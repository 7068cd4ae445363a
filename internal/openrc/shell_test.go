package openrc

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/testutil"
)

// shell is a POSIX shell the rendered scripts are checked with: the
// host's /bin/sh (dash on Debian) and busybox sh, which is Alpine's
// /bin/sh and so the shell OpenRC runs scripts with there.
type shell struct {
	name string
	argv []string
}

func shells(t *testing.T) []shell {
	t.Helper()
	var out []shell
	if _, err := os.Stat("/bin/sh"); err == nil {
		out = append(out, shell{"sh", []string{"/bin/sh"}})
	}
	if p, err := exec.LookPath("busybox"); err == nil {
		out = append(out, shell{"busybox-sh", []string{p, "sh"}})
	} else {
		t.Log("no busybox: scripts are checked with /bin/sh only")
	}
	testutil.Require(t, len(out) > 0, "/bin/sh")
	return out
}

// run runs script with sh in dir (the current directory when empty)
// and returns its standard output; a failure or anything on standard
// error fails the test.
func (sh shell) run(t *testing.T, dir, script string, args ...string) []byte {
	t.Helper()
	argv := append(append(slices.Clone(sh.argv[1:]), "-c", script, "sh"), args...)
	cmd := exec.Command(sh.argv[0], argv...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Fatalf("%s: %v\n%s\nscript:\n%s", sh.name, err, stderr.Bytes(), script)
	}
	return stdout.Bytes()
}

// syntax checks the file with the shell's -n: parsed, not run.
func (sh shell) syntax(t *testing.T, file string) {
	t.Helper()
	argv := append(slices.Clone(sh.argv), "-n", file)
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil || len(out) > 0 {
		t.Errorf("%s -n %s: %v\n%s", sh.name, file, err, out)
	}
}

// splitNUL splits the output of printf '%s\0' ... into its words.
func splitNUL(b []byte) []string {
	s := string(b)
	if !strings.HasSuffix(s, "\x00") {
		return []string{"missing final NUL: " + s}
	}
	return strings.Split(strings.TrimSuffix(s, "\x00"), "\x00")
}
