package openrc

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// writeService renders c into dir as init.d/NAME and conf.d/NAME and
// returns their paths.
func writeService(t *testing.T, dir string, c renderCase) (initd, confd string) {
	t.Helper()
	script, err := InitScript(c.service, c.def)
	if err != nil {
		t.Fatal(err)
	}
	initd = filepath.Join(dir, "init.d", c.service)
	confd = filepath.Join(dir, "conf.d", c.service)
	for _, f := range []struct {
		path string
		data []byte
		mode os.FileMode
	}{{initd, script, 0o755}, {confd, ConfD(c.service, c.def), 0o644}} {
		if err := os.MkdirAll(filepath.Dir(f.path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			t.Fatal(err)
		}
	}
	return initd, confd
}

// TestScriptsParse checks every rendered file with each shell's -n.
func TestScriptsParse(t *testing.T) {
	for _, c := range renderCases {
		initd, confd := writeService(t, t.TempDir(), c)
		for _, sh := range shells(t) {
			sh.syntax(t, initd)
			sh.syntax(t, confd)
		}
	}
}

// TestScriptsSourced sources each rendered service the way OpenRC does
// (conf.d, then the init script) in each shell and reads back what
// OpenRC would use: description, cgroup settings, and after OpenRC's
// eval the program's arguments and the supervisor's --env options; and
// the dependencies.
func TestScriptsSourced(t *testing.T) {
	for _, c := range renderCases {
		initd, confd := writeService(t, t.TempDir(), c)
		for _, sh := range shells(t) {
			t.Run(c.golden+"/"+sh.name, func(t *testing.T) {
				vars := splitNUL(sh.run(t, "", `. "$1"; . "$2"; printf '%s\0' "$description" "$rc_cgroup_settings" "$command"`, confd, initd))
				want := []string{c.def.Description, cgroupSettings(c.def), c.def.Command}
				if !slices.Equal(vars, want) {
					t.Errorf("variables %q, want %q", vars, want)
				}
				if len(c.def.Args) > 0 {
					args := splitNUL(sh.run(t, globDir(t), `. "$1"; eval 'printf "%s\\0"' $command_args`, initd))
					if !slices.Equal(args, c.def.Args) {
						t.Errorf("arguments after eval %q, want %q", args, c.def.Args)
					}
				}
				deps := sh.run(t, globDir(t), depFuncs+`. "$1"; if command -v depend >/dev/null; then depend; fi`, initd)
				if got, want := string(deps), wantDepend(c.def); got != want {
					t.Errorf("depend() printed\n%s\nwant\n%s", got, want)
				}
				if len(c.def.Environment) > 0 {
					got := splitNUL(sh.run(t, globDir(t), `. "$1"; eval 'printf "%s\\0"' ${supervise_daemon_args-$start_stop_daemon_args}`, initd))
					if want := envOptions(c.def.Environment); !slices.Equal(got, want) {
						t.Errorf("supervisor options after eval %q, want %q", got, want)
					}
				}
			})
		}
	}
}

// depFuncs are OpenRC's dependency functions, as openrc-run.sh defines
// them.
const depFuncs = `need() { [ -n "$*" ] && echo "need $*"; }
use() { [ -n "$*" ] && echo "use $*"; }
after() { [ -n "$*" ] && echo "after $*"; }
before() { [ -n "$*" ] && echo "before $*"; }
provide() { [ -n "$*" ] && echo "provide $*"; }
`

// wantDepend is what depFuncs print for s's depend().
func wantDepend(s manifest.Service) string {
	var b strings.Builder
	for _, v := range []struct {
		verb string
		deps []string
	}{{"need", s.Need}, {"use", s.Use}, {"after", s.After}, {"before", s.Before}, {"provide", s.Provide}} {
		if len(v.deps) > 0 {
			b.WriteString(v.verb + " " + strings.Join(v.deps, " ") + "\n")
		}
	}
	return b.String()
}

// cgroupSettings is rc_cgroup_settings as OpenRC expects it for s.
func cgroupSettings(s manifest.Service) string {
	var lines []string
	for _, k := range slices.Sorted(maps.Keys(s.Cgroup)) {
		lines = append(lines, k+" "+s.Cgroup[k])
	}
	return strings.Join(lines, "\n")
}

// envOptions are the supervisor options that give the program env.
func envOptions(env map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, "--env", k+"="+env[k])
	}
	return out
}
