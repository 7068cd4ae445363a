package compose_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/compose"
	"github.com/cairnlinux/cairn/internal/manifest"
	"github.com/cairnlinux/cairn/internal/state"
)

func TestDeclared(t *testing.T) {
	root, mdir := t.TempDir(), t.TempDir()
	for base, files := range map[string][]string{
		root: {"var/lib/a", "var/lib/s/x", "var/lib/s/y", "etc/motd", "srv/app.conf", "home/u/.profile"},
		mdir: {"root/var/lib/s/x", "root/var/lib/s/y", "root/etc/motd"},
	} {
		for _, f := range files {
			os.MkdirAll(filepath.Join(base, filepath.Dir(f)), 0o755)
			if err := os.WriteFile(filepath.Join(base, f), []byte(f), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	sys := &manifest.System{
		Persist: []string{"/srv"},
		Files: manifest.Files{
			Skeleton: "root",
			Seeds:    []string{"/var/lib/s/y"},
			Inline: []manifest.InlineFile{
				{Path: "/var/lib/a", State: "seed"},
				{Path: "/var/lib/s/x"}, // over the skeleton's: the inline one counts
				{Path: "/etc/motd"},
				{Path: "/srv/app.conf"},
			},
		},
	}
	if err := compose.Declared(root, mdir, sys, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	d, err := state.ReadDeclared(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []state.Entry{
		{Path: "/srv/app.conf", State: state.Managed, From: "files.inline[3]"},
		{Path: "/var/lib/a", State: state.Seed, From: "files.inline[0]"},
		{Path: "/var/lib/s/x", State: state.Managed, From: "files.inline[1]"},
		{Path: "/var/lib/s/y", State: state.Seed, From: "files.skeleton"},
	}
	if len(d.Files) != len(want) {
		t.Fatalf("declared: %+v\nwant %+v", d.Files, want)
	}
	for i := range want {
		if d.Files[i] != want[i] {
			t.Errorf("declared[%d] = %+v, want %+v", i, d.Files[i], want[i])
		}
		if b, err := os.ReadFile(filepath.Join(root, state.DeclaredDir, want[i].Path)); err != nil || string(b) != want[i].Path[1:] {
			t.Errorf("the copy of %s: %q %v", want[i].Path, b, err)
		}
	}
}
