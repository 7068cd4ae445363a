package manifest

import (
	"strconv"
	"strings"
)

func (v *validator) accountName(p, name, what string) bool {
	switch {
	case name == "":
		v.add(p, "missing: give a %s name, like admin", what)
	case !validAccountName(name):
		v.add(p, "%s is not a %s name: start with a lower-case letter or _, then lower-case letters, digits, _ and - (32 at most)", quoted(name), what)
	default:
		return true
	}
	return false
}

func (v *validator) users(users []User) {
	names, ids := unique{}, unique{}
	for i, u := range users {
		p := indexPath("users", i)
		if v.accountName(keyPath(p, "name"), u.Name, "user") {
			names.seen(v, keyPath(p, "name"), u.Name, "user")
		}
		v.id(keyPath(p, "uid"), u.UID, "uid")
		if u.UID != nil {
			switch {
			case *u.UID == 0 && u.Name != "root":
				v.add(keyPath(p, "uid"), "uid 0 is root: to give %s root's powers add it to the wheel group and use doas; to set root's password or keys, declare a user named root", u.Name)
			case *u.UID >= 0 && *u.UID <= maxID:
				ids.seen(v, keyPath(p, "uid"), strconv.Itoa(*u.UID), "uid")
			}
		}
		if u.Name == "root" && u.UID != nil && *u.UID != 0 {
			v.add(keyPath(p, "uid"), "root's uid is 0: leave uid out")
		}
		if u.Group != "" {
			v.accountName(keyPath(p, "group"), u.Group, "group")
		}
		groups := unique{}
		for j, g := range u.Groups {
			gp := indexPath(keyPath(p, "groups"), j)
			if v.accountName(gp, g, "group") {
				groups.seen(v, gp, g, "group")
			}
		}
		v.optAbsPath(keyPath(p, "home"), u.Home, "/home/"+u.Name)
		v.optAbsPath(keyPath(p, "shell"), u.Shell, "/bin/sh")
		if strings.ContainsAny(u.Gecos, ":\n\x00") {
			v.add(keyPath(p, "gecos"), "cannot contain ':' or a newline (they separate /etc/passwd fields and lines)")
		}
		v.passwordHash(keyPath(p, "passwordHash"), u.PasswordHash)
		for j, k := range u.SSHAuthorizedKeys {
			v.sshKey(indexPath(keyPath(p, "sshAuthorizedKeys"), j), k)
		}
	}
}

func (v *validator) passwordHash(p, h string) {
	switch {
	case h == "", h == "!", h == "*", strings.HasPrefix(h, "!$") && cryptHash.MatchString(h[1:]):
		// no password, locked, or a locked hash
	case !cryptHash.MatchString(h):
		v.add(p, "not a crypt(3) hash: never put a plain password here; make a hash with mkpasswd -m sha-512 or openssl passwd -6, like $6$salt$...")
	}
}

// sshKeyTypes are the key types of OpenSSH's authorized_keys.
var sshKeyTypes = []string{"ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
	"sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"}

// sshKey checks a line of authorized_keys: optional options, then a key
// type and the key.
func (v *validator) sshKey(p, line string) {
	if strings.ContainsAny(line, "\n\r\x00") {
		v.add(p, "one key per entry: a key is a single line")
		return
	}
	fields := strings.Fields(line)
	for i, f := range fields {
		if isSSHKeyType(f) {
			if i+1 < len(fields) {
				return
			}
			break
		}
	}
	v.add(p, "not an SSH public key line: paste a line of a .pub file, like ssh-ed25519 AAAAC3Nza... you@host")
}

func isSSHKeyType(s string) bool {
	for _, t := range sshKeyTypes {
		if s == t || strings.HasSuffix(s, "-cert-v01@openssh.com") && strings.HasPrefix(s, t) {
			return true
		}
	}
	return false
}

func (v *validator) groups(groups []Group) {
	names, ids := unique{}, unique{}
	for i, g := range groups {
		p := indexPath("groups", i)
		if v.accountName(keyPath(p, "name"), g.Name, "group") {
			names.seen(v, keyPath(p, "name"), g.Name, "group")
		}
		v.id(keyPath(p, "gid"), g.GID, "gid")
		if g.GID != nil && *g.GID >= 0 && *g.GID <= maxID {
			ids.seen(v, keyPath(p, "gid"), strconv.Itoa(*g.GID), "gid")
		}
		members := unique{}
		for j, m := range g.Members {
			mp := indexPath(keyPath(p, "members"), j)
			if v.accountName(mp, m, "user") {
				members.seen(v, mp, m, "member")
			}
		}
	}
}
