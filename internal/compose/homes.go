package compose

import (
	"fmt"
	"strings"

	"github.com/cairnlinux/cairn/internal/rootfs"
)

// homePlan is what a declared user's home directory needs.
type homePlan struct {
	key      string
	home     string
	uid, gid int
	create   bool
	keys     []string // lines of ~/.ssh/authorized_keys
}

// noHome are home directories that stand for "none": never created, and
// no place for SSH keys.
var noHome = map[string]bool{"/": true, "/var/empty": true, "/dev/null": true, "/nonexistent": true}

func planHome(d *declared) (homePlan, error) {
	p := homePlan{key: d.key, home: d.pw[5]}
	var ok1, ok2 bool
	p.uid, ok1 = parseID(d.pw[2])
	p.gid, ok2 = parseID(d.pw[3])
	if !ok1 || !ok2 {
		return p, fmt.Errorf("%s: the /etc/passwd entry %q has no valid uid and gid", d.key, strings.Join(d.pw, ":"))
	}
	// A system user gets a home only when one is declared.
	p.create = !noHome[p.home] && !(d.u.System && d.u.Home == "")
	for _, k := range d.u.SSHAuthorizedKeys {
		if k = strings.TrimSpace(k); k != "" {
			p.keys = append(p.keys, k)
		}
	}
	if len(p.keys) > 0 && !p.create {
		return p, fmt.Errorf("%s: sshAuthorizedKeys need a home directory, and %s is none: declare home", d.key, p.home)
	}
	return p, nil
}

// makeHome creates a missing home directory (0755, owned by the user; an
// existing one is left as it is) and writes ~/.ssh/authorized_keys (0600
// in a 0700 ~/.ssh, both owned by the user).
func makeHome(r *rootFS, p homePlan) error {
	if !p.create {
		return nil
	}
	rel, err := rootRel(p.home)
	if err == nil && rel == "" {
		err = fmt.Errorf("%q is the root directory", p.home)
	}
	if err != nil {
		return fmt.Errorf("%s: home: %w", p.key, err)
	}
	if err := r.mkdirAll(rel, 0o755, p.uid, p.gid); err != nil {
		return fmt.Errorf("%s: home: %w", p.key, err)
	}
	if len(p.keys) == 0 {
		return nil
	}
	ssh := rootfs.Join(rel, ".ssh")
	if err := r.ensureDir(ssh, 0o700, p.uid, p.gid); err != nil {
		return fmt.Errorf("%s: sshAuthorizedKeys: %w", p.key, err)
	}
	data := []byte(strings.Join(p.keys, "\n") + "\n")
	if err := r.writeFile(rootfs.Join(ssh, "authorized_keys"), data, 0o600, p.uid, p.gid); err != nil {
		return fmt.Errorf("%s: sshAuthorizedKeys: %w", p.key, err)
	}
	return nil
}
