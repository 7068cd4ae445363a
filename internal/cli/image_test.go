package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/store"
	"github.com/cairnlinux/cairn/internal/store/storetest"
)

func sha256File(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	io.Copy(h, f)
	return hex.EncodeToString(h.Sum(nil))
}

// imageManifest writes a manifest whose packages come from a local
// repository.
func imageManifest(t *testing.T) string {
	repo := apktest.NewRepo(t, "")
	repo.Add(
		apktest.Pkg("base", "1.0-r0").File("etc/os-release", 0o644, "ID=test\n").Dir("etc/init.d", 0o755).File("bin/sh", 0o755, "#!shell\n"),
		apktest.Pkg("tool", "2.0-r0").Depends("base").File("usr/bin/tool", 0o755, "#!/bin/sh\n"),
	)
	repo.Write()
	mf := filepath.Join(t.TempDir(), "system.yaml")
	writeFile(t, mf, []byte(`apiVersion: cairn/v1
kind: System
name: img
alpine:
  arch: x86_64
  repositories: [{url: `+repo.URL()+`}]
  keys: [`+repo.KeysDir+`]
packages: [tool]
hostname: img
`))
	return mf
}

// TestImageTarAndOCI: each format twice from the same manifest and lock
// gives the same bytes; the output is refused when it exists, replaced
// with --force; bad input gets one clear message.
func TestImageTarAndOCI(t *testing.T) {
	mf := imageManifest(t)
	out := t.TempDir()
	cache := filepath.Join(out, "cache")
	for _, c := range []struct{ format, name string }{{"tar", "a.tar.gz"}, {"oci", "a.oci.tar"}} {
		a, b := filepath.Join(out, c.format+"-1-"+c.name), filepath.Join(out, c.format+"-2-"+c.name)
		for _, p := range []string{a, b} {
			if code, o, e := run(t, "image", "-f", mf, "--format", c.format, "-o", p, "--cache-dir", cache); code != 0 {
				t.Fatalf("image --format %s: exit %d\n%s%s", c.format, code, o, e)
			}
		}
		if sha256File(t, a) != sha256File(t, b) {
			t.Errorf("%s: two images of the same manifest and lock differ", c.format)
		}
		if code, _, e := run(t, "image", "-f", mf, "--format", c.format, "-o", a, "--cache-dir", cache); code == 0 || !strings.Contains(e, "exists: give another -o, or --force") {
			t.Errorf("%s: an existing output: exit %d: %s", c.format, code, e)
		}
		if code, _, e := run(t, "image", "-f", mf, "--format", c.format, "-o", a, "--force", "--cache-dir", cache); code != 0 || sha256File(t, a) != sha256File(t, b) {
			t.Errorf("%s: --force: exit %d: %s", c.format, code, e)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--format", "iso", "-o", filepath.Join(out, "x")}, ExitUsage, `unknown image format "iso": use initramfs, disk, tar, oci`},
		{[]string{"--format", "tar"}, ExitUsage, "give the output: -o OUT"},
		{[]string{"--format", "disk", "--size", "lots", "-o", filepath.Join(out, "x")}, ExitUsage, `--size "lots"`},
		{[]string{"--format", "tar", "--compression", "lz4", "-o", filepath.Join(out, "x")}, ExitUsage, "lz4"},
		{[]string{"--format", "disk", "--firmware", "openfirmware", "-o", filepath.Join(out, "x")}, ExitUsage, `--firmware "openfirmware": use both, bios, uefi`},
		{[]string{"--format", "tar", "--firmware", "bios", "-o", filepath.Join(out, "x")}, ExitUsage, "--firmware is for --format disk"},
	} {
		code, _, e := run(t, append([]string{"image", "-f", mf}, c.args...)...)
		if code != c.code || !strings.Contains(e, c.msg) {
			t.Errorf("image %v: exit %d, %q; want exit %d and %q", c.args, code, e, c.code, c.msg)
		}
	}
}

func TestParseFirmware(t *testing.T) {
	for in, want := range map[string][]string{"": nil, "both": nil, "bios": {"bios"}, "uefi": {"uefi"}} {
		if got, err := parseFirmware(in); err != nil || !slices.Equal(got, want) {
			t.Errorf("%q: %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"BIOS", "efi", "bios,uefi"} {
		if _, err := parseFirmware(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if code, _, e := run(t, "install", "--device", "/dev/null", "--firmware", "coreboot"); code != ExitUsage || !strings.Contains(e, `--firmware "coreboot"`) {
		t.Errorf("install --firmware coreboot: exit %d: %s", code, e)
	}
}

// TestImageFromGeneration: --generation N images a store's generation; a
// generation that does not exist is a clear error.
func TestImageFromGeneration(t *testing.T) {
	dir := t.TempDir()
	t.Cleanup(func() { storetest.Thaw(dir) })
	if _, err := makeStore(dir, store.InitOptions{Backend: store.BackendPlain}, 2); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "gen2.tar")
	if code, o, e := run(t, "image", "--store", dir, "--generation", "2", "--format", "tar", "--compression", "none", "-o", out); code != 0 {
		t.Fatalf("exit %d\n%s%s", code, o, e)
	}
	data, err := os.ReadFile(out)
	if err != nil || !strings.Contains(string(data), "gen2\n") {
		t.Errorf("the tar does not hold generation 2's hostname (%v)", err)
	}
	if code, _, e := run(t, "image", "--store", dir, "--generation", "9", "--format", "tar", "-o", out+"9"); code == 0 || !strings.Contains(e, "9") {
		t.Errorf("missing generation: exit %d: %s", code, e)
	}
}
