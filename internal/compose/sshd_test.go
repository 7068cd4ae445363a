//go:build linux

package compose

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// TestSSHHostKeys: with Alpine's sshd service in the root, sshd's conf.d
// turns off key generation into /etc/ssh and names keys below /var, and
// cairn-ssh-keys, in sshd's runlevel, makes them. The package's own
// conf.d settings stay.
func TestSSHHostKeys(t *testing.T) {
	root := seedRoot(t)
	for p, content := range map[string]string{
		"etc/init.d/sshd": "#!/sbin/openrc-run\ncommand=/usr/sbin/sshd\n",
		"etc/conf.d/sshd": "# /etc/conf.d/sshd\n#sshd_disable_keygen=\"no\"\ncommand_args=\"-4\"",
	} {
		os.MkdirAll(filepath.Join(root, filepath.Dir(p)), 0o755)
		if err := os.WriteFile(filepath.Join(root, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sys := &manifest.System{Services: manifest.Services{Runlevels: map[string][]string{"default": {"sshd"}}}}
	if err := System(root, sys, buildTime); err != nil {
		t.Fatal(err)
	}
	conf := readRootFile(t, root, "etc/conf.d/sshd")
	golden(t, "sshd/conf.d-sshd", conf)
	golden(t, "sshd/cairn-ssh-keys", readRootFile(t, root, "etc/init.d/cairn-ssh-keys"))
	wantOwnerMode(t, root, "etc/init.d/cairn-ssh-keys", 0o755, 0, 0)
	if target, err := os.Readlink(filepath.Join(root, "etc/runlevels/default/cairn-ssh-keys")); err != nil || target != "/etc/init.d/cairn-ssh-keys" {
		t.Errorf("runlevel link %q %v", target, err)
	}
	// Both files are shell: the conf.d is sourced, the script run.
	for _, p := range []string{"etc/conf.d/sshd", "etc/init.d/cairn-ssh-keys"} {
		if out, err := exec.Command("sh", "-n", filepath.Join(root, p)).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v %s", p, err, out)
		}
	}
	// What the conf.d leaves in effect for sshd's script.
	out, err := exec.Command("sh", "-c", ". "+filepath.Join(root, "etc/conf.d/sshd")+`; echo "$sshd_disable_keygen|$command_args"`).Output()
	if err != nil || string(out) != "yes|-4 -h /var/lib/cairn/ssh/etc/ssh/ssh_host_ecdsa_key -h /var/lib/cairn/ssh/etc/ssh/ssh_host_ed25519_key -h /var/lib/cairn/ssh/etc/ssh/ssh_host_rsa_key\n" {
		t.Errorf("conf.d in effect: %q %v", out, err)
	}

	// Without sshd nothing is written.
	root2 := seedRoot(t)
	if err := System(root2, sys, buildTime); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root2, "etc/init.d/cairn-ssh-keys")); err == nil {
		t.Error("cairn-ssh-keys written for a system without sshd")
	}
}
