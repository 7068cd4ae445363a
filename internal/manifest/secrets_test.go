package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestValidateSecrets(t *testing.T) {
	good := Secret{Name: "app-env", File: "secrets/app-env.age", Owner: "app:app", Mode: "0440", Services: []string{"app"}}
	for _, tc := range []struct {
		name    string
		secrets []Secret
		want    string // the one problem's start; "" for none
	}{
		{"good", []Secret{good}, ""},
		{"defaults", []Secret{{Name: "token", File: "token.age"}}, ""},
		{"path below /run/secrets", []Secret{{Name: "psk", File: "psk.age", Path: "/run/secrets/iwd/home.psk"}}, ""},
		{"no name", []Secret{{File: "x.age"}}, "secrets[0].name: missing"},
		{"bad name", []Secret{{Name: "App Env", File: "x.age"}}, `secrets[0].name: "App Env" is not a secret name`},
		{"name with slash", []Secret{{Name: "a/b", File: "x.age"}}, `secrets[0].name: "a/b" is not a secret name`},
		{"no file", []Secret{{Name: "x"}}, "secrets[0].file: missing: name the age-encrypted file beside the manifest, like secrets/x.age"},
		{"absolute file", []Secret{{Name: "x", File: "/home/me/x.age"}}, `secrets[0].file: "/home/me/x.age" is an absolute path, but this path is relative to the manifest`},
		{"file outside", []Secret{{Name: "x", File: "../x.age"}}, `secrets[0].file: "../x.age" leads out of the directory`},
		{"path outside /run/secrets", []Secret{{Name: "x", File: "x.age", Path: "/etc/x"}}, `secrets[0].path: "/etc/x" is not below /run/secrets`},
		{"path is the directory", []Secret{{Name: "x", File: "x.age", Path: "/run/secrets"}}, `secrets[0].path: "/run/secrets" is not below /run/secrets`},
		{"path not clean", []Secret{{Name: "x", File: "x.age", Path: "/run/secrets/../x"}}, `secrets[0].path: "/run/secrets/../x" is not a clean path`},
		{"relative path", []Secret{{Name: "x", File: "x.age", Path: "x"}}, `secrets[0].path: "x" is not an absolute path`},
		{"name twice", []Secret{good, good}, `secrets[1].name: secret "app-env" is declared twice`},
		{"same default path", []Secret{{Name: "a", File: "a.age", Path: "/run/secrets/b"}, {Name: "b", File: "b.age"}}, `secrets[1].path: secret path "/run/secrets/b" is declared twice`},
		{"owner", []Secret{{Name: "x", File: "x.age", Owner: "app"}}, `secrets[0].owner: "app" is not an owner`},
		{"mode", []Secret{{Name: "x", File: "x.age", Mode: "400"}}, ""},
		{"mode not octal", []Secret{{Name: "x", File: "x.age", Mode: "r--"}}, `secrets[0].mode: "r--" is not an octal mode`},
		{"setuid", []Secret{{Name: "x", File: "x.age", Mode: "4400"}}, `secrets[0].mode: "4400" has setuid, setgid or sticky bits`},
		{"service name", []Secret{{Name: "x", File: "x.age", Services: []string{"a b"}}}, `secrets[0].services[0]: "a b" is not a service name`},
		{"service twice", []Secret{{Name: "x", File: "x.age", Services: []string{"a", "a"}}}, `secrets[0].services[1]: service "a" is declared twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSystem()
			s.Secrets = tc.secrets
			err := s.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected problems:\n%v", err)
				}
				s.ApplyDefaults()
				if err := s.Validate(); err != nil {
					t.Fatalf("after ApplyDefaults: %v", err)
				}
				return
			}
			var errs Errors
			if !errors.As(err, &errs) || len(errs) != 1 {
				t.Fatalf("want one problem starting %q, got:\n%v", tc.want, err)
			}
			if !strings.HasPrefix(errs[0].Error(), tc.want) {
				t.Errorf("got\n  %v\nwant it to start with\n  %s", errs[0], tc.want)
			}
		})
	}
}

func TestSecretDefaults(t *testing.T) {
	s := goodSystem()
	s.Secrets = []Secret{{Name: "token", File: "token.age"}, {Name: "psk", File: "psk.age", Path: "/run/secrets/iwd/psk", Owner: "iwd:iwd", Mode: "0440"}}
	s.ApplyDefaults()
	want := []Secret{
		{Name: "token", File: "token.age", Path: "/run/secrets/token", Owner: "root:root", Mode: "0400"},
		{Name: "psk", File: "psk.age", Path: "/run/secrets/iwd/psk", Owner: "iwd:iwd", Mode: "0440"},
	}
	for i := range want {
		if g := s.Secrets[i]; g.Name != want[i].Name || g.File != want[i].File || g.Path != want[i].Path || g.Owner != want[i].Owner || g.Mode != want[i].Mode {
			t.Errorf("secret %d after defaults: %+v, want %+v", i, g, want[i])
		}
	}
}

// TestSecretFileIncluded: a secret's file in an included manifest is
// relative to that manifest, and so to the top one after the merge.
func TestSecretFileIncluded(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("base/system.yaml", "apiVersion: cairn/v1\nkind: System\nsecrets:\n  - name: token\n    file: secrets/token.age\n")
	write("system.yaml", "apiVersion: cairn/v1\nkind: System\ninclude: [base/system.yaml]\nalpine:\n  repositories: [{url: https://example.org/main}]\nsecrets:\n  - name: env\n    file: secrets/env.age\n")
	s, err := Load(filepath.Join(dir, "system.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Secrets) != 2 || s.Secrets[0].File != filepath.Join("base", "secrets", "token.age") || s.Secrets[1].File != "secrets/env.age" {
		t.Errorf("secrets after the merge: %+v", s.Secrets)
	}
}
