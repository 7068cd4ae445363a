//go:build linux

package compose

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cairnlinux/cairn/internal/layout"
)

func exampleGeneration() layout.Generation {
	return layout.Generation{
		Name:           "node1",
		Description:    "cluster node <nomad & consul>",
		ManifestDigest: "sha256:5f1c0d6e",
		LockDigest:     "sha256:9a8b7c6d",
		Packages: []layout.GenerationPackage{
			{Name: "musl", Version: "1.2.4_git20230717-r4"},
			{Name: "alpine-baselayout-data", Version: "3.4.3-r2"},
			{Name: "linux-virt", Version: "6.6.14-r0"},
			{Name: "busybox", Version: "1.36.1-r15"},
		},
		Kernel:       "linux-virt",
		CairnVersion: "0.3.0",
	}
}

func TestWriteGeneration(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	stampAll(t, root, seedTime)
	before := scan(t, root)
	// A build time in another zone is recorded in UTC.
	g := exampleGeneration()
	g.BuildTime = buildTime.In(time.FixedZone("CET", 3600))
	if err := WriteGeneration(root, g, buildTime); err != nil {
		t.Fatal(err)
	}
	data := readRootFile(t, root, "usr/lib/cairn/generation.json")
	golden(t, "generation/generation.json", data)
	wantOwnerMode(t, root, "usr/lib/cairn/generation.json", 0o644, 0, 0)
	after := scan(t, root)
	checkStamps(t, before, after)

	var back layout.Generation
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !back.BuildTime.Equal(buildTime) || back.Packages[0].Name != "alpine-baselayout-data" {
		t.Errorf("read back %+v", back)
	}
}

func TestWriteGenerationDefaults(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	// No build time: the mtime; no packages: an empty list, not null.
	if err := WriteGeneration(root, layout.Generation{ManifestDigest: "sha256:m", LockDigest: "sha256:l"}, buildTime); err != nil {
		t.Fatal(err)
	}
	got := string(readRootFile(t, root, "usr/lib/cairn/generation.json"))
	want := `{
  "buildTime": "2024-01-26T17:26:40Z",
  "cairnVersion": "",
  "lockDigest": "sha256:l",
  "manifestDigest": "sha256:m",
  "packages": []
}
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

// TestReproducible composes two roots the same way, one of them twice,
// and requires the three trees to be identical in every path, mode,
// owner, date, symlink target and content.
func TestReproducible(t *testing.T) {
	manifestDir := makeSkeleton(t)
	seed := func() string {
		root := seedWithAPKUsers(t)
		seedTzdata(t, root)
		return root
	}
	compose := func(root string) {
		t.Helper()
		users, groups := exampleAccounts()
		steps := []func() error{
			func() error { return Accounts(root, users, groups, buildTime) },
			func() error { return System(root, exampleSystem(), buildTime) },
			func() error { return Files(root, manifestDir, filesWith(exampleInline()), buildTime) },
			func() error { return WriteGeneration(root, exampleGeneration(), buildTime) },
		}
		for _, step := range steps {
			if err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	a, b := seed(), seed()
	compose(a)
	compose(b)
	la, lb := listing(scan(t, a)), listing(scan(t, b))
	if string(la) != string(lb) {
		t.Errorf("two builds differ:\n--- a\n%s\n--- b\n%s", la, lb)
	}
	compose(a)
	if again := listing(scan(t, a)); string(again) != string(la) {
		t.Errorf("composing again changed the tree:\n%s", again)
	}
	golden(t, "all/tree", la)
}

func TestWriteManifest(t *testing.T) {
	needRoot(t)
	root := t.TempDir()
	files := []ManifestFile{
		{Path: "system.yaml", Data: []byte("apiVersion: cairn/v1\n")},
		{Path: "base/common.yaml", Data: []byte("kind: System\n")},
		{Path: "cairn.lock", Data: []byte("lockVersion: 1\n")},
	}
	if err := WriteManifest(root, files, buildTime); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		p := filepath.Join(root, layout.ManifestDir, f.Path)
		data, err := os.ReadFile(p)
		fi, _ := os.Stat(p)
		if err != nil || string(data) != string(f.Data) || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %q %v %v", f.Path, data, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, layout.ManifestDir, "base")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("base/: %v %v", fi.Mode(), err)
	}
	for _, bad := range []string{"../escape", "/abs", "a/../../b", ""} {
		if err := WriteManifest(root, []ManifestFile{{Path: bad}}, buildTime); err == nil {
			t.Errorf("WriteManifest accepted %q", bad)
		}
	}
}
