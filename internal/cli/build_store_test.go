package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

// TestBuildIntoStore makes a store with cairn init and builds two
// generations into it with cairn build --store; a build that fails adds
// nothing and leaves no staging tree.
func TestBuildIntoStore(t *testing.T) {
	repo := apktest.NewRepo(t, "")
	repo.Add(
		apktest.Pkg("base", "1.0-r0").File("etc/os-release", 0o644, "ID=test\n").Dir("etc/init.d", 0o755),
		apktest.Pkg("tool", "2.0-r0").Depends("base").File("usr/bin/tool", 0o755, "#!/bin/sh\n"),
	)
	repo.Write()
	dir := t.TempDir()
	mf := filepath.Join(dir, "system.yaml")
	manifest := `apiVersion: cairn/v1
kind: System
name: box
alpine:
  arch: x86_64
  repositories: [{url: ` + repo.URL() + `}]
  keys: [` + repo.KeysDir + `]
packages: [tool]
hostname: box
`
	writeFile(t, mf, []byte(manifest))
	top := filepath.Join(dir, "store")
	if err := os.Mkdir(top, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { storetest.Thaw(top) })
	if code, out, errOut := run(t, "init", "--backend", "plain", top); code != 0 || !strings.Contains(out, "made a plain store") {
		t.Fatalf("init: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := run(t, "init", top); code == 0 || !strings.Contains(errOut, "already holds a store") {
		t.Errorf("a second init: exit %d: %s", code, errOut)
	}

	code, out, errOut := run(t, "build", "-f", mf, "--store", top)
	if code != 0 {
		t.Fatalf("build: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(out, "built generation 1") {
		t.Errorf("output: %s", out)
	}
	code, out, errOut = run(t, "build", "-f", mf, "--store", top, "--json")
	if code != 0 {
		t.Fatalf("second build: exit %d\n%s%s", code, out, errOut)
	}
	var res struct {
		Generation int    `json:"generation"`
		Root       string `json:"root"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Generation != 2 {
		t.Fatalf("--json: %v: %s", err, out)
	}
	st, err := store.Open(top)
	if err != nil {
		t.Fatal(err)
	}
	g, err := st.Get(2)
	if err != nil {
		t.Fatal(err)
	}
	if g.Meta.Description != "box" || len(g.Meta.Packages) != 2 || g.Path != res.Root {
		t.Errorf("generation 2: %+v", g)
	}
	if b, err := os.ReadFile(filepath.Join(g.Path, "etc/hostname")); err != nil || string(b) != "box\n" {
		t.Errorf("etc/hostname: %q %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(g.Path, "etc/hostname"), []byte("x\n"), 0o644); err == nil {
		t.Error("a sealed generation could be written")
	}
	state, _ := st.State()
	if state.Default != 0 || state.Trial.Generation != 0 {
		t.Errorf("a build changed what boots: %+v", state)
	}

	// A package that does not exist: nothing sealed, no staging left.
	writeFile(t, mf, []byte(strings.Replace(manifest, "packages: [tool]", "packages: [tool, nosuch]", 1)))
	code, _, errOut = run(t, "build", "-f", mf, "--store", top)
	if code == 0 || !strings.Contains(errOut, "nosuch") {
		t.Errorf("a build of a missing package: exit %d: %s", code, errOut)
	}
	gens, err := st.Generations()
	if err != nil || len(gens) != 2 {
		t.Errorf("after a failed build: %d generations (%v)", len(gens), err)
	}
	if left, _ := os.ReadDir(filepath.Join(top, "@cairn", "staging")); len(left) != 0 {
		t.Errorf("staging trees left: %v", left)
	}

	// Both --root and --store: a usage error. Neither: the running
	// system's store, which this machine does not have.
	if code, _, _ := run(t, "build", "-f", mf, "--store", top, "--root", filepath.Join(dir, "r")); code != ExitUsage {
		t.Errorf("build with two targets: exit %d", code)
	}
	t.Setenv("CAIRN_STORE", "")
	if code, _, errOut := run(t, "build", "-f", mf); code != ExitFailure || !strings.Contains(errOut, "no store at "+DefaultStore) {
		t.Errorf("build without a store: exit %d: %s", code, errOut)
	}
}
