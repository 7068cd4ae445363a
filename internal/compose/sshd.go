package compose

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/cairnlinux/cairn/internal/layout"
	"github.com/cairnlinux/cairn/internal/manifest"
)

// SSHKeysDir is where a system with OpenSSH keeps its host keys: below
// /var, which persists, because the generation's /etc/ssh is read-only
// (Alpine's sshd script would run ssh-keygen -A there and fail).
const SSHKeysDir = layout.SSHKeysDir

// sshKeysScript generates the host keys that are missing, once, before
// sshd starts. ssh-keygen -A -f PREFIX writes PREFIX/etc/ssh/ssh_host_*.
const sshKeysScript = `#!/sbin/openrc-run
# Written by cairn.
description="Create SSH host keys in ` + SSHKeysDir + ` (the root is read-only)"

depend() {
	need localmount
	before sshd
}

start() {
	ebegin "Checking SSH host keys"
	mkdir -p ` + SSHKeysDir + `/etc/ssh && ssh-keygen -A -f ` + SSHKeysDir + `
	eend $?
}
`

// sshKeyTypes are the host keys ssh-keygen -A makes.
var sshKeyTypes = []string{"ecdsa", "ed25519", "rsa"}

// writeSSHHostKeys moves the host keys of a system with Alpine's sshd
// service out of the read-only /etc/ssh: sshd's conf.d turns off its own
// key generation and names the keys in SSHKeysDir, and the
// cairn-ssh-keys service makes them before sshd starts, in sshd's
// runlevels. Systems without /etc/init.d/sshd are left alone.
func writeSSHHostKeys(r *rootFS, sys *manifest.System) error {
	if _, err := r.stat("etc/init.d/sshd"); err != nil {
		return nil
	}
	var conf bytes.Buffer
	if old, err := r.readFile("etc/conf.d/sshd"); err == nil {
		conf.Write(old)
		if len(old) > 0 && old[len(old)-1] != '\n' {
			conf.WriteByte('\n')
		}
	}
	var keys []string
	for _, t := range sshKeyTypes {
		keys = append(keys, "-h "+SSHKeysDir+"/etc/ssh/ssh_host_"+t+"_key")
	}
	fmt.Fprintf(&conf, "\n# Added by cairn: the root is read-only; the host keys live in %s\n# (made by the cairn-ssh-keys service).\nsshd_disable_keygen=\"yes\"\ncommand_args=\"${command_args:-} %s\"\n",
		SSHKeysDir, strings.Join(keys, " "))
	if err := r.mkdirAll("etc/conf.d", 0o755, 0, 0); err != nil {
		return err
	}
	if err := writeConfig(r, "etc/conf.d/sshd", conf.Bytes()); err != nil {
		return fmt.Errorf("sshd host keys: %w", err)
	}
	if err := r.writeFile("etc/init.d/cairn-ssh-keys", []byte(sshKeysScript), 0o755, 0, 0); err != nil {
		return fmt.Errorf("sshd host keys: %w", err)
	}
	var levels []string
	for level, svcs := range sys.Services.Runlevels {
		for _, s := range svcs {
			if s == "sshd" {
				levels = append(levels, level)
			}
		}
	}
	sort.Strings(levels)
	for _, level := range levels {
		dir := "etc/runlevels/" + level
		if err := r.mkdirAll(dir, 0o755, 0, 0); err != nil {
			return err
		}
		if err := r.symlink(dir+"/cairn-ssh-keys", "/etc/init.d/cairn-ssh-keys", 0, 0); err != nil {
			return fmt.Errorf("sshd host keys: %w", err)
		}
	}
	return nil
}
