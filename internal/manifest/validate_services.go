package manifest

import (
	"fmt"
	"slices"
	"strings"
)

func (v *validator) serviceName(p, name, what string) bool {
	if !serviceName.MatchString(name) {
		v.add(p, "%s is not a %s: use letters, digits and . _ - (like sshd or net.eth0)", quoted(name), what)
		return false
	}
	return true
}

// OpenRCRunlevels are the runlevels OpenRC itself knows and Alpine's
// openrc package ships.
var OpenRCRunlevels = []string{"sysinit", "boot", "default", "nonetwork", "shutdown"}

// AllRunlevels returns the runlevels a manifest may list services in:
// OpenRC's and those it declares.
func (s *Services) AllRunlevels() []string {
	return append(slices.Clone(OpenRCRunlevels), s.Declared...)
}

func (v *validator) services(s *Services) {
	declared := unique{}
	for i, level := range s.Declared {
		p := indexPath("services.runlevels", i)
		switch {
		case slices.Contains(OpenRCRunlevels, level):
			v.add(p, "%s is one of OpenRC's runlevels, which need no declaration: remove it here", level)
		case level == "define" || level == "runlevels":
			v.add(p, "%s is a key of services, not a runlevel name: choose another name", quoted(level))
		case !serviceName.MatchString(level):
			v.add(p, "%s is not a runlevel name: use letters, digits and . _ - (like maintenance)", quoted(level))
		default:
			declared.seen(v, p, level, "runlevel")
		}
	}
	known := s.AllRunlevels()
	for _, level := range sortedKeys(s.Runlevels) {
		p := keyPath("services", level)
		if !slices.Contains(known, level) {
			msg := fmt.Sprintf("%s is not a runlevel", quoted(level))
			if d := suggest(level, known); d != "" {
				msg += "; did you mean " + d + "?"
			}
			v.add(p, "%s (OpenRC's runlevels: %s; declare a runlevel of your own in services.runlevels)", msg, strings.Join(OpenRCRunlevels, ", "))
			continue
		}
		seen := unique{}
		for i, name := range s.Runlevels[level] {
			ip := indexPath(p, i)
			if name == "" {
				v.add(ip, "empty: name a service, like sshd")
				continue
			}
			if v.serviceName(ip, name, "service name") {
				seen.seen(v, ip, name, "service")
			}
		}
	}
	for _, name := range sortedKeys(s.Define) {
		p := keyPath("services.define", name)
		if !v.serviceName(p, name, "service name") {
			continue
		}
		v.service(p, name, s.Define[name])
	}
}

func (v *validator) service(p, name string, s Service) {
	v.absPath(keyPath(p, "command"), s.Command, "/usr/bin/"+name)
	if s.User != "" && !validAccountName(s.User) {
		v.add(keyPath(p, "user"), "%s is not a user name: use lower-case letters, digits, _ and -", quoted(s.User))
	}
	if s.Group != "" && !validAccountName(s.Group) {
		v.add(keyPath(p, "group"), "%s is not a group name: use lower-case letters, digits, _ and -", quoted(s.Group))
	}
	v.optAbsPath(keyPath(p, "directory"), s.Directory, "/var/lib/"+name)
	for _, k := range sortedKeys(s.Environment) {
		ep := keyPath(keyPath(p, "environment"), k)
		if !envName.MatchString(k) {
			v.add(ep, "%s is not an environment variable name: use letters, digits and _, not starting with a digit", quoted(k))
		}
	}
	for _, dep := range []struct {
		key   string
		names []string
	}{{"need", s.Need}, {"use", s.Use}, {"after", s.After}, {"before", s.Before}, {"provide", s.Provide}} {
		for i, n := range dep.names {
			dp := indexPath(keyPath(p, dep.key), i)
			if n == "*" && (dep.key == "after" || dep.key == "before") {
				continue // OpenRC's "all other services"
			}
			if n == name {
				v.add(dp, "a service cannot %s itself", dep.key)
				continue
			}
			v.serviceName(dp, n, "service name")
		}
	}
	if s.Supervisor != "" && !slices.Contains(supervisors, s.Supervisor) {
		v.add(keyPath(p, "supervisor"), "%s is not a supervisor (use %s)", quoted(s.Supervisor), oneOf(supervisors))
	}
	if s.Respawn != (Respawn{}) && s.Supervisor == "start-stop-daemon" {
		v.add(keyPath(p, "respawn"), "respawn needs supervisor: supervise-daemon (start-stop-daemon does not restart programs)")
	}
	rp := keyPath(p, "respawn")
	for _, f := range []struct {
		key string
		n   int
	}{{"delay", s.Respawn.Delay}, {"max", s.Respawn.Max}, {"period", s.Respawn.Period}} {
		if f.n < 0 {
			v.add(keyPath(rp, f.key), "%d is negative: give a number of %s", f.n, map[string]string{"delay": "seconds", "max": "restarts", "period": "seconds"}[f.key])
		}
	}
	if s.Respawn.Max > 0 && s.Respawn.Period == 0 {
		v.add(keyPath(rp, "period"), "missing: max counts restarts within period, give the period in seconds")
	}
	v.optAbsPath(keyPath(p, "outputLog"), s.OutputLog, "/var/log/"+name+".log")
	v.optAbsPath(keyPath(p, "errorLog"), s.ErrorLog, "/var/log/"+name+".log")
	for _, k := range sortedKeys(s.Cgroup) {
		v.cgroup(keyPath(keyPath(p, "cgroup"), k), k, s.Cgroup[k])
	}
}

// cgroup checks one cgroup v2 setting: a controller file name and a value
// of the form the kernel takes for the settings cairn knows.
func (v *validator) cgroup(p, key, value string) {
	if !cgroupKey.MatchString(key) {
		v.add(p, "%s is not a cgroup v2 setting: name a controller file like memory.max, cpu.max or pids.max", quoted(key))
		return
	}
	if value == "" || strings.ContainsAny(value, "\n\x00;") {
		v.add(p, "give one value on one line, like %s", cgroupExample(key))
		return
	}
	var ok bool
	switch key {
	case "memory.max", "memory.high", "memory.low", "memory.min", "memory.swap.max", "memory.swap.high":
		ok = memorySize.MatchString(value)
	case "pids.max":
		ok = numberOrMax.MatchString(value)
	case "cpu.max":
		ok = cpuMax.MatchString(value)
	case "cpu.weight", "io.weight":
		ok = numberOrMax.MatchString(value) && value != "max"
	default:
		return
	}
	if !ok {
		v.add(p, "%s is not a value for %s: write %s", quoted(value), key, cgroupExample(key))
	}
}

func cgroupExample(key string) string {
	switch {
	case strings.HasPrefix(key, "memory."):
		return "512M, 2G or max"
	case key == "cpu.max":
		return "\"max\" or \"QUOTA PERIOD\" in microseconds, like \"200000 100000\" for two CPUs"
	case key == "pids.max":
		return "a number or max"
	case strings.HasSuffix(key, ".weight"):
		return "a number from 1 to 10000"
	}
	return "the value the kernel takes in that file"
}
