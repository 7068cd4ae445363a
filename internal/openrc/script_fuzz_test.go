package openrc

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// FuzzInitScript renders services with arbitrary descriptions, programs,
// arguments, environment and cgroup values that pass validation, sources
// them with /bin/sh as OpenRC does, and reads back what OpenRC would use:
// every value must come back exactly, and sourcing must print nothing on
// standard error.
func FuzzInitScript(f *testing.F) {
	for _, c := range renderCases {
		var a1, a2, env, mem string
		if len(c.def.Args) > 0 {
			a1 = c.def.Args[0]
		}
		if len(c.def.Args) > 1 {
			a2 = c.def.Args[1]
		}
		for _, v := range c.def.Environment {
			env = v
		}
		mem = c.def.Cgroup["memory.max"]
		f.Add(c.def.Description, c.def.Command, a1, a2, env, mem)
	}
	for _, s := range hostile {
		f.Add(s, "/usr/bin/"+s, s, "$("+s+")", s, "max")
	}
	sh := shell{"sh", []string{"/bin/sh"}}
	// The scripts run where globbing would find files (see globDir).
	dir := f.TempDir()
	for _, name := range []string{"a", "b.txt", "c.txt", "'a", `"a`, "x"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, description, command, arg1, arg2, env, memory string) {
		def := manifest.Service{Description: description, Command: command}
		for _, a := range []string{arg1, arg2} {
			if a != "" {
				def.Args = append(def.Args, a)
			}
		}
		if env != "" {
			def.Environment = map[string]string{"APP_SETTING": env}
		}
		if memory != "" {
			def.Cgroup = map[string]string{"memory.max": memory}
		}
		if Validate("svc", def) != nil {
			return
		}
		c := renderCase{service: "svc", def: def}
		initd, confd := writeService(t, t.TempDir(), c)
		vars := splitNUL(sh.run(t, dir, `. "$1"; . "$2"; printf '%s\0' "$description" "$rc_cgroup_settings" "$command"`, confd, initd))
		if want := []string{def.Description, cgroupSettings(def), def.Command}; !slices.Equal(vars, want) {
			t.Fatalf("variables %q, want %q", vars, want)
		}
		if len(def.Args) > 0 {
			if args := splitNUL(sh.run(t, dir, `. "$1"; eval 'printf "%s\\0"' $command_args`, initd)); !slices.Equal(args, def.Args) {
				t.Fatalf("arguments after eval %q, want %q", args, def.Args)
			}
		}
		if len(def.Environment) > 0 {
			got := splitNUL(sh.run(t, dir, `. "$1"; eval 'printf "%s\\0"' ${supervise_daemon_args-$start_stop_daemon_args}`, initd))
			if want := envOptions(def.Environment); !slices.Equal(got, want) {
				t.Fatalf("supervisor options after eval %q, want %q", got, want)
			}
		}
	})
}
