package compose

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// accountDB holds the account files of a root.
type accountDB struct {
	passwd, group, shadow *colonFile
	gshadow               *colonFile // nil when the root has none
}

// The id ranges busybox adduser and addgroup allocate from on Alpine.
const (
	firstSystemID = 100
	lastSystemID  = 999
	firstUserID   = 1000
	lastUserID    = 59999
)

// merger merges declared users and groups into an accountDB.
type merger struct {
	db       *accountDB
	days     string // the shadow "last change" field: days since 1970
	uidOwner map[int]string
	gidOwner map[int]string
}

// declared is a user being merged.
type declared struct {
	key     string
	u       manifest.User
	pw      []string // the passwd entry
	isNew   bool
	primary string   // a group to resolve into pw[3]; "" keeps it
	own     []string // the user's own group entry, when made for it
	ownGID  bool     // own needs a gid from the range (its uid was taken)
}

func newMerger(db *accountDB, days int64) *merger {
	m := &merger{db: db, days: strconv.FormatInt(days, 10), uidOwner: map[int]string{}, gidOwner: map[int]string{}}
	owners := func(owner map[int]string) func([]string) {
		return func(f []string) {
			if id, ok := parseID(f[2]); ok {
				if _, dup := owner[id]; !dup {
					owner[id] = f[0]
				}
			}
		}
	}
	db.passwd.entries(owners(m.uidOwner))
	db.group.entries(owners(m.gidOwner))
	return m
}

func parseID(s string) (int, bool) {
	id, err := strconv.Atoi(s)
	return id, err == nil && id >= 0 && id <= maxID
}

// merge applies users and groups and returns what their home directories
// need. Ids are settled in a fixed order so that the result depends only
// on the existing files and the declarations: first every explicit id,
// then users without one (in order), then declared groups without a gid
// (in order), then the own groups of users whose explicit uid was taken
// as a gid. Users come before groups so that declaring a group never
// shifts a uid.
func (m *merger) merge(users []manifest.User, groups []manifest.Group) ([]homePlan, error) {
	if err := checkAccounts(users, groups); err != nil {
		return nil, err
	}
	type pending struct {
		key    string
		fields []string
		system bool
	}
	var pendingGroups []pending
	for i, g := range groups {
		key := fmt.Sprintf("groups[%d] (%s)", i, g.Name)
		fields := m.db.group.get(g.Name)
		if fields == nil {
			fields = m.addGroup(g.Name)
			if g.GID == nil {
				pendingGroups = append(pendingGroups, pending{key, fields, g.System})
			}
		}
		if g.GID != nil {
			old := fields[2]
			if err := claim(m.gidOwner, key, "gid", "group ", *g.GID, fields); err != nil {
				return nil, err
			}
			m.movePrimaryGroup(old, fields[2])
		}
	}

	decls := make([]*declared, len(users))
	for i, u := range users {
		d, err := m.declareUser(i, u)
		if err != nil {
			return nil, err
		}
		decls[i] = d
	}

	for _, d := range decls {
		if !d.isNew || d.u.UID != nil {
			continue
		}
		var gidFree func(int) bool
		if d.own != nil {
			gidFree = func(id int) bool { _, used := m.gidOwner[id]; return !used }
		}
		id, err := allocate(m.uidOwner, d.key, "uid", d.u.System, gidFree)
		if err != nil {
			return nil, err
		}
		if err := claim(m.uidOwner, d.key, "uid", "", id, d.pw); err != nil {
			return nil, err
		}
		if d.own != nil {
			if err := claim(m.gidOwner, d.key, "gid", "group ", id, d.own); err != nil {
				return nil, err
			}
		}
	}
	for _, d := range decls {
		if d.ownGID {
			pendingGroups = append(pendingGroups, pending{d.key, d.own, d.u.System})
		}
	}
	for _, p := range pendingGroups {
		id, err := allocate(m.gidOwner, p.key, "gid", p.system, nil)
		if err != nil {
			return nil, err
		}
		if err := claim(m.gidOwner, p.key, "gid", "group ", id, p.fields); err != nil {
			return nil, err
		}
	}

	for _, d := range decls {
		if err := m.resolvePrimary(d); err != nil {
			return nil, err
		}
	}
	if err := m.addMembers(decls, groups); err != nil {
		return nil, err
	}
	plans := make([]homePlan, 0, len(decls))
	for _, d := range decls {
		p, err := planHome(d)
		if err != nil {
			return nil, err
		}
		plans = append(plans, p)
	}
	return plans, nil
}

// declareUser adds or updates the passwd and shadow entries of user i and
// claims its explicit uid.
func (m *merger) declareUser(i int, u manifest.User) (*declared, error) {
	d := &declared{key: fmt.Sprintf("users[%d] (%s)", i, u.Name), u: u}
	d.pw = m.db.passwd.get(u.Name)
	if d.pw == nil {
		d.isNew = true
		home, shell := "/home/"+u.Name, "/bin/sh"
		if u.System {
			home, shell = "/var/empty", "/sbin/nologin"
		}
		d.pw = m.db.passwd.add(u.Name, "x", "", "", "", home, shell)
	}
	for _, f := range [...]struct {
		col   int
		value string
	}{{4, u.Gecos}, {5, u.Home}, {6, u.Shell}} {
		if f.value != "" {
			d.pw[f.col] = f.value
		}
	}
	if u.UID != nil {
		if err := claim(m.uidOwner, d.key, "uid", "", *u.UID, d.pw); err != nil {
			return nil, err
		}
	}
	switch {
	// A primary group named after the user that does not exist yet is the
	// user's own group, made below (manifest defaults name it so).
	case u.Group != "" && (u.Group != u.Name || m.db.group.get(u.Name) != nil):
		d.primary = u.Group
	case !d.isNew:
		// An existing account keeps its primary group.
	case m.db.group.get(u.Name) != nil:
		d.primary = u.Name
	default:
		d.own = m.addGroup(u.Name)
		if u.UID != nil {
			if _, used := m.gidOwner[*u.UID]; used {
				d.ownGID = true
			} else if err := claim(m.gidOwner, d.key, "gid", "group ", *u.UID, d.own); err != nil {
				return nil, err
			}
		}
	}
	m.setShadow(u)
	return d, nil
}

// movePrimaryGroup moves the accounts whose primary group was gid old to
// gid now, after an existing group's gid changed.
func (m *merger) movePrimaryGroup(old, now string) {
	if old == "" || old == now {
		return
	}
	m.db.passwd.entries(func(f []string) {
		if f[3] == old {
			f[3] = now
		}
	})
}

// addGroup appends a group entry (and its gshadow entry) whose gid is
// filled in later.
func (m *merger) addGroup(name string) []string {
	if m.db.gshadow != nil && m.db.gshadow.get(name) == nil {
		m.db.gshadow.add(name, "!", "", "")
	}
	return m.db.group.add(name, "x", "", "")
}

// setShadow writes the password of a declared user: its hash; without
// one "!" (locked, as busybox adduser -D writes), or "*" when the user has
// SSH keys: no password matches either, but Alpine's OpenSSH (built
// without PAM) refuses every login, keys included, to an account whose
// hash starts with "!". New entries look like busybox adduser's; an
// existing entry keeps its other fields, and its last change moves when
// the password does.
func (m *merger) setShadow(u manifest.User) {
	pw := u.PasswordHash
	switch {
	case pw != "":
	case hasKeys(u):
		pw = "*"
	default:
		pw = "!"
	}
	e := m.db.shadow.get(u.Name)
	if e == nil {
		m.db.shadow.add(u.Name, pw, m.days, "0", "99999", "7", "", "", "")
		return
	}
	if e[1] != pw {
		e[1], e[2] = pw, m.days
	}
}

func (m *merger) resolvePrimary(d *declared) error {
	switch {
	case d.own != nil:
		d.pw[3] = d.own[2]
	case d.primary != "":
		g := m.db.group.get(d.primary)
		if g == nil {
			return fmt.Errorf("%s: group: %q is neither in the root's /etc/group nor declared under groups", d.key, d.primary)
		}
		d.pw[3] = g[2]
	}
	return nil
}

// addMembers appends users to the member lists of their supplementary
// groups and of the groups naming them as members.
func (m *merger) addMembers(decls []*declared, groups []manifest.Group) error {
	for _, d := range decls {
		for j, name := range d.u.Groups {
			if !m.addMember(name, d.u.Name) {
				return fmt.Errorf("%s: groups[%d]: %q is neither in the root's /etc/group nor declared under groups", d.key, j, name)
			}
		}
	}
	for i, g := range groups {
		for j, user := range g.Members {
			if m.db.passwd.get(user) == nil {
				return fmt.Errorf("groups[%d] (%s): members[%d]: user %q is neither in the root's /etc/passwd nor declared under users", i, g.Name, j, user)
			}
			m.addMember(g.Name, user)
		}
	}
	return nil
}

func (m *merger) addMember(group, user string) bool {
	g := m.db.group.get(group)
	if g == nil {
		return false
	}
	g[3] = addToList(g[3], user)
	if m.db.gshadow != nil {
		e := m.db.gshadow.get(group)
		if e == nil {
			e = m.db.gshadow.add(group, "!", "", "")
		}
		e[3] = addToList(e[3], user)
	}
	return true
}

// claim gives id to the entry fields (whose id is fields[2]), releasing
// its old id. An id held by another name is an error naming both.
func claim(owners map[int]string, key, what, kind string, id int, fields []string) error {
	name := fields[0]
	if owner, ok := owners[id]; ok && owner != name {
		return fmt.Errorf("%s: %s %d is already used by %s%s", key, what, id, kind, owner)
	}
	if old, ok := parseID(fields[2]); ok && owners[old] == name {
		delete(owners, old)
	}
	fields[2] = strconv.Itoa(id)
	owners[id] = name
	return nil
}

// allocate finds the lowest id of the range that owners does not hold and
// that also accepts (when given).
func allocate(owners map[int]string, key, what string, system bool, also func(int) bool) (int, error) {
	lo, hi := firstUserID, lastUserID
	if system {
		lo, hi = firstSystemID, lastSystemID
	}
	for id := lo; id <= hi; id++ {
		if _, used := owners[id]; used {
			continue
		}
		if also != nil && !also(id) {
			continue
		}
		return id, nil
	}
	return 0, fmt.Errorf("%s: no free %s left in %d-%d", key, what, lo, hi)
}

func hasKeys(u manifest.User) bool {
	for _, k := range u.SSHAuthorizedKeys {
		if strings.TrimSpace(k) != "" {
			return true
		}
	}
	return false
}
