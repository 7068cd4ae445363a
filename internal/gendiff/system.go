package gendiff

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// diffServices compares /etc/runlevels/<runlevel>/<service> entries
// (OpenRC's symbolic links to /etc/init.d/<service>).
func diffServices(a, b string) ([]ServiceChange, error) {
	la, err := readRunlevels(a)
	if err != nil {
		return nil, err
	}
	lb, err := readRunlevels(b)
	if err != nil {
		return nil, err
	}
	out := []ServiceChange{}
	for key, old := range la {
		level, svc, _ := strings.Cut(key, "/")
		nw, ok := lb[key]
		switch {
		case !ok:
			out = append(out, ServiceChange{Runlevel: level, Service: svc, Change: Removed, Old: old})
		case nw != old:
			out = append(out, ServiceChange{Runlevel: level, Service: svc, Change: Changed, Old: old, New: nw})
		}
	}
	for key, nw := range lb {
		if _, ok := la[key]; !ok {
			level, svc, _ := strings.Cut(key, "/")
			out = append(out, ServiceChange{Runlevel: level, Service: svc, Change: Added, New: nw})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Runlevel != out[j].Runlevel {
			return runlevelOrder(out[i].Runlevel) < runlevelOrder(out[j].Runlevel)
		}
		return out[i].Service < out[j].Service
	})
	return out, nil
}

// runlevelOrder sorts OpenRC's standard runlevels in boot order, then the
// others by name.
func runlevelOrder(level string) string {
	if i := slices.Index([]string{"sysinit", "boot", "default", "shutdown"}, level); i >= 0 {
		return strconv.Itoa(i)
	}
	return "9" + level
}

// readRunlevels returns "runlevel/service" -> link target ("" for an
// entry that is not a link).
func readRunlevels(root string) (map[string]string, error) {
	out := map[string]string{}
	dir, err := resolveIn(root, runlevelsPath)
	if errors.Is(err, errMissing) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	levels, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("runlevels: %w", err)
	}
	for _, l := range levels {
		if !l.IsDir() {
			continue
		}
		entries, err := os.ReadDir(dir + "/" + l.Name())
		if err != nil {
			return nil, fmt.Errorf("runlevels: %w", err)
		}
		for _, e := range entries {
			target, _ := os.Readlink(dir + "/" + l.Name() + "/" + e.Name())
			out[l.Name()+"/"+e.Name()] = target
		}
	}
	return out, nil
}

// diffAccounts compares /etc/passwd and /etc/group.
func diffAccounts(a, b string) ([]UserChange, []GroupChange, error) {
	ua, err := readUsers(a)
	if err != nil {
		return nil, nil, err
	}
	ub, err := readUsers(b)
	if err != nil {
		return nil, nil, err
	}
	ga, err := readGroups(a)
	if err != nil {
		return nil, nil, err
	}
	gb, err := readGroups(b)
	if err != nil {
		return nil, nil, err
	}
	users := []UserChange{}
	for name, old := range ua {
		nw, ok := ub[name]
		if !ok {
			users = append(users, UserChange{Name: name, Change: Removed, Old: old})
			continue
		}
		var fields []string
		for _, f := range []struct {
			name     string
			old, new string
		}{{"uid", old.UID, nw.UID}, {"gid", old.GID, nw.GID}, {"comment", old.Comment, nw.Comment}, {"home", old.Home, nw.Home}, {"shell", old.Shell, nw.Shell}} {
			if f.old != f.new {
				fields = append(fields, f.name)
			}
		}
		if len(fields) > 0 {
			users = append(users, UserChange{Name: name, Change: Changed, Old: old, New: nw, Fields: fields})
		}
	}
	for name, nw := range ub {
		if _, ok := ua[name]; !ok {
			users = append(users, UserChange{Name: name, Change: Added, New: nw})
		}
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })

	groups := []GroupChange{}
	for name, old := range ga {
		nw, ok := gb[name]
		if !ok {
			groups = append(groups, GroupChange{Name: name, Change: Removed, Old: old})
			continue
		}
		var fields []string
		if old.GID != nw.GID {
			fields = append(fields, "gid")
		}
		if !slices.Equal(old.Members, nw.Members) {
			fields = append(fields, "members")
		}
		if len(fields) > 0 {
			groups = append(groups, GroupChange{Name: name, Change: Changed, Old: old, New: nw, Fields: fields})
		}
	}
	for name, nw := range gb {
		if _, ok := ga[name]; !ok {
			groups = append(groups, GroupChange{Name: name, Change: Added, New: nw})
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].Name < groups[j].Name })
	return users, groups, nil
}

// colonLines splits a colon-separated file (passwd, group) into its
// fields, skipping blank lines and comments; each line gets at least n
// fields.
func colonLines(text string, n int) [][]string {
	var out [][]string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		for len(f) < n {
			f = append(f, "")
		}
		out = append(out, f)
	}
	return out
}

func readUsers(root string) (map[string]*User, error) {
	text, _, err := readOptional(root, passwdPath)
	if err != nil {
		return nil, err
	}
	return parseUsers(text), nil
}

// parseUsers reads /etc/passwd.
func parseUsers(text string) map[string]*User {
	out := map[string]*User{}
	for _, f := range colonLines(text, 7) {
		out[f[0]] = &User{Name: f[0], UID: f[2], GID: f[3], Comment: f[4], Home: f[5], Shell: f[6]}
	}
	return out
}

func readGroups(root string) (map[string]*Group, error) {
	text, _, err := readOptional(root, groupPath)
	if err != nil {
		return nil, err
	}
	return parseGroups(text), nil
}

// parseGroups reads /etc/group.
func parseGroups(text string) map[string]*Group {
	out := map[string]*Group{}
	for _, f := range colonLines(text, 4) {
		members := []string{}
		for m := range strings.SplitSeq(f[3], ",") {
			if m = strings.TrimSpace(m); m != "" {
				members = append(members, m)
			}
		}
		out[f[0]] = &Group{Name: f[0], GID: f[2], Members: members}
	}
	return out
}

// diffMounts compares /etc/fstab entries by mount point.
func diffMounts(a, b string) ([]MountChange, error) {
	ma, err := readFstab(a)
	if err != nil {
		return nil, err
	}
	mb, err := readFstab(b)
	if err != nil {
		return nil, err
	}
	return diffMountMaps(ma, mb), nil
}

func diffMountMaps(ma, mb map[string]fstabEntry) []MountChange {
	out := []MountChange{}
	for key, old := range ma {
		nw, ok := mb[key]
		switch {
		case !ok:
			out = append(out, MountChange{Mountpoint: old.mountpoint, Change: Removed, Old: old.line})
		case nw.line != old.line:
			out = append(out, MountChange{Mountpoint: old.mountpoint, Change: Changed, Old: old.line, New: nw.line})
		}
	}
	for key, nw := range mb {
		if _, ok := ma[key]; !ok {
			out = append(out, MountChange{Mountpoint: nw.mountpoint, Change: Added, New: nw.line})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Mountpoint != out[j].Mountpoint {
			return out[i].Mountpoint < out[j].Mountpoint
		}
		return out[i].Old+out[i].New < out[j].Old+out[j].New
	})
	return out
}

type fstabEntry struct {
	mountpoint, line string
}

func readFstab(root string) (map[string]fstabEntry, error) {
	text, _, err := readOptional(root, fstabPath)
	if err != nil {
		return nil, err
	}
	return parseFstab(text), nil
}

// parseFstab keys entries by mount point; swap entries, which have none,
// by their line; a mount point given again (a mount over a mount) by its
// place among its kind ("/srv (2)").
func parseFstab(text string) map[string]fstabEntry {
	out := map[string]fstabEntry{}
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		e := fstabEntry{line: strings.Join(f, " ")}
		key := e.line
		if len(f) >= 2 {
			e.mountpoint = f[1]
			swap := len(f) >= 3 && f[2] == "swap" || f[1] == "none" || f[1] == "swap"
			if !swap {
				key = f[1]
			}
		}
		for i := 2; ; i++ {
			if _, dup := out[key]; !dup {
				break
			}
			key = fmt.Sprintf("%s (%d)", e.mountpoint, i)
		}
		out[key] = e
	}
	return out
}
