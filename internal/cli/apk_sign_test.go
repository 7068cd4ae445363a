package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cairnlinux/cairn/internal/apk/apkfile"
	"github.com/cairnlinux/cairn/internal/apk/apktest"
)

// unsignedIndex indexes the test repository's packages without signing.
func unsignedIndex(t *testing.T, r *apktest.Repo, dir string) string {
	t.Helper()
	out := filepath.Join(dir, "APKINDEX.tar.gz")
	args := append([]string{"apk", "--keys-dir", r.KeysDir, "-q", "index", "--rewrite-arch", r.Arch, "-d", r.Description, "-o", out}, repoPackages(t, r)...)
	if code, _, stderr := runAPKTool(t, args...); code != 0 {
		t.Fatalf("index: exit %d: %s", code, stderr)
	}
	return out
}

func TestAPKSign(t *testing.T) {
	r, priv := testRepo(t)
	dir := t.TempDir()
	idx := unsignedIndex(t, r, dir)

	// The default key name is the private key's file name + ".pub".
	code, stdout, stderr := runAPKTool(t, "apk", "sign", "--key", priv, idx)
	if code != 0 || stdout != "Signed "+idx+"\n" {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	got, _ := readIndexFile(t, idx, apkfile.Options{Keys: r.Keyring()})
	if got.Signer != r.KeyName {
		t.Errorf("signer %q, want %q", got.Signer, r.KeyName)
	}
	if st, err := os.Stat(idx); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("index mode %v (%v)", st.Mode(), err)
	}
	// The same bytes apktest signs its own index with.
	if string(mustRead(t, idx)) != string(mustRead(t, r.IndexPath())) {
		t.Error("signed index differs from apktest's")
	}

	// Signing again replaces the signature; a directory names its index.
	other := filepath.Join(t.TempDir(), "other.rsa")
	if err := os.WriteFile(other, apktest.PrivateKeyPEM(apktest.OtherKey(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runAPKTool(t, "apk", "--json", "sign", "--key", other, "--key-name", "ci@example.org.rsa.pub", "--sha256", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var signed []signedFile
	if err := json.Unmarshal([]byte(stdout), &signed); err != nil {
		t.Fatal(err)
	}
	if want := []signedFile{{File: idx, Key: "ci@example.org.rsa.pub"}}; !reflect.DeepEqual(signed, want) {
		t.Errorf("json %+v, want %+v", signed, want)
	}
	if _, err := apkfile.ReadIndex(mustRead(t, idx), apkfile.Options{Keys: r.Keyring()}); !apkfile.IsUntrusted(err) {
		t.Errorf("the replaced signature still verifies: %v", err)
	}
	kr := apkfile.NewKeyring()
	kr.AddKey("ci@example.org.rsa.pub", &apktest.OtherKey(t).PublicKey)
	got, _ = readIndexFile(t, idx, apkfile.Options{Keys: kr})
	if got.Signer != "ci@example.org.rsa.pub" {
		t.Errorf("signer %q", got.Signer)
	}
}

func TestAPKSignFailures(t *testing.T) {
	r, priv := testRepo(t)
	pkg := r.PackagePath("hello", "2.12-r0")
	before := mustRead(t, pkg)
	notKey := filepath.Join(t.TempDir(), "key.pem")
	if err := os.WriteFile(notKey, apktest.PublicKeyPEM(&r.Key.PublicKey), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"apk", "sign", pkg}, ExitUsage, "sign needs --key PRIVKEY.pem"},
		{[]string{"apk", "sign", "--key", priv}, ExitUsage, "sign needs at least one INDEX.tar.gz"},
		{[]string{"apk", "sign", "--key", priv, pkg}, ExitFailure, pkg + ": sign index: not an index archive"},
		{[]string{"apk", "sign", "--key", notKey, pkg}, ExitFailure, "signing key " + notKey + `: PEM block "PUBLIC KEY" is not a private key`},
		{[]string{"apk", "sign", "--key", priv + ".missing", pkg}, ExitFailure, "signing key: open "},
		{[]string{"apk", "sign", "--key", priv, pkg + ".missing"}, ExitFailure, "no such file"},
	} {
		code, _, stderr := runAPKTool(t, tt.args...)
		if code != tt.code || !strings.Contains(stderr, tt.want) {
			t.Errorf("cairn %s: exit %d, stderr %q; want %d, %q", strings.Join(tt.args, " "), code, stderr, tt.code, tt.want)
		}
	}
	if string(mustRead(t, pkg)) != string(before) {
		t.Error("a failed sign changed the file")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(pkg), ".*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %q", left)
	}
}
