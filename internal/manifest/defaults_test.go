package manifest

import (
	"reflect"
	"testing"
)

func TestApplyDefaults(t *testing.T) {
	s := &System{
		Services: Services{Define: map[string]Service{
			"a": {Command: "/bin/a"},
			"b": {Command: "/bin/b", Supervisor: "start-stop-daemon"},
		}},
		Users: []User{
			{Name: "admin"},
			{Name: "nomad", System: true},
			{Name: "root"},
			{Name: "bob", Home: "/srv/bob", Shell: "/bin/ash", Group: "users"},
		},
		Artifacts: []Artifact{{Name: "x"}, {Name: "y", Mode: "0700", Owner: "a:b"}},
		Files:     Files{Inline: []InlineFile{{Path: "/etc/a"}}},
		Setup:     []Script{{Name: "s"}},
		Fstab:     []Mount{{Device: "a"}, {Device: "b", Options: []string{"ro"}}},
		Network:   Network{Ifaces: []Interface{{Name: "eth0"}}},
	}
	s.ApplyDefaults()
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"arch", s.Alpine.Arch, HostArch()},
		{"timezone", s.Timezone, "UTC"},
		{"supervisor", s.Services.Define["a"].Supervisor, "supervise-daemon"},
		{"supervisor kept", s.Services.Define["b"].Supervisor, "start-stop-daemon"},
		{"user", s.Users[0], User{Name: "admin", Home: "/home/admin", Shell: "/bin/sh", Group: "admin"}},
		{"system user", s.Users[1], User{Name: "nomad", System: true, Home: "/var/empty", Shell: "/sbin/nologin", Group: "nomad"}},
		{"root", s.Users[2], User{Name: "root", Home: "/root", Shell: "/bin/sh", Group: "root"}},
		{"user kept", s.Users[3], User{Name: "bob", Home: "/srv/bob", Shell: "/bin/ash", Group: "users"}},
		{"artifact", s.Artifacts[0].Mode + " " + s.Artifacts[0].Owner, "0755 root:root"},
		{"artifact kept", s.Artifacts[1].Mode + " " + s.Artifacts[1].Owner, "0700 a:b"},
		{"inline", s.Files.Inline[0].Mode + " " + s.Files.Inline[0].Owner, "0644 root:root"},
		{"shell", s.Setup[0].Shell, "/bin/sh"},
		{"mount options", s.Fstab[0].Options, []string{"defaults"}},
		{"mount options kept", s.Fstab[1].Options, []string{"ro"}},
		{"auto", *s.Network.Ifaces[0].Auto, true},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
	again := s.clone()
	again.ApplyDefaults()
	if !reflect.DeepEqual(s, again) {
		t.Error("ApplyDefaults is not idempotent")
	}
}

func TestApkArch(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "x86", "arm": "armv7", "riscv64": "riscv64", "ppc64le": "ppc64le", "s390x": "s390x", "loong64": "loongarch64"} {
		if got := apkArch(goarch); got != want {
			t.Errorf("apkArch(%s) = %s, want %s", goarch, got, want)
		}
	}
}

// TestDefaultsKeepValid checks that every valid test manifest stays valid
// once completed.
func TestDefaultsKeepValid(t *testing.T) {
	for _, file := range caseFiles(t) {
		if !wantValid(file) {
			continue
		}
		s, err := Load(file)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		s.ApplyDefaults()
		if err := s.Validate(); err != nil {
			t.Errorf("%s after ApplyDefaults:\n%v", file, err)
		}
	}
}
