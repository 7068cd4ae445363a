package openrc

import (
	"regexp"
	"strings"
)

var (
	// serviceName is what cairn accepts as the name of an init script
	// or a runlevel: a file name that needs no quoting anywhere in sh
	// and that OpenRC lists and splits without surprise.
	serviceName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@+-]*$`)
	// accountName is a user or group name as command_user takes it.
	accountName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_.-]*$`)
	// envName is a variable name of the shell.
	envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// cgroupKey is a cgroup v2 interface file: controller.setting
	// (memory.max, cpu.weight, memory.swap.max).
	cgroupKey = regexp.MustCompile(`^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$`)
)

const maxNameLen = 255 // a file name

const nameRule = "letters, digits and . _ @ + -, starting with a letter or digit"

// ValidName reports whether name can be a service or runlevel name: a
// single file name of letters, digits and . _ @ + -, starting with a
// letter or digit. It never contains a slash or "..", so it is safe as a
// path component.
func ValidName(name string) bool {
	return len(name) <= maxNameLen && serviceName.MatchString(name) && !strings.Contains(name, "..")
}

// validDep reports whether dep can follow need, use, after, before or
// provide in depend(): a service name, or "*" (every service) where
// wild is true.
func validDep(dep string, wild bool) bool {
	return ValidName(dep) || (wild && dep == "*")
}

// envNameProblem says why name cannot be a variable of the program's
// environment, or returns "".
func envNameProblem(name string) string {
	switch {
	case !envName.MatchString(name):
		return "not a variable name: use letters, digits and _, not starting with a digit"
	case strings.HasPrefix(name, "RC_"), strings.HasPrefix(name, "SSD_"), strings.HasPrefix(name, "EINFO_"), name == "SVCNAME":
		return "supervise-daemon and start-stop-daemon remove RC_*, SSD_*, EINFO_* and SVCNAME from the environment before the program starts"
	}
	return ""
}

// cgroupActions are cgroup interface files that act rather than limit;
// OpenRC manages them itself.
var cgroupActions = map[string]bool{
	"cgroup.procs": true, "cgroup.threads": true, "cgroup.kill": true,
	"cgroup.freeze": true, "cgroup.subtree_control": true, "cgroup.type": true,
}

// cgroupProblem says why key and value cannot be a line of
// rc_cgroup_settings, or returns "".
func cgroupProblem(key, value string) string {
	switch {
	case !cgroupKey.MatchString(key):
		return "not a cgroup v2 interface file: use controller.setting such as memory.max, cpu.max, pids.max"
	case cgroupActions[key]:
		return "OpenRC manages this file itself; give limits such as memory.max, cpu.max, pids.max"
	case value == "":
		return "the value is empty; OpenRC skips empty values (write max for no limit)"
	case strings.ContainsAny(value, "\n\r\\\x00"):
		return "the value must be one line without backslashes: OpenRC reads rc_cgroup_settings line by line"
	case strings.TrimSpace(value) != value:
		return "the value starts or ends with white space, which OpenRC strips"
	}
	return ""
}
