package gendiff

import (
	"testing"
)

// The account and fstab parsers take any text: they never panic, and a
// text compared with itself shows no change.
func FuzzParseSystemFiles(f *testing.F) {
	for _, seed := range []string{
		"root:x:0:0:root:/root:/bin/ash\nalice:x:1000:1000:Alice:/home/alice:/bin/ash\n",
		"root:x:0:root\nwheel:x:10:root,alice\n",
		"# static\nLABEL=root / btrfs ro 0 0\n/dev/sda2 none swap sw 0 0\n/dev/sdb /srv ext4 defaults 0 2\n/dev/sdc /srv ext4 defaults 0 2\n",
		"", "::::::\n#\n \t\n:\n", "a b\nc\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		users, groups, mounts := parseUsers(text), parseGroups(text), parseFstab(text)
		for name, u := range users {
			if u.Name != name {
				t.Errorf("user %q keyed as %q", u.Name, name)
			}
		}
		for name, g := range groups {
			if g.Name != name || g.Members == nil {
				t.Errorf("group %+v keyed as %q", g, name)
			}
		}
		if c := diffMountMaps(mounts, parseFstab(text)); len(c) != 0 {
			t.Errorf("fstab compared with itself: %+v", c)
		}
	})
}
