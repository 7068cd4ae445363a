package node

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/cairnlinux/cairn/internal/gendiff"
)

func TestRestartSet(t *testing.T) {
	owners := map[string][]string{
		"chronyd": {"chrony", "chrony-openrc"},
		"sshd":    {"openssh", "openssh-server", "openssh-server-common-openrc"},
	}
	started := []string{"cairn-confirm", "chronyd", "sshd", "syslog"}
	for _, tc := range []struct {
		name string
		diff gendiff.Diff
		want []string
	}{
		{"motd only", gendiff.Diff{Files: []gendiff.FileChange{{Path: "etc/motd"}}}, []string{}},
		{"conf.d", gendiff.Diff{Files: []gendiff.FileChange{{Path: "etc/conf.d/chronyd"}}}, []string{"chronyd"}},
		{"init script", gendiff.Diff{Files: []gendiff.FileChange{{Path: "etc/init.d/syslog"}}}, []string{"syslog"}},
		{"a package of the origin", gendiff.Diff{Packages: []gendiff.PackageChange{{Name: "openssh-server", Change: "Upgraded"}}}, []string{"sshd"}},
		{"a file of a related package", gendiff.Diff{Files: []gendiff.FileChange{{Path: "etc/chrony/chrony.conf", Package: "chrony"}}}, []string{"chronyd"}},
		{"a new file in the package's directory", gendiff.Diff{Files: []gendiff.FileChange{{Path: "etc/openssh/x.conf"}}}, []string{"sshd"}},
		{"cairn-confirm never", gendiff.Diff{Files: []gendiff.FileChange{{Path: "etc/init.d/cairn-confirm"}}}, []string{}},
		{"not started", gendiff.Diff{Files: []gendiff.FileChange{{Path: "etc/conf.d/nginx"}}}, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := RestartSet(&tc.diff, owners, started); !slices.Equal(got, tc.want) {
				t.Errorf("RestartSet = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestServiceOwners(t *testing.T) {
	root := t.TempDir()
	db := `P:chrony
V:4.5-r0
o:chrony
F:etc/chrony
R:chrony.conf

P:chrony-openrc
V:4.5-r0
o:chrony
F:etc/init.d
R:chronyd

P:busybox-openrc
o:busybox
F:etc/init.d
R:syslog
`
	if err := os.MkdirAll(filepath.Join(root, "lib/apk/db"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "lib/apk/db/installed"), []byte(db), 0o644); err != nil {
		t.Fatal(err)
	}
	got := serviceOwners(root)
	if !slices.Equal(got["chronyd"], []string{"chrony", "chrony-openrc"}) || !slices.Equal(got["syslog"], []string{"busybox-openrc"}) {
		t.Errorf("serviceOwners = %q", got)
	}
}
