package apkfile

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
)

// TestIndexFiles: the files that verify are indexed once per package, in
// index order, with their size and the rewritten arch; one that does not
// verify is reported and does not stop the others.
func TestIndexFiles(t *testing.T) {
	signer := testSigner(t, 0)
	dir := t.TempDir()
	write := func(name, pkg, deps, provides string) string {
		t.Helper()
		d, err := apk.ParseDependencies(deps)
		if err != nil {
			t.Fatal(err)
		}
		p, err := apk.ParseDependencies(provides)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := writeSpec(t, &PackageSpec{Info: apk.Package{Name: pkg, Version: "1-r0", Arch: "noarch", Description: pkg, License: "MIT", Depends: d, Provides: p}}, signer)
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return f
	}
	zed := write("zed.apk", "zed", "libb so:libX.so.1 !gone", "")
	alpha := write("alpha.apk", "alpha", "zed cmd:Sh", "libb")
	again := filepath.Join(dir, "alpha-copy.apk")
	data, _ := os.ReadFile(alpha)
	os.WriteFile(again, data, 0o644)
	bad := filepath.Join(dir, "bad.apk")
	os.WriteFile(bad, []byte("not a package"), 0o644)

	recs, failed, err := IndexFiles(context.Background(), []string{zed, bad, alpha, again}, trusting(signer), "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		got = append(got, r.NameVersion()+" "+r.Arch)
		if r.Size != int64(len(data)) && r.Name == "alpha" {
			t.Errorf("alpha's size %d, its file's %d", r.Size, len(data))
		}
	}
	if strings.Join(got, ", ") != "alpha-1-r0 x86_64, zed-1-r0 x86_64" {
		t.Errorf("indexed %q", got)
	}
	if len(failed) != 1 || failed[0].File != bad || !IsContentError(failed[0].Err) || !strings.HasPrefix(failed[0].Error(), bad+": ") {
		t.Errorf("failed %v, want bad.apk as a content error", failed)
	}
	if m := MissingProviders(recs); !slices.Equal(m, []string{"cmd:Sh", "so:libX.so.1"}) {
		t.Errorf("missing providers %q", m)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := IndexFiles(ctx, []string{zed}, trusting(signer), ""); err == nil {
		t.Error("a cancelled IndexFiles succeeded")
	}
}
