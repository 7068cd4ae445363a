//go:build linux

package openrc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/cairnlinux/cairn/internal/reexec"
)

// The real openrc-run has its paths compiled in (/lib/rc, /run/openrc,
// /etc/init.d), so it runs in a private mount namespace made by a
// re-executed child of the test binary: read-only overlays add Debian's
// OpenRC to the host's /lib and /sbin, and the test's init scripts and
// fake supervisors on top of /etc and /sbin; /run and /sys/fs/cgroup are
// replaced by the test's directories. Nothing of it is seen outside the
// child, nothing is written to the host, and it all vanishes with the
// child.

// sandboxChild is the name the child is registered under.
const sandboxChild = "openrc-test-sandbox"

func init() { reexec.Register(sandboxChild, runSandbox) }

// sandboxSpec is what the child sets up and runs, passed as JSON.
type sandboxSpec struct {
	Overlays []overlay // mounted in order
	Binds    []bind
	Argv     []string
	Env      []string
}

// overlay mounts the union of Lowers (first on top) over Target.
type overlay struct {
	Target string
	Lowers []string
}

type bind struct{ Source, Target string }

// sandboxSetupFailed is the child's exit code when it cannot build the
// sandbox, which the test reports as a missing prerequisite.
const sandboxSetupFailed = 125

func runSandbox(args []string) int {
	var spec sandboxSpec
	if len(args) != 1 || json.Unmarshal([]byte(args[0]), &spec) != nil {
		fmt.Fprintln(os.Stderr, "sandbox: want one JSON argument")
		return sandboxSetupFailed
	}
	for _, o := range spec.Overlays {
		opts := "lowerdir=" + strings.Join(o.Lowers, ":")
		if err := unix.Mount("overlay", o.Target, "overlay", unix.MS_RDONLY, opts); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox: mount overlay on %s (%s): %v\n", o.Target, opts, err)
			return sandboxSetupFailed
		}
	}
	for _, b := range spec.Binds {
		if err := unix.Mount(b.Source, b.Target, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			fmt.Fprintf(os.Stderr, "sandbox: bind %s on %s: %v\n", b.Source, b.Target, err)
			return sandboxSetupFailed
		}
	}
	err := unix.Exec(spec.Argv[0], spec.Argv, spec.Env)
	fmt.Fprintf(os.Stderr, "sandbox: exec %s: %v\n", spec.Argv[0], err)
	return sandboxSetupFailed
}

// openrcSandbox is one run of openrc-run on the test's services.
type openrcSandbox struct {
	openrc string // the unpacked Debian packages
	etc    string // init.d, conf.d, rc.conf of the test
	sbin   string // fake supervise-daemon and start-stop-daemon
	run    string // becomes /run
	cgroup string // becomes /sys/fs/cgroup
	record string // where the fakes record their arguments
}

// newOpenRCSandbox prepares the directories of a sandbox; Prereq says
// what is missing when it cannot be had.
func newOpenRCSandbox(t *testing.T) (*openrcSandbox, error) {
	t.Helper()
	if os.Geteuid() != 0 {
		return nil, errors.New("root, to mount in a private namespace")
	}
	dir, err := debianOpenRC()
	if err != nil {
		return nil, fmt.Errorf("Debian's openrc package (apt-get download openrc): %w", err)
	}
	tmp := t.TempDir()
	s := &openrcSandbox{openrc: dir}
	for _, d := range []*string{&s.etc, &s.sbin, &s.run, &s.cgroup, &s.record} {
		*d, err = os.MkdirTemp(tmp, "")
		if err != nil {
			return nil, err
		}
	}
	// Empty state as OpenRC's boot leaves it, in the default runlevel.
	for _, d := range []string{"daemons", "exclusive", "failed", "hotplugged", "inactive", "options", "scheduled", "started", "starting", "stopping", "tmp", "wasinactive"} {
		if err := os.MkdirAll(filepath.Join(s.run, "openrc", d), 0o755); err != nil {
			return nil, err
		}
	}
	files := map[string]string{
		filepath.Join(s.run, "openrc/softlevel"): "default\n",
		filepath.Join(s.etc, "rc.conf"):          "rc_cgroup_mode=\"unified\"\n",
		filepath.Join(s.etc, "insserv.conf"):     "", // read by Debian's gendepends
	}
	for _, name := range []string{"supervise-daemon", "start-stop-daemon"} {
		files[filepath.Join(s.sbin, name)] = fmt.Sprintf("#!/bin/sh\nprintf '%%s\\0' \"$@\" >%s.argv\n", filepath.Join(s.record, name))
	}
	for p, content := range files {
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range []string{"init.d", "conf.d", "runlevels/default", "rc.conf.d", "insserv.conf.d"} {
		if err := os.MkdirAll(filepath.Join(s.etc, d), 0o755); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// overlays lists what the sandbox lays over the host, merging what goes
// over the same directory (/lib and /usr/lib are one on merged-/usr
// systems).
func (s *openrcSandbox) overlays() ([]overlay, error) {
	var out []overlay
	index := map[string]int{}
	add := func(host string, lowers ...string) error {
		target, err := filepath.EvalSymlinks(host)
		if err != nil {
			return err
		}
		i, ok := index[target]
		if !ok {
			i = len(out)
			index[target] = i
			out = append(out, overlay{Target: target})
		}
		out[i].Lowers = append(out[i].Lowers, lowers...)
		return nil
	}
	if err := add("/etc", s.etc, filepath.Join(s.openrc, "etc")); err != nil {
		return nil, err
	}
	if err := add("/sbin", s.sbin); err != nil {
		return nil, err
	}
	for _, d := range []string{"lib", "sbin", "bin", "usr/lib", "usr/libexec", "usr/sbin", "usr/bin"} {
		if _, err := os.Stat(filepath.Join(s.openrc, d)); err != nil {
			continue
		}
		if err := add("/"+d, filepath.Join(s.openrc, d)); err != nil {
			return nil, fmt.Errorf("the openrc package has /%s, which this host lacks: %w", d, err)
		}
	}
	// The host's own directory at the bottom of each.
	for i := range out {
		out[i].Lowers = append(out[i].Lowers, out[i].Target)
	}
	return out, nil
}

// exec runs the OpenRC program tool (openrc-run, rc-update) with args in
// the sandbox.
func (s *openrcSandbox) exec(t *testing.T, tool string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	bin, err := findTool(s.openrc, tool)
	if err != nil {
		return "", "", err
	}
	ovs, err := s.overlays()
	if err != nil {
		return "", "", err
	}
	spec := sandboxSpec{
		Overlays: ovs,
		Binds:    []bind{{s.run, "/run"}, {s.cgroup, "/sys/fs/cgroup"}},
		Argv:     append([]string{bin}, args...),
		Env:      []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C"},
	}
	js, err := json.Marshal(spec)
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := reexec.Command(sandboxChild, string(js))
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Unshareflags: syscall.CLONE_NEWNS, // Go makes / private in it too
		Pdeathsig:    syscall.SIGKILL,
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		return "", "", err
	}
	stop := context.AfterFunc(ctx, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	stop()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == sandboxSetupFailed {
		return out.String(), errb.String(), &setupError{errb.String()}
	}
	return out.String(), errb.String(), err
}

// setupError is a sandbox the child could not build.
type setupError struct{ msg string }

func (e *setupError) Error() string { return strings.TrimSpace(e.msg) }
