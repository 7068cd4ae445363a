package manifest

import (
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, name, text string, files map[string]string) *System {
	t.Helper()
	s, err := parse(name, []byte(text), memFiles(files))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return s
}

func TestSystemDigest(t *testing.T) {
	base := mustParse(t, "a.yaml", `
apiVersion: cairn/v1
kind: System
alpine:
  arch: x86_64
  repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]
packages: [alpine-base, openssh]
sysctl: {a.b: 1, c.d: 2}
users: [{name: admin}]
`, nil)
	d := base.Digest()
	if !strings.HasPrefix(d, "sha256:") || len(d) != len("sha256:")+64 {
		t.Fatalf("digest %q", d)
	}
	same := map[string]struct {
		text  string
		files map[string]string
	}{
		"reformatted, reordered, commented": {text: `
# a comment
kind: System
apiVersion: "cairn/v1"
users:
  - name: admin       # the admin
sysctl:
  c.d: "2"
  a.b: 1
packages:
  - alpine-base
  - openssh
alpine: {repositories: [{url: "https://dl-cdn.alpinelinux.org/alpine/v3.19/main"}], arch: x86_64}
`},
		"defaults spelled out": {text: `
apiVersion: cairn/v1
kind: System
timezone: UTC
alpine:
  arch: x86_64
  repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]
  allowUntrusted: false
packages: [alpine-base, openssh]
sysctl: {a.b: 1, c.d: 2}
users: [{name: admin, home: /home/admin, shell: /bin/sh, group: admin}]
services: {}
`},
		"split into an include": {text: `
apiVersion: cairn/v1
kind: System
include: [base.yaml]
packages: [openssh]
sysctl: {c.d: 2}
`, files: map[string]string{"base.yaml": `
apiVersion: cairn/v1
kind: System
alpine:
  arch: x86_64
  repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]
packages: [alpine-base]
sysctl: {a.b: 1}
users: [{name: admin}]
`}},
	}
	for name, c := range same {
		if got := mustParse(t, "b.yaml", c.text, c.files).Digest(); got != d {
			t.Errorf("%s: digest %s, want %s", name, got, d)
		}
	}
	for name, change := range map[string]func(s *System){
		"package added":  func(s *System) { s.Packages = append(s.Packages, "chrony") },
		"package order":  func(s *System) { s.Packages[0], s.Packages[1] = s.Packages[1], s.Packages[0] },
		"sysctl value":   func(s *System) { s.Sysctl["a.b"] = "0" },
		"arch":           func(s *System) { s.Alpine.Arch = "aarch64" },
		"uid 0 is a uid": func(s *System) { s.Users[0].UID = intp(0) },
		"empty env value": func(s *System) {
			s.Services.Define = map[string]Service{"x": {Environment: map[string]string{"A": ""}}}
		},
	} {
		c := base.clone()
		change(c)
		if c.Digest() == d {
			t.Errorf("%s: digest unchanged", name)
		}
	}
	if base.Digest() != d {
		t.Error("Digest changed the manifest")
	}
}

func TestClone(t *testing.T) {
	s := goodSystem()
	c := s.clone()
	if !reflect.DeepEqual(s, c) {
		t.Fatal("clone differs")
	}
	c.Users[0].Groups[0] = "x"
	*c.Users[0].UID = 7
	c.Services.Define["nomad"].Cgroup["memory.max"] = "2G"
	if s.Users[0].Groups[0] != "wheel" || *s.Users[0].UID != 1000 || s.Services.Define["nomad"].Cgroup["memory.max"] != "1G" {
		t.Error("clone shares memory with the original")
	}
}
