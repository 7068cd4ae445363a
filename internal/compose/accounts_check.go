package compose

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// maxID is the largest user or group id accepted: 4294967295 is (uid_t)-1.
const maxID = 1<<32 - 2

// checkAccounts refuses declarations that cannot be written into the
// colon-separated account files, collecting every problem.
func checkAccounts(users []manifest.User, groups []manifest.Group) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	seenGroup := map[string]int{}
	for i, g := range groups {
		key := fmt.Sprintf("groups[%d] (%s)", i, g.Name)
		if err := checkName(g.Name); err != nil {
			bad("groups[%d]: name: %w", i, err)
		}
		if j, dup := seenGroup[g.Name]; dup {
			bad("%s: declared again (first as groups[%d])", key, j)
		} else {
			seenGroup[g.Name] = i
		}
		if g.GID != nil && (*g.GID < 0 || *g.GID > maxID) {
			bad("%s: gid %d is out of range", key, *g.GID)
		}
		for j, m := range g.Members {
			if err := checkName(m); err != nil {
				bad("%s: members[%d]: %w", key, j, err)
			}
		}
	}

	seenUser := map[string]int{}
	for i, u := range users {
		key := fmt.Sprintf("users[%d] (%s)", i, u.Name)
		if err := checkName(u.Name); err != nil {
			bad("users[%d]: name: %w", i, err)
		}
		if j, dup := seenUser[u.Name]; dup {
			bad("%s: declared again (first as users[%d])", key, j)
		} else {
			seenUser[u.Name] = i
		}
		if u.UID != nil && (*u.UID < 0 || *u.UID > maxID) {
			bad("%s: uid %d is out of range", key, *u.UID)
		}
		if u.Group != "" {
			if err := checkName(u.Group); err != nil {
				bad("%s: group: %w", key, err)
			}
		}
		for j, g := range u.Groups {
			if err := checkName(g); err != nil {
				bad("%s: groups[%d]: %w", key, j, err)
			}
		}
		for _, f := range []struct{ name, value string }{
			{"gecos", u.Gecos}, {"home", u.Home}, {"shell", u.Shell}, {"passwordHash", u.PasswordHash},
		} {
			if strings.ContainsAny(f.value, ":\n\x00") {
				bad("%s: %s: %q may not contain ':' or a line break", key, f.name, f.value)
			}
		}
		for _, f := range []struct{ name, value string }{{"home", u.Home}, {"shell", u.Shell}} {
			if f.value != "" && !strings.HasPrefix(f.value, "/") {
				bad("%s: %s: %q is not an absolute path", key, f.name, f.value)
			}
		}
		for j, k := range u.SSHAuthorizedKeys {
			if strings.ContainsAny(strings.TrimSpace(k), "\n\r\x00") {
				bad("%s: sshAuthorizedKeys[%d]: one key per entry, without line breaks", key, j)
			}
		}
	}
	return errors.Join(errs...)
}

// checkName accepts the user and group names busybox adduser accepts:
// letters, digits, '.', '_' and '-' (not first), and a final '$' (Samba
// machine accounts).
func checkName(name string) error {
	if name == "" {
		return errors.New("empty name")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.':
		case c == '-' && i > 0:
		case c == '$' && i == len(name)-1 && i > 0:
		default:
			return fmt.Errorf("%q is not a valid name (letters, digits, '.', '_', '-' not first)", name)
		}
	}
	return nil
}
