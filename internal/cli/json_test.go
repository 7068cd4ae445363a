package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/cairnlinux/cairn/internal/secrets"
	"github.com/cairnlinux/cairn/internal/testutil"
)

// camelKey is the one style of every --json output's keys.
var camelKey = regexp.MustCompile(`^[a-z][a-zA-Z0-9]*$`)

// badKeys lists the keys of a JSON document that are not camelCase, by
// path. Objects under the keys in dataKeys are maps keyed by data (names
// of packages, sysctl keys...), whose keys are not checked.
func badKeys(v any, path string, out *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if !camelKey.MatchString(k) {
				*out = append(*out, path+"."+k)
			}
			badKeys(x, path+"."+k, out)
		}
	case []any:
		for _, x := range t {
			badKeys(x, path+"[]", out)
		}
	}
}

// Every command that reports something takes --json (but vm, which
// streams a console, schema, which prints JSON anyway, man, which
// prints roff, the servers, which log until interrupted, and receive,
// whose standard output is the delivery protocol), and every
// --json output, errors included, uses camelCase keys.
func TestJSONEverywhere(t *testing.T) {
	without := map[string]bool{"cairn vm": true, "cairn schema": true, "cairn man": true,
		"cairn serve": true, "cairn fleetlock serve": true, "cairn receive": true,
		"cairn boot kexec-reboot": true} // it prints nothing: it shuts the system down
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			walk(s)
		}
		if !c.Runnable() || c.HasSubCommands() || c.Name() == "help" || without[c.CommandPath()] {
			return
		}
		if c.Flags().Lookup("json") == nil && c.InheritedFlags().Lookup("json") == nil {
			t.Errorf("%s has no --json", c.CommandPath())
		}
	}
	walk(newRootCommand(&Globals{}))

	requireRoot(t)
	alpine := filepath.Join(testutil.Fixtures(t), "alpine-v3.19")
	s := testStore(t, 3)
	dir := t.TempDir()
	mf := filepath.Join(dir, "system.yaml")
	writeFile(t, mf, []byte("apiVersion: cairn/v1\nkind: System\nalpine:\n  arch: x86_64\n  repositories: [{url: "+alpine+"/iso}]\n  keys: ["+alpine+"/keys]\npackages: [busybox]\n"))
	bad := filepath.Join(dir, "bad.yaml")
	writeFile(t, bad, []byte("apiVersion: cairn/v1\nkind: System\nhostname: a_b\n"))
	cache := filepath.Join(dir, "cache")
	st := s.Dir()
	_, nodeKey, err := secrets.NewAgeIdentity()
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"version"},
		{"validate", "-f", mf, "--cache-dir", cache},
		{"lock", "-f", mf, "--cache-dir", cache},
		{"lock", "-f", mf, "--cache-dir", cache},
		{"build", "-f", mf, "--root", filepath.Join(dir, "root"), "--cache-dir", cache},
		{"image", "-f", mf, "--format", "tar", "-o", filepath.Join(dir, "x.tar"), "--cache-dir", cache},
		{"init", filepath.Join(dir, "st2")},
		{"generations", "--store", st},
		{"switch", "--permanent", "2", "--store", st},
		{"switch", "3", "--store", st},
		{"status", "--store", st},
		{"pin", "1", "--store", st},
		{"unpin", "1", "--store", st},
		{"rollback", "--store", st},
		{"gc", "--keep", "1", "--dry-run", "--store", st},
		{"fsck", "--store", st},
		{"diff", "1", "2", "--store", st},
		{"store", "remove", "--dry-run", filepath.Join(dir, "st2")},
		{"apk", "version", "-t", "1.0", "1.1"},
		{"apk", "resolve", "--repository", alpine + "/iso", "--keys-dir", alpine + "/keys", "busybox"},
		{"secrets", "list", "-f", mf},
		{"secrets", "keygen", "-o", filepath.Join(dir, "age.key")},
		{"secrets", "add-key", "-f", mf, "--name", "n", "--key", nodeKey.Key, "--recipients", filepath.Join(dir, "recipients")},
		{"tenants", "--root", filepath.Join(dir, "root")},
		{"tenants", "check", "--root", filepath.Join(dir, "root")},
		// Errors.
		{"secrets", "identity", "--root", dir},
		{"secrets", "edit", "nope", "-f", mf},
		{"validate", "-f", bad},
		{"build", "-f", bad, "--root", filepath.Join(dir, "r2")},
		{"switch", "99", "--store", st},
		{"manifest", "1", "--store", st},
		{"apk", "resolve", "--repository", alpine + "/iso", "--keys-dir", alpine + "/keys", "no-such-package"},
	} {
		args = append(args, "--json")
		code, out, errOut := run(t, args...)
		var doc any
		if err := json.NewDecoder(bytes.NewReader([]byte(out))).Decode(&doc); err != nil {
			t.Errorf("cairn %s: exit %d, stdout is not JSON (%v):\n%s\nstderr:\n%s", strings.Join(args, " "), code, err, out, errOut)
			continue
		}
		var keys []string
		badKeys(doc, "", &keys)
		if len(keys) > 0 {
			t.Errorf("cairn %s: keys not in camelCase: %v", strings.Join(args, " "), keys)
		}
		if m, ok := doc.(map[string]any); ok && code != 0 {
			if e, ok := m["error"].(map[string]any); (!ok || e["exitCode"] != float64(code)) && args[0] != "validate" {
				t.Errorf("cairn %s: exit %d, but no error with that exit code in\n%s", strings.Join(args, " "), code, out)
			}
		}
	}
	os.RemoveAll(filepath.Join(dir, "root"))
}
