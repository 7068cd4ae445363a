package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// owners resolves user and group names through the root's /etc/passwd
// and /etc/group, never the build host's.
type owners struct {
	users  map[string][2]int // name -> uid, primary gid
	groups map[string]int
}

func loadOwners(r *rootFS) (*owners, error) {
	o := &owners{users: map[string][2]int{}, groups: map[string]int{}}
	for _, file := range []struct {
		rel   string
		width int
	}{{passwdFile, 7}, {groupFile, 4}} {
		data, err := r.readFile(file.rel)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		parseColonFile(data, file.width).entries(func(f []string) {
			id, ok := parseID(f[2])
			if !ok {
				return
			}
			if file.width == 4 {
				if _, dup := o.groups[f[0]]; !dup {
					o.groups[f[0]] = id
				}
				return
			}
			gid, ok := parseID(f[3])
			if _, dup := o.users[f[0]]; ok && !dup {
				o.users[f[0]] = [2]int{id, gid}
			}
		})
	}
	return o, nil
}

// resolve turns "user:group", "user" (the user's primary group) or "" (root)
// into ids. Numeric ids are taken as they are.
func (o *owners) resolve(spec string) (uid, gid int, err error) {
	if spec == "" {
		return 0, 0, nil
	}
	user, group, hasGroup := strings.Cut(spec, ":")
	if id, ok := parseID(user); ok {
		uid = id
		if !hasGroup {
			return 0, 0, fmt.Errorf("owner %q: a numeric user needs a group (uid:gid)", spec)
		}
	} else if u, ok := o.users[user]; ok {
		uid, gid = u[0], u[1]
	} else {
		return 0, 0, fmt.Errorf("owner %q: no user %q in the root's /etc/passwd", spec, user)
	}
	if !hasGroup {
		return uid, gid, nil
	}
	if id, ok := parseID(group); ok {
		return uid, id, nil
	}
	if g, ok := o.groups[group]; ok {
		return uid, g, nil
	}
	return 0, 0, fmt.Errorf("owner %q: no group %q in the root's /etc/group", spec, group)
}
