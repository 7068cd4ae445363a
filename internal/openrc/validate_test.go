package openrc

import (
	"errors"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

func TestValidName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"nomad", true}, {"net.eth0", true}, {"getty@tty1", true}, {"a+b_c-d", true}, {"9p", true},
		{"", false}, {".", false}, {"..", false}, {".hidden", false}, {"-x", false},
		{"a/b", false}, {"../etc", false}, {"a..b", false}, {"/abs", false}, {"a b", false},
		{"a\nb", false}, {"a$b", false}, {"a*", false}, {strings.Repeat("a", 256), false},
	}
	for _, tt := range tests {
		if got := ValidName(tt.name); got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := manifest.Service{Command: "/usr/bin/x"}
	with := func(f func(*manifest.Service)) manifest.Service {
		s := ok
		f(&s)
		return s
	}
	tests := []struct {
		desc string
		name string
		s    manifest.Service
		// paths are the keys the errors must name, in order, relative
		// to services.define.NAME; none for a valid service.
		paths []string
		// msg must appear in the first error.
		msg string
	}{
		{"minimal", "x", ok, nil, ""},
		{"every case", "nomad", renderCases[1].def, nil, ""},
		{"bad name", "a/b", ok, []string{`services.define["a/b"]`}, "not a valid service name"},
		{"dot dot", "..", ok, []string{`services.define[".."]`}, "not a valid service name"},
		{"no command", "x", manifest.Service{}, []string{"command"}, "missing"},
		{"relative command", "x", with(func(s *manifest.Service) { s.Command = "bin/x" }), []string{"command"}, "not an absolute path"},
		{"command with space", "x", with(func(s *manifest.Service) { s.Command = "/opt/my app/x" }), []string{"command"}, "through eval"},
		{"command with dollar", "x", with(func(s *manifest.Service) { s.Command = "/opt/$x" }), []string{"command"}, "through eval"},
		{"NUL in argument", "x", with(func(s *manifest.Service) { s.Args = []string{"a", "b\x00"} }), []string{"args[1]"}, "NUL"},
		{"NUL in description", "x", with(func(s *manifest.Service) { s.Description = "\x00" }), []string{"description"}, "NUL"},
		{"bad user", "x", with(func(s *manifest.Service) { s.User = "a:b" }), []string{"user"}, "not a user or group name"},
		{"group alone", "x", with(func(s *manifest.Service) { s.Group = "wheel" }), []string{"group"}, "needs user"},
		{"relative directory", "x", with(func(s *manifest.Service) { s.Directory = "var/lib" }), []string{"directory"}, "absolute"},
		{"relative log", "x", with(func(s *manifest.Service) { s.OutputLog = "x.log"; s.ErrorLog = "/var/log/a b" }), []string{"errorLog", "outputLog"}, "eval"},
		{"env name", "x", with(func(s *manifest.Service) { s.Environment = map[string]string{"A.B": "1"} }), []string{`environment["A.B"]`}, "not a variable name"},
		{"env RC_", "x", with(func(s *manifest.Service) { s.Environment = map[string]string{"RC_SVCNAME": "1"} }), []string{"environment.RC_SVCNAME"}, "remove RC_"},
		{"env SVCNAME", "x", with(func(s *manifest.Service) { s.Environment = map[string]string{"SVCNAME": "1"} }), []string{"environment.SVCNAME"}, "remove RC_"},
		{"env OpenRC's names", "x", with(func(s *manifest.Service) {
			s.Environment = map[string]string{"PATH": "/opt/x/bin", "IFS": ":", "command": "x", "_func": "y", "LD_PRELOAD": "/x.so"}
		}), nil, ""},
		{"env NUL", "x", with(func(s *manifest.Service) { s.Environment = map[string]string{"A": "\x00"} }), []string{"environment.A"}, "NUL"},
		{"bad dependency", "x", with(func(s *manifest.Service) { s.Need = []string{"net", "a b"} }), []string{"need[1]"}, "not a service name"},
		{"star in need", "x", with(func(s *manifest.Service) { s.Need = []string{"*"} }), []string{"need[0]"}, "not a service name"},
		{"star in after", "x", with(func(s *manifest.Service) { s.After = []string{"*"} }), nil, ""},
		{"unknown supervisor", "x", with(func(s *manifest.Service) { s.Supervisor = "runit" }), []string{"supervisor"}, "not supported"},
		{"respawn with ssd", "x", with(func(s *manifest.Service) { s.Supervisor = StartStopDaemon; s.Respawn.Max = 3 }), []string{"respawn"}, "only supervise-daemon"},
		{"negative respawn", "x", with(func(s *manifest.Service) { s.Respawn = manifest.Respawn{Delay: -1, Period: -2} }), []string{"respawn.delay", "respawn.period"}, "negative"},
		{"cgroup key", "x", with(func(s *manifest.Service) { s.Cgroup = map[string]string{"../x": "1"} }), []string{`cgroup["../x"]`}, "not a cgroup v2 interface file"},
		{"cgroup action", "x", with(func(s *manifest.Service) { s.Cgroup = map[string]string{"cgroup.kill": "1"} }), []string{`cgroup["cgroup.kill"]`}, "manages this file"},
		{"cgroup two lines", "x", with(func(s *manifest.Service) { s.Cgroup = map[string]string{"memory.max": "1\npids.max 2"} }), []string{`cgroup["memory.max"]`}, "one line"},
		{"cgroup empty", "x", with(func(s *manifest.Service) { s.Cgroup = map[string]string{"memory.max": ""} }), []string{`cgroup["memory.max"]`}, "empty"},
		{"cgroup spaces", "x", with(func(s *manifest.Service) { s.Cgroup = map[string]string{"memory.max": " 1"} }), []string{`cgroup["memory.max"]`}, "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			err := Validate(tt.name, tt.s)
			var got []string
			for _, e := range unjoin(err) {
				var ve *Error
				if !errors.As(e, &ve) {
					t.Fatalf("%v is not an *Error", e)
				}
				got = append(got, ve.Path)
			}
			want := make([]string, len(tt.paths))
			for i, p := range tt.paths {
				want[i] = p
				if !strings.HasPrefix(p, "services.") {
					want[i] = keyPath("services.define", tt.name) + "." + p
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("error paths %q, want %q (error: %v)", got, want, err)
			}
			if tt.msg != "" && !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
			if _, rerr := InitScript(tt.name, tt.s); (rerr == nil) != (err == nil) {
				t.Errorf("InitScript error %v, Validate error %v", rerr, err)
			}
		})
	}
}

// unjoin returns the errors joined in err.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
