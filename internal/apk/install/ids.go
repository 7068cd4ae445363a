package install

import (
	"strconv"
	"strings"
)

// idCache maps the user and group names of archive entries to the ids of
// the root being installed (its etc/passwd and etc/group), as apk's id
// cache does; a name the root does not know keeps the archive's number.
// reset forgets everything, after a script may have added users.
type idCache struct {
	read   func(file string) ([]byte, error)
	users  map[string]int
	groups map[string]int
}

func newIDCache(read func(file string) ([]byte, error)) *idCache {
	return &idCache{read: read}
}

func (c *idCache) reset() { c.users, c.groups = nil, nil }

func (c *idCache) uid(name string, def int) int {
	if c.users == nil {
		c.users = c.load("etc/passwd")
	}
	if id, ok := c.users[name]; ok && name != "" {
		return id
	}
	return def
}

func (c *idCache) gid(name string, def int) int {
	if c.groups == nil {
		c.groups = c.load("etc/group")
	}
	if id, ok := c.groups[name]; ok && name != "" {
		return id
	}
	return def
}

// load reads "name:password:id:..." lines; the first entry of a name
// wins, as with getpwent.
func (c *idCache) load(file string) map[string]int {
	ids := map[string]int{}
	data, err := c.read(file)
	if err != nil {
		return ids
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.SplitN(line, ":", 4)
		if len(f) < 3 || f[0] == "" {
			continue
		}
		id, err := strconv.Atoi(f[2])
		if err != nil || id < 0 {
			continue
		}
		if _, dup := ids[f[0]]; !dup {
			ids[f[0]] = id
		}
	}
	return ids
}
