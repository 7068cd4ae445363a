package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apktest"
)

func TestAPKVerifyAlpinePackages(t *testing.T) {
	fx := alpineFixtures(t)
	files, _ := filepath.Glob(filepath.Join(fx, "packages", "*.apk"))
	code, stdout, stderr := runAPKTool(t, append([]string{"apk", "--keys-dir", filepath.Join(fx, "keys"), "verify"}, files...)...)
	if code != 0 || stderr != "" {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var want strings.Builder
	for _, f := range files {
		want.WriteString(f + ": OK\n")
	}
	if stdout != want.String() {
		t.Errorf("output\n%s\nwant\n%s", stdout, want.String())
	}
}

// verifyCases writes packages that pass and fail in every way.
func verifyCases(t *testing.T) (r *apktest.Repo, good, untrusted, damaged, missing string) {
	r, _ = testRepo(t)
	good = r.PackagePath("hello", "2.12-r0")

	stranger := apktest.NewRepo(t, "")
	stranger.Key = apktest.OtherKey(t)
	stranger.Add(apktest.Pkg("intruder", "1.0-r0").File("etc/intruder", 0o644, "x"))
	stranger.Write()
	untrusted = stranger.PackagePath("intruder", "1.0-r0")

	damaged = filepath.Join(t.TempDir(), "musl-1.2.4-r4.apk")
	data := mustRead(t, r.PackagePath("musl", "1.2.4-r4"))
	data[len(data)-12] ^= 0x01 // in the data member's deflate stream or CRC
	if err := os.WriteFile(damaged, data, 0o644); err != nil {
		t.Fatal(err)
	}
	missing = filepath.Join(t.TempDir(), "missing.apk")
	return r, good, untrusted, damaged, missing
}

func TestAPKVerify(t *testing.T) {
	r, good, untrusted, damaged, missing := verifyCases(t)
	keys := []string{"apk", "--keys-dir", r.KeysDir}
	for _, tt := range []struct {
		name   string
		args   []string
		code   int
		stdout []string // lines, "…" at the end of one matches any rest
	}{
		{"good", []string{"verify", good}, 0, []string{good + ": OK"}},
		{"untrusted", []string{"verify", good, untrusted}, ExitUntrusted, []string{
			good + ": OK",
			untrusted + ": package signature: UNTRUSTED signature: " + apktest.KeyName(&r.Key.PublicKey) + " (bad signature)"}},
		{"allow untrusted", []string{"--allow-untrusted", "verify", untrusted}, 0, []string{untrusted + ": OK (UNTRUSTED)"}},
		{"damaged", []string{"verify", damaged}, ExitUntrusted, []string{damaged + ": package musl-1.2.4-r4: …"}},
		{"damaged, even untrusted allowed", []string{"--allow-untrusted", "verify", damaged}, ExitUntrusted, []string{damaged + ": package musl-1.2.4-r4: …"}},
		{"missing", []string{"verify", missing}, ExitFailure, []string{missing + ": no such file or directory"}},
		{"worst code wins", []string{"verify", missing, damaged}, ExitUntrusted, []string{missing + ": no such file or directory", damaged + ": …"}},
		{"quiet", []string{"-q", "verify", good, untrusted, damaged}, ExitUntrusted, []string{untrusted, damaged}},
		{"not a package", []string{"verify", r.IndexPath()}, ExitUntrusted, []string{r.IndexPath() + ": …"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runAPKTool(t, append(keys, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.code, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if len(lines) != len(tt.stdout) {
				t.Fatalf("output\n%s\nwant %d lines", stdout, len(tt.stdout))
			}
			for i, want := range tt.stdout {
				if prefix, ok := strings.CutSuffix(want, "…"); ok && strings.HasPrefix(lines[i], prefix) && len(lines[i]) > len(prefix) {
					continue
				}
				if lines[i] != want {
					t.Errorf("line %d: %q, want %q", i+1, lines[i], want)
				}
			}
		})
	}
}

func TestAPKVerifyJSON(t *testing.T) {
	r, good, untrusted, _, missing := verifyCases(t)
	code, stdout, _ := runAPKTool(t, "apk", "--keys-dir", r.KeysDir, "--json", "verify", good, untrusted, missing)
	if code != ExitUntrusted {
		t.Errorf("exit %d", code)
	}
	var got []verifyResult
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	want := []verifyResult{
		{File: good, OK: true, Package: "hello-2.12-r0", Identity: r.Index()[0].Checksum.String(), Signer: r.KeyName},
		{File: untrusted, Error: "package signature: UNTRUSTED signature: " + r.KeyName + " (bad signature)"},
		{File: missing, Error: "no such file or directory"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("json\n%+v\nwant\n%+v", got, want)
	}
}

// TestAPKVerifyKeysFromRoot checks that the keys come from
// ROOT/etc/apk/keys when --keys-dir is not given.
func TestAPKVerifyKeysFromRoot(t *testing.T) {
	r, good, _, _, _ := verifyCases(t)
	root := t.TempDir()
	code, _, stderr := runAPKTool(t, "apk", "--root", root, "verify", good)
	if code != ExitFailure || !strings.Contains(stderr, "no trusted keys: "+filepath.Join(root, "etc", "apk", "keys")+" does not exist") {
		t.Errorf("without keys: exit %d, %s", code, stderr)
	}
	r.InstallKey(root)
	code, stdout, stderr := runAPKTool(t, "apk", "--root", root, "verify", good)
	if code != 0 || stdout != good+": OK\n" {
		t.Errorf("exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestAPKVerifyUsage(t *testing.T) {
	code, _, stderr := runAPKTool(t, "apk", "verify")
	if code != ExitUsage || !strings.Contains(stderr, "verify needs at least one FILE.apk") {
		t.Errorf("exit %d: %s", code, stderr)
	}
}
