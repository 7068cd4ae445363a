//go:build linux

package compose

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/secrets"
)

// secretsManifest is a manifest directory with two encrypted secrets (to
// a throwaway key) and the system declaring them.
func secretsManifest(t *testing.T) (dir string, sys *manifest.System, cts map[string][]byte) {
	t.Helper()
	dir = t.TempDir()
	_, to, err := secrets.NewAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	cts = map[string][]byte{}
	for name, content := range map[string]string{"app-env": "TOKEN=1\n", "ntp-key": "k\n"} {
		ct, err := secrets.Encrypt([]byte(content), []secrets.Recipient{to})
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, filepath.Join(dir, "secrets", name+".age"), string(ct), 0o644)
		cts[name] = ct
	}
	sys = &manifest.System{Secrets: []manifest.Secret{
		{Name: "app-env", File: "secrets/app-env.age", Services: []string{"app", "app-worker"}},
		{Name: "ntp-key", File: "secrets/ntp-key.age", Path: "/run/secrets/chrony/key", Owner: "ntp:ntp", Mode: "0440", Services: []string{"app"}},
	}}
	return dir, sys, cts
}

// TestSecrets: the generation gets the encrypted files as they are
// (0400 root), the spec with owners resolved in its own accounts, the
// cairn-secrets service in the boot runlevel, and each service that
// needs a secret needs cairn-secrets through its conf.d, whose settings
// stay.
func TestSecrets(t *testing.T) {
	root := seedRoot(t)
	for p, content := range map[string]string{
		"etc/init.d/app":        "#!/sbin/openrc-run\ncommand=/usr/bin/app\n",
		"etc/init.d/app-worker": "#!/sbin/openrc-run\ncommand=/usr/bin/worker\n",
		"etc/conf.d/app":        "# app's settings\nrc_need=\"net\"\napp_opts=\"-v\"",
	} {
		mustWrite(t, filepath.Join(root, p), content, 0o755)
	}
	dir, sys, cts := secretsManifest(t)
	sys.ApplyDefaults()
	if err := Secrets(root, dir, sys.Secrets, buildTime); err != nil {
		t.Fatal(err)
	}
	for name, ct := range cts {
		rel := "etc/cairn/secrets/" + name + ".age"
		if got := readRootFile(t, root, rel); !bytes.Equal(got, ct) {
			t.Errorf("%s is not the encrypted file as it was", rel)
		}
		wantOwnerMode(t, root, rel, 0o400, 0, 0)
	}
	golden(t, "secrets/secrets.json", readRootFile(t, root, "etc/cairn/secrets.json"))
	golden(t, "secrets/cairn-secrets", readRootFile(t, root, "etc/init.d/cairn-secrets"))
	golden(t, "secrets/conf.d-app", readRootFile(t, root, "etc/conf.d/app"))
	wantOwnerMode(t, root, "etc/init.d/cairn-secrets", 0o755, 0, 0)
	if target, err := os.Readlink(filepath.Join(root, "etc/runlevels/boot/cairn-secrets")); err != nil || target != "/etc/init.d/cairn-secrets" {
		t.Errorf("runlevel link %q %v", target, err)
	}
	spec, err := secrets.LoadSpec(root)
	if err != nil || len(spec.Secrets) != 2 || spec.Secrets[1].UID != 123 || spec.Secrets[1].GID != 123 || spec.Secrets[0].Path != "/run/secrets/app-env" || spec.Secrets[0].Mode != "0400" {
		t.Errorf("spec: %+v %v", spec, err)
	}
	// What the conf.d files leave in effect for OpenRC's dependencies.
	for svc, want := range map[string]string{"app": "net cairn-secrets", "app-worker": "cairn-secrets"} {
		out, err := exec.Command("sh", "-c", ". "+filepath.Join(root, "etc/conf.d", svc)+`; echo "$rc_need"`).Output()
		if err != nil || string(out) != want+"\n" {
			t.Errorf("%s: rc_need %q %v, want %q", svc, out, err, want)
		}
	}
	if out, err := exec.Command("sh", "-n", filepath.Join(root, "etc/init.d/cairn-secrets")).CombinedOutput(); err != nil {
		t.Errorf("sh -n cairn-secrets: %v %s", err, out)
	}
}

func TestSecretsRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(dir string, sys *manifest.System)
		want   []string
	}{
		{"plaintext", func(dir string, _ *manifest.System) {
			os.WriteFile(filepath.Join(dir, "secrets/app-env.age"), []byte("TOKEN=1\n"), 0o644)
		}, []string{"secrets[0].file: secrets/app-env.age is not an age-encrypted file", "cairn secrets edit app-env"}},
		{"missing", func(dir string, _ *manifest.System) { os.Remove(filepath.Join(dir, "secrets/ntp-key.age")) },
			[]string{"secrets[1].file: secrets/ntp-key.age does not exist"}},
		{"unknown owner", func(_ string, sys *manifest.System) { sys.Secrets[1].Owner = "chrony:chrony" },
			[]string{"secrets[1].owner:", "chrony"}},
		{"no such service", func(_ string, sys *manifest.System) { sys.Secrets[1].Services = []string{"nope"} },
			[]string{"secrets[1].services[0]: nope has no init script /etc/init.d/nope"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := seedRoot(t)
			for _, svc := range []string{"app", "app-worker"} {
				mustWrite(t, filepath.Join(root, "etc/init.d", svc), "#!/sbin/openrc-run\n", 0o755)
			}
			dir, sys, _ := secretsManifest(t)
			tc.change(dir, sys)
			err := Secrets(root, dir, sys.Secrets, buildTime)
			wantErr(t, err, tc.want...)
			if err != nil && bytes.Contains([]byte(err.Error()), []byte("TOKEN=1")) {
				t.Errorf("the error quotes the plaintext: %v", err)
			}
		})
	}
}

// TestSecretsNone: without secrets nothing is written.
func TestSecretsNone(t *testing.T) {
	root := seedRoot(t)
	before := scan(t, root)
	if err := Secrets(root, t.TempDir(), nil, buildTime); err != nil {
		t.Fatal(err)
	}
	if after := scan(t, root); len(after) != len(before) {
		t.Errorf("Secrets without secrets wrote %d paths", len(after)-len(before))
	}
}

// TestNodeSSHKeyPath: the node's key is the ed25519 host key
// cairn-ssh-keys makes for sshd.
func TestNodeSSHKeyPath(t *testing.T) {
	if want := SSHKeysDir + "/etc/ssh/ssh_host_ed25519_key"; secrets.NodeSSHKey != want {
		t.Errorf("secrets.NodeSSHKey %s, want %s", secrets.NodeSSHKey, want)
	}
}
