package cli

import (
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
