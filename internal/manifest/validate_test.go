package manifest

import (
	"errors"
	"strings"
	"testing"
)

func intp(i int) *int { return &i }

// goodSystem is a valid manifest built in Go, as other packages' tests
// build them.
func goodSystem() *System {
	return &System{
		APIVersion: APIVersion,
		Kind:       KindSystem,
		Alpine: Alpine{
			Repositories: []Repository{{URL: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main"}, {URL: "repo/edge", Tag: "edge"}},
			Keys:         []string{"keys"},
		},
		Packages:  []string{"alpine-base", "openssh", "foo@edge"},
		Artifacts: []Artifact{{Name: "nomad", Version: "1.7.7", URL: "https://example.org/nomad.zip", SHA256: strings.Repeat("ab", 32), Extract: "nomad", Path: "/usr/bin/nomad"}},
		Services: Services{
			Runlevels: map[string][]string{"default": {"sshd", "nomad"}},
			Define:    map[string]Service{"nomad": {Command: "/usr/bin/nomad", Cgroup: map[string]string{"memory.max": "1G"}}},
		},
		Users:    []User{{Name: "admin", UID: intp(1000), Groups: []string{"wheel"}}},
		Groups:   []Group{{Name: "media", GID: intp(2000)}},
		Hostname: "node-1",
		Persist:  []string{"/home"},
		Health:   []HealthCheck{{Service: "sshd"}, {Name: "nomad", Command: "nomad status", Timeout: "2m"}},
	}
}

func TestValidateGood(t *testing.T) {
	s := goodSystem()
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	s.ApplyDefaults()
	if err := s.Validate(); err != nil {
		t.Fatalf("after ApplyDefaults: %v", err)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(s *System)
		want   string // path: start of the message
	}{
		{"api version", func(s *System) { s.APIVersion = "v1" }, `apiVersion: "v1" is not supported`},
		{"no kind", func(s *System) { s.Kind = "" }, "kind: missing: add kind: System"},
		{"no repositories", func(s *System) { s.Alpine.Repositories, s.Packages = nil, nil }, "alpine.repositories: missing"},
		{"version without v", func(s *System) { s.Alpine.Version = "3.19" }, `alpine.version: "3.19" is not an Alpine branch: write v3.19`},
		{"relative file url", func(s *System) { s.Alpine.Repositories[0].URL = "file:repo" }, `alpine.repositories[0].url: "file:repo" is not a file URL`},
		{"http without host", func(s *System) { s.Alpine.Repositories[0].URL = "https:///x" }, `alpine.repositories[0].url: "https:///x" has no host`},
		{"unknown tag", func(s *System) { s.Packages = []string{"x@testing"} }, `packages[0]: "x@testing" asks for the tag testing`},
		{"empty package", func(s *System) { s.Packages = []string{""} }, "packages[0]: empty"},
		{"bad dependency", func(s *System) { s.Packages = []string{"a>=x y"} }, `packages[0]: "a>=x y" is not an apk dependency`},
		{"conflicting entries", func(s *System) { s.Packages = []string{"a", "!a"} }, `packages[1]: "!a" contradicts "a": apk keeps one entry per name, write one (first at packages[0])`},
		{"identical entries", func(s *System) { s.Packages = []string{"a", "a"} }, ""},
		{"artifact sha", func(s *System) { s.Artifacts[0].SHA256 = "xyz" }, `artifacts[0].sha256: "xyz" is not a SHA-256`},
		{"artifact relative path url", func(s *System) { s.Artifacts[0].URL = "dl/nomad.zip" }, ""},
		{"artifact extract from plain file", func(s *System) { s.Artifacts[0].URL = "https://example.org/nomad" }, "artifacts[0].extract: extract takes a member of an archive"},
		{"artifact extract escapes", func(s *System) { s.Artifacts[0].Extract = "../x" }, `artifacts[0].extract: "../x" points outside the archive`},
		{"artifact depends", func(s *System) { s.Artifacts[0].Depends = []string{"gcompat", "bad dep"} }, `artifacts[0].depends[1]: "bad dep" is not an apk dependency`},
		{"artifact twice", func(s *System) { a := s.Artifacts[0]; a.Path = "/usr/sbin/nomad"; s.Artifacts = append(s.Artifacts, a) }, `artifacts[1].name: artifact "nomad" is declared twice: keep one (first at artifacts[0].name)`},
		{"supervisor", func(s *System) {
			svc := s.Services.Define["nomad"]
			svc.Supervisor = "systemd"
			s.Services.Define["nomad"] = svc
		},
			`services.define.nomad.supervisor: "systemd" is not a supervisor (use supervise-daemon or start-stop-daemon)`},
		{"service name", func(s *System) { s.Services.Define["no/pe"] = Service{Command: "/bin/x"} }, `services.define["no/pe"]: "no/pe" is not a service name`},
		{"runlevel service name", func(s *System) { s.Services.Runlevels["default"] = []string{"a b"} }, `services.default[0]: "a b" is not a service name`},
		{"custom runlevel", func(s *System) {
			s.Services.Runlevels["maintenance"] = []string{"sshd"}
			s.Services.Declared = []string{"maintenance"}
		}, ""},
		{"undeclared runlevel", func(s *System) { s.Services.Runlevels["defualt"] = []string{"sshd"} },
			`services.defualt: "defualt" is not a runlevel; did you mean default?`},
		{"declared OpenRC runlevel", func(s *System) { s.Services.Declared = []string{"boot"} },
			`services.runlevels[0]: boot is one of OpenRC's runlevels, which need no declaration`},
		{"after all", func(s *System) {
			svc := s.Services.Define["nomad"]
			svc.After = []string{"*"}
			s.Services.Define["nomad"] = svc
		}, ""},
		{"cgroup key", func(s *System) { s.Services.Define["nomad"].Cgroup["memory"] = "1G" }, `services.define.nomad.cgroup.memory: "memory" is not a cgroup v2 setting`},
		{"cpu.max", func(s *System) { s.Services.Define["nomad"].Cgroup["cpu.max"] = "50%" }, `services.define.nomad.cgroup["cpu.max"]: "50%" is not a value for cpu.max`},
		{"unknown cgroup setting passes", func(s *System) { s.Services.Define["nomad"].Cgroup["io.max"] = "8:0 rbps=1048576" }, ""},
		{"uid range", func(s *System) { s.Users[0].UID = intp(-5) }, "users[0].uid: -5 is out of range"},
		{"root uid", func(s *System) { s.Users = append(s.Users, User{Name: "root", UID: intp(1)}) }, "users[1].uid: root's uid is 0"},
		{"root declared", func(s *System) {
			s.Users = append(s.Users, User{Name: "root", UID: intp(0), PasswordHash: "$6$abc$def"})
		}, ""},
		{"locked hash", func(s *System) { s.Users[0].PasswordHash = "!$6$abc$def" }, ""},
		{"plain password", func(s *System) { s.Users[0].PasswordHash = "secret" }, "users[0].passwordHash: not a crypt(3) hash"},
		{"ssh key with options", func(s *System) {
			s.Users[0].SSHAuthorizedKeys = []string{`no-pty,command="/bin/backup" ssh-ed25519 AAAAC3Nza x`}
		}, ""},
		{"ssh key without key", func(s *System) { s.Users[0].SSHAuthorizedKeys = []string{"ssh-ed25519"} }, "users[0].sshAuthorizedKeys[0]: not an SSH public key line"},
		{"group name", func(s *System) { s.Users[0].Groups = []string{"Wheel"} }, `users[0].groups[0]: "Wheel" is not a group name`},
		{"gid twice", func(s *System) { s.Groups = append(s.Groups, Group{Name: "other", GID: intp(2000)}) }, `groups[1].gid: gid "2000" is declared twice`},
		{"hostname label too long", func(s *System) { s.Hostname = strings.Repeat("a", 64) }, "hostname: "},
		{"hostname leading hyphen", func(s *System) { s.Hostname = "-a" }, `hostname: "-a" is not a host name`},
		{"health check without what", func(s *System) { s.Health = []HealthCheck{{Name: "x"}} }, "health[0]: give service"},
		{"health check with both", func(s *System) { s.Health = []HealthCheck{{Service: "sshd", Command: "true"}} }, "health[0]: give either"},
		{"health timeout too long", func(s *System) { s.Health = []HealthCheck{{Service: "sshd", Timeout: "3h"}} }, `health[0].timeout: "3h" is not a timeout`},
		{"health timeout not a duration", func(s *System) { s.Health = []HealthCheck{{Command: "true", Timeout: "10"}} }, `health[0].timeout: "10" is not a timeout`},
		{"timezone", func(s *System) { s.Timezone = "CET" }, `timezone: "CET" is not a time zone`},
		{"timezone deep", func(s *System) { s.Timezone = "America/Indiana/Indianapolis" }, ""},
		{"ifaces and interfaces", func(s *System) {
			s.Network = Network{Interfaces: "auto lo\n", Ifaces: []Interface{{Name: "eth0", DHCP: true}}}
		}, "network.ifaces: give either interfaces"},
		{"iwd", func(s *System) { s.Network.IWD = map[string]map[string]string{"General": {"a=b": "1"}} }, `network.iwd.General["a=b"]: "a=b" is not an iwd setting name`},
		{"swap without mount point", func(s *System) { s.Fstab = []Mount{{Device: "/dev/vdb", Type: "swap"}} }, ""},
		{"fstab type", func(s *System) { s.Fstab = []Mount{{Device: "/dev/vdb", Mountpoint: "/srv"}} }, "fstab[0].type: missing"},
		{"fstab twice", func(s *System) {
			s.Fstab = []Mount{{Device: "a", Mountpoint: "/srv", Type: "ext4"}, {Device: "b", Mountpoint: "/srv", Type: "ext4"}}
		}, `fstab[1].mountpoint: mount point "/srv" is declared twice`},
		{"persist /", func(s *System) { s.Persist = []string{"/"} }, "persist[0]: / cannot be persisted"},
		{"persist /etc/ssh", func(s *System) { s.Persist = []string{"/etc/ssh"} }, ""},
		{"persist /run", func(s *System) { s.Persist = []string{"/run/x"} }, "persist[0]: /run/x is on a kernel file system"},
		{"persist /tmp", func(s *System) { s.Persist = []string{"/tmp"} }, "persist[0]: /tmp cannot be persisted: /tmp is a tmpfs cairn-init mounts empty at every boot"},
		{"fstab below /tmp", func(s *System) { s.Fstab = []Mount{{Device: "tmpfs", Mountpoint: "/tmp/x", Type: "tmpfs"}} }, "fstab[0].mountpoint: /tmp is a tmpfs cairn-init mounts empty at every boot, so /tmp/x does not exist"},
		{"fstab /run", func(s *System) { s.Fstab = []Mount{{Device: "tmpfs", Mountpoint: "/run", Type: "tmpfs"}} }, "fstab[0].mountpoint: /run is a tmpfs cairn-init mounts"},
		{"fstab /tmp", func(s *System) { s.Fstab = []Mount{{Device: "tmpfs", Mountpoint: "/tmp", Type: "tmpfs"}} }, ""},
		{"fstab /dev/shm", func(s *System) { s.Fstab = []Mount{{Device: "shm", Mountpoint: "/dev/shm", Type: "tmpfs"}} }, ""},
		{"persist twice", func(s *System) { s.Persist = []string{"/home", "/home"} }, `persist[1]: persisted path "/home" is declared twice`},
		{"sysctl", func(s *System) { s.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "-kernel.x": "1"} }, ""},
		{"module", func(s *System) { s.Modules = []string{"a.ko"} }, `modules[0]: "a.ko" is not a module name`},
		{"cmdline", func(s *System) { s.Kernel.Cmdline = []string{"rootflags=subvol=@"} }, "kernel.cmdline[0]: rootflags=subvol=@: cairn sets root="},
		{"inline path", func(s *System) { s.Files.Inline = []InlineFile{{Path: "etc/motd"}} }, `files.inline[0].path: "etc/motd" is not an absolute path`},
		{"empty inline content", func(s *System) { s.Files.Inline = []InlineFile{{Path: "/etc/empty"}} }, ""},
		{"inline seed under /var", func(s *System) { s.Files.Inline = []InlineFile{{Path: "/var/lib/app/a", State: "seed"}} }, ""},
		{"inline managed under persist", func(s *System) { s.Files.Inline = []InlineFile{{Path: "/home/a", State: "managed"}} }, ""},
		{"inline state in /etc", func(s *System) { s.Files.Inline = []InlineFile{{Path: "/etc/a", State: "seed"}} }, "files.inline[0].state: /etc/a is not under /var or a persist path"},
		{"inline bad state", func(s *System) { s.Files.Inline = []InlineFile{{Path: "/var/a", State: "once"}} }, `files.inline[0].state: "once" is not a state: managed`},
		{"artifact state in /usr", func(s *System) { s.Artifacts[0].State = "seed" }, "artifacts[0].state: /usr/bin/nomad is not under /var or a persist path"},
		{"seeds without skeleton", func(s *System) { s.Files.Seeds = []string{"/var/lib/app"} }, "files.seeds[0]: files.seeds names skeleton files, and there is no files.skeleton"},
		{"snapshots", func(s *System) {
			s.Snapshots = []Snapshot{{Path: "/home", Every: "1h", PreserveMin: "6h", Preserve: "48h 7d 4w 12m"}}
		}, ""},
		{"snapshots of a path not persisted", func(s *System) { s.Snapshots = []Snapshot{{Path: "/srv"}} }, "snapshots[0].path: /srv is not persisted"},
		{"snapshots every", func(s *System) { s.Snapshots = []Snapshot{{Path: "/var", Every: "hourly"}} }, `snapshots[0].every: "hourly" is not a duration`},
		{"snapshots preserve", func(s *System) { s.Snapshots = []Snapshot{{Path: "/var", Preserve: "48h 7x"}} }, `snapshots[0].preserve: "7x" is not a retention rule`},
		{"setup both", func(s *System) { s.Setup = []Script{{Name: "a", Run: "x", File: "y"}} }, "setup[0].file: give run or file, not both"},
		{"description with a line break", func(s *System) { s.Description = "a\nb" }, "description: must be one line, but it contains a line break"},
		{"hostname with an escape", func(s *System) { s.Hostname = "node\x1b[2J" }, "hostname: contains the control character U+001B: remove it"},
		{"name with a bidi override", func(s *System) { s.Name = "web\u202Eexe.txt" }, "name: contains the bidirectional control U+202E"},
		{"sysctl key with a line break", func(s *System) { s.Sysctl = map[string]string{"a\nb": "1"} }, `sysctl["a\nb"]: the key must be one line`},
		{"environment value with a tab", func(s *System) {
			svc := s.Services.Define["nomad"]
			svc.Environment = map[string]string{"A": "x\ty"}
			s.Services.Define["nomad"] = svc
		}, "services.define.nomad.environment.A: contains the control character U+0009"},
		{"script of several lines", func(s *System) { s.Setup = []Script{{Name: "a", Run: "set -x\n\tdate\n"}} }, ""},
		{"script with an escape", func(s *System) { s.Setup = []Script{{Name: "a", Run: "echo \x1b"}} }, "setup[0].run: contains the control character U+001B"},
		{"file content with escapes", func(s *System) {
			s.Files.Inline = []InlineFile{{Path: "/etc/issue", Content: "\x1b[1mhello\x1b[0m\r\n"}}
		}, ""},
		{"gecos with a line break", func(s *System) { s.Users[0].Gecos = "A\nB" }, "users[0].gecos: must be one line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSystem()
			tc.change(s)
			err := s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected problems:\n%v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no problem found, want %q", tc.want)
			}
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("error is %T", err)
			}
			if len(errs) != 1 {
				t.Errorf("want one problem, got %d:\n%v", len(errs), err)
			}
			if !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Errorf("got\n  %v\nwant it to start with\n  %s", errs[0], tc.want)
			}
			if errs[0].File != "" || errs[0].Line != 0 {
				t.Errorf("a System built in Go has no positions: %#v", errs[0])
			}
		})
	}
}

// TestValidateCollectsAll checks that Validate reports every problem, not
// the first.
func TestValidateCollectsAll(t *testing.T) {
	s := goodSystem()
	s.Hostname = "a_b"
	s.Timezone = "x"
	s.Persist = []string{"rel"}
	s.Users[0].Shell = "sh"
	err := s.Validate()
	if n := len(err.(Errors)); n != 4 {
		t.Fatalf("got %d problems, want 4:\n%v", n, err)
	}
	var one *Error
	if !errors.As(err, &one) || one.Path == "" {
		t.Errorf("errors.As does not find an *Error in %v", err)
	}
}
