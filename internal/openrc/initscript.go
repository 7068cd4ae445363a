package openrc

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// InitScript renders /etc/init.d/NAME for service name: an openrc-run
// script that starts s.Command under supervise-daemon (restarting it by
// s.Respawn) or start-stop-daemon (in the background, with a pidfile in
// /run), with its environment passed to the supervisor and its
// dependencies in depend(). It returns Validate's errors for a service
// it cannot express. The same service always gives the same bytes.
func InitScript(name string, s manifest.Service) ([]byte, error) {
	return Script{Name: name, Service: s}.InitScript()
}

// Script is a service whose init script cairn writes from another part
// of the manifest than services.define (a container), with shell
// functions besides what the service's fields say.
type Script struct {
	Name    string
	Service manifest.Service
	// Source is the manifest key it is written from;
	// services.define.NAME when empty.
	Source string
	// Functions are shell functions of the script, such as OpenRC's
	// start_pre, start_post and stop_post, written last in this order.
	Functions []Function
}

// Function is a shell function of an init script; Body is its shell
// text, indented by the caller.
type Function struct {
	Name, Body string
}

func (sc Script) source() string {
	if sc.Source != "" {
		return sc.Source
	}
	return keyPath("services.define", sc.Name)
}

// InitScript renders the script's /etc/init.d file as InitScript does,
// with its functions last.
func (sc Script) InitScript() ([]byte, error) {
	name, s := sc.Name, sc.Service
	if err := Validate(name, s); err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("#!/sbin/openrc-run\n")
	writeHeader(&b, sc.source())
	b.WriteString("\n")
	assign(&b, "name", name)
	if s.Description != "" {
		assign(&b, "description", s.Description)
	}
	writeCommand(&b, s)
	argsVar := writeSupervisor(&b, name, s)
	writeLogs(&b, s)
	writeEnvironment(&b, argsVar, s.Environment)
	writeDepend(&b, s)
	for _, f := range sc.Functions {
		b.WriteString("\n" + f.Name + "() {\n" + strings.TrimSuffix(f.Body, "\n") + "\n}\n")
	}
	return []byte(b.String()), nil
}

// writeCommand writes what to run, as whom and where.
func writeCommand(b *strings.Builder, s manifest.Service) {
	b.WriteString("\n")
	assign(b, "command", s.Command)
	if len(s.Args) > 0 {
		value, vars := evalWords(s.Args, argVar)
		writeVars(b, "Arguments that OpenRC's eval of command_args would change, verbatim:", vars)
		assign(b, "command_args", value)
	}
	if s.User != "" {
		user := s.User
		if s.Group != "" {
			user += ":" + s.Group
		}
		assign(b, "command_user", user)
	}
	if s.Directory != "" {
		assign(b, "directory", s.Directory)
	}
}

// writeSupervisor writes how the program is supervised and returns the
// variable OpenRC adds to that supervisor's command line.
func writeSupervisor(b *strings.Builder, name string, s manifest.Service) (argsVar string) {
	b.WriteString("\n")
	if supervisor(s) == StartStopDaemon {
		// Naming start-stop-daemon in supervisor makes OpenRC warn
		// about an invalid supervisor; unset, it is the one used.
		b.WriteString("# start-stop-daemon (supervisor unset): the program runs in the background\n")
		b.WriteString("# and must not fork itself away; its pid is kept in pidfile.\n")
		assign(b, "command_background", "true")
		assign(b, "pidfile", "/run/"+name+".pid")
		return "start_stop_daemon_args"
	}
	assign(b, "supervisor", SuperviseDaemon)
	if s.Respawn.Delay > 0 {
		assign(b, "respawn_delay", strconv.Itoa(s.Respawn.Delay))
	}
	// Always written: 0 means no limit, as in the manifest, where
	// supervise-daemon's own default would be 10.
	assign(b, "respawn_max", strconv.Itoa(s.Respawn.Max))
	if s.Respawn.Period > 0 {
		assign(b, "respawn_period", strconv.Itoa(s.Respawn.Period))
	}
	return "supervise_daemon_args"
}

// writeLogs writes where standard output and error go. With
// start-stop-daemon OpenRC honours them only with command_background,
// which writeSupervisor sets.
func writeLogs(b *strings.Builder, s manifest.Service) {
	if s.OutputLog == "" && s.ErrorLog == "" {
		return
	}
	b.WriteString("\n")
	if s.OutputLog != "" {
		assign(b, "output_log", s.OutputLog)
	}
	if s.ErrorLog != "" {
		assign(b, "error_log", s.ErrorLog)
	}
}

// writeHeader says where a file comes from (the manifest key source) and
// where to change it.
func writeHeader(b *strings.Builder, source string) {
	fmt.Fprintf(b, "# Written by cairn from %s in the system manifest.\n", source)
	b.WriteString("# The next build replaces this file: change the manifest instead.\n")
}

// assign writes the shell assignment name=value.
func assign(b *strings.Builder, name, value string) {
	b.WriteString(name + "=" + Quote(value) + "\n")
}

// writeDepend writes depend() when s has dependencies.
func writeDepend(b *strings.Builder, s manifest.Service) {
	verbs := []struct {
		verb string
		deps []string
	}{
		{"need", s.Need}, {"use", s.Use}, {"after", s.After}, {"before", s.Before}, {"provide", s.Provide},
	}
	var lines []string
	for _, v := range verbs {
		if len(v.deps) == 0 {
			continue
		}
		words := make([]string, len(v.deps))
		for i, d := range v.deps {
			words[i] = Quote(d)
		}
		lines = append(lines, "\t"+v.verb+" "+strings.Join(words, " ")+"\n")
	}
	if len(lines) == 0 {
		return
	}
	b.WriteString("\ndepend() {\n")
	for _, l := range lines {
		b.WriteString(l)
	}
	b.WriteString("}\n")
}

// writeEnvironment gives the program its environment as --env options
// of the supervisor, in the variable argsVar that OpenRC adds to the
// supervisor's command line. The variables then exist only for the
// program: exported in the init script instead, they would also change
// the shell OpenRC starts the service from (PATH, IFS, LD_PRELOAD, or
// any of OpenRC's own variables such as command or pidfile).
func writeEnvironment(b *strings.Builder, argsVar string, env map[string]string) {
	if len(env) == 0 {
		return
	}
	keys := slices.Sorted(maps.Keys(env))
	words := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		words = append(words, "--env", k+"="+env[k])
	}
	value, vars := evalWords(words, func(i int) string { return "_cairn_env_" + keys[i/2] })
	b.WriteString("\n# The program's environment, passed to the supervisor.\n")
	writeVars(b, "Settings that OpenRC's eval would change, verbatim:", vars)
	assign(b, argsVar, value)
}

// writeVars writes assignments under a comment, if there are any.
func writeVars(b *strings.Builder, comment string, vars []string) {
	if len(vars) == 0 {
		return
	}
	b.WriteString("# " + comment + "\n")
	for _, v := range vars {
		b.WriteString(v + "\n")
	}
}
