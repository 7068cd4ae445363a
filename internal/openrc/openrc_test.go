//go:build linux

package openrc

import (
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// TestOpenRC runs each rendered service through the real openrc-run of
// Debian's openrc package (see sandbox_test.go): describe must accept
// the script, OpenRC's dependency tree must hold the manifest's
// dependencies, and start,
// with fake supervisors that record how they are called, must hand the
// supervisor exactly the program's arguments, environment, user,
// directory, logs and restart policy, and write the cgroup limits.
func TestOpenRC(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.golden, func(t *testing.T) {
			sb, err := newOpenRCSandbox(t)
			testutil.Require(t, err == nil, errString(err))
			writeService(t, sb.etc, c)
			script := "/etc/init.d/" + c.service
			for _, dir := range []string{c.service, "openrc." + c.service} { // 0.45, 0.5x
				for _, k := range append(slices.Collect(maps.Keys(c.def.Cgroup)), "cgroup.procs") {
					mustWrite(t, filepath.Join(sb.cgroup, dir, k), "", 0o644)
				}
			}

			out, errOut, err := sb.exec(t, "openrc-run", script, "describe")
			var se *setupError
			testutil.Require(t, !errors.As(err, &se), "a mount namespace with overlayfs: "+errString(err))
			if err != nil || unexpected(errOut) != "" {
				t.Fatalf("openrc-run describe: %v\n%s%s", err, out, errOut)
			}
			if first, _, _ := strings.Cut(c.def.Description, "\n"); !strings.Contains(out+errOut, first) {
				t.Errorf("describe does not show the description %q:\n%s%s", first, out, errOut)
			}

			out, errOut, err = sb.exec(t, "rc-update", "--update")
			if err != nil {
				t.Fatalf("rc-update --update: %v\n%s%s", err, out, errOut)
			}
			checkDeptree(t, filepath.Join(sb.run, "openrc/deptree"), c)

			out, errOut, err = sb.exec(t, "openrc-run", script, "--nodeps", "start")
			if err != nil || errOut != "" {
				t.Fatalf("openrc-run start: %v\n%s%s", err, out, errOut)
			}
			if _, err := os.Lstat(filepath.Join(sb.run, "openrc/started", c.service)); err != nil {
				t.Errorf("OpenRC did not mark the service started: %v\n%s%s", err, out, errOut)
			}
			sup := supervisor(c.def)
			argv := readNUL(t, filepath.Join(sb.record, sup+".argv"))
			checkArgv(t, sup, c.service, c.def, argv)
			if len(c.def.Cgroup) > 0 {
				t.Run("cgroup", func(t *testing.T) { checkCgroup(t, sb, c) })
			}
		})
	}
}

// unexpected returns the lines of describe's standard error other than
// OpenRC's notes on a service or commands without a description.
func unexpected(stderr string) string {
	var out []string
	for _, l := range strings.Split(strings.TrimSuffix(stderr, "\n"), "\n") {
		if l != "" && !strings.HasSuffix(l, ": no description") && !strings.Contains(l, " No description for ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the fake supervisor was not called: %v", err)
	}
	return b
}

func readNUL(t *testing.T, path string) []string {
	t.Helper()
	b := readFile(t, path)
	if len(b) == 0 {
		return nil
	}
	return splitNUL(b)
}

// checkArgv checks how OpenRC called the supervisor for s.
func checkArgv(t *testing.T, sup, name string, s manifest.Service, argv []string) {
	t.Helper()
	user := s.User
	if s.Group != "" {
		user += ":" + s.Group
	}
	var want [][]string // option and value pairs that must be there
	var tail []string   // how the call must end
	if sup == SuperviseDaemon {
		if len(argv) < 2 || argv[0] != name || argv[1] != "--start" {
			t.Fatalf("supervise-daemon %q, want %s --start ...", argv, name)
		}
		tail = append([]string{s.Command, "--"}, s.Args...)
		want = append(want, []string{"--respawn-max", strconv.Itoa(s.Respawn.Max)})
		if s.Respawn.Delay > 0 {
			want = append(want, []string{"--respawn-delay", strconv.Itoa(s.Respawn.Delay)})
		}
		if s.Respawn.Period > 0 {
			want = append(want, []string{"--respawn-period", strconv.Itoa(s.Respawn.Period)})
		}
	} else {
		tail = append([]string{"--"}, s.Args...)
		want = append(want, []string{"--exec", s.Command}, []string{"--pidfile", "/run/" + name + ".pid"},
			[]string{"--background"}, []string{"--make-pidfile"})
	}
	if user != "" && sup == SuperviseDaemon {
		want = append(want, []string{"--user", user})
	}
	if s.Directory != "" {
		want = append(want, []string{"--chdir", s.Directory})
	}
	if s.OutputLog != "" {
		want = append(want, []string{"--stdout", s.OutputLog})
	}
	if s.ErrorLog != "" {
		want = append(want, []string{"--stderr", s.ErrorLog})
	}
	if len(argv) < len(tail) || !slices.Equal(argv[len(argv)-len(tail):], tail) {
		t.Errorf("%s called with\n%q\nwant it to end with\n%q", sup, argv, tail)
		return
	}
	opts := argv[:len(argv)-len(tail)]
	if env := envOptions(s.Environment); len(env) > 0 && !containsSeq(opts, env) {
		t.Errorf("%s called with %q: no %q", sup, opts, env)
	}
	// Upstream's start-stop-daemon.sh passes --user; Debian's, written
	// for dpkg's start-stop-daemon, the same option's other name.
	if user != "" && sup == StartStopDaemon && !containsSeq(opts, []string{"--user", user}) && !containsSeq(opts, []string{"--chuid", user}) {
		t.Errorf("%s called with %q: no --user %s", sup, opts, user)
	}
	for _, w := range want {
		if !containsSeq(opts, w) {
			t.Errorf("%s called with %q: no %q", sup, opts, w)
		}
	}
}

func containsSeq(list, seq []string) bool {
	for i := 0; i+len(seq) <= len(list); i++ {
		if slices.Equal(list[i:i+len(seq)], seq) {
			return true
		}
	}
	return false
}

// checkCgroup checks that OpenRC wrote the limits into the service's
// cgroup. OpenRC applies them only when PID 1 has /sys/fs/cgroup
// mounted.
func checkCgroup(t *testing.T, sb *openrcSandbox, c renderCase) {
	mi, _ := os.ReadFile("/proc/1/mountinfo")
	testutil.Require(t, strings.Contains(string(mi), " /sys/fs/cgroup"), "/sys/fs/cgroup mounted for PID 1 (OpenRC applies cgroup settings only then)")
	for k, v := range c.def.Cgroup {
		var got []string
		for _, dir := range []string{c.service, "openrc." + c.service} {
			if b, _ := os.ReadFile(filepath.Join(sb.cgroup, dir, k)); len(b) > 0 {
				got = append(got, string(b))
			}
		}
		if len(got) != 1 || got[0] != v {
			t.Errorf("cgroup %s: OpenRC wrote %q, want %q", k, got, v)
		}
	}
}

// checkDeptree checks the dependencies OpenRC recorded for c's service
// in its dependency tree (the file rc-update --update writes), lines
// such as depinfo_4_service='nomad' and depinfo_4_ineed_0='net'.
func checkDeptree(t *testing.T, path string, c renderCase) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no dependency tree: %v", err)
	}
	prefix := ""
	got := map[string][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		key, value, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		value, err := strconv.Unquote(strings.ReplaceAll(value, "'", "\""))
		if err != nil {
			continue
		}
		if strings.HasSuffix(key, "_service") && value == c.service {
			prefix = strings.TrimSuffix(key, "service")
			continue
		}
		if prefix == "" || !strings.HasPrefix(key, prefix) {
			continue
		}
		typ, _, _ := strings.Cut(strings.TrimPrefix(key, prefix), "_")
		got[typ] = append(got[typ], value)
	}
	if prefix == "" {
		t.Fatalf("service %s is not in OpenRC's dependency tree", c.service)
	}
	for typ, want := range map[string][]string{"ineed": c.def.Need, "iuse": c.def.Use, "iafter": c.def.After, "ibefore": c.def.Before, "iprovide": c.def.Provide} {
		if !slices.Equal(got[typ], want) {
			t.Errorf("dependency tree: %s %q, want %q", typ, got[typ], want)
		}
	}
}
