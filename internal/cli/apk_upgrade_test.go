package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
)

// TestAPKUpgradeSelfUpgradeFirst: a real upgrade commits apk-tools and its
// libraries first, then continues with the rest on the updated root.
func TestAPKUpgradeSelfUpgradeFirst(t *testing.T) {
	old := apktest.NewRepo(t, "")
	old.Add(
		apktest.Pkg("apk-tools", "1").Depends("libcrypto").File("sbin/apk", 0o755, "apk 1\n"),
		apktest.Pkg("libcrypto", "1").File("lib/libcrypto.so", 0o644, "crypto 1\n"),
		apktest.Pkg("app", "1").File("usr/bin/app", 0o755, "app 1\n"),
	)
	old.Write()
	root := filepath.Join(t.TempDir(), "root")
	if code, out, errOut := run(t, append([]string{"apk", "add", "--initdb", "--root", root, "--keys-dir", old.KeysDir, "--repository", old.URL()}, "apk-tools", "app")...); code != 0 {
		t.Fatalf("install: exit %d\n%s%s", code, out, errOut)
	}

	upd := apktest.NewRepo(t, "")
	upd.Add(
		apktest.Pkg("apk-tools", "2").Depends("libcrypto>=2").File("sbin/apk", 0o755, "apk 2\n"),
		apktest.Pkg("libcrypto", "2").File("lib/libcrypto.so", 0o644, "crypto 2\n"),
		apktest.Pkg("app", "2").File("usr/bin/app", 0o755, "app 2\n"),
	)
	upd.Write()
	code, out, errOut := run(t, "apk", "upgrade", "--root", root, "--keys-dir", old.KeysDir, "--repository", upd.URL())
	if code != 0 {
		t.Fatalf("upgrade: exit %d\n%s%s", code, out, errOut)
	}
	want := []string{
		"Upgrading critical system libraries and apk-tools:",
		"(1/2) Upgrading libcrypto (1 -> 2)",
		"(2/2) Upgrading apk-tools (1 -> 2)",
		"Continuing the upgrade transaction with new apk-tools:",
		"(1/1) Upgrading app (1 -> 2)",
		"OK: 0 MiB in 3 packages",
	}
	if got := strings.Split(strings.TrimSpace(out), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	db, err := os.ReadFile(filepath.Join(root, "lib/apk/db/installed"))
	if err != nil {
		t.Fatal(err)
	}
	pkgs, err := apk.ParseInstalledDB(string(db))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pkgs {
		got = append(got, p.NameVersion())
	}
	if strings.Join(got, " ") != "apk-tools-2 app-2 libcrypto-2" {
		t.Errorf("installed: %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "usr/bin/app")); string(b) != "app 2\n" {
		t.Errorf("app not upgraded: %q", b)
	}
}

func TestAPKAddJSON(t *testing.T) {
	repo := apktest.NewRepo(t, "")
	repo.Add(apktest.Pkg("a", "1").Depends("b").File("etc/a", 0o644, "a\n"), apktest.Pkg("b", "2").File("etc/b", 0o644, "b\n"))
	repo.Write()
	root := filepath.Join(t.TempDir(), "root")
	args := []string{"apk", "add", "--json", "--initdb", "--root", root, "--keys-dir", repo.KeysDir, "--repository", repo.URL(), "a"}
	for _, sim := range []bool{true, false} {
		a := args
		if sim {
			a = append(append([]string{}, args...), "--simulate")
		}
		code, out, errOut := run(t, a...)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var got struct {
			Simulated bool
			Changes   []struct{ Action, Name, NewVersion string } `json:"changes"`
			World     []string
		}
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if got.Simulated != sim || len(got.Changes) != 2 || got.Changes[0].Name != "b" || got.Changes[1].Action != "Installing" || strings.Join(got.World, " ") != "a" {
			t.Errorf("simulate=%v: %s", sim, out)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "etc/a")); err != nil {
		t.Error("the real install did not happen")
	}
}

// TestAPKAddNoScriptsSaysWhich: with --no-scripts, cairn names the
// packages whose scripts did not run.
func TestAPKAddNoScriptsSaysWhich(t *testing.T) {
	repo := apktest.NewRepo(t, "")
	repo.Add(
		apktest.Pkg("with-script", "1").Script("post-install", "#!/bin/sh\necho hi\n").File("etc/a", 0o644, "a\n"),
		apktest.Pkg("plain", "1").File("etc/b", 0o644, "b\n"),
	)
	repo.Write()
	root := filepath.Join(t.TempDir(), "root")
	code, _, errOut := run(t, "apk", "add", "--no-scripts", "--initdb", "--root", root, "--keys-dir", repo.KeysDir, "--repository", repo.URL(), "with-script", "plain")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(errOut, "--no-scripts: the scripts of 1 package(s) did not run: with-script-1") {
		t.Errorf("no report of the skipped scripts: %q", errOut)
	}
}
