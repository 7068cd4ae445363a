package manifest

import "runtime"

// Default values ApplyDefaults fills in.
const (
	DefaultSupervisor = "supervise-daemon"
	DefaultTimezone   = "UTC"
	DefaultShell      = "/bin/sh"
	NoLoginShell      = "/sbin/nologin"
	DefaultFileMode   = "0644"
	DefaultExecMode   = "0755"
	DefaultOwner      = "root:root"
	// DefaultContainerRunlevel is where a container starts.
	DefaultContainerRunlevel = "default"
)

// ApplyDefaults fills in what the manifest left to cairn, as documented on
// each key: the build machine's architecture, UTC, supervise-daemon, user
// homes, shells and primary groups, file modes and owners, mount options,
// interfaces brought up at boot. It is separate from Validate, changes
// nothing that was set, and applying it twice changes nothing more. Ids
// are not defaulted: the next free uid depends on the accounts the
// packages create.
func (s *System) ApplyDefaults() {
	if s.Alpine.Arch == "" {
		s.Alpine.Arch = HostArch()
	}
	if s.Timezone == "" {
		s.Timezone = DefaultTimezone
	}
	// Snapshots are taken by busybox crond (/etc/periodic/15min).
	if len(s.Snapshots) > 0 && !s.Services.has("crond") {
		if s.Services.Runlevels == nil {
			s.Services.Runlevels = map[string][]string{}
		}
		s.Services.Runlevels["default"] = append(s.Services.Runlevels["default"], "crond")
	}
	for name, svc := range s.Services.Define {
		if svc.Supervisor == "" {
			svc.Supervisor = DefaultSupervisor
		}
		s.Services.Define[name] = svc
	}
	for name, c := range s.Containers {
		c.Runlevel = or(c.Runlevel, DefaultContainerRunlevel)
		s.Containers[name] = c
	}
	for i := range s.Users {
		s.Users[i].applyDefaults()
	}
	for i := range s.Artifacts {
		a := &s.Artifacts[i]
		a.Mode = or(a.Mode, DefaultExecMode)
		a.Owner = or(a.Owner, DefaultOwner)
	}
	for i := range s.Files.Inline {
		f := &s.Files.Inline[i]
		if _, ok := initScriptName(f.Path); ok {
			f.Mode = or(f.Mode, DefaultExecMode) // an init script
		}
		f.Mode = or(f.Mode, DefaultFileMode)
		f.Owner = or(f.Owner, DefaultOwner)
	}
	for i := range s.Setup {
		s.Setup[i].Shell = or(s.Setup[i].Shell, DefaultShell)
	}
	for i := range s.Fstab {
		if len(s.Fstab[i].Options) == 0 {
			s.Fstab[i].Options = []string{"defaults"}
		}
	}
	for i := range s.Network.Ifaces {
		if s.Network.Ifaces[i].Auto == nil {
			auto := true
			s.Network.Ifaces[i].Auto = &auto
		}
	}
	s.applySecretDefaults()
}

func (u *User) applyDefaults() {
	switch {
	case u.Name == "root":
		u.Home = or(u.Home, "/root")
		u.Shell = or(u.Shell, DefaultShell)
	case u.System:
		u.Home = or(u.Home, "/var/empty")
		u.Shell = or(u.Shell, NoLoginShell)
	default:
		u.Home = or(u.Home, "/home/"+u.Name)
		u.Shell = or(u.Shell, DefaultShell)
	}
	u.Group = or(u.Group, u.Name)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// HostArch is the Alpine name of the architecture cairn runs on.
func HostArch() string { return apkArch(runtime.GOARCH) }

func apkArch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "386":
		return "x86"
	case "arm64":
		return "aarch64"
	case "arm":
		return "armv7"
	case "loong64":
		return "loongarch64"
	}
	return goarch // ppc64le, s390x, riscv64 have the same names
}

// has reports whether service is in one of the runlevels.
func (s *Services) has(service string) bool {
	for _, svcs := range s.Runlevels {
		for _, v := range svcs {
			if v == service {
				return true
			}
		}
	}
	return false
}
