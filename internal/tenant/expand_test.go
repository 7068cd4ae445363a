package tenant

import (
	"bytes"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// load parses testdata/NAME/system.yaml with defaults applied.
func load(t *testing.T, name string) *manifest.System {
	t.Helper()
	sys, err := manifest.Load(filepath.Join("testdata", name, "system.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sys.ApplyDefaults()
	return sys
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./internal/tenant -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (go test ./internal/tenant -update after checking):\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// TestExpandGolden checks what a system with tenants becomes: the files,
// runlevels, accounts, persistent homes, limits and checks the build then
// writes like any manifest's, in testdata/*/expanded.golden.
func TestExpandGolden(t *testing.T) {
	for _, name := range []string{"seed", "node"} {
		t.Run(name, func(t *testing.T) {
			sys := load(t, name)
			before := sys.Digest()
			eff, _ := Expand(sys)
			if sys.Digest() != before {
				t.Error("Expand changed the manifest it was given")
			}
			// What it spells out is a valid manifest of its own (the
			// tenants, now also users, left out).
			check := eff.Clone()
			check.Tenants = nil
			if err := check.Validate(); err != nil {
				t.Errorf("the expanded system is not valid:\n%v", err)
			}
			golden(t, filepath.Join("testdata", name, "expanded.golden"), describe(sys, eff))
		})
	}
}

// describe writes what Expand added or changed, for a golden file.
func describe(sys, eff *manifest.System) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "# users\n")
	for _, u := range eff.Users[len(sys.Users):] {
		uid := "auto"
		if u.UID != nil {
			uid = fmt.Sprint(*u.UID)
		}
		fmt.Fprintf(&b, "%s uid=%s group=%s groups=%v home=%s shell=%s password=%q\n", u.Name, uid, u.Group, u.Groups, u.Home, u.Shell, u.PasswordHash)
	}
	fmt.Fprintf(&b, "# persist\n%s\n", strings.Join(eff.Persist, " "))
	fmt.Fprintf(&b, "# runlevels\n")
	for _, level := range []string{"sysinit", "boot", "default"} {
		fmt.Fprintf(&b, "%s: %s\n", level, strings.Join(eff.Services.Runlevels[level], " "))
	}
	fmt.Fprintf(&b, "# services\n")
	for _, name := range slices.Sorted(maps.Keys(eff.Services.Define)) {
		s := eff.Services.Define[name]
		fmt.Fprintf(&b, "%s user=%s cgroup=%v\n", name, s.User, s.Cgroup)
	}
	for _, name := range slices.Sorted(maps.Keys(eff.Containers)) {
		fmt.Fprintf(&b, "container %s cgroup=%v\n", name, eff.Containers[name].Cgroup)
	}
	fmt.Fprintf(&b, "# health\n")
	for _, h := range eff.Health[len(sys.Health):] {
		fmt.Fprintf(&b, "%s: %s (%s)\n", h.Name, h.Command, h.Timeout)
	}
	for _, f := range eff.Files.Inline[len(sys.Files.Inline):] {
		fmt.Fprintf(&b, "# file %s %s %s\n%s", f.Path, f.Mode, f.Owner, f.Content)
	}
	return []byte(b.String())
}

// TestExpandWithoutTenants: services with limits and no tenant get the
// cgroups service and the check, nothing else, in a system that boots; a
// root without a kernel, or a system with neither, is left as it is.
func TestExpandWithoutTenants(t *testing.T) {
	sys := &manifest.System{Kernel: manifest.Kernel{Package: "linux-virt"}, Services: manifest.Services{
		Runlevels: map[string][]string{"default": {"api"}, "boot": {"cgroups"}},
		Define: map[string]manifest.Service{
			"api":  {Command: "/usr/bin/api", Cgroup: map[string]string{"memory.max": "1G"}},
			"idle": {Command: "/usr/bin/idle", Cgroup: map[string]string{"memory.max": "1G"}}, // in no runlevel
		}}}
	eff, plan := Expand(sys)
	if len(plan.Limits) != 1 || plan.Limits[0] != (Limit{Owner: "service api", Key: `services.define.api.cgroup["memory.max"]`, Cgroup: "/openrc.api", File: "memory.max", Value: "1G"}) {
		t.Errorf("limits: %+v", plan.Limits)
	}
	if got := eff.Services.Runlevels["sysinit"]; len(got) != 0 {
		t.Errorf("cgroups was in boot already, yet sysinit is %v", got)
	}
	if len(eff.Health) != 1 || eff.Health[0].Name != HealthCheckName {
		t.Errorf("health: %+v", eff.Health)
	}
	if slices.ContainsFunc(eff.Files.Inline, func(f manifest.InlineFile) bool { return f.Path == layout.TenantsSSHDropIn }) {
		t.Error("an sshd drop-in without tenants")
	}
	plain := &manifest.System{Services: manifest.Services{Define: map[string]manifest.Service{"x": {Command: "/bin/x"}}}}
	if eff, _ := Expand(plain); eff.Digest() != plain.Digest() {
		t.Error("a system without tenants and limits changed")
	}
	noKernel := sys.Clone()
	noKernel.Kernel = manifest.Kernel{}
	if eff, _ := Expand(noKernel); eff.Digest() != noKernel.Digest() {
		t.Error("a root without a kernel, with limits, changed")
	}
}

// TestExpandNamespace: a service of a tenant with a network namespace is
// started by cairn, as root, which enters the namespace and becomes the
// service's user.
func TestExpandNamespace(t *testing.T) {
	sys := &manifest.System{
		Services: manifest.Services{Define: map[string]manifest.Service{"api": {Command: "/usr/bin/api", Args: []string{"--port", "80"}, Group: "www"}}},
		Tenants: []manifest.UserProfile{{Metadata: manifest.ProfileMetadata{Name: "dora"},
			Spec: manifest.ProfileSpec{Services: manifest.ProfileServices{Allowed: []string{"api"}}, Network: manifest.ProfileNetwork{Namespace: true}}}},
	}
	eff, plan := Expand(sys)
	api := eff.Services.Define["api"]
	want := []string{"tenants", "run", "--netns", "tenant-dora", "--user", "dora:www", "--", "/usr/bin/api", "--port", "80"}
	if api.Command != layout.CairnBinary || !slices.Equal(api.Args, want) || api.User != "" || api.Group != "" {
		t.Errorf("api: %s %q user %q group %q", api.Command, api.Args, api.User, api.Group)
	}
	if plan.Tenants[0].Namespace != "tenant-dora" {
		t.Errorf("plan: %+v", plan.Tenants[0])
	}
}
