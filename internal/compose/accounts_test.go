//go:build linux

package compose

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// apkUsers are what package scripts add after alpine-baselayout-data
// (nginx's pre-install: addgroup -S nginx; adduser -S -G nginx nginx).
const (
	apkPasswd = "nginx:x:100:101:nginx:/var/lib/nginx:/sbin/nologin\n"
	apkGroup  = "nginx:x:101:nginx\n"
	apkShadow = "nginx:!:19500:0:99999:7:::\n"
)

func seedWithAPKUsers(t *testing.T) string {
	root := seedRoot(t)
	appendTo(t, filepath.Join(root, "etc/passwd"), apkPasswd)
	appendTo(t, filepath.Join(root, "etc/group"), apkGroup)
	appendTo(t, filepath.Join(root, "etc/shadow"), apkShadow)
	stampAll(t, root, seedTime)
	return root
}

func exampleAccounts() ([]manifest.User, []manifest.Group) {
	users := []manifest.User{
		{Name: "alice", Gecos: "Alice Liddell", Groups: []string{"wheel", "media"},
			PasswordHash:      "$6$salt$Nq0Y1Xh2",
			SSHAuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice alice@laptop", "  ssh-rsa AAAAB3NzaC1yc2E alice@old  "}},
		{Name: "carol", UID: intp(1500), Shell: "/bin/ash", Groups: []string{"devs"}},
		{Name: "nomad", System: true},
		{Name: "consul", System: true, Home: "/var/lib/consul", Group: "sysgrp"},
		{Name: "root", SSHAuthorizedKeys: []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRoot admin@desk"}},
		{Name: "ntp", Shell: "/bin/false"},
		{Name: "dave", Group: "users", Home: "/srv/dave"},
	}
	groups := []manifest.Group{
		{Name: "media"},
		{Name: "sysgrp", System: true},
		{Name: "devs", GID: intp(2000), Members: []string{"nginx"}},
		{Name: "wheel", Members: []string{"dave"}},
	}
	return users, groups
}

func TestAccounts(t *testing.T) {
	root := seedWithAPKUsers(t)
	before := scan(t, root)
	users, groups := exampleAccounts()
	if err := Accounts(root, users, groups, buildTime); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"passwd", "group", "shadow"} {
		golden(t, "accounts/"+f, readRootFile(t, root, "etc/"+f))
	}
	after := scan(t, root)
	golden(t, "accounts/tree", listing(after))
	checkStamps(t, before, after)

	wantOwnerMode(t, root, "etc/passwd", 0o644, 0, 0)
	wantOwnerMode(t, root, "etc/group", 0o644, 0, 0)
	wantOwnerMode(t, root, "etc/shadow", 0o640, 0, 42)
	wantOwnerMode(t, root, "home", os.ModeDir|0o755, 0, 0)
	wantOwnerMode(t, root, "home/alice", os.ModeDir|0o755, 1000, 1000)
	wantOwnerMode(t, root, "home/alice/.ssh", os.ModeDir|0o700, 1000, 1000)
	wantOwnerMode(t, root, "home/alice/.ssh/authorized_keys", 0o600, 1000, 1000)
	wantOwnerMode(t, root, "home/carol", os.ModeDir|0o755, 1500, 1500)
	wantOwnerMode(t, root, "var/lib/consul", os.ModeDir|0o755, 101, 103)
	wantOwnerMode(t, root, "var/lib", os.ModeDir|0o755, 0, 0)
	wantOwnerMode(t, root, "srv/dave", os.ModeDir|0o755, 1001, 100)
	// root's existing home keeps its mode; its keys are root's.
	wantOwnerMode(t, root, "root", os.ModeDir|0o700, 0, 0)
	wantOwnerMode(t, root, "root/.ssh/authorized_keys", 0o600, 0, 0)
	if _, err := os.Lstat(filepath.Join(root, "var/empty")); !os.IsNotExist(err) {
		t.Errorf("/var/empty was created for a system user: %v", err)
	}
	keys := string(readRootFile(t, root, "home/alice/.ssh/authorized_keys"))
	if keys != "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAlice alice@laptop\nssh-rsa AAAAB3NzaC1yc2E alice@old\n" {
		t.Errorf("authorized_keys:\n%s", keys)
	}
}

func TestAccountsKeepExistingEntries(t *testing.T) {
	root := seedWithAPKUsers(t)
	files := []string{"etc/passwd", "etc/group", "etc/shadow"}
	old := map[string][]byte{}
	for _, f := range files {
		old[f] = readRootFile(t, root, f)
	}
	users, groups := exampleAccounts()
	if err := Accounts(root, users, groups, buildTime); err != nil {
		t.Fatal(err)
	}
	declared := map[string]bool{}
	for _, u := range users {
		declared[u.Name] = true
	}
	for _, g := range groups {
		declared[g.Name] = true
	}
	// Every entry nobody declared is byte for byte on the line it was.
	for _, f := range files {
		now := strings.Split(string(readRootFile(t, root, f)), "\n")
		for i, line := range strings.Split(strings.TrimSuffix(string(old[f]), "\n"), "\n") {
			if name, _, _ := strings.Cut(line, ":"); !declared[name] && now[i] != line {
				t.Errorf("%s line %d changed: %q -> %q", f, i+1, line, now[i])
			}
		}
	}
}

func TestAccountsIdempotent(t *testing.T) {
	root := seedWithAPKUsers(t)
	users, groups := exampleAccounts()
	if err := Accounts(root, users, groups, buildTime); err != nil {
		t.Fatal(err)
	}
	first := listing(scan(t, root))
	if err := Accounts(root, users, groups, buildTime); err != nil {
		t.Fatal(err)
	}
	if second := listing(scan(t, root)); string(second) != string(first) {
		t.Errorf("a second run changed the root:\n--- first\n%s\n--- second\n%s", first, second)
	}
}

func TestAccountsErrors(t *testing.T) {
	tests := []struct {
		name   string
		users  []manifest.User
		groups []manifest.Group
		want   []string
	}{
		{"uid of an existing account", []manifest.User{{Name: "alice", UID: intp(22)}}, nil,
			[]string{"users[0] (alice): uid 22 is already used by sshd"}},
		{"uid of a package's system user", []manifest.User{{Name: "bob"}, {Name: "alice", UID: intp(100)}}, nil,
			[]string{"users[1] (alice): uid 100 is already used by nginx"}},
		{"two declared users on one uid", []manifest.User{{Name: "bob", UID: intp(1000)}, {Name: "alice", UID: intp(1000)}}, nil,
			[]string{"users[1] (alice): uid 1000 is already used by bob"}},
		{"gid of an existing group", nil, []manifest.Group{{Name: "staff", GID: intp(10)}},
			[]string{"groups[0] (staff): gid 10 is already used by group wheel"}},
		{"changing root's uid to a used one", []manifest.User{{Name: "root", UID: intp(1)}}, nil,
			[]string{"users[0] (root): uid 1 is already used by bin"}},
		{"unknown supplementary group", []manifest.User{{Name: "alice", Groups: []string{"wheel", "docker"}}}, nil,
			[]string{`users[0] (alice): groups[1]: "docker" is neither in the root's /etc/group nor declared under groups`}},
		{"unknown primary group", []manifest.User{{Name: "alice", Group: "staff"}}, nil,
			[]string{`users[0] (alice): group: "staff" is neither`}},
		{"unknown member", nil, []manifest.Group{{Name: "media", Members: []string{"nobody", "zoe"}}},
			[]string{`groups[0] (media): members[1]: user "zoe" is neither`}},
		{"ssh keys without a home", []manifest.User{{Name: "svc", System: true, SSHAuthorizedKeys: []string{"ssh-ed25519 AAAA"}}}, nil,
			[]string{"users[0] (svc): sshAuthorizedKeys need a home directory, and /var/empty is none"}},
		{"bad names and fields, all reported", []manifest.User{{Name: "al:ice"}, {Name: "bob", Gecos: "Bob: the builder", Home: "home/bob"}}, nil,
			[]string{`users[0]: name: "al:ice" is not a valid name`, `users[1] (bob): gecos: "Bob: the builder" may not contain ':'`, `users[1] (bob): home: "home/bob" is not an absolute path`}},
		{"declared twice", []manifest.User{{Name: "bob"}, {Name: "bob"}}, nil,
			[]string{"users[1] (bob): declared again (first as users[0])"}},
		{"multi-line key", []manifest.User{{Name: "bob", SSHAuthorizedKeys: []string{"ssh-ed25519 A\nssh-rsa B"}}}, nil,
			[]string{"users[0] (bob): sshAuthorizedKeys[0]: one key per entry"}},
		{"no system ids left", manyUsers(901), nil,
			[]string{"no free uid left in 100-999"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := seedWithAPKUsers(t)
			before := listing(scan(t, root))
			err := Accounts(root, tt.users, tt.groups, buildTime)
			wantErr(t, err, tt.want...)
			if after := listing(scan(t, root)); string(after) != string(before) {
				t.Errorf("a refused declaration changed the root:\n%s", after)
			}
		})
	}
}

func manyUsers(n int) []manifest.User {
	users := make([]manifest.User, n)
	for i := range users {
		users[i] = manifest.User{Name: "svc" + strconv.Itoa(i), System: true}
	}
	return users
}
