package openrc

import (
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// Supervisors cairn can write a service for.
const (
	SuperviseDaemon = "supervise-daemon"
	StartStopDaemon = "start-stop-daemon"
)

// supervisor returns the supervisor s asks for, supervise-daemon when it
// names none.
func supervisor(s manifest.Service) string {
	if s.Supervisor == "" {
		return SuperviseDaemon
	}
	return s.Supervisor
}

// Validate reports every reason why service name cannot be written as
// an OpenRC service, each an *Error naming its manifest key, joined; nil
// when it can. InitScript and Install call it.
func Validate(name string, s manifest.Service) error {
	v := validator{base: keyPath("services.define", name)}
	if !ValidName(name) {
		v.add("", "not a valid service name: use "+nameRule)
	}
	v.noNUL("description", s.Description)
	if s.Command == "" {
		v.add("command", "missing: give the absolute path of the program")
	} else {
		v.evalPath("command", s.Command)
	}
	for i, a := range s.Args {
		v.noNUL(indexPath("args", i), a)
	}
	v.account("user", s.User)
	v.account("group", s.Group)
	if s.Group != "" && s.User == "" {
		v.add("group", "needs user as well: OpenRC runs the program as command_user=user:group")
	}
	if s.Directory != "" {
		v.evalPath("directory", s.Directory)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Environment)) {
		field := keyPath("environment", k)
		if p := envNameProblem(k); p != "" {
			v.add(field, p)
		}
		v.noNUL(field, s.Environment[k])
	}
	v.deps("need", s.Need, false)
	v.deps("use", s.Use, false)
	v.deps("after", s.After, true)
	v.deps("before", s.Before, true)
	v.deps("provide", s.Provide, false)
	switch supervisor(s) {
	case SuperviseDaemon:
	case StartStopDaemon:
		if s.Respawn != (manifest.Respawn{}) {
			v.add("respawn", "only supervise-daemon restarts a program; remove respawn or use supervisor: supervise-daemon")
		}
	default:
		v.add("supervisor", fmt.Sprintf("%q is not supported: use %s (the default) or %s", s.Supervisor, SuperviseDaemon, StartStopDaemon))
	}
	for field, n := range map[string]int{"respawn.delay": s.Respawn.Delay, "respawn.max": s.Respawn.Max, "respawn.period": s.Respawn.Period} {
		if n < 0 {
			v.add(field, fmt.Sprintf("%d is negative", n))
		}
	}
	if s.OutputLog != "" {
		v.evalPath("outputLog", s.OutputLog)
	}
	if s.ErrorLog != "" {
		v.evalPath("errorLog", s.ErrorLog)
	}
	for _, k := range slices.Sorted(maps.Keys(s.Cgroup)) {
		if p := cgroupProblem(k, s.Cgroup[k]); p != "" {
			v.add(keyPath("cgroup", k), p)
		}
	}
	return v.err()
}

// validator collects the problems of one service.
type validator struct {
	base string
	errs []error
}

func (v *validator) at(field string) string {
	if field == "" {
		return v.base
	}
	return v.base + "." + field
}

func (v *validator) add(field, msg string) {
	v.errs = append(v.errs, &Error{Path: v.at(field), Msg: msg})
}

// err returns the problems sorted by path, so that the report does not
// depend on the order maps were walked in.
func (v *validator) err() error {
	slices.SortStableFunc(v.errs, func(a, b error) int {
		return strings.Compare(a.(*Error).Path, b.(*Error).Path)
	})
	return errors.Join(v.errs...)
}

func (v *validator) noNUL(field, s string) {
	if strings.IndexByte(s, 0) >= 0 {
		v.add(field, "contains a NUL byte, which no shell variable or argument can hold")
	}
}

// evalPath checks a path that OpenRC expands unquoted into an eval.
func (v *validator) evalPath(field, p string) {
	switch {
	case !path.IsAbs(p):
		v.add(field, fmt.Sprintf("%q is not an absolute path", p))
	case !isPlain(p):
		v.add(field, fmt.Sprintf("%q: OpenRC expands this path unquoted and through eval, so only letters, digits and _ @ %% + = : , . / - are safe in it", p))
	}
}

func (v *validator) account(field, name string) {
	if name != "" && !accountName.MatchString(name) {
		v.add(field, fmt.Sprintf("%q is not a user or group name: use letters, digits and _ . -, not starting with a digit, . or -", name))
	}
}

func (v *validator) deps(field string, deps []string, wild bool) {
	for i, d := range deps {
		if validDep(d, wild) {
			continue
		}
		msg := fmt.Sprintf("%q is not a service name: use %s", d, nameRule)
		if wild {
			msg += `, or "*" for every service`
		}
		v.add(indexPath(field, i), msg)
	}
}
