package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk"
	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// runAPKTool runs cairn in-process and returns the exit code and outputs.
func runAPKTool(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, Stdio{Stdin: strings.NewReader(""), Stdout: &stdout, Stderr: &stderr})
	return code, stdout.String(), stderr.String()
}

func alpineFixtures(t *testing.T) string {
	return filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
}

// testRepo writes a small signed repository and a private key file for
// its key, named as abuild-keygen names keys.
func testRepo(t *testing.T) (r *apktest.Repo, privKey string) {
	t.Helper()
	r = apktest.NewRepo(t, "")
	r.Add(
		apktest.Pkg("hello", "2.12-r0").DependsSO("libc.musl-x86_64.so.1").ProvidesCmd("hello").
			File("usr/bin/hello", 0o755, "#!/bin/sh\necho hello\n").
			Script("post-install", "#!/bin/sh\necho installed\n"),
		apktest.Pkg("hello-doc", "2.12-r0").Arch("noarch").InstallIf("hello=2.12-r0", "docs").
			File("usr/share/doc/hello/README", 0o644, "hello\n"),
		apktest.Pkg("musl", "1.2.4-r4").ProvidesSO("libc.musl-x86_64.so.1").
			File("lib/ld-musl-x86_64.so.1", 0o755, "\x7fELF"),
	)
	r.Write()
	privKey = filepath.Join(t.TempDir(), strings.TrimSuffix(r.KeyName, ".pub"))
	if err := os.WriteFile(privKey, apktest.PrivateKeyPEM(r.Key), 0o600); err != nil {
		t.Fatal(err)
	}
	return r, privKey
}

func repoPackages(t *testing.T, r *apktest.Repo) []string {
	files, err := filepath.Glob(filepath.Join(r.Dir, r.Arch, "*.apk"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no packages in %s: %v", r.Dir, err)
	}
	return files
}

func readIndexFile(t *testing.T, name string, o apkfile.Options) (*apkfile.SignedIndex, []*apk.Package) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	idx, err := apkfile.ReadIndex(data, o)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := apk.ParseIndex(idx.Text)
	if err != nil {
		t.Fatal(err)
	}
	return idx, recs
}

// TestAPKIndexMatchesAlpine indexes Alpine's own packages and compares
// the records with Alpine's index of the same files.
func TestAPKIndexMatchesAlpine(t *testing.T) {
	fx := alpineFixtures(t)
	files, _ := filepath.Glob(filepath.Join(fx, "packages", "*.apk"))
	out := filepath.Join(t.TempDir(), "APKINDEX.tar.gz")
	args := append([]string{"apk", "--keys-dir", filepath.Join(fx, "keys"), "index",
		"--rewrite-arch", "x86_64", "-d", "v3.19.1", "-o", out}, files...)
	code, stdout, stderr := runAPKTool(t, args...)
	if code != 0 || stdout != "Index has 6 packages\n" {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, stdout, stderr)
	}
	if !strings.HasPrefix(stderr, "WARNING: No provider for the dependencies:\n  alpine-baselayout alpine-conf apk-tools") ||
		!strings.HasSuffix(stderr, "WARNING: Total of 25 unsatisfiable package names. Your repository may be broken.\n") {
		t.Errorf("warnings:\n%s", stderr)
	}
	idx, got := readIndexFile(t, out, apkfile.Options{AllowUntrusted: true})
	if idx.Description != "v3.19.1" || idx.Signer != "" {
		t.Errorf("description %q signer %q", idx.Description, idx.Signer)
	}

	_, alpine := readIndexFile(t, filepath.Join(fx, "iso-x86_64-APKINDEX.tar.gz"), apkfile.Options{AllowUntrusted: true})
	byName := map[string]*apk.Package{}
	for _, p := range alpine {
		byName[p.Name] = p
	}
	if len(got) != 6 {
		t.Fatalf("%d records", len(got))
	}
	for _, p := range got {
		if want := byName[p.Name]; !reflect.DeepEqual(p, want) {
			t.Errorf("record\n%s\nAlpine's\n%s", apk.FormatIndex([]*apk.Package{p}), apk.FormatIndex([]*apk.Package{want}))
		}
	}
}

// TestAPKIndexSigned indexes and signs a repository's packages and
// compares the result with the index apktest wrote for them.
func TestAPKIndexSigned(t *testing.T) {
	r, priv := testRepo(t)
	out := filepath.Join(t.TempDir(), "APKINDEX.tar.gz")
	args := append([]string{"apk", "--keys-dir", r.KeysDir, "--json", "index", "--rewrite-arch", r.Arch,
		"-d", r.Description, "--sign-key", priv, "-o", out}, repoPackages(t, r)...)
	code, stdout, stderr := runAPKTool(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var sum indexSummary
	if err := json.Unmarshal([]byte(stdout), &sum); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	want := indexSummary{Output: out, Packages: []string{"hello-2.12-r0", "hello-doc-2.12-r0", "musl-1.2.4-r4"}, Signer: r.KeyName}
	if !reflect.DeepEqual(sum, want) {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	if stderr != "" {
		t.Errorf("warnings for a complete repository: %s", stderr)
	}
	idx, recs := readIndexFile(t, out, apkfile.Options{Keys: r.Keyring()})
	if idx.Signer != r.KeyName {
		t.Errorf("signer %q", idx.Signer)
	}
	if !reflect.DeepEqual(recs, r.Index()) {
		t.Errorf("records\n%s\napktest's\n%s", apk.FormatIndex(recs), apk.FormatIndex(r.Index()))
	}
	if !bytes.Equal(mustRead(t, out), mustRead(t, r.IndexPath())) {
		t.Error("the index differs from the one apktest wrote for the same packages")
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAPKIndexToStdout(t *testing.T) {
	r, _ := testRepo(t)
	args := append([]string{"apk", "--keys-dir", r.KeysDir, "index", "--no-warnings", "--rewrite-arch", r.Arch}, repoPackages(t, r)...)
	code, stdout, stderr := runAPKTool(t, args...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	idx, err := apkfile.ReadIndex([]byte(stdout), apkfile.Options{AllowUntrusted: true})
	if err != nil || !strings.Contains(idx.Text, "P:hello-doc\nV:2.12-r0\nA:x86_64\n") {
		t.Fatalf("%v\n%+v", err, idx)
	}
}

func TestAPKIndexRefusesBadPackages(t *testing.T) {
	r, _ := testRepo(t)
	stranger := apktest.NewRepo(t, "")
	stranger.Key = apktest.OtherKey(t)
	stranger.Add(apktest.Pkg("intruder", "1.0-r0").File("etc/intruder", 0o644, "x"))
	stranger.Write()
	intruder := stranger.PackagePath("intruder", "1.0-r0")

	good := r.PackagePath("hello", "2.12-r0")
	damaged := filepath.Join(t.TempDir(), "hello-2.12-r0.apk")
	data := mustRead(t, good)
	data[len(data)-40] ^= 0xff
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "APKINDEX.tar.gz")

	for _, tt := range []struct {
		name  string
		args  []string
		code  int
		lines []string
	}{
		{"untrusted", []string{"index", "-o", out, good, intruder}, ExitUntrusted,
			[]string{"ERROR: " + intruder + ": package signature: UNTRUSTED signature: " + stranger.KeyName + " (bad signature)"}},
		{"damaged", []string{"index", "-o", out, damaged}, ExitUntrusted, []string{"ERROR: " + damaged + ": "}},
		{"missing", []string{"index", "-o", out, good + ".nope"}, ExitFailure, []string{"ERROR: " + good + ".nope: open "}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runAPKTool(t, append([]string{"apk", "--keys-dir", r.KeysDir}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			for _, l := range tt.lines {
				if !strings.Contains(stderr, l) {
					t.Errorf("stderr lacks %q:\n%s", l, stderr)
				}
			}
			if _, err := os.Stat(out); err == nil {
				t.Error("an index was written despite the failure")
			}
		})
	}
	t.Run("allow untrusted", func(t *testing.T) {
		code, _, stderr := runAPKTool(t, "apk", "--keys-dir", r.KeysDir, "--allow-untrusted", "index", "-o", out, intruder)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
	})
}

func TestAPKIndexUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"apk", "index"}, "index needs at least one FILE.apk"},
		{[]string{"apk", "index", "--key-name", "x.pub", "a.apk"}, "--key-name names the key of --sign-key"},
		{[]string{"apk", "--json", "index", "a.apk"}, "--json needs --output"},
		{[]string{"apk", "index", "--rewrite-arch", "x 86", "a.apk"}, "is not an architecture name"},
		{[]string{"apk", "--keys-dir", "/nonexistent/keys", "index", "a.apk"}, "no trusted keys: /nonexistent/keys does not exist"},
	} {
		code, stdout, stderr := runAPKTool(t, tt.args...)
		// Under --json the error is JSON on standard output.
		if code == 0 || !strings.Contains(stderr+stdout, tt.want) {
			t.Errorf("cairn %s: exit %d, stdout %q, stderr %q, want %q", strings.Join(tt.args, " "), code, stdout, stderr, tt.want)
		}
	}
}
