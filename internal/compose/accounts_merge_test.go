//go:build linux

package compose

import (
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/manifest"
)

// mergeSmall merges into a small database and returns the files as text.
func mergeSmall(t *testing.T, passwd, group, gshadow string, users []manifest.User, groups []manifest.Group) map[string]string {
	t.Helper()
	db := &accountDB{
		passwd: parseColonFile([]byte(passwd), 7),
		group:  parseColonFile([]byte(group), 4),
		shadow: parseColonFile(nil, 9),
	}
	if gshadow != "" {
		db.gshadow = parseColonFile([]byte(gshadow), 4)
	}
	if _, err := newMerger(db, 19748).merge(users, groups); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{"passwd": string(db.passwd.bytes()), "group": string(db.group.bytes()), "shadow": string(db.shadow.bytes())}
	if db.gshadow != nil {
		out["gshadow"] = string(db.gshadow.bytes())
	}
	return out
}

const smallPasswd = "root:x:0:0:root:/root:/bin/ash\nntp:x:123:123:NTP:/var/empty:/sbin/nologin\n"
const smallGroup = "root:x:0:root\nusers:x:100:games\nntp:x:123:\n"

func TestMergeIDs(t *testing.T) {
	tests := []struct {
		name        string
		users       []manifest.User
		groups      []manifest.Group
		file, wants string // lines that file must contain, separated by '|'
	}{
		{"own group takes the uid as gid", []manifest.User{{Name: "alice"}}, nil,
			"passwd", "alice:x:1000:1000::/home/alice:/bin/sh"},
		{"uid and gid searched together, as busybox adduser does",
			[]manifest.User{{Name: "alice"}}, []manifest.Group{{Name: "media", GID: intp(1000)}},
			"passwd", "alice:x:1001:1001:"},
		{"declaring a group never shifts a uid",
			[]manifest.User{{Name: "alice"}}, []manifest.Group{{Name: "media"}},
			"group", "media:x:1001:|alice:x:1000:"},
		{"explicit uid whose gid is taken: own group from the range",
			[]manifest.User{{Name: "alice", UID: intp(100)}}, nil,
			"group", "alice:x:1000:"},
		{"system ids from 100, skipping used uids and gids",
			[]manifest.User{{Name: "svc", System: true}}, []manifest.Group{{Name: "sysg", System: true}},
			"passwd", "svc:x:101:101::/var/empty:/sbin/nologin"},
		{"system group skips the gids users took",
			[]manifest.User{{Name: "svc", System: true}}, []manifest.Group{{Name: "sysg", System: true}},
			"group", "sysg:x:102:|svc:x:101:"},
		{"existing account updated in place",
			[]manifest.User{{Name: "ntp", UID: intp(124), Shell: "/bin/false"}}, nil,
			"passwd", "root:x:0:0:root:/root:/bin/ash\nntp:x:124:123:NTP:/var/empty:/bin/false\n"},
		{"existing group gets a new gid and members",
			[]manifest.User{{Name: "alice", Groups: []string{"users"}}}, []manifest.Group{{Name: "users", GID: intp(1100), Members: []string{"ntp"}}},
			"group", "users:x:1100:games,alice,ntp"},
		{"a group's new gid follows into passwd",
			nil, []manifest.Group{{Name: "ntp", GID: intp(1123)}},
			"passwd", "ntp:x:123:1123:NTP:"},
		{"a group of the user's name becomes its primary group",
			[]manifest.User{{Name: "alice"}}, []manifest.Group{{Name: "alice", GID: intp(3000)}},
			"passwd", "alice:x:1000:3000:"},
		{"primary group by name",
			[]manifest.User{{Name: "alice", Group: "users"}}, nil,
			"passwd", "alice:x:1000:100:"},
		{"locked without a hash, '*' with keys, the hash when given",
			[]manifest.User{{Name: "a"}, {Name: "b", SSHAuthorizedKeys: []string{"ssh-ed25519 K"}}, {Name: "c", PasswordHash: "$6$x$y"}}, nil,
			"shadow", "a:!:19748:0:99999:7:::|b:*:19748:0:99999:7:::|c:$6$x$y:19748:0:99999:7:::"},
		{"gshadow kept in step",
			[]manifest.User{{Name: "alice", Groups: []string{"users"}}}, nil,
			"gshadow", "users:!::games,alice|alice:!::"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mergeSmall(t, smallPasswd, smallGroup, "root:::\nusers:!::games\n", tt.users, tt.groups)
			for _, want := range strings.Split(tt.wants, "|") {
				if !strings.Contains(got[tt.file], want) {
					t.Errorf("%s lacks %q:\n%s", tt.file, want, got[tt.file])
				}
			}
		})
	}
}

func TestParseColonFileKeepsOddLines(t *testing.T) {
	in := "# comment\nroot:x:0:0:root:/root:/bin/ash\n\n+@netgroup\nbroken:line\n"
	f := parseColonFile([]byte(in), 7)
	if got := string(f.bytes()); got != in {
		t.Errorf("round trip:\n%q\nwant\n%q", got, in)
	}
	if f.get("broken") != nil || f.get("root") == nil {
		t.Error("entries misread")
	}
}
