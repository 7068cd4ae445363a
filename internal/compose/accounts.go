package compose

import (
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// The account files and their widths.
const (
	passwdFile  = "etc/passwd"
	groupFile   = "etc/group"
	shadowFile  = "etc/shadow"
	gshadowFile = "etc/gshadow"
)

// Accounts merges users and groups into the root's /etc/passwd,
// /etc/group, /etc/shadow and, when the root has one, /etc/gshadow, then
// creates the users' home directories and SSH authorized keys. Every
// existing entry (Alpine's base accounts, the system users of package
// scripts) is kept in its place; declared entries that exist are updated,
// the others appended in order. See the package documentation for ids,
// defaults and modes.
func Accounts(root string, users []manifest.User, groups []manifest.Group, mtime time.Time) error {
	if len(users) == 0 && len(groups) == 0 {
		return nil
	}
	r, err := openRoot(root, mtime)
	if err != nil {
		return err
	}
	defer r.close()
	db, err := loadAccounts(r)
	if err != nil {
		return err
	}
	plans, err := newMerger(db, shadowDays(mtime)).merge(users, groups)
	if err != nil {
		return err
	}
	if err := writeAccounts(r, db); err != nil {
		return err
	}
	for _, p := range plans {
		if err := makeHome(r, p); err != nil {
			return err
		}
	}
	return r.finish()
}

// shadowDays is the shadow "last change" day of a build made at mtime.
func shadowDays(mtime time.Time) int64 {
	days := mtime.Unix() / 86400
	if days < 0 {
		return 0
	}
	return days
}

func loadAccounts(r *rootFS) (*accountDB, error) {
	read := func(rel string, width int, optional bool) (*colonFile, error) {
		data, err := r.readFile(rel)
		if errors.Is(err, fs.ErrNotExist) {
			if optional {
				return nil, nil
			}
			return parseColonFile(nil, width), nil
		}
		if err != nil {
			return nil, fmt.Errorf("accounts: %w", err)
		}
		return parseColonFile(data, width), nil
	}
	var db accountDB
	var err error
	if db.passwd, err = read(passwdFile, 7, false); err != nil {
		return nil, err
	}
	if db.group, err = read(groupFile, 4, false); err != nil {
		return nil, err
	}
	if db.shadow, err = read(shadowFile, 9, false); err != nil {
		return nil, err
	}
	if db.gshadow, err = read(gshadowFile, 4, true); err != nil {
		return nil, err
	}
	return &db, nil
}

// writeAccounts replaces the account files with the modes Alpine's
// alpine-baselayout-data ships: passwd and group 0644 root:root, shadow
// (and gshadow) 0640 root:shadow.
func writeAccounts(r *rootFS, db *accountDB) error {
	shadowGID := 0
	if g := db.group.get("shadow"); g != nil {
		if id, ok := parseID(g[2]); ok {
			shadowGID = id
		}
	}
	files := []struct {
		rel  string
		f    *colonFile
		perm uint32
		gid  int
	}{
		{passwdFile, db.passwd, 0o644, 0},
		{groupFile, db.group, 0o644, 0},
		{shadowFile, db.shadow, 0o640, shadowGID},
		{gshadowFile, db.gshadow, 0o640, shadowGID},
	}
	for _, file := range files {
		if file.f == nil {
			continue
		}
		if err := r.writeFile(file.rel, file.f.bytes(), file.perm, 0, file.gid); err != nil {
			return fmt.Errorf("accounts: %w", err)
		}
	}
	return nil
}
