package manifest

import (
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
)

// memFiles serves includes from a map, for tests without a directory.
func memFiles(files map[string]string) func(string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		if s, ok := files[filepath.ToSlash(name)]; ok {
			return []byte(s), nil
		}
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
}

const header = "apiVersion: cairn/v1\nkind: System\n"
const repo = "alpine: {repositories: [{url: https://dl-cdn.alpinelinux.org/alpine/v3.19/main}]}\n"

func TestIncludeMerge(t *testing.T) {
	files := map[string]string{
		"m/one.yaml": header + repo + `
hostname: one
timezone: Europe/Paris
packages: [a, b]
users: [{name: u1}]
services:
  boot: [x]
  define:
    s: {command: /bin/s, args: [one], environment: {A: "1", B: "1"}}
`,
		"m/two.yaml": header + `
hostname: two
packages: [c]
users: [{name: u2}]
services:
  define:
    s: {args: [two], environment: {B: "2"}}
`,
	}
	top := header + `include: [one.yaml, two.yaml]
packages: [d]
services:
  define:
    s: {environment: {C: "3"}}
`
	s, err := parse("m/system.yaml", []byte(top), memFiles(files))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ what, got, want string }{
		{"hostname (later include wins)", s.Hostname, "two"},
		{"timezone (kept from the first)", s.Timezone, "Europe/Paris"},
		{"packages (joined in include order)", strings.Join(s.Packages, " "), "a b c d"},
		{"users", s.Users[0].Name + " " + s.Users[1].Name, "u1 u2"},
		{"define command", s.Services.Define["s"].Command, "/bin/s"},
		{"define args", strings.Join(s.Services.Define["s"].Args, " "), "one two"},
		{"environment", s.Services.Define["s"].Environment["A"] + s.Services.Define["s"].Environment["B"] + s.Services.Define["s"].Environment["C"], "123"},
		{"runlevel", strings.Join(s.Services.Runlevels["boot"], " "), "x"},
		{"include", strings.Join(s.Include, " "), "one.yaml two.yaml"},
	} {
		if c.got != c.want {
			t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
		}
	}
}

func TestIncludeErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		top   string
		files map[string]string
		want  []string // lines of the error, each a substring
	}{
		{
			name: "self",
			top:  header + repo + "include: [system.yaml]\n",
			want: []string{"system.yaml:4:11: include[0]: include cycle system.yaml -> system.yaml"},
		},
		{
			name: "empty",
			top:  header + repo + "include: ['']\n",
			want: []string{"system.yaml:4:11: include[0]: empty"},
		},
		{
			name:  "syntax error in an include is reported there, and nothing else",
			top:   header + "include: [base.yaml]\n",
			files: map[string]string{"base.yaml": header + "alpine: [\n"},
			want:  []string{"base.yaml:3:9: YAML syntax:"},
		},
		{
			name:  "included file of another kind",
			top:   header + repo + "include: [fleet.yaml]\n",
			files: map[string]string{"fleet.yaml": "apiVersion: cairn/v1\nkind: Fleet\n"},
			want:  []string{`fleet.yaml:2:7: kind: "Fleet" is not supported`},
		},
		{
			name:  "a UserProfile of another apiVersion",
			top:   header + repo + "include: [alice.yaml]\n",
			files: map[string]string{"alice.yaml": "apiVersion: v2\nkind: UserProfile\nmetadata: {name: alice}\n"},
			want:  []string{`alice.yaml:1:13: apiVersion: the string "v2" is not supported for a UserProfile (this cairn reads v1 or cairn/v1)`},
		},
		{
			name:  "a UserProfile with a wrong key, at its path in its own file",
			top:   header + repo + "include: [alice.yaml]\n",
			files: map[string]string{"alice.yaml": "apiVersion: v1\nkind: UserProfile\nmetadata: {name: alice}\nspec:\n  services: {resources: {memory: 4G}}\n"},
			want:  []string{`alice.yaml:5:26: spec.services.resources.memory: unknown key; did you mean memory_limit?`},
		},
		{
			name:  "two profiles of one tenant",
			top:   header + repo + "include: [a.yaml, b.yaml]\n",
			files: map[string]string{"a.yaml": "apiVersion: v1\nkind: UserProfile\nmetadata: {name: alice}\n", "b.yaml": "apiVersion: v1\nkind: UserProfile\nmetadata:\n  name: alice\n"},
			want:  []string{`b.yaml:4:9: metadata.name: tenant "alice" is declared twice: keep one (first at a.yaml:3:18)`},
		},
		{
			name:  "validation problems point into the file that has the value",
			top:   header + repo + "include: [base.yaml]\nusers: [{name: b}, {name: a}]\n",
			files: map[string]string{"base.yaml": header + "users:\n  - name: a\n    shell: sh\n"},
			want: []string{
				`base.yaml:5:12: users[0].shell: "sh" is not an absolute path`,
				`system.yaml:5:27: users[1].name: user "a" is declared twice: keep one (first at base.yaml:4:11)`,
			},
		},
		{
			name:  "a problem in a file included twice is reported once",
			top:   header + repo + "include: [a.yaml, b.yaml]\n",
			files: map[string]string{"a.yaml": header + "include: [c.yaml]\n", "b.yaml": header + "include: [c.yaml]\n", "c.yaml": header + "hostname: x_y\n"},
			want:  []string{`c.yaml:3:11: hostname: "x_y" is not a host name`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse("system.yaml", []byte(tc.top), memFiles(tc.files))
			if err == nil {
				t.Fatal("no error")
			}
			checkPositions(t, err)
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tc.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(tc.want), err)
			}
			for i, w := range tc.want {
				if !strings.Contains(lines[i], w) {
					t.Errorf("problem %d:\n  %s\nwant it to contain\n  %s", i, lines[i], w)
				}
			}
		})
	}
}

// TestUserProfileNotAlone checks that a UserProfile given as the manifest
// to build says how it is used.
func TestUserProfileNotAlone(t *testing.T) {
	_, err := parse("tenants/alice.yaml", []byte("apiVersion: v1\nkind: UserProfile\nmetadata: {name: alice}\n"), memFiles(nil))
	want := "tenants/alice.yaml:2:7: kind: a UserProfile is not built on its own: include it from a System manifest (include: [alice.yaml])"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestSeedUserProfile reads the UserProfile of the cluster guide, as it
// is written there with the user's name added, included from a system.
func TestSeedUserProfile(t *testing.T) {
	seed := `apiVersion: v1
kind: UserProfile
metadata:
  name: alice
  version: "1.0"
spec:
  filesystem: {subvolume: true, snapshot_interval: "6h", quota: "50G"}
  services:
    allowed: []
    resources: {cpu_quota: "2.0", memory_limit: "4G"}
  network: {namespace: true, firewall_profile: "default"}
`
	s, err := parse("system.yaml", []byte(header+repo+"include: [alice.yaml]\n"), memFiles(map[string]string{"alice.yaml": seed}))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Tenants) != 1 {
		t.Fatalf("tenants: %+v", s.Tenants)
	}
	p := s.Tenants[0]
	if p.Metadata.Name != "alice" || p.Metadata.Version != "1.0" || !p.Spec.Filesystem.Subvolume || p.Spec.Filesystem.Quota != "50G" ||
		p.Spec.Filesystem.SnapshotInterval != "6h" || p.Spec.Services.Resources.CPUQuota != "2.0" || p.Spec.Services.Resources.MemoryLimit != "4G" ||
		!p.Spec.Network.Namespace || p.Spec.Network.FirewallProfile != "default" {
		t.Errorf("read as %+v", p)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "system.yaml"))
	if !errors.Is(err, fs.ErrNotExist) || !strings.HasPrefix(err.Error(), "load manifest: ") {
		t.Errorf("got %v", err)
	}
}
